"""SIGTERM handled like Ctrl-C during a run, and both held back while the evidence is swapped in.

cron and systemd stop a run with SIGTERM; Python would die at once, leaving the staging folder
behind. Inside `interruptible()` SIGTERM and SIGINT raise KeyboardInterrupt (the CLI's exit
130, after the staging folder is removed); inside `held()` (the swap and the history record)
a signal is remembered and raised when that step is done, so the evidence and its history
record are never left half-changed by a signal. Only the main thread can handle signals; in
another thread nothing changes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """The state of the handlers `interruptible` installs."""

    def __init__(self) -> None:
        self._holding = False
        self._pending: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Raise KeyboardInterrupt now, or once the held step is done."""
        if self._holding:
            self._pending = signum
            return
        raise KeyboardInterrupt(signal.Signals(signum).name)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Let the block finish before a signal received meanwhile interrupts the run."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        if self._pending is not None:
            name = signal.Signals(self._pending).name
            raise KeyboardInterrupt(f"{name} (received while the evidence was swapped in)")


@contextmanager
def interruptible() -> Iterator[Interrupts]:
    """SIGTERM and SIGINT raise KeyboardInterrupt in the block (see the module docstring)."""
    interrupts = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    previous = {s: signal.signal(s, interrupts.handle) for s in _SIGNALS}
    try:
        yield interrupts
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
