"""`make bench`: `auditor run` end to end on generated tenants, against a straightforward pipeline.

    python -m bench --devices 100000 [--devices 500000 ...] [--repeat 3] [--snapshot] [--extras]

For each size: the machine's load, then `auditor run` over the generated tenant (100 Graph
list pages per 100k Macs, the device-detail parts, the Devices export and the tenant
objects; json, xlsx and pdf) measured from outside as a process tree — per stage (as the
run logs them with -v) wall and CPU seconds and peak memory, end to end wall, CPU and peak —
then `bench/baseline.py` over the same files in the same run, and the ratio.
`--snapshot` also writes the tenant as a Graph snapshot and times reading it back
(`run --input snapshot.json.gz`). `--extras` runs the component benchmarks kept beside this
file (renderers, ingest shapes, the engine at 500k, the throttled Graph pull).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.e2e import CommandRun, measure, stage_table

AS_OF = dt.date(2026, 9, 1)
FORMATS = "json,xlsx,pdf"


def load() -> str:
    """The machine's load averages (1, 5, 15 min) and core count, as `uptime` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def generate(devices: int, folder: Path) -> float:
    """Write the generated tenant of `devices` Macs; the seconds it took.

    In a child process: this one stays small, so the runs it starts inherit no high-water
    mark (Linux carries `ru_maxrss` across fork and exec, and auditor logs its own).
    """
    started = time.perf_counter()
    script = (
        "import datetime as dt, pathlib, sys\n"
        "from auditor.sample import generate_tenant, write_tenant\n"
        "n, folder, day = int(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]\n"
        "write_tenant(generate_tenant(n, 11, dt.date.fromisoformat(day)), folder, pretty=False)\n"
    )
    command = [sys.executable, "-c", script, str(devices), str(folder), AS_OF.isoformat()]
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def auditor_run(inputs: Path, config: Path | None, out: Path, formats: str) -> CommandRun:
    """`auditor -v run` over `inputs` (a folder or a file), measured as a process tree."""
    command = [sys.executable, "-m", "auditor", "-v", "--log-format", "json", "run",
               "--input", str(inputs), "--as-of", AS_OF.isoformat(), "--no-history",
               "--no-notify", "--format", formats, "--out", str(out)]  # fmt: skip
    if config is not None:
        command += ["--config", str(config)]
    run = measure(command)
    _check(run)
    return run


def _check(run: CommandRun) -> None:
    if run.returncode != 0:
        tail = "\n".join(run.stderr.splitlines()[-15:])
        raise SystemExit(f"{' '.join(run.command[:6])} … failed ({run.returncode}):\n{tail}")


