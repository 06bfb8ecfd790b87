"""The sample's answer key (sample_data/expected.json) checked against real audits of the sample.

Each case names an entity, the status a rule must give it, and sometimes the configuration
(`config`) or the generator arguments (`generate`) the outcome needs. One in-process audit per
distinct configuration and tenant; `pytest -k MAC-VM-001` selects one rule's cases.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from auditor.config import Config
from auditor.pipeline import RunOptions, run_audit, tenant_files
from auditor.report import Report
from auditor.sample import generate_tenant, write_tenant

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
EXPECTED = json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))
AS_OF = dt.date.fromisoformat(EXPECTED["as_of"])
# The committed sample's size, so a `generate` case gets the same tenant but for its argument.
DEVICES = len(json.loads((SAMPLE / "managed_devices.json").read_text(encoding="utf-8"))["value"])
CASES = [(rule_id, case) for rule_id, cases in EXPECTED["rules"].items() for case in cases]


def _case_id(rule_id: str, case: Mapping[str, Any]) -> str:
    names = ("key", "dem_upn", "token_name", "vpp_token_name", "policy_name", "identity_id")
    entity = next((case[n] for n in names if case.get(n)), case["entity"])
    extra = "-".join(f"{k}" for k in ("config", "generate") if k in case)
    return "-".join(filter(None, (rule_id, str(entity), case["status"], extra)))


def _config(inputs: list[Path], out: Path, settings: Mapping[str, Any]) -> Config:
    """The defaults, with the settings a case names (auditor.toml's keys, as expected.json)."""
    params = {rule: dict(values) for rule, values in settings.get("params", {}).items()}
    return Config(
        source="files",
        inputs=tuple(inputs),
        out_dir=out,
        formats=("json",),
        approved_vm_serials=tuple(settings.get("approved_vm_serials", ())),
        approved_vm_name_patterns=tuple(settings.get("approved_vm_name_patterns", ())),
        personal_macs_allowed=settings.get("personal_macs_allowed", True),
        params=params,
    )


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory, sample_report: Report) -> dict[str, Report]:
    """One report per distinct (generator arguments, configuration) the cases need; the sample
    with the defaults is conftest's `sample_report` (the same in-process audit, shared)."""
    reports: dict[str, Report] = {"{}{}": sample_report}
    tenants: dict[str, list[Path]] = {"{}": tenant_files(SAMPLE)}
    for _, case in CASES:
        generate = json.dumps(case.get("generate", {}), sort_keys=True)
        key = generate + json.dumps(case.get("config", {}), sort_keys=True)
        if key in reports:
            continue
        if generate not in tenants:
            folder = tmp_path_factory.mktemp("tenant")
            tenant = generate_tenant(DEVICES, EXPECTED["seed"], AS_OF, **case["generate"])
            write_tenant(tenant, folder)
            tenants[generate] = tenant_files(folder)
        out = tmp_path_factory.mktemp("audit")
        options = RunOptions(AS_OF, dt.datetime(2026, 9, 1, 6, tzinfo=dt.UTC))
        config = _config(tenants[generate], out, case.get("config", {}))
        reports[key] = run_audit(config, options).report
    return reports


def _status(report: Report, rule_id: str, case: Mapping[str, Any]) -> str:
    if case["entity"] == "device":
        devices = report.devices.set_index("device_id")
        return str(devices.loc[case["device_id"], rule_id])
    if case["entity"] == "ade_identity":
        identities = report.population.identities.set_index("identity_id")
        return str(identities.loc[case["identity_id"], rule_id])
    ids = ("tenant_id", "token_id", "dem_upn", "vpp_token_id", "policy_id")
    entity_id = next(case[n] for n in ids if case.get(n))
    found = [
        r.status
        for r in report.tenant.results
        if (r.rule_id, r.entity_type, r.entity_id) == (rule_id, case["entity"], entity_id)
    ]
    assert len(found) == 1, f"{rule_id} gave {case['entity']} {entity_id} {len(found)} results"
    return found[0]


@pytest.mark.parametrize(("rule_id", "case"), CASES, ids=[_case_id(*c) for c in CASES])
def test_the_sample_audit_meets_every_expected_case(audits, rule_id, case):
    key = json.dumps(case.get("generate", {}), sort_keys=True) + json.dumps(
        case.get("config", {}), sort_keys=True
    )
    assert _status(audits[key], rule_id, case) == case["status"], case
