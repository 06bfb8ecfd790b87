"""Build the one report model every renderer formats: all counts, rollups, sorts and deltas.

`build_report` turns the waived results frame, the inventory, the rules, the waivers' fates,
the run's facts and (optionally) the month-over-month changes into a frozen `Report`.
Renderers (PDF, workbook, findings.json) compute nothing; they only lay this model out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from auditor.models import Changes, Entity, Inventory, Param, RunMeta, Severity, Status
from auditor.report_sections import (
    SEVERITY_ORDER,
    STATUS_ORDER,
    ChangesView,
    DataQuality,
    Distribution,
    EntityResult,
    GapRow,
    Kpi,
    RuleSection,
    RuleSummary,
    Share,
    TenantHealth,
    WaiverRow,
    changes_view,
    column,
    data_quality,
    distribution,
    entity_names,
    equals,
    gaps,
    pct,
    rule_sections,
    rule_summaries,
    scalar,
    sort_codes,
    tenant_health,
    waiver_rows,
)
from auditor.rules.base import Rule
from auditor.waivers import WaiverUse

# The rules that together say "this Mac runs a supported, fully patched macOS".
PATCH_RULES = ("MAC-OS-001", "MAC-OS-002", "MAC-OS-003", "MAC-OS-004")
TOP_RULES = 5  # page one has room for five
NON_PASSING = (Status.FAIL.value, Status.UNKNOWN.value, Status.WAIVED.value)

# Device columns carried into the findings table and the Devices sheet, in this order.
FINDING_DEVICE_FIELDS = ("device_id", "serial_number", "device_name", "upn", "os_version")
DEVICE_FIELDS = (
    "device_name",
    "serial_number",
    "device_id",
    "model",
    "model_identifier",
    "chip",
    "processor_arch",
    "is_vm",
    "vm_evidence",
    "os_version",
    "os_build",
    "os_rsr",
    "os_major",
    "ownership",
    "enrollment_method",
    "enrollment_profile",
    "has_user_affinity",
    "is_supervised",
    "user_approved",
    "bootstrap_escrowed",
    "is_encrypted",
    "compliance_state",
    "enrolled_at",
    "last_sync_at",
    "upn",
    "enrolled_by_upn",
    "udid",
    "source",
    "source_record",
)


@dataclass(frozen=True, slots=True)
class InputRow:
    """One input the run read, with its digest."""

    path: str
    kind: str
    sha256: str
    records: int


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What, when and from what this report was made."""

    as_of: dt.date
    period: str
    generated_at: dt.datetime
    tool_version: str
    organisation: str
    classification: str
    tenant_id: str
    source: str
    catalogue_as_of: dt.date
    catalogue_source: str
    catalogue_age_days: int
    catalogue_is_stale: bool
    config_digest: str
    waivers_digest: str
    is_complete: bool  # False when a gap makes the run partial (SourceGap.makes_run_partial)
    gaps: tuple[GapRow, ...]
    inputs: tuple[InputRow, ...]


@dataclass(frozen=True, slots=True)
class SeverityCount:
    """Failing results of one severity, and the distinct Macs they concern."""

    severity: str
    results: int
    devices: int


@dataclass(frozen=True, slots=True)
class Summary:
    """Page one: the few numbers that matter."""

    devices: int
    posture: Share  # Macs with no (unwaived) critical or high failure
    kpis: tuple[Kpi, ...]
    status_counts: tuple[tuple[str, int], ...]
    failing_by_severity: tuple[SeverityCount, ...]
    devices_by_worst: tuple[Share, ...]  # Macs by their worst failing severity, then "none"
    top_rules: tuple[RuleSummary, ...]  # device rules by severity, then failing Macs
    attention: tuple[EntityResult, ...]  # failing critical/high tenant, ADE token, DEM results
    newest_sync_at: dt.datetime | None
    oldest_sync_at: dt.datetime | None
    never_synced: int


