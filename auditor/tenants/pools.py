"""The pull threads and the audit worker processes of a multi-tenant run, and their log prefix.

Pulls run in daemon threads (an interrupted run does not wait for a pull it cannot cancel);
audits in spawned processes (the pull threads make fork unsafe), renewed when one dies.
Every log line written for a tenant, in a thread or a worker, starts with `[name] `.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import contextvars
import logging
import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable

TENANT: contextvars.ContextVar[str] = contextvars.ContextVar("auditor_tenant", default="")


class TenantPrefix(logging.Filter):
    """Starts every log line written while a tenant is worked on with `[name] `."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Prefix the message once (a record may pass several handlers)."""
        name = TENANT.get()
        if name and not getattr(record, "tenant", None):
            record.tenant = name
            record.msg = f"[{name}] {record.msg}"
        return True


class _PullThreads:
    """`concurrency` daemon threads running pulls: an interrupted run does not wait for them.

    (A pull cannot be cancelled midway; a ThreadPoolExecutor's threads are joined at exit.)
    """

    def __init__(self, concurrency: int) -> None:
        self._queue: queue.SimpleQueue[tuple[cf.Future[object], Callable[[], object]] | None]
        self._queue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"auditor-pull-{i}", daemon=True)
            for i in range(concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, call: Callable[[], object]) -> cf.Future[object]:
        """Run `call` in a free thread; its Future."""
        future: cf.Future[object] = cf.Future()
        self._queue.put((future, call))
        return future

    def shutdown(self, *, wait: bool) -> None:
        """No more pulls: each thread ends after its current one (waited for with `wait`)."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads if wait else ():
            thread.join()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # handed to the main thread, which judges it
                future.set_exception(exc)


class Pools:
    """The pull threads and the audit processes; on an interrupt the workers are stopped."""

    def __init__(self, concurrency: int, workers: int, setup: Callable[[], None] | None) -> None:
        self.pulls = _PullThreads(concurrency)
        self._workers, self._setup = workers, setup
        self.audits = self._new_audits()
        self.generation = 0  # how many times a worker's death broke the pool

    def _new_audits(self) -> cf.ProcessPoolExecutor:
        # spawn: the pull threads make fork unsafe (a lock held by a thread is copied held)
        context = multiprocessing.get_context("spawn")
        return cf.ProcessPoolExecutor(
            self._workers, mp_context=context, initializer=worker_init, initargs=(self._setup,)
        )

    def renew(self, generation: int) -> None:
        """A new pool once a worker died (killed, out of memory): the broken one takes no work."""
        if generation == self.generation:
            self.audits.shutdown(wait=False, cancel_futures=True)
            self.audits = self._new_audits()
            self.generation += 1

    def __enter__(self) -> Pools:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if error is not None:  # an interrupt: each worker removes its staging folder and stops
            for process in list(self.audits._processes.values()):
                with contextlib.suppress(OSError):
                    process.terminate()
        self.audits.shutdown(wait=True, cancel_futures=True)
        self.pulls.shutdown(wait=error is None)


def worker_init(setup: Callable[[], None] | None) -> None:
    """A worker process: the CLI's logging, each line prefixed with its tenant.

    Ctrl-C reaches every process of the terminal: an idle worker ignores it (the main process
    stops the workers), while an audit handles it like a single run (`interruptible`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if setup is not None:
        setup()
    for handler in logging.getLogger().handlers:
        handler.addFilter(TenantPrefix())
