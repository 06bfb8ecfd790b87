"""The population test end to end: ABM serials read, matched with the Macs, judged and counted.

Inputs are the sample tenant's files (sample_data/, Graph shapes per auditor/sample/population.py)
and the Graph reference's own examples (tests/fixtures/population/README.md names each
page). The counts must reconcile, and a serial no collected Mac carries is "never enrolled"
only when the device list is whole.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from auditor.config import Config
from auditor.engine import EvaluationContext, evaluate, gap_reasons
from auditor.errors import SourceError
from auditor.models import SourceGap
from auditor.normalize import normalize
from auditor.pipeline import RunOptions, run_audit, tenant_files
from auditor.refdata.catalogue_file import load_catalogue
from auditor.report import Report
from auditor.report.population import population
from auditor.rules import rule_by_id
from auditor.sources.files import read_file, read_files

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
PUBLISHED = REPO / "tests" / "fixtures" / "population"
AS_OF = dt.date(2026, 9, 1)
DENIED = (
    "GET https://graph.microsoft.com/beta/deviceManagement/depOnboardingSettings/t1/"
    "importedAppleDeviceIdentities: 403 Forbidden; the app needs the "
    "DeviceManagementServiceConfig.Read.All permission (application, admin-consented)"
)


def audit(inputs: list[Path], out: Path) -> Report:
    config = Config(source="files", inputs=tuple(inputs), out_dir=out, formats=("json",))
    options = RunOptions(AS_OF, dt.datetime(2026, 9, 1, 6, tzinfo=dt.UTC))
    return run_audit(config, options).report


def without(*names: str) -> list[Path]:
    return [p for p in tenant_files(SAMPLE) if p.name not in names]


@pytest.fixture(scope="module")
def sample(sample_report: Report) -> Report:
    """audit(tenant_files(SAMPLE), …): the same audit as conftest's, shared per worker."""
    return sample_report


# -- the counts ---------------------------------------------------------------------------------


def test_the_population_reconciles_and_every_serial_is_counted_once(sample: Report) -> None:
    p = sample.population
    assert p.is_collected and p.is_complete and p.gaps == ()
    assert p.assigned == p.enrolled_via_ade + p.enrolled_otherwise + p.never_enrolled
    assert p.never_enrolled == p.not_enrolled
    assert p.enrolled == p.enrolled_via_ade + p.enrolled_otherwise
    assert p.assigned == sum(t.assigned for t in p.tokens)
    for token in p.tokens:
        assert token.assigned == (
            token.enrolled_via_ade + token.enrolled_otherwise + token.not_enrolled
        )
    # The table holds every serial once; the counts are its macOS, not deleted rows.
    table = p.identities
    assert table["identity_id"].is_unique
    kept = table[(table["platform"] == "macOS") & ~table["is_deleted"].astype(bool)]
    assert len(kept) == p.assigned
    assert int(kept["is_enrolled"].sum()) == p.enrolled
    assert p.deleted_in_abm == 1 and p.enrolled_otherwise == 2  # the sample's escaped Macs


def test_the_counts_agree_with_the_rules_and_the_sample_files(sample: Report) -> None:
    p = sample.population
    statuses = p.identities["MAC-ADE-001"].astype(str).value_counts()
    # Enrolled serials pass; the not-enrolled ones fail but for the one inside the grace period.
    assert statuses["pass"] == p.enrolled
    assert statuses["fail"] == p.never_enrolled - 1
    ade_002 = sample.devices["MAC-ADE-002"].astype(str).value_counts()
    assert ade_002["fail"] == p.enrolled_otherwise
    pages = json.loads((SAMPLE / "ade_imported_identities.json").read_text(encoding="utf-8"))
    records = [r for page in pages for r in page["value"]]
    macs = [r for r in records if r["platform"] == "macOS" and not r["isDeleted"]]
    assert len(macs) == p.assigned
    assert any("@odata.nextLink" in page for page in pages)  # the list really is paged


