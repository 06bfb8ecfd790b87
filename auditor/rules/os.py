"""MAC-OS: macOS versions against Intune's floor and Apple's releases and fixes (catalogue)."""

from __future__ import annotations

import pandas as pd

from auditor.errors import ConfigError
from auditor.models import Entity, Severity, Status
from auditor.refdata.versions import key_text, version_key
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, per_row, per_value, rule

_PATCH_SOURCES = ("SOFA", "MSCP")


def major_position(os_major: pd.Series, ctx: RuleContext) -> pd.Series:
    """Position of each Mac's major among the majors released by the as-of date (0 = oldest).

    Majors older than the catalogue's first get -1; a major newer than the newest the
    catalogue knows at the as-of date (a beta, or a stale catalogue) gets NA, and so does
    every major when the catalogue knows none released by the as-of date (a date before 2019).
    """
    labels = ctx.catalogue.majors_at(ctx.as_of)
    if not labels:
        return pd.Series(pd.NA, index=os_major.index, dtype="Int64")
    keys = [version_key(label) for label in labels]

    def position(label: str) -> int | None:
        if label in labels:
            return labels.index(label)
        try:
            key = version_key(str(label))
        except ValueError:
            return None
        return -1 if key < keys[0] else None

    return per_value(os_major, position, "Int64")


def receives_updates(os_major: pd.Series, ctx: RuleContext) -> pd.Series:
    """Nullable boolean: the major is among the three newest at the as-of date."""
    newest = len(ctx.catalogue.majors_at(ctx.as_of)) - 1
    return (major_position(os_major, ctx) >= newest - 2).astype("boolean")


def _supported_text(ctx: RuleContext) -> str:
    return ", ".join(ctx.catalogue.supported_majors(ctx.as_of))


def _per_major_floor(os_major: pd.Series, ctx: RuleContext, grace_days: int | None) -> pd.Series:
    """Version key each Mac must reach, per major.

    The exploited-fix floor when `grace_days` is None, else the latest patch older than
    `grace_days`; 0 when the major has no such release, NA when its history is partial or
    the major was released after the as-of date (the inventory cannot be right about both).
    """
    catalogue = ctx.catalogue

    def floor(label: str) -> int | None:
        major = catalogue.major(str(label))
        if major is None or not major.releases_complete or major.released > ctx.as_of:
            return None
        if grace_days is None:
            release = catalogue.exploited_fix_floor(major.label, ctx.as_of)
        else:
            release = catalogue.latest_patch(major.label, ctx.as_of, grace_days)
        return release.key if release else 0

    return per_value(os_major, floor, "Int64")


def intune_floor(ctx: RuleContext) -> tuple[str, str]:
    """Intune's supported minimum major and its origin, e.g. `("14", "since 2025-09-15")`.

    The rule's `intune_min_major` parameter when set, else the catalogue's floor at the as-of
    date.
    """
    configured = ctx.str_param("intune_min_major").strip()
    if configured:
        try:
            version_key(configured)
        except ValueError:
            raise ConfigError(
                f"rules.params.{ctx.rule_id or 'MAC-OS-001'}.intune_min_major: not a macOS "
                f"major: {configured!r}"
            ) from None
        return configured, "configured"
    floor = ctx.catalogue.intune_minimum(ctx.as_of)
    return floor.major, f"since {floor.since}"


