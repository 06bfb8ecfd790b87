"""Where each canonical device field comes from, per source kind, under every name it is known by.

One table, `SOURCE_COLUMNS`: for each batch kind and canonical field, the source columns to read
in order (the first non-empty per row wins), each column given by **all** its spellings.
Spellings match case-insensitively and name the same column: Intune's reports export returns a
*display* header for many requested columns ("Device ID" for `DeviceId`: the DevicesWithInventory
table in MicrosoftDocs/memdocs `intune/intune-service/fundamentals/`
`reports-export-graph-available-reports.md`, and a real `Devices` export in
MG-Cloudflow/MSGraph-Examples `GraphApi-Reports/reports/13062024/`), the admin center uses the
display names, and the Intune
diagnostic settings (Log Analytics table `IntuneDevices`, MicrosoftDocs/azure-reference-other
`azure-monitor-ref/tables/includes/intunedevices-include.md`) use the requested names. Graph
members are camelCase; the PowerShell SDK writes the same members PascalCase.

Graph list responses carry defaults, not values, for some members: `enrollmentProfileName` is
null in every `managedDevices` list (msgraph-metadata#664, microsoft-graph-docs-contrib#1454,
#1455, #8816, msgraph-sdk-powershell#2228), `udid` too, and `bootstrapTokenEscrowed` /
`hardwareInformation` need a GET by id with `$select` (microsoft-graph-docs-contrib#8667). So a
list batch does not read them at all, and a single GET reads them only where its `@odata.context`
(or its record) shows they were selected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from auditor.models import BatchKind
from auditor.normalize.values import coalesce, text_column

Spellings = tuple[str, ...]
"""One source column by every name it is known under (matched case-insensitively)."""

Candidates = tuple[Spellings, ...]
"""A canonical field's source columns in order: the first non-empty value per row wins."""

LOG_TIME_COLUMN = "time"
"""When Intune wrote a diagnostic record: a later record of the same Mac is the newer state."""

CONTEXT_COLUMN = "@odata.context"
"""Kept on single-GET records: its `$select` list says which members the GET really carried."""

SELECTED_ONLY = frozenset({"bootstrapTokenEscrowed", "hardwareInformation"})
"""Members a GET by id carries as values only when `$select` names them (else defaults)."""

ID_LIST_MEMBERS = frozenset({"roleScopeTagIds"})
"""Device members that are arrays of ids: read as `a, b` text (not refused as non-values)."""


def _columns(*columns: str | Spellings) -> Candidates:
    return tuple((c,) if isinstance(c, str) else c for c in columns)


_GRAPH_LIST: Mapping[str, Candidates] = {
    "device_id": _columns("id"),
    "device_name": _columns("deviceName", "managedDeviceName"),
    "serial_number": _columns("serialNumber"),
    "model": _columns("model"),
    "model_identifier": _columns("model"),
    "os_version_raw": _columns("osVersion"),
    "ownership_raw": _columns("managedDeviceOwnerType", "ownerType"),
    "enrollment_type_raw": _columns("deviceEnrollmentType"),
    "is_supervised": _columns("isSupervised"),
    "is_encrypted": _columns("isEncrypted"),
    "compliance_state_raw": _columns("complianceState"),
    "processor_arch_raw": _columns("processorArchitecture"),
    "enrolled_at": _columns("enrolledDateTime"),
    "last_sync_at": _columns("lastSyncDateTime"),
    "upn": _columns("userPrincipalName"),
    "user_display_name": _columns("userDisplayName"),
    "device_category": _columns("deviceCategoryDisplayName"),
    "enrolled_by_upn": _columns("enrolledByUserPrincipalName"),
    "operating_system": _columns("operatingSystem"),
}
_GRAPH_DETAILS: Mapping[str, Candidates] = {
    **_GRAPH_LIST,
    "serial_number": _columns("serialNumber", "hardwareInformation.serialNumber"),
    "udid": _columns("udid"),
    "model": _columns("model", "hardwareInformation.model"),
    "model_identifier": _columns("hardwareInformation.productName", "model"),
    "enrollment_profile": _columns("enrollmentProfileName"),
    "bootstrap_escrowed": _columns("bootstrapTokenEscrowed"),
    "scope_tag_ids": _columns("roleScopeTagIds"),  # beta only (a v1.0 list has no such member)
}
# The reports export (requested name, then the display header it may arrive under), the
# admin-center export (display headers) and the diagnostic log (requested names): one family.
_REPORT: Mapping[str, Candidates] = {
    "device_id": _columns(("DeviceId", "Device ID")),
    "device_name": _columns(
        ("DeviceName", "Device name"), ("ManagedDeviceName", "Management name")
    ),
    "serial_number": _columns(("SerialNumber", "Serial number")),
    "udid": _columns("UDID"),
    "model": _columns("Model"),
    "model_identifier": _columns("Model"),
    "os_version_raw": _columns(("OSVersion", "OS version")),
    "ownership_raw": _columns("OwnerType", "Ownership"),
    "enrollment_type_raw": _columns("DeviceEnrollmentType", ("EnrollmentType", "Enrollment type")),
    "enrollment_profile": _columns(
        ("EnrollmentProfileName", "Enrollment profile name"),
        ("EnrollmentProfile", "Enrollment profile"),
    ),
    "is_supervised": _columns(
        "SupervisedStatusString", "SupervisedStatus", ("IsSupervised", "Supervised")
    ),
    "is_encrypted": _columns(
        "EncryptionStatusString", ("IsEncrypted", "Encrypted"), "EncryptionStatus"
    ),
    "user_approved": _columns(("UserApprovedEnrollment", "User approved enrollment")),
    "compliance_state_raw": _columns(("CompliantState", "ComplianceState", "Compliance")),
    "processor_arch_raw": _columns(("ProcessorArchitecture", "Processor architecture")),
    "enrolled_at": _columns(("CreatedDate", "Enrollment date")),
    "last_sync_at": _columns(("LastContact", "Last check-in")),
    "upn": _columns(("UPN", "Primary user UPN", "UserPrincipalName")),
    "user_display_name": _columns(("UserName", "Primary user display name", "UserDisplayName")),
    "device_category": _columns(("CategoryName", "Category", "DeviceCategoryDisplayName")),
    "enrolled_by_upn": _columns(("EnrolledByUser", "Enrolled by", "Enrolled by user UPN")),
    "operating_system": _columns("OS", "DeviceType"),
}
SOURCE_COLUMNS: Mapping[BatchKind, Mapping[str, Candidates]] = {
    BatchKind.GRAPH_DEVICE_DETAILS: _GRAPH_DETAILS,
    BatchKind.GRAPH_DEVICES: _GRAPH_LIST,
    BatchKind.EXPORT_DEVICES: _REPORT,
    BatchKind.DEVICES_LOG: _REPORT,
    BatchKind.ADMIN_CENTER_CSV: _REPORT,
}

