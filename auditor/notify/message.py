"""One run's message: page one's essentials, taken from findings.json and nothing else.

Every number is copied from the document (docs/findings-json.md), never recomputed from the
reports, so a message and findings.json cannot disagree. What the document does not carry (no
history, no tenant block, a part not collected) is left out or said to be unknown, never
filled in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor.models import Severity
from auditor.notify.document import RunDocument
from auditor.notify.settings import NotifySettings

TOP_CAUSES = 5
TOP_WHY = 3  # cause sentences a notification quotes


@dataclass(frozen=True, slots=True)
class Cause:
    """A rule with new (or, without a comparison, current) failures at the message's severities."""

    rule_id: str
    title: str  # the passing state the results fail, e.g. "FileVault is on"
    severity: str
    results: int


@dataclass(frozen=True, slots=True)
class Expiry:
    """Something that stops working on a date: a certificate, a token, a waiver."""

    what: str
    expires_on: dt.date
    days_left: int  # negative once expired, counted from the as-of date

    @property
    def phrase(self) -> str:
        """'expires 2026-09-22 (in 21 days)' or 'expired 2026-05-14 (110 days ago)'."""
        if self.days_left < 0:
            return f"{self.what} expired {self.expires_on} ({-self.days_left} days ago)"
        when = "today" if self.days_left == 0 else f"in {self.days_left} days"
        return f"{self.what} expires {self.expires_on} ({when})"


@dataclass(frozen=True, slots=True)
class Message:
    """What every channel says about one finished run."""

    organisation: str
    tenant_id: str
    period: str
    as_of: str
    devices: int
    posture_pct: float | None
    posture_devices: int
    previous_period: str | None  # None: no comparison (first period or no history)
    previous_posture_pct: float | None
    new_by_severity: dict[str, int] | None  # None without a comparison
    fail_by_severity: dict[str, int]
    floor: Severity  # causes and Macs are those failing at or above this severity
    causes: tuple[Cause, ...]
    failing_macs: int
    new_failing_macs: int | None
    device_names: tuple[str, ...]  # Macs with new failures (without history: failing)
    is_complete: bool
    gaps: tuple[tuple[str, str, bool], ...]  # part, reason, is_core
    expiring: tuple[Expiry, ...]
    catalogue_stale: bool
    link: str | None
    folder: str
    reports: tuple[str, ...]
    # why the failures changed, one sentence per top cause at the floor (findings.json
    # changes.causes, the report's wording); empty without a comparison or causes
    why: tuple[str, ...] = ()

    @property
    def posture_delta(self) -> float | None:
        """Points gained (+) or lost (-) since the previous period."""
        if self.posture_pct is None or self.previous_posture_pct is None:
            return None
        return round(self.posture_pct - self.previous_posture_pct, 1)

    @property
    def new_at_floor(self) -> int | None:
        """New failing results at or above the message's severity (None: no comparison)."""
        return _at_or_above(self.new_by_severity, self.floor)

    def severities_phrase(self) -> str:
        """'critical/high' for the default floor: the severities the message speaks of."""
        return "/".join(s.value for s in Severity if s.rank <= self.floor.rank)


@dataclass(frozen=True, slots=True)
class RunFailure:
    """A run that stopped with an error: no reports, but people must hear about it."""

    organisation: str
    as_of: str
    error: str
    exit_code: int


def build_message(
    document: RunDocument,
    settings: NotifySettings,
    folder: Path,
    reports: Sequence[str],
    floor: Severity = Severity.HIGH,
) -> Message:
    """The message for a finished run whose findings.json is `document`.

    Args:
        document: what findings.json says (read by `document.read_document`).
        settings: the [notify] settings (link template, horizon, how many names).
        folder: where the reports are.
        reports: names of the files the run wrote there.
        floor: the lowest severity the message's causes and device names cover.
    """
    run, summary, changes = document.run, document.summary, document.changes
    as_of = dt.date.fromisoformat(str(run["as_of"]))
    compared = changes is not None and changes.get("previous_period") is not None
    previous = changes.get("previous_period") if compared and changes else None
    new_by_severity = dict(changes["new_by_severity"]) if compared and changes else None
    posture = summary.get("posture") or {}
    failing = document.failing
    names = failing.new_names if failing.new_count is not None else failing.names
    return Message(
        organisation=str(run.get("organisation", "")),
        tenant_id=str(run.get("tenant_id", "unknown")),
        period=document.period,
        as_of=str(run["as_of"]),
        devices=int(summary.get("devices", 0)),
        posture_pct=posture.get("pct"),
        posture_devices=int(posture.get("devices") or 0),
        previous_period=previous,
        previous_posture_pct=_previous_posture(changes, previous),
        new_by_severity=new_by_severity,
        fail_by_severity=dict(summary.get("fail_by_severity", {})),
        floor=floor,
        causes=_causes(document, floor, compared),
        failing_macs=failing.count,
        new_failing_macs=failing.new_count if compared else None,
        device_names=tuple(names[: settings.device_names]),
        is_complete=bool(run.get("complete", True)),
        gaps=tuple(
            (str(g.get("part")), str(g.get("reason")), bool(g.get("is_core")))
            for g in run.get("gaps", [])
        ),
        expiring=expiring_items(document, as_of, settings.expiry_days),
        catalogue_stale=bool((run.get("catalogue") or {}).get("stale")),
        link=report_link(settings.report_url, run) if settings.report_url else None,
        folder=str(folder),
        reports=tuple(reports),
        why=_why(changes, floor) if compared else (),
    )


