"""Every input shape built from a published real one: device counts, values, rule statuses.

Each fixture keeps the field names, casing, encoding and date formats of its source; ids,
serials and names are varied. Sources:

- `devices_export_display_headers.csv`: the `Devices` export MG-Cloudflow/MSGraph-Examples
  GraphApi-Reports/reports/13062024/Devices_3be707eb-9b44-4768-97f7-e2c89134750b.csv
  (requested by GraphApi-Reports/Reports-Demo.ps1 as DeviceName, managementAgent, ownerType,
  complianceState, OS, OSVersion, LastContact, UPN, DeviceId): display headers, every field
  quoted, LF line ends, `2024-06-13 17:03:05.9184364` times; Mac rows added.
- `devices_with_inventory.csv`: the "Columns received" of DevicesWithInventory (the admin
  center's Devices > All devices > Export) in MicrosoftDocs/memdocs
  intune/intune-service/fundamentals/reports-export-graph-available-reports.md, the columns
  exported by default, values in the formats of the export above.
- `intune_diagnostic_devices.json`: Intune diagnostic settings, category Devices, one record
  per line with the columns under `properties`: elastic/integrations
  packages/microsoft_intune/data_stream/managed_device/_dev/test/pipeline/test-managed-device.log
  (columns as the Log Analytics table IntuneDevices, MicrosoftDocs/azure-reference-other
  azure-monitor-ref/tables/intunedevices.md).
- `powershell_export_csv_en_gb.csv`, `powershell_export_csv_en_us.csv`,
  `powershell_convertto_json.json`: `Get-MgDeviceManagementManagedDevice | Export-Csv` and
  `Get-MgBetaDeviceManagementManagedDevice | ConvertTo-Json`: PascalCase members as the SDK
  names them (microsoftgraph/msgraph-sdk-powershell
  src/DeviceManagement/DeviceManagement/docs/v1.0/New-MgDeviceManagementManagedDevice.md),
  Windows PowerShell's `#TYPE` line and `\\/Date(ms)\\/` JSON dates, culture-formatted CSV dates
  (en-GB `31/12/9999 23:59:59`, en-US `12/31/9999 11:59:59 PM`).
- `graph_docs_get_managed_device.json`: the example response of "Get managedDevice"
  (microsoftgraph/microsoft-graph-docs-contrib api-reference/beta/api/
  intune-devices-manageddevice-get.md): `{"value": {…}}`, no `@odata.context`, every member.
- `default_platform_restrictions.json`: a real tenant's default platform restriction
  (Pacers31Colts18/Intune.Docs Docs/DeviceEnrollmentConfigurations/All_users_and_all_devices.md)
  carrying both `macOSRestriction` and `macRestriction`.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import orjson
import pandas as pd
import pytest

from auditor.config import Config
from auditor.engine import EvaluationContext, evaluate
from auditor.errors import SourceError
from auditor.models import Inventory, RawBatch
from auditor.normalize import normalize
from auditor.pipeline import resolve_catalogue
from auditor.rules import ALL_RULES
from auditor.sources.files import UnknownShapeError, read_file, read_files

PUBLISHED = Path(__file__).parent / "fixtures" / "files" / "published"
AS_OF = dt.date(2024, 6, 14)
ADE_PROFILES = RawBatch(
    "ade_profiles", "profiles.json", pd.DataFrame({"displayName": ["Shared Macs ADE"]})
)


def audit(*paths: Path, extra: tuple[RawBatch, ...] = (), params=None, as_of=AS_OF):
    """Read, normalize and evaluate like a run: the inventory and {(rule, id): (status, detail)}."""
    readings = read_files(list(paths))
    inventory = normalize([*readings.batches, *extra], inputs=readings.inputs, notes=readings.notes)
    context = EvaluationContext(as_of, resolve_catalogue(Config()), params or {})
    results = evaluate(ALL_RULES, inventory.frames(), context)
    statuses = {(r.rule_id, r.entity_id): (str(r.status), r.detail) for r in results.itertuples()}
    return inventory, statuses


def devices(inventory: Inventory) -> pd.DataFrame:
    return inventory.devices.set_index("device_name")


def notes(inventory: Inventory, field: str, problem: str):
    return [n for n in inventory.quality if n.field == field and n.problem == problem]


def status(statuses, rule: str, inventory: Inventory, name: str) -> str:
    device_id = devices(inventory).loc[name, "device_id"]
    return statuses[(rule, device_id)][0]


# ---------------------------------------------------------------- reports export, display headers


def test_devices_export_with_display_headers_maps_every_column():
    inventory, statuses = audit(PUBLISHED / "devices_export_display_headers.csv")
    macs = devices(inventory)
    assert sorted(macs.index) == ["CF-MAC-ADA", "CF-MAC-BOB", "CF-MAC-OLD"]
    [windows] = notes(inventory, "operating_system", "not_macos")
    assert windows.count == 2
    assert macs["device_id"].str.startswith("5b1e0a77-7c41-4e3f-9d3a-0c6f2a9e1d0").all()
    assert macs["ownership"].tolist() == ["corporate", "personal", "corporate"]
    assert macs["compliance_state"].tolist() == ["compliant", "noncompliant", "inGracePeriod"]
    assert macs["os_version"].tolist() == ["14.5.0", "13.6.7", "12.7.5"]
    assert macs.loc["CF-MAC-ADA", "last_sync_at"] == pd.Timestamp(
        "2024-06-13 08:41:17.221", tz="UTC"
    )
    assert macs.loc["CF-MAC-ADA", "upn"] == "ada.lovelace@contoso.example"
    [unused] = notes(inventory, "inputs", "unmapped_columns")
    assert unused.examples == ("columns not used: Managed by",)
    assert inventory.inputs[0].kind == "admin-center-csv"
    # what the export carries decides; what it cannot carry is unknown, never a guess
    assert status(statuses, "MAC-SYN-001", inventory, "CF-MAC-ADA") == "pass"
    assert status(statuses, "MAC-SYN-001", inventory, "CF-MAC-OLD") == "fail"
    ada = devices(inventory).loc["CF-MAC-ADA", "device_id"]
    assert statuses[("MAC-ENR-004", ada)] == ("unknown", "enrollment method not reported")
    assert status(statuses, "MAC-ENR-004", inventory, "CF-MAC-BOB") == "not_applicable"
    assert statuses[("MAC-FV-001", ada)] == ("unknown", "FileVault state not reported")
    # the data-quality report names what to add for what the rules missed
    [bootstrap] = notes(inventory, "bootstrap_escrowed", "missing")
    assert bootstrap.examples == (
        "no input provides bootstrap_escrowed for any of the 3 Macs; add single-device GETs "
        "with $select=bootstrapTokenEscrowed (auditor fetch collects them)",
    )


def test_display_header_export_and_a_graph_list_join_on_the_device_id():
    """The same Macs from Graph: one row each, joined by id whatever the header spelling."""
    export = PUBLISHED / "devices_export_display_headers.csv"
    rows = [line.split('","') for line in export.read_text().splitlines()[1:]]
    page = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices",
        "value": [
            {"id": r[8].rstrip('"').upper(), "deviceName": r[0].lstrip('"'),
             "operatingSystem": r[4], "osVersion": r[5], "isEncrypted": True,
             "deviceEnrollmentType": "appleBulkWithUser"}
            for r in rows if r[4] == "macOS"
        ],
    }  # fmt: skip
    listing = PUBLISHED.parent / "_graph_list.json"
    try:
        listing.write_bytes(orjson.dumps(page))
        inventory, _ = audit(listing, export)
    finally:
        listing.unlink()
    macs = devices(inventory)
    assert len(macs) == 3
    assert macs["source"].tolist() == ["_graph_list.json; devices_export_display_headers.csv"] * 3
    assert macs["ownership"].tolist() == ["corporate", "personal", "corporate"]  # export only
    assert not notes(inventory, "device_id", "absent_from_input")


def test_devices_with_inventory_export_reads_every_received_column():
    inventory, statuses = audit(PUBLISHED / "devices_with_inventory.csv")
    macs = devices(inventory)
    assert sorted(macs.index) == ["IMAC-LAB-07", "MBA-BOB-01", "MBP-ADA-01"]
    assert [n.count for n in notes(inventory, "operating_system", "not_macos")] == [1]
    ada = macs.loc["MBP-ADA-01"]
    assert (ada["serial_number"], ada["processor_arch"], ada["chip"]) == (
        "C02Z71ABMD6T", "arm64", "apple_silicon",
    )  # fmt: skip
    assert macs.loc["IMAC-LAB-07", "processor_arch"] == "x64"  # macOS code 9 (memdocs)
    assert ada["enrolled_at"] == pd.Timestamp("2024-03-05 14:22:11.123456", tz="UTC")
    assert macs["is_supervised"].tolist() == [True, False, True]
    assert macs["is_encrypted"].tolist() == [True, False, True]
    assert pd.isna(ada["user_approved"]) and pd.isna(ada["model_identifier"])
    # no enrollment type unless selected (memdocs): every enrollment rule is unknown
    for name in macs.index:
        assert status(statuses, "MAC-ENR-004", inventory, name) in ("unknown", "not_applicable")
    assert status(statuses, "MAC-FV-001", inventory, "MBA-BOB-01") == "fail"
    assert status(statuses, "MAC-FV-001", inventory, "MBP-ADA-01") == "pass"


# ---------------------------------------------------------------- Intune diagnostic settings


def test_diagnostic_devices_records_read_with_the_newest_state_winning():
    inventory, statuses = audit(PUBLISHED / "intune_diagnostic_devices.json")
    macs = devices(inventory)
    assert sorted(macs.index) == ["MBA-BOB", "MBP-ADA"]
    assert [n.count for n in notes(inventory, "operating_system", "not_macos")] == [1]
    bob = macs.loc["MBA-BOB"]
    assert (bob["os_version"], bob["compliance_state"], bool(bob["is_encrypted"])) == (
        "14.1.0", "compliant", True,
    )  # the next day's export, later in the file but newer  # fmt: skip
    assert bob["last_sync_at"] == pd.Timestamp("2023-10-27 07:30:00", tz="UTC")
    assert bob["ownership"] == "personal" and bool(bob["is_supervised"]) is False
    assert inventory.inputs[0].kind == "intune-diagnostic-devices"
    assert status(statuses, "MAC-FV-001", inventory, "MBA-BOB") == "pass"


def test_diagnostic_records_as_azure_monitor_writes_them_to_storage_or_event_hubs(tmp_path):
    lines = (PUBLISHED / "intune_diagnostic_devices.json").read_text().splitlines()
    path = tmp_path / "PT1H.json"
    path.write_text(json.dumps({"records": [json.loads(line) for line in lines]}))
    as_lines, _ = audit(PUBLISHED / "intune_diagnostic_devices.json")
    as_records, _ = audit(path)
    columns = [c for c in as_lines.devices.columns if not c.startswith("source")]
    pd.testing.assert_frame_equal(as_lines.devices[columns], as_records.devices[columns])


def test_diagnostic_records_of_another_category_are_not_inventory(tmp_path):
    record = json.loads((PUBLISHED / "intune_diagnostic_devices.json").read_text().splitlines()[0])
    path = tmp_path / "audit.json"
    path.write_text(json.dumps({**record, "category": "AuditLogs"}) + "\n")
    with pytest.raises(UnknownShapeError, match="category 'AuditLogs'"):
        read_file(path)


# ---------------------------------------------------------------- PowerShell SDK exports


@pytest.mark.parametrize(
    "fixture", ["powershell_export_csv_en_gb.csv", "powershell_export_csv_en_us.csv"]
)
def test_powershell_export_csv_reads_pascal_case_members_and_culture_dates(fixture):
    inventory, statuses = audit(PUBLISHED / fixture)
    macs = devices(inventory)
    assert sorted(macs.index) == ["MAC-LOBBY-02", "MBA-BOB-01", "MBP-ADA-01"]
    [others] = notes(inventory, "operating_system", "not_macos")
    assert others.count == 2 and set(others.examples) == {
        "1 Windows device ignored", "1 iOS device ignored",
    }  # fmt: skip
    ada = macs.loc["MBP-ADA-01"]
    assert ada["enrolled_at"] == pd.Timestamp("2024-03-05 14:22:11", tz="UTC")
    assert ada["last_sync_at"] == pd.Timestamp("2024-06-13 08:41:17", tz="UTC")
    assert macs.loc["MAC-LOBBY-02", "last_sync_at"] == pd.Timestamp("2024-06-02 07:05:44", tz="UTC")
    assert (ada["enrollment_method"], ada["ownership"], bool(ada["is_supervised"])) == (
        "ade", "corporate", True,
    )  # fmt: skip
    assert not notes(inventory, "enrolled_at", "unparseable")
    assert inventory.inputs[0].kind == "powershell-managed-devices-csv"
    # a list: the userless Mac's profile and every Mac's bootstrap token are not carried
    assert pd.isna(macs.loc["MAC-LOBBY-02", "enrollment_method"])
    assert status(statuses, "MAC-ENR-004", inventory, "MAC-LOBBY-02") == "unknown"
    assert statuses[("MAC-BST-001", ada["device_id"])][0] == "unknown"
    assert status(statuses, "MAC-SYN-001", inventory, "MBA-BOB-01") == "fail"


def test_powershell_csv_with_only_ambiguous_dates_leaves_them_unread(tmp_path):
    """Without a value only one order can read (a day above 12), 5/6/2024 is not guessed."""
    text = (PUBLISHED / "powershell_export_csv_en_us.csv").read_text()
    head, *rows = text.splitlines(keepends=True)
    path = tmp_path / "devices.csv"
    path.write_text(
        head + "".join(r.replace("12/31/9999 11:59:59 PM", "") for r in rows[:1])
    )  # only MBP-ADA-01: enrolled 3/5/2024, seen 6/13/2024 (13 tells), so dates are read
    inventory, _ = audit(path)
    assert not notes(inventory, "enrolled_at", "unparseable")
    path.write_text(
        head + rows[0].replace("12/31/9999 11:59:59 PM", "").replace("6/13/2024", "6/12/2024")
    )
    inventory, _ = audit(path)
    [unread] = notes(inventory, "enrolled_at", "unparseable")
    assert unread.examples == ("MBP-ADA-01 (C02Z71ABMD6T): '3/5/2024 2:22:11 PM'",)


def test_powershell_convertto_json_reads_pascal_case_and_dotnet_dates():
    inventory, statuses = audit(PUBLISHED / "powershell_convertto_json.json")
    macs = devices(inventory)
    assert sorted(macs.index) == ["MAC-LOBBY-02", "MBA-BOB-01", "MBP-ADA-01"]
    ada = macs.loc["MBP-ADA-01"]
    assert ada["enrolled_at"] == pd.Timestamp("2024-03-05 14:22:11", tz="UTC")
    assert inventory.inputs[0].kind == "powershell-managed-devices-json"
    # list output: BootstrapTokenEscrowed false and HardwareInformation are list defaults
    assert pd.isna(ada["bootstrap_escrowed"]) and pd.isna(ada["model_identifier"])
    assert statuses[("MAC-BST-001", ada["device_id"])][0] == "unknown"


def test_powershell_formatted_text_is_refused_naming_the_fix(tmp_path):
    path = tmp_path / "devices.txt"
    path.write_text(  # `Get-MgDeviceManagementManagedDevice > devices.txt`: Format-List
        "\nId                : 3f2a9c1e-5b7d-4e0a-9c1f-2d3e4f5a6b01\n"
        "DeviceName        : MBP-ADA-01\n"
    )
    with pytest.raises(UnknownShapeError, match=r"devices\.txt: not a known shape: .*Export-Csv"):
        read_file(path)


# ---------------------------------------------------------------- single GETs and list defaults


def single_get(tmp_path: Path, context: str | None) -> Path:
    document = json.loads((PUBLISHED / "graph_docs_get_managed_device.json").read_text())
    record = document["value"]
    if context is not None:
        record = {"@odata.context": context, **record}
    path = tmp_path / "device.json"
    path.write_text(json.dumps(record))
    return path


BETA = "https://graph.microsoft.com/beta/$metadata#deviceManagement/"


def test_docs_single_get_wrapped_in_value_is_read_but_its_defaults_are_not():
    inventory, statuses = audit(PUBLISHED / "graph_docs_get_managed_device.json")
    [mac] = devices(inventory).itertuples()
    assert mac.Index == "MAC-SHARED-05"
    assert inventory.inputs[0].kind == "graph-device-details"
    assert pd.isna(mac.bootstrap_escrowed) and pd.isna(mac.model_identifier)
    [default] = notes(inventory, "bootstrap_escrowed", "default_not_read")
    assert "without $select=bootstrapTokenEscrowed" in default.examples[0]
    assert statuses[("MAC-BST-001", mac.device_id)] == ("unknown", "bootstrap token not reported")
    # a GET by id fills enrollmentProfileName: ADE (profile named) with an ambiguity note
    assert mac.enrollment_method == "ade"
    assert notes(inventory, "enrollment_method", "ambiguous")


@pytest.mark.parametrize(
    ("context", "escrowed"),
    [
        (BETA + "managedDevices/$entity", None),
        (BETA + "managedDevices(id,deviceName,operatingSystem,bootstrapTokenEscrowed)/$entity",
         False),
        (BETA + "managedDevices(id,deviceName,operatingSystem)/$entity", None),
    ],
    ids=["no $select", "selected", "selected without it"],
)  # fmt: skip
def test_single_get_context_decides_whether_bootstrap_escrow_was_carried(
    tmp_path, context, escrowed
):
    inventory, statuses = audit(single_get(tmp_path, context), extra=(ADE_PROFILES,))
    [mac] = devices(inventory).itertuples()
    assert (None if pd.isna(mac.bootstrap_escrowed) else bool(mac.bootstrap_escrowed)) is escrowed
    assert mac.enrollment_method == "ade"  # profile named and among the tenant's ADE profiles
    expected = "fail" if escrowed is False else "unknown"
    assert statuses[("MAC-BST-001", mac.device_id)][0] == expected


# ---------------------------------------------------------------- platform restrictions


def restriction(tmp_path: Path, **members) -> Path:
    document = json.loads((PUBLISHED / "default_platform_restrictions.json").read_text())
    for member, values in members.items():
        if values is None:
            document.pop(member)
        else:
            document[member] = {**document[member], **values}
    path = tmp_path / "restrictions.json"
    path.write_text(json.dumps(document))
    return path


def test_default_restriction_carrying_both_mac_members_that_agree_is_read(tmp_path):
    inventory, statuses = audit(
        PUBLISHED / "default_platform_restrictions.json",
        params={"MAC-TEN-006": {"personal_allowed": False}},
    )
    tenant = inventory.tenant.iloc[0]
    blocked = (tenant["macos_enrollment_blocked"], tenant["personal_enrollment_blocked"])
    assert tuple(map(bool, blocked)) == (False, False)
    assert statuses[("MAC-TEN-006", tenant["tenant_id"])][0] == "fail"
    assert inventory.tenant["tenant_id"].iloc[0] == "4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f"


@pytest.mark.parametrize(
    ("members", "said"),
    [
        ({"macRestriction": {"personalDeviceEnrollmentBlocked": True}},
         "macOSRestriction.personalDeviceEnrollmentBlocked = false but "
         "macRestriction.personalDeviceEnrollmentBlocked = true"),
        ({"macOSRestriction": None},
         "only the beta-only macRestriction.personalDeviceEnrollmentBlocked = false is present"),
    ],
    ids=["members disagree", "only the legacy member"],
)  # fmt: skip
def test_mac_restriction_members_that_disagree_leave_mac_ten_006_unknown(tmp_path, members, said):
    path = restriction(tmp_path, **members)
    inventory, statuses = audit(path, params={"MAC-TEN-006": {"personal_allowed": False}})
    tenant = inventory.tenant.iloc[0]
    assert pd.isna(tenant["personal_enrollment_blocked"])
    assert statuses[("MAC-TEN-006", tenant["tenant_id"])][0] == "unknown"
    conflict = notes(inventory, "personal_enrollment_blocked", "conflict")
    assert conflict and said in conflict[0].examples[0]


# ---------------------------------------------------------------- a folder of inputs


def test_input_folder_reads_every_known_file_and_lists_the_others(tmp_path):
    for name in ("devices_export_display_headers.csv", "intune_diagnostic_devices.json"):
        shutil.copy(PUBLISHED / name, tmp_path / name)
    (tmp_path / "README.md").write_text("# August exports\n")
    (tmp_path / "expected.json").write_text('{"scenarios": []}')
    (tmp_path / "auditor.toml").write_text('organisation = "Contoso"\n')
    (tmp_path / "older").mkdir()  # subfolders are not read
    shutil.copy(PUBLISHED / "powershell_convertto_json.json", tmp_path / "older" / "x.json")
    readings = read_files([tmp_path])
    assert [Path(i.path).name for i in readings.inputs] == [
        "devices_export_display_headers.csv", "intune_diagnostic_devices.json",
    ]  # fmt: skip
    assert [u.split(":")[0] for u in readings.unrecognised] == [
        str(tmp_path / n) for n in ("README.md", "auditor.toml", "expected.json")
    ]
    [listed] = [n for n in readings.notes if n.problem == "unrecognised_file"]
    assert listed.count == 3


def test_input_folder_without_inventory_or_with_a_damaged_file_stops(tmp_path):
    (tmp_path / "README.md").write_text("# nothing here\n")
    with pytest.raises(SourceError, match="no inventory file in the folder"):
        read_files([tmp_path])
    (tmp_path / "devices.json").write_text('{"value": [{"id": "a", "deviceName"')
    with pytest.raises(SourceError, match=r"devices\.json: line 1 column \d+: JSON ends early"):
        read_files([tmp_path])


def test_gaps_name_the_input_to_add(tmp_path):
    """A run on the export alone records the parts no input carried and what carries them."""
    from auditor.pipeline.inputs import uncovered_parts

    readings = read_files([PUBLISHED / "devices_export_display_headers.csv"])
    gaps = {g.part: g.reason for g in uncovered_parts(readings.batches, readings.gaps)}
    assert gaps["device_details"] == (
        "no input carried it; add single-device GETs with $select (`auditor fetch` collects "
        "them; docs/inputs.md)"
    )
    assert "managed_devices" not in gaps  # the export carries the Macs


def test_a_run_on_a_folder_audits_its_exports_and_reports_the_other_files(tmp_path):
    """`auditor run --input DIR` as admins keep a month's exports (JSON report read back)."""
    from auditor.pipeline import RunOptions, run_audit

    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("devices_export_display_headers.csv", "default_platform_restrictions.json"):
        shutil.copy(PUBLISHED / name, folder / name)
    (folder / "README.md").write_text("# exports of June 2024\n")
    config = Config(source="files", inputs=(folder,), out_dir=tmp_path / "out", formats=("json",))
    options = RunOptions(as_of=AS_OF, generated_at=dt.datetime(2024, 6, 14, tzinfo=dt.UTC))
    run_audit(config, options)
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert [Path(i["path"]).name for i in findings["run"]["inputs"]] == [
        "default_platform_restrictions.json", "devices_export_display_headers.csv",
    ]  # fmt: skip
    notes = {(n["field"], n["problem"]): n for n in findings["data_quality"]["notes"]}
    assert notes[("inputs", "unrecognised_file")]["examples"][0].startswith(
        f"{folder / 'README.md'}: not inventory"
    )
