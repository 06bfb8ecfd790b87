"""`auditor portfolio`: tenants audited by the real `auditor run`, rolled up and read back.

Five tenants, laid out as `run --tenants --out 'reports/{tenant}/{period}'` lays them out,
audited by the real pipeline on generated tenants (`auditor sample`) and the bundled sample,
two months with one shared history file so deltas exist:

- contoso: complete, two months, group "EU customers" (its September also as report.html);
- fabrikam: complete, two months, groups "EU customers" and "Key accounts", an organisation
  name holding a <script>;
- northwind: PARTIAL (only the device list and enrollment configurations supplied), one
  month (no delta: null), group "US customers";
- tailspin: audited in August, failed in September (a hand-written failure.json as INTERFACE
  of issue 20 specifies, a display name that starts like a formula), no group;
- demo: the bundled sample tenant (sample data), no group.

`run.tenant_name` / `run.tenant_groups` are written into the findings.json files exactly as
issue 20 specifies them (appended to `run`), standing in for `run --tenants`.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from cli_runner import auditor
from pypdf import PdfReader

AUG, SEP = "2026-08-01", "2026-09-01"
PORTFOLIO_AS_OF = "2026-09-30"
SCRIPT_NAME = "Fabrikam <script>window.__pwned=1</script> & Co"
FORMULA_NAME = '=HYPERLINK("http://evil.example","click")'
TENANTS: dict[str, dict] = {
    "contoso": {"seed": 11, "devices": 60, "groups": ["EU customers"], "months": (AUG, SEP),
                "organisation": "Contoso Ltd"},
    "fabrikam": {"seed": 12, "devices": 70, "groups": ["EU customers", "Key accounts"],
                 "months": (AUG, SEP), "organisation": SCRIPT_NAME},
    "northwind": {"seed": 13, "devices": 60, "groups": ["US customers"], "months": (SEP,),
                  "organisation": "Northwind Traders",
                  "only": ("managed_devices.json", "enrollment_configurations.json")},
    "tailspin": {"seed": 14, "devices": 55, "groups": [], "months": (AUG,),
                 "organisation": "Tailspin Toys"},
    "demo": {"sample": True, "groups": [], "months": (SEP,)},
}  # fmt: skip
FAILURE = {
    "schema_version": 1,
    "tenant_name": "tailspin",
    "display_name": FORMULA_NAME,
    "groups": [],
    "as_of": SEP,
    "period": "2026-09",
    "failed_at": "2026-09-01T06:12:09Z",
    "exit_code": 4,
    "error_type": "SourceError",
    "error": "Graph answered 403 Forbidden to managedDevices: admin consent revoked? "
    "(DeviceManagementManagedDevices.Read.All)",
}


def name_tenant(findings: Path, name: str, groups: list[str]) -> None:
    """Add run.tenant_name and run.tenant_groups (issue 20) as `run --tenants` writes them."""
    document = json.loads(findings.read_bytes())
    document["run"]["tenant_name"] = name
    document["run"]["tenant_groups"] = groups
    findings.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """Each generated tenant's inputs, and its auditor.toml naming the organisation."""
    base = tmp_path_factory.mktemp("raw")
    for name, spec in TENANTS.items():
        if spec.get("sample"):
            continue
        folder = base / name
        done = auditor("sample", "--devices", str(spec["devices"]), "--seed", str(spec["seed"]),
                       "--as-of", AUG, "--out", str(folder / "all"))  # fmt: skip
        assert done.returncode == 0, done.stderr
        (folder / "inputs").mkdir()
        for path in (folder / "all").iterdir():
            is_input = path.suffix in (".json", ".csv") and path.name != "expected.json"
            if is_input and path.name in spec.get("only", (path.name,)):
                shutil.copy(path, folder / "inputs" / path.name)
        (folder / "auditor.toml").write_text(
            f"organisation = {json.dumps(spec['organisation'])}\n", encoding="utf-8"
        )
    return base


