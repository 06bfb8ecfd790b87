"""Stage timing with a peak-RSS sampler: what each stage costs in seconds and memory."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    rows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_delta_mb(self) -> float:
        return (self.rss_peak - self.rss_before) / 2**20

    def line(self) -> str:
        rate = " " * 19
        if self.rows and self.seconds:
            rate = f"{self.rows / self.seconds:>12,.0f} rows/s"
        extras = "  ".join(f"{k}={v}" for k, v in self.extra.items())
        return (
            f"  {self.name:<28} {self.seconds:8.2f} s {rate}  peak {self.rss_peak / 2**20:8.0f} MB"
            f"  (+{self.peak_delta_mb:,.0f} MB)  {extras}"
        )


class _Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_bytes()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.01):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, rss_bytes())


@contextmanager
def stage(name: str, report: list[Stage], rows: int = 0) -> Iterator[Stage]:
    """Time a block and record its peak RSS (sampled every 10 ms)."""
    gc.collect()
    record = Stage(name, rss_before=rss_bytes(), rows=rows)
    sampler = _Sampler()
    sampler.start()
    started = time.perf_counter()
    try:
        yield record
    finally:
        record.seconds = time.perf_counter() - started
        record.rss_peak = sampler.stop()
        report.append(record)
        print(record.line(), flush=True)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def bench_meta(catalogue: Any, as_of: Any) -> Any:
    """The RunMeta every benchmark report uses (fixed clock, no secrets)."""
    import datetime as dt

    from auditor.models import RunMeta

    return RunMeta(
        as_of=as_of,
        generated_at=dt.datetime(2026, 9, 1, 6, tzinfo=dt.UTC),
        tool_version="bench",
        organisation="Bench Ltd",
        classification="INTERNAL",
        tenant_id="bench",
        source="files",
        catalogue_as_of=catalogue.as_of,
        catalogue_source=catalogue.source,
        catalogue_age_days=catalogue.age_days(as_of),
        catalogue_is_stale=catalogue.is_stale(as_of),
    )
