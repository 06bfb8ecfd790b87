"""One device batch (Graph, export, admin-center CSV) → canonical typed columns, with its notes.

Each source names the same facts differently; `SOURCE_COLUMNS` says where each canonical
field comes from per batch kind (candidates in order, matched case-insensitively, first
non-empty wins per row). `bootstrap_escrowed` is read only from single-device GETs
(`graph_device_details`): a Graph list returns false for every device.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from auditor.models import QualityNote, RawBatch
from auditor.normalize.dates import datetime_column
from auditor.normalize.values import (
    Parsed,
    boolean_column,
    coalesce,
    enum_column,
    factorize,
    keyed_text_column,
    take,
    text_column,
    token,
)
from auditor.refdata.hardware import UNKNOWN, chip_of_model, model_parts
from auditor.refdata.versions import parse_version_column

SOURCE_FILE = "source_file"
"""Raw column naming each row's input file when batches of several files were joined."""

DEVICE_KINDS = ("graph_device_details", "graph_devices", "export_devices", "admin_center_csv")
"""Device batch kinds, highest precedence first: Graph single GET > Graph list > export > CSV."""

LABELS = {
    "graph_device_details": "Graph single GET",
    "graph_devices": "Graph list",
    "export_devices": "Devices export",
    "admin_center_csv": "admin-center CSV",
}

_GRAPH: Mapping[str, tuple[str, ...]] = {
    "device_id": ("id",),
    "device_name": ("deviceName", "managedDeviceName"),
    "serial_number": ("serialNumber", "hardwareInformation.serialNumber"),
    "udid": ("udid",),
    "model": ("model", "hardwareInformation.model"),
    "model_identifier": ("hardwareInformation.productName", "model"),
    "os_version_raw": ("osVersion",),
    "ownership_raw": ("managedDeviceOwnerType", "ownerType"),
    "enrollment_type_raw": ("deviceEnrollmentType",),
    "enrollment_profile": ("enrollmentProfileName",),
    "is_supervised": ("isSupervised",),
    "is_encrypted": ("isEncrypted",),
    "compliance_state_raw": ("complianceState",),
    "processor_arch_raw": ("processorArchitecture",),
    "enrolled_at": ("enrolledDateTime",),
    "last_sync_at": ("lastSyncDateTime",),
    "upn": ("userPrincipalName",),
    "enrolled_by_upn": ("enrolledByUserPrincipalName",),
    "operating_system": ("operatingSystem",),
}
SOURCE_COLUMNS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "graph_devices": _GRAPH,
    "graph_device_details": {**_GRAPH, "bootstrap_escrowed": ("bootstrapTokenEscrowed",)},
    "export_devices": {
        "device_id": ("DeviceId",),
        "device_name": ("DeviceName", "ManagedDeviceName"),
        "serial_number": ("SerialNumber",),
        "model": ("Model",),
        "model_identifier": ("Model",),
        "os_version_raw": ("OSVersion",),
        "ownership_raw": ("OwnerType", "Ownership"),
        "enrollment_type_raw": ("DeviceEnrollmentType", "EnrollmentType"),
        "enrollment_profile": ("EnrollmentProfileName", "EnrollmentProfile"),
        "is_supervised": ("SupervisedStatusString", "SupervisedStatus", "IsSupervised"),
        "is_encrypted": ("EncryptionStatusString", "IsEncrypted", "EncryptionStatus"),
        "user_approved": ("UserApprovedEnrollment",),
        "compliance_state_raw": ("CompliantState", "ComplianceState"),
        "processor_arch_raw": ("ProcessorArchitecture",),
        "enrolled_at": ("CreatedDate",),
        "last_sync_at": ("LastContact",),
        "upn": ("UPN", "UserPrincipalName"),
        "enrolled_by_upn": ("EnrolledByUser",),
        "operating_system": ("OS", "DeviceType"),
    },
    "admin_center_csv": {
        "device_id": ("Device ID",),
        "device_name": ("Device name", "Management name"),
        "serial_number": ("Serial number",),
        "udid": ("UDID",),
        "model": ("Model",),
        "model_identifier": ("Model",),
        "os_version_raw": ("OS version",),
        "ownership_raw": ("Ownership",),
        "enrollment_type_raw": ("EnrollmentType", "Enrollment type"),
        "enrollment_profile": ("Enrollment profile", "EnrollmentProfileName"),
        "is_supervised": ("Supervised",),
        "is_encrypted": ("Encrypted",),
        "compliance_state_raw": ("Compliance",),
        "processor_arch_raw": ("ProcessorArchitecture", "Processor architecture"),
        "enrolled_at": ("Enrollment date",),
        "last_sync_at": ("Last check-in",),
        "upn": ("Primary user UPN",),
        "enrolled_by_upn": ("Enrolled by", "Enrolled by user UPN"),
        "operating_system": ("OS",),
    },
}

