"""Posture, the report's headline: the percent of Macs without a failing critical or high result.

One definition for page one, the history trend, `history list` and the stored-schema
migration (which states it in SQL; a test asserts the two agree). A Mac counts against
posture when it fails, unwaived, a device rule of a serious severity; waived, unknown and
not-applicable results never do.
"""

from __future__ import annotations

from auditor.models import Severity

SERIOUS: tuple[Severity, ...] = (Severity.CRITICAL, Severity.HIGH)
LABEL = "Macs with no critical or high failure"


def is_serious(severity: Severity | str) -> bool:
    """True when a failure of this severity counts against posture."""
    return Severity(severity) in SERIOUS


def posture_pct(devices: int, serious_devices: int) -> float | None:
    """Percent of `devices` Macs not among the `serious_devices` failing a serious rule.

    None when there are no Macs: a posture of nothing is not 100 %.
    """
    if devices <= 0:
        return None
    return 100 * (devices - serious_devices) / devices
