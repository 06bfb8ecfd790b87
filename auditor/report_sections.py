"""The report's sections as frozen records, each built from the results and inventory frames.

`auditor.report` assembles them into one Report; renderers only format what is here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditor.models import SEVERITIES, STATUSES, Changes, Entity, Inventory, Param, Status
from auditor.refdata.versions import version_key
from auditor.rules.base import Rule
from auditor.waivers import WaiverUse

SEVERITY_ORDER: tuple[str, ...] = tuple(SEVERITIES.categories)
STATUS_ORDER: tuple[str, ...] = tuple(STATUSES.categories)
NOT_REPORTED = "not reported"
TOP = 15  # rows of a distribution shown before the rest is folded into "other"


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
    count: int | None  # None: not assessed (the rules or the column are absent)
    pct: float | None
    unknown: int


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
    title: str
    severity: str
    entity_type: str
    scope_text: str
    fails_when: str
    rationale: str
    remediation: str
    references: tuple[str, ...]
    controls: tuple[ControlRef, ...]
    params: tuple[tuple[str, str], ...]  # effective values this run used
    param_defaults: tuple[tuple[str, str], ...]  # the defaults of the params the config changed
    passed: int
    failed: int
    unknown: int
    not_applicable: int
    waived: int
    fail_pct: float  # failing share of the entities the rule could judge (pass + fail + waived)


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
    """APNs, ADE tokens, enrollment restrictions, DEM accounts and the tenant rules' results."""

    tenant_id: str | None
    apns_expires_at: dt.datetime | None
    apns_days_left: int | None
    apns_apple_id: str | None
    personal_enrollment_blocked: bool | None
    macos_enrollment_blocked: bool | None
    tokens: tuple[TokenRow, ...]
    dem_accounts: tuple[Share, ...]
    results: tuple[EntityResult, ...]


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
class QualityRow:
    """One data-quality note from normalization."""

    field: str
    problem: str
    count: int
    examples: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class UnknownRow:
    """How often a rule could not decide, and the most common reason."""

    rule_id: str
    title: str
    count: int
    top_reason: str
    top_reason_count: int


@dataclass(frozen=True, slots=True)
class GapRow:
    """A part of the inventory that could not be collected."""

    part: str
    reason: str
    fields: tuple[str, ...]
    is_core: bool


@dataclass(frozen=True, slots=True)
class DataQuality:
    """Normalization notes, collection gaps and undecidable results."""

    notes: tuple[QualityRow, ...]
    gaps: tuple[GapRow, ...]
    unknowns: tuple[UnknownRow, ...]
    never_synced: int


@dataclass(frozen=True, slots=True)
class WaiverRow:
    """One waiver and what became of it in this run (applied, expired or unmatched)."""

    waiver_id: str
    rule_id: str
    selector: str
    reason: str
    approver: str
    ticket: str
    expires: dt.date
    state: str
    matched: int
    origin: str


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One period of the history trend."""

    period: str
    devices: int
    failing_devices: int
    posture_pct: float
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


@dataclass(frozen=True, slots=True, eq=False)
class ChangesView:
    """Month-over-month deltas against the previous recorded period.

    `items` lists every new, persisting and resolved finding (columns CHANGE_COLUMNS), sorted
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


# --- helpers ------------------------------------------------------------------------------


def pct(count: int, total: int) -> float:
    """count/total as a percentage with one decimal; 0.0 when the total is zero."""
    return round(100.0 * count / total, 1) if total else 0.0


def scalar(value: Any) -> Any:
    """A frame value as a plain Python value: NA → None, Timestamp → datetime, numpy → int."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def text(value: Any) -> str | None:
    """A frame value as text, or None when missing."""
    plain = scalar(value)
    return None if plain is None else str(plain)


def column(frame: pd.DataFrame, name: str, dtype: str = "string") -> pd.Series:
    """A column of the frame, or an all-NA column when the source did not provide it."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype=dtype)


