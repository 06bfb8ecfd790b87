"""What a notification shows, channel-neutral: title, facts, sections of plain lines, a link.

Each channel formats a `Layout` (formats.py) and escapes its text for its own medium: lines
can hold inventory text (device and token names, Graph error reasons), which is untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor import __version__
from auditor.models import Severity
from auditor.notify.message import Message, RunFailure

SEVERITIES = tuple(s.value for s in Severity)


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and its plain-text lines."""

    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Layout:
    """One notification, ready for any channel."""

    title: str
    tone: str  # "good" | "attention" (something expires) | "warning" (new failures, PARTIAL)
    summary: str  # one line: chat previews, fallback text, the e-mail's first line
    facts: tuple[tuple[str, str], ...]  # our own values only: numbers, dates, config text
    sections: tuple[Section, ...]
    link: str | None = None
    footer: tuple[str, ...] = ()


def run_layout(message: Message, reasons: list[str]) -> Layout:
    """The layout of a finished run's message; `reasons` say why this channel hears of it."""
    m = message
    partial = "" if m.is_complete else "PARTIAL · "
    posture = "posture unknown" if m.posture_pct is None else f"posture {m.posture_pct:.1f} %"
    delta = "" if m.posture_delta is None else f" ({m.posture_delta:+.1f} points)"
    title = f"{partial}Mac audit {m.period} · {m.organisation}: {posture}{delta}"
    new = m.new_at_floor
    severities = m.severities_phrase()
    if new is None:
        news = f"{_failing_at_floor(m)} failing {severities} results (no earlier period to compare)"
    else:
        news = f"{new} new failing {severities} result(s) since {m.previous_period}"
    summary = f"Posture {_posture_sentence(m)}; {news}."
    expired = any(e.days_left < 0 for e in m.expiring)
    tone = "warning" if (not m.is_complete or new or expired) else "good"
    if tone == "good" and m.expiring:
        tone = "attention"
    facts = [
        ("Period", f"{m.period} (as of {m.as_of})"),
        ("Organisation", m.organisation),
        ("Macs", f"{m.devices:,}"),
        ("Posture", _posture_sentence(m)),
        ("New since last period", _new_fact(m)),
        ("Failing now (results)", _by_severity(m.fail_by_severity)),
        ("Data", "complete" if m.is_complete else "PARTIAL: part of the inventory is missing"),
    ]
    parts = (_gaps(m), _why(m), _causes(m), _macs(m), _expiring(m))
    sections = [s for s in parts if s is not None]
    if m.catalogue_stale:
        sections.append(
            Section(
                "Release catalogue is stale",
                (
                    "OS patch findings may miss recent macOS releases: "
                    "run `auditor refdata import`.",
                ),
            )
        )
    sections.append(Section("Tenant", (f"Tenant id {m.tenant_id}",)))
    footer = [f"Reports: {m.folder} ({', '.join(m.reports)})" if m.reports else m.folder]
    if reasons:
        footer.append("Sent because " + "; ".join(reasons) + ".")
    footer.append(f"auditor {__version__}")
    return Layout(title, tone, summary, tuple(facts), tuple(sections), m.link, tuple(footer))


def failure_layout(failure: RunFailure) -> Layout:
    """The layout for a run that stopped before writing its reports."""
    return Layout(
        title=f"Mac audit FAILED · {failure.organisation} (as of {failure.as_of})",
        tone="warning",
        summary=f"The audit stopped with exit code {failure.exit_code}; no reports were written.",
        facts=(("As of", failure.as_of), ("Exit code", str(failure.exit_code))),
        sections=(Section("Error", (failure.error,)),),
        footer=(f"auditor {__version__}",),
    )


def probe_layout(organisation: str, channel: str, sent_at: str) -> Layout:
    """The layout `auditor notify --test` sends: proof the channel works, no audit data."""
    return Layout(
        title=f"auditor test message · {organisation}",
        tone="good",
        summary=f"Channel '{channel}' works: auditor can reach it. No audit data is included.",
        facts=(("Channel", channel), ("Sent at", sent_at)),
        sections=(),
        footer=(f"auditor {__version__}",),
    )


def _posture_sentence(m: Message) -> str:
    if m.posture_pct is None:
        return "unknown (no Macs)"
    text = (
        f"{m.posture_pct:.1f} % ({m.posture_devices:,} of {m.devices:,} Macs without an "
        "unwaived critical or high failure)"
    )
    if m.previous_posture_pct is not None:
        text += f", {m.posture_delta:+.1f} points since {m.previous_period}"
        text += f" ({m.previous_posture_pct:.1f} %)"
    return text


def _new_fact(m: Message) -> str:
    if m.new_by_severity is None:
        return "no earlier period to compare (first recorded period, or history off)"
    return f"{_by_severity(m.new_by_severity)} (vs {m.previous_period})"


def _by_severity(counts: dict[str, int]) -> str:
    return " · ".join(f"{s} {counts.get(s, 0):,}" for s in SEVERITIES)


def _failing_at_floor(m: Message) -> int:
    return sum(n for s, n in m.fail_by_severity.items() if Severity(s).rank <= m.floor.rank)


def _gaps(m: Message) -> Section | None:
    if not m.gaps:
        return None
    lines = [f"{part}: {reason}" for part, reason, _ in m.gaps]
    if not m.is_complete:
        lines.append("Counts cover only what was collected.")
    heading = "PARTIAL: not collected" if not m.is_complete else "Parts not collected"
    return Section(heading, tuple(lines))


def _why(m: Message) -> Section | None:
    """The report's sentences on why failures are new: release, CVE, date, or the Mac."""
    if not m.why:
        return None
    return Section(f"Why it changed since {m.previous_period}", m.why)


def _causes(m: Message) -> Section | None:
    if not m.causes:
        return None
    kind = "new failing" if m.new_by_severity is not None else "failing"
    lines = tuple(
        f"{c.rule_id} ({c.severity}): {c.results:,} {kind} result(s) of “{c.title}”"
        for c in m.causes
    )
    return Section(f"Top causes ({kind} {m.severities_phrase()})", lines)


def _macs(m: Message) -> Section | None:
    count = m.new_failing_macs if m.new_failing_macs is not None else m.failing_macs
    if not count:
        return None
    kind = "new " if m.new_failing_macs is not None else ""
    heading = f"{count:,} Macs with {kind}{m.severities_phrase()} failures"
    lines = list(m.device_names)
    if len(lines) < count:
        lines.append(f"… and {count - len(lines):,} more (see the reports)")
    return Section(heading, tuple(lines))


def _expiring(m: Message) -> Section | None:
    if not m.expiring:
        return None
    return Section("Expired or expiring soon", tuple(e.phrase for e in m.expiring))