# Nearly every value distinct (cleaned in bulk) vs few distinct values (cleaned once each).
_IDENTIFYING = ("device_id", "device_name", "serial_number", "udid", "upn", "enrolled_by_upn")
_REPEATED = ("model", "enrollment_profile", "os_version_raw")
_BOOLEANS = ("is_supervised", "is_encrypted", "user_approved", "bootstrap_escrowed")
_DATES = ("enrolled_at", "last_sync_at")

# Enum tables: keys as `enum_key` writes them; numeric codes follow the Graph enum order
# (Intune Data Warehouse ids; whether exports use the same ids is unverified, graph.md §2).
_ENROLLMENT_TYPES = (
    "unknown", "userEnrollment", "deviceEnrollmentManager", "appleBulkWithUser",
    "appleBulkWithoutUser", "windowsAzureADJoin", "windowsBulkUserless", "windowsAutoEnrollment",
    "windowsBulkAzureDomainJoin", "windowsCoManagement", "windowsAzureADJoinUsingDeviceAuth",
    "appleUserEnrollment", "appleUserEnrollmentWithServiceAccount",
)  # fmt: skip
_BETA_ENROLLMENT_TYPES = (
    "azureAdJoinUsingAzureVmExtension", "androidEnterpriseDedicatedDevice",
    "androidEnterpriseFullyManaged", "androidEnterpriseCorporateWorkProfile",
    "androidAOSPUserOwnedDeviceEnrollment", "androidAOSPUserlessDeviceEnrollment",
    "appleAccountDrivenUserEnrollment", "unknownFutureValue",
)  # fmt: skip
ENROLLMENT_TYPES: Mapping[str, str] = {
    **{name.casefold(): name for name in (*_ENROLLMENT_TYPES, *_BETA_ENROLLMENT_TYPES)},
    **{str(code): name for code, name in enumerate(_ENROLLMENT_TYPES)},
}
OWNERSHIP: Mapping[str, str] = {
    "company": "corporate", "corporate": "corporate", "personal": "personal",
    "unknown": "unknown", "0": "unknown", "1": "corporate", "2": "personal",
}  # fmt: skip
_COMPLIANCE = ("unknown", "compliant", "noncompliant", "conflict", "error", "inGracePeriod",
               "configManager")  # fmt: skip
COMPLIANCE: Mapping[str, str] = {
    **{name.casefold(): name for name in _COMPLIANCE},
    **{str(code): name for code, name in enumerate(_COMPLIANCE)},
    "notcompliant": "noncompliant",
    "notevaluated": "unknown",
}
# Export codes are Windows PROCESSOR_ARCHITECTURE values (9 = x64, 12 = ARM64; graph.md §4).
PROCESSOR_ARCH: Mapping[str, str] = {
    "x64": "x64", "x8664": "x64", "amd64": "x64", "9": "x64",
    "arm64": "arm64", "arm64e": "arm64", "aarch64": "arm64", "12": "arm64",
    "unknown": "unknown",
}  # fmt: skip
_ENUMS = {
    "ownership": OWNERSHIP,
    "enrollment_type": ENROLLMENT_TYPES,
    "compliance_state": COMPLIANCE,
    "processor_arch": PROCESSOR_ARCH,
}
_MACOS = frozenset({"macos", "mac os", "mac os x", "os x", "osx", "mac", "macmdm", "5", "14"})
_EXAMPLES = 5
_SOURCES_NAMED = 3