def equals(values: pd.Series, value: str) -> np.ndarray:
    """Elementwise `values == value` as numpy booleans (categoricals compare codes, no copies)."""
    return np.asarray((values == value).to_numpy(dtype=bool, na_value=False))


def sort_codes(values: pd.Series) -> np.ndarray:
    """Integer ranks that sort like the values' text, missing last (for np.lexsort)."""
    codes, uniques = pd.factorize(values.astype("string"), sort=True)
    return np.where(codes < 0, len(uniques), codes)


def shares(values: pd.Series, total: int, *, top: int | None = TOP) -> tuple[Share, ...]:
    """Counts of each value (missing as 'not reported'), largest first, the tail as 'other'."""
    counts = values.astype("string").fillna(NOT_REPORTED).value_counts(sort=False)
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    rows = [Share(str(label), int(n), pct(int(n), total)) for label, n in ordered]
    if top is not None and len(rows) > top + 1:
        rest = sum(r.count for r in rows[top:])
        rows = [*rows[:top], Share("other", rest, pct(rest, total))]
    return tuple(rows)


def major_shares(majors: pd.Series, total: int) -> tuple[Share, ...]:
    """Majors of macOS newest first (version order, not text order), missing last."""
    counts = majors.astype("string").fillna(NOT_REPORTED).value_counts(sort=False)

    def order(label: str) -> tuple[int, int]:
        try:
            return (0, -version_key(label))
        except ValueError:
            return (1, 0)

    return tuple(
        Share(str(label), int(n), pct(int(n), total))
        for label, n in sorted(counts.items(), key=lambda item: (order(str(item[0])), item[0]))
    )


# --- sections -----------------------------------------------------------------------------


def rule_summaries(
    results: pd.DataFrame,
    rules: Sequence[Rule],
    params: Mapping[str, Mapping[str, Param]] | None = None,
) -> tuple[RuleSummary, ...]:
    """Every rule's metadata with its status counts, in rule-id order.

    `params` holds the run's per-rule overrides; each summary shows the effective values
    (the rule's defaults with the overrides laid over them).
    """
    overrides = params or {}
    rule_ids = results["rule_id"]
    if not isinstance(rule_ids.dtype, pd.CategoricalDtype):
        rule_ids = rule_ids.astype("category")
    known = [str(c) for c in rule_ids.cat.categories]
    status = np.asarray(results["status"].cat.codes.to_numpy(), dtype=np.int64)
    cells = rule_ids.cat.codes.to_numpy().astype(np.int64) * len(STATUS_ORDER) + status
    table = np.bincount(cells[cells >= 0], minlength=len(known) * len(STATUS_ORDER))
    counts = {rule_id: table.reshape(-1, len(STATUS_ORDER))[i] for i, rule_id in enumerate(known)}
    empty = np.zeros(len(STATUS_ORDER), dtype=np.int64)
    summaries = []
    for rule in sorted(rules, key=lambda r: r.id):
        row = counts.get(rule.id, empty)

        def n(status: Status, row: Any = row) -> int:
            return int(row[STATUS_ORDER.index(status.value)])

        judged = n(Status.PASS) + n(Status.FAIL) + n(Status.WAIVED)
        summaries.append(
            RuleSummary(
                rule_id=rule.id,
                title=rule.title,
                severity=rule.severity.value,
                entity_type=rule.entity.value,
                scope_text=rule.scope_text,
                fails_when=rule.fails_when,
                rationale=rule.rationale,
                remediation=rule.remediation,
                references=tuple(rule.references),
                controls=tuple(
                    ControlRef(framework, tuple(ids), framework in rule.own_mappings)
                    for framework, ids in rule.controls.items()
                ),
                params=tuple(
                    (k, _param_text(v))
                    for k, v in sorted({**rule.params, **overrides.get(rule.id, {})}.items())
                ),
                param_defaults=tuple(
                    (k, _param_text(rule.params[k]))
                    for k, v in sorted(overrides.get(rule.id, {}).items())
                    if k in rule.params and _param_text(v) != _param_text(rule.params[k])
                ),
                passed=n(Status.PASS),
                failed=n(Status.FAIL),
                unknown=n(Status.UNKNOWN),
                not_applicable=n(Status.NOT_APPLICABLE),
                waived=n(Status.WAIVED),
                fail_pct=pct(n(Status.FAIL), judged),
            )
        )
    return tuple(summaries)


