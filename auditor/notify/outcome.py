"""The few lines every run ends with on stderr: what a cron log or a CI job shows a person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.notify.layout import SEVERITIES
from auditor.notify.message import Message, RunFailure

if TYPE_CHECKING:  # sending imports httpx: only to send
    from auditor.notify.sending import Delivery

_SHOWN_EXPIRIES = 3


def outcome_lines(
    message: Message | RunFailure, deliveries: Sequence[Delivery], notify_note: str = ""
) -> list[str]:
    """The outcome summary of a run; `notify_note` replaces the deliveries when there are none."""
    if isinstance(message, RunFailure):
        lines = [
            f"auditor: {message.organisation} · as of {message.as_of}: FAILED "
            f"(exit {message.exit_code}), no reports written",
        ]
    else:
        lines = _run_lines(message)
    if deliveries:
        lines.append("  notifications:")
        lines += [f"    {_delivery_line(d)}" for d in deliveries]
    else:
        lines.append(f"  notifications: {notify_note or 'none configured'}")
    return lines


def _run_lines(m: Message) -> list[str]:
    lines = [
        f"auditor: {m.organisation} · tenant {m.tenant_id} · period {m.period} (as of {m.as_of})"
    ]
    if m.posture_pct is None:
        lines.append(f"  posture unknown: {m.devices} Macs")
    else:
        posture = (
            f"  posture {m.posture_pct:.1f} % ({m.posture_devices:,} of {m.devices:,} Macs without "
            "an unwaived critical or high failure)"
        )
        if m.posture_delta is not None:
            posture += f", {m.posture_delta:+.1f} points since {m.previous_period}"
        lines.append(posture)
    severities = m.severities_phrase()
    if m.new_by_severity is None:
        failing = " · ".join(f"{s} {m.fail_by_severity.get(s, 0):,}" for s in SEVERITIES)
        lines.append(f"  failing results: {failing} (no earlier period to compare)")
    else:
        new = " · ".join(f"{s} {m.new_by_severity.get(s, 0):,}" for s in SEVERITIES)
        on = f" on {m.new_failing_macs:,} Macs" if m.new_failing_macs is not None else ""
        lines.append(
            f"  new since {m.previous_period}: {new} ({m.new_at_floor:,} new {severities}{on})"
        )
    if not m.is_complete:
        reasons = "; ".join(f"{part}: {reason}" for part, reason, core in m.gaps if core)
        lines.append(f"  PARTIAL: {reasons} (counts cover only what was collected)")
    if m.expiring:
        shown = "; ".join(e.phrase for e in m.expiring[:_SHOWN_EXPIRIES])
        more = len(m.expiring) - _SHOWN_EXPIRIES
        lines.append(f"  expiring: {shown}" + (f"; and {more} more" if more > 0 else ""))
    lines.append(f"  reports: {m.folder} ({', '.join(m.reports)})")
    return lines


def _delivery_line(delivery: Delivery) -> str:
    if delivery.status == "failed":
        tries = f" after {delivery.attempts} attempts" if delivery.attempts > 1 else ""
        return f"{delivery.channel} ({delivery.kind}): FAILED{tries}: {delivery.detail}"
    return delivery.line
