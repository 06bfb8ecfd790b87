"""The report model: frozen records every renderer lays out, and nothing else (no logic).

The run's own records (`RunMeta`, `InputFile`, `SourceGap`, `QualityNote`) are held as they
are, not copied field by field. Severities and statuses are the `models` enums' values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auditor.models import QualityNote, Severity
from auditor.report.links import device_links
from auditor.report.model_population import ComplianceCoverage, Population, VppTokenRow
from auditor.report.plain import plain
from auditor.report.run_model import RunInfo


@dataclass(frozen=True, slots=True)
class Share:
    """A labelled count and its share of a total, in percent (one decimal)."""

    label: str
    count: int
    pct: float


@dataclass(frozen=True, slots=True)
class Kpi:
    """One headline number: how many Macs have a property, and how many are not reported."""

    key: str
    label: str
    count: int | None  # None unless `state` is measured
    pct: float | None
    unknown: int  # Macs whose value is not reported
    state: str = "measured"  # measured | not_collected | not_reported | not_assessed


@dataclass(frozen=True, slots=True)
class ControlRef:
    """A rule's control ids in one framework; `is_own` marks the project's own mapping."""

    framework: str
    ids: tuple[str, ...]
    is_own: bool


@dataclass(frozen=True, slots=True)
class RuleSummary:
    """A rule's metadata with its result counts in this run."""

    rule_id: str
    title: str  # the passing state, with the parameter values this run used
    severity: str
    entity_type: str
    scope_text: str
    fails_when: str
    rationale: str
    remediation: str
    references: tuple[str, ...]
    controls: tuple[ControlRef, ...]
    controls_text: str  # `rules.display.controls_text`: one spelling in every output
    params: tuple[tuple[str, str], ...]  # effective values this run used
    param_defaults: tuple[tuple[str, str], ...]  # the defaults of the params the config changed
    params_text: str  # `rules.display.params_text` of the two above
    passed: int
    failed: int
    unknown: int
    not_applicable: int
    waived: int
    fail_pct: float  # failing share of the entities the rule could judge (pass + fail + waived)
    # failing (a fail) | not_assessed (no fail, some unknown) | not_applicable (nothing in
    # scope) | passing (only pass and waived): a rule is never "passing" while it could not judge.
    outcome: str
    problem: str = ""  # what a failure means ("Macs with FileVault off"), with its parameters


@dataclass(frozen=True, slots=True)
class FailingRow:
    """One failing entity listed under its rule in the PDF."""

    entity_id: str
    entity_name: str | None  # Mac name, ADE token name, DEM UPN or "tenant"
    device_name: str | None
    serial_number: str | None
    os_version: str | None
    last_sync_at: dt.datetime | None
    detail: str | None
    owner: str | None = None  # the Mac's primary user (display name, else UPN)


@dataclass(frozen=True, slots=True)
class RuleSection:
    """One failing rule: its summary, the first failing entities, and how many more there are."""

    rule: RuleSummary
    rows: tuple[FailingRow, ...]
    more: int
    is_device: bool


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One ADE token's state at the as-of date."""

    token_id: str
    token_name: str | None
    apple_id: str | None
    token_type: str | None
    expires_at: dt.datetime | None
    days_left: int | None
    last_sync_at: dt.datetime | None
    days_since_sync: int | None
    last_sync_error_code: int | None
    synced_device_count: int | None


@dataclass(frozen=True, slots=True)
class EntityResult:
    """A tenant-level rule result (tenant, ADE token, DEM account)."""

    rule_id: str
    title: str
    severity: str
    entity_type: str
    entity_id: str
    entity_name: str  # ADE token name, DEM UPN or "tenant": what a reader recognises
    status: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class TenantHealth:
    """APNs, ADE tokens, enrollment restrictions, DEM accounts and the tenant rules' results.

    `results` holds tenant, ADE token, VPP token, compliance policy and DEM account results;
    the ADE identities' are the Population section's (`Population.identities`).
    """

    tenant_id: str | None
    apns_expires_at: dt.datetime | None
    apns_days_left: int | None
    apns_apple_id: str | None
    personal_enrollment_blocked: bool | None
    macos_enrollment_blocked: bool | None
    tokens: tuple[TokenRow, ...]
    dem_accounts: tuple[Share, ...]
    results: tuple[EntityResult, ...]
    vpp_tokens: tuple[VppTokenRow, ...] = ()  # by name
    vpp_gap: str | None = None  # why VPP tokens are missing, if they are
    compliance: ComplianceCoverage | None = None


