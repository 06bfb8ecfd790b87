"""`auditor portfolio --tenants tenants.toml`: who should be in the portfolio and is not.

Two tenants (contoso, fabrikam) audited by the real `auditor run` on generated tenants
(`auditor sample`) into `reports/{tenant}/2026-09`, named as `run --tenants` names them; the
tenants file lists a third, northwind, that has no folder at all (its shard died before
writing anything). A fourth folder holds the hand-written failure.json (INTERFACE of issue 20)
of wingtip, a tenant the file does not list, failed in August. The file's [defaults] name a
base configuration, a waiver file and a certificate that do not exist on the roll-up machine.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from cli_runner import auditor
from pypdf import PdfReader
from test_portfolio import name_tenant

SEP = "2026-09-01"
PORTFOLIO_AS_OF = "2026-09-30"
AUDITED = {"contoso": 21, "fabrikam": 22}  # name: seed of the generated tenant
NORTHWIND_ID = "5b7e9c1a-3d2f-4e8a-9b6c-0d1e2f3a4b5c"
WINGTIP = {
    "schema_version": 1,
    "tenant_name": "wingtip",
    "tenant_id": "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f",
    "display_name": "Wingtip Toys",
    "groups": [],
    "as_of": "2026-08-01",
    "period": "2026-08",
    "failed_at": "2026-08-01T06:12:09Z",
    "exit_code": 4,
    "error_type": "SourceError",
    "error": "Graph answered 403 Forbidden to managedDevices",
}
NUMBERS = ("devices", "posture_pct", "posture_delta_pts", "critical_failing_devices",
           "high_failing_devices", "overdue_critical_results", "overdue_high_results")  # fmt: skip


def tenants_toml(ids: dict[str, str]) -> str:
    """contoso, fabrikam and northwind; [defaults] naming files the roll-up has no need of."""
    return (
        '[defaults]\nconfig = "missing-auditor.toml"\nwaivers = "missing-waivers.yaml"\n'
        'certificate_path = "certs/auditor-app.pem"\n'
        'client_id = "11111111-2222-3333-4444-555555555555"\n\n'
        f'[[tenant]]\nname = "contoso"\ntenant_id = "{ids["contoso"]}"\n'
        'groups = ["EU customers"]\n\n'
        f'[[tenant]]\nname = "fabrikam"\ntenant_id = "{ids["fabrikam"].upper()}"\n\n'
        f'[[tenant]]\nname = "northwind"\ntenant_id = "{NORTHWIND_ID}"\n'
        'display_name = "Northwind Traders"\ngroups = ["US customers"]\n'
    )  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """reports/ with contoso, fabrikam and wingtip's folders; tenants.toml beside it."""
    base = tmp_path_factory.mktemp("expected")
    ids = {}
    for name, seed in AUDITED.items():
        raw = base / "raw" / name
        done = auditor("sample", "--devices", "55", "--seed", str(seed), "--as-of", SEP,
                       "--out", str(raw / "all"))  # fmt: skip
        assert done.returncode == 0, done.stderr
        (raw / "inputs").mkdir()
        for path in (raw / "all").iterdir():
            if path.suffix in (".json", ".csv") and path.name != "expected.json":
                shutil.copy(path, raw / "inputs" / path.name)
        out = base / "reports" / name / "2026-09"
        done = auditor("run", "--input", str(raw / "inputs"), "--as-of", SEP, "--out", str(out),
                       "--no-history", "--format", "json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        name_tenant(out / "findings.json", name, ["EU customers"] if name == "contoso" else [])
        ids[name] = json.loads((out / "findings.json").read_bytes())["run"]["tenant_id"]
    stray = base / "reports" / "wingtip" / "2026-08"
    stray.mkdir(parents=True)
    (stray / "failure.json").write_text(json.dumps(WINGTIP), encoding="utf-8")
    (base / "tenants.toml").write_text(tenants_toml(ids), encoding="utf-8")
    done = auditor("portfolio", "--from", str(base / "reports"), "--tenants",
                   str(base / "tenants.toml"), "--as-of", PORTFOLIO_AS_OF)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 NOT AUDITED" in done.stderr and "1 not in" in done.stderr
    return base


@pytest.fixture(scope="module")
def portfolio(root) -> dict:
    return json.loads((root / "reports" / "portfolio.json").read_bytes())


def test_a_listed_tenant_without_a_folder_is_a_not_audited_row_first(portfolio):
    first = portfolio["tenants"][0]
    assert (first["name"], first["outcome"], first["outcome_label"]) == (
        "northwind", "not_audited", "NOT AUDITED")  # fmt: skip
    assert first["display_name"] == "Northwind Traders"  # from the file
    assert first["groups"] == ["US customers"] and first["tenant_id"] == NORTHWIND_ID
    for key in (*NUMBERS, "period", "as_of", "folder", "last_successful_audit"):
        assert first[key] is None, key  # unknown, never 0
    assert first["links"] == [] and first["in_tenants_file"] is True
    assert first["error"].startswith("Not audited: the tenants file lists this tenant")
    assert first["expiry_state"] == "not_collected"
    assert portfolio["expected_tenants"] == 3
    assert portfolio["groups"][0]["name"] == "US customers"  # its group comes first


def test_totals_count_it_and_the_sums_are_lower_bounds(portfolio):
    totals = portfolio["totals"]
    counts = [totals[k] for k in ("tenants", "not_audited", "failed", "ok", "audited")]
    assert counts == [4, 1, 1, 2, 2]
    assert totals["is_lower_bound"] is True
    assert totals["without_posture"] == 2  # northwind and the failed wingtip
    audited = [r for r in portfolio["tenants"] if r["outcome"] == "ok"]
    assert totals["devices"] == sum(r["devices"] for r in audited)
    us = next(g for g in portfolio["groups"] if g["name"] == "US customers")["totals"]
    assert (us["not_audited"], us["is_lower_bound"], us["devices"]) == (1, True, 0)


def test_a_tenant_the_file_does_not_list_is_shown_but_flagged(root, portfolio):
    rows = {r["name"]: r for r in portfolio["tenants"]}
    stray = rows["wingtip"]
    assert stray["outcome"] == "failed" and stray["is_stale"] is True  # behind: August
    assert stray["in_tenants_file"] is False and "not_in_tenants_file" in stray["warnings"]
    assert portfolio["totals"]["not_in_tenants_file"] == 1
    assert rows["fabrikam"]["in_tenants_file"] is True  # ids compare in any case
    assert "not_in_tenants_file" not in rows["contoso"]["warnings"]
    page = (root / "reports" / "portfolio.html").read_text(encoding="utf-8")
    assert "not in the tenants file" in page and "NOT AUDITED" in page


def test_workbook_shows_the_not_audited_row(root, portfolio):
    book = openpyxl.load_workbook(root / "reports" / "portfolio.xlsx")
    sheet = book["Tenants"]
    header = [c.value for c in sheet[1]]
    row = {h: c.value for h, c in zip(header, next(sheet.iter_rows(min_row=2)), strict=True)}
    assert (row["Tenant"], row["Outcome"], row["In tenants file"]) == (
        "northwind", "NOT AUDITED", "yes")  # fmt: skip
    assert row["Macs"] is None and row["Posture"] is None and row["Period"] is None
    assert row["Error"].startswith("Not audited:")
    listed = {r[0].value: r[header.index("In tenants file")].value
              for r in sheet.iter_rows(min_row=2)}  # fmt: skip
    assert listed == {"northwind": "yes", "wingtip": "NO", "contoso": "yes", "fabrikam": "yes"}
    totals = book["Totals"]
    lines = [[c.value for c in r] for r in totals.iter_rows() if r[0].value == "Group"]
    (top,) = lines
    everyone = next([c.value for c in r] for r in totals.iter_rows() if r[0].value == "All tenants")
    assert everyone[top.index("Not audited")] == 1
    assert everyone[top.index("Not in tenants file")] == 1
    assert everyone[top.index("Sums are lower bounds")] == "yes"


def test_pdf_shows_the_not_audited_row_first(root):
    reader = PdfReader(root / "reports" / "portfolio.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "1 tenant(s) NOT AUDITED" in text and "The tenants file lists 3 tenant(s)" in text
    assert text.index("Northwind Traders") < text.index("(wingtip)") < text.index("(contoso)")
    assert "not in the tenants file" in text


def test_without_tenants_only_what_is_found(root, tmp_path):
    done = auditor("portfolio", "--from", str(root / "reports"), "--out", str(tmp_path),
                   "--as-of", PORTFOLIO_AS_OF, "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "portfolio.json").read_bytes())
    assert document["expected_tenants"] is None
    assert sorted(r["name"] for r in document["tenants"]) == ["contoso", "fabrikam", "wingtip"]
    assert {r["in_tenants_file"] for r in document["tenants"]} == {None}
    assert document["totals"]["not_audited"] == 0


def test_a_listed_tenant_audited_only_after_the_as_of_date_is_not_audited(root, tmp_path):
    done = auditor("portfolio", "--from", str(root / "reports"), "--out", str(tmp_path),
                   "--tenants", str(root / "tenants.toml"), "--as-of", "2026-08-31",
                   "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "portfolio.json").read_bytes())["tenants"]
    assert [(r["name"], r["outcome"]) for r in rows] == [
        ("contoso", "not_audited"), ("fabrikam", "not_audited"), ("northwind", "not_audited"),
        ("wingtip", "failed")]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[tenant]\n", "not valid TOML"),
        ('[[tenant]]\nname = "contoso"\n', "tenant[1] (contoso): tenant_id: required"),
        (None, "tenants file not found"),
    ],
)
def test_a_bad_tenants_file_is_exit_2_naming_it(root, tmp_path, text, message):
    path = tmp_path / "tenants.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    done = auditor("portfolio", "--from", str(root / "reports"), "--out", str(tmp_path),
                   "--tenants", str(path), "--as-of", PORTFOLIO_AS_OF)  # fmt: skip
    assert done.returncode == 2
    assert str(path) in done.stderr and message in done.stderr
    assert not (tmp_path / "portfolio.json").exists()
