"""Command-line interface: thin commands over the pipeline.

The only package that reads the clock, configures logging or prints. Every deliberate
failure is an AuditorError whose exit code is documented in auditor/errors.py and README.
Commands live one family per module (`run`, `tools`, `evidence`, `portfolio`) and are
registered here; what they share is in `options`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence

import click

from auditor import __version__
from auditor.cli.evidence import history_command, keygen, verify
from auditor.cli.portfolio import portfolio
from auditor.cli.run import run
from auditor.cli.tools import fetch, notify_command, refdata, rules_command, sample
from auditor.errors import AuditorError

__all__ = ["cli", "entry", "main"]


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


def _configure_logging(verbosity: int, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # The Graph SDK and Azure identity log request details at INFO; keep them quiet.
    for noisy in ("azure", "httpx", "httpcore", "msal", "kiota_http", "fontTools", "weasyprint"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
@click.option("-v", "--verbose", count=True, help="-v for progress, -vv for debug.")
@click.option(
    "--log-format",
    type=click.Choice(["plain", "json"]),
    default="plain",
    help="Logs on stderr as plain lines or JSON objects (for log collectors).",
)
def cli(verbose: int, log_format: str) -> None:
    """Audit Intune-managed Macs and write PDF, Excel and JSON evidence."""
    _configure_logging(verbose, log_format)


for command in (run, fetch, sample, rules_command, refdata, notify_command, verify,
                history_command, keygen, portfolio):  # fmt: skip
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the CLI on `argv` (default: the process's arguments).

    An AuditorError becomes its message on stderr and its exit code.
    """
    try:
        cli.main(args=argv, prog_name="auditor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AuditorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


def entry() -> None:
    """The `auditor` program: `main`, then leave at once with its exit code.

    Tearing down the interpreter would free every object a large run built, one by one (half
    a second at 100,000 Macs) after the work is done; the operating system frees them
    faster. Every output is written, renamed and closed before `main` returns, the child
    processes are waited for, and the streams and logs are flushed here. A crash (an exception
    other than an exit) ends the usual way, with its traceback; so does a run under a profiler
    or tracer (cProfile, coverage), which writes its data on the way out.
    """
    try:
        main()
        code = 0
    except SystemExit as exit_:
        if not isinstance(exit_.code, int | None):
            raise
        code = exit_.code or 0
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # what was printed is lost: say so as Python would
            code = code or 120
    os._exit(code)