def startup_times(repeat: int = 5) -> None:
    """`auditor --version` and `auditor --help` as a user types them: wall and CPU seconds.

    CPU (user + system of the process) is what a busy shared machine cannot inflate.
    """
    script = Path(sys.executable).with_name("auditor")
    base = [str(script)] if script.is_file() else [sys.executable, "-m", "auditor"]
    for flag in ("--version", "--help"):
        walls, cpus = [], []
        for _ in range(repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([*base, flag], check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        print(
            f"auditor {flag}: {min(walls):.3f} s wall fastest, {statistics.median(walls):.3f} s "
            f"median, {statistics.median(cpus):.3f} s cpu median of {repeat} (goal < 0.3 s)  "
            f"({load()})",
            flush=True,
        )


def bench_size(devices: int, work: Path, args: argparse.Namespace) -> None:
    """Everything `make bench` prints for one tenant size."""
    tenant = work / f"tenant-{devices}"
    print(f"\n{devices:,} Macs  ({load()})", flush=True)
    seconds = generate(devices, tenant)
    size_mb = sum(p.stat().st_size for p in tenant.iterdir()) / 2**20
    files = sum(1 for _ in tenant.iterdir())
    print(f"  generated tenant: {files} files, {size_mb:,.0f} MB in {seconds:.0f} s", flush=True)
    runs = []
    for attempt in range(args.repeat):
        run = auditor_run(tenant, tenant / "auditor.toml", work / "out", args.formats)
        runs.append(run)
        print(
            f"  auditor run #{attempt + 1}: {run.wall_s:.2f} s wall, {run.cpu_s:.2f} s cpu, "
            f"peak {run.peak_pss_mb:,.0f} MB PSS  ({load()})",
            flush=True,
        )
    best = min(runs, key=lambda r: r.wall_s)
    print(f"  auditor run ({args.formats}), fastest of {len(runs)}:")
    print("\n".join(stage_table(best)))
    if len(runs) > 1:
        walls = [r.wall_s for r in runs]
        print(f"    median of {len(runs)}: {statistics.median(walls):.2f} s wall")
    if args.baseline:
        command = [sys.executable, "-m", "bench.baseline", "--tenant", str(tenant),
                   "--out", str(work / "baseline")]  # fmt: skip
        baseline = measure(command)
        _check(baseline)
        print(
            f"  baseline (bench/baseline.py): {baseline.wall_s:.2f} s wall, "
            f"{baseline.cpu_s:.2f} s cpu, peak {baseline.peak_pss_mb:,.0f} MB PSS "
            f"(RSS sum {baseline.peak_rss_mb:,.0f} MB)  ({load()})"
        )
        print(
            f"  auditor vs baseline: {baseline.wall_s / best.wall_s:.1f}x faster (wall), "
            f"{baseline.cpu_s / best.cpu_s:.1f}x less cpu, "
            f"{baseline.peak_pss_mb / best.peak_pss_mb:.1f}x less memory"
        )
    if args.snapshot:
        bench_snapshot(tenant, work, args.formats)
    shutil.rmtree(tenant, ignore_errors=True)


def bench_snapshot(tenant: Path, work: Path, formats: str) -> None:
    """Write the tenant as a Graph snapshot, then time `run --input` of it."""
    path = work / "snapshot.json.gz"
    started = time.perf_counter()
    script = "import pathlib, sys\nfrom bench.snapshot import write_tenant_snapshot\n"
    script += "write_tenant_snapshot(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))\n"
    subprocess.run([sys.executable, "-c", script, str(tenant), str(path)], check=True)
    written = time.perf_counter() - started
    print(
        f"  snapshot written: {path.stat().st_size / 2**20:,.0f} MB in {written:.1f} s",
        flush=True,
    )
    run = auditor_run(path, None, work / "out-snapshot", formats)
    loading = next(s for s in run.stages if s.name == "load")
    print(
        f"  reading it back (run --input snapshot.json.gz): load {loading.wall_s:.2f} s wall, "
        f"{loading.cpu_s:.2f} s cpu, peak {loading.tree_pss_mb or 0:,.0f} MB during load; "
        f"whole run {run.wall_s:.2f} s, peak {run.peak_pss_mb:,.0f} MB  ({load()})"
    )
    path.unlink()


def run_extras(devices: int) -> None:
    """Component benchmarks kept beside this file, each exposing `run(devices) -> dict`."""
    for name, size in (
        ("bench.reports", devices),
        ("bench.ingest", devices),
        ("bench.engine", max(devices, 500_000)),
        ("bench.graph_pull", 20_000),
    ):
        module = importlib.import_module(name)
        print(f"\n{name} ({size:,})", flush=True)
        for key, value in module.run(size).items():
            print(f"  {key:<40} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--devices", type=int, action="append", help="tenant size (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="auditor runs per size")
    parser.add_argument("--formats", default=FORMATS, help=f"for auditor run (default {FORMATS})")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--snapshot", action="store_true", help="also time a snapshot read-back")
    parser.add_argument("--extras", action="store_true", help="also run component benchmarks")
    parser.add_argument("--work", type=Path, help="working folder (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        startup_times()
        for devices in args.devices or [100_000]:
            bench_size(devices, work, args)
            if args.extras:
                run_extras(devices)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
