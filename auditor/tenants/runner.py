"""Audit many tenants: Graph pulls in threads (bounded), audits in a pool of worker processes.

A pull is bound by Graph's throttling per app per tenant, so pulls run side by side (each its
own `asyncio.run`); the audit is CPU-bound, so it runs in `workers` processes. Each tenant's
evidence folder is written by `run_audit` exactly as a single-tenant Graph run writes it (the
pulled snapshot becomes its snapshot.json.gz). A tenant that fails is recorded and the others
go on. SIGTERM or Ctrl-C stops the run: workers are told to stop, and every unfinished tenant's
staging folder is removed by its own run, so no folder is left half-written.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as dt
import functools
import logging
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.config import Config
from auditor.errors import AuditorError
from auditor.pipeline import RunOptions, run_audit
from auditor.pipeline.interrupts import interruptible
from auditor.tenants.file import Tenant
from auditor.tenants.outcome import FAILED, OK, PARTIAL, Audited, TenantOutcome, write_failure
from auditor.tenants.pools import TENANT, Pools, TenantPrefix

log = logging.getLogger(__name__)
PULLS_PREFIX = ".auditor-pulls."  # a hidden folder beside the tenants' folders while pulls wait


@dataclass(frozen=True, slots=True)
class TenantJob:
    """One tenant to audit: its Config (out_dir = its own folder, source graph)."""

    tenant: Tenant
    config: Config


def run_tenants(
    jobs: Sequence[TenantJob],
    options: RunOptions,
    *,
    concurrency: int,
    workers: int,
    exit_code: Callable[[Audited], int],
    clock: Callable[[], dt.datetime],
    worker_setup: Callable[[], None] | None = None,
    progress: bool = False,
) -> list[TenantOutcome]:
    """Pull and audit every job; one outcome per job, in the jobs' order.

    Args:
        jobs: The tenants with their configurations.
        options: What applies to every tenant (as-of date, history, signing key …).
        concurrency: Graph pulls in flight at once.
        workers: Audit processes (0: the machine's cores).
        exit_code: A finished audit's exit code (--fail-on, --require-complete).
        clock: The time now (a failure's `failed_at`): the CLI reads the clock.
        worker_setup: Run first in each worker process (the CLI's logging), picklable.
        progress: Rewrite a done / running / failed line on stderr (a terminal).
    """
    prefix = TenantPrefix()
    handlers = logging.getLogger().handlers
    for handler in handlers:
        handler.addFilter(prefix)
    pulls = _pulls_folder(jobs)
    outcomes: dict[int, TenantOutcome] = {}
    processes = workers or _cores()
    try:
        with interruptible(), Pools(concurrency, processes, worker_setup) as pools:
            _drive(jobs, options, pools, pulls, outcomes, exit_code, clock, progress)
    finally:
        for handler in handlers:
            handler.removeFilter(prefix)
        shutil.rmtree(pulls, ignore_errors=True)
    return [outcomes[i] for i in sorted(outcomes)]


def _drive(
    jobs: Sequence[TenantJob],
    options: RunOptions,
    pools: Pools,
    pulls: Path,
    outcomes: dict[int, TenantOutcome],
    exit_code: Callable[[Audited], int],
    clock: Callable[[], dt.datetime],
    progress: bool,
) -> None:
    """Submit every pull, an audit for each pull that succeeded; collect the outcomes."""
    pending: dict[cf.Future[Any], tuple[int, str, int]] = {}
    for index, job in enumerate(jobs):
        snapshot = pulls / f"{job.tenant.name}-{secrets.token_hex(4)}.json.gz"
        future = pools.pulls.submit(functools.partial(_pull, job, snapshot))
        pending[future] = (index, "pull", 0)
    snapshots: dict[int, Path] = {}

    def audit(index: int) -> None:
        job = jobs[index]
        tenant_options = dataclasses.replace(
            options,
            pulled_snapshot=snapshots[index],
            tenant_name=job.tenant.name,
            tenant_groups=job.tenant.groups,
        )
        future = pools.audits.submit(_audit, job.tenant.name, job.config, tenant_options)
        pending[future] = (index, "audit", pools.generation)

    while pending:
        done, _ = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
        for future in done:
            index, stage, generation = pending.pop(future)
            job = jobs[index]
            error = future.exception()
            if isinstance(error, BrokenProcessPool):
                pools.renew(generation)
                if snapshots[index].exists():  # queued behind the worker that died: again
                    audit(index)
                    continue
                error = UnexpectedError(
                    "its audit process ended abruptly (killed, or out of memory?); the next run "
                    "into its folder removes what it left; rerun this tenant"
                )
            if error is not None:
                outcomes[index] = _failed(job, error, options.as_of, clock())
            elif stage == "pull":
                snapshots[index] = Path(str(future.result()))
                audit(index)
            else:
                audited = future.result()
                assert isinstance(audited, Audited)
                outcomes[index] = _succeeded(job, audited, exit_code(audited))
        if progress:
            _show_progress(len(jobs), outcomes)
    if progress:
        sys.stderr.write("\r\033[K")


def _pull(job: TenantJob, snapshot: Path) -> Path:
    """Pull one tenant's snapshot into `snapshot` (a pull thread); its log lines are prefixed."""
    from auditor.sources.graph import fetch_to_file

    TENANT.set(job.tenant.name)  # this thread's context; asyncio tasks inherit it
    summary = fetch_to_file(job.config.graph, snapshot, progress=False)
    log.info("%s", summary.replace(str(snapshot), "Graph pull", 1))
    return snapshot


def _audit(name: str, config: Config, options: RunOptions) -> Audited:
    """Audit one pulled tenant (a worker process): its evidence folder, and a few numbers."""
    TENANT.set(name)
    result = run_audit(config, options)
    summary = result.report.summary
    return Audited(
        devices=summary.devices,
        posture_pct=summary.posture.pct,
        is_complete=result.report.run.is_complete,
        failures={s.value: n for s, n in result.failures_by_severity.items()},
        new_failures={s.value: n for s, n in result.new_failures_by_severity.items()},
        outputs=(*result.outputs, result.manifest),
    )


def _succeeded(job: TenantJob, audited: Audited, code: int) -> TenantOutcome:
    return TenantOutcome(
        job.tenant.name, job.tenant.tenant_id, job.tenant.display_name, job.tenant.groups,
        job.config.out_dir, OK if audited.is_complete else PARTIAL, code, audited,
    )  # fmt: skip


def _failed(
    job: TenantJob, error: BaseException, as_of: dt.date, failed_at: dt.datetime
) -> TenantOutcome:
    """A failed tenant: its error as the CLI would print it, and failure.json in its folder."""
    if isinstance(error, KeyboardInterrupt):
        raise error
    if not isinstance(error, AuditorError):  # a bug met on one tenant must not cost the others
        log.error("[%s] unexpected error", job.tenant.name, exc_info=error)
        error = UnexpectedError(f"{type(error).__name__}: {error}")
    log.error("[%s] failed: %s", job.tenant.name, error)
    outcome = TenantOutcome(
        job.tenant.name, job.tenant.tenant_id, job.tenant.display_name, job.tenant.groups,
        job.config.out_dir, FAILED, error.exit_code, None, type(error).__name__, str(error),
        exception=error,
    )  # fmt: skip
    written = write_failure(outcome, as_of, failed_at)
    return dataclasses.replace(outcome, failure_file=written)


class UnexpectedError(AuditorError):
    """An error auditor did not raise on purpose (a bug), met while auditing one tenant."""


def _cores() -> int:
    """The cores this process may run on (a container's cpuset), else the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _pulls_folder(jobs: Sequence[TenantJob]) -> Path:
    """A private folder for the pulled snapshots, on the file system of the tenants' folders."""
    parents = [os.path.abspath(j.config.out_dir.parent) for j in jobs] or [os.getcwd()]
    base = Path(os.path.commonpath(parents))
    base.mkdir(parents=True, exist_ok=True)
    folder = base / f"{PULLS_PREFIX}{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    return folder


def _show_progress(total: int, outcomes: dict[int, TenantOutcome]) -> None:
    failed = sum(1 for o in outcomes.values() if o.outcome == FAILED)
    done = len(outcomes) - failed
    running = total - len(outcomes)
    sys.stderr.write(f"\r\033[Ktenants: {done} done, {running} running, {failed} failed")
    sys.stderr.flush()
