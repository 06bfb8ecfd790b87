"""MAC-VM: virtual Macs are approved test machines and set up the way Intune needs."""

from __future__ import annotations

import fnmatch
import re

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.refdata.hardware import chip_of_model
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, per_row, per_value, rule

_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")
_VMWARE_SERIAL = re.compile(r"VM[A-Za-z0-9+/]{10}")  # VMware's default serials (secondary)
_ARCH_IS_ARM = {"arm64": True, "x64": False}
_CHIP_IS_ARM = {"apple_silicon": True, "intel": False}


def _is_vm(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["is_vm"].astype("boolean")


def _on_test_list(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    serials = {s.strip().upper() for s in ctx.strings_param("approved_serials")}
    patterns = ctx.strings_param("approved_name_patterns")
    # Globs as the shell knows them (`test-vm-*`), case-insensitive like macOS names.
    names = re.compile("|".join(fnmatch.translate(p) for p in patterns), re.IGNORECASE)
    false = pd.Series(False, index=devices.index, dtype="boolean")
    by_serial = (
        per_value(devices["serial_number"], lambda s: str(s).strip().upper() in serials, "boolean")
        if serials
        else false
    )
    by_name = (
        per_value(devices["device_name"], lambda n: names.match(str(n)) is not None, "boolean")
        if patterns
        else false
    )
    return by_serial | by_name


def _not_listed_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    def describe(serial: str | None, name: str | None, evidence: str | None) -> str:
        shown = f"'{name}'" if name else "(no name)"
        why = f"; evidence: {evidence}" if evidence else ""
        return (
            f"virtual Mac {shown}, serial {serial or 'not reported'}, is not on the approved "
            f"test-VM list{why}"
        )

    return per_row(devices[["serial_number", "device_name", "vm_evidence"]], describe, "string")


@rule(
    id="MAC-VM-001",
    problem="Virtual Macs not on the approved test list",
    groups=("vms",),
    title="Virtual Mac is on the approved test list",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=("is_vm", "serial_number", "device_name", "vm_evidence"),
    nullable=("serial_number", "device_name", "vm_evidence"),
    scope=_is_vm,
    scope_text="virtual Macs (`is_vm`; detection is heuristic, see `vm_evidence`)",
    fails_when=(
        "neither the serial is in `approved_serials` nor the device name matches one of "
        "`approved_name_patterns` (shell-style globs, case-insensitive)"
    ),
    params={"approved_serials": (), "approved_name_patterns": ()},
    detail=_not_listed_detail,
    rationale=(
        "Intune supports macOS virtual machines for testing only and says not to use them as "
        "employees' devices. An enrolled VM nobody approved is either a test machine nobody "
        "tracks or someone working around device controls (VMs are easy to clone and copy)."
    ),
    remediation=(
        "If the VM is a test machine, add its serial or a name pattern to the approved list "
        "(`[vms] approved_serials` / `approved_name_patterns` in auditor.toml). Otherwise "
        "retire it (Devices > macOS > the device > Retire) and find out who enrolled it."
    ),
    references=(ref.MS_ENR,),
    sources=("MS-ENR",),
    controls={"NIST 800-53": ("CM-8",), "ISO/IEC 27001:2022": ("A.5.9", "A.8.1")},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-approved-serial",
            {"is_vm": True, "serial_number": "Z4K614MYR0", "device_name": "build-vm-03"},
            Status.PASS,
            params={"approved_serials": ("z4k614myr0",)},
        ),
        Example(
            "pass-name-matches-pattern",
            {"is_vm": True, "serial_number": None, "device_name": "Test-VM-07"},
            Status.PASS,
            params={"approved_name_patterns": ("test-vm-*",)},
        ),
        Example(
            "fail-not-on-list",
            {"is_vm": True, "serial_number": "Z4K614MYR0", "device_name": "alice-vm"},
            Status.FAIL,
            params={"approved_serials": ("ABC123456789",), "approved_name_patterns": ("test-*",)},
        ),
        Example(
            "fail-vm-no-list-configured",
            {"is_vm": True, "serial_number": "Z4K614MYR0", "device_name": "build-vm-03"},
            Status.FAIL,
        ),
        Example(
            "unknown-serial-and-name-missing",
            {"is_vm": True, "serial_number": None, "device_name": None},
            Status.UNKNOWN,
            params={"approved_serials": ("ABC123456789",)},
        ),
        Example(
            "na-physical-mac",
            {"is_vm": False, "serial_number": "C02XK1JZJGH5", "device_name": "alice-mbp"},
            Status.NOT_APPLICABLE,
        ),
        Example("unknown-vm-flag-missing", {"is_vm": None}, Status.UNKNOWN),
    ),
)
def vm_on_test_list(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _on_test_list(devices, ctx)


def _is_vmware(devices: pd.DataFrame) -> pd.Series:
    model = per_value(
        devices["model_identifier"], lambda m: str(m).lower().startswith("vmware"), "boolean"
    )
    serial = per_value(
        devices["serial_number"], lambda s: _VMWARE_SERIAL.fullmatch(str(s)) is not None, "boolean"
    )
    evidence = per_value(devices["vm_evidence"], lambda e: "vmware" in str(e).lower(), "boolean")
    return (model.fillna(False) | serial.fillna(False) | evidence.fillna(False)).astype("boolean")


def _on_apple_silicon(devices: pd.DataFrame) -> pd.Series:
    """Reported CPU architecture first; the model identifier's chip when none is reported."""
    reported = per_value(devices["processor_arch"], _ARCH_IS_ARM.get, "boolean")
    by_model = per_value(
        devices["model_identifier"], lambda m: _CHIP_IS_ARM.get(chip_of_model(str(m))), "boolean"
    )
    return reported.mask(reported.isna(), by_model)


def _set_up_as_required(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    serial_ok = per_value(
        devices["serial_number"], lambda s: _ALPHANUMERIC.fullmatch(str(s)) is not None, "boolean"
    )
    model_ok = devices["model_identifier"].notna().astype("boolean")
    vmware_on_arm = _is_vmware(devices) & _on_apple_silicon(devices)
    return serial_ok & model_ok & ~vmware_on_arm


def _setup_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    vmware_on_arm = (_is_vmware(devices) & _on_apple_silicon(devices)).fillna(False)
    frame = devices[["serial_number", "model_identifier"]].assign(vmware_on_arm=vmware_on_arm)

    def describe(serial: str | None, model: str | None, vmware_arm: bool) -> str:
        reasons = []
        if serial is not None and not _ALPHANUMERIC.fullmatch(serial):
            reasons.append(f"serial '{serial}' is not alphanumeric")
        if model is None:
            reasons.append("no hardware model identifier reported")
        if vmware_arm:
            reasons.append("VMware VM on Apple silicon (VMware Fusion runs macOS only on Intel)")
        return "; ".join(reasons) or "set-up could not be confirmed"

    return per_row(frame, describe, "string")


@rule(
    id="MAC-VM-002",
    problem="Virtual Macs not set up as Intune requires",
    title="Virtual Mac is set up as Intune requires",
    severity=Severity.LOW,
    entity=Entity.DEVICE,
    requires=("is_vm", "serial_number", "model_identifier", "processor_arch", "vm_evidence"),
    nullable=("serial_number", "model_identifier", "processor_arch", "vm_evidence"),
    scope=_is_vm,
    scope_text="virtual Macs (`is_vm`)",
    fails_when=(
        "the serial is not alphanumeric, the model identifier is missing, or a VMware VM "
        "(model `VMware…`, a `VM…` default serial, or VMware in `vm_evidence`) runs on Apple "
        "silicon (reported arm64, else the model identifier's chip)"
    ),
    detail=_setup_detail,
    rationale=(
        "Intune recognises a VM only by its hardware model and serial number, so VMs need both "
        "set, the serial alphanumeric (VMware's default serials can contain '+' and '/'). "
        "VMware Fusion supports macOS guests only on Intel Macs, so a VMware VM reporting "
        "Apple silicon is misreported or unsupported."
    ),
    remediation=(
        "Set the serial and model in the VM's configuration before enrolling: for VMware "
        'Fusion add `serialNumber = "ABC123456789"` and `hw.model = "<host model identifier>"` '
        "to the .vmx file; for Parallels Desktop change them in the VM's configuration. Then "
        "re-enroll the VM. On Apple silicon use Apple's virtualization (Parallels, UTM), which "
        "needs no changes."
    ),
    references=(ref.MS_ENR,),
    sources=("MS-ENR",),
    controls={"NIST 800-53": ("CM-8",), "ISO/IEC 27001:2022": ("A.5.9",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-apple-virtualization",
            {
                "is_vm": True,
                "serial_number": "Z4K614MYR0",
                "model_identifier": "VirtualMac2,1",
                "processor_arch": "arm64",
            },
            Status.PASS,
        ),
        Example(
            "fail-vmware-default-serial",
            {
                "is_vm": True,
                "serial_number": "VMSmNMhlX+Vo",
                "model_identifier": "VMware7,1",
                "processor_arch": "x64",
            },
            Status.FAIL,
        ),
        Example(
            "fail-no-model",
            {"is_vm": True, "serial_number": "ABC123456789", "model_identifier": None},
            Status.FAIL,
        ),
        Example(
            "fail-vmware-on-apple-silicon",
            {
                "is_vm": True,
                "serial_number": "ABC123456789",
                "model_identifier": "MacBookAir10,1",
                "processor_arch": "arm64",
                "vm_evidence": "VMware boot ROM",
            },
            Status.FAIL,
        ),
        Example(
            "unknown-serial-not-reported",
            {"is_vm": True, "serial_number": None, "model_identifier": "VirtualMac2,1"},
            Status.UNKNOWN,
        ),
        Example(
            "unknown-vmware-arch-unknown",
            {
                "is_vm": True,
                "serial_number": "ABC123456789",
                "model_identifier": "VMware7,1",
                "processor_arch": "unknown",
            },
            Status.UNKNOWN,
        ),
        Example(
            "na-physical-mac",
            {"is_vm": False, "serial_number": "C02+", "model_identifier": None},
            Status.NOT_APPLICABLE,
        ),
    ),
)
def vm_set_up_as_required(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _set_up_as_required(devices, ctx)
