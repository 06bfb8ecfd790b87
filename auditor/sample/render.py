"""Turn a fleet plan into the values Intune reports: GUIDs, serials, names, Graph timestamps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from auditor.sample.catalog import MODELS, RELEASES
from auditor.sample.fleet import (
    BYOD,
    COMPLIANCE,
    DAY,
    DEM,
    DIRECT,
    ENROLLMENT_TYPE,
    Array,
    Profile,
    epoch,
)

NEVER = "0001-01-01T00:00:00Z"  # Intune's "no value" timestamp
NO_GRACE = "9999-12-31T23:59:59.9999999Z"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
_SERIAL_ALPHABET = "0123456789CDFGHJKLMNPQRTVWXY"  # Apple serials avoid vowels and look-alikes
_VM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_STORAGE = np.array([245_107_195_904, 494_384_795_648, 994_662_584_320, 1_995_218_165_760])


def guids(rng: np.random.Generator, n: int) -> list[str]:
    """`n` random version-4 GUIDs, the same text as `str(uuid.UUID(bytes=…, version=4))`."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    h = raw.tobytes().hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-"
        f"{h[i + 20 : i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


def _chars(rng: np.random.Generator, n: int, width: int, alphabet: str) -> list[str]:
    table = np.frombuffer(alphabet.encode("ascii"), dtype="S1")
    picked = table[rng.integers(0, len(alphabet), size=(n, width))]
    return [b.decode("ascii") for b in picked.view(f"S{width}").ravel()]


def serials(rng: np.random.Generator, model: Array) -> list[str]:
    """Apple-style serials: 10 random characters since 2021, 12 before; VM-style for VMs."""
    n = len(model)
    body = _chars(rng, n, 12, _SERIAL_ALPHABET)
    vm_body = _chars(rng, n, 10, _VM_ALPHABET)
    prefix = np.array(["C02", "FVF", "C07", "DMP"])[rng.integers(0, 4, n)].tolist()
    out = []
    for i, m in enumerate(model.tolist()):
        spec = MODELS[m]
        if spec.identifier.startswith("VMware"):
            out.append(f"VM{vm_body[i][:5]}/{vm_body[i][6:]}")  # VMware serials may hold / and +
        elif spec.identifier.startswith("VirtualMac"):
            out.append("Z" + body[i][:9])
        elif spec.released >= dt.date(2021, 3, 1):
            out.append(body[i][:10])
        else:
            out.append(prefix[i] + body[i][3:])
    return out


def udids(rng: np.random.Generator, model: Array) -> list[str]:
    """ECID-style UDIDs for Apple silicon (`00008103-001A…`), hardware-UUID style otherwise."""
    n = len(model)
    ecid = _chars(rng, n, 14, "0123456789ABCDEF")
    hw_uuid = [g.upper() for g in guids(rng, n)]
    chips = [MODELS[m].ecid_chip for m in model.tolist()]
    return [f"0000{c}-00{e}" if c else u for c, e, u in zip(chips, ecid, hw_uuid, strict=True)]


def iso(seconds: Array, fraction: Array) -> list[str]:
    """Graph timestamps: `2026-08-31T14:22:05.1234567Z`, or without fraction where it is < 0."""
    base = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()
    return [
        f"{b}.{f:07d}Z" if f >= 0 else f"{b}Z" for b, f in zip(base, fraction.tolist(), strict=True)
    ]


def _managed_names(local: list[str], enrolled: Array) -> list[str]:
    stamp = pd.to_datetime(enrolled, unit="s")
    hour = stamp.hour.to_numpy()
    parts = zip(
        local,
        stamp.month.tolist(),
        stamp.day.tolist(),
        stamp.year.tolist(),
        ((hour + 11) % 12 + 1).tolist(),
        stamp.minute.tolist(),
        np.where(hour < 12, "AM", "PM").tolist(),
        strict=True,
    )
    return [f"{u}_MacOS_{mo}/{d}/{y}_{h}:{mi:02d} {ap}" for u, mo, d, y, h, mi, ap in parts]


def _device_names(plan: pd.DataFrame, people: pd.DataFrame) -> list[str]:
    """Corporate `MBP-JSMITH-01`; personal `Zoë’s MacBook Air`; shared `LAB-MINI-07`."""
    method = plan["method"].to_numpy()
    nth_of_user = plan.groupby("user").cumcount().to_numpy() + 1
    nth_of_method = plan.groupby("method").cumcount().to_numpy() + 1
    user = plan["user"].to_numpy()
    alias = people["alias"].to_numpy()
    first = people["first"].to_numpy()
    shared = {DEM: "LAB", DIRECT: "CONF"}
    out = []
    for i, m in enumerate(plan["model"].tolist()):
        spec = MODELS[m]
        if method[i] == BYOD:
            out.append(f"{first[user[i]]}’s {spec.model}")
        elif user[i] >= 0:
            out.append(f"{spec.prefix}-{alias[user[i]]}-{nth_of_user[i]:02d}")
        else:
            out.append(f"{shared.get(method[i], 'SHARED')}-{spec.prefix}-{nth_of_method[i]:03d}")
    return out