@dataclass(frozen=True, slots=True)
class Distribution:
    """How the fleet is made up: OS, hardware, enrollment, ownership and compliance."""

    os_majors: tuple[Share, ...]
    os_versions: tuple[Share, ...]
    chips: tuple[Share, ...]
    models: tuple[Share, ...]
    enrollment_methods: tuple[Share, ...]
    ownership: tuple[Share, ...]
    compliance_states: tuple[Share, ...]


@dataclass(frozen=True, slots=True)
class UnknownRow:
    """How often a rule could not decide, and the most common reason."""

    rule_id: str
    title: str
    count: int
    top_reason: str
    top_reason_count: int


@dataclass(frozen=True, slots=True)
class DataQuality:
    """Normalization notes and undecidable results (collection gaps are `RunInfo.gaps`)."""

    notes: tuple[QualityNote, ...]  # by field, problem, source
    unknowns: tuple[UnknownRow, ...]
    never_synced: int
    words: Mapping[str, str] = field(default_factory=dict)  # each note's field and problem in words
    # the notes as the PDF lists them: the same note about many files once (`quality.note_rows`)
    note_rows: tuple[QualityNote, ...] = ()


@dataclass(frozen=True, slots=True)
class WaiverRow:
    """One waiver and what became of it in this run (applied, expired or unmatched)."""

    waiver_id: str
    rule_id: str
    severity: str  # the rule's severity in this run ("" for a rule the run did not evaluate)
    selector: str  # `serial C02…`, `name LAB-*`, `tenant`
    reason: str
    approver: str
    ticket: str
    expires: dt.date
    state: str
    matched: int
    origin: str  # "waivers.toml line 12: waiver 3"
    days_left: int  # from the as-of date to the expiry (negative once expired)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One period of the history trend."""

    period: str
    devices: int
    failing_devices: int
    posture_pct: float | None  # None: no Macs that period
    fail_by_severity: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class RuleDelta:
    """A rule's failing count now and in the previous period."""

    rule_id: str
    title: str
    severity: str
    previous_fail: int
    current_fail: int
    new: int
    resolved: int
    persisting: int
    delta: int


@dataclass(frozen=True, slots=True)
class ChangeItem:
    """One new or resolved finding listed in the PDF."""

    rule_id: str
    severity: str
    entity_id: str
    device_name: str | None
    serial_number: str | None


@dataclass(frozen=True, slots=True)
class CauseLine:
    """One cause of new failures under one rule, in a plain sentence (`report.attribution`).

    `cause` is a `history.causes.NEW_CAUSES` word; `group` the issue's heading it falls under:
    mac (the Mac's own data changed), bar (the bar moved), new (a new Mac), undetermined.
    """

    cause: str
    group: str
    rule_id: str
    severity: str
    entity_type: str
    entities: int  # distinct entities (Macs for device rules) newly failing for this cause
    results: int
    sentence: str


@dataclass(frozen=True, slots=True)
class CauseCount:
    """New failures (or resolutions) of one kind: results, and the distinct Macs among them."""

    kind: str  # a cause, a cause group, or a resolution (fixed, relaxed, waived, unknown, retired)
    results: int
    macs: int


@dataclass(frozen=True, slots=True)
class CatalogueChange:
    """What the release catalogue added since the previous period (`Changes.catalogue_changes`)."""

    kind: str  # release | newly_exploited | major | intune_minimum
    versions: str  # "26.6.1/15.7.9/14.8.9", or the major
    released: dt.date | None
    exploited_cves: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExposureClock:
    """One actively exploited CVE: when its first fix shipped and the Macs still without it.

    `exposed` counts Macs on a major the catalogue lists a fix for, below that fix (Macs on
    majors without a listed fix are MAC-OS-001's: unsupported); `not_reported` Macs report no
    usable macOS version, so cannot be told either way.
    """

    cve: str
    fixed_in: str  # first fixing release per major, newest major first: "26.6.1/15.7.9/14.8.9"
    fixed_on: dt.date
    days_since_fix: int
    exposed: int
    not_reported: int


