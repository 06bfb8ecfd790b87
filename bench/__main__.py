"""`make bench`: the whole pipeline on generated tenants, stage by stage.

    python -m bench --devices 100000 [--devices 500000 ...] [--skip-pdf] [--extras]

Prints, per stage, seconds, rows/s and peak RSS (sampled every 10 ms) with the growth over the
stage's start. `--extras` also runs the component benchmarks other modules keep in bench/
(the naive to_excel baseline, ingest from CSV, the throttled Graph pull).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import shutil
import tempfile
from pathlib import Path

from bench.measure import Stage, bench_meta, stage

AS_OF = dt.date(2026, 9, 1)


def run_pipeline(devices: int, out: Path, *, pdf: bool = True) -> list[Stage]:
    """Generate a tenant of `devices` Macs and time every pipeline stage over it."""
    from auditor.config import Config
    from auditor.engine import EvaluationContext, evaluate
    from auditor.normalize import normalize
    from auditor.pipeline import resolve_catalogue, tenant_files
    from auditor.render import OUTPUT_NAMES, RENDERERS
    from auditor.report import build_report
    from auditor.rules.settings import rule_params, select_rules
    from auditor.sample import generate_tenant, write_tenant
    from auditor.sources.files import read_files
    from auditor.waivers import apply_waivers

    stages: list[Stage] = []
    print(f"\n{devices:,} devices", flush=True)
    tenant_dir = out / f"tenant-{devices}"
    with stage("generate sample tenant", stages, devices):
        write_tenant(generate_tenant(devices, 11, AS_OF), tenant_dir, pretty=False)
    inputs_paths = tenant_files(tenant_dir)
    with stage("load (read inputs)", stages, devices) as s:
        readings = read_files(inputs_paths)
        batches, inputs = readings.batches, readings.inputs
        s.extra["MB"] = round(sum(p.stat().st_size for p in inputs_paths) / 2**20)
    with stage("normalize", stages, devices):
        inventory = normalize(batches, inputs=inputs)
    del batches
    config = Config()
    rules = select_rules(config)
    catalogue = resolve_catalogue(config)
    context = EvaluationContext(AS_OF, catalogue, rule_params(config))
    with stage(f"evaluate ({len(rules)} rules)", stages, devices) as s:
        results = evaluate(rules, inventory.frames(), context)
        s.extra["results"] = f"{len(results):,}"
    with stage("waivers + report model", stages, devices):
        outcome = apply_waivers(results, inventory.frames(), [], AS_OF)
        meta = bench_meta(catalogue, AS_OF)
        report = build_report(
            outcome.results, inventory, rules, outcome.uses, meta, params=rule_params(config)
        )
    for fmt in (f for f in OUTPUT_NAMES if pdf or f != "pdf"):
        target = out / f"{devices}-{OUTPUT_NAMES[fmt]}"
        with stage(f"render {fmt}", stages, devices) as s:
            RENDERERS[fmt](report, target)
        s.extra["MB"] = round(target.stat().st_size / 2**20, 1)
    shutil.rmtree(tenant_dir, ignore_errors=True)
    return stages


def run_extras(devices: int) -> None:
    """Component benchmarks kept beside this file, each exposing `run(devices) -> dict`."""
    for name, size in (
        ("bench.reports", devices),
        ("bench.ingest", devices),
        ("bench.engine", max(devices, 500_000)),
        ("bench.graph_pull", 20_000),
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            print(f"  ({name} not present)")
            continue
        print(f"\n{name} ({size:,})", flush=True)
        for key, value in module.run(size).items():
            print(f"  {key:<40} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--devices", type=int, action="append", help="tenant size (repeatable)")
    parser.add_argument("--skip-pdf", action="store_true")
    parser.add_argument("--extras", action="store_true", help="also run component benchmarks")
    parser.add_argument("--out", type=Path, help="keep outputs here (default: a temp dir)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    for devices in args.devices or [100_000]:
        stages = run_pipeline(devices, out, pdf=not args.skip_pdf)
        total = sum(s.seconds for s in stages[1:])
        peak = max(s.rss_peak for s in stages) / 2**20
        print(f"  {'total (excluding generation)':<28} {total:8.2f} s  peak {peak:,.0f} MB")
        if args.extras:
            run_extras(devices)
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
