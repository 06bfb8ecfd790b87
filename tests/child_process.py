"""`auditor` as a separate process, with the test hook that kills or stops it at a boundary.

`AUDITOR_TEST_HOOK=KILL@boundary` (or `STOP@boundary`) makes the run signal itself there; the
boundaries are listed in docs/evidence-folder.md.
"""

from __future__ import annotations

import os
import subprocess
import sys


def child(args: list[str], hook: str | None = None, **env: str) -> subprocess.Popen[str]:
    """`python -m auditor ARGS` as a separate process, with the test hook set."""
    environment = {**os.environ, **env}
    if hook:
        environment["AUDITOR_TEST_HOOK"] = hook
    return subprocess.Popen(
        [sys.executable, "-m", "auditor", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_stopped(process: subprocess.Popen[str]) -> None:
    """Block until the child has stopped itself (SIGSTOP at its hook)."""
    _, status = os.waitpid(process.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"the child ended instead of stopping (status {status})"
