"""End to end: a command over a generated tenant, measured from outside as a process tree.

`measure(command)` runs the command and samples every 50 ms the resident memory of the
process and all its descendants (the workbook child included): the sum of RSS, which counts
pages a forked child shares with its parent twice, and the sum of PSS, which splits shared
pages between the processes sharing them (the memory the run really takes). CPU seconds are
the user + system time of the whole tree (`RUSAGE_CHILDREN`). `auditor -v --log-format
json` reports its own stages (`stage NAME: …`, `rendered FILE: …`); each stage's peak is
the highest tree sample inside its window.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

_PAGE = os.sysconf("SC_PAGE_SIZE")
_LAP = re.compile(
    r"^(?:stage (?P<stage>.+?)|rendered (?P<file>.+?)(?P<child> in a child process)?): "
    r"(?P<wall>[\d.]+) s wall, (?P<cpu>[\d.]+) s cpu(?:, peak (?P<peak>\d+) MB)?$"
)


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # time.time()
    rss: int  # bytes, summed over the tree
    pss: int
    processes: int


@dataclass(frozen=True, slots=True)
class StageFigures:
    name: str
    wall_s: float
    cpu_s: float
    process_peak_mb: int | None  # that process's own peak so far (getrusage)
    tree_pss_mb: float | None  # highest tree PSS sampled during the stage
    ended_at: float


@dataclass
class CommandRun:
    command: list[str]
    wall_s: float
    cpu_s: float
    returncode: int
    samples: list[Sample]
    stderr: str
    stages: list[StageFigures] = field(default_factory=list)

    @property
    def peak_pss_mb(self) -> float:
        return max((s.pss for s in self.samples), default=0) / 2**20

    @property
    def peak_rss_mb(self) -> float:
        return max((s.rss for s in self.samples), default=0) / 2**20

    def peak_between(self, start: float, end: float) -> float | None:
        inside = [s.pss for s in self.samples if start - 0.05 <= s.at <= end + 0.05]
        return max(inside) / 2**20 if inside else None


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(parent, []).append(int(entry))
    return tree


def _memory(pid: int) -> tuple[int, int]:
    """RSS and PSS of one process in bytes (0, 0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            rss = int(statm.read().split()[1]) * _PAGE
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return rss, int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0, 0


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.samples: list[Sample] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            tree, pending, pids = _children(), [self.pid], []
            while pending:
                pid = pending.pop()
                pids.append(pid)
                pending += tree.get(pid, [])
            sizes = [_memory(pid) for pid in pids]
            self.samples.append(
                Sample(time.time(), sum(r for r, _ in sizes), sum(p for _, p in sizes), len(pids))
            )
            self._done.wait(self.interval_s)

    def stop(self) -> list[Sample]:
        self._done.set()
        self.join()
        return self.samples


def measure(command: Sequence[str], *, cwd: Path | None = None) -> CommandRun:
    """Run `command`, sampling its process tree; its stages if it logs them (auditor -v)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    sampler = _TreeSampler(process.pid)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    samples = sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run = CommandRun(list(command), wall, cpu, process.returncode, samples, stderr)
    run.stages = _stages(run)
    return run


def _stages(run: CommandRun) -> list[StageFigures]:
    """The stage and render lines auditor logged (JSON log lines on stderr)."""
    stages = []
    for line in run.stderr.splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        match = _LAP.match(str(record.get("message", "")))
        if match is None:
            continue
        ended = dt.datetime.fromisoformat(record["time"]).timestamp()
        wall = float(match["wall"])
        name = match["stage"] or (
            f"  {match['file']}" + (" (child process)" if match["child"] else "")
        )
        peak = int(match["peak"]) if match["peak"] else None
        stages.append(
            StageFigures(
                name, wall, float(match["cpu"]), peak, run.peak_between(ended - wall, ended), ended
            )
        )
    return stages


def stage_table(run: CommandRun) -> list[str]:
    """Printable lines: each stage (render's files indented), then the end-to-end figures."""
    lines = [
        f"    {'stage':<50} {'wall s':>7} {'cpu s':>7} {'tree PSS MB':>12} {'proc peak MB':>13}"
    ]
    files: list[StageFigures] = []  # logged before the render stage they belong to
    for s in run.stages:
        if s.name.startswith(" "):
            files.append(s)
            continue
        for line in (s, *files):
            pss = "" if line.tree_pss_mb is None else f"{line.tree_pss_mb:,.0f}"
            own = "" if line.process_peak_mb is None else f"{line.process_peak_mb:,}"
            lines.append(
                f"    {line.name:<50} {line.wall_s:7.2f} {line.cpu_s:7.2f} {pss:>12} {own:>13}"
            )
        files = []
    staged = [s for s in run.stages if not s.name.startswith(" ")]
    outside_wall = run.wall_s - sum(s.wall_s for s in staged)
    outside_cpu = (
        run.cpu_s
        - sum(s.cpu_s for s in staged)
        - sum(s.cpu_s for s in run.stages if s.name.endswith("(child process)"))
    )
    lines.append(
        f"    {'start-up, CLI and exit (no stage)':<50} {outside_wall:7.2f} {outside_cpu:7.2f}"
    )
    lines.append(
        f"    {'end to end (process tree)':<50} {run.wall_s:7.2f} {run.cpu_s:7.2f} "
        f"{run.peak_pss_mb:12,.0f}   (RSS sum {run.peak_rss_mb:,.0f} MB)"
    )
    return lines
