"""The values canonical enums take, and every source encoding mapped to them (text or code)."""

from __future__ import annotations

from collections.abc import Mapping

# Enum tables: keys as `enum_key` writes them; numeric codes follow the Graph enum order
# (Intune Data Warehouse ids; whether exports use the same ids is unverified, graph.md §2).
_ENROLLMENT_TYPES = (
    "unknown", "userEnrollment", "deviceEnrollmentManager", "appleBulkWithUser",
    "appleBulkWithoutUser", "windowsAzureADJoin", "windowsBulkUserless", "windowsAutoEnrollment",
    "windowsBulkAzureDomainJoin", "windowsCoManagement", "windowsAzureADJoinUsingDeviceAuth",
    "appleUserEnrollment", "appleUserEnrollmentWithServiceAccount",
)  # fmt: skip
_BETA_ENROLLMENT_TYPES = (
    "azureAdJoinUsingAzureVmExtension", "androidEnterpriseDedicatedDevice",
    "androidEnterpriseFullyManaged", "androidEnterpriseCorporateWorkProfile",
    "androidAOSPUserOwnedDeviceEnrollment", "androidAOSPUserlessDeviceEnrollment",
    "appleAccountDrivenUserEnrollment", "unknownFutureValue",
)  # fmt: skip
ENROLLMENT_TYPES: Mapping[str, str] = {
    **{name.casefold(): name for name in (*_ENROLLMENT_TYPES, *_BETA_ENROLLMENT_TYPES)},
    **{str(code): name for code, name in enumerate(_ENROLLMENT_TYPES)},
}
OWNERSHIP: Mapping[str, str] = {
    "company": "corporate", "corporate": "corporate", "personal": "personal",
    "unknown": "unknown", "0": "unknown", "1": "corporate", "2": "personal",
}  # fmt: skip
_COMPLIANCE = ("unknown", "compliant", "noncompliant", "conflict", "error", "inGracePeriod",
               "configManager")  # fmt: skip
COMPLIANCE: Mapping[str, str] = {
    **{name.casefold(): name for name in _COMPLIANCE},
    **{str(code): name for code, name in enumerate(_COMPLIANCE)},
    "notcompliant": "noncompliant",
    "notevaluated": "unknown",
}
# Export codes are Windows PROCESSOR_ARCHITECTURE values (9 = x64, 12 = ARM64; graph.md §4).
PROCESSOR_ARCH: Mapping[str, str] = {
    "x64": "x64", "x8664": "x64", "amd64": "x64", "9": "x64",
    "arm64": "arm64", "arm64e": "arm64", "aarch64": "arm64", "12": "arm64",
    "unknown": "unknown",
}  # fmt: skip
ENUMS: Mapping[str, Mapping[str, str]] = {
    "ownership": OWNERSHIP,
    "enrollment_type": ENROLLMENT_TYPES,
    "compliance_state": COMPLIANCE,
    "processor_arch": PROCESSOR_ARCH,
}
MACOS_NAMES = frozenset({"macos", "mac os", "mac os x", "os x", "osx", "mac", "macmdm", "5", "14"})