def param_list(summary: RuleSummary) -> str:
    """The effective parameters as `name=value`, changed ones with their default in brackets."""
    defaults = dict(summary.param_defaults)
    return "; ".join(
        f"{k}={v}" + (f" (default {defaults[k]})" if k in defaults else "")
        for k, v in summary.params
    )


def _param_text(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


def rule_sections(
    fails: pd.DataFrame, summaries: Sequence[RuleSummary], cap: int
) -> tuple[RuleSection, ...]:
    """One section per rule with failures, most severe first; at most `cap` entities each.

    `fails` holds the failing results joined with device fields and sorted by rule, name, id.
    """
    by_rule = {rule_id: group for rule_id, group in fails.groupby("rule_id", sort=False)}
    sections = []
    failing = [s for s in summaries if s.failed]
    for summary in sorted(failing, key=lambda s: (SEVERITY_ORDER.index(s.severity), s.rule_id)):
        group = by_rule.get(summary.rule_id, fails.iloc[:0])
        head = group.head(cap)
        rows = tuple(
            FailingRow(
                entity_id=str(entity),
                entity_name=text(entity_name),
                device_name=text(name),
                serial_number=text(serial),
                os_version=text(version),
                last_sync_at=scalar(synced),
                detail=text(detail),
            )
            for entity, entity_name, name, serial, version, synced, detail in zip(
                head["entity_id"],
                head["entity_name"],
                head["device_name"],
                head["serial_number"],
                head["os_version"],
                head["last_sync_at"],
                head["detail"],
                strict=True,
            )
        )
        sections.append(
            RuleSection(
                rule=summary,
                rows=rows,
                more=len(group) - len(head),
                is_device=summary.entity_type == Entity.DEVICE.value,
            )
        )
    return tuple(sections)


def tenant_health(
    inventory: Inventory, results: pd.DataFrame, titles: dict[str, str], as_of: dt.date
) -> TenantHealth:
    """APNs and ADE token dates, restrictions, DEM accounts and the tenant rules' results."""
    as_of_ts = pd.Timestamp(as_of, tz="UTC")
    tenant = inventory.tenant
    first = tenant.iloc[0] if len(tenant) else pd.Series(dtype="object")
    apns = scalar(first.get("apns_expires_at"))
    keys = [k for k in ("token_name", "token_id") if k in inventory.ade_tokens.columns]
    tokens = (
        inventory.ade_tokens.sort_values(keys, na_position="last") if keys else inventory.ade_tokens
    )
    token_rows = tuple(
        TokenRow(
            token_id=str(scalar(row.get("token_id"))),
            token_name=text(row.get("token_name")),
            apple_id=text(row.get("apple_id")),
            token_type=text(row.get("token_type")),
            expires_at=scalar(row.get("token_expires_at")),
            days_left=_days(scalar(row.get("token_expires_at")), as_of_ts, future=True),
            last_sync_at=scalar(row.get("last_successful_sync_at")),
            days_since_sync=_days(scalar(row.get("last_successful_sync_at")), as_of_ts),
            last_sync_error_code=scalar(row.get("last_sync_error_code")),
            synced_device_count=scalar(row.get("synced_device_count")),
        )
        # a handful of tokens per tenant: plain records are clearer than vector code here
        for row in tokens.to_dict("records")
    )
    dem = inventory.dem_accounts
    dem_total = int(column(dem, "device_count", "Int64").fillna(0).sum())
    dem_rows = tuple(
        Share(str(upn), int(count), pct(int(count), dem_total))
        for upn, count in sorted(
            zip(
                column(dem, "dem_upn"), column(dem, "device_count", "Int64").fillna(0), strict=True
            ),
            key=lambda item: (-int(item[1]), str(item[0])),
        )
    )
    entity = results[~equals(results["entity_type"], Entity.DEVICE.value)]
    entity = entity.sort_values(
        ["rule_id", "entity_type", "entity_id"], key=lambda s: s.astype("string")
    )
    names = entity_names(
        inventory, entity["entity_type"].astype("string"), entity["entity_id"].astype("string")
    )
    tenant_results = tuple(
        EntityResult(
            rule_id=str(rule_id),
            title=titles.get(str(rule_id), ""),
            severity=str(severity),
            entity_type=str(entity_type),
            entity_id=str(entity_id),
            entity_name=text(name) or str(entity_id),
            status=str(status),
            detail=text(detail),
        )
        for rule_id, severity, entity_type, entity_id, name, status, detail in zip(
            entity["rule_id"],
            entity["severity"],
            entity["entity_type"],
            entity["entity_id"],
            names,
            entity["status"],
            entity["detail"],
            strict=True,
        )
    )
    return TenantHealth(
        tenant_id=text(first.get("tenant_id")),
        apns_expires_at=apns,
        apns_days_left=_days(apns, as_of_ts, future=True),
        apns_apple_id=text(first.get("apns_apple_id")),
        personal_enrollment_blocked=scalar(first.get("personal_enrollment_blocked")),
        macos_enrollment_blocked=scalar(first.get("macos_enrollment_blocked")),
        tokens=token_rows,
        dem_accounts=dem_rows,
        results=tenant_results,
    )


def entity_names(inventory: Inventory, types: pd.Series, ids: pd.Series) -> pd.Series:
    """What a reader recognises for each non-device entity (NA for devices and unknown ids).

    ADE tokens → their name, DEM accounts → their UPN (the id), the tenant → "tenant".
    """
    tokens = inventory.ade_tokens
    token_names = pd.Series(
        column(tokens, "token_name").to_numpy(), index=column(tokens, "token_id").astype("string")
    )
    token_names = token_names[~token_names.index.duplicated()].dropna()
    kind = types.astype("string")
    names = pd.Series(pd.NA, index=ids.index, dtype="string")
    is_token = (kind == Entity.ADE_TOKEN.value).to_numpy(dtype=bool, na_value=False)
    names[is_token] = ids[is_token].map(token_names).astype("string")
    is_dem = (kind == Entity.DEM_ACCOUNT.value).to_numpy(dtype=bool, na_value=False)
    names[is_dem] = ids[is_dem].astype("string")
    names[(kind == Entity.TENANT.value).to_numpy(dtype=bool, na_value=False)] = "tenant"
    return names


def _days(when: dt.datetime | None, as_of: pd.Timestamp, *, future: bool = False) -> int | None:
    """Whole days from the as-of date to `when` (future) or from `when` to the as-of date."""
    if when is None:
        return None
    delta = (pd.Timestamp(when) - as_of) if future else (as_of - pd.Timestamp(when))
    return int(delta.days)


def distribution(devices: pd.DataFrame) -> Distribution:
    """Counts of the fleet's OS majors and versions, chips, models, enrollment, ownership."""
    total = len(devices)
    return Distribution(
        os_majors=major_shares(column(devices, "os_major"), total),
        os_versions=shares(column(devices, "os_version"), total),
        chips=shares(column(devices, "chip"), total, top=None),
        models=shares(column(devices, "model"), total),
        enrollment_methods=shares(column(devices, "enrollment_method"), total, top=None),
        ownership=shares(column(devices, "ownership"), total, top=None),
        compliance_states=shares(column(devices, "compliance_state"), total, top=None),
    )


def data_quality(
    inventory: Inventory, results: pd.DataFrame, titles: dict[str, str]
) -> DataQuality:
    """Normalization notes, gaps, and per rule the count and commonest reason of `unknown`."""
    notes = tuple(
        QualityRow(q.field, q.problem, q.count, tuple(q.examples), q.source)
        for q in sorted(inventory.quality, key=lambda q: (q.field, q.problem, q.source))
    )
    unknown = results.loc[
        equals(results["status"], Status.UNKNOWN.value), ["rule_id", "detail"]
    ].astype("string")
    rows: list[UnknownRow] = []
    if len(unknown):
        reasons = unknown.fillna({"detail": ""}).value_counts(["rule_id", "detail"], sort=False)
        frame = reasons.rename("n").reset_index().sort_values(["rule_id", "n", "detail"])
        totals = frame.groupby("rule_id", sort=True)["n"].sum()
        top = frame.sort_values(["n", "detail"], ascending=[False, True], kind="stable")
        top = top.drop_duplicates("rule_id").set_index("rule_id")
        top_reason = top["detail"].to_dict()
        top_count = top["n"].to_dict()
        for rule_id, count in totals.items():
            rows.append(
                UnknownRow(
                    rule_id=str(rule_id),
                    title=titles.get(str(rule_id), ""),
                    count=int(count),
                    top_reason=str(top_reason[rule_id]),
                    top_reason_count=int(top_count[rule_id]),
                )
            )
    never = int(column(inventory.devices, "last_sync_at", "datetime64[us, UTC]").isna().sum())
    return DataQuality(notes=notes, gaps=gaps(inventory), unknowns=tuple(rows), never_synced=never)


def gaps(inventory: Inventory) -> tuple[GapRow, ...]:
    """The collection gaps, core ones first."""
    return tuple(
        GapRow(g.part, g.reason, tuple(g.fields), g.is_core)
        for g in sorted(inventory.gaps, key=lambda g: (not g.is_core, g.part))
    )


def waiver_rows(uses: Sequence[WaiverUse]) -> tuple[WaiverRow, ...]:
    """Every waiver with its fate: applied first, then expired, then unmatched."""
    order = {"applied": 0, "expired": 1, "unmatched": 2}
    return tuple(
        WaiverRow(
            waiver_id=u.waiver.id,
            rule_id=u.waiver.rule_id,
            selector=u.waiver.describe(),
            reason=u.waiver.reason,
            approver=u.waiver.approver,
            ticket=u.waiver.ticket,
            expires=u.waiver.expires,
            state=u.state,
            matched=u.matched,
            origin=u.waiver.origin,
        )
        for u in sorted(uses, key=lambda u: (order.get(u.state, 3), u.waiver.rule_id, u.waiver.id))
    )


def changes_view(changes: Changes, titles: dict[str, str], cap: int) -> ChangesView:
    """Counts, per-rule deltas, the trend and the first new/resolved findings."""
    per_rule = changes.per_rule.sort_values("rule_id")
    severities = _rule_severities(changes)
    records: list[dict[Any, Any]] = per_rule.to_dict("records")
    deltas = tuple(
        RuleDelta(
            rule_id=str(r["rule_id"]),
            title=titles.get(str(r["rule_id"]), ""),
            severity=severities.get(str(r["rule_id"]), ""),
            previous_fail=int(r["previous_fail"]),
            current_fail=int(r["current_fail"]),
            new=int(r["new"]),
            resolved=int(r["resolved"]),
            persisting=int(r["persisting"]),
            delta=int(r["current_fail"]) - int(r["previous_fail"]),
        )
        for r in records
        if int(r["new"]) or int(r["resolved"]) or int(r["previous_fail"]) != int(r["current_fail"])
    )
    trend_records: list[dict[Any, Any]] = (
        changes.trend.sort_values("period").tail(12).to_dict("records")
    )
    trend = tuple(
        TrendPoint(
            period=str(r["period"]),
            devices=int(r["devices"]),
            failing_devices=int(r["failing_devices"]),
            posture_pct=round(float(r["posture_pct"]), 1),
            fail_by_severity=tuple(
                (s, int(r[f"fail_{s}"])) for s in SEVERITY_ORDER if f"fail_{s}" in r
            ),
        )
        for r in trend_records
    )
    new_counts = column(changes.new, "severity").astype("string").value_counts()
    return ChangesView(
        current_period=changes.current_period,
        previous_period=changes.previous_period,
        new=len(changes.new),
        resolved=len(changes.resolved),
        persisting=len(changes.persisting),
        new_by_severity=tuple((s, int(new_counts.get(s, 0))) for s in SEVERITY_ORDER),
        per_rule=deltas,
        trend=trend,
        new_items=_change_items(changes.new, cap),
        new_more=max(len(changes.new) - cap, 0),
        resolved_items=_change_items(changes.resolved, cap),
        resolved_more=max(len(changes.resolved) - cap, 0),
        items=change_items_table(changes),
    )


CHANGE_COLUMNS = (
    "change",
    "rule_id",
    "severity",
    "entity_type",
    "entity_id",
    "device_name",
    "serial_number",
    "now",
    "months_failing",
)


def change_items_table(changes: Changes) -> pd.DataFrame:
    """Every new, persisting and resolved finding in one sorted frame."""
    parts = [
        frame.assign(change=name)
        for name, frame in (
            ("new", changes.new),
            ("persisting", changes.persisting),
            ("resolved", changes.resolved),
        )
        if len(frame)
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in CHANGE_COLUMNS})
    items = pd.concat(parts, ignore_index=True)
    table = pd.DataFrame(
        {
            c: column(items, c, "Int64" if c == "months_failing" else "string")
            for c in CHANGE_COLUMNS
        }
    )
    table = table.astype({c: "string" for c in CHANGE_COLUMNS if c != "months_failing"})
    table["months_failing"] = table["months_failing"].astype("Int64")
    order = {"new": 0, "persisting": 1, "resolved": 2}
    ranks = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    table["_change"] = table["change"].map(order)
    table["_rank"] = table["severity"].map(ranks)
    table = table.sort_values(
        ["_change", "_rank", "rule_id", "entity_id"], na_position="last", ignore_index=True
    )
    return table.drop(columns=["_change", "_rank"])


