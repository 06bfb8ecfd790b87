"""Notifications and the run's outcome summary, built from findings.json and nothing else.

    findings.json ─ document.read_document ─> RunDocument
                  ─ message.build_message ──> Message (page one's essentials)
                  ─ layout.run_layout ──────> Layout (per channel: why it hears of it)
                  ─ formats / mail ─────────> Adaptive Card, Block Kit, e-mail, JSON
                  ─ deliver ────────────────> Delivery per channel (retried, redacted)
                  ─ outcome.outcome_lines ──> the summary on stderr

The same path serves a run that just finished, a finished evidence folder (`auditor notify
DIR`) and a test (`auditor notify --test`). Nothing here changes a report or an exit code: the
CLI decides what a failed channel means (`--notify-required`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.config import Config
from auditor.errors import AuditorError, ConfigError
from auditor.notify.document import read_document, report_document
from auditor.notify.message import Message, RunFailure, build_message
from auditor.notify.outcome import outcome_lines
from auditor.notify.settings import NotifySettings, notify_problems, notify_settings

if TYPE_CHECKING:  # sending needs httpx and the Graph client: imported only to send
    from auditor.notify.sending import Delivery
    from auditor.report import Report

__all__ = ["Outcome", "after_failure", "after_run", "from_folder", "notify_problems",
           "preflight", "test_channels"]  # fmt: skip
FINDINGS = "findings.json"
MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to print at the end, and which channels failed."""

    lines: list[str]
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def failed(self) -> list[Delivery]:
        """The channels that could not be reached."""
        return [d for d in self.deliveries if d.status == "failed"]


def after_run(
    config: Config,
    folder: Path,
    outputs: Sequence[Path],
    findings: Path | Report,
    send: bool = True,
    note: str = "",
) -> Outcome:
    """Notify about a finished run and summarise it.

    Args:
        config: the run's configuration ([notify] and the Graph settings for sendMail).
        folder: where the reports are.
        outputs: every file the run wrote (reports, snapshot, manifest).
        findings: the run's findings.json, or the report model it is (or would be) written
            from: the same parts, taken without reading the file.
        send: False to only summarise (`--no-notify`).
        note: shown instead of deliveries when nothing was sent.
    """
    settings = notify_settings(config)
    reports = tuple(p.name for p in outputs)
    if isinstance(findings, Path):
        document = read_document(findings, settings.severity, settings.device_names)
    else:
        document = report_document(findings, settings.severity, settings.device_names)
    message = build_message(document, settings, folder.resolve(), reports, settings.severity)
    deliveries: list[Delivery] = []
    if send and settings.channels:
        from auditor.notify.deliver import notify_run  # HTTP, SMTP, Graph: only to send

        deliveries = notify_run(config, settings, message, folder)
    return Outcome(outcome_lines(message, deliveries, note), deliveries)


def after_failure(
    config: Config, error: AuditorError, as_of: str, send: bool = True, note: str = ""
) -> Outcome:
    """Tell the channels that the run stopped, and summarise it."""
    settings = notify_settings(config)
    failure = RunFailure(config.organisation, as_of, str(error), error.exit_code)
    deliveries: list[Delivery] = []
    if send and settings.channels:
        from auditor.notify.deliver import notify_failure  # HTTP, SMTP, Graph: only to send

        deliveries = notify_failure(config, settings, failure)
    return Outcome(outcome_lines(failure, deliveries, note), deliveries)


def from_folder(config: Config, folder: Path, only: Sequence[str] = ()) -> Outcome:
    """Send the message of a finished evidence folder (its findings.json and manifest)."""
    settings = notify_settings(config)
    findings = folder / FINDINGS
    if not findings.is_file():
        raise ConfigError(f"{folder}: no {FINDINGS} (the run must write the json format)")
    chosen = _chosen(settings, only)
    document = read_document(findings, settings.severity, settings.device_names)
    message: Message = build_message(
        document, settings, folder.resolve(), _reports(folder), settings.severity
    )
    from auditor.notify.deliver import notify_run  # HTTP, SMTP, Graph: only to send

    deliveries = notify_run(config, chosen, message, folder)
    return Outcome(outcome_lines(message, deliveries), deliveries)


def test_channels(config: Config, sent_at: str, only: Sequence[str] = ()) -> Outcome:
    """Send a test message to each configured channel (or those named)."""
    from auditor.notify.deliver import notify_test  # HTTP, SMTP, Graph: only to send

    deliveries = notify_test(config, _chosen(notify_settings(config), only), sent_at)
    return Outcome([d.line for d in deliveries], deliveries)


def preflight(config: Config) -> list[str]:
    """Problems that would make a channel fail for sure (unset variables): for --notify-required."""
    from auditor.notify.deliver import missing_secrets  # HTTP, SMTP, Graph: only to send

    return missing_secrets(notify_settings(config))


def _chosen(settings: NotifySettings, only: Sequence[str]) -> NotifySettings:
    """The settings with only the channels named in `only` (all when empty)."""
    names = [c.name for c in settings.channels]
    if not names:
        raise ConfigError("no notification channel: add [notify.channels.NAME] to auditor.toml")
    unknown = sorted(set(only) - set(names))
    if unknown:
        raise ConfigError(
            f"unknown channel(s) {', '.join(unknown)}; configured: {', '.join(names)}"
        )
    if not only:
        return settings
    return replace(settings, channels=tuple(c for c in settings.channels if c.name in only))


def _reports(folder: Path) -> tuple[str, ...]:
    """The files the manifest lists as written by the run, then the manifest itself."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return tuple(sorted(p.name for p in folder.iterdir() if p.is_file()))
    try:
        outputs = json.loads(manifest.read_text(encoding="utf-8")).get("outputs", [])
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{manifest}: not readable JSON ({exc})") from exc
    return (*(str(o.get("path")) for o in outputs), MANIFEST)
