"""Write a sample tenant as the raw files Microsoft returns: Graph JSON pages, export CSV."""

from __future__ import annotations

import base64
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from auditor.errors import AuditorError
from auditor.sample.export import EXPORT_COLUMNS, mac_rows
from auditor.sample.generate import SampleTenant
from auditor.sample.readme import readme_text
from auditor.sample.tenant import BETA

LIST_FIELDS = (
    "id", "userId", "deviceName", "managedDeviceName", "ownerType", "managedDeviceOwnerType",
    "managementState", "enrolledDateTime", "lastSyncDateTime", "operatingSystem", "complianceState",
    "jailBroken", "managementAgent", "osVersion", "azureADRegistered", "deviceEnrollmentType",
    "emailAddress", "azureADDeviceId", "deviceRegistrationState", "deviceCategoryDisplayName",
    "isSupervised", "isEncrypted", "userPrincipalName", "model", "manufacturer", "serialNumber",
    "udid", "userDisplayName", "enrollmentProfileName", "complianceGracePeriodExpirationDateTime",
    "managementCertificateExpirationDate", "wiFiMacAddress", "totalStorageSpaceInBytes",
    "freeStorageSpaceInBytes", "physicalMemoryInBytes", "deviceType", "joinType",
    "processorArchitecture", "enrolledByUserPrincipalName", "bootstrapTokenEscrowed",
)  # fmt: skip
DETAIL_FIELDS = (
    "id",
    "udid",
    "bootstrapTokenEscrowed",
    "hardwareInformation",
    "enrollmentProfileName",
)
SELECT = ",".join((*LIST_FIELDS, "hardwareInformation"))
LIST_CONTEXT = f"{BETA}/$metadata#deviceManagement/managedDevices({SELECT})"
NEXT_LINK = (
    f"{BETA}/deviceManagement/managedDevices?$filter=operatingSystem%20eq%20%27macOS%27"
    f"&$select={SELECT}&$skiptoken="
)
DETAIL_CONTEXT = (
    f"{BETA}/$metadata#deviceManagement/managedDevices({','.join(DETAIL_FIELDS)})/$entity"
)
OWNED_PATTERNS = ("managed_devices*.json", "device_details*.json")

# hardwareInformation as list calls return it: defaults, whatever the device reports
LIST_HARDWARE: dict[str, Any] = {
    "batteryChargeCycles": 0, "batteryHealthPercentage": 0, "batteryLevelPercentage": None,
    "batterySerialNumber": None, "cellularTechnology": None, "deviceFullQualifiedDomainName": None,
    "deviceGuardLocalSystemAuthorityCredentialGuardState": "running",
    "deviceGuardVirtualizationBasedSecurityHardwareRequirementState": "meetHardwareRequirements",
    "deviceGuardVirtualizationBasedSecurityState": "running", "deviceLicensingLastErrorCode": 0,
    "deviceLicensingLastErrorDescription": None, "deviceLicensingStatus": "unknown",
    "esimIdentifier": None, "freeStorageSpace": 0, "imei": None, "ipAddressV4": None,
    "isEncrypted": False, "isSharedDevice": False, "isSupervised": False, "manufacturer": None,
    "meid": None, "model": None, "operatingSystemEdition": None, "operatingSystemLanguage": None,
    "operatingSystemProductType": 0, "osBuildNumber": None, "phoneNumber": None,
    "productName": None,
    "residentUsersCount": None, "serialNumber": "", "sharedDeviceCachedUsers": [],
    "subnetAddress": None, "subscriberCarrier": None, "systemManagementBIOSVersion": None,
    "totalStorageSpace": 0, "tpmManufacturer": None, "tpmSpecificationVersion": None,
    "tpmVersion": None, "wifiMac": None, "wiredIPv4Addresses": [],
}  # fmt: skip
_LIST_TYPE = {"@odata.type": "#microsoft.graph.managedDevice"}
# defaults a list returns whatever the device holds (msgraph-metadata#664 for the profile name)
_LIST_DEFAULTS = {"hardwareInformation": LIST_HARDWARE, "enrollmentProfileName": None}
_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
_COMPACT = orjson.OPT_APPEND_NEWLINE


def write_tenant(
    tenant: SampleTenant, out_dir: Path, *, pages_of: int = 1000, pretty: bool = True
) -> list[Path]:
    """Write every raw file of `tenant` into `out_dir`; returns the paths written, in order.

    Up to `pages_of` Macs: `managed_devices.json` (one Graph list page) and `device_details.json`.
    More: `managed_devices.page-0001.json` … (pages chained by `@odata.nextLink`) and
    `device_details.part-0001.json` …. Older page files in `out_dir` are removed first.
    JSON is indented for review unless `pretty` is False (compact, as Graph sends it: about a
    third smaller for benchmark-sized tenants).

    Raises:
        AuditorError: a file could not be written (names the path).
    """
    if pages_of < 1:
        raise AuditorError(f"sample: pages_of must be at least 1 (got {pages_of})")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for pattern in OWNED_PATTERNS:
            for stale in sorted(out_dir.glob(pattern)):
                stale.unlink()
        option = _PRETTY if pretty else _COMPACT
        written = [*_write_devices(tenant.devices, out_dir, pages_of, option)]
        written.append(_export_csv(tenant, out_dir / "export_devices.csv"))
        for name, data in (
            ("apns_certificate.json", tenant.apns),
            ("dep_onboarding_settings.json", tenant.ade_tokens),
            ("ade_enrollment_profiles.json", tenant.ade_profiles),
            ("enrollment_configurations.json", tenant.enrollment_configurations),
            ("ade_imported_identities.json", tenant.ade_identities),
            ("vpp_tokens.json", tenant.vpp_tokens),
            ("device_management.json", tenant.device_management),
            ("compliance_policies.json", tenant.compliance_policies),
            ("compliance_policy_assignments.json", tenant.compliance_assignments),
            ("expected.json", tenant.expected),
        ):
            written.append(_dump(out_dir / name, data, option))
        config = out_dir / "auditor.toml"
        config.write_text(_sample_config(tenant), encoding="utf-8")
        written.append(config)
        readme = out_dir / "README.md"
        readme.write_text(
            readme_text(tenant, [p.name for p in written], pages_of), encoding="utf-8"
        )
    except OSError as exc:
        raise AuditorError(
            f"sample: cannot write {exc.filename or out_dir}: {exc.strerror}"
        ) from exc
    return [*written, readme]