@dataclass(frozen=True, slots=True, eq=False)
class Report:
    """Everything the PDF, the workbook and findings.json show, computed once.

    `findings` has one row per non-passing result (fail, unknown, waived), sorted by severity
    rank, rule id and entity id. `devices` has one row per Mac: its normalized fields, the count
    of failing rules, its worst failing severity and one status column per device rule.
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
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def build_report(
    results: pd.DataFrame,
    inventory: Inventory,
    rules: Sequence[Rule],
    waiver_uses: Sequence[WaiverUse],
    meta: RunMeta,
    changes: Changes | None = None,
    *,
    pdf_devices_per_rule: int = 15,
    params: Mapping[str, Mapping[str, Param]] | None = None,
) -> Report:
    """Build the report model of one run.

    Args:
        results: `engine.evaluate` output after `waivers.apply_waivers`.
        inventory: the normalized frames with inputs, quality notes and gaps.
        rules: the rules that were evaluated (their metadata feeds sections and appendix).
        waiver_uses: what became of every waiver (applied, expired, unmatched).
        meta: facts about the run (dates, organisation, catalogue age, digests).
        changes: month-over-month deltas, or None on a first run / without history.
        pdf_devices_per_rule: how many failing Macs the PDF lists under each rule.
        params: the run's per-rule parameter overrides (`Config.rule_params()`); the report
            shows each rule's defaults with these laid over them. None: defaults only.

    Returns:
        The frozen report model.
    """
    results = _typed(results)
    devices = inventory.devices
    summaries = rule_summaries(results, rules, params)
    titles = {r.id: r.title for r in rules}
    findings = _findings(results, inventory, titles, changes)
    fails = findings[(findings["status"] == Status.FAIL.value).to_numpy(dtype=bool)]
    fails = fails.iloc[
        np.lexsort(
            (
                sort_codes(fails["entity_id"]),
                sort_codes(fails["device_name"]),
                sort_codes(fails["rule_id"]),
            )
        )
    ]
    device_rule_ids = tuple(sorted(r.id for r in rules if r.entity == Entity.DEVICE))
    device_table, worst = _device_table(devices, results, device_rule_ids)
    tenant = tenant_health(inventory, results, titles, meta.as_of)
    return Report(
        run=_run_info(meta, inventory),
        summary=_summary(results, devices, summaries, worst, tenant.results),
        rules=summaries,
        sections=rule_sections(fails, summaries, pdf_devices_per_rule),
        tenant=tenant,
        distribution=distribution(devices),
        quality=data_quality(inventory, results, titles),
        waivers=waiver_rows(waiver_uses),
        changes=None if changes is None else changes_view(changes, titles, pdf_devices_per_rule),
        own_mappings=_own_mappings(rules),
        findings=findings,
        devices=device_table,
        device_rule_ids=device_rule_ids,
        pdf_devices_per_rule=pdf_devices_per_rule,
    )


def _typed(results: pd.DataFrame) -> pd.DataFrame:
    """Results with categorical status/severity over the full category lists, and waiver_id."""
    typed = results.assign(
        status=pd.Categorical(results["status"].astype("string"), categories=STATUS_ORDER)
        if not _has_categories(results["status"], STATUS_ORDER)
        else results["status"],
        severity=pd.Categorical(
            results["severity"].astype("string"), categories=SEVERITY_ORDER, ordered=True
        )
        if not _has_categories(results["severity"], SEVERITY_ORDER)
        else results["severity"],
    )
    if "waiver_id" not in typed.columns:
        typed["waiver_id"] = pd.array([pd.NA] * len(typed), dtype="string")
    return typed


def _has_categories(values: pd.Series, categories: tuple[str, ...]) -> bool:
    return isinstance(values.dtype, pd.CategoricalDtype) and tuple(values.cat.categories) == tuple(
        categories
    )


def _codes(values: pd.Series) -> np.ndarray:
    """Category codes of a categorical column (status or severity) as a numpy array."""
    return np.asarray(values.cat.codes.to_numpy())


def _findings(
    results: pd.DataFrame,
    inventory: Inventory,
    titles: dict[str, str],
    changes: Changes | None,
) -> pd.DataFrame:
    """One row per non-passing result, joined with its Mac's fields, sorted deterministically.

    `entity_name` is what a reader recognises: the Mac's name, the ADE token's name, the DEM
    account's UPN or "tenant".
    """
    devices = inventory.devices
    status = _codes(results["status"])
    wanted = np.isin(status, [STATUS_ORDER.index(s) for s in NON_PASSING])
    sub = results.loc[wanted]
    is_device = equals(sub["entity_type"], Entity.DEVICE.value)
    take = np.where(is_device, sub["row"].to_numpy(dtype=np.int64), -1)
    rule_ids = sub["rule_id"].astype("string")
    frame = pd.DataFrame(
        {
            "severity": sub["severity"].astype("string").to_numpy(),
            "rule_id": rule_ids.to_numpy(),
            "title": rule_ids.map(titles).astype("string").to_numpy(),
            "status": sub["status"].astype("string").to_numpy(),
            "entity_type": sub["entity_type"].astype("string").to_numpy(),
            "entity_id": sub["entity_id"].astype("string").to_numpy(),
        }
    ).astype("string")
    for name in FINDING_DEVICE_FIELDS:
        frame[name] = _take(column(devices, name), take)
    other = entity_names(inventory, frame["entity_type"], frame["entity_id"])
    frame.insert(
        list(frame.columns).index("entity_id") + 1,
        "entity_name",
        frame["device_name"].where(is_device, other).astype("string"),
    )
    frame["last_sync_at"] = _take(column(devices, "last_sync_at", "datetime64[us, UTC]"), take)
    frame["detail"] = sub["detail"].astype("string").to_numpy()
    frame["waiver_id"] = sub["waiver_id"].astype("string").to_numpy()
    order = np.lexsort(
        (sort_codes(frame["entity_id"]), sort_codes(frame["rule_id"]), _codes(sub["severity"]))
    )
    frame = frame.iloc[order].reset_index(drop=True)
    frame["first_seen"] = pd.array([pd.NA] * len(frame), dtype="string")
    frame["months_failing"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    if changes is not None and len(changes.first_seen) and len(frame):
        keys = ["rule_id", "entity_type", "entity_id"]
        seen = changes.first_seen[[*keys, "first_seen", "months_failing"]].astype(
            {"rule_id": "string", "entity_type": "string", "entity_id": "string"}
        )
        merged = frame[keys].merge(seen.drop_duplicates(keys), on=keys, how="left")
        frame["first_seen"] = merged["first_seen"].astype("string").to_numpy()
        frame["months_failing"] = merged["months_failing"].astype("Int64").to_numpy()
    return frame


def _take(values: pd.Series, positions: np.ndarray) -> Any:
    """values[positions] keeping the dtype; position -1 gives NA (non-device entities)."""
    return values.array.take(positions, allow_fill=True)


def _device_table(
    devices: pd.DataFrame, results: pd.DataFrame, rule_ids: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per Mac: its fields, failing-rule count, worst severity, a status per rule.

    Also returns each Mac's worst failing severity rank (len(Severity) = none), in inventory
    order, for the summary.
    """
    size = len(devices)
    dev = results[equals(results["entity_type"], Entity.DEVICE.value)]
    rows = dev["row"].to_numpy(dtype=np.int64)
    status = _codes(dev["status"])
    column_of = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rule_cat = (
        dev["rule_id"]
        if isinstance(dev["rule_id"].dtype, pd.CategoricalDtype)
        else dev["rule_id"].astype("category")
    )
    lookup = np.array([column_of.get(str(c), -1) for c in rule_cat.cat.categories] + [-1])
    rule_col = lookup[rule_cat.cat.codes.to_numpy()]
    known = rule_col >= 0
    matrix = np.full((size, len(rule_ids)), -1, dtype=np.int8)
    matrix[rows[known], rule_col[known]] = status[known]
    failing = status == STATUS_ORDER.index(Status.FAIL.value)
    failing_rules = np.bincount(rows[failing], minlength=size)
    worst = np.full(size, len(SEVERITY_ORDER), dtype=np.int8)
    np.minimum.at(worst, rows[failing], _codes(dev["severity"])[failing])
    table = devices[[name for name in DEVICE_FIELDS if name in devices.columns]].reset_index(
        drop=True
    )
    table["failing_rules"] = pd.array(failing_rules, dtype="Int64")
    table["worst_severity"] = pd.Categorical.from_codes(
        np.where(worst < len(SEVERITY_ORDER), worst, -1),
        dtype=pd.CategoricalDtype(list(SEVERITY_ORDER)),
    )
    statuses = pd.CategoricalDtype(list(STATUS_ORDER))
    for i, rule_id in enumerate(rule_ids):
        table[rule_id] = pd.Categorical.from_codes(matrix[:, i], dtype=statuses)
    keys = [sort_codes(table[k]) for k in ("device_id", "device_name") if k in table.columns]
    if keys:
        table = table.iloc[np.lexsort(keys)].reset_index(drop=True)
    return table, worst