def test_a_partial_device_list_never_counts_a_serial_as_never_enrolled(tmp_path: Path) -> None:
    # The Graph pull's snapshot of the sample would carry this gap when the list was cut.
    cut = SourceGap(
        "managed_devices",
        "GET …/managedDevices: HTTP 503 (after 5 retries)",
        ("device_id",),
        is_core=True,
        status="partial",
    )
    readings = read_files(tenant_files(SAMPLE))
    inventory = normalize(readings.batches, inputs=readings.inputs, gaps=[cut])
    identities = inventory.ade_identities
    unmatched = identities[identities["device_id"].isna()]
    assert len(unmatched) and unmatched["is_enrolled"].isna().all()
    ctx = EvaluationContext(AS_OF, load_catalogue(), {}, gap_reasons([cut]))
    rule = rule_by_id("MAC-ADE-001")
    results = evaluate([rule], inventory.frames(), ctx)
    failed = results[results["status"] == "fail"]
    assert failed.empty  # not one "never enrolled" without a whole device list
    unknown = results[results["status"] == "unknown"]
    assert len(unknown) == _unmatched(identities)
    assert all("device list failed: " in d for d in unknown["detail"])  # read only in part


def _unmatched(identities: pd.DataFrame) -> int:
    """Serials of macOS, not deleted, that no collected Mac carries.

    Those inside the grace period are unknown too: enrolled they would pass, not enrolled
    they would not be judged yet.
    """
    chosen = (
        identities["device_id"].isna()
        & identities["is_mac"].fillna(False)
        & ~identities["is_deleted"].fillna(False)
    )
    return int(chosen.sum())


def test_the_population_says_partial_when_the_device_list_is(tmp_path: Path) -> None:
    cut = SourceGap("managed_devices", "cut short", ("device_id",), is_core=True, status="partial")
    readings = read_files(tenant_files(SAMPLE))
    inventory = normalize(readings.batches, inputs=readings.inputs, gaps=[cut])
    results = evaluate([], inventory.frames(), EvaluationContext(AS_OF, load_catalogue(), {}))
    p = population(inventory, results, ())
    assert p.is_collected and not p.is_complete
    assert p.never_enrolled is None
    assert p.assigned == p.enrolled_via_ade + p.enrolled_otherwise + p.not_enrolled
    assert p.gaps == ("managed_devices partial: cut short",)


# -- not collected --------------------------------------------------------------------------------


def test_without_the_identities_the_rules_are_unknown_and_the_counts_absent(tmp_path: Path) -> None:
    report = audit(without("ade_imported_identities.json"), tmp_path)
    p = report.population
    assert not p.is_collected and p.assigned is None and p.never_enrolled is None
    [gap] = p.gaps
    assert gap.startswith("ade_identities not collected: no input carried it; add GET ")
    [row] = p.identities.to_dict("records")
    assert row["identity_id"] == "(not collected)" and row["MAC-ADE-001"] == "unknown"
    assert set(report.devices["MAC-ADE-002"].astype(str)) == {"unknown"}
    ade = report.findings[report.findings["rule_id"].str.startswith("MAC-ADE")]
    gap = "ADE device identities (Apple Business Manager serials) not supplied: no input"
    assert ade["detail"].str.contains(gap, regex=False).all()
    assert ade["detail"].str.contains("importedAppleDeviceIdentities").all()  # what to add


def test_a_denied_part_names_the_permission_in_every_unknown(tmp_path: Path) -> None:
    denied = SourceGap("ade_identities", DENIED, status="denied")
    readings = read_files(without("ade_imported_identities.json"))
    inventory = normalize(readings.batches, inputs=readings.inputs, gaps=[denied])
    ctx = EvaluationContext(AS_OF, load_catalogue(), {}, gap_reasons([denied]))
    rules = [rule_by_id("MAC-ADE-001"), rule_by_id("MAC-ADE-002")]
    results = evaluate(rules, inventory.frames(), ctx)
    assert set(results["status"].astype(str)) == {"unknown"}
    assert results["detail"].str.contains("DeviceManagementServiceConfig.Read.All").all()