def _sample_config(tenant: SampleTenant) -> str:
    """An auditor.toml under which the sample shows a pass and a fail of every device rule."""
    coverage = tenant.expected["config_for_full_coverage"]
    patterns = ", ".join(f'"{p}"' for p in coverage["approved_vm_name_patterns"])
    serials = ", ".join(f'"{s}"' for s in coverage["approved_vm_serials"])
    warn_at = coverage["params"]["MAC-DEM-001"]["warn_at"]
    return (
        "# Configuration for auditing the sample tenant (`make run`). Generated by\n"
        "# `auditor sample`: approves the lab VMs and lowers the DEM warning level so that the\n"
        "# small sample shows both outcomes of MAC-VM-001 and MAC-DEM-001.\n"
        'organisation = "Contoso Ltd (sample tenant)"\n'
        'classification = "CONFIDENTIAL - SAMPLE DATA"\n\n'
        f"[vms]\napproved_name_patterns = [{patterns}]\napproved_serials = [{serials}]\n\n"
        f'[rules.params."MAC-DEM-001"]\nwarn_at = {warn_at}\n'
    )


def _dump(path: Path, data: Any, option: int) -> Path:
    path.write_bytes(orjson.dumps(data, option=option))
    return path


def _pages(n: int, size: int) -> Iterator[tuple[int, int, int]]:
    for number, start in enumerate(range(0, n, size), start=1):
        yield number, start, min(start + size, n)


def _write_devices(
    devices: pd.DataFrame, out_dir: Path, pages_of: int, option: int
) -> Iterator[Path]:
    n = len(devices)
    count = -(-n // pages_of)
    width = max(4, len(str(count)))
    columns = {c: devices[c].tolist() for c in devices.columns}
    for number, start, stop in _pages(n, pages_of):
        page: dict[str, Any] = {"@odata.context": LIST_CONTEXT}
        if number < count:
            last_id = columns["id"][stop - 1]
            token = (
                base64.urlsafe_b64encode(f"LastDeviceId='{last_id}'".encode()).decode().rstrip("=")
            )
            page["@odata.nextLink"] = NEXT_LINK + token
        rows = zip(*(columns[field][start:stop] for field in LIST_FIELDS), strict=True)
        page["value"] = [
            {**_LIST_TYPE, **dict(zip(LIST_FIELDS, row, strict=True)), **_LIST_DEFAULTS}
            for row in rows
        ]
        name = (
            "managed_devices.json"
            if count == 1
            else f"managed_devices.page-{number:0{width}d}.json"
        )
        yield _dump(out_dir / name, page, option)
    details = [i for i in range(n) if columns["_has_details"][i]]
    detail_count = -(-len(details) // pages_of)
    for number, start, stop in _pages(len(details), pages_of):
        batch = [_detail_record(columns, i) for i in details[start:stop]]
        name = (
            "device_details.json"
            if detail_count == 1
            else f"device_details.part-{number:0{width}d}.json"
        )
        yield _dump(out_dir / name, batch, option)


def _detail_record(columns: dict[str, list[Any]], i: int) -> dict[str, Any]:
    model = columns["model"][i]
    laptop = columns["_is_laptop"][i]
    wifi = columns["wiFiMacAddress"][i]
    hardware = {
        **LIST_HARDWARE,
        "batteryChargeCycles": columns["_battery_cycles"][i] if laptop else 0,
        "batteryHealthPercentage": columns["_battery_health"][i] if laptop else 0,
        "freeStorageSpace": columns["freeStorageSpaceInBytes"][i],
        "isEncrypted": bool(columns["isEncrypted"][i]),
        "isSupervised": columns["isSupervised"][i],
        "manufacturer": columns["manufacturer"][i],
        "model": model,
        "operatingSystemLanguage": "en_US",
        "productName": columns["_product_name"][i],
        "serialNumber": columns["serialNumber"][i],
        "totalStorageSpace": columns["totalStorageSpaceInBytes"][i],
        "wifiMac": f"{wifi[0:2]}:{wifi[2:4]}:{wifi[4:6]}:{wifi[6:8]}:{wifi[8:10]}:{wifi[10:12]}",
    }
    return {
        "@odata.context": DETAIL_CONTEXT,
        "id": columns["id"][i],
        "udid": columns["_udid"][i],
        "bootstrapTokenEscrowed": columns["_escrowed"][i],
        "hardwareInformation": hardware,
        "enrollmentProfileName": columns["enrollmentProfileName"][i],
    }


def _export_csv(tenant: SampleTenant, path: Path) -> Path:
    rows = pd.concat([mac_rows(tenant.devices), tenant.windows], ignore_index=True)
    rows = rows.loc[:, list(EXPORT_COLUMNS)].sort_values("DeviceId", kind="stable")
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows(zip(*(rows[c].tolist() for c in EXPORT_COLUMNS), strict=True))
    return path