def _summary(
    results: pd.DataFrame,
    devices: pd.DataFrame,
    summaries: Sequence[RuleSummary],
    worst: np.ndarray,
    entity_results: Sequence[EntityResult],
) -> Summary:
    total = len(devices)
    status_counts = np.bincount(_codes(results["status"]), minlength=len(STATUS_ORDER))
    fail = _codes(results["status"]) == STATUS_ORDER.index(Status.FAIL.value)
    severity = _codes(results["severity"])
    is_device = equals(results["entity_type"], Entity.DEVICE.value)
    rows = results["row"].to_numpy(dtype=np.int64)
    by_severity = []
    for rank, name in enumerate(SEVERITY_ORDER):
        hit = fail & (severity == rank)
        by_severity.append(
            SeverityCount(name, int(hit.sum()), len(np.unique(rows[hit & is_device])))
        )
    worst_counts = np.bincount(worst, minlength=len(SEVERITY_ORDER) + 1)
    serious = int((worst <= SEVERITY_ORDER.index(Severity.HIGH.value)).sum())
    synced = column(devices, "last_sync_at", "datetime64[us, UTC]").dropna()
    device_rules = [s for s in summaries if s.entity_type == Entity.DEVICE.value and s.failed]
    urgent = (Severity.CRITICAL.value, Severity.HIGH.value)
    fail_value = Status.FAIL.value
    return Summary(
        devices=total,
        posture=Share(
            "Macs with no critical or high failure", total - serious, pct(total - serious, total)
        ),
        kpis=_kpis(results, devices),
        status_counts=tuple((name, int(status_counts[i])) for i, name in enumerate(STATUS_ORDER)),
        failing_by_severity=tuple(by_severity),
        devices_by_worst=tuple(
            Share(name, int(worst_counts[i]), pct(int(worst_counts[i]), total))
            for i, name in enumerate((*SEVERITY_ORDER, "none"))
        ),
        top_rules=tuple(
            sorted(
                device_rules,
                key=lambda s: (SEVERITY_ORDER.index(s.severity), -s.failed, s.rule_id),
            )[:TOP_RULES]
        ),
        attention=tuple(
            sorted(
                (r for r in entity_results if r.status == fail_value and r.severity in urgent),
                key=lambda r: (SEVERITY_ORDER.index(r.severity), r.rule_id, r.entity_name),
            )
        ),
        newest_sync_at=scalar(synced.max()) if len(synced) else None,
        oldest_sync_at=scalar(synced.min()) if len(synced) else None,
        never_synced=total - len(synced),
    )


