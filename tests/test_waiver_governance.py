"""Issue 14: waivers are governed ([waivers] limits), checked like auditor.toml, and page one
shows what they hide. User review A2 and A3; every run is `auditor` in process on the bundled
sample tenant, outputs read back."""

import json
import textwrap
from pathlib import Path

import pytest
from cli_runner import auditor
from outputs import findings, pdf_pages

AS_OF = "2026-09-01"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def run_with(tmp_path: Path, *extra: str, formats: str = "json") -> tuple[int, str, Path]:
    out = tmp_path / "out"
    done = auditor("run", "--as-of", AS_OF, "--out", str(out), "--no-history",
                   "--format", formats, *extra)  # fmt: skip
    return done.returncode, done.stderr, out


A2_WAIVER = """
    # user review A2: one broad waiver to 2099 on the critical exploited-CVE rule
    [[waiver]]
    rule = "MAC-OS-003"
    name = "*"
    reason = "patching is hard"
    approver = "Intern"
    ticket = "none"
    expires = 2099-12-31
"""


def test_a_wildcard_waiver_to_2099_on_a_critical_rule_is_refused_with_rule_limit_and_line(
    tmp_path,
):
    waivers = write(tmp_path, "w5.toml", A2_WAIVER)
    code, stderr, out = run_with(tmp_path, "--waivers", str(waivers))
    assert code == 2, stderr
    assert f"{waivers}: 2 problem(s)" in stderr
    assert (
        "line 2, waiver 1 (W001): MAC-OS-003 is critical: a waiver may run at most 30 days "
        "([waivers] max_days.critical); this one runs 26,784 days, from the as-of date "
        "2026-09-01 to 2099-12-31"
    ) in stderr
    assert "line 2, waiver 1 (W001): MAC-OS-003 is critical: the name pattern '*' may not" in (
        stderr
    )
    assert not out.exists()


def test_the_plural_table_typo_exits_2_instead_of_loading_no_waiver(tmp_path):
    waivers = write(tmp_path, "waivers.toml", A2_WAIVER.replace("[[waiver]]", "[[waivers]]"))
    code, stderr, _ = run_with(tmp_path, "--waivers", str(waivers))
    assert code == 2, stderr
    assert "unknown table 'waivers' (waivers are [[waiver]] tables)" in stderr


def test_yaml_waiver_files_are_as_strict(tmp_path):
    waivers = write(tmp_path, "waivers.yaml", """
        waiver:
          - rule: MAC-FV-001
            serial: C02XK1ZZJGH5
        foo: bar
        """)  # fmt: skip
    code, stderr, _ = run_with(tmp_path, "--waivers", str(waivers))
    assert code == 2, stderr
    assert "unknown key 'waiver' (did you mean 'waivers'?)" in stderr
    assert "unknown key 'foo'" in stderr


def test_every_problem_of_the_file_is_reported_at_once_each_with_its_line(tmp_path):
    waivers = write(tmp_path, "waivers.toml", """
        [[waiver]]
        id = "W-1"
        rule = "MAC-FV-001"
        serial = "C02XK1ZZJGH5"
        reason = "Replaced next week"
        approver = "IT lead"
        ticket = "CHG-1"
        expires = "31/12/2026"

        [[waiver]]
        id = "W-1"
        rule = "MAC-FV-001"
        serial = "C02XK1ZZJGH6"
        reason = "Replaced next week"
        approver = 42
        ticket = "CHG-2"
        expires = 2026-10-01
        expiry = 2026-10-01
        """)  # fmt: skip
    code, stderr, _ = run_with(tmp_path, "--waivers", str(waivers))
    assert code == 2, stderr
    lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith("- ")]
    assert lines == [
        "- line 1, waiver 1: expires: '31/12/2026' is not a date (YYYY-MM-DD)",
        "- line 10, waiver 2: expiry: unknown field (fields: rule, reason, approver, ticket, "
        "expires, id, approved, and one of device_id, serial, name, token_id, dem_upn, tenant)",
        "- line 10, waiver 2: approver: expected a string, got 42",
    ]


def test_configured_limits_and_an_allowed_wildcard(tmp_path):
    config = write(tmp_path, "auditor.toml", """
        [waivers]
        max_days = { high = 10 }
        allow_wildcards_on_critical = true
        """)  # fmt: skip
    waivers = write(tmp_path, "waivers.toml", """
        [[waiver]]
        rule = "MAC-OS-003"
        name = "MBP-*"
        reason = "Update ring 2 patches within the week"
        approver = "CISO"
        ticket = "CHG-7"
        expires = 2026-09-20

        [[waiver]]
        rule = "MAC-FV-001"
        serial = "C02XK1ZZJGH5"
        reason = "Replaced next month"
        approver = "CISO"
        ticket = "CHG-8"
        approved = 2026-08-25
        expires = 2026-09-30
        """)  # fmt: skip
    code, stderr, _ = run_with(tmp_path, "--config", str(config), "--waivers", str(waivers))
    assert code == 2, stderr
    assert "problem(s)" in stderr and "waiver 1" not in stderr  # the wildcard is allowed
    assert (
        "line 9, waiver 2 (W002): MAC-FV-001 is high: a waiver may run at most 10 days "
        "([waivers] max_days.high); this one runs 36 days, from approved 2026-08-25 to 2026-09-30"
    ) in stderr


