"""Advisory locks between auditor processes (flock): a run's staging folder, a tenant's history.

A lock held by a process is released by the kernel when the process ends, however it ends
(SIGKILL included), so a free lock proves its holder is gone. Where `fcntl` does not exist
(Windows) nothing is locked: `try_lock` answers None ("cannot tell") and callers stay on the
safe side.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from auditor.errors import HistoryError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
HISTORY_LOCK_WAIT_S = 900.0  # another run of the tenant renders its reports meanwhile
_POLL_S = 0.2


def try_lock(path: Path) -> int | None:
    """Open `path` (a file or a folder) and take its exclusive lock without waiting.

    Returns the descriptor holding the lock (close it to release), or None when another
    process holds it or locks are not available. Raises OSError when `path` cannot be opened.
    """
    if fcntl is None:
        return None
    descriptor = os.open(path, os.O_RDONLY | (os.O_CREAT if not path.is_dir() else 0), 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(descriptor)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    return descriptor


def is_abandoned(folder: Path) -> bool:
    """True when no live process holds `folder`'s lock (False when locks are unavailable)."""
    if fcntl is None:
        return False
    try:
        descriptor = try_lock(folder)
    except OSError:
        return False
    if descriptor is None:
        return False
    os.close(descriptor)
    return True


def release(descriptor: int | None) -> None:
    """Close a descriptor `try_lock` returned (releasing its lock); None is ignored."""
    if descriptor is not None:
        with contextlib.suppress(OSError):
            os.close(descriptor)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold `folder`'s lock, waiting for other holders (a swap takes milliseconds)."""
    if fcntl is None:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def tenant_history_lock(
    history: Path, tenant: str, *, wait_s: float = HISTORY_LOCK_WAIT_S
) -> Iterator[None]:
    """Hold the tenant's lock on `history` from the comparison to the recorded run.

    Runs of one tenant (any period) then compare and record one after the other: a run of
    2026-10 started while a run of 2026-09 renders its reports waits for it, and compares
    with it. The lock is a hidden file beside the database, one per tenant, so runs of other
    tenants never wait. After `wait_s` the run stops with a HistoryError (exit 6).
    """
    digest = hashlib.sha256(tenant.encode()).hexdigest()[:16]
    path = history.with_name(f".{history.name}.{digest}.lock")
    deadline = time.monotonic() + wait_s
    try:
        descriptor = try_lock(path)
        if descriptor is None and fcntl is not None:
            log.warning(
                "another auditor run of tenant %s is comparing with or recording in %s; "
                "waiting for it (up to %d s)",
                tenant, history, wait_s,
            )  # fmt: skip
        while descriptor is None and fcntl is not None:
            if time.monotonic() > deadline:
                raise HistoryError(
                    f"{history}: another auditor run of tenant {tenant} still holds the "
                    f"history after {wait_s:.0f} s (it compares with and records the tenant's "
                    "previous period); try again when it has finished"
                )
            time.sleep(_POLL_S)
            descriptor = try_lock(path)
    except OSError as exc:
        raise HistoryError(f"{path}: cannot lock the history for tenant {tenant}: {exc}") from exc
    try:
        yield
    finally:
        release(descriptor)