def _kpis(results: pd.DataFrame, devices: pd.DataFrame) -> tuple[Kpi, ...]:
    total = len(devices)

    def share(key: str, label: str, yes: pd.Series, missing: pd.Series) -> Kpi:
        count = int(yes.fillna(False).astype(bool).sum())
        return Kpi(key, label, count, pct(count, total), int(missing.sum()))

    def flag(key: str, label: str, name: str) -> Kpi:
        values = column(devices, name, "boolean").astype("boolean")
        return share(key, label, values == True, values.isna())  # noqa: E712

    method = column(devices, "enrollment_method").astype("string")
    return (
        Kpi("devices", "Macs", total, 100.0 if total else 0.0, 0),
        share(
            "ade",
            "Enrolled through Automated Device Enrollment",
            method == "ade",
            method.isna() | (method == "unknown"),
        ),
        flag("supervised", "Supervised", "is_supervised"),
        flag("user_approved", "MDM enrollment user-approved", "user_approved"),
        flag("bootstrap_escrowed", "Bootstrap token escrowed", "bootstrap_escrowed"),
        _patched_kpi(results, total),
        flag("filevault", "FileVault on", "is_encrypted"),
    )


def _patched_kpi(results: pd.DataFrame, total: int) -> Kpi:
    """Macs whose OS rules (supported, updated, exploited fixes, latest patch) all pass or n/a."""
    label = "On a supported and patched macOS"
    present = results["rule_id"].isin(PATCH_RULES).to_numpy(dtype=bool, na_value=False)
    if not present.any():
        return Kpi("patched", label, None, None, 0)
    status = _codes(results["status"])
    ok = np.isin(status, [STATUS_ORDER.index(s) for s in ("pass", "not_applicable")])
    rows = results["row"].to_numpy(dtype=np.int64)
    unknown = status == STATUS_ORDER.index(Status.UNKNOWN.value)
    bad_rows = np.unique(rows[present & ~ok])
    unknown_rows = np.unique(rows[present & unknown])
    count = total - len(bad_rows)
    return Kpi("patched", label, count, pct(count, total), len(unknown_rows))


def _run_info(meta: RunMeta, inventory: Inventory) -> RunInfo:
    return RunInfo(
        as_of=meta.as_of,
        period=meta.period,
        generated_at=meta.generated_at,
        tool_version=meta.tool_version,
        organisation=meta.organisation,
        classification=meta.classification,
        tenant_id=meta.tenant_id,
        source=meta.source,
        catalogue_as_of=meta.catalogue_as_of,
        catalogue_source=meta.catalogue_source,
        catalogue_age_days=meta.catalogue_age_days,
        catalogue_is_stale=meta.catalogue_is_stale,
        config_digest=meta.config_digest,
        waivers_digest=meta.waivers_digest,
        is_complete=not any(g.makes_run_partial for g in inventory.gaps),
        gaps=gaps(inventory),
        inputs=tuple(
            InputRow(i.path, i.kind, i.sha256, i.records)
            for i in sorted(inventory.inputs, key=lambda i: (i.path, i.kind))
        ),
    )


def _own_mappings(rules: Sequence[Rule]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    owned: dict[str, list[str]] = {}
    for rule in rules:
        for framework in rule.own_mappings:
            owned.setdefault(framework, []).append(rule.id)
    return tuple((f, tuple(sorted(ids))) for f, ids in sorted(owned.items()))


def _plain(value: Any) -> Any:
    """A JSON-able copy of a model value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, pd.DataFrame):
        return [
            {k: _plain(scalar(v)) for k, v in row.items()}
            for row in value.astype(object).to_dict("records")
        ]
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return scalar(value)