def _why(changes: dict[str, Any] | None, floor: Severity) -> tuple[str, ...]:
    """The report's cause sentences at or above `floor`, largest first (at most TOP_WHY)."""
    causes = (changes or {}).get("causes")
    if not isinstance(causes, list):
        return ()  # a findings.json written before causes were kept
    return tuple(
        str(c["sentence"])
        for c in causes
        if isinstance(c, dict)
        and c.get("severity") in _SEVERITIES
        and c.get("sentence")
        and Severity(c["severity"]).rank <= floor.rank
    )[:TOP_WHY]


_SEVERITIES = {s.value for s in Severity}


def report_link(template: str, run: dict[str, object]) -> str:
    """The link template filled in with the run's period, date, organisation and tenant."""
    as_of = str(run.get("as_of", ""))
    values = {
        "period": as_of[:7],
        "as_of": as_of,
        "organisation": str(run.get("organisation", "")),
        "tenant_id": str(run.get("tenant_id", "")),
    }
    return template.format(**{k: quote(v, safe="") for k, v in values.items()})


def expiring_items(document: RunDocument, as_of: dt.date, horizon_days: int) -> tuple[Expiry, ...]:
    """APNs certificate, ADE/VPP tokens and waivers expired or expiring within the horizon.

    Tokens come from findings.json's `tenant` block when the file has one (VPP tokens once it
    carries them); a part that was not collected is a gap in `run.gaps`, not "nothing expires".
    """
    found: list[Expiry] = []
    tenant = document.tenant or {}
    apns = tenant.get("apns_certificate")
    if isinstance(apns, dict):
        found += _expiry("Apple MDM push certificate", apns.get("expires_at"), as_of)
    for key, label in (("ade_tokens", "ADE token"), ("vpp_tokens", "VPP token")):
        for token in tenant.get(key) or []:
            name = token.get("name") or token.get("token_id")
            found += _expiry(f"{label} '{name}'", token.get("expires_at"), as_of)
    for waiver in document.waivers:
        if waiver.get("state") != "unmatched":
            what = f"waiver {waiver.get('waiver_id')} ({waiver.get('rule_id')})"
            found += _expiry(what, waiver.get("expires"), as_of)
    items = [e for e in found if e.days_left <= horizon_days]
    return tuple(sorted(items, key=lambda e: (e.days_left, e.what)))


def _expiry(what: str, value: object, as_of: dt.date) -> list[Expiry]:
    if not isinstance(value, str) or not value:
        return []
    day = dt.date.fromisoformat(value[:10])
    return [Expiry(what, day, (day - as_of).days)]


def _previous_posture(changes: dict[str, object] | None, previous: str | None) -> float | None:
    if changes is None or previous is None:
        return None
    shown = changes.get("previous_posture_pct")  # as the report shows it (rounded), if written
    if isinstance(shown, int | float):
        return float(shown)
    trend = changes.get("trend")
    for point in trend if isinstance(trend, list) else []:
        if point.get("period") == previous:
            value = point.get("posture_pct")
            return float(value) if value is not None else None
    return None


def _causes(document: RunDocument, floor: Severity, compared: bool) -> tuple[Cause, ...]:
    """Rules with the most new failing results at or above `floor` (or failing, uncompared)."""
    rules = {r["rule_id"]: r for r in document.summary.get("rules", [])}
    if compared and document.changes is not None:
        counts = {d["rule_id"]: int(d.get("new", 0)) for d in document.changes.get("per_rule", [])}
    else:
        counts = {rule_id: int(r.get("fail", 0)) for rule_id, r in rules.items()}
    causes = [
        Cause(rule_id, str(rules[rule_id].get("title", "")), str(rules[rule_id]["severity"]), n)
        for rule_id, n in counts.items()
        if n > 0 and rule_id in rules and Severity(rules[rule_id]["severity"]).rank <= floor.rank
    ]
    causes.sort(key=lambda c: (Severity(c.severity).rank, -c.results, c.rule_id))
    return tuple(causes[:TOP_CAUSES])


def _at_or_above(counts: dict[str, int] | None, floor: Severity) -> int | None:
    if counts is None:
        return None
    return sum(n for severity, n in counts.items() if Severity(severity).rank <= floor.rank)


def triggers_met(message: Message, triggers: frozenset[str], severity: Severity) -> list[str]:
    """Why a channel with these triggers hears about this run; empty when it does not.

    A PARTIAL run is always news: missing data can hide the failures a quiet channel waits for.
    Without a comparison (first period, no history), failures at or above `severity` count as
    new, since nothing says they are not.
    """
    reasons = []
    if not message.is_complete:
        reasons.append("the inventory is PARTIAL")
    if "every-run" in triggers:
        reasons.append("every run is reported")
    if "new-failures" in triggers:
        new = _at_or_above(message.new_by_severity, severity)
        if new:
            reasons.append(f"{new} new failing result(s) at or above {severity.value}")
        elif new is None and _at_or_above(message.fail_by_severity, severity):
            reasons.append(
                f"failures at or above {severity.value} and no earlier period to compare"
            )
    if "expiring" in triggers and message.expiring:
        reasons.append(f"{len(message.expiring)} item(s) expired or expiring")
    return reasons
