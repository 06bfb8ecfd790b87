"""Page one: posture, key numbers, failures by severity, the top rules and what needs attention.

Posture is counted over the results that could be judged; page one also states how many Macs
had an `unknown` on a serious rule, and the posture the Macs would have without any waiver.
A key number nothing could measure is `not_collected` or `not_reported`, never 0 %.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.posture import LABEL, SERIOUS, is_serious, posture_pct
from auditor.report.frames import codes, column, count_codes, equals, is_one_of, pct
from auditor.report.model import (
    EntityResult,
    Kpi,
    RuleSummary,
    SeverityCount,
    Share,
    Summary,
    WaiverOverview,
)
from auditor.report.plain import scalar

TOP_RULES = 5  # page one has room for five
PATCHED_LABEL = "On a supported and patched macOS"
LABEL_WITHOUT_WAIVERS = "Macs with no critical or high failure, waived or not"


def summary(
    results: pd.DataFrame,
    devices: pd.DataFrame,
    summaries: Sequence[RuleSummary],
    worst: np.ndarray,
    entity_results: Sequence[EntityResult],
    patch_rule_ids: Sequence[str],
    waivers: WaiverOverview,
    uncollected_fields: Collection[str] = (),
) -> Summary:
    """The page-one numbers; `worst` is each Mac's worst failing severity rank (5 = none).

    `uncollected_fields` are fields only missing parts feed: a key number over one of them
    that no Mac reports is `not_collected`.
    """
    total = len(devices)
    status = codes(results["status"])
    fail = status == Status.FAIL.code
    waived = status == Status.WAIVED.code
    severity = codes(results["severity"])
    is_device = equals(results["entity_type"], Entity.DEVICE.value)
    rows = results["row"].to_numpy()  # as stored (int32): no 8-byte copy of every result
    by_severity = [
        SeverityCount(s.value, int((fail & (severity == s.rank)).sum()),
                      len(np.unique(rows[fail & (severity == s.rank) & is_device])),
                      int((waived & (severity == s.rank)).sum()))
        for s in Severity
    ]  # fmt: skip
    worst_counts = np.bincount(worst, minlength=len(Severity) + 1)
    serious = int(np.isin(worst, [s.rank for s in SERIOUS]).sum())
    is_serious_result = is_one_of(severity, [s.rank for s in SERIOUS]) & is_device
    serious_or_waived = len(np.unique(rows[(fail | waived) & is_serious_result]))
    unknown_serious = len(np.unique(rows[(status == Status.UNKNOWN.code) & is_serious_result]))
    status_counts = count_codes(status, len(Status))
    synced = column(devices, "last_sync_at", "datetime64[us, UTC]").dropna()
    device_rules = [s for s in summaries if s.entity_type == Entity.DEVICE.value and s.failed]
    return Summary(
        devices=total,
        posture=_posture(LABEL, total, serious),
        posture_without_waivers=_posture(LABEL_WITHOUT_WAIVERS, total, serious_or_waived),
        serious_unknown_devices=unknown_serious,
        kpis=_kpis(results, devices, patch_rule_ids, uncollected_fields),
        patch_rule_ids=tuple(patch_rule_ids),
        status_counts=tuple((s.value, int(status_counts[s.code])) for s in Status),
        failing_by_severity=tuple(by_severity),
        devices_by_worst=tuple(
            Share(name, int(worst_counts[i]), pct(int(worst_counts[i]), total))
            for i, name in enumerate((*(s.value for s in Severity), "none"))
        ),
        top_rules=tuple(
            sorted(device_rules, key=lambda s: (Severity(s.severity).rank, -s.failed, s.rule_id))[
                :TOP_RULES
            ]
        ),
        attention=tuple(
            sorted(
                (
                    r
                    for r in entity_results
                    if r.status == Status.FAIL.value and is_serious(r.severity)
                ),
                key=lambda r: (Severity(r.severity).rank, r.rule_id, r.entity_name),
            )
        ),
        newest_sync_at=scalar(synced.max()) if len(synced) else None,
        oldest_sync_at=scalar(synced.min()) if len(synced) else None,
        never_synced=total - len(synced),
        waivers=waivers,
    )


def _posture(label: str, total: int, serious: int) -> Share:
    """`auditor.posture` as a share (0.0 without Macs: page one then says there are none)."""
    posture = posture_pct(total, serious)
    return Share(label, total - serious, 0.0 if posture is None else round(posture, 1))


def _kpis(
    results: pd.DataFrame,
    devices: pd.DataFrame,
    patch_rule_ids: Sequence[str],
    uncollected_fields: Collection[str],
) -> tuple[Kpi, ...]:
    total = len(devices)

    def share(key: str, label: str, yes: pd.Series, missing: pd.Series, field: str) -> Kpi:
        unknown = int(missing.sum())
        if total and unknown == total:  # nothing to count: not a 0 %
            state = "not_collected" if field in uncollected_fields else "not_reported"
            return Kpi(key, label, None, None, unknown, state)
        count = int(yes.fillna(False).astype(bool).sum())
        return Kpi(key, label, count, pct(count, total), unknown)

    def flag(key: str, label: str, name: str) -> Kpi:
        values = column(devices, name, "boolean").astype("boolean")
        return share(key, label, values == True, values.isna(), name)  # noqa: E712

    method = column(devices, "enrollment_method").astype("string")
    return (
        Kpi("devices", "Macs", total, 100.0 if total else 0.0, 0),
        share(
            "ade",
            "Enrolled through Automated Device Enrollment",
            method == "ade",
            method.isna() | (method == "unknown"),
            "enrollment_method",
        ),
        flag("supervised", "Supervised", "is_supervised"),
        flag("user_approved", "MDM enrollment user-approved", "user_approved"),
        flag("bootstrap_escrowed", "Bootstrap token escrowed", "bootstrap_escrowed"),
        _patched_kpi(results, total, patch_rule_ids),
        flag("filevault", "FileVault on", "is_encrypted"),
    )


def _patched_kpi(results: pd.DataFrame, total: int, patch_rule_ids: Sequence[str]) -> Kpi:
    """Macs whose patch-group rules (supported, updated, fixes, latest patch) all pass or n/a."""
    present = results["rule_id"].isin(patch_rule_ids).to_numpy(dtype=bool, na_value=False)
    if not present.any():
        return Kpi("patched", PATCHED_LABEL, None, None, 0, "not_assessed")
    status = codes(results["status"])
    ok = is_one_of(status, [Status.PASS.code, Status.NOT_APPLICABLE.code])
    rows = results["row"].to_numpy()
    bad_rows = np.unique(rows[present & ~ok])
    unknown_rows = np.unique(rows[present & (status == Status.UNKNOWN.code)])
    if total and len(unknown_rows) == total:
        return Kpi("patched", PATCHED_LABEL, None, None, total, "not_reported")
    count = total - len(bad_rows)
    return Kpi("patched", PATCHED_LABEL, count, pct(count, total), len(unknown_rows))