@dataclass(frozen=True, slots=True, eq=False)
class ChangesView:
    """Month-over-month deltas against the previous recorded period.

    `items` lists every new, persisting and resolved finding (`CHANGE_ITEMS_SCHEMA`), sorted
    by change, severity rank, rule id and entity id; the PDF shows the first few of each.
    """

    current_period: str
    previous_period: str | None
    new: int
    resolved: int
    persisting: int
    new_by_severity: tuple[tuple[str, int], ...]
    per_rule: tuple[RuleDelta, ...]
    trend: tuple[TrendPoint, ...]
    new_items: tuple[ChangeItem, ...]
    new_more: int
    resolved_items: tuple[ChangeItem, ...]
    resolved_more: int
    items: pd.DataFrame
    # added for change attribution (`report.attribution`)
    previous_as_of: dt.date | None = None
    previous_posture_pct: float | None = None  # the previous period's headline, if recorded
    posture_delta_pts: float | None = None  # this period's headline minus it, in points
    new_by_group: tuple[CauseCount, ...] = ()  # mac, bar, new, undetermined: every one listed
    new_by_cause: tuple[CauseCount, ...] = ()  # per cause with any new failure
    resolved_by_kind: tuple[CauseCount, ...] = ()  # fixed, relaxed, waived, unknown, retired
    causes: tuple[CauseLine, ...] = ()  # by severity weight × entities, largest first
    catalogue_changes: tuple[CatalogueChange, ...] = ()
    param_changes: tuple[tuple[str, str, str, str], ...] = ()  # rule_id, name, before, after


@dataclass(frozen=True, slots=True)
class SeverityCount:
    """Failing results of one severity, the distinct Macs they concern, and the waived ones."""

    severity: str
    results: int
    devices: int
    waived: int = 0  # results of this severity a waiver turned from fail into waived


@dataclass(frozen=True, slots=True)
class WaiverOverview:
    """Page one's account of the waivers: what they hide, and which need a decision."""

    applied: int  # waivers that covered at least one failing result
    waived_results: int
    expired: tuple[WaiverRow, ...]  # past their expiry: cover nothing, listed for renewal
    unmatched: tuple[WaiverRow, ...]  # unexpired, matched no failing result
    expiring_soon: tuple[WaiverRow, ...]  # applied or unmatched, expiring within `soon_days`
    soon_days: int


@dataclass(frozen=True, slots=True)
class AttentionItem:
    """One underlying problem that needs attention now: a failing critical or high rule.

    One entry per rule, however many results it has: `entities` failing entities (Macs for
    device rules, else tokens, accounts, the tenant), the first few `names`, and `macs`, the
    Macs affected: the failing Macs for a device rule, the Macs an ADE token enrolled for a
    token rule (None when nothing says how many).
    """

    rule_id: str
    severity: str
    problem: str
    entity_type: str
    entities: int
    macs: int | None
    names: tuple[str, ...]
    detail: str | None  # the first failing entity's detail (tenant rules: what is wrong)


@dataclass(frozen=True, slots=True)
class Summary:
    """Page one: the few numbers that matter."""

    devices: int
    posture: Share  # `auditor.posture`: Macs with no (unwaived) critical or high failure
    posture_without_waivers: Share  # the same, counting waived results as the failures they are
    serious_unknown_devices: int  # Macs with an `unknown` on a critical or high rule
    kpis: tuple[Kpi, ...]
    patch_rule_ids: tuple[str, ...]  # the rules of group "patch" behind the patched key number
    status_counts: tuple[tuple[str, int], ...]
    failing_by_severity: tuple[SeverityCount, ...]
    devices_by_worst: tuple[Share, ...]  # Macs by their worst failing severity, then "none"
    top_rules: tuple[RuleSummary, ...]  # device rules by severity, then failing Macs
    attention: tuple[EntityResult, ...]  # failing critical/high tenant, ADE token, DEM results
    newest_sync_at: dt.datetime | None
    oldest_sync_at: dt.datetime | None
    never_synced: int
    waivers: WaiverOverview
    exposure: tuple[ExposureClock, ...] = ()  # exploited CVEs with exposed Macs, newest fix first
    needs_attention: tuple[AttentionItem, ...] = ()  # by severity weight × Macs, largest first
    overdue_by_severity: tuple[SeverityCount, ...] = ()  # Action plan rows past their due date


