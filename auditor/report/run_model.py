"""The report model's records about the run itself: what was collected, the scope, warnings.

Records only (no logic), like `report.model`; the builders are `report.completeness`,
`report.scope` and `report.sanity`.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.models import InputFile, RunMeta, SourceGap


@dataclass(frozen=True, slots=True)
class PartStatus:
    """One part of the inventory (device list, details, export, APNs …) and how it ended."""

    part: str  # a `models.PART_FEEDS` key
    label: str  # what reports call it ("per-device details")
    state: str  # a `models.PartState` value: collected | denied | failed | not_supplied
    reason: str  # why it is not collected ("" when collected)
    silenced_rule_ids: tuple[str, ...]  # evaluated rules that read a field only missing parts feed


@dataclass(frozen=True, slots=True)
class RunWarning:
    """Something about the run's data a reader must know before trusting page one."""

    code: str  # stable key, e.g. `stale_export` (findings.json `run.warnings[].code`)
    message: str  # one sentence for page one and the log


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Records the inputs held that are not in the audit's scope, and why."""

    reason: str  # "not macOS", "not a kind the audit uses", "listed more than once (merged)"
    records: int
    detail: str  # the normalization note's examples ("2 Windows devices ignored")
    source: str  # the input(s) they came from


@dataclass(frozen=True, slots=True)
class Scope:
    """What the audit covers: Intune-managed Macs of the inputs, and what was left out."""

    devices: int  # Macs audited
    virtual_devices: int  # of which likely virtual machines (audited like any Mac)
    excluded: tuple[Exclusion, ...]


@dataclass(frozen=True, slots=True)
class SignOff:
    """The prepared-by / reviewed-by block (names from `[report]` of auditor.toml)."""

    prepared_by: str  # "" when not configured: the PDF leaves a line to write on
    reviewed_by: str


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What, when and from what this report was made, and how complete the inventory was."""

    meta: RunMeta
    inputs: tuple[InputFile, ...]  # by name, then kind; `path` is the file name (no folders)
    gaps: tuple[SourceGap, ...]  # core parts first
    is_complete: bool  # False when a gap makes the run partial (SourceGap.makes_run_partial)
    catalogue_stale_after_days: int  # the age past which every output warns
    parts: tuple[PartStatus, ...] = ()  # every part, in `models.PART_FEEDS` order
    warnings: tuple[RunWarning, ...] = ()  # dates, empty inventory, history, sample data
    scope: Scope = Scope(0, 0, ())
    sign_off: SignOff = SignOff("", "")
