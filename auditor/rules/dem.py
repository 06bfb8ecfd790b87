"""MAC-DEM: device enrollment manager accounts stay clear of Intune's per-account device limit.

It judges another entity than the enrollment family's Macs: one row per DEM account.
"""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, rule


@rule(
    id="MAC-DEM-001",
    problem="DEM account near its 1,000-device limit",
    title="Each DEM account stays below its 1,000-device limit",
    severity=Severity.LOW,
    entity=Entity.DEM_ACCOUNT,
    requires=("device_count",),
    scope_text="one entity per device enrollment manager account that enrolled Macs",
    fails_when="the Macs enrolled by the account number `warn_at` (default 900) or more",
    params={"warn_at": 900},
    detail=lambda accounts, ctx: (
        accounts["device_count"].astype(str)
        + f" Macs enrolled (Intune's limit is 1,000 devices per DEM account; warning at "
        f"{ctx.int_param('warn_at')})"
    ),
    rationale=(
        "A device enrollment manager account can enroll up to 1,000 devices (fewer when the "
        "Entra device limit is lower); at the limit enrollment stops, typically in the middle "
        "of a rollout. The count here covers Macs only, so the account may be closer still."
    ),
    remediation=(
        "Spread enrollments over another DEM account (Devices > Enrollment > Device "
        "enrollment managers > Add), or better, move company Macs to Automated Device "
        "Enrollment. Retire devices that left; do not delete a DEM account that still has "
        "enrolled devices."
    ),
    references=(ref.MS_DEM,),
    sources=("MS-DEM",),
    controls={"NIST 800-53": ("CM-8",), "ISO/IEC 27001:2022": ("A.5.9",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example("pass-899-macs", {"device_count": 899}, Status.PASS),
        Example("fail-900-macs", {"device_count": 900}, Status.FAIL),
        Example("unknown-count-missing", {"device_count": None}, Status.UNKNOWN),
    ),
)
def dem_below_limit(accounts: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return accounts["device_count"] < ctx.int_param("warn_at")
