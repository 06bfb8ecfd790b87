"""The canonical frames' columns, dtypes and meanings; docs/schema.md is printed from here."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import pandas as pd

STRING, BOOLEAN, INT, TIMESTAMP = "string", "boolean", "Int64", "datetime64[us, UTC]"

Schema = Mapping[str, tuple[str, str]]

DEVICE_SCHEMA: Schema = {
    "device_id": (STRING, "Intune device id (unique); `serial:<serial>` when no input had an id."),
    "device_name": (STRING, "Device name as Intune shows it."),
    "serial_number": (STRING, "Hardware serial number."),
    "udid": (STRING, "UDID (Graph returns it on a single-device GET only; a list's is a default)."),
    "model": (STRING, "Model as reported: `MacBookPro18,3` or a marketing name (`MacBook Pro`)."),
    "model_identifier": (
        STRING,
        "Model identifier from `hardwareInformation.productName` (single GETs that selected "
        "it) or `model`; NA when only a marketing name is known.",
    ),
    "chip": (
        STRING,
        "`apple_silicon`, `intel`, `virtual` (hypervisor identifier) or `unknown`, from the "
        "model identifier (macos.md §3.1), else from the reported processor architecture.",
    ),
    "processor_arch": (
        STRING,
        "Reported CPU: `x64`, `arm64` or `unknown` (Graph beta `processorArchitecture`; "
        "export codes 9 = x64, 12 = ARM64).",
    ),
    "is_vm": (
        BOOLEAN,
        "Likely virtual machine: hypervisor model, VMware default serial (`VM` + 10 "
        "characters) or model/architecture mismatch; NA when no model is known.",
    ),
    "vm_evidence": (
        STRING,
        "Why `is_vm` is true (a serial shared with other records is added as support); "
        "NA otherwise.",
    ),
    "os_version": (STRING, "macOS `major.minor.patch`; build and RSR letter split off."),
    "os_major": (STRING, "Marketing major: `10.15`, `11` … `15`, `26`."),
    "os_version_key": (INT, "Sortable version: major × 1,000,000 + minor × 1,000 + patch."),
    "os_build": (STRING, "Build, e.g. `23F79` or `22F770820d`."),
    "os_rsr": (STRING, "Rapid Security Response letter, e.g. `a`."),
    "ownership": (STRING, "`corporate`, `personal` or `unknown`."),
    "enrollment_method": (
        STRING,
        "`ade`, `direct`, `dem`, `byod`, `user_enrollment` or `unknown`, from the enrollment "
        "type, the enrollment profile name and the tenant's ADE profile names; NA for "
        "appleBulkWithoutUser when no input carried the profile name (a Graph list never does).",
    ),
    "has_user_affinity": (
        BOOLEAN,
        "The enrollment binds a user (ADE with user, BYOD, User Enrollment); NA when unknown.",
    ),
    "enrollment_profile": (
        STRING,
        "Enrollment profile name, from single GETs or an export column (a Graph list returns "
        "null for every device).",
    ),
    "is_supervised": (
        BOOLEAN,
        "Supervised (Graph `isSupervised`, CSV `Supervised`, export `SupervisedStatus`).",
    ),
    "user_approved": (
        BOOLEAN,
        "User-approved MDM enrollment (only the Devices report `UserApprovedEnrollment`).",
    ),
    "bootstrap_escrowed": (
        BOOLEAN,
        "Bootstrap token escrowed; only from single-device GETs that selected it (a Graph "
        "list, or a GET without `$select`, returns false for every device).",
    ),
    "is_encrypted": (BOOLEAN, "FileVault on (Graph `isEncrypted`, CSV `Encrypted`)."),
    "compliance_state": (
        STRING,
        "`compliant`, `noncompliant`, `conflict`, `error`, `inGracePeriod`, `configManager` "
        "or `unknown`.",
    ),
    "enrolled_at": (TIMESTAMP, "Enrollment time, UTC (Intune's 0001-01-01 is NA)."),
    "last_sync_at": (TIMESTAMP, "Last check-in, UTC."),
    "upn": (STRING, "Primary user's UPN."),
    "user_display_name": (
        STRING,
        "Primary user's display name (Graph `userDisplayName`, export `UserName` / "
        "`Primary user display name`).",
    ),
    "device_category": (
        STRING,
        "Intune device category (Graph `deviceCategoryDisplayName`, export `CategoryName` / "
        "`Category`).",
    ),
    "enrolled_by_upn": (
        STRING,
        "Account that enrolled the Mac (Graph beta `enrolledByUserPrincipalName`, export "
        "`EnrolledByUser`).",
    ),
    "scope_tag_ids": (
        STRING,
        "The Mac's Intune role scope tag ids, `, `-separated (Graph beta `roleScopeTagIds`, from "
        "the per-device details; the exports do not carry them).",
    ),
    "scope_tags": (
        STRING,
        "The scope tags by name (`deviceManagement/roleScopeTags`), `; `-separated; an id whose "
        "name no input gave reads `tag <id>`.",
    ),
    "owner_department": (STRING, "The primary user's Entra `department` ([owners] entra_lookup)."),
    "owner_manager": (STRING, "The primary user's manager in Entra (display name, else UPN)."),
    "owner_office": (STRING, "The primary user's Entra `officeLocation`."),
    "owner_in_entra": (
        BOOLEAN,
        "The Entra lookup found the primary user (false: not found, deleted?); NA when no "
        "lookup covered the Mac (not configured, denied or cut short) or it has no user.",
    ),
    "enrollment_type_raw": (STRING, "The source's enrollment type as given (text or code)."),
    "ownership_raw": (STRING, "The source's ownership value as given."),
    "os_version_raw": (STRING, "The source's OS version string as given."),
    "processor_arch_raw": (STRING, "The source's processor architecture as given."),
    "compliance_state_raw": (STRING, "The source's compliance state as given."),
    "source": (STRING, "Inputs that contributed, highest precedence first, `; `-separated."),
    "source_record": (
        STRING,
        "Every contributing record (`file:line 12`, `file:value[3]`), `; `-separated.",
    ),
    "is_abm_assigned": (
        BOOLEAN,
        "The serial is assigned to one of the tenant's ADE tokens in Apple Business Manager (an "
        "imported Apple device identity, not deleted); NA when the identities were not "
        "collected whole or the Mac reports no serial.",
    ),
}

TENANT_SCHEMA: Schema = {
    "tenant_id": (STRING, "Entra tenant id; `unknown` when no input names it. Always one row."),
    "apns_expires_at": (TIMESTAMP, "Apple MDM push certificate expiry (`expirationDateTime`)."),
    "apns_apple_id": (STRING, "Apple ID that created the push certificate (`appleIdentifier`)."),
    "personal_enrollment_blocked": (
        BOOLEAN,
        "The default macOS platform restriction blocks personally owned Macs; NA if not collected.",
    ),
    "macos_enrollment_blocked": (
        BOOLEAN,
        "The default platform restriction blocks macOS MDM enrollment; NA if not collected.",
    ),
    "secure_by_default": (
        BOOLEAN,
        "Devices without an assigned compliance policy are marked not compliant (Graph "
        "`deviceManagement.settings.secureByDefault`); NA if not collected.",
    ),
    "compliance_validity_days": (
        INT,
        "Days a device may go without checking in and stay compliant (`settings."
        "deviceComplianceCheckinThresholdDays`); NA if not collected.",
    ),
    "macos_compliance_policies": (
        INT,
        "macOS compliance policies (`#microsoft.graph.macOSCompliancePolicy`); NA if not "
        "collected.",
    ),
    "macos_compliance_policies_assigned": (
        INT,
        "Of those, the ones with at least one included target; NA unless every policy's "
        "assignments were collected.",
    ),
    "filevault_policies": (
        INT,
        "macOS compliance policies with `storageRequireEncryption` true; NA if not collected.",
    ),
    "filevault_policy_assigned": (
        BOOLEAN,
        "At least one assigned macOS compliance policy requires FileVault; NA when the policies, "
        "or the assignments of those requiring FileVault, were not collected.",
    ),
}

ADE_TOKEN_SCHEMA: Schema = {
    "token_id": (STRING, "depOnboardingSetting id."),
    "token_name": (STRING, "Token name."),
    "apple_id": (STRING, "Apple Business/School Manager account of the token."),
    "token_type": (STRING, "`dep`, `appleSchoolManager` or `none`."),
    "token_expires_at": (TIMESTAMP, "Token expiry."),
    "last_successful_sync_at": (TIMESTAMP, "Last successful sync with Apple."),
    "last_sync_error_code": (INT, "Error code of the last sync (0 = none)."),
    "synced_device_count": (INT, "Devices synced from Apple through this token."),
}

DEM_ACCOUNT_SCHEMA: Schema = {
    "dem_upn": (
        STRING,
        "Device enrollment manager account: `enrolled_by_upn`, else `upn`, lower-cased; "
        "`unknown` when neither is known.",
    ),
    "device_count": (INT, "Macs in the inventory enrolled by this account."),
}

NOT_COLLECTED = "(not collected)"  # the id of the one row that stands for entities not collected
ADE_IDENTITY_SCHEMA: Schema = {
    "identity_id": (
        STRING,
        f"The serial, upper-cased (one row per serial); `{NOT_COLLECTED}` stands for "
        "identities that could not be collected, `record <id>` for one without a serial.",
    ),
    "serial_number": (STRING, "Serial number as Apple Business Manager reports it."),
    "token_id": (STRING, "ADE token(s) the serial is assigned to, `; `-separated."),
    "token_name": (STRING, "Their names, `; `-separated."),
    "platform": (STRING, "`macOS`, or `unknown` when not reported (other platforms are left out)."),
    "is_mac": (
        BOOLEAN,
        "A Mac: platform `macOS`, or a managed Mac carries the serial; NA when neither is known.",
    ),
    "enrollment_state": (
        STRING,
        "Intune's `enrollmentState`: `enrolled`, `notContacted`, `pendingReset`, `failed`, "
        "`blocked` or `unknown`.",
    ),
    "is_deleted": (BOOLEAN, "Deleted from Apple Business Manager (`isDeleted`)."),
    "imported_at": (TIMESTAMP, "When Intune received the serial (`createdDateTime`)."),
    "last_contacted_at": (TIMESTAMP, "Last contact (`lastContactedDateTime`)."),
    "is_enrolled": (
        BOOLEAN,
        "A managed Mac carries the serial; NA when none does and the device list is not whole.",
    ),
    "device_id": (STRING, "The managed Mac carrying the serial (an ADE one first, if several)."),
    "device_name": (STRING, "Its name."),
    "enrollment_method": (STRING, "Its enrollment method (`ade`, `direct`, … or `unknown`)."),
    "devices_without_serial": (
        INT,
        "Managed Macs that report no serial (none of them can be matched to a serial).",
    ),
    "source_record": (STRING, "The identity records, `; `-separated."),
}

VPP_TOKEN_SCHEMA: Schema = {
    "vpp_token_id": (
        STRING,
        f"vppToken id; `{NOT_COLLECTED}` stands for tokens that could not be collected.",
    ),
    "vpp_token_name": (
        STRING,
        "`displayName` (beta), else the organization and location names.",
    ),
    "apple_id": (STRING, "Apple Account of the token (`appleId`)."),
    "account_type": (STRING, "`business` or `education`."),
    "vpp_expires_at": (TIMESTAMP, "Token expiry (`expirationDateTime`)."),
    "vpp_last_sync_at": (TIMESTAMP, "Last app and license sync (`lastSyncDateTime`); NA: never."),
    "vpp_last_sync_status": (
        STRING,
        "`none`, `inProgress`, `completed` or `failed` (`lastSyncStatus`).",
    ),
    "vpp_state": (
        STRING,
        "`valid`, `expired`, `invalid`, `assignedToExternalMDM`, `duplicateLocationId` or "
        "`unknown` (`state`).",
    ),
}

COMPLIANCE_POLICY_SCHEMA: Schema = {
    "policy_id": (
        STRING,
        f"macOS compliance policy id; `{NOT_COLLECTED}` stands for policies not collected.",
    ),
    "policy_name": (STRING, "`displayName`."),
    "is_assigned": (
        BOOLEAN,
        "At least one assignment includes a target (exclusions alone do not); NA if its "
        "assignments were not collected.",
    ),
    "assignment_targets": (
        STRING,
        "What the assignments target: `all devices`, `all users`, `group <id>`, "
        "`excluded group <id>`, `; `-separated.",
    ),
    "requires_filevault": (BOOLEAN, "`storageRequireEncryption`."),
    "sets_os_minimum": (BOOLEAN, "`osMinimumVersion` is set."),
    "os_minimum_version": (STRING, "`osMinimumVersion` as set (NA when not set)."),
    "os_maximum_version": (STRING, "`osMaximumVersion`."),
    "os_minimum_build": (STRING, "`osMinimumBuildVersion`."),
    "requires_sip": (BOOLEAN, "`systemIntegrityProtectionEnabled`."),
    "firewall_enabled": (BOOLEAN, "`firewallEnabled`."),
    "modified_at": (TIMESTAMP, "`lastModifiedDateTime`."),
}

SCHEMAS: Mapping[str, Schema] = {
    "devices": DEVICE_SCHEMA,
    "tenant": TENANT_SCHEMA,
    "ade_tokens": ADE_TOKEN_SCHEMA,
    "dem_accounts": DEM_ACCOUNT_SCHEMA,
    "ade_identities": ADE_IDENTITY_SCHEMA,
    "vpp_tokens": VPP_TOKEN_SCHEMA,
    "compliance_policies": COMPLIANCE_POLICY_SCHEMA,
}


WORK_COLUMNS: Mapping[str, str] = {
    "enrollment_type": "written by fields.device_columns, read by derive.add_enrollment",
    "_id_key": "written by fields.device_columns (case-folded id), read by merge",
    "_serial_key": "written by fields.device_columns (upper-cased serial), read by merge, "
    "derive.add_hardware and quality.duplicate_serial_notes",
    "_profile_carried": "written by fields.device_columns (the record carried an enrollment "
    "profile name), read by derive.add_enrollment",
    "_serial_shared": "written by derive.add_hardware, read by quality.duplicate_serial_notes",
    "operating_system": "written by fields.device_columns, read by normalize (other platforms)",
}
"""The private columns normalize passes between its steps; `conform` drops exactly these.