@dataclass(frozen=True, slots=True)
class FacetValue:
    """One value a table column can be filtered to, with how many rows hold it."""

    value: Any  # the cell's value (text, number, yes/no); None: not reported
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """How an interactive table shows and filters one column (`report.views`)."""

    key: str  # the column's name in its frame
    label: str
    description: str  # the schema's meaning
    kind: str  # text | number | date | bool | severity | status
    filter: str  # select (pick from `values`) | text (contains)
    is_searched: bool  # matched by the table's search box
    is_visible: bool  # shown until the reader hides it (every column can be shown)
    source: str  # row: the table's own column; device: the finding's Mac's, in `devices`
    link: str | None  # device: the cell links to the Mac's admin-center page
    values: tuple[FacetValue, ...]  # select filters: every value in display order


@dataclass(frozen=True, slots=True)
class TableView:
    """The columns of one interactive table (findings, devices or changes), in order."""

    name: str
    columns: tuple[ColumnSpec, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Views:
    """What the interactive tables need beyond the frames: column specs and the Macs' links.

    `finding_device_rows[i]` is the position in `Report.devices` of finding i's Mac (-1 for
    tenant, token and DEM findings); `device_links` is each Mac's page in the Intune admin
    center (NA without an Intune device id), in `Report.devices` order — made when asked
    (the HTML report), from `device_ids` (the devices table's column, not a copy), so a
    run without the HTML report never holds ~100 MB of links at 500k Macs.
    """

    findings: TableView
    devices: TableView
    changes: TableView | None
    finding_device_rows: np.ndarray
    device_ids: pd.Series
    cloud: str
    tenant_id: str | None
    admin_center_url: str

    @property
    def device_links(self) -> pd.Series:
        """Each Mac's admin-center page, in `Report.devices` order (NA without an id)."""
        return device_links(self.device_ids, self.cloud, self.tenant_id)


@dataclass(frozen=True, slots=True, eq=False)
class Report:
    """Everything the PDF, the workbook and findings.json show, computed once.

    `findings` (`FINDINGS_SCHEMA`) has one row per non-passing result (fail, unknown, waived),
    sorted by severity rank, rule id and entity id. `devices` (`DEVICE_TABLE_SCHEMA`) has one
    row per Mac: its normalized fields, the count of failing rules, its worst failing severity
    and one status column per id of `device_rule_ids`.
    """

    run: RunInfo
    summary: Summary
    rules: tuple[RuleSummary, ...]
    sections: tuple[RuleSection, ...]
    tenant: TenantHealth
    distribution: Distribution
    quality: DataQuality
    waivers: tuple[WaiverRow, ...]
    changes: ChangesView | None
    own_mappings: tuple[tuple[str, tuple[str, ...]], ...]  # framework → rule ids it maps
    findings: pd.DataFrame
    devices: pd.DataFrame
    device_rule_ids: tuple[str, ...]
    pdf_devices_per_rule: int
    views: Views  # added for the interactive tables: column specs, filter values, links
    population: Population  # added for completeness: the Macs ABM assigns, enrolled or not
    # added for owners (issue 17): one row per failing result (`ACTION_PLAN_SCHEMA`)
    action_plan: pd.DataFrame = field(default_factory=pd.DataFrame)
    # each Action plan row's group under every grouping (`action_plan.GROUPINGS`)
    action_plan_groups: pd.DataFrame = field(default_factory=pd.DataFrame)

    def failures_by_severity(self) -> dict[Severity, int]:
        """Failing (unwaived) results per severity, every severity present: for --fail-on."""
        counts = dict.fromkeys(Severity, 0)
        for rule in self.rules:
            counts[Severity(rule.severity)] += rule.failed
        return counts

    def new_failures_by_severity(self) -> dict[Severity, int]:
        """Failures new since the previous period, per severity (zeros without history)."""
        if self.changes is None:
            return dict.fromkeys(Severity, 0)
        return {Severity(s): n for s, n in self.changes.new_by_severity}

    def to_dict(self) -> dict[str, Any]:
        """The whole model as JSON-able values (dates as ISO text, frames as row lists).

        Meant for golden tests and debugging on small tenants: the findings and devices
        tables become lists of dicts, which is large for big tenants.
        """
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