DATE_WITNESSES: Candidates = _columns(
    "complianceGracePeriodExpirationDateTime",
    "managementCertificateExpirationDate",
    "exchangeLastSuccessfulSyncDateTime",
    "easActivationDateTime",
    ("InGracePeriodUntil", "Compliance grace period expiration"),
)
"""Date columns read only to tell a file's day/month order (`31/12/9999` is day first)."""

# Columns only the reports-export Devices report has: they tell it from the admin-center export.
_EXPORT_ONLY = frozenset(
    name.casefold()
    for name in (
        "UserApprovedEnrollment", "SupervisedStatus", "SupervisedStatusString",
        "EncryptionStatus", "EncryptionStatusString", "DeviceEnrollmentType",
    )
)  # fmt: skip


def spelling_key(kind: BatchKind, column: str) -> str | None:
    """The spelling group a source column belongs to in `kind` (its first spelling), or None.

    Two columns with the same key hold the same facts under two names (or one name twice).
    """
    return _SPELLING_KEYS.get(kind, {}).get(column.strip().casefold())


def _spelling_keys(kind: BatchKind) -> dict[str, str]:
    keys: dict[str, str] = {}
    candidates = [*SOURCE_COLUMNS[kind].values(), DATE_WITNESSES]
    if kind == BatchKind.GRAPH_DEVICE_DETAILS:
        candidates.append(_columns(CONTEXT_COLUMN))
    if kind == BatchKind.DEVICES_LOG:
        candidates.append(_columns(LOG_TIME_COLUMN))
    for spellings_list in candidates:
        for spellings in spellings_list:
            for spelling in spellings:
                keys.setdefault(spelling.casefold(), spellings[0])
    return keys


_SPELLING_KEYS = {kind: _spelling_keys(kind) for kind in SOURCE_COLUMNS}
_KIND_NAMES = frozenset(BatchKind.__members__.values())


def wanted_columns(kind: BatchKind | str) -> frozenset[str] | None:
    """Case-folded source columns normalization reads for a device kind; None: keep all.

    Readers drop the other columns of big device files (memory at 500k devices).
    """
    keys = _SPELLING_KEYS.get(BatchKind(kind)) if kind in _KIND_NAMES else None
    return None if keys is None else frozenset(keys)


def identifying_columns(kind: BatchKind) -> tuple[str, ...]:
    """Every spelling of the columns that identify a device in `kind` (id, then serial)."""
    table = SOURCE_COLUMNS[kind]
    return tuple(s for field in ("device_id", "serial_number") for c in table[field] for s in c)


