"""Stage timing for the progress log (`-v`): wall and CPU seconds, and peak memory so far.

Also what the stages share for speed and memory: pausing the cyclic garbage collector, and
handing memory freed between stages back to the operating system.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

try:
    import resource
except ImportError:  # Windows: no getrusage
    resource = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Lap:
    """What one stage cost this process."""

    wall_s: float
    cpu_s: float
    peak_mb: int | None  # the process's peak resident memory so far (None: not measurable)

    def __str__(self) -> str:
        peak = "" if self.peak_mb is None else f", peak {self.peak_mb} MB"
        return f"{self.wall_s:.2f} s wall, {self.cpu_s:.2f} s cpu{peak}"


class Stopwatch:
    """Laps of wall-clock and CPU time (this process, all its threads) since the last lap."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def lap(self) -> Lap:
        """The time since the previous lap (or the start); starts the next lap."""
        wall, cpu = time.perf_counter(), time.process_time()
        lap = Lap(wall - self._wall, cpu - self._cpu, peak_rss_mb())
        self._wall, self._cpu = wall, cpu
        return lap


def peak_rss_mb() -> int | None:
    """This process's peak resident set size in MiB, where the platform reports it."""
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak / 2**20 if sys.platform == "darwin" else peak / 2**10)  # bytes vs KiB


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a burst of short-lived allocations.

    Each collection the burst triggers walks every object alive, and after a large run that
    is millions: WeasyPrint's layout spent ~20 % of the PDF there (0.7 s of 3.7 s at 100k
    Macs), reading findings.json back for the outcome summary half (0.6 s of 1.2 s), and a
    reader building millions of fresh dicts would have them rescanned again and again. What
    the burst leaves unreachable is reclaimed when the collector runs again, after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def release_freed_memory() -> None:
    """Give memory that frames no longer use back to the operating system.

    Arrow's allocator and the C library keep what was freed for reuse, so a process stays as
    large as its largest stage. Called once the report model is all that remains (before the
    renderers fork): at 100k Macs the process shrinks from ~850 MB to ~550 MB, and the render
    processes start from that instead.
    """
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    if sys.platform == "linux":
        import ctypes

        with contextlib.suppress(OSError, AttributeError):  # not glibc (musl): nothing to trim
            ctypes.CDLL("libc.so.6").malloc_trim(0)