(`_rank`, each record's kind precedence, and `_key`, its merge key, live and die inside
`merge.merge_devices` and `normalize._devices`.)
"""


def empty_frame(schema: Schema) -> pd.DataFrame:
    """A zero-row frame with the schema's columns and dtypes."""
    return pd.DataFrame({c: pd.Series([], dtype=dtype) for c, (dtype, _) in schema.items()})


def conform(
    frame: pd.DataFrame, schema: Schema, work: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The schema's columns, in order and dtype, on a fresh 0…n-1 index; absent ones are NA.

    With `work` (normalize's own frames), any column that is neither in the schema nor a
    declared work column is a bug: it raises rather than vanish unnoticed.
    """
    if work is not None:
        stray = [c for c in frame.columns if c not in schema and c not in work]
        if stray:
            raise ValueError(f"undeclared work columns: {', '.join(map(str, stray))}")
    columns = {}
    for column, (name, _) in schema.items():
        dtype = _dtype(name)
        if column not in frame.columns:
            columns[column] = pd.Series(pd.NA, index=frame.index, dtype=dtype)
        else:  # a column already of its dtype is taken as it is, not cast to itself
            values = frame[column]
            columns[column] = values if values.dtype == dtype else values.astype(dtype)
    return pd.DataFrame(columns, index=frame.index).reset_index(drop=True)


@functools.cache
def _dtype(name: str) -> Any:
    """The dtype a schema names, parsed once per name."""
    return pd.api.types.pandas_dtype(name)


def schema_markdown() -> str:
    """docs/schema.md: every canonical frame's columns, dtypes and meanings."""
    lines = [
        "# Canonical inventory frames",
        "",
        "Generated by `python -m auditor.normalize` from `auditor/normalize/schema.py`; do not",
        "edit by hand. Rules read these frames through `Inventory.frames()`. Booleans are",
        "nullable (missing is NA, never false); timestamps are UTC.",
    ]
    for name, schema in SCHEMAS.items():
        lines += ["", f"## `{name}`", "", "| column | dtype | meaning |", "|---|---|---|"]
        lines += [f"| `{c}` | {dtype} | {text} |" for c, (dtype, text) in schema.items()]
    return "\n".join(lines) + "\n"
