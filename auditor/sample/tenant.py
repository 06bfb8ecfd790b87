"""The tenant objects of the sample: APNs certificate, ADE tokens and profiles, restrictions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditor.sample.fleet import DAY, Profile, epoch
from auditor.sample.render import NEVER, guids, iso
from auditor.sample.scenarios import (
    CORPORATE_PROFILE,
    ENGINEERING_PROFILE,
    LEGACY_PROFILE,
    USERLESS_PROFILE,
)

BETA = "https://graph.microsoft.com/beta"
Json = dict[str, Any]

LEGACY_TOKEN_EXPIRED_DAYS = 110  # the acquired company's token lapsed this long before as-of
ENGINEERING_TOKEN_DAYS_LEFT = 12  # inside MAC-TEN-004's 30 days
LEGACY_SYNC_ERROR = 401  # value of lastSyncErrorCode for a lapsed token: an assumption


@dataclass(frozen=True, slots=True)
class Token:
    """One ADE token of the sample and the facts its rules turn on."""

    name: str
    apple_id: str
    expires_in_days: float
    synced_days_ago: float
    error_code: int


TOKENS = (
    Token("Contoso ABM – Macs", "abm-admin@contoso.com", 240.4, 0.3, 0),
    Token(
        "Contoso ABM – Engineering",
        "abm-engineering@contoso.com",
        ENGINEERING_TOKEN_DAYS_LEFT + 0.4,
        0.6,
        0,
    ),
    Token(
        "Fabrikam ABM (legacy)",
        "it-admin@fabrikam.com",
        -LEGACY_TOKEN_EXPIRED_DAYS + 0.4,
        111.2,
        LEGACY_SYNC_ERROR,
    ),
)


def profiles_for(as_of: dt.date) -> tuple[Profile, ...]:
    """ADE enrollment profiles: two on the main token, one each on the others."""
    lapsed = as_of - dt.timedelta(days=LEGACY_TOKEN_EXPIRED_DAYS + 2)
    return (
        Profile(CORPORATE_PROFILE, 0, True, 0.85),
        Profile(USERLESS_PROFILE, 0, False, 0.0),
        Profile(ENGINEERING_PROFILE, 1, True, 0.12),
        Profile(LEGACY_PROFILE, 2, True, 0.03, enrolled_before=lapsed),
    )


def _when(as_of: dt.date, days: float) -> str:
    seconds = np.array([epoch(as_of) + int(days * DAY)], dtype=np.int64)
    return iso(seconds, np.array([int(abs(days) * 1e9) % 10_000_000]))[0]


def apns_certificate(rng: np.random.Generator, as_of: dt.date, valid_days: float) -> Json:
    """`GET /deviceManagement/applePushNotificationCertificate`: one object, no `value` wrapper."""
    topic, cert_id = guids(rng, 2)
    return {
        "@odata.context": (
            f"{BETA}/$metadata#deviceManagement/applePushNotificationCertificate/$entity"
        ),
        "@odata.type": "#microsoft.graph.applePushNotificationCertificate",
        "id": cert_id,
        "appleIdentifier": "intune-apns@contoso.com",
        "topicIdentifier": f"com.apple.mgmt.External.{topic}",
        "lastModifiedDateTime": _when(as_of, valid_days - 365),
        "expirationDateTime": _when(as_of, valid_days),
        "certificateUploadStatus": None,
        "certificateUploadFailureReason": None,
        "certificateSerialNumber": rng.bytes(8).hex().upper(),
        "certificate": None,
    }


def ade_tokens(token_ids: list[str], as_of: dt.date, synced_counts: list[int]) -> Json:
    """`GET /beta/deviceManagement/depOnboardingSettings` as one list response."""
    values = []
    for token_id, token, synced in zip(token_ids, TOKENS, synced_counts, strict=True):
        values.append(
            {
                "@odata.type": "#microsoft.graph.depOnboardingSetting",
                "id": token_id,
                "appleIdentifier": token.apple_id,
                "tokenExpirationDateTime": _when(as_of, token.expires_in_days),
                "lastModifiedDateTime": _when(as_of, token.expires_in_days - 365),
                "lastSuccessfulSyncDateTime": _when(as_of, -token.synced_days_ago),
                "lastSyncTriggeredDateTime": _when(as_of, -0.25),
                "shareTokenWithSchoolDataSyncService": False,
                "lastSyncErrorCode": token.error_code,
                "tokenType": "dep",
                "tokenName": token.name,
                "syncedDeviceCount": synced,
                "dataSharingConsentGranted": True,
                "roleScopeTagIds": ["0"],
            }
        )
    return {
        "@odata.context": f"{BETA}/$metadata#deviceManagement/depOnboardingSettings",
        "value": values,
    }


def enrollment_profiles(
    profile_ids: list[str], token_ids: list[str], profiles: tuple[Profile, ...], tenant_id: str
) -> list[Json]:
    """Per token, the list response of `GET …/depOnboardingSettings/{id}/enrollmentProfiles`.

    The token id is in each response's `@odata.context` (`depOnboardingSettings('<id>')`).
    """
    out = []
    for t, token_id in enumerate(token_ids):
        values = [
            {
                "@odata.type": "#microsoft.graph.depMacOSEnrollmentProfile",
                "id": profile_ids[i],
                "displayName": p.name,
                "description": "" if p.with_user else "Userless shared Macs: no Company Portal",
                "requiresUserAuthentication": p.with_user,
                "configurationEndpointUrl": (
                    "https://appleconfigurator2.manage.microsoft.com/MDMServiceConfig"
                    f"?id={tenant_id}&AADTenantId={tenant_id}"
                ),
                "enableAuthenticationViaCompanyPortal": False,
                "requireCompanyPortalOnSetupAssistantEnrolledDevices": p.with_user,
                "isDefault": i == 0,
                "supervisedModeEnabled": True,
                "supportDepartment": "Contoso IT Service Desk",
                "isMandatory": True,
                "locationDisabled": False,
                "supportPhoneNumber": "+1 425 555 0100",
                "profileRemovalDisabled": True,
                "restoreBlocked": False,
                "appleIdDisabled": True,
                "termsAndConditionsDisabled": True,
                "touchIdDisabled": False,
                "applePayDisabled": True,
                "siriDisabled": True,
                "diagnosticsDisabled": True,
                "registrationDisabled": True,
                "fileVaultDisabled": False,
                "deviceNameTemplate": "",
            }
            for i, p in enumerate(profiles)
            if p.token == t
        ]
        context = f"{BETA}/$metadata#deviceManagement/depOnboardingSettings('{token_id}')"
        out.append({"@odata.context": f"{context}/enrollmentProfiles", "value": values})
    return out


def _restriction(
    *, blocked: bool = False, personal_blocked: bool = False, empty: str | None = ""
) -> Json:
    return {
        "platformBlocked": blocked,
        "personalDeviceEnrollmentBlocked": personal_blocked,
        "osMinimumVersion": empty,
        "osMaximumVersion": empty,
        "blockedManufacturers": [],
        "blockedSkus": [],
    }


def enrollment_configurations(tenant_id: str, group_policy_id: str, as_of: dt.date) -> Json:
    """`GET /beta/deviceManagement/deviceEnrollmentConfigurations` with the tenant defaults.

    The default platform restriction allows personal Macs; a higher-priority per-platform
    policy blocks personal Macs for one group (it is not the default, so it is not the
    tenant's policy for MAC-TEN-006).
    """
    default = "All users and all devices"
    changed = _when(as_of, -160.6)
    common = {
        "createdDateTime": NEVER,
        "lastModifiedDateTime": changed,
        "version": 0,
        "roleScopeTagIds": [],
    }
    return {
        "@odata.context": f"{BETA}/$metadata#deviceManagement/deviceEnrollmentConfigurations",
        "value": [
            {
                "@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
                "id": f"{tenant_id}_DefaultLimit",
                "displayName": default,
                "description": "This is the default Device Limit Restriction applied with the "
                "lowest priority to all users regardless of group membership.",
                "priority": 0,
                **common,
                "deviceEnrollmentConfigurationType": "limit",
                "limit": 5,
            },
            {
                "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration",
                "id": f"{tenant_id}_DefaultPlatformRestrictions",
                "displayName": default,
                "description": "This is the default Device Type Restriction applied with the "
                "lowest priority to all users regardless of group membership.",
                "priority": 0,
                **common,
                "deviceEnrollmentConfigurationType": "platformRestrictions",
                "iosRestriction": _restriction(),
                "windowsRestriction": _restriction(),
                "windowsHomeSkuRestriction": _restriction(empty=None),
                "windowsMobileRestriction": _restriction(blocked=True),
                "androidRestriction": _restriction(),
                "androidForWorkRestriction": _restriction(),
                "macRestriction": _restriction(empty=None),
                "macOSRestriction": _restriction(empty=None),
                "tvosRestriction": None,
                "visionOSRestriction": None,
            },
            {
                "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionConfiguration",
                "id": f"{group_policy_id}_SinglePlatformRestriction",
                "displayName": "macOS – contractors: corporate only",
                "description": "Contractors may not enroll personal Macs.",
                "priority": 1,
                **common,
                "deviceEnrollmentConfigurationType": "singlePlatformRestriction",
                "platformType": "mac",
                "platformRestriction": _restriction(personal_blocked=True, empty=None),
            },
            {
                "@odata.type": (
                    "#microsoft.graph.deviceEnrollmentWindowsHelloForBusinessConfiguration"
                ),
                "id": f"{tenant_id}_DefaultWindowsHelloForBusiness",
                "displayName": default,
                "description": "This is the default Windows Hello for Business configuration "
                "applied with the lowest priority to all users regardless of group membership.",
                "priority": 0,
                **common,
                "deviceEnrollmentConfigurationType": "windowsHelloForBusiness",
                "state": "notConfigured",
            },
        ],
    }
