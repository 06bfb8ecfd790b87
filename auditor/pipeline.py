"""One audit run: load → normalize → evaluate → waive → compare → report → render → manifest."""

from __future__ import annotations

import contextlib
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
from auditor.engine import EvaluationContext, evaluate
from auditor.errors import ConfigError, PartialSourceError
from auditor.evidence import build_manifest, load_private_key, write_manifest
from auditor.history import open_history
from auditor.models import (
    CORE_PARTS,
    PART_FEEDS,
    BatchKind,
    Inventory,
    InventoryPart,
    RawBatch,
    RunMeta,
    Severity,
    SourceGap,
)
from auditor.normalize import normalize
from auditor.refdata.catalogue import Catalogue
from auditor.refdata.catalogue_file import load_catalogue
from auditor.refdata.sofa import preferred_catalogue
from auditor.render import OUTPUT_NAMES, check_format_available
from auditor.render.parallel import render_reports
from auditor.report import Report, build_report
from auditor.rules import ALL_RULES
from auditor.rules.settings import rule_params, select_rules
from auditor.sources.files import Readings, read_files
from auditor.waivers import apply_waivers, load_waivers

log = logging.getLogger(__name__)
SNAPSHOT_NAME = "snapshot.json.gz"


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Per-invocation choices that are not configuration: dates, history, signing."""

    as_of: dt.date
    generated_at: dt.datetime
    history_path: Path | None = None  # None: no history
    signing_key: Path | None = None
    progress: bool = False


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run produced: the report model, the files written, and failure counts."""

    report: Report
    outputs: tuple[Path, ...]
    manifest: Path
    failures_by_severity: dict[Severity, int]
    new_failures_by_severity: dict[Severity, int]


def resolve_catalogue(config: Config) -> Catalogue:
    """The configured catalogue file, else the newer of the user's imported and the bundled."""
    if config.catalogue_path is not None:
        if not config.catalogue_path.exists():
            raise ConfigError(f"catalogue.path: {config.catalogue_path} does not exist")
        return load_catalogue(config.catalogue_path)
    return preferred_catalogue()


@dataclass(frozen=True, slots=True)
class LoadedInputs:
    """The configured source, read: every file's batches, evidence, gaps and reader notes."""

    readings: Readings
    fetched: tuple[Path, ...] = ()  # files this run wrote (the Graph snapshot)


def load_batches(config: Config, options: RunOptions) -> LoadedInputs:
    """Read the configured source into raw batches, their inputs, recorded gaps and notes.

    A Graph pull is saved first as `snapshot.json.gz` in the output folder (the evidence of
    what Graph said), then read like any snapshot; it is returned as `fetched`. Inputs may
    be folders: their files are read (not subfolders) and the ones of no known shape are
    listed in the data-quality notes.
    """
    if config.source == "graph":
        from auditor.sources.graph import fetch_to_file

        config.out_dir.mkdir(parents=True, exist_ok=True)
        snapshot = config.out_dir / SNAPSHOT_NAME
        log.info(fetch_to_file(config.graph, snapshot, progress=options.progress))
        return LoadedInputs(read_files([snapshot]), (snapshot,))
    if config.source == "files" and not config.inputs:
        raise ConfigError("source is 'files' but no input was given: pass --input FILE or DIR")
    paths = list(config.inputs) if config.source == "files" else bundled_sample_files()
    readings = read_files(paths)
    for unread in readings.unrecognised:
        log.warning("not read: %s", unread)
    return LoadedInputs(readings)


def bundled_sample_files() -> list[Path]:
    """The files of the bundled sample tenant (inside the wheel, or at the repo's top level)."""
    here = Path(__file__).resolve().parent
    for folder in (here / "_sample_data", here.parent / "sample_data"):
        if folder.is_dir():
            return tenant_files(folder)
    raise ConfigError("the bundled sample tenant is missing; pass --input FILE")


def tenant_files(folder: Path) -> list[Path]:
    """Inventory files of a folder written by `auditor sample`.

    `expected.json` beside them is the sample's answer key for tests, not inventory.
    """
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in (".json", ".csv", ".gz", ".zip") and p.name != "expected.json"
    )


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
    known = {r.id for r in ALL_RULES}
    waivers, waivers_digest = (
        load_waivers(config.waivers_file, known) if config.waivers_file else ([], "")
    )
    # A wrong key fails now, not after the reports are written.
    signing_key = load_private_key(options.signing_key) if options.signing_key else None
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
        loaded = load_batches(config, options)
        readings, fetched = loaded.readings, list(loaded.fetched)
        _stage_done("load", clock)
        gaps = [*readings.gaps, *_uncovered_parts(readings.batches, readings.gaps)]
        inventory = normalize(
            readings.batches, inputs=readings.inputs, gaps=gaps, notes=readings.notes
        )
        del loaded, readings
        _stage_done("normalize", clock)
        _refuse_partial(inventory, config)
        log.info(
            "normalized %d Macs from %d input(s)", len(inventory.devices), len(inventory.inputs)
        )
        params = rule_params(config)
        context = EvaluationContext(options.as_of, catalogue, params)
        results = evaluate(rules, inventory.frames(), context)
        _stage_done("evaluate", clock)
        outcome = apply_waivers(
            results, inventory.frames(), waivers, options.as_of, digest=waivers_digest
        )
        meta = _meta(config, options, catalogue, inventory, waivers_digest)
        comparison = (
            history.compare(outcome.results, inventory.frames(), meta)
            if history is not None
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
        )
        _stage_done("waivers, history and report model", clock)
        inputs = inventory.inputs
        # Only the report model renders: free the frames it was built from first.
        del inventory, results, outcome
        inside = [Path(i.path) for i in inputs if _is_inside(Path(i.path), out_dir)]
        outputs = _render(report, config, staging, keep=[*fetched, *inside])
        _stage_done("render", clock)
        manifest = write_manifest(
            out_dir,
            build_manifest(out_dir, [*fetched, *outputs], inputs, meta),
            key=signing_key,
        )
        if history is not None and comparison is not None:
            history.record(comparison, inputs)
        _stage_done("manifest and history", clock)
    return RunResult(
        report=report,
        outputs=(*fetched, *outputs),
        manifest=manifest,
        failures_by_severity=report.failures_by_severity(),
        new_failures_by_severity=report.new_failures_by_severity(),
    )


