"""auditor.normalize: raw batches → typed frames, merges with conflicts, derivations, quality."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.models import RawBatch
from auditor.normalize import DEVICE_SCHEMA, SCHEMAS, normalize, schema_markdown
from auditor.normalize.dates import datetime_column
from auditor.normalize.fields import DEVICE_KINDS
from auditor.normalize.population import IDENTITIES
from auditor.normalize.text import TEXT_LIMIT
from auditor.normalize.values import (
    BOOLEAN_TOKENS,
    as_text,
    boolean_column,
    token,
)
from auditor.refdata.versions import parse_macos_version, parse_version_column
from auditor.sources.files import read_files

FIXTURES = Path(__file__).parent / "fixtures" / "files"
ROOT = Path(__file__).parent.parent


def batch(kind: str, rows: list[dict], source: str = "test.json") -> RawBatch:
    records = pd.DataFrame(rows, dtype=object)
    records["source_record"] = [f"{source}:value[{i}]" for i in range(len(rows))]
    return RawBatch(kind, source, records)


def mac(device_id: str, **fields) -> dict:
    return {"id": device_id, "deviceName": device_id.upper(), "operatingSystem": "macOS", **fields}


def one(inventory, device_id: str) -> pd.Series:
    rows = inventory.devices[inventory.devices["device_id"] == device_id]
    assert len(rows) == 1
    return rows.iloc[0]


def plain(value):
    """A frame cell as a plain Python value: NA → None, numpy scalars → Python scalars."""
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def notes(inventory, field: str, problem: str):
    return [n for n in inventory.quality if n.field == field and n.problem == problem]


@pytest.fixture(scope="module")
def tenant():
    """Every fixture file at once: a small tenant seen through eleven inputs."""
    readings = read_files(sorted(p for p in FIXTURES.iterdir() if p.is_file()))
    batches, inputs = readings.batches, readings.inputs
    return normalize(batches, inputs=inputs)


@pytest.fixture(scope="module")
def by_name(tenant):
    return tenant.devices.set_index("device_name")


@pytest.mark.parametrize("folder", [FIXTURES, ROOT / "sample_data"], ids=["fixtures", "sample"])
def test_a_consumed_batch_list_gives_the_same_inventory_and_lets_go_of_typed_records(folder):
    """The pipeline hands its batches over (`consume`): typed device and identity records go."""
    paths = sorted(p for p in folder.iterdir() if p.suffix in (".json", ".csv"))
    paths = [p for p in paths if p.name != "expected.json"]
    readings = read_files(paths)
    kept = normalize(readings.batches, inputs=readings.inputs)
    batches = list(readings.batches)
    consumed = normalize(batches, inputs=readings.inputs, consume=True)
    for name in ("devices", "tenant", "ade_tokens", "dem_accounts", "ade_identities"):
        pd.testing.assert_frame_equal(getattr(consumed, name), getattr(kept, name))
    assert consumed.quality == kept.quality
    assert [(b.kind, b.source) for b in batches] == [(b.kind, b.source) for b in readings.batches]
    for read, left in zip(readings.batches, batches, strict=True):
        if read.kind in DEVICE_KINDS or read.kind == IDENTITIES:
            assert left.records.empty and list(left.records.columns) == list(read.records.columns)
        else:
            assert left is read
    assert any(b.kind in DEVICE_KINDS for b in batches)


# ---------------------------------------------------------------- the fixture tenant, end to end


def test_frames_have_exactly_the_schema(tenant):
    for name, frame in tenant.frames().items():
        expected = {column: dtype for column, (dtype, _) in SCHEMAS[name].items()}
        assert {c: str(t) for c, t in frame.dtypes.items()} == expected, name
    assert tenant.devices["device_id"].is_unique
    assert len(tenant.tenant) == 1


def test_every_mac_record_is_a_row_or_a_recorded_merge(tenant):
    per_row = tenant.devices["source_record"].str.count("; ") + 1
    device_kinds = {"graph_devices", "graph_device_details", "admin_center_csv", "export_devices"}
    batches = read_files(sorted(p for p in FIXTURES.iterdir() if p.is_file())).batches
    mac_records = sum(len(b.records) for b in batches if b.kind in device_kinds)
    ignored = sum(n.count for n in tenant.quality if n.problem == "not_macos")
    assert per_row.sum() == mac_records - ignored
    assert len(tenant.devices) == 9


def test_ade_mac_merges_four_inputs_in_precedence_order(by_name):
    row = by_name.loc["MAC-ADE-SUPERVISED"]
    assert row["source"] == (
        "device_details.json; graph_devices_v1_page.json; export_devices.csv; "
        "admin_center_devices.csv"
    )
    assert row["device_id"] == "0f6a1c1e-0001-4d6b-9a55-000000000001"  # not the export's upper case
    assert (row["enrollment_method"], row["has_user_affinity"]) == ("ade", True)
    assert plain(row["bootstrap_escrowed"]) is True  # from the details file
    assert plain(row["user_approved"]) is True  # only the Devices export has it
    assert row["processor_arch"] == "arm64"  # admin-center code 12
    assert (row["os_version"], row["os_build"], row["os_version_raw"]) == (
        "14.5.0",
        "23F79",
        "14.5 (23F79)",
    )
    assert row["enrolled_at"] == pd.Timestamp("2024-03-05 14:22:11.123456", tz="UTC")


def test_supervised_conflict_is_recorded_with_both_values_and_the_kept_one(tenant, by_name):
    assert plain(by_name.loc["MAC-ADE-SUPERVISED", "is_supervised"]) is True  # Graph list outranks
    [conflict] = notes(tenant, "is_supervised", "conflict")
    assert conflict.count == 1
    assert conflict.examples == (
        "MAC-ADE-SUPERVISED (C02ADE000001): is_supervised: Graph list graph_devices_v1_page.json "
        "says true; Devices export export_devices.csv says false; admin-center CSV "
        "admin_center_devices.csv says true → kept true",
    )


def test_csv_row_without_device_id_merges_by_serial(by_name):
    row = by_name.loc["MAC-BYOD-PERSONAL"]
    assert "admin_center_devices.csv:line 3" in row["source_record"]
    assert (row["enrollment_method"], row["ownership"], row["user_approved"]) == (
        "byod",
        "personal",
        False,
    )
    assert row["model"] == "MacBook Air"
    assert (
        row["model_identifier"] == "Mac15,12"
    )  # hardwareInformation.productName of the single GET


def test_dem_mac_bootstrap_from_a_single_get_response(tenant, by_name):
    row = by_name.loc["MAC-DEM-KIOSK"]
    assert (row["enrollment_method"], row["has_user_affinity"]) == ("dem", False)
    assert plain(row["bootstrap_escrowed"]) is True
    assert plain(row["user_approved"]) is True  # export "1"
    assert (row["chip"], row["os_major"]) == ("intel", "10.15")
    assert tenant.dem_accounts.to_dict("records") == [
        {"dem_upn": "dem@contoso.com", "device_count": 1},
        {"dem_upn": "unknown", "device_count": 1},
    ]


def test_vmware_vm_has_model_and_serial_evidence(by_name):
    row = by_name.loc["MAC-VMWARE-VM"]
    assert (row["is_vm"], row["chip"]) == (True, "virtual")
    assert row["vm_evidence"] == (
        "model VMware7,1 is a virtual machine model; "
        "serial VMwFVoWLEdXS has the VMware default form (VM + 10 characters)"
    )
    # appleBulkWithoutUser known from a list only: the list's profile name is null on every
    # real list (msgraph-metadata#664), so ADE-without-user vs Apple Configurator is undecided
    assert pd.isna(row["enrollment_method"])
    assert row["last_sync_at"] == pd.Timestamp("2026-08-31 12:00:00.999999", tz="UTC")


def test_spoofed_model_with_intel_processor_is_a_likely_vm(by_name):
    row = by_name.loc["MAC-SPOOFED-VM"]
    assert (row["is_vm"], row["chip"], row["processor_arch"]) == (True, "apple_silicon", "x64")
    assert (
        row["vm_evidence"]
        == "model MacBookAir10,1 is an Apple silicon model Mac but reports an x64 processor"
    )


def test_userless_from_a_list_is_undecided_and_offsets_become_utc(tenant, by_name):
    row = by_name.loc["MAC-DIRECT-CONFIGURATOR"]
    # the list's empty profile name and hardwareInformation are list defaults, not values
    assert pd.isna(row["enrollment_method"]) and plain(row["has_user_affinity"]) is False
    assert row["enrolled_at"] == pd.Timestamp("2024-12-24 22:59:59", tz="UTC")
    assert pd.isna(row["model_identifier"])
    [undecided] = notes(tenant, "enrollment_method", "undecided")
    assert undecided.count == 3  # the VMware VM, this Mac and the export-only Mac
    assert "add single-device GETs (auditor fetch)" in undecided.examples[0]


def test_export_only_mac_with_numeric_codes_and_rsr_build(by_name):
    row = by_name.loc["MAC-EXPORT-ONLY"]
    assert row["enrollment_type_raw"] == "4"  # appleBulkWithoutUser, no profile column
    assert pd.isna(row["enrollment_method"])
    assert (row["os_version"], row["os_rsr"], row["os_build"]) == ("13.4.1", "a", "22F770820d")
    assert row["ownership"] == "corporate"
    assert (
        row["source"] == "export_devices.csv; export_devices_rows.json; export_devices_table.json"
    )


def test_unreadable_values_become_na_and_are_counted_with_examples(tenant, by_name):
    row = by_name.loc["MAC-SHARED-CART"]
    assert (
        pd.isna(row["is_supervised"])
        and pd.isna(row["os_version"])
        and pd.isna(row["last_sync_at"])
    )
    assert pd.isna(row["enrolled_at"])  # 1/1/0001: Intune's "never", not a date
    assert (row["ownership"], row["ownership_raw"]) == ("unknown", "Shared")
    expected = {
        ("is_supervised", "unparseable"): "MAC-SHARED-CART (C02SHARED011): 'Maybe'",
        ("last_sync_at", "unparseable"): "MAC-SHARED-CART (C02SHARED011): 'not a date'",
        ("ownership", "unknown_value"): "MAC-SHARED-CART (C02SHARED011): 'Shared'",
        ("os_version", "unparseable"): "MAC-SHARED-CART (C02SHARED011): 'twelve point one'",
    }
    for (field, problem), example in expected.items():
        [note] = notes(tenant, field, problem)
        assert (note.count, note.examples, note.source) == (
            1,
            (example,),
            "admin_center_devices.csv",
        )
    assert not notes(tenant, "enrolled_at", "unparseable")


def test_other_platforms_are_counted_never_silently_dropped(tenant):
    ignored = {(n.source, n.examples) for n in notes(tenant, "operating_system", "not_macos")}
    assert ignored == {
        ("graph_devices_v1_page.json", ("1 Windows device ignored",)),
        ("admin_center_devices.csv", ("1 iOS device ignored",)),
        ("export_devices.csv", ("1 Android device ignored",)),
        ("export_devices_table.json", ("1 Android device ignored",)),
    }


def test_devices_missing_from_an_input_kind_are_reported(tenant):
    absent = {n.source: n for n in notes(tenant, "device_id", "absent_from_input")}
    graph = absent["graph_devices_beta_pages.jsonl, graph_devices_v1_page.json"]
    assert graph.count == 2
    assert (
        "MAC-EXPORT-ONLY (C02EXPORT009) is not in the Graph list "
        "(graph_devices_beta_pages.jsonl, graph_devices_v1_page.json)"
    ) in graph.examples


def test_missing_fields_are_counted(tenant):
    [approved] = notes(tenant, "user_approved", "missing")
    assert approved.count == 5
    assert "MAC-VMWARE-VM (VMwFVoWLEdXS)" in approved.examples


def test_tenant_row_from_apns_and_the_default_platform_restriction(tenant):
    row = tenant.tenant.iloc[0]
    assert row["tenant_id"] == "unknown"
    assert row["apns_expires_at"] == pd.Timestamp("2026-09-30 10:59:59", tz="UTC")
    assert row["apns_apple_id"] == "mdm-push@contoso.com"
    assert (row["personal_enrollment_blocked"], row["macos_enrollment_blocked"]) == (True, False)


def test_ade_tokens(tenant):
    tokens = tenant.ade_tokens
    assert tokens["token_name"].tolist() == ["Contoso ABM", "Contoso School"]
    assert tokens["last_sync_error_code"].tolist() == [0, 1045]
    assert tokens["synced_device_count"].tolist() == [412, 12]
    assert tokens["token_expires_at"].iloc[1] == pd.Timestamp("2026-09-10", tz="UTC")


# ---------------------------------------------------------------- merging


def test_graph_list_bootstrap_is_never_trusted():
    inventory = normalize([batch("graph_devices", [mac("a", bootstrapTokenEscrowed=True)])])
    assert pd.isna(one(inventory, "a")["bootstrap_escrowed"])


def test_same_device_twice_in_one_input_is_merged_and_said_so():
    inventory = normalize(
        [batch("graph_devices", [mac("a", osVersion="14.5"), mac("A", osVersion="14.6")])]
    )
    assert len(inventory.devices) == 1
    [duplicate] = notes(inventory, "device_id", "duplicate_record")
    assert duplicate.examples == ("A: test.json:value[0], test.json:value[1]",)
    [conflict] = notes(inventory, "os_version", "conflict")
    assert "says '14.5.0'" in conflict.examples[0] and "says '14.6.0'" in conflict.examples[0]


def test_a_mac_listed_thousands_of_times_is_named_with_ten_records_and_a_count():
    """A diagnostic-log folder holds each Mac once per export: the note stays short."""
    inventory = normalize([batch("graph_devices", [mac("a")] * 3000)])
    [duplicate] = notes(inventory, "device_id", "duplicate_record")
    named = ", ".join(f"test.json:value[{i}]" for i in range(10))
    assert duplicate.examples == (f"A: {named} and 2,990 more",)


def test_values_fill_in_from_lower_precedence_inputs():
    graph = batch("graph_devices", [mac("a", osVersion=None, isEncrypted=True)], "g.json")
    export = batch(
        "export_devices", [{"DeviceId": "a", "OSVersion": "15.7.9", "OS": "macOS"}], "e.csv"
    )
    row = one(normalize([export, graph]), "a")
    assert (row["os_version"], row["is_encrypted"], row["source"]) == (
        "15.7.9",
        True,
        "g.json; e.csv",
    )


def test_serial_shared_by_two_devices_is_not_used_to_match():
    graph = batch("graph_devices", [mac("a", serialNumber="C02X"), mac("b", serialNumber="C02X")])
    csv = batch(
        "admin_center_csv", [{"Device ID": "", "Serial number": "C02X", "OS": "macOS"}], "c.csv"
    )
    inventory = normalize([graph, csv])
    assert sorted(inventory.devices["device_id"]) == ["a", "b", "serial:C02X"]
    assert notes(inventory, "device_id", "ambiguous_serial")[0].count == 1
    [shared] = notes(inventory, "serial_number", "duplicate_serial")
    assert shared.examples == ("C02X: a, b, serial:C02X",)


def test_record_without_id_or_serial_still_becomes_a_row():
    inventory = normalize(
        [batch("export_devices", [{"DeviceName": "LOST", "OS": "macOS"}], "e.csv")]
    )
    assert inventory.devices["device_id"].tolist() == ["record:e.csv:value[0]"]
    assert notes(inventory, "device_id", "missing")[0].examples == ("LOST",)


def test_detail_record_of_a_windows_device_goes_with_it():
    graph = batch("graph_devices", [mac("a"), {"id": "w", "operatingSystem": "Windows"}], "g.json")
    details = batch(
        "graph_device_details", [{"id": "W", "bootstrapTokenEscrowed": False}], "d.json"
    )
    inventory = normalize([graph, details])
    assert inventory.devices["device_id"].tolist() == ["a"]
    assert [n.source for n in notes(inventory, "operating_system", "not_macos")] == [
        "g.json",
        "d.json",
    ]


def test_windows_devices_in_a_mixed_export_are_counted():
    rows = [{"id": f"w{i}", "operatingSystem": "Windows"} for i in range(412)] + [mac("m")]
    inventory = normalize([batch("graph_devices", rows)])
    assert len(inventory.devices) == 1
    [note] = notes(inventory, "operating_system", "not_macos")
    assert (note.count, note.examples) == (412, ("412 Windows devices ignored",))


def test_duplicate_serial_alone_is_not_vm_evidence_but_supports_it():
    rows = [
        mac("a", serialNumber="C02DUP", model="MacBookPro18,3"),
        mac("b", serialNumber="C02DUP", model="MacBookPro18,3"),
        mac("c", serialNumber="VMwFVoWLEdXS", model="VMware7,1"),
        mac("d", serialNumber="VMwFVoWLEdXS", model="VMware7,1"),
    ]
    devices = normalize([batch("graph_devices", rows)]).devices.set_index("device_id")
    assert devices["is_vm"].tolist() == [False, False, True, True]
    assert devices.loc["c", "vm_evidence"].endswith(
        "; serial VMwFVoWLEdXS is shared with 1 other record"
    )


# ---------------------------------------------------------------- value tables


VERSIONS = [
    ("14.5 (23F79)", "14.5.0", "14", 14_005_000, "23F79", None),
    ("13.4.1 (c)", "13.4.1", "13", 13_004_001, None, "c"),
    ("13.4.1 (a) (22F770820d)", "13.4.1", "13", 13_004_001, "22F770820d", "a"),
    ("14.1.2a", "14.1.2", "14", 14_001_002, None, "a"),
    ("10.15.7", "10.15.7", "10.15", 10_015_007, None, None),
    ("10.15.7 (19H2026)", "10.15.7", "10.15", 10_015_007, "19H2026", None),
    ("26.0.1", "26.0.1", "26", 26_000_001, None, None),
    ("macOS 15.7.9 (24G830)", "15.7.9", "15", 15_007_009, "24G830", None),
    ("11", "11.0.0", "11", 11_000_000, None, None),
    ("14.10", "14.10.0", "14", 14_010_000, None, None),
    ("10.0.22631.3880", None, None, None, None, None),
    ("9.2", None, None, None, None, None),
    ("fourteen", None, None, None, None, None),
    ("", None, None, None, None, None),
]


SELECTED = (
    "https://graph.microsoft.com/beta/$metadata#deviceManagement/managedDevices("
    "id,deviceName,operatingSystem,deviceEnrollmentType,enrollmentProfileName,"
    "hardwareInformation,bootstrapTokenEscrowed,model,processorArchitecture,serialNumber)/$entity"
)
"""A single GET whose $select names the members only a GET by id carries."""


def table(rows: list[dict], *extra: RawBatch, kind: str = "graph_devices") -> pd.DataFrame:
    """Normalize one row per table entry at once (ids r0, r1, …), indexed by device id.

    `kind="graph_device_details"` reads the rows as single GETs that selected every member.
    """
    macs = [mac(f"r{i}", **fields) for i, fields in enumerate(rows)]
    if kind == "graph_device_details":
        macs = [{"@odata.context": SELECTED, **m} for m in macs]
    return normalize([batch(kind, macs), *extra]).devices.set_index("device_id")


@pytest.fixture(scope="module")
def versions():
    return table([{"osVersion": raw} for raw, *_ in VERSIONS])


@pytest.mark.parametrize("i", range(len(VERSIONS)), ids=[repr(v[0]) for v in VERSIONS])
def test_version_parsing(versions, i):
    raw, *expected = VERSIONS[i]
    row = versions.loc[f"r{i}"]
    got = [
        plain(row[c]) for c in ("os_version", "os_major", "os_version_key", "os_build", "os_rsr")
    ]
    assert got == expected
    assert plain(row["os_version_raw"]) == (raw or None)


CHIPS = [
    ("MacBookPro18,3", None, None, "apple_silicon", "MacBookPro18,3"),
    ("MacBookPro16,1", None, None, "intel", "MacBookPro16,1"),
    ("Mac14,8", None, None, "apple_silicon", "Mac14,8"),
    ("iMacPro1,1", None, None, "intel", "iMacPro1,1"),
    ("MacBook10,1", None, None, "intel", "MacBook10,1"),
    ("Macmini9,1", None, None, "apple_silicon", "Macmini9,1"),
    ("iMac21,1", None, None, "apple_silicon", "iMac21,1"),
    ("MacBook Pro", "MacBookAir10,1", None, "apple_silicon", "MacBookAir10,1"),
    ("MacBook Pro", None, "arM64", "apple_silicon", None),
    ("MacBook Pro", None, "x64", "intel", None),
    ("MacBook Pro", None, None, "unknown", None),
    ("VirtualMac2,1", None, "arM64", "virtual", "VirtualMac2,1"),
    ("Parallels16,1", None, "x64", "virtual", "Parallels16,1"),
    ("VMM-x86_64", None, None, "virtual", "VMM-x86_64"),
    ("MacNeo1,1", None, None, "unknown", "MacNeo1,1"),
]


@pytest.fixture(scope="module")
def chips():
    return table(
        [
            {"model": m, "processorArchitecture": a, "hardwareInformation.productName": p}
            for m, p, a, *_ in CHIPS
        ],
        kind="graph_device_details",
    )


@pytest.mark.parametrize("i", range(len(CHIPS)), ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CHIPS])
def test_chip_from_model_identifier(chips, i):
    *_, chip, identifier = CHIPS[i]
    row = chips.loc[f"r{i}"]
    assert (row["chip"], plain(row["model_identifier"])) == (chip, identifier)


VM_MODEL = "is a virtual machine model"
VM_SERIAL = "has the VMware default form (VM + 10 characters)"
ARM = "but reports an arm64 processor"
VMS = [
        ("MacBookPro18,3", "C02ABC123456", "arM64", False, None),
        ("VirtualMac2,1", "Z4K614MYR0", "arM64", True, f"model VirtualMac2,1 {VM_MODEL}"),
        ("Apple Virtual Machine 1", "Z4K614MYR1", None, True,
         f"model Apple Virtual Machine 1 {VM_MODEL}"),
        ("MacBookPro16,1", "VMOF5/Xq9u4N", "x64", True, f"serial VMOF5/Xq9u4N {VM_SERIAL}"),
        ("MacBookPro16,1", "VMOF5", "x64", False, None),
        ("iMac20,1", "C02ABC123458", "arM64", True, f"model iMac20,1 is an Intel model Mac {ARM}"),
        (None, "C02ABC123457", None, None, None),
]  # fmt: skip


@pytest.fixture(scope="module")
def vms():
    return table(
        [{"model": m, "serialNumber": s, "processorArchitecture": a} for m, s, a, *_ in VMS]
    )


@pytest.mark.parametrize("i", range(len(VMS)), ids=[f"{v[0]}-{v[1]}" for v in VMS])
def test_vm_evidence(vms, i):
    *_, is_vm, evidence = VMS[i]
    row = vms.loc[f"r{i}"]
    assert (plain(row["is_vm"]), plain(row["vm_evidence"])) == (is_vm, evidence)


ADE_PROFILES = batch(
    "ade_profiles", [{"id": "p1", "displayName": "Corp ADE", "tokenId": "t"}], "p.json"
)


ENROLLMENTS = [  # read from single GETs that selected enrollmentProfileName
    ("appleBulkWithUser", "Corp ADE", True, "ade", True),
    ("appleBulkWithoutUser", "corp ade", True, "ade", False),
    ("appleBulkWithoutUser", "Configurator profile", True, "direct", False),
    ("appleBulkWithoutUser", None, True, "direct", False),  # the GET says: no profile
    ("appleBulkWithoutUser", "Anything", False, "ade", False),
    ("appleBulkWithoutUser", "", False, "direct", False),
    ("userEnrollment", None, False, "byod", True),
    ("deviceEnrollmentManager", None, False, "dem", False),
    ("appleUserEnrollmentWithServiceAccount", None, False, "dem", False),
    ("appleUserEnrollment", None, False, "user_enrollment", True),
    ("appleAccountDrivenUserEnrollment", None, False, "user_enrollment", True),
    ("unknown", None, False, "unknown", None),
    ("windowsAzureADJoin", None, False, "unknown", None),
    ("somethingNew", None, False, "unknown", None),
    (None, None, False, None, None),
]


@pytest.fixture(scope="module")
def enrollments():
    rows = [{"deviceEnrollmentType": t, "enrollmentProfileName": p} for t, p, *_ in ENROLLMENTS]
    details = "graph_device_details"
    return {True: table(rows, ADE_PROFILES, kind=details), False: table(rows, kind=details)}


@pytest.mark.parametrize(
    "i", range(len(ENROLLMENTS)), ids=[f"{e[0]}-{e[1]}-{e[2]}" for e in ENROLLMENTS]
)
def test_enrollment_method(enrollments, i):
    _, _, with_profiles, method, affinity = ENROLLMENTS[i]
    row = enrollments[with_profiles].loc[f"r{i}"]
    assert (plain(row["enrollment_method"]), plain(row["has_user_affinity"])) == (method, affinity)


def test_ambiguous_userless_enrollment_is_recorded_without_profile_list():
    rows = [
        {"@odata.context": SELECTED, **mac("a", deviceEnrollmentType="appleBulkWithoutUser",
                                           enrollmentProfileName="X")},
        {"@odata.context": SELECTED, **mac("b", deviceEnrollmentType="appleBulkWithoutUser",
                                           enrollmentProfileName=None)},
    ]  # fmt: skip
    inventory = normalize([batch("graph_device_details", rows)])
    [note] = notes(inventory, "enrollment_method", "ambiguous")
    assert note.count == 2
    assert (
        "as ADE when they carry a profile name (1) and as direct enrollment when their profile "
        "name is empty (1)" in note.examples[0]
    )


@pytest.mark.parametrize("profiles", [(), (ADE_PROFILES,)], ids=["no profiles", "profiles"])
def test_userless_mac_from_a_list_is_undecided_whatever_its_profile_field_says(profiles):
    """A list returns null enrollmentProfileName for every device (msgraph-metadata#664,
    microsoft-graph-docs-contrib#1454/#1455, msgraph-sdk-powershell#2228): not a value."""
    rows = [mac("a", deviceEnrollmentType="appleBulkWithoutUser", enrollmentProfileName=None)]
    inventory = normalize([batch("graph_devices", rows), *profiles])
    assert pd.isna(one(inventory, "a")["enrollment_method"])
    assert plain(one(inventory, "a")["has_user_affinity"]) is False
    assert [n.count for n in notes(inventory, "enrollment_method", "undecided")] == [1]


def test_tenant_without_ade_profiles_decides_userless_macs_are_not_ade():
    rows = [mac("a", deviceEnrollmentType="appleBulkWithoutUser")]
    no_profiles = RawBatch("ade_profiles", "p.json", pd.DataFrame({"displayName": []}))
    inventory = normalize([batch("graph_devices", rows), no_profiles])
    assert one(inventory, "a")["enrollment_method"] == "direct"


@pytest.mark.parametrize(
    ("code", "name"),
    [("0", "unknown"), ("1", "userEnrollment"), ("2", "deviceEnrollmentManager"),
     ("3", "appleBulkWithUser"), ("4", "appleBulkWithoutUser"),
     ("12", "appleUserEnrollmentWithServiceAccount"),
     ("AppleBulkWithUser", "appleBulkWithUser"), ("99", None)],
)  # fmt: skip
def test_export_enrollment_type_codes(code, name):
    row = {"DeviceId": "a", "OS": "macOS", "EnrollmentType": code, "EnrollmentProfile": ""}
    inventory = normalize([batch("export_devices", [row], "e.csv")])
    expected = {None: "unknown", "appleBulkWithUser": "ade", "userEnrollment": "byod"}
    assert one(inventory, "a")["enrollment_type_raw"] == code
    assert one(inventory, "a")["enrollment_method"] == expected.get(
        name, one(inventory, "a")["enrollment_method"]
    )
    assert bool(notes(inventory, "enrollment_type", "unknown_value")) == (name is None)


ENUMS = [
    ("managedDeviceOwnerType", "company", "corporate"),
    ("managedDeviceOwnerType", "Corporate", "corporate"),
    ("managedDeviceOwnerType", "personal", "personal"),
    ("managedDeviceOwnerType", "2", "personal"),
    ("managedDeviceOwnerType", "unknown", "unknown"),
    ("managedDeviceOwnerType", "shared", "unknown"),
    ("complianceState", "inGracePeriod", "inGracePeriod"),
    ("complianceState", "In grace period", "inGracePeriod"),
    ("complianceState", "Not compliant", "noncompliant"),
    ("complianceState", "configManager", "configManager"),
    ("processorArchitecture", "arM64", "arm64"),
    ("processorArchitecture", "12", "arm64"),
    ("processorArchitecture", "9", "x64"),
    ("processorArchitecture", "x86", "unknown"),
]
CANONICAL = {"managedDeviceOwnerType": "ownership", "complianceState": "compliance_state",
             "processorArchitecture": "processor_arch"}  # fmt: skip


@pytest.fixture(scope="module")
def enums():
    return table([{field: raw} for field, raw, _ in ENUMS])


@pytest.mark.parametrize("i", range(len(ENUMS)), ids=[f"{e[0]}-{e[1]}" for e in ENUMS])
def test_enum_mapping_keeps_the_raw_value(enums, i):
    field, raw, value = ENUMS[i]
    row = enums.loc[f"r{i}"]
    canonical = CANONICAL[field]
    assert (row[canonical], row[f"{canonical}_raw"]) == (value, raw)


BOOLEANS = [
        (True, True), (False, False), ("true", True), ("FALSE", False), ("Yes", True),
        ("no", False),
        ("1", True), ("0", False), ("Supervised", True), ("Not supervised", False),
        ("not_supervised", False), ("Encrypted", True), ("Not encrypted", False), ("", None),
        (None, None), ("Unknown", None), ("maybe", None),
]  # fmt: skip


@pytest.fixture(scope="module")
def booleans():
    return table([{"isSupervised": raw} for raw, _ in BOOLEANS])


@pytest.mark.parametrize("i", range(len(BOOLEANS)), ids=[repr(b[0]) for b in BOOLEANS])
def test_liberal_booleans(booleans, i):
    assert plain(booleans.loc[f"r{i}", "is_supervised"]) is BOOLEANS[i][1]


DATES = [
    ("2024-03-05T14:22:11.1234567Z", "2024-03-05 14:22:11.123456"),
    ("2024-03-05T14:22:11Z", "2024-03-05 14:22:11"),
    ("2024-03-05T16:22:11+02:00", "2024-03-05 14:22:11"),
    ("2024-03-05 14:22:11", "2024-03-05 14:22:11"),
    ("3/5/2024 2:22:11 PM", "2024-03-05 14:22:11"),
    ("12/31/2025 11:59:59 PM", "2025-12-31 23:59:59"),
    ("9999-12-31T23:59:59.9999999Z", "9999-12-31 23:59:59.999999"),
    ("0001-01-01T00:00:00Z", None),
    ("1/1/0001 12:00:00 AM", None),
    ("", None),
    ("soon", None),
    # Arrow reads export formats first; where it is laxer than pandas, nothing is invented
    ("2/30/2024 1:00:00 AM", None),  # Arrow alone would roll over to March 1
    ("2/29/2023 1:00:00 AM", None),
    ("2/29/2024 1:00:00 AM", "2024-02-29 01:00:00"),
    ("12/31/23 12:00:00 PM", None),  # Arrow alone would read year 23
    ("12/31/2023 12:00:00PM", None),
    ("12/31/2023 12:00:00 am", "2023-12-31 00:00:00"),
    ("  3/5/2024 2:22:11 PM ", "2024-03-05 14:22:11"),
    ("3/5/2024  2:22:11 PM", "2024-03-05 14:22:11"),
]


@pytest.fixture(scope="module")
def dates():
    return table([{"lastSyncDateTime": raw} for raw, _ in DATES])


@pytest.mark.parametrize("i", range(len(DATES)), ids=[d[0] for d in DATES])
def test_dates_become_utc(dates, i):
    value = DATES[i][1]
    expected = None if value is None else pd.Timestamp(value, tz="UTC")
    assert plain(dates.loc[f"r{i}", "last_sync_at"]) == expected


# ---------------------------------------------------------------- tenant-level frames


def test_no_inputs_still_gives_typed_frames_and_one_tenant_row():
    inventory = normalize([])
    assert len(inventory.devices) == 0 and len(inventory.ade_tokens) == 0
    assert inventory.tenant["tenant_id"].tolist() == ["unknown"]
    assert list(inventory.devices.columns) == list(DEVICE_SCHEMA)


def test_tenant_id_from_a_tenant_batch():
    tenant = batch("tenant", [{"tenant_id": "11111111-2222-3333-4444-555555555555"}], "s.json")
    assert normalize([tenant]).tenant["tenant_id"].tolist() == [
        "11111111-2222-3333-4444-555555555555"
    ]


def restriction(prefix: str, *, blocked: bool, personal: bool) -> dict:
    return {
        f"{prefix}.platformBlocked": blocked,
        f"{prefix}.personalDeviceEnrollmentBlocked": personal,
    }


def test_mac_specific_default_restriction_wins_over_the_combined_one():
    configs = batch(
        "enrollment_configurations",
        [
            {"id": "x_DefaultPlatformRestrictions", "priority": 0,
             **restriction("macOSRestriction", blocked=False, personal=False)},
            {"id": "x_Mac", "priority": 0, "platformType": "mac",
             **restriction("platformRestriction", blocked=True, personal=True)},
            {"id": "x_Pilot", "priority": 1, "platformType": "mac",
             **restriction("platformRestriction", blocked=False, personal=False)},
        ],
    )  # fmt: skip
    row = normalize([configs]).tenant.iloc[0]
    assert (row["macos_enrollment_blocked"], row["personal_enrollment_blocked"]) == (True, True)


def test_restriction_not_collected_is_na():
    limit = batch(
        "enrollment_configurations", [{"id": "x_DefaultLimit", "priority": 0, "limit": 15}]
    )
    row = normalize([limit]).tenant.iloc[0]
    assert pd.isna(row["macos_enrollment_blocked"]) and pd.isna(row["personal_enrollment_blocked"])


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.0, "12"), (2.0**53 - 1, "9007199254740991"), (1e23, "1e+23"), (-1e300, "-1e+300")],
)
def test_a_float_is_never_shown_with_invented_digits(value, text):
    """A JSON integer past 2**64 arrives as a float: its text is the float's, not made-up digits."""
    assert as_text(value) == text