def _rule_severities(changes: Changes) -> dict[str, str]:
    found: dict[str, str] = {}
    for frame in (changes.new, changes.resolved, changes.persisting):
        if len(frame) and "severity" in frame:
            pairs = frame[["rule_id", "severity"]].astype("string").drop_duplicates()
            found.update(zip(pairs["rule_id"], pairs["severity"], strict=True))
    return found


def _change_items(frame: pd.DataFrame, cap: int) -> tuple[ChangeItem, ...]:
    if not len(frame):
        return ()
    ordered = frame.assign(
        _rank=column(frame, "severity")
        .astype("string")
        .map({s: i for i, s in enumerate(SEVERITY_ORDER)})
    ).sort_values(["_rank", "rule_id", "entity_id"], key=_sort_key, na_position="last")
    head = ordered.head(cap)
    return tuple(
        ChangeItem(
            rule_id=str(rule_id),
            severity=text(severity) or "",
            entity_id=str(entity_id),
            device_name=text(name),
            serial_number=text(serial),
        )
        for rule_id, severity, entity_id, name, serial in zip(
            head["rule_id"],
            column(head, "severity"),
            head["entity_id"],
            column(head, "device_name"),
            column(head, "serial_number"),
            strict=True,
        )
    )


def _sort_key(values: pd.Series) -> pd.Series:
    return values if values.name == "_rank" else values.astype("string")