def audit(raw: Path, root: Path, names: list[str], history: Path) -> None:
    """Audit `names` into root/reports/{tenant}/{period} with one history file; fail tailspin."""
    for name in names:
        spec = TENANTS[name]
        for as_of in spec["months"]:
            out = root / "reports" / name / as_of[:7]
            formats = "json,html" if (name, as_of) == ("contoso", SEP) else "json"
            source = (
                ["--source", "sample"]
                if spec.get("sample")
                else [
                    "--input",
                    str(raw / name / "inputs"),
                    "--config",
                    str(raw / name / "auditor.toml"),
                ]
            )
            done = auditor("run", *source, "--as-of", as_of, "--out", str(out), "--history",
                           str(history), "--format", formats)  # fmt: skip
            assert done.returncode == 0, done.stderr
            name_tenant(out / "findings.json", name, spec["groups"])
        if name == "tailspin":
            august = json.loads((root / "reports/tailspin/2026-08/findings.json").read_bytes())
            failed = root / "reports/tailspin/2026-09"
            failed.mkdir(parents=True)
            record = {**FAILURE, "tenant_id": august["run"]["tenant_id"]}
            (failed / "failure.json").write_text(json.dumps(record), encoding="utf-8")


def roll_up(root: Path, *args: str) -> dict:
    done = auditor("portfolio", "--from", str(root), "--as-of", PORTFOLIO_AS_OF, *args)
    assert done.returncode == 0, done.stderr
    out = Path(args[args.index("--out") + 1]) if "--out" in args else root
    return json.loads((out / "portfolio.json").read_bytes())


@pytest.fixture(scope="module")
def root(raw, tmp_path_factory) -> Path:
    """One machine: every tenant into one root, one history; the portfolio written into it."""
    base = tmp_path_factory.mktemp("one-machine")
    audit(raw, base, list(TENANTS), base / "history.sqlite")
    roll_up(base)
    return base


@pytest.fixture(scope="module")
def portfolio(root) -> dict:
    return json.loads((root / "portfolio.json").read_bytes())


def rows_by_name(portfolio: dict) -> dict[str, dict]:
    return {row["name"]: row for row in portfolio["tenants"]}


def findings_of(root: Path, row: dict) -> dict:
    return json.loads((root / row["folder"] / "findings.json").read_bytes())


def test_numbers_equal_each_tenants_findings_json(root, portfolio):
    rows = rows_by_name(portfolio)
    assert set(rows) == set(TENANTS)
    for name in ("contoso", "fabrikam", "northwind", "demo"):
        row, document = rows[name], findings_of(root, rows[name])
        run, summary, changes = document["run"], document["summary"], document["changes"]
        assert row["tenant_id"] == run["tenant_id"]
        assert row["display_name"] == run["organisation"]
        assert row["groups"] == TENANTS[name]["groups"]
        assert (row["period"], row["as_of"]) == ("2026-09", SEP)
        assert row["devices"] == summary["devices"]
        assert row["posture_pct"] == summary["posture"]["pct"]
        expected_delta = changes["posture_delta_pts"] if changes else None
        assert row["posture_delta_pts"] == expected_delta
        failing, overdue = summary["failing_devices_by_severity"], summary["overdue_by_severity"]
        assert row["critical_failing_devices"] == failing["critical"]
        assert row["high_failing_devices"] == failing["high"]
        assert row["overdue_critical_results"] == overdue["critical"]["results"]
        assert row["overdue_high_results"] == overdue["high"]["results"]
    audited = [rows[n] for n in ("contoso", "fabrikam", "northwind")]  # demo is sample data
    totals = portfolio["totals"]
    assert totals["devices"] == sum(r["devices"] for r in audited)
    assert totals["critical_failing_devices"] == sum(r["critical_failing_devices"] for r in audited)
    assert totals["lowest_posture_pct"] == min(r["posture_pct"] for r in audited)


def test_deltas_exist_for_two_months_and_null_stays_null(root, portfolio):
    rows = rows_by_name(portfolio)
    for name in ("contoso", "fabrikam"):
        assert rows[name]["previous_period"] == "2026-08"
        assert isinstance(rows[name]["posture_delta_pts"], float)
    assert rows["northwind"]["posture_delta_pts"] is None  # first period: no comparison
    text = (root / "portfolio.json").read_text(encoding="utf-8")
    northwind = text[text.index('"name": "northwind"') :]
    assert '"posture_delta_pts": null' in northwind.split('"name":')[1]