# ---------------------------------------------------------------- hostile text: controls, sizes


def test_control_characters_are_removed_and_noted_once_per_field():
    rows = [
        mac(
            "id-1", deviceName="Ada\x00's\x1b[31m Mac\x85", userPrincipalName="ada@\x07contoso.com"
        ),
        mac("id-2", deviceName="Bo\x01b", serialNumber="C02\x9fXYZ"),
        mac("id-3", deviceName="Tab\tand\nnewline stay"),
    ]
    inventory = normalize([batch("graph_devices", rows)])
    assert one(inventory, "id-1")["device_name"] == "Ada's[31m Mac"
    assert one(inventory, "id-1")["upn"] == "ada@contoso.com"
    assert one(inventory, "id-2")["serial_number"] == "C02XYZ"
    assert one(inventory, "id-3")["device_name"] == "Tab\tand\nnewline stay"
    [name] = notes(inventory, "device_name", "control_characters")
    assert name.count == 2 and name.source == "test.json"
    assert name.examples == (
        "Ada's[31m Mac: U+0000, U+001B removed",
        "Bob (C02XYZ): U+0001 removed",
    )
    assert notes(inventory, "serial_number", "control_characters")[0].examples == (
        "Bob (C02XYZ): U+009F removed",
    )
    assert len(notes(inventory, "upn", "control_characters")) == 1


