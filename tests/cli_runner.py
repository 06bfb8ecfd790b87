"""Run the `auditor` command in this process: `cli.main(argv)` with its exit code and output.

The same code path as the installed entry point (AuditorError → message and exit code), without
starting an interpreter that imports pandas, pyarrow and WeasyPrint for every call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import chdir, contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main


@dataclass(frozen=True)
class Completed:
    """What one command did: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def auditor(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Completed:
    """`auditor ARGS…` as the shell would run it, in process."""
    with (
        _restored_logging(),
        chdir(cwd or Path.cwd()),
        CliRunner().isolation(env=env) as (
            out,
            err,
            _,
        ),
    ):
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        return Completed(code, out.getvalue().decode(), err.getvalue().decode())


@contextmanager
def _restored_logging() -> Iterator[None]:
    """The CLI configures the root logger for its streams; put the test run's back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
