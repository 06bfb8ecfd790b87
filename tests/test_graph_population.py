"""The Graph pull's population and policy parts against the loopback server, and the audit on them.

Real msgraph-sdk over HTTP to tests/graph_server.py (endpoints in tests/graph_population.py,
shaped after Microsoft's Graph reference examples): every list is followed page by page, a 403
on any endpoint becomes a gap naming the permission, and the rules that need the part then say
`unknown` naming it too, in findings.json.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from cli_runner import auditor
from graph_population import ASSIGNMENTS, NEVER_ENROLLED, POLICIES, VPP_SECRET, VPP_TOKENS
from graph_server import Fault, serve
from test_sources_graph import pull

from auditor.sources.snapshot import load_snapshot

TOKEN = "eyJ0eXAiOiJKV1QifQ.population-test.signature"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No proxy or credential of the developer's; a static token; no auditor.toml picked up."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "AZURE_CLIENT_SECRET",
                 "AZURE_CLIENT_CERTIFICATE_PATH"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("AUDITOR_GRAPH_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)


def test_every_new_list_is_followed_through_its_pages() -> None:
    with serve(9, page_size=2, export_polls=0) as graph:
        snapshot = pull(graph)
        expected_identities = sum(len(v) for v in graph.imported_identities.values())
        seen = [(s.path, s.query) for s in graph.seen]
    parts = snapshot["parts"]
    assert {name: parts[name]["status"] for name in parts} == dict.fromkeys(parts, "ok")
    assert len(parts["ade_identities"]["records"]) == expected_identities > 2
    assert len(parts["vpp_tokens"]["records"]) == len(VPP_TOKENS) == 2
    assert len(parts["compliance_policies"]["records"]) == len(POLICIES) == 4
    macos = [p["id"] for p in POLICIES if p["@odata.type"].endswith("macOSCompliancePolicy")]
    assert len(parts["compliance_assignments"]["records"]) == sum(
        len(ASSIGNMENTS[p]) for p in macos
    )  # the Windows policy's assignments are not fetched
    for fragment in ("/importedAppleDeviceIdentities", "/deviceCompliancePolicies"):
        pages = [q for path, q in seen if path.endswith(fragment) and "skiptoken=page1" in q]
        assert pages, f"{fragment} was not paged"
    records = parts["ade_identities"]["records"]
    assert {r["tokenId"] for r in records} == set(graph.imported_identities) - {
        t for t, v in graph.imported_identities.items() if not v
    }
    assert all("policyId" in r for r in parts["compliance_assignments"]["records"])


def test_the_vpp_token_string_never_reaches_the_snapshot(tmp_path: Path) -> None:
    with serve(4, export_polls=0) as graph:
        done = auditor(*_run(graph.url, tmp_path / "out", "json,xlsx,pdf"))
    assert done.returncode == 0, done.stderr
    for path in (tmp_path / "out").iterdir():
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        assert VPP_SECRET.encode() not in raw, path.name


DENIALS = [
    # (request pattern, part, permission, rules that must become unknown)
    (r"GET /beta/deviceManagement/depOnboardingSettings/[^/]+/importedAppleDeviceIdentities",
     "ade_identities", "DeviceManagementServiceConfig.Read.All", ("MAC-ADE-001", "MAC-ADE-002")),
    (r"GET /v1\.0/deviceAppManagement/vppTokens", "vpp_tokens",
     "DeviceManagementServiceConfig.Read.All", ("MAC-TEN-007", "MAC-TEN-008")),
    (r"GET /v1\.0/deviceManagement\?", "compliance_settings",
     "DeviceManagementConfiguration.Read.All", ("MAC-POL-001",)),
    (r"GET /v1\.0/deviceManagement/deviceCompliancePolicies\?", "compliance_policies",
     "DeviceManagementConfiguration.Read.All", ("MAC-POL-002", "MAC-POL-003")),
    (r"GET /v1\.0/deviceManagement/deviceCompliancePolicies/[^/]+/assignments",
     "compliance_assignments", "DeviceManagementConfiguration.Read.All",
     ("MAC-POL-002", "MAC-POL-003")),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "part", "permission", "rules"), DENIALS,
                         ids=[d[1] for d in DENIALS])  # fmt: skip
def test_a_403_on_each_part_is_a_gap_and_its_rules_say_unknown_naming_the_permission(
    tmp_path: Path, pattern: str, part: str, permission: str, rules: tuple[str, ...]
) -> None:
    denied = [Fault(pattern, 403, times=None)]
    with serve(6, page_size=3, faults=denied, export_polls=0) as graph:
        done = auditor(*_run(graph.url, tmp_path / "out", "json"))
    assert done.returncode == 0, done.stderr
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    [gap] = [g for g in findings["run"]["gaps"] if g["part"] == part]
    assert "403 Forbidden" in gap["reason"] and permission in gap["reason"]
    assert findings["run"]["complete"] is False  # any part not collected whole: PARTIAL (issue 14)
    summary = {r["rule_id"]: r for r in findings["summary"]["rules"]}
    for rule in rules:
        assert summary[rule]["unknown"] >= 1, rule
        assert summary[rule]["fail"] == summary[rule]["pass"] == 0, rule
        unknown = [f for f in findings["findings"] if f["rule_id"] == rule]
        assert unknown and all(f["status"] == "unknown" for f in unknown)
        assert all(permission in f["detail"] for f in unknown), rule
    snapshot = load_snapshot(tmp_path / "out" / "snapshot.json.gz")
    assert snapshot["parts"][part]["status"] == "denied"


def test_the_population_of_a_pull_reconciles_and_names_the_never_enrolled(tmp_path: Path) -> None:
    with serve(12, export_polls=0) as graph:
        done = auditor(*_run(graph.url, tmp_path / "out", "json"))
    assert done.returncode == 0, done.stderr
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    population = findings["population"]
    assert population["complete"] is True
    assert population["assigned"] == (
        population["enrolled_via_ade"] + population["enrolled_otherwise"]
        + population["never_enrolled"]
    )  # fmt: skip
    failed = {
        f["entity_id"] for f in findings["findings"]
        if f["rule_id"] == "MAC-ADE-001" and f["status"] == "fail"
    }  # fmt: skip
    assert failed == set(NEVER_ENROLLED)  # the recent one is in grace, the deleted one gone


def test_with_a_partial_device_list_no_serial_is_called_never_enrolled(tmp_path: Path) -> None:
    cut = [Fault(r"GET /v1\.0/deviceManagement/managedDevices\?.*skiptoken=page1", 500,
                 times=None)]  # fmt: skip
    with serve(12, page_size=5, faults=cut, export_polls=0) as graph:
        done = auditor(*_run(graph.url, tmp_path / "out", "json", "--allow-partial"))
    assert done.returncode == 0, done.stderr
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert findings["run"]["complete"] is False
    population = findings["population"]
    assert population["never_enrolled"] is None and population["complete"] is False
    assert population["assigned"] == (
        population["enrolled_via_ade"] + population["enrolled_otherwise"]
        + population["not_enrolled"]
    )  # fmt: skip
    ade = [f for f in findings["findings"] if f["rule_id"] == "MAC-ADE-001"]
    assert ade and {f["status"] for f in ade} == {"unknown"}
    assert all("device list failed" in f["detail"] for f in ade)


def _run(url: str, out: Path, formats: str, *extra: str) -> list[str]:
    return ["run", "--source", "graph", "--graph-url", url, "--as-of", "2026-09-01",
            "--out", str(out), "--no-history", "--format", formats, *extra]  # fmt: skip