def test_a_value_of_control_characters_only_is_missing_and_said_so():
    inventory = normalize([batch("graph_devices", [mac("id-1", deviceName="\x00\x01")])])
    assert pd.isna(one(inventory, "id-1")["device_name"])
    assert notes(inventory, "device_name", "control_characters")[0].count == 1


@pytest.mark.parametrize("length", [257, 16_000, 2**20])
def test_long_text_is_cut_with_its_length_and_digest_in_the_value_and_the_note(length):
    name = "N" * (length - 1) + "Z"
    inventory = normalize([batch("graph_devices", [mac("id-1", deviceName=name)])])
    shown = one(inventory, "id-1")["device_name"]
    digest = hashlib.sha256(name.encode()).hexdigest()
    reference = hashlib.sha256(name.casefold().encode()).hexdigest()[:16]
    assert len(shown) == TEXT_LIMIT
    assert shown.endswith(f"… [cut: {length:,} characters, ref {reference}]")
    assert shown.startswith("NNNN")
    [note] = notes(inventory, "device_name", "capped")
    assert note.count == 1 and note.source == "test.json"
    assert note.examples == (f"{shown}: {length:,} characters cut to 256; sha256 {digest}",)


def test_256_characters_are_kept_whole():
    name = "N" * TEXT_LIMIT
    inventory = normalize([batch("graph_devices", [mac("id-1", deviceName=name)])])
    assert one(inventory, "id-1")["device_name"] == name
    assert not [n for n in inventory.quality if n.problem == "capped"]


