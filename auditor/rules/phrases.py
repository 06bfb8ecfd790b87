"""Reader-facing phrases more than one rule family writes into its details."""

from __future__ import annotations

METHOD_WORDS = {
    "ade": "Automated Device Enrollment",
    "direct": "direct enrollment (Apple Configurator)",
    "dem": "a device enrollment manager account",
    "byod": "Company Portal (BYOD)",
    "user_enrollment": "Apple User Enrollment",
}


CHIP_WORDS = {"apple_silicon": "Apple silicon", "intel": "Intel", "virtual": "virtual (hypervisor)"}


def method_words(method: str | None) -> str:
    """`ade` → 'Automated Device Enrollment'; missing or odd values are named as such."""
    if method is None or method == "unknown":
        return "an unknown method"
    return METHOD_WORDS.get(method, method)


# What a reader calls each canonical field (details, data-quality notes): never the column name.
FIELD_WORDS = {
    "apns_apple_id": "push certificate Apple ID",
    "apns_expires_at": "push certificate expiry",
    "bootstrap_escrowed": "bootstrap token",
    "chip": "chip",
    "compliance_state": "compliance state",
    "device_count": "Macs enrolled",
    "device_id": "Intune device id",
    "device_name": "device name",
    "enrolled_at": "enrollment date",
    "enrolled_by_upn": "enrolling account",
    "enrollment_method": "enrollment method",
    "enrollment_profile": "enrollment profile",
    "has_user_affinity": "user affinity",
    "is_encrypted": "FileVault state",
    "is_supervised": "supervision",
    "is_vm": "virtual-machine evidence",
    "last_successful_sync_at": "last ADE token sync",
    "last_sync_at": "last check-in",
    "last_sync_error_code": "ADE token sync error",
    "macos_enrollment_blocked": "macOS enrollment restriction",
    "model": "model",
    "model_identifier": "model identifier",
    "operating_system": "operating system",
    "os_major": "macOS major",
    "os_rsr": "Rapid Security Response",
    "os_version": "macOS version",
    "os_version_key": "macOS version",
    "ownership": "ownership",
    "personal_enrollment_blocked": "personal Mac enrollment restriction",
    "processor_arch": "processor architecture",
    "serial_number": "serial number",
    "synced_device_count": "Macs synced by the ADE token",
    "token_expires_at": "ADE token expiry",
    "token_name": "ADE token name",
    "udid": "UDID",
    "upn": "primary user",
    "user_approved": "user approval of the MDM enrollment",
    "vm_evidence": "virtual-machine evidence",
    # Apple Business Manager serials (ADE identities), VPP tokens, compliance policies
    "devices_without_serial": "Macs without a serial number",
    "enrollment_state": "ABM enrollment state",
    "filevault_policies": "FileVault compliance policies",
    "filevault_policy_assigned": "assignment of a FileVault compliance policy",
    "imported_at": "ABM import date",
    "is_abm_assigned": "ABM assignment",
    "is_assigned": "policy assignment",
    "is_deleted": "ABM deletion",
    "is_enrolled": "enrollment of the serial",
    "is_mac": "platform",
    "macos_compliance_policies": "macOS compliance policies",
    "os_minimum_version": "minimum macOS version",
    "policy_name": "policy name",
    "secure_by_default": "'mark devices with no compliance policy as' setting",
    "sets_os_minimum": "minimum macOS version setting",
    "vpp_expires_at": "VPP token expiry",
    "vpp_last_sync_at": "last VPP token sync",
    "vpp_last_sync_status": "VPP token sync status",
    "vpp_state": "VPP token state",
    "vpp_token_name": "VPP token name",
}


def field_words(field: str) -> str:
    """`bootstrap_escrowed` → 'bootstrap token'; a field without words loses its underscores."""
    return FIELD_WORDS.get(field, field.replace("_", " "))


def words_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