def test_failed_tenant_is_first_shown_with_no_numbers(portfolio):
    first = portfolio["tenants"][0]
    assert (first["name"], first["outcome"], first["outcome_label"]) == (
        "tailspin",
        "failed",
        "FAILED",
    )
    assert first["display_name"] == FORMULA_NAME
    numbers = (
        "devices",
        "posture_pct",
        "posture_delta_pts",
        "critical_failing_devices",
        "high_failing_devices",
        "overdue_critical_results",
        "overdue_high_results",
    )
    for key in numbers:
        assert first[key] is None, key  # unknown, never 0
    assert first["error"] == FAILURE["error"] and first["exit_code"] == 4
    assert first["last_successful_audit"]["period"] == "2026-08"
    assert first["last_successful_audit"]["folder"] == "reports/tailspin/2026-08"
    assert first["links"] == [{"label": "failure", "path": "reports/tailspin/2026-09/failure.json",
                               "href": "reports/tailspin/2026-09/failure.json"}]  # fmt: skip
    assert first["expiry_state"] == "not_collected"
    totals = portfolio["totals"]
    counts = [totals[k] for k in ("tenants", "failed", "partial", "ok", "sample")]
    assert counts == [5, 1, 1, 2, 1]
    assert totals["is_lower_bound"] is True
    assert totals["without_posture"] >= 1
    assert portfolio["groups"][0]["tenant_ids"][0] == first["tenant_id"]  # its group comes first


def test_partial_tenant_is_flagged_with_the_parts_not_collected(root, portfolio):
    row = rows_by_name(portfolio)["northwind"]
    assert (row["outcome"], row["outcome_label"]) == ("partial", "PARTIAL")
    gaps = findings_of(root, row)["run"]["gaps"]
    assert [g["part"] for g in row["not_collected"]] == [g["part"] for g in gaps]
    assert "apns" in row["not_collected_text"]
    # APNs, ADE and VPP tokens were not supplied: "not collected", never "no expiry"
    assert row["expiry_state"] == "not_collected" and row["nearest_expiry"] is None
    assert row["expiry_text"] == "not collected: APNs certificate, ADE tokens, VPP tokens"
    assert row["last_complete_audit"] is None
    assert portfolio["tenants"][1]["name"] == "northwind"  # right after the failed one


def test_order_and_expiry_of_complete_tenants(root, portfolio):
    names = [r["name"] for r in portfolio["tenants"]]
    assert names[:2] == ["tailspin", "northwind"] and names[-1] == "demo"
    ok = [r for r in portfolio["tenants"] if r["outcome"] == "ok"]
    assert [r["posture_pct"] for r in ok] == sorted(r["posture_pct"] for r in ok)
    contoso = rows_by_name(portfolio)["contoso"]
    tenant = findings_of(root, contoso)["tenant"]
    dates = [tenant["apns_certificate"]["expires_at"][:10]] + [
        t["expires_at"][:10] for t in tenant["ade_tokens"] + tenant["vpp_tokens"] if t["expires_at"]
    ]
    assert contoso["expiry_state"] == "found"
    assert contoso["nearest_expiry"]["expires_on"] == min(dates)
    assert contoso["last_complete_audit"]["period"] == "2026-09"


def test_groups(portfolio):
    groups = {g["name"]: g for g in portfolio["groups"]}
    ids = {r["name"]: r["tenant_id"] for r in portfolio["tenants"]}
    assert groups["EU customers"]["tenant_ids"] == [
        r["tenant_id"] for r in portfolio["tenants"] if r["name"] in ("contoso", "fabrikam")
    ]
    assert groups["Key accounts"]["tenant_ids"] == [ids["fabrikam"]]
    assert groups["US customers"]["tenant_ids"] == [ids["northwind"]]
    assert groups["(no group)"]["tenant_ids"] == [ids["tailspin"], ids["demo"]]
    assert [g["name"] for g in portfolio["groups"]] == [
        "(no group)",
        "US customers",
        "EU customers",
        "Key accounts",
    ]  # worst tenant first: the failed one, then the PARTIAL one
    assert groups["(no group)"]["totals"]["failed"] == 1
    assert groups["EU customers"]["totals"]["devices"] == sum(
        r["devices"] for r in portfolio["tenants"] if r["name"] in ("contoso", "fabrikam")
    )


