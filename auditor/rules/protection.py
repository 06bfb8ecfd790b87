"""MAC-FV and MAC-CMP: FileVault and Intune's own compliance verdict."""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.rules.base import Example, RuleContext, rule


@rule(
    id="MAC-FV-001",
    title="FileVault is on",
    severity=Severity.HIGH,
    entity=Entity.DEVICE,
    requires=("is_encrypted",),
    fails_when="`is_encrypted` is false",
    detail=lambda devices, ctx: pd.Series("Intune reports the startup disk is not encrypted", index=devices.index),
    rationale=(
        "Without FileVault anyone holding a lost or stolen Mac can read its disk; Intune can "
        "only escrow and rotate the recovery key of a Mac it encrypted under management."
    ),
    remediation=(
        "Assign an endpoint security disk encryption policy (Endpoint security > Disk "
        "encryption > macOS > FileVault) with 'Enable' and recovery key escrow; check the "
        "Encryption report (Devices > Monitor > Encryption report). On the Mac, "
        "`fdesetup status` shows the state."
    ),
    references=(
        "https://learn.microsoft.com/intune/intune-service/protect/encrypt-devices-filevault",
        "https://github.com/usnistgov/macos_security/blob/main/rules/system_settings/system_settings_filevault_enforce.yaml",
    ),
    sources=("MS-FV", "MSCP"),
    controls={
        "NIST 800-53": ("SC-28", "SC-28(1)"),
        "mSCP": ("system_settings_filevault_enforce",),
        "CIS macOS": ("2.6.6",),
        "CIS Controls v8": ("3.6",),
        "ISO/IEC 27001:2022": ("A.8.24",),
        "SOC 2": ("CC6.1",),
    },
    own_mappings=("ISO/IEC 27001:2022", "SOC 2"),
    examples=(
        Example("filevault-on", {"is_encrypted": True}, Status.PASS),
        Example("filevault-off", {"is_encrypted": False}, Status.FAIL),
        Example("filevault-not-reported", {"is_encrypted": None}, Status.UNKNOWN),
    ),
)
def filevault_on(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["is_encrypted"]