def test_vpp_rules_are_unknown_not_passing_when_the_tokens_were_not_collected(
    tmp_path: Path,
) -> None:
    report = audit(without("vpp_tokens.json"), tmp_path)
    vpp = [r for r in report.tenant.results if r.rule_id in ("MAC-TEN-007", "MAC-TEN-008")]
    assert [(r.rule_id, r.entity_id, r.status) for r in vpp] == [
        ("MAC-TEN-007", "(not collected)", "unknown"),
        ("MAC-TEN-008", "(not collected)", "unknown"),
    ]
    assert all("Apps and Books (VPP) tokens not supplied" in (r.detail or "") for r in vpp)
    outcome = {r.rule_id: r.outcome for r in report.rules}
    assert outcome["MAC-TEN-007"] == outcome["MAC-TEN-008"] == "not_assessed"
    assert report.tenant.vpp_tokens == ()
    assert report.tenant.vpp_gap == (
        "vpp_tokens not collected: no input carried it; add GET deviceAppManagement/vppTokens"
    )


def test_policies_without_their_assignments_are_neither_assigned_nor_unassigned(
    tmp_path: Path,
) -> None:
    report = audit(without("compliance_policy_assignments.json"), tmp_path)
    coverage = report.tenant.compliance
    assert coverage is not None
    assert {row.is_assigned for row in coverage.rows} == {None}
    assert coverage.assigned is None and coverage.filevault_assigned is None
    statuses = {(r.rule_id, r.entity_name): r.status for r in report.tenant.results}
    assert statuses[("MAC-POL-002", "tenant")] == "unknown"
    assert {s for (rule, _), s in statuses.items() if rule == "MAC-POL-003"} == {"unknown"}


# -- reading the shapes ----------------------------------------------------------------------------


def test_identities_saved_without_their_token_are_refused_naming_the_file() -> None:
    # The Graph reference's example carries no @odata.context: the token is not known.
    with pytest.raises(SourceError, match=r"graph_docs_imported_identities\.json.*tokenId"):
        read_file(PUBLISHED / "graph_docs_imported_identities.json")


def test_identity_pages_name_their_token_and_other_platforms_are_left_out(tmp_path: Path) -> None:
    page = json.loads((PUBLISHED / "graph_docs_imported_identities.json").read_text())
    page["@odata.context"] = (
        "https://graph.microsoft.com/beta/$metadata#deviceManagement/"
        "depOnboardingSettings('tok-1')/importedAppleDeviceIdentities"
    )
    path = tmp_path / "identities.json"
    path.write_text(json.dumps(page))
    reading = read_file(path)
    assert reading.kind == "graph-ade-identities"
    [batch] = reading.batches
    assert batch.records["tokenId"].tolist() == ["tok-1"]
    inventory = normalize(reading.batches)
    assert len(inventory.ade_identities) == 0  # the example is an iPhone
    [note] = [n for n in inventory.quality if n.field == "ade_identities.platform"]
    assert (note.problem, note.count, note.examples) == ("not_macos", 1, ("1 ios",))


