"""Shared vocabulary of the pipeline: severities, statuses, entities and input records; no logic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported on first use: `auditor --help` never loads it
    import pandas as pd


class Severity(StrEnum):
    """How bad a failing rule is, most severe first (this order is `SEVERITIES`)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical … 4 for info: sorts most severe first."""
        return list(Severity).index(self)


class Status(StrEnum):
    """The one status a rule gives each in-scope entity (this order is `STATUSES`)."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"  # an input the rule needs is missing or unparseable: never a pass
    NOT_APPLICABLE = "not_applicable"  # outside the rule's scope
    WAIVED = "waived"  # fails, but an unexpired waiver covers it

    @property
    def code(self) -> int:
        """This status's category code in every results frame (0 for pass … 4 for waived)."""
        return list(Status).index(self)


# The one status and severity order: the categories of every results frame's columns,
# `STATUSES` and `SEVERITIES` (pandas CategoricalDtypes, built on first use by __getattr__).
if TYPE_CHECKING:
    STATUSES: pd.CategoricalDtype
    SEVERITIES: pd.CategoricalDtype


@cache
def _categories() -> dict[str, Any]:
    import pandas as pd

    return {
        "STATUSES": pd.CategoricalDtype([s.value for s in Status]),
        "SEVERITIES": pd.CategoricalDtype([s.value for s in Severity], ordered=True),
    }


def __getattr__(name: str) -> Any:
    if name in ("STATUSES", "SEVERITIES"):
        return _categories()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Entity(StrEnum):
    """What a rule judges; each kind has its own dataset and id column."""

    DEVICE = "device"
    TENANT = "tenant"
    ADE_TOKEN = "ade_token"
    DEM_ACCOUNT = "dem_account"
    ADE_IDENTITY = "ade_identity"  # a serial assigned to an ADE token in Apple Business Manager
    VPP_TOKEN = "vpp_token"
    COMPLIANCE_POLICY = "compliance_policy"  # a macOS compliance policy

    @property
    def dataset(self) -> str:
        """Name of the normalized frame holding this entity."""
        return _DATASETS[self][0]

    @property
    def id_column(self) -> str:
        """Column of that frame that identifies one entity."""
        return _DATASETS[self][1]


_DATASETS = {
    Entity.DEVICE: ("devices", "device_id"),
    Entity.TENANT: ("tenant", "tenant_id"),
    Entity.ADE_TOKEN: ("ade_tokens", "token_id"),
    Entity.DEM_ACCOUNT: ("dem_accounts", "dem_upn"),
    Entity.ADE_IDENTITY: ("ade_identities", "identity_id"),
    Entity.VPP_TOKEN: ("vpp_tokens", "vpp_token_id"),
    Entity.COMPLIANCE_POLICY: ("compliance_policies", "policy_id"),
}