# Which raw kinds carry each part of the inventory when it comes from files, and what to add.
_CARRIERS: dict[InventoryPart, tuple[tuple[BatchKind, ...], str]] = {
    InventoryPart.MANAGED_DEVICES: (
        (BatchKind.GRAPH_DEVICES, BatchKind.ADMIN_CENTER_CSV, BatchKind.EXPORT_DEVICES,
         BatchKind.DEVICES_LOG),
        "add the Macs: a Graph managedDevices list, a Devices export or the admin-center export",
    ),
    InventoryPart.DEVICE_DETAILS: (
        (BatchKind.GRAPH_DEVICE_DETAILS,),
        "add single-device GETs with $select (`auditor fetch` collects them; docs/inputs.md)",
    ),
    InventoryPart.EXPORT_DEVICES: (
        (BatchKind.EXPORT_DEVICES,),
        "add the reports-export Devices report (docs/inputs.md)",
    ),
    InventoryPart.APNS: ((BatchKind.APNS,), "add GET applePushNotificationCertificate"),
    InventoryPart.ADE_TOKENS: ((BatchKind.ADE_TOKENS,), "add GET depOnboardingSettings"),
    InventoryPart.ENROLLMENT_CONFIGURATIONS: (
        (BatchKind.ENROLLMENT_CONFIGURATIONS,),
        "add GET deviceEnrollmentConfigurations",
    ),
}  # fmt: skip


def _stage_done(stage: str, clock: Stopwatch) -> None:
    """Log what the stage cost (`-v`; `make bench` reads these lines)."""
    log.info("stage %s: %s", stage, clock.lap())


def _uncovered_parts(batches: Sequence[RawBatch], gaps: Sequence[SourceGap]) -> list[SourceGap]:
    """Gaps for the parts no input carried, so fewer inputs never read as a cleaner tenant.

    Each names the input that would carry the part.
    """
    kinds = {b.kind for b in batches}
    recorded = {g.part for g in gaps}
    return [
        SourceGap(part, f"no input carried it; {add}", PART_FEEDS[part], part in CORE_PARTS)
        for part, (carriers, add) in _CARRIERS.items()
        if part not in recorded and not kinds & set(carriers)
    ]


def _is_inside(path: Path, folder: Path) -> bool:
    """True when `path` lies in `folder` (an input re-audited in place must not be removed)."""
    return path.resolve().parent == folder.resolve()


def _remove_if_empty(folder: Path) -> None:
    """Undo creating the output folder when a failed run left nothing in it."""
    with contextlib.suppress(OSError):
        folder.rmdir()


def _refuse_partial(inventory: Inventory, config: Config) -> None:
    core = [g for g in inventory.gaps if g.is_core]
    if core and not config.graph.allow_partial:
        parts = "; ".join(f"{g.part}: {g.reason}" for g in core)
        raise PartialSourceError(f"inventory incomplete ({parts}); rerun or pass --allow-partial")


def _meta(
    config: Config,
    options: RunOptions,
    catalogue: Catalogue,
    inventory: Inventory,
    waivers_digest: str,
) -> RunMeta:
    tenant_ids = inventory.tenant["tenant_id"].dropna()
    return RunMeta(
        as_of=options.as_of,
        generated_at=options.generated_at,
        tool_version=__version__,
        organisation=config.organisation,
        classification=config.classification,
        tenant_id=str(tenant_ids.iloc[0]) if len(tenant_ids) else "unknown",
        source=config.source,
        catalogue_as_of=catalogue.as_of,
        catalogue_source=catalogue.source,
        catalogue_age_days=catalogue.age_days(options.as_of),
        catalogue_is_stale=catalogue.is_stale(options.as_of),
        config_digest=config.digest,
        waivers_digest=waivers_digest,
    )


def _render(report: Report, config: Config, staging: Path, keep: Sequence[Path]) -> list[Path]:
    """Render every format into `staging` (both cores), then move them into the output folder."""
    out_dir = config.out_dir
    staged = render_reports(report, config.formats, staging, json_indent=config.json_indent)
    final = []
    for path in staged:
        target = out_dir / path.name
        path.replace(target)
        final.append(target)
    # Reports of an earlier run in this folder would no longer match the new manifest.
    produced = {p.name for p in (*final, *keep)}
    for name in (*OUTPUT_NAMES.values(), SNAPSHOT_NAME):
        stale = out_dir / name
        if name not in produced and stale.is_file():
            log.info("removing %s left by an earlier run", stale)
            stale.unlink()
    return final