def test_one_serial_under_two_tokens_is_one_entity_naming_both(tmp_path: Path) -> None:
    def page(token: str, name: str) -> dict[str, object]:
        return {
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/"
            f"depOnboardingSettings('{token}')/importedAppleDeviceIdentities",
            "value": [
                {"id": f"{token}-1", "serialNumber": " c02dup0001 ", "platform": "macOS",
                 "discoverySource": "deviceEnrollmentProgram", "enrollmentState": "notContacted",
                 "isDeleted": False, "createdDateTime": f"2026-0{name}-01T00:00:00Z"}
            ],
        }  # fmt: skip

    tokens = {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/"
        "depOnboardingSettings",
        "value": [
            {"id": "a", "tokenName": "Main", "tokenExpirationDateTime": "2027-01-01T00:00:00Z"},
            {"id": "b", "tokenName": "Old", "tokenExpirationDateTime": "2027-01-01T00:00:00Z"},
        ],
    }
    path = tmp_path / "identities.json"
    path.write_text(json.dumps([page("a", "5"), page("b", "3")]))
    (tmp_path / "tokens.json").write_text(json.dumps(tokens))
    inventory = normalize(read_files([path, tmp_path / "tokens.json"]).batches)
    [row] = inventory.ade_identities.to_dict("records")
    assert row["identity_id"] == "C02DUP0001"
    assert (row["token_id"], row["token_name"]) == ("a; b", "Main; Old")
    assert row["imported_at"] == pd.Timestamp("2026-03-01", tz="UTC")  # the first assignment
    [note] = [n for n in inventory.quality if n.problem == "duplicate_serial"]
    assert note.field == "ade_identities.serialNumber" and note.examples == ("C02DUP0001",)


def test_vpp_tokens_as_graph_documents_them_and_the_token_string_is_never_kept(
    tmp_path: Path,
) -> None:
    reading = read_file(PUBLISHED / "graph_docs_vpp_tokens.json")
    assert reading.kind == "graph-vpp-tokens"
    inventory = normalize(reading.batches)
    [token] = inventory.vpp_tokens.to_dict("records")
    assert token["vpp_token_name"] == "Organization Name value"
    assert token["vpp_expires_at"] == pd.Timestamp("2017-01-01 07:57:57.248123", tz="UTC")
    assert "Token value" not in inventory.vpp_tokens.to_string()


def test_the_compliance_policy_example_reads_and_its_placeholder_minimum_is_unknown(
    tmp_path: Path,
) -> None:
    policies = PUBLISHED / "graph_docs_macos_compliance_policies.json"
    page = json.loads((PUBLISHED / "graph_docs_compliance_assignments.json").read_text())
    page["@odata.context"] = (
        "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/"
        "deviceCompliancePolicies('ddbadff3-dff3-ddba-f3df-baddf3dfbadd')/assignments"
    )
    assignments = tmp_path / "assignments.json"
    assignments.write_text(json.dumps(page))
    readings = read_files([policies, assignments])
    kinds = [i.kind for i in readings.inputs]
    assert kinds == ["graph-compliance-policies", "graph-compliance-assignments"]
    inventory = normalize(readings.batches, inputs=readings.inputs)
    [policy] = inventory.compliance_policies.to_dict("records")
    assert policy["is_assigned"] is True and policy["requires_filevault"] is True
    assert policy["assignment_targets"] == "Configuration Manager collection Collection Id value"
    assert inventory.tenant.loc[0, "filevault_policy_assigned"]
    ctx = EvaluationContext(AS_OF, load_catalogue(), {})
    results = evaluate([rule_by_id("MAC-POL-003")], inventory.frames(), ctx)
    assert results["status"].astype(str).tolist() == ["unknown"]
    assert "minimum macOS version Os Minimum Version value" in results["detail"][0]


def test_assignments_saved_without_their_policy_are_refused() -> None:
    with pytest.raises(SourceError, match=r"policyId.*\$expand=assignments"):
        read_file(PUBLISHED / "graph_docs_compliance_assignments.json")