def test_long_ids_that_share_their_start_stay_two_macs_and_one_mac_still_merges():
    """The digest in the cut value keeps different values apart and equal ones together."""
    first, second = "x" * 500 + "1", "x" * 500 + "2"
    graph = batch("graph_devices", [mac(first), mac(second)])
    export = batch(
        "export_devices",
        [{"DeviceId": first.upper(), "UserApprovedEnrollment": "true", "OS": "macOS"}],
        source="export.csv",
    )
    inventory = normalize([graph, export])
    assert len(inventory.devices) == 2
    merged = inventory.devices[inventory.devices["user_approved"].fillna(False)]
    assert len(merged) == 1 and merged["source"].iloc[0] == "test.json; export.csv"
    assert merged["device_id"].iloc[0].startswith("x" * 100)
    assert sum(n.count for n in notes(inventory, "device_id", "capped")) == 3  # one per input


def test_unparseable_hostile_values_are_quoted_cut():
    inventory = normalize([batch("graph_devices", [mac("id-1", osVersion="1" * 100_000)])])
    [note] = notes(inventory, "os_version", "unparseable")
    assert len(note.examples[0]) < 400 and "[cut: 100,000 characters" in note.examples[0]


def test_tenant_texts_are_made_safe_too():
    apns = batch(
        "apns", [{"appleIdentifier": "push@\x00contoso.com", "expirationDateTime": "2027-01-01"}]
    )
    tokens = batch("ade_tokens", [{"id": "t1", "tokenName": "T" * 5000, "appleIdentifier": "a@b"}])
    inventory = normalize([apns, tokens])
    assert inventory.tenant["apns_apple_id"].iloc[0] == "push@contoso.com"
    assert len(inventory.ade_tokens["token_name"].iloc[0]) == TEXT_LIMIT
    assert notes(inventory, "apns_apple_id", "control_characters")[0].count == 1
    [cut] = notes(inventory, "token_name", "capped")
    assert cut.examples[0].startswith("test.json:value[0]: 5,000 characters cut to 256; sha256 ")


