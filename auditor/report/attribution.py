"""Why the numbers moved, in words: cause counts, one sentence per top cause, exposure clocks.

The causes come from history (`history.causes`, carried in `Changes`); this module counts them
(results and distinct Macs), words one sentence per (cause, rule) and ranks them by severity
weight × entities affected. The exposure clock counts, per actively exploited CVE the catalogue
knows at the as-of date, the Macs still without its fix and the days since the fix shipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from auditor.models import Changes, Entity, Severity
from auditor.refdata.catalogue import Catalogue
from auditor.refdata.changes import exploited_fixes
from auditor.refdata.versions import version_key
from auditor.report.frames import column
from auditor.report.model import CatalogueChange, CauseCount, CauseLine, ExposureClock

# Ranking weight of a severity: each step counts three times the next (severity × Macs).
SEVERITY_WEIGHT = {"critical": 81, "high": 27, "medium": 9, "low": 3, "info": 1}
CAUSE_GROUPS = {  # mirrors `history.causes.CAUSE_GROUPS` (report may not import history)
    "new_mac": "new", "regressed": "mac", "now_reported": "mac", "catalogue": "bar",
    "grace_ended": "bar", "parameter": "bar", "rule_added": "bar", "waiver_ended": "bar",
    "undetermined": "undetermined",
}  # fmt: skip
GROUP_ORDER = ("mac", "bar", "new", "undetermined")
RESOLUTIONS = ("fixed", "relaxed", "waived", "unknown", "retired")
_NOUNS = {
    Entity.DEVICE.value: ("Mac", "Macs"),
    Entity.TENANT.value: ("tenant", "tenants"),
    Entity.ADE_TOKEN.value: ("ADE token", "ADE tokens"),
    Entity.DEM_ACCOUNT.value: ("DEM account", "DEM accounts"),
    Entity.ADE_IDENTITY.value: ("ABM-assigned serial", "ABM-assigned serials"),
    Entity.VPP_TOKEN.value: ("VPP token", "VPP tokens"),
    Entity.COMPLIANCE_POLICY.value: ("compliance policy", "compliance policies"),
}


def counted(n: int, entity_type: str) -> str:
    """`n` with the entity's noun: "1 Mac", "333 Macs", "1 ADE token"."""
    one, many = _NOUNS.get(entity_type, ("entity", "entities"))
    return f"{n:,} {one if n == 1 else many}"


def cause_counts(changes: Changes) -> tuple[tuple[CauseCount, ...], tuple[CauseCount, ...]]:
    """New failures per cause group (every group listed) and per cause (those present)."""
    new = changes.new
    cause = column(new, "cause").fillna("undetermined").astype(str)
    groups = cause.map(CAUSE_GROUPS).fillna("undetermined")
    by_group = tuple(_count(new, groups == g, g) for g in GROUP_ORDER)
    present = [c for c in CAUSE_GROUPS if (cause == c).any()]
    return by_group, tuple(_count(new, cause == c, c) for c in present)


def resolution_counts(changes: Changes) -> tuple[CauseCount, ...]:
    """Resolved failures per kind: fixed, relaxed, waived, unknown, retired (each listed)."""
    resolved = changes.resolved
    kind = column(resolved, "resolution").astype("string")
    now = column(resolved, "now").astype("string")
    kind = kind.fillna(now.where(~now.isin(["pass", "not_applicable"]), "fixed")).astype(str)
    return tuple(_count(resolved, kind == k, k) for k in RESOLUTIONS)


def _count(frame: pd.DataFrame, mask: pd.Series, kind: str) -> CauseCount:
    chosen = frame[mask.to_numpy(dtype=bool)]
    is_device = column(chosen, "entity_type").astype("string") == Entity.DEVICE.value
    macs = chosen.loc[is_device.to_numpy(dtype=bool, na_value=False), "entity_id"].nunique()
    return CauseCount(kind, len(chosen), int(macs))


