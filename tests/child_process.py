"""`auditor` as a separate process, with the test hook that kills or stops it at a boundary.

`AUDITOR_TEST_HOOK=KILL@boundary` (or `STOP@boundary`) makes the run signal itself there; the
boundaries are listed in docs/evidence-folder.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

SPAWNED: list[subprocess.Popen[str]] = []


def child(args: list[str], hook: str | None = None, **env: str) -> subprocess.Popen[str]:
    """`python -m auditor ARGS` as a separate process, with the test hook set."""
    environment = {**os.environ, **env}
    if hook:
        environment["AUDITOR_TEST_HOOK"] = hook
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    SPAWNED.append(process)
    return process


def wait_until_stopped(process: subprocess.Popen[str]) -> None:
    """Block until the child has stopped itself (SIGSTOP at its hook)."""
    _, status = os.waitpid(process.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"the child ended instead of stopping (status {status})"


def reap_children() -> None:
    """Kill what a failed test left stopped or running (a stopped child never ends alone)."""
    while SPAWNED:
        process = SPAWNED.pop()
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.communicate()