def test_policies_saved_with_expanded_assignments_carry_them(tmp_path: Path) -> None:
    page = json.loads((PUBLISHED / "graph_docs_macos_compliance_policies.json").read_text())
    excluded = {
        "id": "x1",
        "target": {"@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget",
                   "groupId": "g-excluded"},
    }  # fmt: skip
    page["value"][0]["assignments"] = [excluded]
    second = {**page["value"][0], "id": "p2", "displayName": "Unassigned", "assignments": []}
    page["value"].append(second)
    path = tmp_path / "policies.json"
    path.write_text(json.dumps(page))
    batches = read_files([path]).batches
    assert sorted(b.kind for b in batches) == ["compliance_assignments", "compliance_policies"]
    inventory = normalize(batches)
    frame = inventory.compliance_policies.set_index("policy_id")
    # An exclusion alone assigns nothing; an empty list is known to be no assignment.
    assert frame.loc["ddbadff3-dff3-ddba-f3df-baddf3dfbadd", "is_assigned"] == False  # noqa: E712
    assert frame.loc["ddbadff3-dff3-ddba-f3df-baddf3dfbadd", "assignment_targets"] == (
        "excluded group g-excluded"
    )
    assert frame.loc["p2", "is_assigned"] == False  # noqa: E712
    assert inventory.tenant.loc[0, "filevault_policy_assigned"] == False  # noqa: E712


@pytest.mark.parametrize("wrapped", [True, False], ids=["as-documented", "the-object"])
def test_the_compliance_settings_as_one_object(tmp_path: Path, wrapped: bool) -> None:
    # Graph's documentation prints the single object inside "value"; Graph answers the object.
    document = json.loads((PUBLISHED / "graph_docs_device_management.json").read_text())
    path = tmp_path / "device_management.json"
    path.write_text(json.dumps(document if wrapped else document["value"]))
    reading = read_file(path)
    assert reading.kind == "graph-compliance-settings"
    tenant = normalize(reading.batches).tenant
    assert tenant.loc[0, "secure_by_default"] == True  # noqa: E712
    assert tenant.loc[0, "compliance_validity_days"] == 4


def test_a_sample_folder_copy_without_population_files_still_audits(tmp_path: Path) -> None:
    folder = tmp_path / "tenant"
    folder.mkdir()
    for path in without(
        "ade_imported_identities.json", "vpp_tokens.json", "device_management.json",
        "compliance_policies.json", "compliance_policy_assignments.json",
    ):  # fmt: skip
        shutil.copy(path, folder / path.name)
    report = audit(tenant_files(folder), tmp_path / "out")
    parts = {g.part for g in report.run.gaps}
    assert {"ade_identities", "vpp_tokens", "compliance_settings", "compliance_policies",
            "compliance_assignments"} <= parts  # fmt: skip
    new_rules = [r for r in report.rules if r.rule_id.startswith(("MAC-ADE", "MAC-POL"))]
    assert {r.outcome for r in new_rules} == {"not_assessed"}
    assert not report.run.is_complete  # any part not collected makes the run PARTIAL (issue 14)


def test_powershell_sdk_identities_with_the_token_added_as_docs_inputs_says(
    tmp_path: Path,
) -> None:
    # Get-MgBetaDeviceManagementDepOnboardingSettingImportedAppleDeviceIdentity | Select-Object
    # *, @{n='tokenId'; e={$id}} | ConvertTo-Json: PascalCase members, the token added.
    records = [
        {"Id": "i-1", "SerialNumber": "C02PSHELL01", "Platform": "macOS",
         "EnrollmentState": "notContacted", "DiscoverySource": "deviceEnrollmentProgram",
         "IsDeleted": False, "CreatedDateTime": "2026-02-10T08:00:00Z", "tokenId": "tok-9"},
    ]  # fmt: skip
    path = tmp_path / "identities.json"
    path.write_text(json.dumps(records))
    reading = read_file(path)
    assert reading.kind == "graph-ade-identities"
    [row] = normalize(reading.batches).ade_identities.to_dict("records")
    assert (row["identity_id"], row["token_id"], row["platform"]) == (
        "C02PSHELL01",
        "tok-9",
        "macOS",
    )
    assert row["is_enrolled"] is False  # given no gap, the (empty) device list counts as whole
