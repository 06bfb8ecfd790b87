"""`auditor` as a separate process, with the test hook that kills or stops it at a boundary.

`AUDITOR_TEST_HOOK=KILL@boundary` (or `STOP@boundary`) makes the run signal itself there; the
boundaries are listed in docs/evidence-folder.md. The process is a fork of the test's own, which
has imported auditor already, running `cli.main` (what `python -m auditor` runs) with its own
pid, environment, stdout and stderr: killed, stopped or signalled like a fresh `auditor`, without
importing pandas, pyarrow and WeasyPrint again for each one (tests/test_cli.py keeps the fresh
interpreter).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
from typing import IO

SPAWNED: list[Child] = []


class Child:
    """The part of `subprocess.Popen`'s interface the tests use, for a forked `auditor`."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the test process
            os.close(out_read)
            os.close(err_read)
            _run_auditor(args, env, out_write, err_write)
        os.close(out_write)
        os.close(err_write)
        self.pid = pid
        self.returncode: int | None = None
        self.stdout: IO[str] = os.fdopen(out_read, encoding="utf-8", errors="replace")
        self.stderr: IO[str] = os.fdopen(err_read, encoding="utf-8", errors="replace")

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def communicate(self) -> tuple[str, str]:
        """Read stdout and stderr to their ends (at once, so neither pipe fills), then wait."""
        texts: dict[str, str] = {}

        def drain(name: str, stream: IO[str]) -> None:
            texts[name] = stream.read()
            stream.close()

        readers = [threading.Thread(target=drain, args=(name, stream))
                   for name, stream in (("out", self.stdout), ("err", self.stderr))]  # fmt: skip
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return texts["out"], texts["err"]


def _run_auditor(args: list[str], env: dict[str, str], out: int, err: int) -> None:
    """In the forked child: `auditor ARGS` on the pipes, then exit with its code."""
    code = 1
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
        os.environ.clear()
        os.environ.update(env)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)  # as a fresh interpreter starts (main sets its own)
        from auditor.cli import main

        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # exiting either way
                stream.flush()
        os._exit(code)


def child(args: list[str], hook: str | None = None, **env: str) -> Child:
    """`auditor ARGS` as a separate process, with the test hook set."""
    environment = {**os.environ, **env}
    if hook:
        environment["AUDITOR_TEST_HOOK"] = hook
    process = Child(args, environment)
    SPAWNED.append(process)
    return process


def wait_until_stopped(process: Child) -> None:
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
