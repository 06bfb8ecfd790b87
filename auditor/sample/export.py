"""Rows of the Intune reports-export `Devices` CSV: every Mac plus a few Windows PCs.

Value encodings of this report are not documented (graph.md §4, §7); the sample uses
numeric codes where the report pairs a code with a text column (`OwnerType` "1" beside
`Ownership` "Corporate", `EnrollmentType` "3" beside `DeviceEnrollmentType`), "True"/"False"
for booleans, and `yyyy-MM-dd HH:mm:ss.fffffff` UTC times.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from auditor.sample.catalog import FIRST_NAMES, LAST_NAMES, ascii_fold
from auditor.sample.fleet import DAY, epoch
from auditor.sample.render import ZERO_GUID, guids, iso

EXPORT_COLUMNS = (
    "DeviceId", "DeviceName", "ManagedDeviceName", "SerialNumber", "Manufacturer", "Model", "OS",
    "OSVersion", "DeviceType", "OwnerType", "Ownership", "CompliantState", "DeviceEnrollmentType",
    "EnrollmentType", "EnrolledByUser", "JoinType", "SupervisedStatus", "SupervisedStatusString",
    "EncryptionStatus", "EncryptionStatusString", "UserApprovedEnrollment", "UPN", "UserEmail",
    "UserName", "PrimaryUser", "ReferenceId", "LastContact", "CreatedDate", "CategoryName",
    "StorageTotal", "StorageFree", "WifiMacAddress",
)  # fmt: skip

# deviceEnrollmentType in enum order (the Data Warehouse numbers them the same way)
_ENROLLMENT_CODE = {
    "unknown": "0", "userEnrollment": "1", "deviceEnrollmentManager": "2", "appleBulkWithUser": "3",
    "appleBulkWithoutUser": "4", "windowsAzureADJoin": "5", "appleUserEnrollment": "11",
}  # fmt: skip
_COMPLIANCE_TEXT = {
    "compliant": "Compliant", "noncompliant": "Not compliant", "inGracePeriod": "In grace period",
    "error": "Error", "conflict": "Conflict", "unknown": "Not evaluated",
}  # fmt: skip
_MB = 1_048_576


def report_time(graph_time: pd.Series) -> pd.Series:
    """`2026-08-31T14:22:05.12Z` → `2026-08-31 14:22:05.1200000` (the export's UTC format)."""
    text = graph_time.str.rstrip("Z").str.replace("T", " ", regex=False)
    whole = text.str.slice(0, 19)
    fraction = text.str.slice(20).str.ljust(7, "0")
    return whole + "." + fraction


def _flag(values: pd.Series, yes: str, no: str) -> pd.Series:
    return values.map({True: yes, False: no}).fillna("").astype(object)


def mac_rows(devices: pd.DataFrame) -> pd.DataFrame:
    """One export row per Mac, derived from the same facts as the Graph records."""
    d = devices
    personal = d["managedDeviceOwnerType"] == "personal"
    registered = d["azureADDeviceId"] != ZERO_GUID
    return pd.DataFrame(
        {
            "DeviceId": d["id"],
            "DeviceName": d["deviceName"],
            "ManagedDeviceName": d["managedDeviceName"],
            "SerialNumber": d["serialNumber"],
            "Manufacturer": d["manufacturer"],
            "Model": d["model"],
            "OS": "macOS",
            "OSVersion": d["osVersion"],
            "DeviceType": "14",  # macMDM
            "OwnerType": np.where(personal, "2", "1"),
            "Ownership": np.where(personal, "Personal", "Corporate"),
            "CompliantState": d["complianceState"].map(_COMPLIANCE_TEXT),
            "DeviceEnrollmentType": d["deviceEnrollmentType"],
            "EnrollmentType": d["deviceEnrollmentType"].map(_ENROLLMENT_CODE),
            "EnrolledByUser": d["enrolledByUserPrincipalName"],
            "JoinType": d["joinType"],
            "SupervisedStatus": _flag(d["isSupervised"], "True", "False"),
            "SupervisedStatusString": _flag(d["isSupervised"], "Yes", "No"),
            "EncryptionStatus": _flag(d["isEncrypted"], "True", "False"),
            "EncryptionStatusString": _flag(d["isEncrypted"], "Encrypted", "Not encrypted"),
            "UserApprovedEnrollment": _flag(d["_user_approved"], "True", "False"),
            "UPN": d["userPrincipalName"],
            "UserEmail": d["emailAddress"],
            "UserName": d["userDisplayName"].fillna(""),
            "PrimaryUser": d["userId"],
            "ReferenceId": d["azureADDeviceId"].where(registered, ""),
            "LastContact": report_time(d["lastSyncDateTime"]),
            "CreatedDate": report_time(d["enrolledDateTime"]),
            "CategoryName": "",
            "StorageTotal": (d["totalStorageSpaceInBytes"] // _MB).astype(str),
            "StorageFree": (d["freeStorageSpaceInBytes"] // _MB).astype(str),
            "WifiMacAddress": d["wiFiMacAddress"],
        },
        index=d.index,
    )


def windows_rows(rng: np.random.Generator, n: int, as_of: dt.date) -> pd.DataFrame:
    """Windows PCs the export lists beside the Macs; the Graph pull filters them out."""
    alphabet = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))
    names = ["".join(row) for row in alphabet[rng.integers(0, len(alphabet), (n, 7))].tolist()]
    serial = ["".join(row) for row in alphabet[rng.integers(0, len(alphabet), (n, 12))].tolist()]
    first = [ascii_fold(FIRST_NAMES[i]) for i in rng.integers(0, len(FIRST_NAMES), n).tolist()]
    last = [ascii_fold(LAST_NAMES[i]) for i in rng.integers(0, len(LAST_NAMES), n).tolist()]
    upn = [f"{f.lower()}.{la.lower()}@contoso.com" for f, la in zip(first, last, strict=True)]
    hardware = [
        ("Microsoft Corporation", "Surface Laptop 6"),
        ("Dell Inc.", "Latitude 7440"),
        ("LENOVO", "21HD0040US"),
    ]
    pick = rng.integers(0, len(hardware), n).tolist()
    enrolled = epoch(as_of) - rng.integers(30, 900, n) * DAY
    synced = epoch(as_of) - (rng.exponential(0.4, n) * DAY).astype(np.int64)
    fraction = rng.integers(0, 10_000_000, n)
    device_ids, user_ids, entra_ids = guids(rng, n), guids(rng, n), guids(rng, n)
    rows = pd.DataFrame(
        {
            "DeviceId": device_ids,
            "DeviceName": [f"{'DESKTOP' if i % 2 else 'LAPTOP'}-{s}" for i, s in enumerate(names)],
            "ManagedDeviceName": [
                f"{u.split('@')[0]}_Windows_{as_of.month}/{as_of.day}/{as_of.year}_9:00 AM"
                for u in upn
            ],
            "SerialNumber": serial,
            "Manufacturer": [hardware[p][0] for p in pick],
            "Model": [hardware[p][1] for p in pick],
            "OS": "Windows",
            "OSVersion": np.where(rng.random(n) < 0.7, "10.0.26100.4946", "10.0.22631.5768"),
            "DeviceType": "1",  # windowsRT, what Intune records for Windows 10/11 MDM
            "OwnerType": "1",
            "Ownership": "Corporate",
            "CompliantState": "Compliant",
            "DeviceEnrollmentType": "windowsAzureADJoin",
            "EnrollmentType": "5",
            "EnrolledByUser": upn,
            "JoinType": "azureADJoined",
            "SupervisedStatus": "False",
            "SupervisedStatusString": "No",
            "EncryptionStatus": "True",
            "EncryptionStatusString": "Encrypted",
            "UserApprovedEnrollment": "",
            "UPN": upn,
            "UserEmail": upn,
            "UserName": [f"{f} {la}" for f, la in zip(first, last, strict=True)],
            "PrimaryUser": user_ids,
            "ReferenceId": entra_ids,
            "LastContact": report_time(pd.Series(iso(synced, fraction))),
            "CreatedDate": report_time(pd.Series(iso(enrolled, fraction[::-1].copy()))),
            "CategoryName": "",
            "StorageTotal": "486497",
            "StorageFree": "301221",
            "WifiMacAddress": [rng.bytes(6).hex().upper() for _ in range(n)],
        }
    )
    return rows.astype(object)