def test_population_texts_are_cut_before_serials_are_matched():
    """A hostile serial cut on the Mac and on its ABM identity alike still matches."""
    serial = "C02" + "X" * 400
    devices = batch("graph_devices", [mac("id-1", serialNumber=serial)])
    tokens = batch("ade_tokens", [{"id": "t1", "tokenName": "T" * 5000, "appleIdentifier": "a@b"}])
    identities = batch(
        "ade_identities",
        [{"serialNumber": serial.lower(), "tokenId": "t1", "platform": "macOS",
          "description": "\x00" + "d" * 300}],
        source="identities.json",
    )  # fmt: skip
    inventory = normalize([devices, tokens, identities])
    [identity] = inventory.ade_identities.to_dict("records")
    assert identity["is_enrolled"] is True
    assert len(identity["serial_number"]) == TEXT_LIMIT
    assert len(identity["token_name"]) == TEXT_LIMIT
    cut = notes(inventory, "serialNumber", "capped")
    assert cut[0].source == "identities.json" and cut[0].examples[0].startswith(
        "identities.json:value[0]: 403 characters cut to 256"
    )
    assert len(notes(inventory, "token_name", "capped")) == 1  # said once, by the tenant frame


# ---------------------------------------------------------------- docs/schema.md


def test_schema_doc_is_generated_from_the_code():
    doc = ROOT / "docs" / "schema.md"
    assert doc.read_text(encoding="utf-8") == schema_markdown(), (
        "docs/schema.md is stale: run `python -m auditor.normalize > docs/schema.md`"
    )


