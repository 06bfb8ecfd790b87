"""One audit run: load → normalize → evaluate → waive → compare → report → render → manifest.

A run with no Mac stops (exit 4) unless allowed; reports name inputs by file name; a run whose
tenant is unknown is neither compared with nor recorded in the history (whose runs are keyed
by tenant); with `bundle_inputs` every input is copied into the evidence folder. The evidence
folder is written whole beside `--out` and swapped in (`pipeline.folder`, docs/evidence-folder.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor import __version__
from auditor.clock import Stopwatch, release_freed_memory
from auditor.config import Config
from auditor.engine import EvaluationContext, evaluate, gap_reasons
from auditor.errors import PartialSourceError, SourceError
from auditor.evidence import load_private_key
from auditor.evidence.keys import fingerprint
from auditor.history import History, current_bar, open_history
from auditor.models import Inventory, RunMeta, Severity
from auditor.normalize import normalize
from auditor.pipeline.folder import hook, open_staging
from auditor.pipeline.inputs import (
    SNAPSHOT_NAME,
    bundled_sample_files,
    input_name,
    is_sample_input,
    load_batches,
    resolve_catalogue,
    tenant_files,
    uncovered_parts,
)
from auditor.pipeline.interrupts import interruptible
from auditor.pipeline.locks import tenant_history_lock
from auditor.pipeline.write import BundleChoices, refuse_url_bundle, write_evidence
from auditor.refdata.catalogue import Catalogue
from auditor.render import check_format_available
from auditor.report import Report, RunWarning, SignOff, build_report
from auditor.report.scope import what_was_read
from auditor.rules import ALL_RULES
from auditor.rules.settings import rule_params, select_rules
from auditor.waivers import WaiverRules, apply_waivers, load_waivers

__all__ = [
    "SNAPSHOT_NAME",
    "RunOptions",
    "RunResult",
    "bundled_sample_files",
    "input_name",
    "resolve_catalogue",
    "run_audit",
    "tenant_files",
]
log = logging.getLogger(__name__)
SAMPLE_CLASSIFICATION = "SAMPLE DATA"


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Per-invocation choices that are not configuration: dates, history, signing."""

    as_of: dt.date
    generated_at: dt.datetime
    history_path: Path | None = None  # None: no history
    signing_key: Path | None = None
    progress: bool = False
    operator: str = ""  # who runs the audit: waivers may need another approver
    allow_empty: bool = False  # write reports even when the inventory holds no Mac
    bundle_inputs: bool = False  # copy every input, the config, waivers and catalogue into out
    record_paths: bool = False  # the manifest keeps inputs' paths as given, not only names
    recorded_source: str | None = None  # `verify --rerun`: the source the recorded run named
    split_by: str | None = (
        None  # also write the Action plan as one CSV per group / category / owner
    )
    # `run --tenants`: a Graph snapshot already pulled, moved into the evidence as the pull's
    pulled_snapshot: Path | None = None
    tenant_name: str | None = None  # the tenants-file name and groups findings.json states
    tenant_groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run produced: the report model, the files written, and failure counts."""

    report: Report
    outputs: tuple[Path, ...]
    manifest: Path
    failures_by_severity: dict[Severity, int]
    new_failures_by_severity: dict[Severity, int]


def run_audit(config: Config, options: RunOptions) -> RunResult:
    """Run one audit and write the configured reports plus manifest.json into config.out_dir.

    The new evidence is written whole (reports, bundle, manifest, signature) into a staging
    folder beside `out_dir`, then swapped in (`pipeline.folder`): an interrupted or failed run
    leaves the previous evidence as it was. SIGTERM stops a run like Ctrl-C. The history
    database is opened first (an unusable one stops the run before any work); the tenant's
    history lock is held from the comparison until the run is recorded, which happens only
    after its evidence is in place.
    """
    clock = Stopwatch()
    for fmt in config.formats:
        check_format_available(fmt)
    rules = select_rules(config)
    catalogue = resolve_catalogue(config)
    if catalogue.is_stale(options.as_of):
        log.warning("%s", catalogue.staleness_warning(options.as_of))
    severities = {r.id: config.severity.get(r.id, r.severity) for r in ALL_RULES}
    waiver_rules = WaiverRules(severities, config.waiver_policy, options.as_of, options.operator)
    waivers, waivers_digest = (
        load_waivers(config.waivers_file, waiver_rules) if config.waivers_file else ([], "")
    )
    # A wrong key fails now, not after the reports are written.
    signing_key = load_private_key(options.signing_key) if options.signing_key else None
    key_sha256 = fingerprint(signing_key.public_key()) if signing_key is not None else ""
    with interruptible() as interrupts, contextlib.ExitStack() as stack:
        history = (
            stack.enter_context(open_history(options.history_path))
            if options.history_path is not None
            else None
        )
        staging = open_staging(config.out_dir, keep=_paths_read(config, options))
        stack.callback(staging.close)
        hook("staged")
        _stage_done("prepare (formats, rules, catalogue, waivers, history)", clock)
        loaded = load_batches(
            config,
            progress=options.progress,
            snapshot_dir=staging.path,
            pulled_snapshot=options.pulled_snapshot,
        )
        readings, fetched = loaded.readings, list(loaded.fetched)
        _stage_done("load", clock)
        inputs = readings.inputs  # as read (paths as given): the manifest and the bundle
        if options.bundle_inputs:
            refuse_url_bundle(inputs)
        gaps = [*readings.gaps, *uncovered_parts(readings.batches, readings.gaps)]
        named = [dataclasses.replace(i, path=input_name(i.path)) for i in inputs]
        batches, reader_notes = list(readings.batches), readings.notes
        del loaded, readings  # normalize lets each kind's raw records go once they are typed
        inventory = normalize(batches, inputs=named, gaps=gaps, notes=reader_notes, consume=True)
        del batches
        release_freed_memory()  # the raw batches: the report model reuses none of their memory
        _stage_done("normalize", clock)
        _refuse_partial(inventory, config)
        _refuse_empty(inventory, options)
        log.info("normalized %d Macs from %d input(s)", len(inventory.devices), len(inputs))
        hook("loaded")
        params = rule_params(config)
        context = EvaluationContext(
            options.as_of, catalogue, params, uncollected=gap_reasons(inventory.gaps)
        )
        results = evaluate(rules, inventory.frames(), context)
        _stage_done("evaluate", clock)
        outcome = apply_waivers(
            results, inventory.frames(), waivers, options.as_of, digest=waivers_digest
        )
        del results  # the waived results replace them (most columns shared)
        is_sample = (options.recorded_source or config.source) == "sample" or is_sample_input(
            inputs
        )
        meta = _meta(config, options, catalogue, inventory, waivers_digest, key_sha256, is_sample)
        notices = _notices(meta, is_sample, history)
        recorded = history if history is not None and not notices_block_history(notices) else None
        comparison = None
        if recorded is not None:
            stack.enter_context(tenant_history_lock(recorded.path, meta.tenant_id))
            bar = current_bar(options.as_of, catalogue, rules, params)
            comparison = recorded.compare(outcome.results, inventory.frames(), meta, bar)
        hook("compared")
        report = build_report(
            outcome.results,
            inventory,
            rules,
            outcome.uses,
            meta,
            comparison.changes if comparison is not None else None,
            pdf_devices_per_rule=config.pdf_devices_per_rule,
            params=params,
            cloud=config.graph.cloud,
            sign_off=SignOff(config.prepared_by, config.reviewed_by),
            notices=notices,
            catalogue=catalogue,
            sla_days=config.sla_days,
            owner_group_by=config.owner_group_by,
        )
        for warning in report.run.warnings:
            log.warning("%s", warning.message)
        _stage_done("waivers, history and report model", clock)
        # Only the report model renders: free the frames it was built from first.
        recorded_inputs = inventory.inputs
        del inventory, outcome
        release_freed_memory()
        written = write_evidence(
            report,
            staging,
            formats=config.formats,
            inputs=inputs,
            fetched=fetched,
            meta=meta,
            signing_key=signing_key,
            record_paths=options.record_paths,
            bundle=_bundle_choices(config, options, catalogue) if options.bundle_inputs else None,
            split_by=options.split_by,
            json_indent=config.json_indent,
        )
        _stage_done("render and manifest", clock)
        with interrupts.held():  # the evidence and its history record change together
            staging.swap_in()
            hook("swapped")
            if recorded is not None and comparison is not None:
                recorded.record(comparison, recorded_inputs)
                _say_later_periods(recorded, meta)
                hook("recorded")
        _stage_done("swap and history", clock)
    return RunResult(
        report=report,
        outputs=tuple(staging.final(p) for p in written.outputs),
        manifest=staging.final(written.manifest),
        failures_by_severity=report.failures_by_severity(),
        new_failures_by_severity=report.new_failures_by_severity(),
    )


def _stage_done(stage: str, clock: Stopwatch) -> None:
    """Log what the stage cost (`-v`; `make bench` reads these lines)."""
    log.info("stage %s: %s", stage, clock.lap())


def _paths_read(config: Config, options: RunOptions) -> list[Path]:
    """Files and folders the run reads: they may lie in --out (a snapshot audited in place)."""
    given = (*config.inputs, config.config_file, config.waivers_file, options.signing_key)
    return [p for p in given if p is not None and "://" not in str(p)]


def _say_later_periods(history: History, meta: RunMeta) -> None:
    """A backfill: later periods were compared without this one, and keep what they recorded."""
    runs = history.list_runs(meta.tenant_id)
    later = sorted(str(p) for p in runs["period"] if str(p) > meta.period)
    if later:
        log.warning(
            "recorded %s of tenant %s after later period(s) %s: their reports and streaks were "
            "computed without it; rerun them to compare them with %s",
            meta.period, meta.tenant_id, ", ".join(later), meta.period,
        )  # fmt: skip


def notices_block_history(notices: Sequence[RunWarning]) -> bool:
    """True when a notice says the run cannot be compared with (or recorded in) the history."""
    return any(n.code == HISTORY_NOT_COMPARED for n in notices)


HISTORY_NOT_COMPARED = "history_not_compared"


def _notices(meta: RunMeta, is_sample: bool, history: History | None) -> list[RunWarning]:
    """What the run itself must tell page one: sample data, a history it could not use."""
    notices = []
    if is_sample:
        notices.append(
            RunWarning(
                "sample_data",
                "SAMPLE DATA: this report audits a fictional sample tenant, not your Macs; "
                "pass --input FILE or --source graph to audit your own.",
            )
        )
    if history is not None and meta.tenant_id == "unknown":
        notices.append(
            RunWarning(
                HISTORY_NOT_COMPARED,
                "The tenant is unknown (no input names it): this run cannot be compared with "
                f"earlier ones and was not recorded in the history ({history.path}).",
            )
        )
    return notices


def _bundle_choices(config: Config, options: RunOptions, catalogue: Catalogue) -> BundleChoices:
    """What `--bundle-inputs` records beside the copies for `verify --rerun`."""
    return BundleChoices(
        config,
        catalogue,
        {
            "as_of": options.as_of.isoformat(),
            "generated_at": options.generated_at.isoformat(),
            "source": options.recorded_source or config.source,
            "operator": options.operator,
            "allow_empty": options.allow_empty,
            "allow_partial": config.graph.allow_partial,
        },
    )


def _refuse_empty(inventory: Inventory, options: RunOptions) -> None:
    """No Mac is not a clean audit: stop (exit 4) saying what was read, unless allowed."""
    if inventory.devices.empty and not options.allow_empty:
        raise SourceError(
            f"no Mac to audit: {what_was_read(inventory)}; pass the Intune macOS inventory, "
            "or --allow-empty to write reports that say the inventory was empty"
        )


def _refuse_partial(inventory: Inventory, config: Config) -> None:
    core = [g for g in inventory.gaps if g.is_core]
    if core and not config.graph.allow_partial:
        parts = "; ".join(f"{g.part}: {g.reason}" for g in core)
        raise PartialSourceError(
            f"inventory incomplete ({parts}); rerun, or pass --allow-partial for a PARTIAL report"
        )


def _meta(
    config: Config,
    options: RunOptions,
    catalogue: Catalogue,
    inventory: Inventory,
    waivers_digest: str,
    signing_key_sha256: str,
    is_sample: bool,
) -> RunMeta:
    tenant_ids = inventory.tenant["tenant_id"].dropna()
    classification = config.classification
    if is_sample and SAMPLE_CLASSIFICATION not in classification.upper():
        classification = SAMPLE_CLASSIFICATION  # fictional Macs never pass for an organisation's
    return RunMeta(
        as_of=options.as_of,
        generated_at=options.generated_at,
        tool_version=__version__,
        organisation=config.organisation,
        classification=classification,
        tenant_id=str(tenant_ids.iloc[0]) if len(tenant_ids) else "unknown",
        source=options.recorded_source or config.source,
        catalogue_as_of=catalogue.as_of,
        catalogue_source=catalogue.source,
        catalogue_age_days=catalogue.age_days(options.as_of),
        catalogue_is_stale=catalogue.is_stale(options.as_of),
        config_digest=config.digest,
        waivers_digest=waivers_digest,
        signing_key_sha256=signing_key_sha256,
        tenant_name=options.tenant_name,
        tenant_groups=options.tenant_groups,
    )