@pytest.mark.parametrize("operator", ["prepared_by", "login"])
def test_an_approver_who_is_the_runs_operator_is_refused_when_configured(tmp_path, operator):
    report = '[report]\nprepared_by = "Jane Doe"\n' if operator == "prepared_by" else ""
    policy = "[waivers]\nrequire_distinct_approver = true\n"
    config = write(tmp_path, "auditor.toml", report + policy)
    approver = "jane  DOE" if operator == "prepared_by" else "auditbot"
    waivers = write(tmp_path, "waivers.toml", f"""
        [[waiver]]
        rule = "MAC-FV-001"
        serial = "C02XK1ZZJGH5"
        reason = "Replaced next week"
        approver = "{approver}"
        ticket = "CHG-1"
        expires = 2026-09-30
        """)  # fmt: skip
    out = tmp_path / "out"
    done = auditor(
        "run", "--as-of", AS_OF, "--out", str(out), "--no-history", "--format", "json",
        "--config", str(config), "--waivers", str(waivers), env={"LOGNAME": "auditbot"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"approver '{approver}' is the run's operator" in done.stderr


@pytest.fixture(scope="module")
def waived(tmp_path_factory) -> Path:
    """The sample with three critical failures waived, one waiver expired, one unmatched."""
    folder = tmp_path_factory.mktemp("waived")
    plain = folder / "plain"
    assert auditor("run", "--as-of", AS_OF, "--out", str(plain), "--no-history",
                   "--format", "json").returncode == 0  # fmt: skip
    serials = sorted(
        f["serial_number"]
        for f in findings(plain)["findings"]
        if f["rule_id"] == "MAC-OS-003" and f["status"] == "fail" and f["serial_number"]
    )[:3]
    tables = "".join(
        f"""
        [[waiver]]
        id = "W-OS3-{n}"
        rule = "MAC-OS-003"
        serial = "{serial}"
        reason = "Patch scheduled in the maintenance window"
        approver = "CISO"
        ticket = "CHG-{n}"
        expires = 2026-09-20
        """
        for n, serial in enumerate(serials, 1)
    )
    waivers = write(folder, "waivers.toml", tables + """
        [[waiver]]
        id = "W-EXPIRED"
        rule = "MAC-FV-001"
        name = "LAB-*"
        reason = "Lab Macs"
        approver = "CISO"
        ticket = "CHG-9"
        approved = 2026-06-01
        expires = 2026-08-15

        [[waiver]]
        id = "W-GONE"
        rule = "MAC-FV-001"
        device_id = "00000000-0000-4000-8000-000000000000"
        reason = "Retired Mac"
        approver = "CISO"
        ticket = "CHG-10"
        expires = 2026-11-15
        """)  # fmt: skip
    out = folder / "out"
    done = auditor("run", "--as-of", AS_OF, "--out", str(out), "--no-history",
                   "--format", "json,pdf", "--waivers", str(waivers))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_page_one_shows_posture_with_and_without_waivers(waived):
    summary = findings(waived)["summary"]
    with_waivers, without = summary["posture"], summary["posture_without_waivers"]
    assert without["devices"] == with_waivers["devices"] - 3
    assert summary["waived_by_severity"]["critical"] == 3
    page_one = pdf_pages(waived)[0]
    assert f"{with_waivers['pct']:.1f} %" in page_one
    assert (
        f"Without waivers: {without['pct']:.1f} % ({without['devices']} Macs); 3 failing results "
        "are waived."
    ) in page_one
    failing = summary["fail_by_severity"]["critical"]
    macs = summary["failing_devices_by_severity"]["critical"]
    assert f"critical {failing} {macs} 3" in page_one  # failing results, Macs, waived results


def test_page_one_lists_expired_unmatched_and_soon_expiring_waivers(waived):
    page_one = pdf_pages(waived)[0].replace("- ", "-")  # ids wrap at their hyphens
    assert "Waivers: 3 applied, waiving 3 results" in page_one
    assert "expired: W-EXPIRED (2026-08-15)" in page_one
    assert "unmatched: W-GONE" in page_one
    assert "expiring within 30 days: W-OS3-1, W-OS3-2, W-OS3-3 (first 2026-09-20)" in page_one
    overview = findings(waived)["summary"]["waivers"]
    assert overview == {
        "applied": 3,
        "waived_results": 3,
        "expired": ["W-EXPIRED"],
        "unmatched": ["W-GONE"],
        "expiring_soon": ["W-OS3-1", "W-OS3-2", "W-OS3-3"],
        "soon_days": 30,
    }
    listed = {w["waiver_id"]: w for w in findings(waived)["waivers"]}
    assert listed["W-EXPIRED"]["state"] == "expired" and listed["W-EXPIRED"]["days_left"] == -17
    assert listed["W-OS3-1"]["severity"] == "critical"
    assert listed["W-OS3-1"]["origin"] == "waivers.toml line 1: waiver 1"
    assert json.dumps(listed)  # plain JSON values
