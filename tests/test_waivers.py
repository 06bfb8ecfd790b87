import datetime as dt

import pandas as pd
import pytest

from auditor.config import WaiverPolicy
from auditor.engine import EvaluationContext, evaluate
from auditor.errors import ConfigError
from auditor.refdata.catalogue_file import load_catalogue
from auditor.rules import ALL_RULES
from auditor.waivers import WaiverRules, apply_waivers, load_waivers

AS_OF = dt.date(2026, 9, 1)


def devices() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "device_id": pd.array(["dev-lab-1", "dev-lab-2", "dev-sales-1"], dtype="string"),
            "device_name": pd.array(["LAB-VM-01", "lab-vm-02", "SALES-MBP"], dtype="string"),
            "serial_number": pd.array(["C02AAA", "C02BBB", "C02CCC"], dtype="string"),
            "is_encrypted": pd.array([False, False, False], dtype="boolean"),
        }
    )


def results(frame: pd.DataFrame) -> pd.DataFrame:
    fv = [r for r in ALL_RULES if r.id == "MAC-FV-001"]
    return evaluate(fv, {"devices": frame}, EvaluationContext(AS_OF, load_catalogue(), {}))


def governed(policy=None, operator=""):
    """What a run checks waivers against: the catalogue's severities and a [waivers] policy."""
    return WaiverRules(
        {r.id: r.severity for r in ALL_RULES}, policy or WaiverPolicy(), AS_OF, operator
    )


def write(tmp_path, text, name="waivers.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


WAIVERS = """
[[waiver]]
id = "W-LAB"
rule = "MAC-FV-001"
name = "lab-vm-*"
reason = "Lab VMs hold no data"
approver = "CISO"
ticket = "CHG-1"
expires = 2026-12-31

[[waiver]]
rule = "MAC-FV-001"
serial = "C02CCC"
reason = "Replaced next week"
approver = "IT lead"
ticket = "CHG-2"
expires = 2026-08-31

[[waiver]]
rule = "MAC-FV-001"
device_id = "dev-gone"
reason = "Retired Mac"
approver = "IT lead"
ticket = "CHG-3"
expires = 2027-01-31
"""


def test_applied_expired_and_unmatched_waivers_are_all_reported(tmp_path):
    waivers, digest = load_waivers(write(tmp_path, WAIVERS))
    frame = devices()
    outcome = apply_waivers(results(frame), {"devices": frame}, waivers, AS_OF, digest)
    by_device = dict(
        zip(outcome.results["entity_id"].astype(str), outcome.results["status"], strict=True)
    )
    assert by_device == {"dev-lab-1": "waived", "dev-lab-2": "waived", "dev-sales-1": "fail"}
    states = {use.waiver.id: (use.state, use.matched) for use in outcome.uses}
    assert states == {"W-LAB": ("applied", 2), "W002": ("expired", 0), "W003": ("unmatched", 0)}
    assert (
        outcome.results.loc[outcome.results["status"] == "waived", "waiver_id"].tolist()
        == ["W-LAB"] * 2
    )


def test_waiver_expiring_on_the_as_of_date_still_applies(tmp_path):
    text = WAIVERS.replace("expires = 2026-08-31", "expires = 2026-09-01")
    waivers, _ = load_waivers(write(tmp_path, text))
    frame = devices()
    outcome = apply_waivers(results(frame), {"devices": frame}, waivers, AS_OF)
    assert (outcome.results["status"] == "waived").sum() == 3


def test_yaml_waivers(tmp_path):
    path = write(
        tmp_path,
        "waivers:\n  - rule: MAC-FV-001\n    serial: c02aaa\n    reason: r\n    approver: a\n"
        "    ticket: t\n    expires: 2026-12-31\n",
        "waivers.yaml",
    )
    waivers, _ = load_waivers(path)
    frame = devices()
    outcome = apply_waivers(results(frame), {"devices": frame}, waivers, AS_OF)
    assert (outcome.results["status"] == "waived").sum() == 1


def test_every_bad_waiver_is_named(tmp_path):
    path = write(
        tmp_path,
        '[[waiver]]\nrule = "MAC-FV-001"\nserial = "X"\nname = "Y"\nreason = "r"\n'
        'approver = "a"\nticket = "t"\n\n[[waiver]]\nrule = "MAC-FV-001"\nserial = "X"\n'
        'reason = "r"\napprover = "a"\nticket = "t"\nexpires = "soon"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_waivers(path)
    message = str(caught.value)
    assert "line 1, waiver 1: missing expires" in message
    assert "line 1, waiver 1: give exactly one selector" in message
    assert "line 9, waiver 2: expires: 'soon' is not a date" in message
    assert message.count("waiver 2") == 1  # one problem, one message


def test_unknown_rule_ids_are_reported_with_the_other_problems(tmp_path):
    path = write(
        tmp_path,
        '[[waiver]]\nrule = "MAC-XX-001"\nserial = "X"\nreason = "r"\napprover = "a"\n'
        'ticket = "t"\nexpires = 2026-12-31\n\n[[waiver]]\nrule = "MAC-FV-001"\nserial = "X"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_waivers(path, governed())
    message = str(caught.value)
    assert "line 1, waiver 1 (W001): unknown rule id 'MAC-XX-001'" in message
    assert "line 9, waiver 2: missing reason, approver, ticket, expires" in message


def test_tenant_false_selects_nothing_and_ids_match_case_insensitively(tmp_path):
    bad = write(
        tmp_path,
        '[[waiver]]\nrule = "MAC-FV-001"\ntenant = false\nreason = "r"\napprover = "a"\n'
        'ticket = "t"\nexpires = 2026-12-31\n',
    )
    with pytest.raises(ConfigError, match="give exactly one selector"):
        load_waivers(bad)
    waivers, _ = load_waivers(
        write(
            tmp_path,
            '[[waiver]]\nrule = "MAC-FV-001"\ndevice_id = "DEV-LAB-1"\nreason = "r"\n'
            'approver = "a"\nticket = "t"\nexpires = 2026-12-31\n',
        )
    )
    frame = devices()
    outcome = apply_waivers(results(frame), {"devices": frame}, waivers, AS_OF)
    assert (outcome.results["status"] == "waived").sum() == 1


def test_the_readme_waiver_example_passes_the_default_policy(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("Waivers (`waivers.toml`")[1].split("```toml\n")[1].split("```")[0]
    waivers, _ = load_waivers(write(tmp_path, example), governed())
    assert [(w.id, w.rule_id, w.approved) for w in waivers] == [
        ("W-LAB-VMS", "MAC-VM-001", dt.date(2026, 9, 1))
    ]
