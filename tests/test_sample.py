"""The sample-tenant generator: determinism, raw Microsoft shapes, awkward values, intent map."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditor.errors import ConfigError
from auditor.sample import MIN_DEVICES, SampleTenant, generate_tenant, write_tenant
from auditor.sample.render import guids
from auditor.sample.scenarios import HOSTILE_FORMULA, HOSTILE_HTML

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "sample_data"
AS_OF = dt.date(2026, 9, 1)
RULE_IDS = (
    *(f"MAC-ENR-00{i}" for i in range(1, 7)),
    "MAC-DEM-001", "MAC-BST-001", "MAC-SWU-001", "MAC-KXT-001",
    *(f"MAC-OS-00{i}" for i in range(1, 6)),
    "MAC-HW-001", "MAC-HW-002", "MAC-VM-001", "MAC-VM-002", "MAC-INV-001", "MAC-INV-002",
    "MAC-SYN-001", "MAC-SYN-002", "MAC-FV-001", "MAC-CMP-001",
    *(f"MAC-TEN-00{i}" for i in range(1, 7)),
)  # fmt: skip


@pytest.fixture(scope="module")
def tenant() -> SampleTenant:
    return generate_tenant(300, 7, AS_OF)


@pytest.fixture(scope="module")
def written(tenant: SampleTenant, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_tenant(tenant, out)
    return out


def _json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def _graph_devices(out: Path) -> list[dict[str, object]]:
    page = _json(out / "managed_devices.json")
    assert isinstance(page, dict)
    return page["value"]


def _details(out: Path) -> dict[str, dict[str, object]]:
    records = _json(out / "device_details.json")
    assert isinstance(records, list)
    return {r["id"]: r for r in records}


def _export(out: Path) -> list[dict[str, str]]:
    with (out / "export_devices.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _by_key(tenant: SampleTenant, key: str) -> dict[str, object]:
    return tenant.devices.loc[tenant.devices["_key"] == key].iloc[0].to_dict()


# ---------------------------------------------------------------- determinism and drift


def test_same_arguments_write_byte_identical_files(written: Path, tmp_path: Path) -> None:
    write_tenant(generate_tenant(300, 7, AS_OF), tmp_path)
    first = {p.name: p.read_bytes() for p in written.iterdir()}
    second = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert first == second


def test_another_seed_gives_another_tenant(tenant: SampleTenant) -> None:
    other = generate_tenant(MIN_DEVICES + 10, 8, AS_OF)
    assert not set(other.devices["id"]) & set(tenant.devices["id"])


def test_committed_sample_data_equals_a_fresh_generation(written: Path) -> None:
    committed = {p.name: p.read_bytes() for p in SAMPLE_DIR.iterdir() if p.is_file()}
    fresh = {p.name: p.read_bytes() for p in written.iterdir()}
    assert sorted(committed) == sorted(fresh)
    changed = [name for name in fresh if committed[name] != fresh[name]]
    assert not changed, f"sample_data/ drifted from the generator: {changed} (run `make sample`)"


def test_guids_are_version_4_uuids_from_the_generator_bytes() -> None:
    ours = guids(np.random.Generator(np.random.PCG64(3)), 5)
    raw = np.random.Generator(np.random.PCG64(3)).bytes(80)
    expected = [str(uuid.UUID(bytes=raw[i : i + 16], version=4)) for i in range(0, 80, 16)]
    assert ours == expected


def test_too_few_devices_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at least"):
        generate_tenant(MIN_DEVICES - 1, 7, AS_OF)


# ---------------------------------------------------------------- shapes Microsoft returns


def test_every_written_file_parses(written: Path) -> None:
    for path in written.glob("*.json"):
        assert _json(path)
    assert len(_export(written)) == 302
    assert (written / "README.md").read_text(encoding="utf-8").startswith("# Sample tenant")


def test_graph_list_is_one_beta_page_of_300_macs_with_list_defaults(written: Path) -> None:
    page = _json(written / "managed_devices.json")
    assert isinstance(page, dict)
    assert page["@odata.context"].startswith(
        "https://graph.microsoft.com/beta/$metadata#deviceManagement/managedDevices("
    )
    assert "@odata.nextLink" not in page
    devices = page["value"]
    assert len(devices) == 300
    assert {d["operatingSystem"] for d in devices} == {"macOS"}
    assert {d["udid"] for d in devices} == {""}
    assert {d["bootstrapTokenEscrowed"] for d in devices} == {False}
    assert {d["hardwareInformation"]["productName"] for d in devices} == {None}
    assert {d["hardwareInformation"]["serialNumber"] for d in devices} == {""}
    assert {d["processorArchitecture"] for d in devices} == {"x64", "arM64", "unknown"}
    assert len({d["id"] for d in devices}) == 300


def test_details_are_single_get_responses_with_real_values(written: Path) -> None:
    details = _details(written)
    assert len(details) == 299  # one Mac's GET failed
    assert all(r["@odata.context"].endswith("/$entity") for r in details.values())
    assert {r["bootstrapTokenEscrowed"] for r in details.values()} == {True, False}
    products = {r["hardwareInformation"]["productName"] for r in details.values()}
    assert {"MacBookPro18,3", "Mac15,12", "VirtualMac2,1", "VMware7,1", "iMac16,2"} <= products
    assert all(r["udid"] for r in details.values())


def test_export_lists_the_macs_plus_windows_pcs_the_graph_pull_filters_out(
    written: Path,
) -> None:
    rows = _export(written)
    graph_ids = {d["id"] for d in _graph_devices(written)}
    windows = [r for r in rows if r["OS"] == "Windows"]
    assert len(windows) == 2
    assert not {r["DeviceId"] for r in windows} & graph_ids
    assert {r["DeviceId"] for r in rows if r["OS"] == "macOS"} == graph_ids
    assert (written / "export_devices.csv").read_bytes().startswith(b'\xef\xbb\xbf"DeviceId"')


def test_paging_chains_pages_with_next_links(tmp_path: Path) -> None:
    small = generate_tenant(MIN_DEVICES + 20, 1, AS_OF)
    names = [p.name for p in write_tenant(small, tmp_path, pages_of=25)]
    pages = sorted(tmp_path.glob("managed_devices.page-*.json"))
    assert [p.name for p in pages] == [f"managed_devices.page-000{i}.json" for i in (1, 2, 3)]
    assert "managed_devices.json" not in names
    bodies = [_json(p) for p in pages]
    assert all("@odata.nextLink" in b for b in bodies[:-1])
    assert "@odata.nextLink" not in bodies[-1]
    assert sum(len(b["value"]) for b in bodies) == MIN_DEVICES + 20
    assert sorted(tmp_path.glob("device_details.part-*.json"))


def test_rewriting_removes_page_files_of_an_earlier_bigger_run(tmp_path: Path) -> None:
    small = generate_tenant(MIN_DEVICES, 1, AS_OF)
    write_tenant(small, tmp_path, pages_of=20)
    write_tenant(small, tmp_path)
    assert not list(tmp_path.glob("*.page-*.json")) and not list(tmp_path.glob("*.part-*.json"))


def test_tenant_objects_have_their_graph_shapes(written: Path) -> None:
    apns = _json(written / "apns_certificate.json")
    tokens = _json(written / "dep_onboarding_settings.json")
    profiles = _json(written / "ade_enrollment_profiles.json")
    configs = _json(written / "enrollment_configurations.json")
    assert isinstance(apns, dict) and "value" not in apns and apns["appleIdentifier"]
    assert isinstance(tokens, dict) and len(tokens["value"]) == 3
    assert isinstance(profiles, list)
    assert all("depOnboardingSettings('" in p["@odata.context"] for p in profiles)
    assert isinstance(configs, dict)
    default = next(c for c in configs["value"] if c["id"].endswith("_DefaultPlatformRestrictions"))
    assert default["macOSRestriction"]["personalDeviceEnrollmentBlocked"] is False


# ---------------------------------------------------------------- awkward but real values


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lastSyncDateTime", "0001-01-01T00:00:00Z"),
        ("osVersion", "15.7.9"),
        ("osVersion", "14.8.9 (23J631)"),
        ("osVersion", "13.7.8 (22H730)"),
        ("osVersion", "12.7.6 (21H1320)"),
        ("osVersion", "10.15.7 (19H2026)"),
        ("isEncrypted", None),
        ("azureADRegistered", None),
        ("enrollmentProfileName", None),  # a list's default for every device
        ("model", "MacBook Pro (14-inch, M3 Pro, Nov 2023)"),
        ("model", "Apple Virtual Machine 1"),
        ("serialNumber", ""),
        ("deviceName", "Zoë’s MacBook Pro"),
        ("deviceName", "田中のMacBook Air"),
        ("deviceName", HOSTILE_HTML),
        ("deviceName", HOSTILE_FORMULA),
        ("deviceEnrollmentType", "deviceEnrollmentManager"),
        ("deviceEnrollmentType", "appleBulkWithoutUser"),
        ("userDisplayName", None),
        ("complianceState", "inGracePeriod"),
    ],
)
def test_graph_records_include_the_awkward_value(written: Path, field: str, value: object) -> None:
    assert any(d.get(field, "absent") == value for d in _graph_devices(written))


def test_single_gets_carry_the_enrollment_profile_name_lists_do_not(written: Path) -> None:
    assert {d.get("enrollmentProfileName", "absent") for d in _graph_devices(written)} == {None}
    profiles = {d.get("enrollmentProfileName") for d in _details(written).values()}
    assert "" in profiles and len(profiles - {"", None}) >= 2


def test_hostile_names_survive_the_csv_round_trip(written: Path) -> None:
    names = {r["DeviceName"] for r in _export(written)}
    assert {HOSTILE_HTML, HOSTILE_FORMULA} <= names


def test_some_graph_times_carry_seven_fractional_digits(written: Path) -> None:
    times = [str(d["lastSyncDateTime"]) for d in _graph_devices(written)]
    assert any(len(t) == len("2026-08-31T14:22:05.1234567Z") for t in times)
    assert any(len(t) == len("2026-08-31T14:22:05Z") for t in times)


def test_one_serial_is_shared_by_two_records_of_a_re_enrolled_mac(tenant: SampleTenant) -> None:
    old, new = _by_key(tenant, "duplicate-serial-old"), _by_key(tenant, "duplicate-serial-new")
    assert old["serialNumber"] == new["serialNumber"] and old["id"] != new["id"]
    assert (tenant.devices["serialNumber"] == old["serialNumber"]).sum() == 2


def test_virtual_macs_have_their_serial_forms(tenant: SampleTenant) -> None:
    vmware = _by_key(tenant, "vm-vmware")
    apple_vm = _by_key(tenant, "vm-approved")
    assert str(vmware["serialNumber"]).startswith("VM") and "/" in str(vmware["serialNumber"])
    assert vmware["processorArchitecture"] == "x64"
    assert str(apple_vm["serialNumber"]).isalnum() and apple_vm["_product_name"] == "VirtualMac2,1"


@pytest.mark.parametrize(
    ("key", "approved"),
    [
        ("byod-2019-not-approved", "False"),
        ("byod-2019b-not-approved", "False"),
        ("byod-2020-not-approved", "False"),
        ("byod-2020-approved", "True"),
    ],
)
def test_pre_june_2020_byod_approval_is_in_the_export(
    tenant: SampleTenant, written: Path, key: str, approved: str
) -> None:
    device = _by_key(tenant, key)
    row = next(r for r in _export(written) if r["DeviceId"] == device["id"])
    assert row["Ownership"] == "Personal" and row["CreatedDate"] < "2020-06-01"
    assert row["UserApprovedEnrollment"] == approved


def test_stale_macs_last_synced_40_and_120_days_before_as_of(tenant: SampleTenant) -> None:
    for key, days in (("stale-40", 40), ("stale-120", 120)):
        synced = pd.Timestamp(str(_by_key(tenant, key)["lastSyncDateTime"]))
        assert (pd.Timestamp(AS_OF, tz="UTC") - synced).days == days


def test_most_macs_are_corporate_ade(tenant: SampleTenant) -> None:
    ade = tenant.devices["enrollmentProfileName"].isin(
        [
            "Corporate Mac – Modern Auth",
            "Shared Mac – Userless",
            "Engineering Macs",
            "Fabrikam Macs (legacy)",
        ]
    ) | (tenant.devices["_key"] == "profile-null-in-list")
    assert 0.8 <= ade.mean() <= 0.85


def test_placed_device_names_are_unique_except_the_re_enrolled_pair(tenant: SampleTenant) -> None:
    placed = tenant.devices.loc[tenant.devices["_key"].notna(), "deviceName"]
    counts = tenant.devices["deviceName"].value_counts()
    assert {name: counts[name] for name in placed if counts[name] > 1} == {"MBP-RCHO-01": 2}


# ---------------------------------------------------------------- the intent map


def test_expected_names_a_pass_and_a_fail_for_every_rule(written: Path) -> None:
    expected = _json(written / "expected.json")
    assert isinstance(expected, dict)
    for rule_id in RULE_IDS:
        statuses = {case["status"] for case in expected["rules"][rule_id]}
        assert {"pass", "fail"} <= statuses, rule_id


def test_expected_device_cases_point_at_records_in_the_graph_file(written: Path) -> None:
    expected = _json(written / "expected.json")
    assert isinstance(expected, dict)
    names = {d["id"]: d["deviceName"] for d in _graph_devices(written)}
    cases = [c for cs in expected["rules"].values() for c in cs if c["entity"] == "device"]
    assert cases
    assert all(names[c["device_id"]] == c["device_name"] for c in cases)


def test_ade_tokens_are_healthy_expiring_and_lapsed(tenant: SampleTenant) -> None:
    expires = [pd.Timestamp(t["tokenExpirationDateTime"]) for t in tenant.ade_tokens["value"]]
    days = [(e.date() - AS_OF).days for e in expires]
    assert days[0] > 30 and 0 < days[1] <= 30 and days[2] < 0


def test_apns_validity_follows_the_argument() -> None:
    lapsed = generate_tenant(MIN_DEVICES, 7, AS_OF, apns_valid_days=-3)
    expires = pd.Timestamp(lapsed.apns["expirationDateTime"])
    assert expires.date() < AS_OF
