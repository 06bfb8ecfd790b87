"""One audit run: load → normalize → evaluate → waive → compare → report → render → manifest.

A run with no Mac stops (exit 4) unless allowed; reports name inputs by file name; a run whose
tenant is unknown is neither compared with nor recorded in the history (whose runs are keyed
by tenant); with `bundle_inputs` every input is copied into the evidence folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor import __version__
from auditor.clock import Stopwatch
from auditor.config import Config
from auditor.engine import EvaluationContext, evaluate, gap_reasons
from auditor.errors import ConfigError, PartialSourceError, SourceError
from auditor.evidence import build_manifest, load_private_key, write_manifest
from auditor.evidence.bundle import RUN_FILE, Bundle, remove_bundle, write_bundle
from auditor.evidence.keys import fingerprint
from auditor.history import History, current_bar, open_history
from auditor.models import InputFile, Inventory, RunMeta, Severity
from auditor.normalize import normalize
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
from auditor.refdata.catalogue import Catalogue
from auditor.render import OUTPUT_NAMES, check_format_available
from auditor.render.action_plan_csv import PREFIX as ACTION_PLAN_PREFIX
from auditor.render.action_plan_csv import write_action_plans
from auditor.render.parallel import render_reports
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

    Reports are rendered into a staging folder and moved into place only when every format
    succeeded, so an interrupted or failed run never leaves a half-written report behind.
    The history database is opened first (an unusable one stops the run before any work)
    and the run is recorded only after its reports exist.
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
    out_dir = config.out_dir
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir}: exists and is not a directory")
    with contextlib.ExitStack() as stack:
        if not out_dir.exists():
            out_dir.mkdir(parents=True)
            stack.callback(_remove_if_empty, out_dir)
        history = (
            stack.enter_context(open_history(options.history_path))
            if options.history_path is not None
            else None
        )
        staging = Path(tempfile.mkdtemp(prefix=".auditor-", dir=out_dir))
        stack.callback(shutil.rmtree, staging, ignore_errors=True)
        _stage_done("prepare (formats, rules, catalogue, waivers, history)", clock)
        loaded = load_batches(config, progress=options.progress)
        readings, fetched = loaded.readings, list(loaded.fetched)
        inputs = readings.inputs  # as read (paths as given): the manifest and the bundle
        _stage_done("load", clock)
        gaps = [*readings.gaps, *uncovered_parts(readings.batches, readings.gaps)]
        named = [dataclasses.replace(i, path=input_name(i.path)) for i in inputs]
        inventory = normalize(readings.batches, inputs=named, gaps=gaps, notes=readings.notes)
        del loaded, readings
        _stage_done("normalize", clock)
        _refuse_partial(inventory, config)
        _refuse_empty(inventory, options)
        log.info("normalized %d Macs from %d input(s)", len(inventory.devices), len(inputs))
        params = rule_params(config)
        context = EvaluationContext(
            options.as_of, catalogue, params, uncollected=gap_reasons(inventory.gaps)
        )
        results = evaluate(rules, inventory.frames(), context)
        _stage_done("evaluate", clock)
        outcome = apply_waivers(
            results, inventory.frames(), waivers, options.as_of, digest=waivers_digest
        )
        is_sample = (options.recorded_source or config.source) == "sample" or is_sample_input(
            inputs
        )
        meta = _meta(config, options, catalogue, inventory, waivers_digest, key_sha256, is_sample)
        notices = _notices(meta, is_sample, history)
        bar = current_bar(options.as_of, catalogue, rules, params)
        comparison = (
            history.compare(outcome.results, inventory.frames(), meta, bar)
            if history is not None and not notices_block_history(notices)
            else None
        )
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
        del inventory, results, outcome
        inside = [Path(i.path) for i in inputs if _is_inside(Path(i.path), out_dir)]
        outputs = _render(report, config, staging, [*fetched, *inside], options.split_by)
        _stage_done("render", clock)
        bundle = (
            _bundle(config, options, catalogue, inputs, out_dir) if options.bundle_inputs else None
        )
        if bundle is None and remove_bundle(out_dir):
            log.info("removed the input bundle an earlier run left in %s", out_dir)
        manifest = write_manifest(
            out_dir,
            build_manifest(
                out_dir,
                [*fetched, *outputs, *(bundle.files if bundle else ())],
                inputs,
                meta,
                record_paths=options.record_paths,
                input_copies=bundle.input_copies if bundle else None,
                bundle=RUN_FILE if bundle else None,
            ),
            key=signing_key,
        )
        if history is not None and comparison is not None:
            history.record(comparison, recorded_inputs)
        _stage_done("manifest and history", clock)
    return RunResult(
        report=report,
        outputs=(*fetched, *outputs),
        manifest=manifest,
        failures_by_severity=report.failures_by_severity(),
        new_failures_by_severity=report.new_failures_by_severity(),
    )


def _is_inside(path: Path, folder: Path) -> bool:
    """True when `path` lies in `folder` (an input re-audited in place must not be removed)."""
    return path.resolve().parent == folder.resolve()


def _remove_if_empty(folder: Path) -> None:
    """Undo creating the output folder when a failed run left nothing in it."""
    with contextlib.suppress(OSError):
        folder.rmdir()


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


def _bundle(
    config: Config,
    options: RunOptions,
    catalogue: Catalogue,
    inputs: Sequence[InputFile],
    out_dir: Path,
) -> Bundle:
    """Copy what the run read into the evidence folder, with what `verify --rerun` needs."""
    if any("://" in i.path for i in inputs):
        raise ConfigError("--bundle-inputs copies input files; an input is a URL")
    return write_bundle(
        out_dir,
        [Path(i.path) for i in inputs],
        config_file=config.config_file,
        waivers_file=config.waivers_file,
        catalogue=catalogue,
        run={
            "as_of": options.as_of.isoformat(),
            "generated_at": options.generated_at.isoformat(),
            "source": options.recorded_source or config.source,
            "operator": options.operator,
            "allow_empty": options.allow_empty,
            "allow_partial": config.graph.allow_partial,
            "tool_version": __version__,
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
    )


def _stage_done(stage: str, clock: Stopwatch) -> None:
    """Log what the stage cost (`-v`; `make bench` reads these lines)."""
    log.info("stage %s: %s", stage, clock.lap())


def _render(
    report: Report, config: Config, staging: Path, keep: Sequence[Path], split_by: str | None
) -> list[Path]:
    """Render every format (both cores) and split action plans into `staging`, then move them."""
    out_dir = config.out_dir
    staged = render_reports(report, config.formats, staging, json_indent=config.json_indent)
    if split_by is not None:
        staged += write_action_plans(report, staging, split_by)
    final = []
    for path in staged:
        target = out_dir / path.name
        path.replace(target)
        final.append(target)
    # Reports of an earlier run in this folder would no longer match the new manifest.
    produced = {p.name for p in (*final, *keep)}
    earlier_plans = [p.name for p in out_dir.glob(f"{ACTION_PLAN_PREFIX}*.csv")]
    for name in (*OUTPUT_NAMES.values(), SNAPSHOT_NAME, *earlier_plans):
        stale = out_dir / name
        if name not in produced and stale.is_file():
            log.info("removing %s left by an earlier run", stale)
            stale.unlink()
    return final