def test_workbook_values_links_and_no_formula(root, portfolio):
    book = openpyxl.load_workbook(root / "portfolio.xlsx")
    assert book.sheetnames == ["Tenants", "By group", "Totals"]
    sheet = book["Tenants"]
    header = [c.value for c in sheet[1]]
    col = {name: header.index(name) for name in header}
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(portfolio["tenants"])
    for cells, row in zip(rows, portfolio["tenants"], strict=True):
        assert cells[col["Tenant"]].value == row["name"]
        assert cells[col["Macs"]].value == row["devices"]
        assert cells[col["Posture"]].value == row["posture_pct"]
        assert cells[col["Posture change"]].value == row["posture_delta_pts"]
        assert cells[col["Critical failing Macs"]].value == row["critical_failing_devices"]
        assert cells[col["Outcome"]].value == row["outcome_label"]
        link = cells[col["Report"]]
        assert link.hyperlink.target == row["links"][0]["href"]
        assert (root / link.hyperlink.target).is_file()
    failed = rows[0][col["Display name"]]
    assert failed.value == FORMULA_NAME
    assert failed.data_type == "s" and failed.quotePrefix  # text, never a formula
    contoso = next(r for r in rows if r[col["Tenant"]].value == "contoso")
    assert contoso[col["Report"]].hyperlink.target == "reports/contoso/2026-09/report.html"
    groups = [r[0].value for r in book["By group"].iter_rows(min_row=2)]
    assert groups.count("EU customers") == 2 and groups.count("Key accounts") == 1


def test_pdf_names_every_tenant_failed_first(root, portfolio):
    reader = PdfReader(root / "portfolio.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    for row in portfolio["tenants"]:
        assert row["name"] in text or row["display_name"] in text, row["name"]
    assert "FAILED" in text and "PARTIAL" in text
    assert text.index("(tailspin)") < text.index("Northwind Traders") < text.index("(contoso)")
    assert "admin consent revoked?" in text
    uris = [a.get_object()["/A"]["/URI"] for p in reader.pages for a in p.get("/Annots", [])]
    assert "reports/contoso/2026-09/report.html" in uris  # relative: the folder moves whole


def test_html_escapes_tenant_text(root):
    page = (root / "portfolio.html").read_text(encoding="utf-8")
    assert "<script" not in page  # no script at all, and the tenant's is text
    assert "Fabrikam &lt;script&gt;window.__pwned=1&lt;/script&gt; &amp; Co" in page
    assert "script-src 'none'" in html.unescape(page)  # the CSP meta: no script may run
    assert 'href="reports/contoso/2026-09/report.html"' in page


def test_html_in_chromium(root):
    from browser import BrowserMissing, chromium
    from selenium.webdriver.common.by import By

    try:
        with chromium(performance_log=False) as driver:
            driver.get((root / "portfolio.html").resolve().as_uri())
            body = driver.find_element(By.TAG_NAME, "body").text
            assert SCRIPT_NAME in body  # shown as the text it is
            assert driver.execute_script("return window.__pwned === undefined")
            hrefs = [a.get_attribute("href") for a in driver.find_elements(By.TAG_NAME, "a")]
            target = (root / "reports/contoso/2026-09/report.html").resolve().as_uri()
            assert target in hrefs
    except BrowserMissing as missing:
        pytest.fail(str(missing), pytrace=False)


def test_shards_from_two_machines_roll_up_the_same(raw, root, portfolio, tmp_path):
    machines = {"a": ["contoso", "northwind"], "b": ["fabrikam", "tailspin", "demo"]}
    for machine, names in machines.items():
        audit(raw, tmp_path / machine, names, tmp_path / machine / "history.sqlite")
        shutil.copytree(tmp_path / machine / "reports", tmp_path / "together" / "reports",
                        dirs_exist_ok=True)  # fmt: skip
    combined = roll_up(tmp_path / "together", "--format", "json")

    def comparable(document: dict) -> dict:
        return {**document, "portfolio": {**document["portfolio"], "generated_at": None}}

    assert comparable(combined) == comparable(portfolio)


def test_as_of_leaves_out_later_audits_and_links_follow_out(root, tmp_path):
    out = tmp_path / "elsewhere"
    august = roll_up(root, "--as-of", "2026-08-31", "--out", str(out), "--format", "json,html")
    rows = rows_by_name(august)
    assert set(rows) == {"contoso", "fabrikam", "tailspin"}  # northwind and demo began later
    assert rows["tailspin"]["outcome"] == "ok" and august["portfolio"]["newest_period"] == "2026-08"
    for row in august["tenants"]:
        for link in row["links"]:
            assert link["path"].startswith("../")
            assert (out / link["path"]).resolve().is_file()
    assert not (out / "portfolio.pdf").exists()


def copy_folder(root: Path, folder: str, to: Path) -> Path:
    shutil.copytree(root / folder, to)
    return to


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"schema_version": 2, "run": {}}', "schema_version 2 is not one this auditor reads"),
    ],
)
def test_a_bad_findings_json_is_named(root, tmp_path, damage, message):
    folder = copy_folder(root, "reports/contoso/2026-09", tmp_path / "x" / "contoso")
    (folder / "findings.json").write_text(damage, encoding="utf-8")
    done = auditor("portfolio", "--from", str(tmp_path / "x"), "--as-of", PORTFOLIO_AS_OF)
    assert done.returncode == 4
    assert str(folder / "findings.json") in done.stderr and message in done.stderr


