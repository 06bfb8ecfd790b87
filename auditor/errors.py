"""The exceptions auditor raises on purpose, each with the exit code the CLI returns.

    AuditorError                 exit 1  anything auditor refuses to do
    ├── ConfigError              exit 2  auditor.toml, waivers, flags
    ├── SourceError              exit 4  an input file or Microsoft Graph
    │   └── PartialSourceError   exit 4  a core Graph part failed (see --allow-partial)
    ├── HistoryError             exit 6  the history database
    ├── RenderError              exit 5  a report format could not be produced
    ├── VerifyError              exit 7  `auditor verify` found a changed or missing file
    ├── NotifyError              exit 8  a notification channel failed (only with
    │                                    `--notify-required`, and `auditor notify`)
    └── TenantsFailedError       exit 9  `run --tenants`: at least one tenant failed (the
                                         others ran; see the outcome table and failure.json)

Exit code 3 is reserved for `--fail-on`: the audit ran and found failures at or above the
given severity. Missing inventory data is never an exception: it becomes `unknown`.
"""

from __future__ import annotations

from typing import ClassVar


class AuditorError(Exception):
    """Base of every deliberate auditor failure."""

    exit_code: ClassVar[int] = 1


class ConfigError(AuditorError):
    """The configuration, a waiver file or a command-line flag is invalid."""

    exit_code: ClassVar[int] = 2


class SourceError(AuditorError):
    """An input could not be read: names the file (or Graph endpoint), record and field."""

    exit_code: ClassVar[int] = 4


class PartialSourceError(SourceError):
    """A core part of a Graph pull failed; the run stops unless partial data is allowed."""


class RenderError(AuditorError):
    """A report format could not be produced."""

    exit_code: ClassVar[int] = 5


class HistoryError(AuditorError):
    """The history database is unusable (corrupt, newer schema, locked)."""

    exit_code: ClassVar[int] = 6


class VerifyError(AuditorError):
    """An evidence directory does not match its manifest."""

    exit_code: ClassVar[int] = 7


class NotifyError(AuditorError):
    """A notification could not be delivered where delivery was required."""

    exit_code: ClassVar[int] = 8


class TenantsFailedError(AuditorError):
    """Some tenants of a multi-tenant run failed; the others' evidence is written."""

    exit_code: ClassVar[int] = 9


FAIL_ON_EXIT_CODE = 3
