"""MAC-HW: whether a Mac's hardware can still run a patched macOS, and Intel end of line."""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.refdata.versions import version_key
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, per_row, per_value, rule


def _placeable(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    catalogue = ctx.catalogue
    return per_value(
        devices["model_identifier"],
        lambda ident: catalogue.model_ceiling(str(ident)) is not None,
        "boolean",
    )


def _can_run_supported(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    catalogue = ctx.catalogue
    supported = catalogue.supported_majors(ctx.as_of)
    if not supported:  # no major released by the as-of date: nothing to judge against
        return pd.Series(pd.NA, index=devices.index, dtype="boolean")
    oldest_supported = version_key(supported[0])

    def answer(ident: str) -> bool | None:
        ceiling = catalogue.model_ceiling(str(ident))
        if ceiling is None:
            return None
        reaches = version_key(ceiling) >= oldest_supported
        if catalogue.model(str(ident)) is None:  # an upper bound only: can prove a failure
            return None if reaches else False
        return reaches

    return per_value(devices["model_identifier"], answer, "boolean")


def _ceiling_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    catalogue = ctx.catalogue
    supported = ", ".join(catalogue.supported_majors(ctx.as_of))

    def describe(ident: str) -> str:
        model = catalogue.model(ident)
        ceiling = catalogue.model_ceiling(ident)
        if model is not None:
            what = f"{ident} ({model.name}) runs at most macOS {ceiling}"
        else:
            what = (
                f"{ident} is older than every {ident.rstrip('0123456789,')} model the "
                f"catalogue lists, so it runs at most macOS {ceiling}"
            )
        return f"{what}; majors that still receive security updates: {supported}"

    return per_row(devices[["model_identifier"]], describe, "string")


@rule(
    id="MAC-HW-001",
    problem=("Macs whose hardware cannot run a macOS major that still receives security updates"),
    title="Hardware can run a macOS major that still receives security updates",
    severity=Severity.HIGH,
    entity=Entity.DEVICE,
    requires=("model_identifier",),
    scope=_placeable,
    scope_text=(
        "Macs whose model identifier the catalogue knows, or that are older than every "
        "catalogued model of their family (the catalogue lists models that run macOS 12+)"
    ),
    fails_when=(
        "the newest major the model can run is not among the majors that still receive "
        "security updates (the three newest at the as-of date)"
    ),
    detail=_ceiling_detail,
    rationale=(
        "A Mac that cannot install a supported major stays on an unpatched one whatever "
        "policy says: no update can fix it. The model → supported majors list comes from "
        "Apple's compatibility data as published in the SOFA feed."
    ),
    remediation=(
        "Replace the Mac, or take it out of scope (retire it in Devices > macOS > the device > "
        "Retire, and keep it off company data); until then record the exception with a waiver "
        "that expires."
    ),
    references=(ref.SOFA, ref.AP_SECURITY_RELEASES),
    sources=("SOFA",),
    controls={"NIST 800-53": ("SA-22",), "ISO/IEC 27001:2022": ("A.8.8",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example("pass-m1-macbook-pro", {"model_identifier": "MacBookPro18,3"}, Status.PASS),
        Example("pass-macbook-air-2018", {"model_identifier": "MacBookAir8,1"}, Status.PASS),
        Example("fail-macbook-pro-2017", {"model_identifier": "MacBookPro14,1"}, Status.FAIL),
        Example("fail-older-than-catalogue", {"model_identifier": "MacBookPro11,1"}, Status.FAIL),
        Example("unknown-model-missing", {"model_identifier": None}, Status.UNKNOWN),
        Example(
            "na-model-not-in-catalogue", {"model_identifier": "Mac99,1"}, Status.NOT_APPLICABLE
        ),
    ),
)
def hardware_runs_supported_major(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _can_run_supported(devices, ctx)


_CHIP_VERDICT = {"apple_silicon": True, "intel": False}


@rule(
    id="MAC-HW-002",
    problem="Macs without Apple silicon",
    title="Mac has Apple silicon",
    severity=Severity.LOW,
    entity=Entity.DEVICE,
    requires=("is_vm", "chip", "model_identifier"),
    nullable=("model_identifier",),
    scope=lambda devices, ctx: ~devices["is_vm"].astype("boolean"),
    scope_text="physical Macs (`is_vm` false)",
    fails_when="`chip` is `intel` (macOS 26 is the last release for Intel Macs)",
    detail=lambda devices, ctx: per_row(
        devices[["model_identifier"]],
        lambda ident: (
            f"Intel Mac{f' ({ident})' if ident else ''}: macOS 26 is the last major for Intel Macs"
        ),
        "string",
    ),
    rationale=(
        "macOS 26 Tahoe is the last major release for Intel-based Macs; Apple expects to ship "
        "security updates for them for about three years after it. Intel Macs also miss "
        "Apple silicon protections such as Recovery Lock, so they need a replacement plan."
    ),
    remediation=(
        "Plan the Intel Macs' replacement within the support window; prioritise models that "
        "already stop below macOS 26 (MAC-HW-001). Track the plan with waivers that expire."
    ),
    references=(ref.SOFA, ref.MS_ENR),
    sources=("SOFA", "MS-RLOCK"),
    controls={"NIST 800-53": ("SA-22",)},
    own_mappings=("NIST 800-53",),
    examples=(
        Example("pass-apple-silicon", {"is_vm": False, "chip": "apple_silicon"}, Status.PASS),
        Example(
            "fail-intel",
            {"is_vm": False, "chip": "intel", "model_identifier": "MacBookPro16,1"},
            Status.FAIL,
        ),
        Example("unknown-chip", {"is_vm": False, "chip": "unknown"}, Status.UNKNOWN),
        Example("unknown-vm-flag-missing", {"is_vm": None, "chip": "intel"}, Status.UNKNOWN),
        Example("na-virtual-machine", {"is_vm": True, "chip": "virtual"}, Status.NOT_APPLICABLE),
    ),
)
def has_apple_silicon(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return per_value(devices["chip"], _CHIP_VERDICT.get, "boolean")