def test_a_bad_failure_json_is_named(tmp_path):
    folder = tmp_path / "reports" / "t" / "2026-09"
    folder.mkdir(parents=True)
    (folder / "failure.json").write_text(json.dumps({**FAILURE, "schema_version": 7}))
    done = auditor("portfolio", "--from", str(tmp_path), "--as-of", PORTFOLIO_AS_OF)
    assert done.returncode == 4
    assert "failure.json: schema_version 7 is not one this auditor reads" in done.stderr
    (folder / "failure.json").write_text(json.dumps(FAILURE))  # no tenant_id
    done = auditor("portfolio", "--from", str(tmp_path), "--as-of", PORTFOLIO_AS_OF)
    assert done.returncode == 4 and "tenant_id is missing" in done.stderr


def test_two_folders_for_one_tenant_and_period_are_a_conflict(root, tmp_path):
    copy_folder(root, "reports/contoso/2026-09", tmp_path / "shard-1" / "contoso")
    copy_folder(root, "reports/contoso/2026-09", tmp_path / "shard-2" / "contoso")
    done = auditor("portfolio", "--from", str(tmp_path), "--as-of", PORTFOLIO_AS_OF)
    assert done.returncode == 4
    assert "shard-1/contoso and shard-2/contoso" in done.stderr and "period 2026-09" in done.stderr
    assert not (tmp_path / "portfolio.json").exists()


def test_no_tenant_is_exit_4_and_bad_flags_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    done = auditor("portfolio", "--from", str(tmp_path / "empty"))
    assert done.returncode == 4 and "no tenant to roll up" in done.stderr
    done = auditor("portfolio", "--from", str(tmp_path / "empty"), "--format", "json,docx")
    assert done.returncode == 2 and "--format" in done.stderr
    done = auditor("portfolio", "--from", str(tmp_path / "missing"))
    assert done.returncode == 2


def test_an_expiry_part_not_collected_is_named_beside_the_nearest_date(root, tmp_path):
    folder = copy_folder(root, "reports/contoso/2026-09", tmp_path / "x" / "contoso" / "2026-09")
    document = json.loads((folder / "findings.json").read_bytes())
    gap = {"part": "vpp_tokens", "reason": "403", "fields": [], "is_core": False}
    document["run"]["gaps"].append({**gap, "state": "denied", "status": "denied"})
    document["tenant"]["vpp_tokens"][0]["expires_at"] = "2026-01-01T00:00:00Z"  # not believed
    (folder / "findings.json").write_text(json.dumps(document), encoding="utf-8")
    row = roll_up(tmp_path / "x", "--format", "json")["tenants"][0]
    assert row["expiry_state"] == "found"
    assert row["expiry_not_collected"] == ["VPP tokens"]
    assert row["expiry_text"].endswith("; not collected: VPP tokens")
    assert row["nearest_expiry"]["expires_on"] != "2026-01-01"


def test_staging_folders_are_skipped_and_two_files_in_one_folder_refused(root, tmp_path):
    copy_folder(root, "reports/contoso/2026-09", tmp_path / "x" / "contoso")
    copy_folder(root, "reports/contoso/2026-08", tmp_path / "x" / ".auditor-contoso-0a1b2c3d")
    assert [r["period"] for r in roll_up(tmp_path / "x", "--format", "json")["tenants"]] == [
        "2026-09"
    ]
    (tmp_path / "x" / "contoso" / "failure.json").write_text(json.dumps(FAILURE))
    done = auditor("portfolio", "--from", str(tmp_path / "x"), "--as-of", PORTFOLIO_AS_OF)
    assert done.returncode == 4 and "holds both findings.json and failure.json" in done.stderr
