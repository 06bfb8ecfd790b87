"""Build the one report model every renderer formats: all counts, rollups, sorts and deltas.

`build_report` turns the waived results frame, the inventory, the rules, the waivers' fates,
the run's facts and (optionally) the month-over-month changes into a frozen `Report`
(`report.model`); one builder module per section does the work. Renderers (PDF, workbook,
findings.json) compute nothing; they only lay this model out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pandas as pd

from auditor.clock import release_freed_memory
from auditor.config import DEFAULT_SLA_DAYS
from auditor.models import Changes, Entity, Inventory, Param, RunMeta
from auditor.refdata.catalogue import STALE_AFTER_DAYS, Catalogue
from auditor.report.action_plan import ACTION_PLAN_SCHEMA, action_plan, overdue_by_severity
from auditor.report.attention import needs_attention
from auditor.report.attribution import exposure_clocks
from auditor.report.changes import CHANGE_ITEMS_SCHEMA, changes_view
from auditor.report.completeness import gap_fields, part_statuses
from auditor.report.findings import (
    DEVICE_TABLE_SCHEMA,
    FINDINGS_SCHEMA,
    NON_PASSING,
    device_table,
    findings_table,
)
from auditor.report.model import Report
from auditor.report.policies import compliance_coverage, gap_texts, vpp_rows
from auditor.report.population import IDENTITY_TABLE_SCHEMA, population
from auditor.report.quality import data_quality, distribution, ordered_gaps
from auditor.report.rules import own_mappings, rule_sections, rule_summaries
from auditor.report.run_model import RunInfo, RunWarning, SignOff
from auditor.report.sanity import after_as_of_notes, date_warnings
from auditor.report.scope import audit_scope, what_was_read
from auditor.report.summary import summary
from auditor.report.tenant import tenant_health
from auditor.report.views import build_views
from auditor.report.waivers import waiver_overview, waiver_rows
from auditor.rules.base import Rule
from auditor.waivers import WaiverUse

__all__ = [
    "ACTION_PLAN_SCHEMA",
    "DEVICE_TABLE_SCHEMA",
    "FINDINGS_SCHEMA",
    "IDENTITY_TABLE_SCHEMA",
    "NON_PASSING",
    "Report",
    "RunWarning",
    "SignOff",
    "build_report",
]


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
    cloud: str = "global",
    sign_off: SignOff | None = None,
    notices: Sequence[RunWarning] = (),
    catalogue: Catalogue | None = None,
    sla_days: Mapping[str, int] | None = None,
    owner_group_by: str = "category",
) -> Report:
    """Build the report model of one run.

    Args:
        results: `engine.evaluate` output after `waivers.apply_waivers` (categorical status
            and severity over `models.STATUSES` and `SEVERITIES`, and a `waiver_id` column).
        inventory: the normalized frames with inputs, quality notes and gaps.
        rules: the rules that were evaluated (their metadata feeds sections and appendix).
        waiver_uses: what became of every waiver (applied, expired, unmatched).
        meta: facts about the run (dates, organisation, catalogue age, digests).
        changes: month-over-month deltas (`History.compare`), or None without history.
        pdf_devices_per_rule: how many failing Macs the PDF lists under each rule.
        params: the run's per-rule parameter overrides; the report shows each rule's
            defaults with these laid over them. None: defaults only.
        cloud: the Graph cloud (`graph.cloud`): which admin center the Macs' links open.
        sign_off: the prepared-by / reviewed-by names.
        notices: warnings the pipeline knows of (history not compared, sample data); the
            report adds those about dates and an empty inventory.
        catalogue: the release catalogue the run used (page one's exposure clocks); None:
            no clocks.
        sla_days: days to fix a failure of each severity (`[owners.sla_days]`); None: the
            defaults (`config.DEFAULT_SLA_DAYS`).
        owner_group_by: how the Action plan groups owners (`config.OWNER_GROUPINGS`).

    Returns:
        The frozen report model.
    """
    summaries = rule_summaries(results, rules, params)
    titles = {s.rule_id: s.title for s in summaries}
    findings = findings_table(results, inventory, titles, changes)
    device_rule_ids = tuple(sorted(r.id for r in rules if r.entity == Entity.DEVICE))
    devices, worst = device_table(inventory.devices, results, device_rule_ids)
    release_freed_memory()  # the sorts' and takes' scratch (at 500k Macs, hundreds of MB)
    tenant = dataclasses.replace(
        tenant_health(inventory, results, titles, meta.as_of),
        vpp_tokens=vpp_rows(inventory, meta.as_of),
        vpp_gap="; ".join(gap_texts(inventory.gaps, ("vpp_tokens",))) or None,
        compliance=compliance_coverage(inventory),
    )
    identity_rule_ids = tuple(sorted(r.id for r in rules if r.entity == Entity.ADE_IDENTITY))
    patch_rule_ids = tuple(sorted(r.id for r in rules if "patch" in r.groups))
    after_as_of = after_as_of_notes(inventory, meta.as_of)
    warnings = [*notices, *date_warnings(inventory, meta.as_of, meta.catalogue_as_of, after_as_of)]
    if inventory.devices.empty:
        warnings.insert(0, RunWarning("no_macs", f"No Mac was audited: {what_was_read(inventory)}. "
                                      "This is not a clean audit."))  # fmt: skip
    waivers = waiver_rows(waiver_uses, {s.rule_id: s.severity for s in summaries}, meta.as_of)
    problems = {s.rule_id: s.problem or s.title for s in summaries}
    plan, plan_groups = action_plan(
        results, inventory, problems, changes, meta.as_of,
        DEFAULT_SLA_DAYS if sla_days is None else sla_days,
        group_by=owner_group_by, cloud=cloud, tenant_id=meta.tenant_id,
    )  # fmt: skip
    release_freed_memory()
    exploited = frozenset(r.id for r in rules if "exploited" in r.groups)
    change_view = (
        None
        if changes is None
        else changes_view(changes, titles, pdf_devices_per_rule, problems, exploited)
    )
    views = build_views(
        findings,
        devices,
        FINDINGS_SCHEMA,
        DEVICE_TABLE_SCHEMA,
        titles,
        device_rule_ids,
        None if change_view is None else (change_view.items, CHANGE_ITEMS_SCHEMA),
        cloud=cloud,
        tenant_id=meta.tenant_id,
    )
    return Report(
        run=RunInfo(
            meta=meta,
            inputs=tuple(sorted(inventory.inputs, key=lambda i: (i.path, i.kind))),
            gaps=ordered_gaps(inventory.gaps),
            is_complete=not any(g.makes_run_partial for g in inventory.gaps),
            catalogue_stale_after_days=STALE_AFTER_DAYS,
            parts=part_statuses(inventory.gaps, rules, results),
            warnings=tuple(warnings),
            scope=audit_scope(inventory),
            sign_off=sign_off or SignOff("", ""),
        ),
        summary=dataclasses.replace(
            summary(
                results,
                inventory.devices,
                summaries,
                worst,
                tenant.results,
                patch_rule_ids,
                waiver_overview(waivers),
                gap_fields(inventory.gaps),
            ),
            exposure=exposure_clocks(inventory.devices, catalogue, meta.as_of),
            needs_attention=needs_attention(
                results, summaries, tenant.results, tenant.tokens, inventory.devices
            ),
            overdue_by_severity=overdue_by_severity(plan),
        ),
        rules=summaries,
        sections=rule_sections(findings, summaries, pdf_devices_per_rule),
        tenant=tenant,
        distribution=distribution(inventory.devices),
        quality=data_quality(inventory, results, titles, after_as_of),
        waivers=waivers,
        changes=change_view,
        own_mappings=own_mappings(rules),
        findings=findings,
        devices=devices,
        device_rule_ids=device_rule_ids,
        pdf_devices_per_rule=pdf_devices_per_rule,
        views=views,
        population=population(inventory, results, identity_rule_ids),
        action_plan=plan,
        action_plan_groups=plan_groups,
    )
