"""The sample's compliance policies and the macOS ones' assignments, as Graph v1.0 lists them.

Four macOS policies (one per MAC-POL-003 outcome, the FileVault one for MAC-POL-002) beside a
Windows and an iOS policy the audit leaves out. Assignments come as one list response per
macOS policy, the policy named in `@odata.context` (`deviceCompliancePolicies('<id>')`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from auditor.sample.population import V1
from auditor.sample.render import guids

Json = dict[str, Any]
MAC = "#microsoft.graph.macOSCompliancePolicy"
FILEVAULT_POLICY = "macOS – FileVault and minimum OS"
CONTRACTORS_POLICY = "macOS – Contractors"
LAB_POLICY = "macOS – Lab (no OS floor)"
DRAFT_POLICY = "macOS – Draft"


def _mac_policy(policy_id: str, name: str, **settings: Any) -> Json:
    return {
        "@odata.type": MAC,
        "id": policy_id,
        "createdDateTime": "2025-10-14T09:21:07.5211024Z",
        "description": "",
        "lastModifiedDateTime": "2026-06-02T15:40:33.1870271Z",
        "displayName": name,
        "version": 4,
        "passwordRequired": True,
        "passwordBlockSimple": True,
        "passwordExpirationDays": None,
        "passwordMinimumLength": 10,
        "passwordMinutesOfInactivityBeforeLock": 15,
        "passwordPreviousPasswordBlockCount": None,
        "passwordMinimumCharacterSetCount": None,
        "passwordRequiredType": "alphanumeric",
        "osMinimumVersion": None,
        "osMaximumVersion": None,
        "osMinimumBuildVersion": None,
        "osMaximumBuildVersion": None,
        "systemIntegrityProtectionEnabled": True,
        "deviceThreatProtectionEnabled": False,
        "deviceThreatProtectionRequiredSecurityLevel": "unavailable",
        "advancedThreatProtectionRequiredSecurityLevel": "unavailable",
        "storageRequireEncryption": False,
        "gatekeeperAllowedAppSource": "macAppStoreAndIdentifiedDevelopers",
        "firewallEnabled": True,
        "firewallBlockAllIncoming": False,
        "firewallEnableStealthMode": True,
        **settings,
    }


def compliance_policies(rng: np.random.Generator) -> tuple[Json, list[str]]:
    """The policy list response and the macOS policies' ids (FileVault, contractors, lab, draft)."""
    ids = guids(rng, 6)
    macs = [
        _mac_policy(ids[0], FILEVAULT_POLICY, storageRequireEncryption=True,
                    osMinimumVersion="14.0", osMinimumBuildVersion="23J631"),
        _mac_policy(ids[1], CONTRACTORS_POLICY, osMinimumVersion="13.0"),
        _mac_policy(ids[2], LAB_POLICY, passwordRequired=False),
        _mac_policy(ids[3], DRAFT_POLICY, storageRequireEncryption=True,
                    osMinimumVersion="15.0"),
    ]  # fmt: skip
    others = [
        {"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "id": ids[4],
         "createdDateTime": "2025-10-14T09:11:52.0126534Z", "description": "",
         "lastModifiedDateTime": "2026-03-09T11:02:40.3319514Z",
         "displayName": "Windows 11 – BitLocker", "version": 2, "bitLockerEnabled": True,
         "secureBootEnabled": True, "osMinimumVersion": "10.0.22631"},
        {"@odata.type": "#microsoft.graph.iosCompliancePolicy", "id": ids[5],
         "createdDateTime": "2025-10-14T09:15:30.9921408Z", "description": "",
         "lastModifiedDateTime": "2026-01-20T08:44:12.6630012Z",
         "displayName": "iOS – passcode", "version": 1, "passcodeRequired": True,
         "osMinimumVersion": "17.0"},
    ]  # fmt: skip
    document = {
        "@odata.context": f"{V1}/$metadata#deviceManagement/deviceCompliancePolicies",
        "value": [macs[0], others[0], macs[1], macs[2], others[1], macs[3]],
    }
    return document, ids[:4]


def compliance_assignments(
    rng: np.random.Generator, policy_ids: list[str], *, filevault_assigned: bool
) -> list[Json]:
    """One assignments list response per macOS policy (the draft has none)."""
    all_macs, contractors, lab, kiosks = guids(rng, 4)

    def target(kind: str, group: str | None = None) -> Json:
        found = {"@odata.type": f"#microsoft.graph.{kind}"}
        return found | ({"groupId": group} if group else {})

    def assignment(policy: str, suffix: str, kind: str, group: str | None = None) -> Json:
        return {
            "@odata.type": "#microsoft.graph.deviceCompliancePolicyAssignment",
            "id": f"{policy}_{suffix}",
            "target": target(kind, group),
        }

    filevault, contract, labs, _draft = policy_ids
    targets = {
        filevault: [
            assignment(filevault, all_macs, "groupAssignmentTarget", all_macs),
            assignment(filevault, kiosks, "exclusionGroupAssignmentTarget", kiosks),
        ]
        if filevault_assigned
        else [],
        contract: [assignment(contract, contractors, "groupAssignmentTarget", contractors)],
        labs: [
            assignment(labs, "adadadad-808e-44e2-905a-0b7873a8a531", "allDevicesAssignmentTarget"),
            assignment(labs, lab, "exclusionGroupAssignmentTarget", lab),
        ],
        _draft: [],
    }
    return [
        {
            "@odata.context": (
                f"{V1}/$metadata#deviceManagement/deviceCompliancePolicies('{policy}')/assignments"
            ),
            "value": values,
        }
        for policy, values in targets.items()
    ]
