"""Work done in a child process while this one goes on: its answers, its error, or its death.

The child is forked on Linux (it shares this process's memory copy-on-write: nothing is
pickled on the way in, and `gc.freeze` keeps its collector from writing into the shared
objects) and spawned elsewhere (macOS and Windows system libraries are not fork-safe; the
arguments are pickled). It runs `produce(*args)`, an iterable, and sends each item back
pickled as soon as it is made, so neither side ever holds all the answers as bytes at once.

An AuditorError raised in the child is raised here as itself; any other exception as
`ChildFailed` carrying the child's traceback; a child that dies without a word (killed, out of
memory) as `ChildDied` with its exit status. `stop` ends a child still at work (SIGTERM
unwinds it, so its context managers clean up, then SIGKILL after a grace period).
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

from auditor.errors import AuditorError

T = TypeVar("T")
STOP_GRACE_S = 10.0


class ChildFailed(Exception):
    """The child raised something other than an AuditorError; `details` is its traceback."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class ChildDied(Exception):
    """The child ended without finishing its answers; `exitcode` (negative: the signal)."""

    def __init__(self, exitcode: int | None) -> None:
        how = f"was killed by signal {-exitcode}" if exitcode and exitcode < 0 else "exited"
        super().__init__(f"the child process {how} (exit status {exitcode})")
        self.exitcode = exitcode


def default_start_method() -> str:
    """The start method: fork where it is safe (Linux), else spawn."""
    return "fork" if sys.platform == "linux" else "spawn"


class Forked(Generic[T]):
    """`produce(*args)` running in a child process; iterate for its items, in order."""

    def __init__(
        self,
        produce: Callable[..., Iterable[T]],
        *args: Any,
        name: str,
        start_method: str | None = None,
    ) -> None:
        context: Any = multiprocessing.get_context(start_method or default_start_method())
        self._receive, send = context.Pipe(duplex=False)
        self._process: BaseProcess = context.Process(
            target=_child_main, args=(produce, args, send), name=name, daemon=True
        )
        gc.freeze()  # the child's collector then never writes into the objects it shares
        try:
            self._process.start()
        finally:
            gc.unfreeze()
            send.close()

    def __iter__(self) -> Iterator[T]:
        """Each item as the child sends it; raises what ended the child early."""
        while True:
            try:
                kind, value = self._receive.recv()
            except EOFError:  # it died before its last word
                self._process.join()
                raise ChildDied(self._process.exitcode) from None
            if kind == _ITEM:
                yield value
                continue
            self._process.join()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            raise ChildFailed(str(value))

    def stop(self) -> None:
        """End the child if it still runs, and release it."""
        if self._process.is_alive():
            self._process.terminate()  # SIGTERM: unwinds it, so temporary files go
            self._process.join(STOP_GRACE_S)
            if self._process.is_alive():
                self._process.kill()
        self._process.join()
        self._receive.close()


_ITEM, _END, _ERROR, _FAILED = "item", "end", "error", "failed"


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the work: context managers clean up


def _child_main(
    produce: Callable[..., Iterable[Any]], args: tuple[Any, ...], send: Connection
) -> None:
    """The child's whole life: send each item, then the end, the AuditorError or a traceback."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    try:
        for item in produce(*args):
            send.send((_ITEM, item))
        last: tuple[str, object] = (_END, None)
    except AuditorError as exc:
        last = (_ERROR, exc)
    except Exception:  # the process boundary: the parent raises it with this traceback
        last = (_FAILED, traceback.format_exc())
    try:
        send.send(last)
    except (pickle.PicklingError, TypeError, AttributeError):  # an error that cannot travel
        send.send((_FAILED, repr(last[1])))
    finally:
        send.close()