def render(
    plan: pd.DataFrame,
    people: pd.DataFrame,
    rng: np.random.Generator,
    as_of: dt.date,
    profiles: tuple[Profile, ...],
    dem_upns: tuple[str, ...],
) -> pd.DataFrame:
    """One row per Mac with managedDevice fields as Graph returns them, plus `_` detail columns."""
    n = len(plan)
    model = plan["model"].to_numpy()
    method = plan["method"].to_numpy()
    user = plan["user"].to_numpy()
    has_user = user >= 0
    spec = [MODELS[m] for m in model.tolist()]
    idx = np.maximum(user, 0)
    upn = np.where(has_user, people["upn"].to_numpy()[idx], "")
    display = np.where(has_user, people["display"].to_numpy()[idx], None)
    user_ids = guids(rng, len(people))
    enrolled = plan["enrolled"].to_numpy() + rng.integers(0, DAY, n)
    synced = plan["synced"].to_numpy()
    with_fraction = rng.random(n) < 0.75
    fraction = np.where(with_fraction, rng.integers(0, 10_000_000, n), -1)
    registered = plan["registered"].to_numpy()
    total = _STORAGE[rng.choice(4, n, p=[0.25, 0.5, 0.2, 0.05])]
    grace = np.where(plan["compliance"].to_numpy() == COMPLIANCE.index("inGracePeriod"), 1, 0)
    dem = plan["dem"].to_numpy()
    profile = plan["profile"].to_numpy()
    profile_names = np.array([p.name for p in profiles] + [""], dtype=object)
    local = [u.split("@")[0] if u else "Userless" for u in upn.tolist()]
    as_of_s = epoch(as_of)
    cert_expiry = as_of_s + rng.integers(20, 365, n) * DAY + rng.integers(0, DAY, n)
    wifi = _chars(rng, n, 12, "0123456789abcdef")
    intel_or_vmware = np.array(
        [s.chip == "intel" or s.identifier.startswith("VMware") for s in spec]
    )

    frame = pd.DataFrame(
        {
            "id": guids(rng, n),
            "userId": np.where(has_user, np.array(user_ids, dtype=object)[idx], ""),
            "deviceName": _device_names(plan, people),
            "managedDeviceName": _managed_names(local, enrolled),
            "ownerType": np.where(plan["personal"], "personal", "company"),
            "managedDeviceOwnerType": np.where(plan["personal"], "personal", "company"),
            "managementState": "managed",
            "enrolledDateTime": iso(enrolled, fraction),
            "lastSyncDateTime": iso(
                synced, np.where(with_fraction, rng.integers(0, 10_000_000, n), -1)
            ),
            "operatingSystem": "macOS",
            "complianceState": np.array(COMPLIANCE, dtype=object)[plan["compliance"].to_numpy()],
            "jailBroken": "Unknown",
            "managementAgent": "mdm",
            "osVersion": [RELEASES[r].os_version for r in plan["release"].tolist()],
            "azureADRegistered": registered,
            "deviceEnrollmentType": np.array(ENROLLMENT_TYPE, dtype=object)[method],
            "emailAddress": upn,
            "azureADDeviceId": np.where(
                registered, np.array(guids(rng, n), dtype=object), ZERO_GUID
            ),
            "deviceRegistrationState": np.where(registered, "registered", "notRegistered"),
            "deviceCategoryDisplayName": "Unknown",
            "isSupervised": plan["supervised"].to_numpy(),
            "isEncrypted": plan["encrypted"].to_numpy(),
            "userPrincipalName": upn,
            "model": [
                s.marketing if mk else s.model
                for s, mk in zip(spec, plan["marketing_model"], strict=True)
            ],
            "manufacturer": "Apple",
            "serialNumber": serials(rng, model),
            "udid": "",  # list default; the real value needs a single GET
            "userDisplayName": display,
            "enrollmentProfileName": profile_names[profile],
            "complianceGracePeriodExpirationDateTime": np.where(
                grace == 1,
                iso(as_of_s + rng.integers(1, 7, n) * DAY, np.zeros(n, dtype=int)),
                NO_GRACE,
            ),
            "managementCertificateExpirationDate": iso(cert_expiry, np.full(n, -1)),
            "wiFiMacAddress": wifi,
            "totalStorageSpaceInBytes": total,
            "freeStorageSpaceInBytes": (total * rng.uniform(0.08, 0.8, n)).astype(np.int64),
            "physicalMemoryInBytes": 0,  # list default
            "deviceType": "macMDM",
            "joinType": np.where(registered, "azureADRegistered", "unknown"),
            "processorArchitecture": np.where(intel_or_vmware, "x64", "arM64"),
            "enrolledByUserPrincipalName": np.where(
                method == DEM, np.array(dem_upns, dtype=object)[np.maximum(dem, 0)], upn
            ),
            "bootstrapTokenEscrowed": False,  # list default; the real value needs a single GET
            # single-GET values and export-only values, kept beside the list fields
            "_udid": udids(rng, model),
            "_product_name": [s.identifier for s in spec],
            "_escrowed": plan["escrowed"].to_numpy(),
            "_has_details": True,
            "_profile": profile,  # index into the tenant's ADE profiles, -1: none
            "_token": np.array([p.token for p in profiles] + [-1])[profile],
            "_user_approved": plan["approved"].to_numpy(),
            "_is_laptop": [s.model.startswith("MacBook") for s in spec],
            "_battery_health": rng.integers(78, 101, n),
            "_battery_cycles": rng.integers(3, 900, n),
        }
    )
    return _objects(frame)


def _objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Hold every column as Python objects so JSON and CSV see str/int/bool/None, not numpy."""
    return pd.DataFrame(
        {c: pd.Series(frame[c].tolist(), index=frame.index, dtype=object) for c in frame.columns}
    )
