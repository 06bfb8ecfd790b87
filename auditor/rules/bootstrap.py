"""MAC-BST, MAC-SWU, MAC-KXT: bootstrap token escrow and what it unlocks on Apple silicon."""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.refdata.versions import version_key
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, at_least, is_one_of, per_row, rule
from auditor.rules.phrases import method_words

_SWU_ADE_FROM = "11.1"
_SWU_SUPERVISED_FROM = "11.2"
_KEXT_ADE_FROM = "11"


def _supervision_words(supervised: bool | None) -> str:
    if supervised is None:
        return "supervision unknown"
    return "supervised" if supervised else "not supervised"


def _method_short(method: str | None) -> str:
    return "ADE" if method == "ade" else method_words(method)


def _escrow_scope(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    managed = devices["is_supervised"].astype("boolean") | is_one_of(
        devices["enrollment_method"], "ade"
    )
    return at_least(devices["os_version_key"], "10.15") & managed


def _escrow_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    def describe(version: str, supervised: bool | None, method: str | None) -> str:
        return (
            f"bootstrap token not escrowed (macOS {version}, "
            f"{_supervision_words(supervised)}, {_method_short(method)})"
        )

    return per_row(
        devices[["os_version", "is_supervised", "enrollment_method"]], describe, "string"
    )


@rule(
    id="MAC-BST-001",
    problem="Macs without a bootstrap token escrowed to Intune",
    title="Bootstrap token is escrowed to Intune",
    severity=Severity.HIGH,
    entity=Entity.DEVICE,
    requires=(
        "os_version_key",
        "os_version",
        "is_supervised",
        "enrollment_method",
        "bootstrap_escrowed",
    ),
    nullable=("is_supervised", "enrollment_method"),
    scope=_escrow_scope,
    scope_text="macOS 10.15 or later, supervised or enrolled through ADE",
    fails_when="`bootstrap_escrowed` is false",
    detail=_escrow_detail,
    rationale=(
        "With the bootstrap token escrowed, macOS can give a secure token to accounts that "
        "sign in later (mobile accounts, the ADE-created administrator) and, on Apple "
        "silicon, authorise software updates and kernel extensions without a local "
        "administrator. Without it, FileVault users cannot be added unattended and enforced "
        "updates wait for an administrator's password."
    ),
    remediation=(
        "On the Mac, `profiles status -type bootstraptoken` shows whether the server supports "
        "the token and whether it is escrowed. macOS escrows it when a secure-token user signs "
        "in with their password after enrollment; `sudo profiles install -type bootstraptoken` "
        "escrows it on demand (it asks for a secure-token administrator). Intune shows the "
        "result under Devices > macOS > the device > Hardware > Conditional access > "
        "Bootstrap token escrowed."
    ),
    references=(ref.MS_ENR, ref.AP_TOKEN, ref.AP_DEV_BOOTSTRAP),
    sources=("MS-ENR", "AP-TOKEN", "AP-DEV", "MS-GRAPH"),
    controls={
        "NIST 800-53": ("SI-2", "CM-6"),
        "CIS Controls v8": ("7.3",),
        "ISO/IEC 27001:2022": ("A.8.8", "A.8.9"),
        "SOC 2": ("CC7.1",),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022", "SOC 2"),
    examples=(
        Example(
            "pass-escrowed",
            {
                "os_version": "14.8.9",
                "is_supervised": True,
                "enrollment_method": "ade",
                "bootstrap_escrowed": True,
            },
            Status.PASS,
        ),
        Example(
            "fail-not-escrowed",
            {
                "os_version": "14.8.9",
                "is_supervised": True,
                "enrollment_method": "ade",
                "bootstrap_escrowed": False,
            },
            Status.FAIL,
        ),
        Example(
            "fail-ade-supervision-unknown",
            {
                "os_version": "10.15.7",
                "is_supervised": None,
                "enrollment_method": "ade",
                "bootstrap_escrowed": False,
            },
            Status.FAIL,
        ),
        Example(
            "unknown-escrow-not-reported",
            {
                "os_version": "15.7.9",
                "is_supervised": True,
                "enrollment_method": "byod",
                "bootstrap_escrowed": None,
            },
            Status.UNKNOWN,
        ),
        Example(
            "unknown-supervision-not-reported",
            {
                "os_version": "15.7.9",
                "is_supervised": None,
                "enrollment_method": "byod",
                "bootstrap_escrowed": False,
            },
            Status.UNKNOWN,
        ),
        Example(
            "na-unsupervised-byod",
            {
                "os_version": "15.7.9",
                "is_supervised": False,
                "enrollment_method": "byod",
                "bootstrap_escrowed": False,
            },
            Status.NOT_APPLICABLE,
        ),
        Example(
            "na-mojave",
            {
                "os_version": "10.14.6",
                "is_supervised": True,
                "enrollment_method": "ade",
                "bootstrap_escrowed": False,
            },
            Status.NOT_APPLICABLE,
        ),
    ),
)
def bootstrap_token_escrowed(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["bootstrap_escrowed"]


def _apple_silicon(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return is_one_of(devices["chip"], "apple_silicon")


def _update_path(devices: pd.DataFrame) -> pd.Series:
    ade = is_one_of(devices["enrollment_method"], "ade")
    supervised = devices["is_supervised"].astype("boolean")
    key = devices["os_version_key"]
    return (ade & at_least(key, _SWU_ADE_FROM)) | (supervised & at_least(key, _SWU_SUPERVISED_FROM))


def _update_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    ade_from, supervised_from = version_key(_SWU_ADE_FROM), version_key(_SWU_SUPERVISED_FROM)

    def describe(
        escrowed: bool | None,
        method: str | None,
        supervised: bool | None,
        key: int | None,
        version: str | None,
    ) -> str:
        reasons = []
        if escrowed is not True:
            reasons.append(
                "bootstrap token not escrowed" if escrowed is False else "escrow not reported"
            )
        on_path = key is not None and (
            (method == "ade" and key >= ade_from) or (supervised is True and key >= supervised_from)
        )
        if not on_path:
            reasons.append(
                f"neither ADE on macOS {_SWU_ADE_FROM}+ nor supervised on macOS "
                f"{_SWU_SUPERVISED_FROM}+ (macOS {version or 'unknown'}, "
                f"{_method_short(method)}, {_supervision_words(supervised)})"
            )
        return "; ".join(reasons)

    columns = ["bootstrap_escrowed", "enrollment_method", "is_supervised", "os_version_key"]
    return per_row(devices[[*columns, "os_version"]], describe, "string")


@rule(
    id="MAC-SWU-001",
    problem=(
        "Apple silicon Macs that cannot authorize software updates with their bootstrap token"
    ),
    title="Apple silicon Mac can authorize software updates with its bootstrap token",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=(
        "chip",
        "bootstrap_escrowed",
        "enrollment_method",
        "is_supervised",
        "os_version_key",
        "os_version",
    ),
    nullable=(
        "bootstrap_escrowed",
        "enrollment_method",
        "is_supervised",
        "os_version_key",
        "os_version",
    ),
    scope=_apple_silicon,
    scope_text="Macs with Apple silicon",
    fails_when=(
        "not (bootstrap token escrowed and ((`ade` and os >= 11.1) or (supervised and os >= 11.2)))"
    ),
    detail=_update_detail,
    rationale=(
        "On Apple silicon a macOS update must be authorised by a volume owner. Intune can do "
        "that with the escrowed bootstrap token on ADE Macs from macOS 11.1 and on any "
        "supervised Mac from macOS 11.2, so enforced updates install without a local "
        "administrator; otherwise they stall until an administrator signs in and approves."
    ),
    remediation=(
        "Escrow the bootstrap token (see MAC-BST-001). A Mac that is neither enrolled through "
        "ADE nor supervised must be re-enrolled through ADE (`sudo profiles renew -type "
        "enrollment` once it is assigned in Apple Business Manager); the alternative, lowering "
        "the startup security policy in recovery mode, weakens the Mac and is not recommended."
    ),
    references=(ref.MS_ENR, ref.AP_TOKEN, ref.AP_STARTUP_SECURITY),
    sources=("MS-ENR", "AP-TOKEN", "AP-DEV"),
    controls={
        "NIST 800-53": ("SI-2",),
        "CIS Controls v8": ("7.3", "7.4"),
        "ISO/IEC 27001:2022": ("A.8.8",),
        "SOC 2": ("CC7.1",),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022", "SOC 2"),
    examples=(
        Example(
            "pass-ade-11.1",
            {
                "chip": "apple_silicon",
                "bootstrap_escrowed": True,
                "enrollment_method": "ade",
                "is_supervised": None,
                "os_version": "11.1",
            },
            Status.PASS,
        ),
        Example(
            "pass-supervised-11.2",
            {
                "chip": "apple_silicon",
                "bootstrap_escrowed": True,
                "enrollment_method": "byod",
                "is_supervised": True,
                "os_version": "11.2",
            },
            Status.PASS,
        ),
        Example(
            "fail-supervised-11.1",
            {
                "chip": "apple_silicon",
                "bootstrap_escrowed": True,
                "enrollment_method": "byod",
                "is_supervised": True,
                "os_version": "11.1",
            },
            Status.FAIL,
        ),
        Example(
            "fail-not-escrowed",
            {
                "chip": "apple_silicon",
                "bootstrap_escrowed": False,
                "enrollment_method": "ade",
                "is_supervised": True,
                "os_version": "26.6.2",
            },
            Status.FAIL,
        ),
        Example(
            "fail-unsupervised-escrow-unknown",
            {
                "chip": "apple_silicon",
                "bootstrap_escrowed": None,
                "enrollment_method": "byod",
                "is_supervised": False,
                "os_version": "15.7.9",
            },
            Status.FAIL,
        ),
        Example(
            "unknown-escrow-not-reported",
            {
                "chip": "apple_silicon",
                "bootstrap_escrowed": None,
                "enrollment_method": "ade",
                "is_supervised": True,
                "os_version": "15.7.9",
            },
            Status.UNKNOWN,
        ),
        Example(
            "unknown-chip",
            {"chip": "unknown", "bootstrap_escrowed": True, "os_version": "15.7.9"},
            Status.UNKNOWN,
        ),
        Example(
            "na-intel",
            {"chip": "intel", "bootstrap_escrowed": False, "os_version": "15.7.9"},
            Status.NOT_APPLICABLE,
        ),
    ),
)
def updates_authorized_by_bootstrap_token(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["bootstrap_escrowed"].astype("boolean") & _update_path(devices)


def _kext_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    def describe(method: str | None, version: str | None) -> str:
        return (
            "remote kernel extension management needs ADE on macOS 11+ "
            f"(enrolled through {method_words(method)}, macOS {version or 'unknown'})"
        )

    return per_row(devices[["enrollment_method", "os_version"]], describe, "string")


@rule(
    id="MAC-KXT-001",
    problem="Apple silicon Macs without remote kernel extension management",
    title="Apple silicon Mac supports remote kernel extension management",
    severity=Severity.LOW,
    entity=Entity.DEVICE,
    requires=("chip", "enrollment_method", "os_version_key", "os_version"),
    nullable=("enrollment_method", "os_version_key", "os_version"),
    scope=_apple_silicon,
    scope_text="Macs with Apple silicon",
    fails_when="not (`ade` and os >= 11)",
    detail=_kext_detail,
    rationale=(
        "On Apple silicon, Intune can approve kernel extensions remotely only on Macs enrolled "
        "through ADE on macOS 11 or later; on other Macs every kernel extension needs the "
        "startup security policy lowered in recovery mode by someone at the Mac. Apple no "
        "longer recommends kernel extensions: system extensions avoid the problem."
    ),
    remediation=(
        "Prefer system extensions and remove kernel extensions where the vendor offers one. "
        "Where a kernel extension is unavoidable, enroll the Mac through ADE (`sudo profiles "
        "renew -type enrollment` once it is assigned in Apple Business Manager) instead of "
        "reducing security in Startup Security Utility."
    ),
    references=(ref.MS_ENR, ref.AP_KEXT, ref.AP_STARTUP_SECURITY),
    sources=("MS-ENR", "AP-TOKEN"),
    controls={"NIST 800-53": ("CM-7",), "ISO/IEC 27001:2022": ("A.8.19",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-ade-macos-11",
            {"chip": "apple_silicon", "enrollment_method": "ade", "os_version": "11.0.1"},
            Status.PASS,
        ),
        Example(
            "fail-company-portal",
            {"chip": "apple_silicon", "enrollment_method": "byod", "os_version": "26.6.2"},
            Status.FAIL,
        ),
        Example(
            "unknown-method",
            {"chip": "apple_silicon", "enrollment_method": None, "os_version": "26.6.2"},
            Status.UNKNOWN,
        ),
        Example(
            "na-intel",
            {"chip": "intel", "enrollment_method": "byod", "os_version": "15.7.9"},
            Status.NOT_APPLICABLE,
        ),
    ),
)
def kext_management_available(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return is_one_of(devices["enrollment_method"], "ade") & at_least(
        devices["os_version_key"], _KEXT_ADE_FROM
    )