def catalogue_records(changes: Changes) -> tuple[CatalogueChange, ...]:
    """`Changes.catalogue_changes` as records."""
    frame = changes.catalogue_changes
    if not len(frame):
        return ()
    return tuple(
        CatalogueChange(
            kind=str(r["kind"]),
            versions=str(r["versions"]),
            released=None if pd.isna(r["released"]) else dt.date.fromisoformat(r["released"]),
            exploited_cves=tuple(c for c in str(r["exploited_cves"] or "").split(", ") if c),
        )
        for r in frame.astype(object).where(frame.notna(), None).to_dict("records")
    )


def cause_lines(
    changes: Changes,
    problems: Mapping[str, str],
    exploited_rule_ids: frozenset[str],
    catalogue: tuple[CatalogueChange, ...],
) -> tuple[CauseLine, ...]:
    """One sentence per (cause, rule) of the new failures, by severity weight × entities."""
    new = changes.new
    if not len(new):
        return ()
    frame = pd.DataFrame({
        "cause": column(new, "cause").fillna("undetermined").astype(str),
        "rule_id": new["rule_id"].astype(str),
        "severity": column(new, "severity").fillna("info").astype(str),
        "entity_type": new["entity_type"].astype(str),
        "entity_id": new["entity_id"].astype(str),
    })  # fmt: skip
    lines = []
    for key, group in frame.groupby(["cause", "rule_id", "severity", "entity_type"], sort=True):
        cause, rule_id, severity, entity_type = (str(k) for k in cast(tuple[Any, ...], key))
        entities = int(group["entity_id"].nunique())
        words = _Words(changes, problems.get(rule_id, rule_id), rule_id, severity)
        because = words.because(cause, rule_id in exploited_rule_ids, catalogue)
        lines.append(
            CauseLine(
                cause=cause,
                group=CAUSE_GROUPS.get(cause, "undetermined"),
                rule_id=rule_id,
                severity=severity,
                entity_type=entity_type,
                entities=entities,
                results=len(group),
                sentence=words.sentence(cause, counted(entities, entity_type), because),
            )
        )
    return tuple(
        sorted(lines, key=lambda c: (-SEVERITY_WEIGHT.get(c.severity, 0) * c.entities, c.rule_id))
    )


class _Words:
    """The pieces of one cause sentence."""

    def __init__(self, changes: Changes, problem: str, rule_id: str, severity: str) -> None:
        self.changes = changes
        self.rule = f"{rule_id} ({severity}: {problem})"
        self.rule_id = rule_id

    def sentence(self, cause: str, who: str, because: str) -> str:
        """The whole sentence."""
        previous = self.changes.previous_period or "the previous period"
        if cause == "new_mac":
            return f"{who} new since {previous} fail {self.rule}."
        if cause == "regressed":
            return f"{who} regressed on {self.rule}: their own data changed since {previous}."
        if cause == "now_reported":
            return f"{who} now fail {self.rule}; in {previous} their data could not be judged."
        if cause == "undetermined":
            return (
                f"{who} newly fail {self.rule}; the cause is undetermined ({previous} was "
                "recorded before causes were kept)."
            )
        return f"{who} newly fail {self.rule} because {because}."

    def because(
        self, cause: str, is_exploited_rule: bool, catalogue: tuple[CatalogueChange, ...]
    ) -> str:
        """Why, for the causes where the bar moved."""
        since = self.changes.previous_as_of or self.changes.previous_period
        if cause == "catalogue":
            return _catalogue_reason(catalogue, is_exploited_rule)
        if cause == "parameter":
            moved = self.changes.param_changes
            mine = moved[moved["rule_id"] == self.rule_id] if len(moved) else moved
            if not len(mine):
                return "a configured parameter changed"
            return "; ".join(
                f"{r['name']} changed from {r['before']} to {r['after']}"
                for r in mine.to_dict("records")
            )
        if cause == "grace_ended":
            return f"time passed since {since}: a grace period or age limit ran out"
        if cause == "rule_added":
            return f"the rule was not evaluated in {self.changes.previous_period}"
        if cause == "waiver_ended":
            return "the waiver that covered them ended"
        return "the bar moved"


