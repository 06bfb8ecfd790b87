"""The sample's population and policy objects, as Graph returns them.

Imported Apple device identities per ADE token (beta), VPP tokens, `GET /deviceManagement`
(its `settings`), the compliance policies and the macOS ones' assignments (v1.0). Shapes follow
Microsoft's Graph reference (microsoftgraph/microsoft-graph-docs-contrib, the `-list` and
resource pages of importedAppleDeviceIdentity, vppToken, deviceManagement,
macOSCompliancePolicy and deviceCompliancePolicyAssignment). Random values come from their
own generator, so the Macs of a tenant do not change with these objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditor.sample.fleet import DAY, epoch
from auditor.sample.render import NEVER, guids, iso
from auditor.sample.tenant import BETA

V1 = "https://graph.microsoft.com/v1.0"
Json = dict[str, Any]
ESCAPED = ("direct", "dem-events")  # placed Macs assigned in ABM but enrolled another way
NEVER_ENROLLED_MIN = 3  # serials of the first token that no Mac carries, at least
RECENT_DAYS = 5  # the serial imported inside MAC-ADE-001's 14-day grace period
IDENTITY_PAGE = 100  # identities per list page (pages chained by @odata.nextLink)
VPP_SECRET = "VPP-LOCATION-TOKEN-SAMPLE-SECRET-9f3c2a71"  # must never reach an output
_SERIALS = "0123456789CDFGHJKLMNPQRTVWXY"


@dataclass(frozen=True, slots=True)
class Identities:
    """Per-token list pages, the identity count per token, and the serials tests look for."""

    pages: list[Json]
    counts: list[int]
    never_enrolled: str  # imported long ago, no Mac carries it: MAC-ADE-001 fails
    recent: str  # imported within the grace period: not yet judged
    deleted: str  # deleted from Apple Business Manager: out of scope


def own_rng(seed: int) -> np.random.Generator:
    """The generator these objects draw from (the fleet's own stays untouched)."""
    return np.random.Generator(np.random.PCG64([seed, 21]))


def _serials(rng: np.random.Generator, n: int) -> list[str]:
    picks = rng.integers(0, len(_SERIALS), size=(n, 10))
    return ["".join(_SERIALS[i] for i in row) for row in picks.tolist()]


def _identity(
    identity_id: str, serial: str, created: str, state: str, contacted: str, **values: Any
) -> Json:
    return {
        "@odata.type": "#microsoft.graph.importedAppleDeviceIdentity",
        "id": identity_id,
        "serialNumber": serial,
        "requestedEnrollmentProfileId": values.get("profile"),
        "requestedEnrollmentProfileAssignmentDateTime": values.get("assigned"),
        "isSupervised": state == "enrolled",
        "discoverySource": "deviceEnrollmentProgram",
        "isDeleted": values.get("deleted", False),
        "createdDateTime": created,
        "lastContactedDateTime": contacted,
        "description": None,
        "enrollmentState": state,
        "platform": values.get("platform", "macOS"),
    }


def imported_identities(
    devices: pd.DataFrame,
    token_ids: list[str],
    profile_ids: list[str],
    extra: list[int],
    as_of: dt.date,
    rng: np.random.Generator,
) -> Identities:
    """Every ADE-enrolled Mac's serial under its token, the escaped Macs', and serials no Mac has.

    `extra[t]` serials assigned to token t never enrolled (the first token gets at least
    `NEVER_ENROLLED_MIN`, one imported inside the grace period, one deleted and two iPhones).
    """
    enrolled = pd.to_datetime(devices["enrolledDateTime"], utc=True, format="ISO8601")
    seconds = (enrolled - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype("int64")
    created = iso((seconds - 3 * DAY).to_numpy(), np.full(len(devices), -1))
    escaped = devices["_key"].isin(ESCAPED).to_numpy(dtype=bool)
    token = np.where(escaped, 0, devices["_token"].to_numpy(dtype=np.int64))
    per_token: list[list[Json]] = [[] for _ in token_ids]
    seen: set[str] = set()
    ids = iter(guids(rng, len(devices) + 16 + sum(extra) + NEVER_ENROLLED_MIN))
    serials, profiles = devices["serialNumber"].tolist(), devices["_profile"].tolist()
    enrolled_at = devices["enrolledDateTime"].tolist()
    for i in np.flatnonzero(token >= 0).tolist():
        serial, profile = serials[i], int(profiles[i])
        if not serial or serial in seen:
            continue
        seen.add(serial)
        per_token[token[i]].append(
            _identity(next(ids), serial, created[i], "notContacted" if escaped[i] else "enrolled",
                      NEVER if escaped[i] else enrolled_at[i],
                      profile=profile_ids[profile] if profile >= 0 else None,
                      assigned=created[i] if profile >= 0 else None)
        )  # fmt: skip
    counts = [max(n, NEVER_ENROLLED_MIN) if t == 0 else n for t, n in enumerate(extra)]
    unseen = [s for s in _serials(rng, sum(counts) + 8) if s not in seen]
    old = epoch(as_of) - rng.integers(60, 400, size=len(unseen)) * DAY - 9 * 3600
    when = iso(old, np.full(len(unseen), -1))
    position = 0
    for t, n in enumerate(counts):
        for _ in range(n):
            serial, stamp = unseen[position], when[position]
            position += 1
            per_token[t].append(_identity(next(ids), serial, stamp, "notContacted", NEVER))
    recent, deleted, *phones = unseen[position : position + 4]
    recent_at = iso(np.array([epoch(as_of) - RECENT_DAYS * DAY]), np.array([-1]))[0]
    per_token[0] += [
        _identity(next(ids), recent, recent_at, "notContacted", NEVER),
        _identity(next(ids), deleted, when[0], "notContacted", NEVER, deleted=True),
        *(_identity(next(ids), f"F2L{s[3:]}", when[1], "enrolled", when[1], platform="ios")
          for s in phones),
    ]  # fmt: skip
    return Identities(
        pages=[
            page
            for token_id, records in zip(token_ids, per_token, strict=True)
            for page in _pages(token_id, records)
        ],
        counts=[len(records) for records in per_token],
        never_enrolled=unseen[0],  # the first token's first serial that no Mac carries
        recent=recent,
        deleted=deleted,
    )


def _pages(token_id: str, records: list[Json]) -> list[Json]:
    """One token's list response: its pages, joined by `@odata.nextLink`."""
    url = f"{BETA}/deviceManagement/depOnboardingSettings/{token_id}/importedAppleDeviceIdentities"
    context = (
        f"{BETA}/$metadata#deviceManagement/depOnboardingSettings('{token_id}')"
        "/importedAppleDeviceIdentities"
    )
    chunks = [records[i : i + IDENTITY_PAGE] for i in range(0, len(records), IDENTITY_PAGE)]
    pages: list[Json] = []
    for number, chunk in enumerate(chunks or [[]]):
        page: Json = {"@odata.context": context, "value": chunk}
        if number + 1 < len(chunks):
            page["@odata.nextLink"] = f"{url}?$skiptoken=page{number + 1}"
        pages.append(page)
    return pages


def vpp_tokens(rng: np.random.Generator, as_of: dt.date) -> Json:
    """`GET /v1.0/deviceAppManagement/vppTokens`: a healthy, a failing-sync and a lapsed token."""
    ids = guids(rng, 3)
    start = epoch(as_of)

    def at(days: float) -> str:
        return iso(np.array([start + int(days * DAY)]), np.array([-1]))[0]

    def token(i: int, org: str, kind: str, apple_id: str, expires: float, synced: float,
              status: str, state: str) -> Json:  # fmt: skip
        return {
            "@odata.type": "#microsoft.graph.vppToken",
            "id": ids[i],
            "organizationName": org,
            "vppTokenAccountType": kind,
            "appleId": apple_id,
            "expirationDateTime": at(expires),
            "lastSyncDateTime": at(-synced),
            "token": VPP_SECRET,
            "lastModifiedDateTime": at(expires - 365),
            "state": state,
            "lastSyncStatus": status,
            "automaticallyUpdateApps": True,
            "countryOrRegion": "us",
        }

    return {
        "@odata.context": f"{V1}/$metadata#deviceAppManagement/vppTokens",
        "value": [
            token(0, "Contoso Ltd", "business", "apps@contoso.com", 203.4, 0.4, "completed",
                  "valid"),
            token(1, "Contoso Labs", "education", "lab-apps@contoso.com", 19.4, 9.2, "failed",
                  "valid"),
            token(2, "Fabrikam Inc (legacy)", "business", "it-admin@fabrikam.com", -40.6, 41.0,
                  "failed", "expired"),
        ],
    }  # fmt: skip


def device_management(rng: np.random.Generator, secure_by_default: bool) -> Json:
    """`GET /v1.0/deviceManagement`: the tenant's settings (Compliance settings in the portal)."""
    management_id, account = guids(rng, 2)
    return {
        "@odata.context": f"{V1}/$metadata#deviceManagement",
        "@odata.type": "#microsoft.graph.deviceManagement",
        "id": management_id,
        "settings": {
            "@odata.type": "microsoft.graph.deviceManagementSettings",
            "deviceComplianceCheckinThresholdDays": 30,
            "isScheduledActionEnabled": True,
            "secureByDefault": secure_by_default,
        },
        "intuneAccountId": account,
        "subscriptionState": "active",
    }