Param = int | float | str | bool | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input the run read, as evidence: where, what it was, its digest and size."""

    path: str
    kind: str  # e.g. "graph-managed-devices", "admin-center-csv", "export-devices", "snapshot"
    sha256: str
    records: int


class Problem(StrEnum):
    """What a data-quality note says is wrong (findings.json `data_quality.notes[].problem`)."""

    MISSING = "missing"  # no value where the field is expected
    UNPARSEABLE = "unparseable"  # a value that is not a date, boolean or version
    UNKNOWN_VALUE = "unknown_value"  # a value outside the field's known vocabulary
    CONFLICT = "conflict"  # inputs disagree about one Mac's field
    AMBIGUOUS = "ambiguous"  # the inputs allow more than one reading (enrollment method)
    AMBIGUOUS_SERIAL = "ambiguous_serial"  # a serial that could join records of two Macs
    DUPLICATE_SERIAL = "duplicate_serial"  # one serial on several device records
    DUPLICATE_RECORD = "duplicate_record"  # one device id listed more than once
    ABSENT_FROM_INPUT = "absent_from_input"  # a Mac one input lists and another lacks
    NOT_MACOS = "not_macos"  # records of other platforms, left out
    IGNORED_KIND = "ignored_kind"  # records of a kind the audit does not use
    UNDECIDED = "undecided"  # the inputs carry too little to decide (userless enrollment)
    NO_IDENTIFIER = "no_identifier"  # a record with no id, serial or name: not a Mac
    DEFAULT_NOT_READ = "default_not_read"  # a value the source returns as a default, not read
    NOT_A_VALUE = "not_a_value"  # an object or array where a value belongs
    UNMAPPED_COLUMNS = "unmapped_columns"  # a file's columns that no rule reads
    UNRECOGNISED_FILE = "unrecognised_file"  # a file of an input folder that is not inventory
    NO_FINAL_LINE_BREAK = "no_final_line_break"  # a CSV whose last row may be cut short
    CONTROL_CHARACTERS = "control_characters"  # control characters removed from a value
    CAPPED = "capped"  # a value cut at normalize.text.TEXT_LIMIT; its length and SHA-256 kept
    AFTER_AS_OF = "after_as_of"  # a past event (check-in, enrollment, sync) after the as-of date
    OWNER_NOT_IN_ENTRA = "owner_not_in_entra"  # a primary user the Entra lookup did not find


@dataclass(frozen=True, slots=True)
class QualityNote:
    """One data-quality observation: a field, what is wrong with it, how often, examples."""

    field: str
    problem: str  # a Problem value (normalize still passes the plain text)
    count: int
    examples: tuple[str, ...] = ()
    source: str = ""


class BatchKind(StrEnum):
    """What the records of a raw batch are, whatever file shape they were read from."""

    GRAPH_DEVICES = "graph_devices"  # managedDevices list records (list defaults, not facts)
    GRAPH_DEVICE_DETAILS = "graph_device_details"  # single-device GETs
    EXPORT_DEVICES = "export_devices"  # the reports-export Devices report
    DEVICES_LOG = "devices_log"  # Intune diagnostic settings, category Devices
    ADMIN_CENTER_CSV = "admin_center_csv"  # the admin center's All devices export
    APNS = "apns"
    ADE_TOKENS = "ade_tokens"
    ADE_PROFILES = "ade_profiles"
    ENROLLMENT_CONFIGURATIONS = "enrollment_configurations"
    TENANT = "tenant"  # the tenant id a snapshot states
    ADE_IDENTITIES = "ade_identities"  # imported Apple device identities, per ADE token
    VPP_TOKENS = "vpp_tokens"
    COMPLIANCE_SETTINGS = "compliance_settings"  # deviceManagement (its settings)
    COMPLIANCE_POLICIES = "compliance_policies"
    COMPLIANCE_ASSIGNMENTS = "compliance_assignments"
    ROLE_SCOPE_TAGS = "role_scope_tags"  # Intune role scope tags (id → display name)
    ENTRA_USERS = "entra_users"  # the primary users in Entra (department, manager, office)


class InventoryPart(StrEnum):
    """The parts an inventory is collected in (a Graph pull's parts, a gap's `part`)."""

    MANAGED_DEVICES = "managed_devices"
    DEVICE_DETAILS = "device_details"
    EXPORT_DEVICES = "export_devices"
    APNS = "apns"
    ADE_TOKENS = "ade_tokens"
    ADE_PROFILES = "ade_profiles"
    ENROLLMENT_CONFIGURATIONS = "enrollment_configurations"
    ADE_IDENTITIES = "ade_identities"
    VPP_TOKENS = "vpp_tokens"
    COMPLIANCE_SETTINGS = "compliance_settings"
    COMPLIANCE_POLICIES = "compliance_policies"
    COMPLIANCE_ASSIGNMENTS = "compliance_assignments"


# The parts an inventory is collected in, and the canonical fields each feeds (for gaps).
PART_FEEDS: dict[str, tuple[str, ...]] = {
    InventoryPart.MANAGED_DEVICES: (
        "device_id", "serial_number", "model", "os_version", "ownership", "enrollment_method",
        "is_supervised", "is_encrypted", "compliance_state", "enrolled_at", "last_sync_at", "upn",
        "is_enrolled"),  # "never enrolled" (a serial no Mac carries) needs the whole list
    InventoryPart.DEVICE_DETAILS: (
        "bootstrap_escrowed", "model_identifier", "chip", "processor_arch", "is_vm", "udid",
        "enrolled_by_upn", "os_rsr", "enrollment_profile", "enrollment_method"),
    InventoryPart.EXPORT_DEVICES: ("user_approved", "is_supervised"),
    InventoryPart.APNS: ("apns_expires_at", "apns_apple_id"),
    InventoryPart.ADE_TOKENS: (
        "token_id", "token_name", "apple_id", "token_type", "token_expires_at",
        "last_successful_sync_at", "last_sync_error_code", "synced_device_count"),
    InventoryPart.ADE_PROFILES: ("enrollment_method", "enrollment_profile"),
    InventoryPart.ENROLLMENT_CONFIGURATIONS: (
        "personal_enrollment_blocked", "macos_enrollment_blocked"),
    InventoryPart.ADE_IDENTITIES: (
        "identity_id", "imported_at", "is_mac", "is_deleted", "is_enrolled", "is_abm_assigned"),
    InventoryPart.VPP_TOKENS: (
        "vpp_token_id", "vpp_token_name", "vpp_expires_at", "vpp_last_sync_at",
        "vpp_last_sync_status", "vpp_state"),
    InventoryPart.COMPLIANCE_SETTINGS: ("secure_by_default", "compliance_validity_days"),
    InventoryPart.COMPLIANCE_POLICIES: (
        "policy_id", "policy_name", "requires_filevault", "sets_os_minimum", "os_minimum_version",
        "macos_compliance_policies", "filevault_policy_assigned"),
    InventoryPart.COMPLIANCE_ASSIGNMENTS: (
        "is_assigned", "macos_compliance_policies_assigned", "filevault_policy_assigned"),
}  # fmt: skip
CORE_PARTS = frozenset({InventoryPart.MANAGED_DEVICES})
# Parts that name who owns a Mac rather than audit it: no rule reads them, so an input without
# them is not a gap; a pull that tried and failed (denied, cut short) records one, so the run
# says PARTIAL and the Action plan says what it could not name.
OWNER_PART_FEEDS: dict[str, tuple[str, ...]] = {
    BatchKind.ROLE_SCOPE_TAGS: ("scope_tags",),
    BatchKind.ENTRA_USERS: ("owner_department", "owner_manager", "owner_office"),
}
# What each part is called in every output (PART_FEEDS order is the order reports list parts in).
PART_LABELS: dict[str, str] = {
    InventoryPart.MANAGED_DEVICES: "device list",
    InventoryPart.DEVICE_DETAILS: "per-device details",
    InventoryPart.EXPORT_DEVICES: "Devices export report",
    InventoryPart.APNS: "Apple push (APNs) certificate",
    InventoryPart.ADE_TOKENS: "ADE tokens",
    InventoryPart.ADE_PROFILES: "ADE enrollment profiles",
    InventoryPart.ENROLLMENT_CONFIGURATIONS: "enrollment configurations",
    InventoryPart.ADE_IDENTITIES: "ADE device identities (Apple Business Manager serials)",
    InventoryPart.VPP_TOKENS: "Apps and Books (VPP) tokens",
    InventoryPart.COMPLIANCE_SETTINGS: "compliance settings",
    InventoryPart.COMPLIANCE_POLICIES: "macOS compliance policies",
    InventoryPart.COMPLIANCE_ASSIGNMENTS: "compliance policy assignments",
    BatchKind.ROLE_SCOPE_TAGS: "role scope tags",
    BatchKind.ENTRA_USERS: "owners in Entra (department, manager, office)",
}
# Statuses of a part the source tried to collect and did not get whole.
INCOMPLETE_STATUSES = frozenset({"failed", "partial"})
# Fields that record an event that happened: a value after the as-of date is not a usable fact.
PAST_EVENT_FIELDS = frozenset({"last_sync_at", "enrolled_at", "last_successful_sync_at",
                               "imported_at", "vpp_last_sync_at"})  # fmt: skip


class PartState(StrEnum):
    """How one part of the inventory ended (findings.json `run.parts[].state`)."""

    COLLECTED = "collected"  # every record of the part was read
    DENIED = "denied"  # Graph refused: a permission is missing
    FAILED = "failed"  # tried, and it failed or was cut short (only part of it was read)
    NOT_SUPPLIED = "not_supplied"  # no input carried it, or the pull skipped it


@dataclass(frozen=True, slots=True)
class SourceGap:
    """A part of the inventory that could not be collected, and the fields it would feed."""

    part: str
    reason: str
    fields: tuple[str, ...] = ()
    is_core: bool = False
    status: str = ""  # how the source ended the part: denied, failed, partial, skipped ("": n/a)

    @property
    def state(self) -> PartState:
        """The part's end state: denied, failed (or read only in part), or not supplied."""
        if self.status == "denied":
            return PartState.DENIED
        if self.status in INCOMPLETE_STATUSES:
            return PartState.FAILED
        return PartState.NOT_SUPPLIED

    @property
    def makes_run_partial(self) -> bool:
        """Whether this gap makes the run PARTIAL: every part not collected whole does.

        A part that was never supplied silences the rules it feeds as surely as one that
        failed, so fewer inputs never read as a complete, cleaner tenant.
        """
        return self.state is not PartState.COLLECTED