def test_python_m_auditor_normalize_prints_the_schema():
    printed = subprocess.run(
        [sys.executable, "-m", "auditor.normalize"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert printed == schema_markdown()


# ---------------------------------------------------------------- properties: never crash or invent

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ANY_VALUE = st.one_of(
    st.none(),
    st.text(max_size=24),
    st.booleans(),
    st.integers(min_value=-3, max_value=10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        ["", " ", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "3/5/2024 2:22:11 PM",
         "true", "No", "Not supervised", "14.5 (23F79)", "13.4.1 (a) (22F770820d)", "arM64", "12",
         "company", "Personal", "appleBulkWithoutUser", "3", "macOS", "Windows", "VMware7,1",
         "MacBookPro18,3", "VMwFVoWLEdXS", "Unknown", "١٤.٥", "ⅰⅴ", "K"]
    ),
)  # fmt: skip
GRAPH_FIELDS = ("deviceName", "serialNumber", "operatingSystem", "osVersion", "isSupervised",
                "isEncrypted", "enrolledDateTime", "lastSyncDateTime", "deviceEnrollmentType",
                "enrollmentProfileName", "managedDeviceOwnerType", "processorArchitecture", "model",
                "complianceState", "userPrincipalName")  # fmt: skip
DEVICE_ROWS = st.lists(
    st.fixed_dictionaries(
        {"id": st.one_of(st.none(), st.text(max_size=3)), **dict.fromkeys(GRAPH_FIELDS, ANY_VALUE)}
    ),
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DEVICE_ROWS)
def test_random_records_never_crash_never_vanish_never_get_invented_values(rows):
    inventory = normalize([batch("graph_devices", rows)])
    devices = inventory.devices
    assert {c: str(t) for c, t in devices.dtypes.items()} == {
        c: t for c, (t, _) in DEVICE_SCHEMA.items()
    }
    assert devices["device_id"].is_unique and devices["device_id"].notna().all()
    ignored = sum(n.count for n in notes(inventory, "operating_system", "not_macos"))
    anonymous = sum(n.count for n in notes(inventory, "device_id", "no_identifier"))
    merged = int((devices["source_record"].str.count("; ") + 1).sum())
    assert merged + ignored + anonymous == len(rows)
    identified = [
        r for r in rows if any(as_text(r[f]) for f in ("id", "serialNumber", "deviceName"))
    ]
    assert merged <= len(identified)  # no row without an identifier is a Mac
    single = devices[~devices["source_record"].str.contains("; ")]
    for _, device in single.iterrows():
        raw = rows[int(device["source_record"].split("[")[1].rstrip("]"))]
        supervised, text = plain(device["is_supervised"]), as_text(raw["isSupervised"])
        if supervised is None:
            assert text is None or token(text) not in BOOLEAN_TOKENS
        else:
            assert BOOLEAN_TOKENS[token(text)] is supervised
        if plain(device["os_version"]) is not None:
            assert plain(device["os_version_raw"]) == as_text(raw["osVersion"])
            assert parse_macos_version(as_text(raw["osVersion"])) is not None
        if plain(device["last_sync_at"]) is not None:
            assert isinstance(raw["lastSyncDateTime"], str)
            assert len(re.findall(r"[0-9]", raw["lastSyncDateTime"])) >= 6
        if as_text(raw["deviceName"]) is None:
            assert plain(device["device_name"]) is None


VERSION_TEXT = st.builds(
    lambda major, minor, patch, build, rsr: (
        f"{major}.{minor}.{patch}{f' ({rsr})' if rsr else ''}{f' ({build})' if build else ''}",
        (major, minor, patch, build, rsr),
    ),
    st.integers(10, 99),
    st.integers(0, 999),
    st.integers(0, 999),
    st.one_of(st.none(), st.from_regex(r"[0-9]{2}[A-Z][0-9]{1,6}[a-z]?", fullmatch=True)),
    st.one_of(st.none(), st.sampled_from("abcdef")),
)


@PROPERTY
@given(st.lists(VERSION_TEXT, min_size=1, max_size=20))
def test_real_versions_parse_to_their_components(cases):
    parsed = parse_version_column(pd.Series([text for text, _ in cases], dtype=object))
    for (_, (major, minor, patch, build, rsr)), row in zip(cases, parsed.itertuples(), strict=True):
        assert row.os_version == f"{major}.{minor}.{patch}"
        assert row.os_version_key == major * 1_000_000 + minor * 1_000 + patch
        assert (plain(row.os_build), plain(row.os_rsr)) == (build, rsr)


@PROPERTY
@given(st.lists(st.one_of(st.text(max_size=20), st.none()), min_size=1, max_size=40))
def test_random_text_is_never_a_version_unless_it_starts_with_one(values):
    parsed = parse_version_column(pd.Series(values, dtype=object))
    for value, key in zip(values, parsed["os_version_key"], strict=True):
        if pd.isna(key):
            continue
        leading = re.match(r"\s*(?:mac\s?os\s*x?\s*)?([0-9]{1,3})", value, re.IGNORECASE | re.ASCII)
        assert leading is not None and int(leading[1]) == key // 1_000_000
        assert 10 <= key // 1_000_000 <= 99


@PROPERTY
@given(st.lists(ANY_VALUE, min_size=1, max_size=40))
def test_dates_from_random_values_never_crash_and_na_stays_na(values):
    result = datetime_column(pd.Series(values, dtype=object))
    assert str(result.values.dtype) == "datetime64[us, UTC]"
    for value, parsed, failed in zip(values, result.values, result.failed, strict=True):
        if value is None or (isinstance(value, str) and not value.strip()):
            assert parsed is pd.NaT and not failed
        if parsed is not pd.NaT:
            assert parsed.year > 1 and not failed


@PROPERTY
@given(st.lists(ANY_VALUE, min_size=1, max_size=40))
def test_booleans_from_random_values(values):
    result = boolean_column(pd.Series(values, dtype=object))
    for value, parsed in zip(values, result.values, strict=True):
        if value is None:
            assert parsed is pd.NA
        elif parsed is not pd.NA:
            assert BOOLEAN_TOKENS[token(as_text(value))] is bool(parsed)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.integers(0, 13),
            st.integers(0, 32),
            st.integers(0, 10_000),
            st.integers(0, 25),
            st.integers(0, 61),
            st.integers(0, 61),
            st.sampled_from(["AM", "PM", "am", "XM", ""]),
            st.sampled_from([" ", "", "  "]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_export_dates_read_as_pandas_reads_them(parts):
    """The Arrow fast path gives what pandas' strptime gives; nothing pandas would not read."""
    values = [
        f"{m}/{d}/{y:04d}{gap}{h}:{mi:02d}:{s:02d} {p}" for m, d, y, h, mi, s, p, gap in parts
    ]
    result = datetime_column(pd.Series(values, dtype=object), day_first=False)
    readings = [
        pd.to_datetime(pd.Series(values).str.strip(), format=fmt, errors="coerce", utc=True)
        for fmt in ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S")
    ]
    for i, (value, got) in enumerate(zip(values, result.values, strict=True)):
        possible = {r.iloc[i] for r in readings if not pd.isna(r.iloc[i]) and r.iloc[i].year > 1}
        if got is pd.NaT:
            assert not possible, value
        else:
            assert got in possible, value


def test_matching_keys_fold_non_ascii_text_as_python_does():
    from auditor.normalize.values import keyed_text_column

    raw = pd.Series(["  Straße ", "ABC-def", None, "", "ǅ"], dtype=object)
    text, keys = keyed_text_column(raw, str.casefold)
    assert text.tolist() == ["Straße", "ABC-def", pd.NA, pd.NA, "ǅ"]
    assert keys.tolist() == ["strasse", "abc-def", pd.NA, pd.NA, "ǆ"]
    _, upper = keyed_text_column(raw, str.upper)
    assert upper.tolist() == ["STRASSE", "ABC-DEF", pd.NA, pd.NA, "Ǆ"]


def test_pages_saved_as_many_files_keep_each_rows_file_in_lineage_and_notes():
    pages = [
        batch("graph_devices", [mac("a"), mac("b")], "page-1.json"),
        batch("graph_devices", [mac("c", lastSyncDateTime="yesterday")], "page-2.json"),
        batch(
            "graph_devices", [mac("d"), {"id": "w", "operatingSystem": "Windows"}], "page-3.json"
        ),
    ]
    inventory = normalize(pages)
    assert inventory.devices.set_index("device_id")["source"].to_dict() == {
        "a": "page-1.json",
        "b": "page-1.json",
        "c": "page-2.json",
        "d": "page-3.json",
    }
    [unparseable] = [n for n in inventory.quality if n.problem == "unparseable"]
    assert (unparseable.field, unparseable.source) == ("last_sync_at", "page-2.json")
    [windows] = [n for n in inventory.quality if n.problem == "not_macos"]
    assert (windows.count, windows.source) == (1, "page-3.json")


def test_every_quality_note_names_the_inputs_it_comes_from(tenant):
    files = {p.name for p in FIXTURES.iterdir()}
    for note in tenant.quality:
        named = set(re.sub(r" and \d+ more files$", "", note.source).split(", "))
        assert note.source and named <= files, note


def test_conform_drops_exactly_the_declared_work_columns():
    from auditor.normalize import device_rows
    from auditor.normalize.schema import WORK_COLUMNS, conform

    batches = read_files(sorted(p for p in FIXTURES.iterdir() if p.is_file())).batches
    rows = device_rows(batches, [])
    assert set(rows.columns) - set(DEVICE_SCHEMA) == set(WORK_COLUMNS)
    with pytest.raises(ValueError, match="undeclared work columns: _stray"):
        conform(rows.assign(_stray=1), DEVICE_SCHEMA, WORK_COLUMNS)


@pytest.mark.parametrize(
    ("value", "failed"),
    [("0000-01-01T00:00:00Z", True), ("0001-01-01T00:00:00Z", False),
     ("1/1/0001 12:00:00 AM", False), ("0000-00-00 00:00:00", True)],
)  # fmt: skip
def test_year_one_is_never_but_year_zero_is_unparseable(value, failed):
    result = datetime_column(pd.Series([value], dtype=object))
    assert pd.isna(result.values.iloc[0])
    assert bool(result.failed[0]) is failed


@pytest.mark.parametrize(
    ("value", "year"),
    [("/Date(253402214400000)/", 9999), ("/Date(-5000000000000)/", 1811),
     ("/Date(300000000000000)/", None), ("/Date(99999999999999999999)/", None)],
)  # fmt: skip
def test_a_date_past_9999_is_unparseable_and_a_date_before_1900_is_kept(value, year):
    """A .NET millisecond count can name year 11476, which no report can hold as a date."""
    result = datetime_column(pd.Series([value], dtype=object))
    parsed = result.values.iloc[0]
    assert (None if pd.isna(parsed) else parsed.year) == year
    assert bool(result.failed[0]) is (year is None)