def wanted_columns(kind: str) -> frozenset[str] | None:
    """Case-folded source columns normalization reads for a device kind; None: keep all.

    Readers may drop the other columns of big device files (memory at 500k devices).
    """
    columns = SOURCE_COLUMNS.get(kind)
    if columns is None:
        return None
    return frozenset(name.casefold() for names in columns.values() for name in names)


def device_columns(batch: RawBatch, notes: list[QualityNote]) -> tuple[pd.DataFrame, pd.Series]:
    """Canonical typed columns of the Macs in one device batch, and the ids of the others.

    Records whose operating system is known and not macOS are set aside first (counted in
    a `not_macos` note). Values present but unreadable (dates, booleans, versions) or
    outside an enum are appended to `notes` with up to five examples; they become NA
    (`unknown` for enums). The frame also holds `enrollment_type`, `source` and `_rank`.
    """
    columns = SOURCE_COLUMNS[batch.kind]
    lookup = {str(c).casefold(): c for c in batch.records.columns}
    records = batch.records
    other_ids = pd.Series([], dtype="string")
    system = text_column(_raw(records, lookup, columns.get("operating_system", ())), distinct=True)
    is_mac = _is_macos(system)
    if not is_mac.all():
        notes += _other_platform_notes(batch, system, is_mac)
        other_ids = text_column(_raw(records[~is_mac], lookup, columns["device_id"]))
        records = records[is_mac]
        system = system[is_mac]

    def raw(field: str) -> pd.Series:
        return _raw(records, lookup, columns.get(field, ()))

    out = pd.DataFrame(index=records.index)
    # matching keys, computed once: ids compare case-insensitively, serials upper-cased
    out["device_id"], out["_id_key"] = keyed_text_column(raw("device_id"), str.casefold)
    out["serial_number"], out["_serial_key"] = keyed_text_column(raw("serial_number"), str.upper)
    for field in _IDENTIFYING:
        if field not in out.columns:
            out[field] = text_column(raw(field))
    for field in _REPEATED:
        out[field] = text_column(raw(field), distinct=True)
    out["operating_system"] = system
    out["model_identifier"] = _model_identifier(records, lookup, columns["model_identifier"])
    parsed: dict[str, tuple[Parsed, str]] = {}
    for field in _BOOLEANS:
        parsed[field] = (boolean_column(raw(field)), "unparseable")
    for field in _DATES:
        parsed[field] = (datetime_column(raw(field)), "unparseable")
    for field, table in _ENUMS.items():
        parsed[field] = (enum_column(raw(f"{field}_raw"), table), "unknown_value")
        out[f"{field}_raw"] = parsed[field][0].text
    for field, (result, _) in parsed.items():
        out[field] = result.values
    versions = parse_version_column(out["os_version_raw"])
    out[list(versions.columns)] = versions
    unparsed = out["os_version_raw"].notna() & versions["os_version"].isna()
    parsed["os_version"] = (
        Parsed(versions["os_version"], unparsed.to_numpy(dtype=bool), out["os_version_raw"]),
        "unparseable",
    )
    out["source"] = records[SOURCE_FILE] if SOURCE_FILE in records.columns else batch.source
    out["source_record"] = (
        records["source_record"].astype("string")
        if "source_record" in lookup
        else _na(records.index)
    )
    out["_rank"] = DEVICE_KINDS.index(batch.kind)
    notes += [
        _failure_note(field, problem, result, out, batch)
        for field, (result, problem) in parsed.items()
        if result.failed.any()
    ]
    return out, other_ids