@rule(
    id="MAC-OS-001",
    problem="Macs on a macOS version Intune no longer supports",
    groups=("patch",),
    title="macOS version is supported by Intune",
    severity=Severity.HIGH,
    entity=Entity.DEVICE,
    requires=("os_version_key", "os_version"),
    params={"intune_min_major": ""},
    fails_when=(
        "the major is below Intune's supported minimum (reference data: macOS 14 since "
        "2025-09-15; `intune_min_major` overrides it, empty = catalogue)"
    ),
    detail=lambda devices, ctx: per_value(
        devices["os_version"],
        lambda version: (
            f"macOS {version} is below Intune's supported minimum, "
            + "macOS {} ({})".format(*intune_floor(ctx))
        ),
        "string",
    ),
    rationale=(
        "Intune supports the three most recent macOS majors. On older ones the Company Portal "
        "and the MDM agent may stop working and Microsoft gives no support; Macs already "
        "enrolled stay enrolled, but new enrollments on those versions are blocked."
    ),
    remediation=(
        "Upgrade macOS (a declarative software update policy in Devices > macOS > "
        "Configuration, settings catalog > Declarative Device Management > Software Update, or "
        "Software Update on the Mac); replace Macs that cannot run a supported version (see "
        "MAC-HW-001). Set Minimum OS version in the macOS compliance policy (Devices > "
        "Compliance > macOS > Device Properties) so Conditional Access catches stragglers."
    ),
    references=(ref.MS_SUPP, ref.MS_COMPL),
    sources=("MS-SUPP", "MS-NOTICE", "MS-COMPL"),
    controls={
        "NIST 800-53": ("SA-22", "CM-2"),
        "CIS Controls v8": ("2.2",),
        "ISO/IEC 27001:2022": ("A.8.8", "A.8.1"),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022"),
    examples=(
        Example("pass-macos-14", {"os_version": "14.0"}, Status.PASS),
        Example("pass-macos-26", {"os_version": "26.0.1"}, Status.PASS),
        Example("fail-macos-13", {"os_version": "13.7.8"}, Status.FAIL),
        Example("unknown-version-missing", {"os_version": None}, Status.UNKNOWN),
    ),
)
def supported_by_intune(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    minimum, _ = intune_floor(ctx)
    return devices["os_version_key"] >= version_key(minimum)


def _unsupported_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    catalogue = ctx.catalogue

    def describe(label: str) -> str:
        major = catalogue.major(label)
        named = f"macOS {label} ({major.name})" if major else f"macOS {label}"
        last = catalogue.releases_of(label, ctx.as_of)
        since = f"; last update {last[-1].version} on {last[-1].released}" if last else ""
        return (
            f"{named} no longer receives security updates{since}; supported majors at "
            f"{ctx.as_of}: {_supported_text(ctx)}"
        )

    return per_row(devices[["os_major"]], describe, "string")


@rule(
    id="MAC-OS-002",
    problem="Macs on a macOS major that no longer receives security updates",
    groups=("patch",),
    title="macOS major still receives Apple security updates",
    severity=Severity.CRITICAL,
    entity=Entity.DEVICE,
    requires=("os_major",),
    fails_when=(
        "the major is not among the three newest majors at the as-of date, counted by "
        "position (15 → 26 is one step); a major newer than the catalogue knows is unknown"
    ),
    detail=_unsupported_detail,
    rationale=(
        "Apple publishes no lifecycle policy but in practice patches only the current major "
        "and the two before it. A Mac on an older major gets no fix for new vulnerabilities, "
        "actively exploited ones included (macOS 13 had its last update on 2025-08-20)."
    ),
    remediation=(
        "Upgrade to a supported major through a declarative software update policy or "
        "Software Update on the Mac; replace Macs whose hardware cannot run one (MAC-HW-001). "
        "A minimum OS version in the macOS compliance policy keeps such Macs away from "
        "company data until then."
    ),
    references=(ref.SOFA, ref.AP_SECURITY_RELEASES, ref.MSCP_SUPPORTED_OS),
    sources=("SOFA", "MSCP"),
    controls={
        "NIST 800-53": ("SA-22", "SI-2"),
        "mSCP": ("os_supported_operating_system",),
        "CIS Controls v8": ("2.2",),
        "ISO/IEC 27001:2022": ("A.8.8",),
        "SOC 2": ("CC7.1",),
    },
    own_mappings=("CIS Controls v8", "ISO/IEC 27001:2022", "SOC 2"),
    examples=(
        Example("pass-macos-14", {"os_major": "14"}, Status.PASS),
        Example("pass-macos-26", {"os_major": "26"}, Status.PASS),
        Example("fail-macos-13", {"os_major": "13"}, Status.FAIL),
        Example("fail-mojave", {"os_major": "10.14"}, Status.FAIL),
        Example("unknown-newer-than-catalogue", {"os_major": "27"}, Status.UNKNOWN),
        Example("unknown-version-missing", {"os_major": None}, Status.UNKNOWN),
    ),
)
def major_receives_updates(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return receives_updates(devices["os_major"], ctx)


def _listed(cves: tuple[str, ...]) -> str:
    if len(cves) == 1:
        return f"fixes {cves[0]}, actively exploited"
    shown = ", ".join(cves[:3]) + (f" and {len(cves) - 3} more" if len(cves) > 3 else "")
    return f"fixes {len(cves)} actively exploited CVEs: {shown}"


def _exploited_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    catalogue = ctx.catalogue

    def describe(label: str, key: int, version: str) -> str:
        floor = catalogue.exploited_fix_floor(label, ctx.as_of)
        cves = catalogue.exploited_cves_after(label, key, ctx.as_of)
        target = floor.version if floor else key_text(key)
        return f"macOS {version} < {target} ({_listed(cves)})"

    return per_row(devices[["os_major", "os_version_key", "os_version"]], describe, "string")


@rule(
    id="MAC-OS-003",
    problem="Macs missing a fix for an actively exploited vulnerability",
    groups=("patch", "exploited"),
    title="Mac has every fix for actively exploited vulnerabilities",
    severity=Severity.CRITICAL,
    entity=Entity.DEVICE,
    requires=("os_major", "os_version_key", "os_version"),
    scope=lambda devices, ctx: receives_updates(devices["os_major"], ctx),
    scope_text="majors that still receive security updates (the three newest)",
    fails_when=(
        "the version is below the lowest release of its major that fixes every actively "
        "exploited CVE known at the as-of date"
    ),
    detail=_exploited_detail,
    rationale=(
        "These vulnerabilities are being used in attacks now (SOFA marks them from Apple's "
        "notes and CISA's Known Exploited Vulnerabilities list); a Mac below the fixing "
        "release of its major is exposed to working exploits, e.g. CVE-2026-65400 fixed in "
        "26.6.1, 15.7.9 and 14.8.9."
    ),
    remediation=(
        "Update now: a declarative software update policy with a short deadline (Devices > "
        "macOS > Configuration, settings catalog > Declarative Device Management > Software "
        "Update) or Software Update on the Mac (`softwareupdate --list`, then install). Raise "
        "Minimum OS version in the macOS compliance policy to the fixing release."
    ),
    references=(ref.SOFA, ref.AP_SECURITY_RELEASES),
    sources=_PATCH_SOURCES,
    controls={
        "NIST 800-53": ("SI-2", "SI-2(2)", "RA-5"),
        "CIS Controls v8": ("7.3", "7.7"),
        "ISO/IEC 27001:2022": ("A.8.8",),
        "SOC 2": ("CC7.1",),
    },
    own_mappings=("CIS Controls v8", "ISO/IEC 27001:2022", "SOC 2"),
    examples=(
        Example("pass-15.7.9", {"os_version": "15.7.9"}, Status.PASS),
        Example("pass-26.6.1", {"os_version": "26.6.1"}, Status.PASS),
        Example("fail-15.7.8", {"os_version": "15.7.8"}, Status.FAIL),
        Example("fail-26.6", {"os_version": "26.6"}, Status.FAIL),
        Example("unknown-version-missing", {"os_version": None}, Status.UNKNOWN),
        Example("na-macos-13", {"os_version": "13.7.8"}, Status.NOT_APPLICABLE),
    ),
)
def exploited_fixes_installed(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    floor = _per_major_floor(devices["os_major"], ctx, grace_days=None)
    return devices["os_version_key"] >= floor


def _latest_patch_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    grace = ctx.int_param("grace_days")
    catalogue = ctx.catalogue

    def describe(label: str, version: str) -> str:
        release = catalogue.latest_patch(label, ctx.as_of, grace)
        if release is None:  # only when the check could not fail; kept for safety
            return f"macOS {version} is not the latest patch"
        age = (ctx.as_of - release.released).days
        return (
            f"macOS {version} < {release.version} (released {release.released}, {age} days "
            f"before the as-of date; grace {grace} days)"
        )

    return per_row(devices[["os_major", "os_version"]], describe, "string")


@rule(
    id="MAC-OS-004",
    problem="Macs behind the latest patch of their macOS major",
    groups=("patch",),
    title="Mac runs the latest patch of its macOS major",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=("os_major", "os_version_key", "os_version"),
    scope=lambda devices, ctx: receives_updates(devices["os_major"], ctx),
    scope_text="majors that still receive security updates (the three newest)",
    fails_when=(
        "the version is below the newest release of its major published more than "
        "`grace_days` (default 30) days before the as-of date"
    ),
    params={"grace_days": 30},
    detail=_latest_patch_detail,
    rationale=(
        "Each macOS update fixes dozens to hundreds of vulnerabilities beyond the actively "
        "exploited ones (macOS 26.6 fixed 153). CIS and the macOS Security Compliance Project "
        "expect updates installed within 30 days of release."
    ),
    remediation=(
        "Enforce updates with a declarative software update policy with a deadline (Devices > "
        "macOS > Configuration, settings catalog > Declarative Device Management > Software "
        "Update; macOS 14+), or MDM update policies on older Macs; on the Mac, "
        "`softwareupdate --list` shows what is pending."
    ),
    references=(ref.MSCP_SOFTWAREUPDATE_CURRENT, ref.SOFA, ref.AP_SECURITY_RELEASES),
    sources=("SOFA", "MSCP", "MS-DDM"),
    controls={
        "NIST 800-53": ("SI-2",),
        "mSCP": ("system_settings_softwareupdate_current",),
        "CIS macOS": ("1.1",),
        "ISO/IEC 27001:2022": ("A.8.8",),
        "SOC 2": ("CC7.1",),
    },
    own_mappings=("ISO/IEC 27001:2022", "SOC 2"),
    examples=(
        Example("pass-15.7.8-within-grace", {"os_version": "15.7.8"}, Status.PASS),
        Example("pass-26.6.2", {"os_version": "26.6.2"}, Status.PASS),
        Example("fail-15.7.7", {"os_version": "15.7.7"}, Status.FAIL),
        Example("unknown-version-missing", {"os_version": None}, Status.UNKNOWN),
        Example("na-macos-12", {"os_version": "12.7.6"}, Status.NOT_APPLICABLE),
    ),
)
def latest_patch_installed(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    floor = _per_major_floor(devices["os_major"], ctx, grace_days=ctx.int_param("grace_days"))
    return devices["os_version_key"] >= floor


def _newest_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    label = ctx.catalogue.newest_major(ctx.as_of)
    major = ctx.catalogue.major(label)
    newest = f"macOS {label}" + (f" ({major.name})" if major else "")
    return per_value(
        devices["os_version"], lambda v: f"macOS {v}; the newest major is {newest}", "string"
    )


@rule(
    id="MAC-OS-005",
    problem="Macs not on the newest macOS major",
    title="Mac runs the newest macOS major",
    severity=Severity.INFO,
    entity=Entity.DEVICE,
    requires=("os_major", "os_version"),
    fails_when="the major is not the newest at the as-of date",
    detail=_newest_detail,
    rationale=(
        "Apple fixes every known issue only in the newest major; older majors get a selection. "
        "CVE-2026-20700, for one, was actively exploited and fixed in macOS 26.3 with no "
        "matching update for 15 or 14."
    ),
    remediation=(
        "Plan the upgrade: test the new major, then offer or enforce it with a declarative "
        "software update policy; use deferrals rather than staying a major behind."
    ),
    references=(ref.SOFA, ref.AP_SECURITY_RELEASES),
    sources=("SOFA",),
    controls={"NIST 800-53": ("SI-2",), "ISO/IEC 27001:2022": ("A.8.8",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example("pass-macos-26", {"os_version": "26.0"}, Status.PASS),
        Example("fail-macos-15", {"os_version": "15.7.9"}, Status.FAIL),
        Example("unknown-newer-than-catalogue", {"os_version": "27.0"}, Status.UNKNOWN),
        Example("unknown-version-missing", {"os_version": None}, Status.UNKNOWN),
    ),
)
def runs_newest_major(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    newest = len(ctx.catalogue.majors_at(ctx.as_of)) - 1
    return (major_position(devices["os_major"], ctx) == newest).astype("boolean")
