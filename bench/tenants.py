"""Many tenants (issue 20): `auditor run --tenants` over N loopback Graph tenants of M Macs each.

    python -m bench.tenants --tenants 200 --macs 300 [--baseline-sample 10] [--scale 0.1]
    python -m bench.tenants --tenants 6 --macs 40 --baseline-sample 2      # a smoke check

Every tenant is its own Graph server (tests/graph_server.py: its own data, token and rate limit),
spread over up to four server processes so that no server shares an interpreter with auditor.
Each enforces Intune's 2,000 requests per 20 s per app per tenant with the window scaled in time
as bench/graph_pull.py does (default 1/10: 2,000 per 2 s). Measured as a process tree
(bench/e2e.py): the one `auditor run --tenants` (wall, CPU, peak PSS) and the Graph throttling
floor, the least time the limits alone impose on the requests each tenant made:
`max(max floor_i, sum floor_i / concurrency)`. The per-tenant overhead is the wall time beyond
that floor divided by the number of tenants. Then, in the same run, the straightforward
baseline: the same tenants one after another, each a single-tenant `auditor run --source graph`
against a fresh server with the same data; on a sample of tenants (--baseline-sample K, 0 for
all), extrapolated to all of them and labelled so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.e2e import CommandRun, measure
from bench.graph_pull import INTUNE_LIMIT, INTUNE_WINDOW_S, floor_s

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
AS_OF = "2026-09-01"
FORMATS = "json,xlsx,pdf"
HOSTS = 4  # server processes at most


@dataclass(frozen=True)
class Tenant:
    index: int
    name: str
    tenant_id: str
    token: str
    url: str = ""

    @property
    def token_env(self) -> str:
        """The variable tenants.toml reads this tenant's token from (INTERFACE.md's default)."""
        return f"AUDITOR_{self.name.upper().replace('-', '_')}_GRAPH_TOKEN"


def make_tenants(count: int) -> list[Tenant]:
    """`count` tenants, each with its own name, directory id and token."""
    return [
        Tenant(
            i,
            f"tenant-{i:03d}",
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://bench.example/tenants/{i}")),
            f"bench-token-{i}",
        )
        for i in range(count)
    ]


def serve(macs: int, window_s: float, indexes: list[int]) -> None:
    """In a server process: one rate-limited GraphServer per tenant index, URLs printed in order."""
    sys.path.insert(0, str(TESTS))
    from graph_server import GraphServer  # tests/ is no package: imported in the server process

    wanted = set(indexes)
    servers = []
    for tenant in (t for t in make_tenants(max(indexes) + 1) if t.index in wanted):
        server = GraphServer(
            macs, seed=tenant.index + 1, accepted_tokens=[tenant.token],
            rate_limit=(INTUNE_LIMIT, window_s), export_polls=1,
        )  # fmt: skip
        servers.append(server.start())
        print(server.url, flush=True)
    sys.stdin.read()
    for server in servers:
        server.stop()


class Servers:
    """The Graph servers of `chosen` tenants, in up to HOSTS processes; `.tenants` have URLs."""

    def __init__(self, chosen: list[Tenant], macs: int, window_s: float) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        found: list[Tenant] = []
        hosts = max(1, min(HOSTS, len(chosen)))
        for part in (chosen[h::hosts] for h in range(hosts)):
            command = [sys.executable, "-m", "bench.tenants", "serve", "--macs", str(macs),
                       "--window", str(window_s), *(str(t.index) for t in part)]  # fmt: skip
            process = subprocess.Popen(
                command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            self.processes.append(process)
            assert process.stdout is not None
            found += [replace(t, url=process.stdout.readline().strip()) for t in part]
        self.tenants = sorted(found, key=lambda t: t.index)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per tenant: the Graph requests its server saw ($batch members counted) and its 429s."""
        found = {}
        for tenant in self.tenants:
            with urllib.request.urlopen(tenant.url.removesuffix("/v1.0") + "/_stats") as answer:
                found[tenant.name] = json.load(answer)
        return found

    def server_cpu_s(self) -> float:
        """CPU seconds of the server processes (each server reports its process's time)."""
        stats = self.stats()
        hosts = max(1, min(HOSTS, len(self.tenants)))
        return sum(stats[self.tenants[h].name]["cpu_s"] for h in range(hosts))

    def close(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in self.processes:
            process.wait(timeout=60)


@contextmanager
def environment(extra: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `extra` set, for the measured child processes (they inherit it)."""
    saved = dict(os.environ)
    os.environ.update(extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def tenants_file(chosen: list[Tenant], path: Path) -> Path:
    """tenants.toml (INTERFACE.md) for the chosen tenants: names, ids, their servers."""
    path.write_text(
        "".join(
            f'[[tenant]]\nname = "{t.name}"\ntenant_id = "{t.tenant_id}"\n'
            f'display_name = "Bench customer {t.index}"\ngraph_url = "{t.url}"\n\n'
            for t in chosen
        ),
        encoding="utf-8",
    )
    return path


def run_tenants(servers: Servers, work: Path, args: argparse.Namespace) -> CommandRun:
    """The one `auditor run --tenants` over every tenant, measured as a process tree."""
    command = [sys.executable, "-m", "auditor", "run",
               "--tenants", str(tenants_file(servers.tenants, work / "tenants.toml")),
               "--out", str(work / "reports" / "{tenant}" / "{period}"), "--as-of", AS_OF,
               "--history", str(work / "history.sqlite"), "--no-notify",
               "--format", args.formats, "--concurrency", str(args.concurrency)]  # fmt: skip
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    with environment({t.token_env: t.token for t in servers.tenants}):
        return measure(command)


def run_one(tenant: Tenant, work: Path, formats: str) -> CommandRun:
    """One single-tenant `auditor run --source graph`, as a user would script it per tenant."""
    command = [sys.executable, "-m", "auditor", "run", "--source", "graph",
               "--graph-url", tenant.url, "--out", str(work / "baseline" / tenant.name / "2026-09"),
               "--as-of", AS_OF, "--history", str(work / "baseline-history.sqlite"),
               "--no-notify", "--format", formats]  # fmt: skip
    with environment({"AUDITOR_GRAPH_TOKEN": tenant.token, "AZURE_TENANT_ID": tenant.tenant_id}):
        return measure(command)


def throttling_floor_s(requests: list[int], window_s: float, concurrency: int) -> float:
    """Least wall time the per-tenant limits impose with `concurrency` tenants in flight."""
    floors = [floor_s(r, INTUNE_LIMIT, window_s) for r in requests]
    return max(max(floors, default=0.0), sum(floors) / max(1, concurrency))


def has_tenants_flag() -> bool:
    """Whether this checkout's `auditor run` takes --tenants (issue 20)."""
    from auditor.cli import cli

    return any("--tenants" in p.opts for p in cli.commands["run"].params)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def outcome_counts(reports: Path) -> tuple[int, int]:
    """Tenant folders holding findings.json, and holding failure.json."""
    return len(list(reports.glob("*/*/findings.json"))), len(list(reports.glob("*/*/failure.json")))


def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Everything `make bench-tenants` prints, returned as one record too."""
    window_s = INTUNE_WINDOW_S * args.scale
    everyone = make_tenants(args.tenants)
    workers = "default" if args.workers is None else args.workers
    print(
        f"{args.tenants} tenants × {args.macs} Macs; Graph limit {INTUNE_LIMIT} requests per "
        f"{window_s:g} s per tenant (Intune's {INTUNE_WINDOW_S:g} s × {args.scale:g}); "
        f"concurrency {args.concurrency}, workers {workers}  ({load()})",
        flush=True,
    )
    record: dict[str, Any] = {"tenants": args.tenants, "macs": args.macs, "scale": args.scale,
                              "window_s": window_s, "concurrency": args.concurrency}  # fmt: skip
    if has_tenants_flag():
        record |= bench_tenants(everyone, work, args, window_s)
    else:
        print("  auditor run --tenants is not in this checkout (issue 20): baseline only")
    sample = everyone if args.baseline_sample == 0 else everyone[: args.baseline_sample]
    if sample:
        record |= bench_baseline(sample, work, args, window_s)
    if "wall_s" in record and "baseline_wall_s" in record:
        ratio = record["baseline_wall_s"] / record["wall_s"]
        record["speedup"] = round(ratio, 1)
        print(f"  auditor run --tenants vs the baseline: {ratio:.1f}x faster (wall)")
    return record


def bench_tenants(
    everyone: list[Tenant], work: Path, args: argparse.Namespace, window_s: float
) -> dict[str, Any]:
    """Start the servers, run `auditor run --tenants` once, read the servers' counts."""
    started = time.perf_counter()
    servers = Servers(everyone, args.macs, window_s)
    up_s = time.perf_counter() - started
    print(f"  {len(servers.processes)} server processes up in {up_s:.1f} s", flush=True)
    try:
        run = run_tenants(servers, work, args)
        stats = servers.stats()
        server_cpu = servers.server_cpu_s()
    finally:
        servers.close()
    ok, failed = outcome_counts(work / "reports")
    if run.returncode not in (0, 9):
        tail = "\n".join(run.stderr.splitlines()[-20:])
        raise SystemExit(f"auditor run --tenants failed ({run.returncode}):\n{tail}")
    requests = [s["requests"] for s in stats.values()]
    floor = throttling_floor_s(requests, window_s, args.concurrency)
    overhead = (run.wall_s - floor) / len(everyone)
    print(
        f"  auditor run --tenants: {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s cpu, peak "
        f"{run.peak_pss_mb:,.0f} MB PSS (RSS sum {run.peak_rss_mb:,.0f} MB); exit "
        f"{run.returncode}; {ok} evidence folders, {failed} failures  ({load()})\n"
        f"  Graph: {sum(requests):,} requests ({min(requests)}–{max(requests)} per tenant, "
        f"median {statistics.median(requests):.0f}), {sum(s['throttled'] for s in stats.values())}"
        f" answered 429; server processes {server_cpu:.1f} s cpu\n"
        f"  throttling floor {floor:.1f} s; beyond it {run.wall_s - floor:.1f} s = {overhead:.2f} s"
        f" per tenant; {run.cpu_s / len(everyone):.2f} s cpu per tenant\n"
        f"  at Intune's real {INTUNE_WINDOW_S:g} s window: floor {floor / args.scale:.0f} s + the "
        f"same overhead ≈ {floor / args.scale + run.wall_s - floor:.0f} s",
        flush=True,
    )
    return {
        "wall_s": round(run.wall_s, 2), "cpu_s": round(run.cpu_s, 2),
        "peak_pss_mb": round(run.peak_pss_mb), "exit": run.returncode,
        "evidence_folders": ok, "failures": failed, "graph_requests": sum(requests),
        "requests_per_tenant_max": max(requests), "server_429s": sum(
            s["throttled"] for s in stats.values()),
        "floor_s": round(floor, 2), "overhead_per_tenant_s": round(overhead, 3),
        "cpu_per_tenant_s": round(run.cpu_s / len(everyone), 3),
    }  # fmt: skip


def bench_baseline(
    sample: list[Tenant], work: Path, args: argparse.Namespace, window_s: float
) -> dict[str, Any]:
    """The same tenants one after another, each its own single-tenant run (fresh servers)."""
    servers = Servers(sample, args.macs, window_s)
    try:
        runs = [run_one(tenant, work, args.formats) for tenant in servers.tenants]
        stats = servers.stats()
    finally:
        servers.close()
    bad = [r for r in runs if r.returncode != 0]
    if bad:
        tail = "\n".join(bad[0].stderr.splitlines()[-20:])
        raise SystemExit(f"a single-tenant run failed ({bad[0].returncode}):\n{tail}")
    wall = sum(r.wall_s for r in runs)
    floors = sum(floor_s(s["requests"], INTUNE_LIMIT, window_s) for s in stats.values())
    scale_up = args.tenants / len(sample)
    label = "" if len(sample) == args.tenants else (
        f", EXTRAPOLATED from {len(sample)} of {args.tenants} tenants (×{scale_up:g})")  # fmt: skip
    print(
        f"  baseline (single-tenant `auditor run --source graph`, one after another{label}): "
        f"{wall * scale_up:.1f} s wall, {sum(r.cpu_s for r in runs) * scale_up:.1f} s cpu, peak "
        f"{max(r.peak_pss_mb for r in runs):,.0f} MB PSS; {wall / len(runs):.2f} s per tenant, "
        f"{(wall - floors) / len(runs):.2f} s of it beyond the throttling floor  ({load()})",
        flush=True,
    )
    return {
        "baseline_wall_s": round(wall * scale_up, 2),
        "baseline_sampled_tenants": len(sample),
        "baseline_per_tenant_s": round(wall / len(runs), 3),
        "baseline_overhead_per_tenant_s": round((wall - floors) / len(runs), 3),
        "baseline_peak_pss_mb": round(max(r.peak_pss_mb for r in runs)),
    }


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        server = argparse.ArgumentParser(prog="python -m bench.tenants serve")
        server.add_argument("--macs", type=int, required=True)
        server.add_argument("--window", type=float, required=True)
        server.add_argument("indexes", type=int, nargs="+")
        options = server.parse_args(sys.argv[2:])
        serve(options.macs, options.window, options.indexes)
        return
    parser = argparse.ArgumentParser(prog="python -m bench.tenants", description=__doc__)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--macs", type=int, default=300, help="Macs per tenant")
    parser.add_argument("--scale", type=float, default=1 / 10, help="time scale of Intune's window")
    parser.add_argument("--concurrency", type=int, default=4, help="run --concurrency")
    parser.add_argument("--workers", type=int, help="run --workers (default: auditor's)")
    parser.add_argument("--formats", default=FORMATS, help=f"report formats (default {FORMATS})")
    parser.add_argument(
        "--baseline-sample", type=int, default=10,
        help="tenants the baseline runs one by one, then extrapolates (0: all of them)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--work", type=Path, help="working folder (default: a temp dir, removed)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="auditor-bench-tenants-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        record = bench(args, work)
        if args.json:
            args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