def _is_macos(system: pd.Series) -> npt.NDArray[np.bool_]:
    """True for macOS and for records that do not say (kept, never guessed away)."""
    codes, uniques = factorize(system)
    table = np.array([token(str(u)) in _MACOS for u in uniques] + [True], dtype=bool)
    return table.take(np.where(codes < 0, len(uniques), codes))


def sources_of(rows: pd.DataFrame) -> str:
    """The input files some device rows came from, in order, as a note's `source`.

    Merged rows name several files ("a.json; b.csv"); past four, all but three are counted.
    """
    merged = rows["source"].dropna().unique()  # few distinct values, however many rows
    files = dict.fromkeys(f for s in merged for f in str(s).split("; "))
    names = list(files)
    if len(names) <= _SOURCES_NAMED + 1:
        return ", ".join(names)
    rest = len(names) - _SOURCES_NAMED
    return ", ".join(names[:_SOURCES_NAMED]) + f" and {rest} more files"


def _other_platform_notes(
    batch: RawBatch, system: pd.Series, is_mac: npt.NDArray[np.bool_]
) -> list[QualityNote]:
    """Per input file, how many records of which other platforms were set aside."""
    files = (
        batch.records[SOURCE_FILE]
        if SOURCE_FILE in batch.records.columns
        else pd.Series(batch.source, index=system.index)
    )
    notes = []
    for source, others in system[~is_mac].groupby(files[~is_mac], sort=False):
        examples = tuple(
            f"{n} {name} device{'s' if n != 1 else ''} ignored"
            for name, n in others.value_counts().items()
        )
        notes.append(
            QualityNote(
                "operating_system", "not_macos", len(others), examples[:_EXAMPLES], str(source)
            )
        )
    return notes


def describe_rows(frame: pd.DataFrame) -> pd.Series:
    """A human handle per row for examples: `name (serial)`, else the id or the record."""
    name = (
        frame["device_name"].fillna(frame["device_id"]).fillna(frame["source_record"]).fillna("?")
    )
    serial = frame["serial_number"]
    return name.where(serial.isna(), name + " (" + serial.fillna("") + ")").astype(object)


def _raw(records: pd.DataFrame, lookup: Mapping[str, object], names: tuple[str, ...]) -> pd.Series:
    """The first candidate column present; if several are, the first non-empty text per row.

    Later columns are only read for the rows earlier ones leave empty.
    """
    found = [records[lookup[n.casefold()]] for n in names if n.casefold() in lookup]
    if not found:
        return _na(records.index)  # all NA text: cheap for every parser
    if len(found) == 1:
        return found[0]
    result = text_column(found[0])
    for column in found[1:]:
        missing = result.isna().to_numpy(dtype=bool)
        if not missing.any():
            break
        result[missing] = text_column(column[missing])
    return result


def _model_identifier(
    records: pd.DataFrame, lookup: Mapping[str, object], names: tuple[str, ...]
) -> pd.Series:
    """The first candidate that is a model identifier; marketing names give NA."""
    found = []
    for name in names:
        if name.casefold() in lookup:
            values = text_column(records[lookup[name.casefold()]], distinct=True)
            codes, uniques = factorize(values)
            known = [u if _is_identifier(str(u)) else None for u in uniques]
            found.append(take(known, codes, "string", values.index))
    return coalesce(found) if found else _na(records.index)


def _is_identifier(text: str) -> bool:
    return model_parts(text) is not None or chip_of_model(text) != UNKNOWN


def _failure_note(
    field: str, problem: str, result: Parsed, out: pd.DataFrame, batch: RawBatch
) -> QualityNote:
    rows = np.flatnonzero(result.failed)[:_EXAMPLES]
    who = describe_rows(out.iloc[rows])
    examples = tuple(f"{w}: {v!r}" for w, v in zip(who, result.text.iloc[rows], strict=True))
    return QualityNote(
        field, problem, int(result.failed.sum()), examples, sources_of(out[result.failed])
    )


def _na(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="string")