@dataclass(slots=True)
class Inventory:
    """The normalized frames one audit evaluates, with their lineage and data quality."""

    devices: pd.DataFrame
    tenant: pd.DataFrame
    ade_tokens: pd.DataFrame
    dem_accounts: pd.DataFrame
    inputs: list[InputFile] = field(default_factory=list)
    quality: list[QualityNote] = field(default_factory=list)
    gaps: list[SourceGap] = field(default_factory=list)
    ade_identities: pd.DataFrame = field(default_factory=lambda: _none_of(Entity.ADE_IDENTITY))
    vpp_tokens: pd.DataFrame = field(default_factory=lambda: _none_of(Entity.VPP_TOKEN))
    compliance_policies: pd.DataFrame = field(
        default_factory=lambda: _none_of(Entity.COMPLIANCE_POLICY)
    )

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every dataset by name, as rules address them."""
        return {
            "devices": self.devices,
            "tenant": self.tenant,
            "ade_tokens": self.ade_tokens,
            "dem_accounts": self.dem_accounts,
            "ade_identities": self.ade_identities,
            "vpp_tokens": self.vpp_tokens,
            "compliance_policies": self.compliance_policies,
        }


def _empty_frame() -> pd.DataFrame:
    """A frame with no rows or columns (pandas imported on use: `auditor --help` never loads it)."""
    import pandas as pd

    return pd.DataFrame()


def _none_of(entity: Entity) -> pd.DataFrame:
    """No entity of this kind (normalize builds the typed frame; this stands in elsewhere)."""
    import pandas as pd

    return pd.DataFrame({entity.id_column: pd.Series([], dtype="string")})


@dataclass(slots=True)
class RawBatch:
    """Records of one kind read from one input, still in the source's own field names.

    `records` holds one row per input record with the source's column names (nested Graph
    objects flattened one level as `hardwareInformation.productName`) and a `source_record`
    column locating each record (`file.csv:line 12`, `devices.json:value[3]`).
    """

    kind: BatchKind
    source: str
    records: pd.DataFrame


@dataclass(frozen=True, slots=True)
class RunMeta:
    """Facts about one run that every output states (no secrets, ever)."""

    as_of: dt.date
    generated_at: dt.datetime  # UTC, read from the clock by the CLI only
    tool_version: str
    organisation: str
    classification: str
    tenant_id: str
    source: str  # sample | files | graph
    catalogue_as_of: dt.date
    catalogue_source: str
    catalogue_age_days: int
    catalogue_is_stale: bool
    config_digest: str = ""
    waivers_digest: str = ""
    signing_key_sha256: str = ""  # the public key's fingerprint when the manifest is signed
    tenant_name: str | None = None  # the tenants-file name (`run --tenants`), else None
    tenant_groups: tuple[str, ...] = ()  # its groups in the tenants file

    @property
    def period(self) -> str:
        """The audit period, `YYYY-MM` of the as-of date: history keys runs by it."""
        return f"{self.as_of:%Y-%m}"


@dataclass(slots=True)
class Changes:
    """Month-over-month deltas against the previous recorded period (built by history).

    Frames (all sorted, ids as strings):
    - `first_seen`: rule_id, entity_type, entity_id, first_seen (period), months_failing (Int64),
      cause (why the streak began, `history.causes.NEW_CAUSES`; NA: not known) and
      first_seen_on (the as-of date of the first_seen period, YYYY-MM-DD) for every result
      failing now.
    - `new`, `resolved`, `persisting`: rule_id, entity_type, entity_id, severity, device_name,
      serial_number (+ `cause` for new; + `now` status for resolved: pass | not_applicable |
      unknown | waived | retired, and its `resolution`: fixed | relaxed | waived | unknown |
      retired; + months_failing and the streak's `cause` for persisting).
    - `catalogue_changes`: what the release catalogue knows now that it did not at the previous
      as-of date: kind (release | newly_exploited | major | intune_minimum), versions
      ("26.6.1/15.7.9/14.8.9", or the major), released (YYYY-MM-DD), exploited_cves (", ").
    - `param_changes`: rule_id, name, before, after (parameter values as text).
    - `per_rule`: rule_id, previous_fail, current_fail, new, resolved, persisting.
    - `trend`: period, as_of, devices, failing_devices, posture_pct and fail_<severity> counts,
      oldest first, at most 12 periods including the current one. `posture_pct` is the report's
      posture (`auditor.posture`; NA without Macs); `failing_devices` counts Macs failing any
      rule.
    """

    current_period: str
    previous_period: str | None
    first_seen: pd.DataFrame
    new: pd.DataFrame
    resolved: pd.DataFrame
    persisting: pd.DataFrame
    per_rule: pd.DataFrame
    trend: pd.DataFrame
    catalogue_changes: pd.DataFrame = field(default_factory=_empty_frame)
    param_changes: pd.DataFrame = field(default_factory=_empty_frame)
    previous_as_of: str | None = None  # YYYY-MM-DD of the previous period's run