@dataclass(frozen=True, slots=True)
class Classification:
    """Which device kind a set of columns is, and which of its columns that kind cannot use.

    `foreign` lists columns another kind would map to a field this one finds no column for:
    reading the file as `kind` would silently drop that field (a Devices export with a Graph
    `OperatingSystem` column would count Windows PCs as Macs), so the file is refused.
    """

    kind: BatchKind | None
    unmapped: tuple[str, ...]
    foreign: tuple[str, ...]


def classify(columns: Sequence[str]) -> Classification:
    """The device kind whose spellings map most of `columns` (Graph list or a report).

    A report is the reports-export Devices report when it has a column only that report has
    (`UserApprovedEnrollment`, `SupervisedStatus` …) or uses the requested spelling of its
    identifying columns, else the admin-center export (display headers).
    """
    names = [c for c in columns if c.strip() and not c.startswith("@")]
    graph = _mapped(BatchKind.GRAPH_DEVICE_DETAILS, names)  # every member Graph writes
    report = _mapped(BatchKind.EXPORT_DEVICES, names)
    if not graph and not report:
        return Classification(None, tuple(names), ())
    ids = {field for field in (*graph.values(), *report.values()) if field == "device_id"}
    graph_id = "device_id" in graph.values() and "device_id" not in report.values()
    report_id = "device_id" in report.values() and "device_id" not in graph.values()
    prefer_graph = graph_id if ids and graph_id != report_id else len(graph) > len(report)
    kind = BatchKind.GRAPH_DEVICES if prefer_graph else BatchKind.EXPORT_DEVICES
    mapped, other = (graph, report) if prefer_graph else (report, graph)
    covered = set(mapped.values())
    reads = SOURCE_COLUMNS[kind]  # fields it leaves out on purpose (list defaults) do not count
    foreign = tuple(
        c
        for c, field in other.items()
        if c not in mapped and field in reads and field not in covered
    )
    if kind == BatchKind.EXPORT_DEVICES and not _is_export(names):
        kind = BatchKind.ADMIN_CENTER_CSV
    used = wanted_columns(kind) or frozenset()
    unmapped = tuple(c for c in names if c.strip().casefold() not in used)
    return Classification(kind, unmapped, foreign)


def _mapped(kind: BatchKind, columns: Sequence[str]) -> dict[str, str]:
    """Column → canonical field, for the columns `kind` reads (date witnesses excluded)."""
    fields = {
        s.casefold(): field
        for field, candidates in SOURCE_COLUMNS[kind].items()
        for spellings in candidates
        for s in spellings
    }
    return {c: fields[c.strip().casefold()] for c in columns if c.strip().casefold() in fields}


def _is_export(columns: Sequence[str]) -> bool:
    folded = {c.strip().casefold() for c in columns}
    if folded & _EXPORT_ONLY:
        return True
    requested = {"deviceid", "serialnumber", "devicename"}
    display = {"device id", "serial number", "device name"}
    return len(folded & requested) > len(folded & display)


class BatchColumns:
    """A batch's records with its source columns found by any of their spellings.

    `masks` (member → rows that carried it, from `provenance`) blank the values of a member
    the record could not have carried.
    """

    def __init__(self, kind: BatchKind, records: pd.DataFrame) -> None:
        self.kind = kind
        self.records = records
        self.by_key: dict[str, list[object]] = {}
        for column in records.columns:
            key = spelling_key(kind, str(column))
            if key is not None:
                self.by_key.setdefault(key, []).append(column)
        self.masks: dict[str, npt.NDArray[np.bool_]] = {}  # member → rows that carried it

    def has(self, spellings: Spellings) -> bool:
        """Whether the batch has this source column under any spelling."""
        return spellings[0] in self.by_key

    def column(self, spellings: Spellings) -> pd.Series | None:
        """The source column (several copies under different spellings: first non-empty)."""
        found = self.by_key.get(spellings[0])
        if not found:
            return None
        values = self.records[found[0]]
        if len(found) > 1:
            values = coalesce([text_column(self.records[c]) for c in found])
        member = spellings[0].split(".", 1)[0]
        mask = self.masks.get(member)
        if mask is not None and not mask.all():
            values = values.where(mask)
        return values

    def raw(self, candidates: Candidates) -> pd.Series:
        """The first candidate present; if several are, the first non-empty text per row.

        Later columns are only read for the rows earlier ones leave empty.
        """
        found = [c for spellings in candidates if (c := self.column(spellings)) is not None]
        if not found:
            return pd.Series(pd.NA, index=self.records.index, dtype="string")  # cheap to parse
        if len(found) == 1:
            return found[0]
        result = text_column(found[0])
        for column in found[1:]:
            missing = result.isna().to_numpy(dtype=bool)
            if not missing.any():
                break
            result[missing] = text_column(column[missing])
        return result

    def field(self, name: str) -> pd.Series:
        """The raw values of one canonical field."""
        return self.raw(SOURCE_COLUMNS[self.kind].get(name, ()))
