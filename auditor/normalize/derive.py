"""Facts derived from the merged device row: chip, likely VM with its evidence, enrollment method.

Chip classes follow macos.md §3.1 (via `refdata.hardware`); VM evidence follows §3.2:
a hypervisor model identifier or model name, the VMware default serial (`VM` + 10
characters), or a model whose chip contradicts the reported processor architecture. A
serial shared with other records supports that evidence but is not enough alone (Macs
re-enrolled without deleting the old record share serials too; MAC-INV-001 reports them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from auditor.models import QualityNote
from auditor.normalize.fields import describe_rows, sources_of
from auditor.normalize.values import recode
from auditor.refdata.hardware import APPLE_SILICON, INTEL, UNKNOWN, VIRTUAL, chip_of_model

_VM_SERIAL = r"VM[A-Za-z0-9+/]{10}"
_VM_MODEL_NAME = re.compile(r"(?:Apple Virtual Machine|VMware|Parallels|VirtualMac|VMM-)", re.I)
_CHIP_OF_ARCH = {"x64": INTEL, "arm64": APPLE_SILICON}
_ARCH_OF_CHIP = {INTEL: "x64", APPLE_SILICON: "arm64"}
_CHIP_TEXT = {INTEL: "an Intel model", APPLE_SILICON: "an Apple silicon model"}
_EXAMPLES = 5

# deviceEnrollmentType → (enrollment_method, has_user_affinity); appleBulkWithoutUser is
# decided by the enrollment profile (ADE) or its absence (Apple Configurator, direct).
_METHODS: Mapping[str, tuple[str, bool | None]] = {
    "appleBulkWithUser": ("ade", True),
    "userEnrollment": ("byod", True),
    "deviceEnrollmentManager": ("dem", False),
    "appleUserEnrollmentWithServiceAccount": ("dem", False),
    "appleUserEnrollment": ("user_enrollment", True),
    "appleAccountDrivenUserEnrollment": ("user_enrollment", True),
}
_BULK_WITHOUT_USER = "appleBulkWithoutUser"


def add_hardware(devices: pd.DataFrame, notes: list[QualityNote]) -> pd.DataFrame:
    """Add `chip`, `is_vm`, `vm_evidence` from model, serial and reported architecture."""
    identifier, model = devices["model_identifier"], devices["model"]
    serial, arch = devices["serial_number"], devices["processor_arch"]
    by_model = recode(identifier, lambda u: chip_of_model(str(u)), "string")
    devices["chip"] = by_model.fillna(recode(arch, _CHIP_OF_ARCH, "string")).fillna(UNKNOWN)
    unclassified = (by_model == UNKNOWN).to_numpy(dtype=bool, na_value=False)
    if unclassified.any():
        sample = devices[unclassified].head(_EXAMPLES)
        examples = tuple(
            f"{who}: {value!r}"
            for who, value in zip(describe_rows(sample), sample["model_identifier"], strict=True)
        )
        source = sources_of(devices[unclassified])
        notes.append(
            QualityNote("chip", "unknown_value", int(unclassified.sum()), examples, source)
        )
    vm_name = recode(model, lambda u: bool(_VM_MODEL_NAME.match(str(u))), "boolean")
    vm_model = ((by_model == VIRTUAL) | vm_name).to_numpy(dtype=bool, na_value=False)
    serials = serial.to_numpy(dtype=object, na_value="")
    maybe = np.array([value[:2] == "VM" for value in serials], dtype=bool)
    vm_serial = np.zeros(len(devices), dtype=bool)
    vm_serial[maybe] = serial[maybe].str.fullmatch(_VM_SERIAL).to_numpy(dtype=bool, na_value=False)
    expected = recode(by_model, _ARCH_OF_CHIP, "string")
    mismatch = (arch.isin(("x64", "arm64")) & (arch != expected)).to_numpy(
        dtype=bool, na_value=False
    )
    is_vm = vm_model | vm_serial | mismatch
    known_model = (model.notna() | identifier.notna()).to_numpy(dtype=bool)
    flags = pd.array(is_vm, dtype="boolean")
    flags[~(is_vm | known_model)] = pd.NA  # nothing known about the hardware: cannot tell
    devices["is_vm"] = flags
    evidence = np.full(len(devices), None, dtype=object)
    rows = np.flatnonzero(is_vm)
    shared = _shared_serials(devices["_serial_key"])
    devices["_serial_shared"] = shared
    if len(rows):
        columns = [identifier.fillna(model), serial, by_model, arch]
        texts = [c.to_numpy(dtype=object)[rows] for c in columns]
        evidence[rows] = [
            _evidence(*values)
            for values in zip(
                vm_model[rows], vm_serial[rows], mismatch[rows], *texts, shared[rows], strict=True
            )
        ]
    devices["vm_evidence"] = pd.array(evidence, dtype="string")
    return devices


def _shared_serials(key: pd.Series) -> np.ndarray:
    """Per row, how many other rows carry the same serial (0 for none or no serial)."""
    shared = np.zeros(len(key), dtype=int)
    duplicated = key.duplicated(keep=False).to_numpy(dtype=bool) & key.notna().to_numpy(dtype=bool)
    if duplicated.any():
        repeated = key[duplicated]
        shared[duplicated] = repeated.map(repeated.value_counts()).to_numpy(dtype=int) - 1
    return shared


def _evidence(
    vm_model: bool, vm_serial: bool, mismatch: bool, model: object, serial: object,
    chip: object, arch: object, shared: int,
) -> str:  # fmt: skip
    parts = []
    if vm_model:
        parts.append(f"model {model} is a virtual machine model")
    if vm_serial:
        parts.append(f"serial {serial} has the VMware default form (VM + 10 characters)")
    if mismatch:
        parts.append(
            f"model {model} is {_CHIP_TEXT.get(str(chip), 'a')} Mac but reports an {arch} processor"
        )
    if shared > 0:
        parts.append(
            f"serial {serial} is shared with {shared} other record{'s' if shared > 1 else ''}"
        )
    return "; ".join(parts)


def add_enrollment(
    devices: pd.DataFrame, ade_profiles: frozenset[str] | None, notes: list[QualityNote]
) -> pd.DataFrame:
    """Add `enrollment_method` and `has_user_affinity` from the enrollment type and profile.

    appleBulkWithoutUser is ADE without user affinity or Apple Configurator: the enrollment
    profile decides. With the tenant's ADE profile names (`ade_profiles`, case-folded), a
    profile among them is ADE and any other is direct; a tenant without ADE profiles has no
    ADE Macs. Without them, a profile name counts as ADE (the ambiguity is recorded). A Mac
    whose records carried no profile name (a Graph list never does) stays undecided: NA, so
    the rules that need it say `unknown`, with a note naming the input to add.
    """
    kind = devices["enrollment_type"]
    method = recode(kind, {k: v[0] for k, v in _METHODS.items()}, "string")
    affinity = recode(kind, {k: v[1] for k, v in _METHODS.items()}, "boolean")
    bulk = (kind == _BULK_WITHOUT_USER).fillna(False).to_numpy(dtype=bool)
    profile = devices["enrollment_profile"]
    named = profile.notna().to_numpy(dtype=bool)
    decided = named | devices["_profile_carried"].fillna(False).to_numpy(dtype=bool)
    if ade_profiles is None:
        is_ade = named
    else:
        is_ade = profile.str.casefold().isin(ade_profiles).fillna(False).to_numpy(dtype=bool)
        decided |= not ade_profiles
    method[bulk] = np.where(is_ade[bulk], "ade", "direct")
    undecided = bulk & ~decided
    method[undecided] = pd.NA
    affinity[bulk] = False
    unmapped = kind.notna() & method.isna() & ~undecided
    method[unmapped] = "unknown"
    devices["enrollment_method"] = method
    devices["has_user_affinity"] = affinity
    notes += _bulk_notes(devices, bulk, is_ade, undecided, ade_profiles is None)
    return devices


def _bulk_notes(
    devices: pd.DataFrame, bulk: np.ndarray, is_ade: np.ndarray, undecided: np.ndarray,
    guessed: bool,
) -> list[QualityNote]:  # fmt: skip
    """Notes on appleBulkWithoutUser Macs: undecided ones, and how the others were decided."""
    notes = []
    if undecided.any():
        rows = devices[undecided]
        notes.append(
            QualityNote(
                "enrollment_method",
                "undecided",
                int(undecided.sum()),
                tuple(
                    f"{who}: appleBulkWithoutUser and no input carried its enrollment profile "
                    "name (ADE without user affinity or Apple Configurator?): add single-device "
                    "GETs (auditor fetch) or the tenant's ADE enrollment profiles"
                    for who in describe_rows(rows.head(_EXAMPLES))
                ),
                sources_of(rows),
            )
        )
    decided = bulk & ~undecided
    if guessed and decided.any():
        ade, direct = int((decided & is_ade).sum()), int((decided & ~is_ade).sum())
        notes.append(
            QualityNote(
                "enrollment_method",
                "ambiguous",
                int(decided.sum()),
                (
                    "no input lists the tenant's ADE enrollment profiles, so Macs enrolled as "
                    f"appleBulkWithoutUser count as ADE when they carry a profile name ({ade}) "
                    f"and as direct enrollment when their profile name is empty ({direct})",
                ),
                sources_of(devices[decided]),
            )
        )
    return notes