def _catalogue_reason(catalogue: tuple[CatalogueChange, ...], is_exploited_rule: bool) -> str:
    """The catalogue news behind a failure: exploited fixes first, then releases and majors."""
    exploited = [c for c in catalogue if c.exploited_cves]
    chosen = exploited if (is_exploited_rule and exploited) else list(catalogue)
    if not chosen:
        return "the release catalogue changed"
    parts = []
    for change in chosen[:3]:
        day = change.released.isoformat() if change.released else None
        cves = ", ".join(change.exploited_cves)
        verb = "fixes" if "/" not in change.versions else "fix"
        which = "which is" if len(change.exploited_cves) == 1 else "which are"
        if change.kind == "newly_exploited":
            parts.append(
                f"{cves}, fixed in macOS {change.versions} (released {day}), is now known to be "
                "actively exploited"
            )
        elif change.kind == "release" and cves:
            parts.append(
                f"macOS {change.versions}, released {day}, {verb} {cves}, {which} actively "
                "exploited"
            )
        elif change.kind == "release":
            parts.append(f"macOS {change.versions} was released on {day}")
        elif change.kind == "major":
            parts.append(f"macOS {change.versions} was released")
        else:
            parts.append(f"Intune's minimum supported macOS rose to {change.versions}")
    return "; ".join(parts)


def exposure_clocks(
    devices: pd.DataFrame, catalogue: Catalogue | None, as_of: dt.date
) -> tuple[ExposureClock, ...]:
    """Per actively exploited CVE with Macs still exposed: the fix, its age and those Macs."""
    if catalogue is None or not len(devices):
        return ()
    keys = column(devices, "os_version_key", "Int64").astype("Int64")
    majors = column(devices, "os_major").astype("string")
    known = keys.notna().to_numpy() & majors.notna().to_numpy()
    key_values = keys.fillna(0).to_numpy(dtype=np.int64)
    codes, labels = pd.factorize(majors)  # a handful of majors: look each up once
    label_keys = np.array([version_key(m) for m in labels], dtype=np.int64)
    clocks = []
    for fix in exploited_fixes(catalogue, as_of):
        by_major = {version_key(r.major): r.key for r in fix.fixes}
        needed_by_label = np.array([by_major.get(k, -1) for k in label_keys], dtype=np.int64)
        needed = np.where(codes >= 0, needed_by_label[codes] if len(labels) else -1, -1)
        exposed = int((known & (needed >= 0) & (key_values < needed)).sum())
        if exposed:
            clocks.append(
                ExposureClock(
                    cve=fix.cve,
                    fixed_in="/".join(r.version for r in fix.fixes),
                    fixed_on=fix.fixed_on,
                    days_since_fix=(as_of - fix.fixed_on).days,
                    exposed=exposed,
                    not_reported=int((~known).sum()),
                )
            )
    return tuple(clocks)


def posture_delta(trend: pd.DataFrame, previous: str | None) -> tuple[float | None, float | None]:
    """The previous period's headline posture and this period's change from it, in points."""
    if previous is None or not len(trend):
        return None, None
    rows: dict[str, Any] = dict(zip(trend["period"], trend["posture_pct"], strict=True))
    before, now = rows.get(previous), rows.get(str(trend["period"].iloc[-1]))
    if before is None or pd.isna(before):
        return None, None
    if now is None or pd.isna(now):
        return round(float(before), 1), None
    shown_before, shown_now = round(float(before), 1), round(float(now), 1)
    return shown_before, round(shown_now - shown_before, 1)  # the delta of what page one shows


def severity_rank(severity: str) -> int:
    """A severity's rank (0 = critical), unknown text last."""
    try:
        return Severity(severity).rank
    except ValueError:
        return len(Severity)
