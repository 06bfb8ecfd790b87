"""Mac model identifiers → chip class (Apple silicon, Intel, virtual) and identifier parts."""

from __future__ import annotations

import re
from typing import NamedTuple

# Validated against every identifier of the SOFA v1 feed (98, zero mismatches); see
# macos.md §3.1. Numbers are the identifier's first component ("MacBookPro18,3" → 18).
_APPLE_SILICON_FROM = {"Mac": 13, "MacBookAir": 10, "MacBookPro": 17, "Macmini": 9, "iMac": 21}
_INTEL_UP_TO = {"MacBookAir": 9, "MacBookPro": 16, "Macmini": 8, "iMac": 20, "MacPro": 7}
_INTEL_FAMILIES = ("iMacPro", "MacBook")
_VIRTUAL = re.compile(r"^(?:VirtualMac\d+,\d+|VMware|Parallels|VMM-)", re.IGNORECASE)
# "MacPro7,1-Rack" is how SOFA lists the rack-mount Mac Pro (same hardware generation).
_IDENTIFIER = re.compile(
    r"^(?P<family>[A-Za-z]+)(?P<major>\d{1,3}),(?P<minor>\d{1,3})(?:-[A-Za-z]+)?$"
)

APPLE_SILICON = "apple_silicon"
INTEL = "intel"
VIRTUAL = "virtual"
UNKNOWN = "unknown"


class ModelParts(NamedTuple):
    """`MacBookPro18,3` → family `MacBookPro`, generation 18, variant 3."""

    family: str
    generation: int
    variant: int


def model_parts(identifier: str) -> ModelParts | None:
    """Split a model identifier into family and numbers; None when it is not one."""
    match = _IDENTIFIER.match(identifier.strip())
    if match is None:
        return None
    return ModelParts(match["family"], int(match["major"]), int(match["minor"]))


def chip_of_model(identifier: str) -> str:
    """The chip class a model identifier implies: apple_silicon, intel, virtual or unknown.

    Virtual machines are recognised by their hypervisor identifiers (`VirtualMac2,1`,
    `VMware7,1`, `Parallels16,1`, `VMM-x86_64`); a VM told to report a real Mac's identifier
    (as Intune's VMware instructions suggest) is classified as that Mac.
    """
    text = identifier.strip()
    if _VIRTUAL.match(text):
        return VIRTUAL
    parts = model_parts(text)
    if parts is None:
        return UNKNOWN
    if parts.family in _INTEL_FAMILIES:
        return INTEL
    if parts.generation >= _APPLE_SILICON_FROM.get(parts.family, 10_000):
        return APPLE_SILICON
    if parts.generation <= _INTEL_UP_TO.get(parts.family, -1):
        return INTEL
    return UNKNOWN
