"""The public pages rules cite, one constant each (keys as in the research notes, macos.md)."""

from __future__ import annotations

_LEARN = "https://learn.microsoft.com/intune"
_ENROLL = f"{_LEARN}/device-enrollment"
_MSCP = "https://github.com/usnistgov/macos_security/blob/main/rules"

# Microsoft Learn (Intune)
MS_ENR = f"{_ENROLL}/apple/methods-macos"
MS_ADE = f"{_ENROLL}/apple/setup-automated-macos"
MS_ADE_OVERVIEW = f"{_ENROLL}/apple/overview-automated-enrollment-macos"
MS_ADE_TOKENS = f"{_ENROLL}/apple/manage-devices-tokens-macos"
MS_DEM = f"{_ENROLL}/setup-enrollment-manager"
MS_DIRECT = f"{_ENROLL}/apple/setup-direct-macos"
MS_RESTR = f"{_ENROLL}/create-platform-restrictions"
MS_APNS = f"{_ENROLL}/apple/create-mdm-push-certificate"
MS_SUPP = f"{_LEARN}/intune-service/fundamentals/supported-devices-browsers"
MS_COMPL = f"{_LEARN}/device-security/compliance/ref-macos-settings"
MS_CLEAN = (
    f"{_LEARN}/intune-service/remote-actions/devices-wipe"
    "#automatically-delete-devices-with-cleanup-rules"
)
MS_FV = f"{_LEARN}/intune-service/protect/encrypt-devices-filevault"
MS_GRAPH_DEVICE = "https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice?view=graph-rest-beta"

# Apple
AP_TOKEN = "https://support.apple.com/guide/deployment/dep24dbdcf9e/web"
AP_SUPV = "https://support.apple.com/guide/deployment/dep1d89f0bff/web"
AP_UAMDM = "https://support.apple.com/en-us/HT208019"
AP_DEV_BOOTSTRAP = "https://developer.apple.com/documentation/devicemanagement/get-bootstrap-token"
AP_KEXT = "https://support.apple.com/guide/security/securely-extending-the-kernel-sec8e454101b/web"
AP_STARTUP_SECURITY = "https://support.apple.com/guide/mac-help/change-security-settings-startup-disk-a-mac-mchl768f7291/mac"
AP_SECURITY_RELEASES = "https://support.apple.com/en-us/100100"

# Community reference data and baselines
SOFA = "https://sofa.macadmins.io/"
MSCP_MDM_REQUIRE = f"{_MSCP}/os/os_mdm_require.yaml"
MSCP_SUPPORTED_OS = f"{_MSCP}/os/os_supported_operating_system.yaml"
MSCP_FILEVAULT_ENFORCE = f"{_MSCP}/system_settings/system_settings_filevault_enforce.yaml"
MSCP_SOFTWAREUPDATE_CURRENT = f"{_MSCP}/system_settings/system_settings_softwareupdate_current.yaml"

# Microsoft Learn (Intune), pages the population and policy rules cite
MS_VPP = f"{_LEARN}/intune-service/apps/vpp-apps-ios"
MS_COMPL_SETTINGS = (
    f"{_LEARN}/intune-service/protect/device-compliance-get-started#compliance-policy-settings"
)
MS_COMPL_CREATE = f"{_LEARN}/intune-service/protect/create-compliance-policy"

# Microsoft Graph reference pages: every field and permission these rules read
_GRAPH = "https://learn.microsoft.com/graph/api"
GRAPH_ADE_IDENTITY = (
    f"{_GRAPH}/resources/intune-enrollment-importedappledeviceidentity?view=graph-rest-beta"
)
GRAPH_ADE_IDENTITY_LIST = (
    f"{_GRAPH}/intune-enrollment-importedappledeviceidentity-list?view=graph-rest-beta"
)
GRAPH_VPP_TOKEN = f"{_GRAPH}/resources/intune-onboarding-vpptoken?view=graph-rest-1.0"
GRAPH_VPP_TOKEN_LIST = f"{_GRAPH}/intune-onboarding-vpptoken-list?view=graph-rest-1.0"
GRAPH_DM_SETTINGS = (
    f"{_GRAPH}/resources/intune-deviceconfig-devicemanagementsettings?view=graph-rest-1.0"
)
GRAPH_DM_GET = f"{_GRAPH}/intune-deviceconfig-devicemanagement-get?view=graph-rest-1.0"
GRAPH_MACOS_COMPLIANCE = (
    f"{_GRAPH}/resources/intune-deviceconfig-macoscompliancepolicy?view=graph-rest-1.0"
)
GRAPH_COMPLIANCE_LIST = (
    f"{_GRAPH}/intune-deviceconfig-devicecompliancepolicy-list?view=graph-rest-1.0"
)
GRAPH_COMPLIANCE_ASSIGNMENTS = (
    f"{_GRAPH}/intune-deviceconfig-devicecompliancepolicyassignment-list?view=graph-rest-1.0"
)
