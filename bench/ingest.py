"""Ingest benchmark: Graph JSON / admin-center CSV files of N Macs → read_files → normalize.

    python -m bench.ingest --devices 100000            # all shapes, each in a fresh process
    python -m bench.ingest --devices 500000 --shape graph-pages

Each measurement runs in its own process so its peak RSS is that shape's alone; `run()`
returns the numbers as a dict. The generator writes Graph-shaped records (v1.0 list fields
plus the beta ones the audit reads), so the files look like what `auditor fetch` or a
Graph Explorer export produces; it is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

_DEVICES_URL = "https://graph.microsoft.com/beta/deviceManagement/managedDevices"
_CONTEXT = "https://graph.microsoft.com/beta/$metadata#deviceManagement/managedDevices"
SHAPES = ("graph-pages", "graph-single", "admin-csv", "graph+export")
PAGE = 1_000

_MODELS = (
    ("MacBookPro18,3", "MacBook Pro", "arM64"),
    ("MacBookAir10,1", "MacBook Air", "arM64"),
    ("Mac14,2", "MacBook Air", "arM64"),
    ("Mac15,12", "MacBook Air", "arM64"),
    ("MacBookPro16,1", "MacBook Pro", "x64"),
    ("iMac20,1", "iMac", "x64"),
    ("Macmini9,1", "Mac mini", "arM64"),
    ("VirtualMac2,1", "Apple Virtual Machine 1", "arM64"),
)
_VERSIONS = ("14.8.9 (23J631)", "15.7.9 (24G830)", "26.6.2 (25G83)", "13.7.8 (22H730)",
             "14.5 (23F79)", "13.4.1 (c)", "12.7.6 (21H1320)", "10.15.7 (19H2026)")  # fmt: skip
_TYPES = ("appleBulkWithUser", "appleBulkWithoutUser", "userEnrollment", "deviceEnrollmentManager")
_COMPLIANCE = ("compliant", "noncompliant", "inGracePeriod", "unknown")


def graph_device(rng: random.Random, i: int) -> dict[str, Any]:
    """One managedDevice as a beta list returns it (defaults where a list returns defaults)."""
    # one Mac in 200 is a virtual machine, as in a fleet with a few test VMs
    identifier, model, arch = _MODELS[-1] if rng.random() < 0.005 else rng.choice(_MODELS[:-1])
    macos = rng.random() < 0.97
    kind = rng.choice(_TYPES)
    when = 1_600_000_000 + rng.randrange(150_000_000)
    user = f"user{i}@contoso.com"
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "userId": str(uuid.UUID(int=rng.getrandbits(128))),
        "deviceName": f"MAC-{i:07d}" if macos else f"WIN-{i:07d}",
        "managedDeviceName": f"{user}_MacOS_{i}",
        "managedDeviceOwnerType": "company" if rng.random() < 0.9 else "personal",
        "ownerType": "company",
        "enrolledDateTime": _iso(when),
        "lastSyncDateTime": _iso(when + rng.randrange(40_000_000)),
        "operatingSystem": "macOS" if macos else "Windows",
        "complianceState": rng.choice(_COMPLIANCE),
        "jailBroken": "Unknown",
        "managementAgent": "mdm",
        "osVersion": rng.choice(_VERSIONS) if macos else "10.0.22631.3880",
        "easActivated": False,
        "easDeviceId": "",
        "easActivationDateTime": "0001-01-01T00:00:00Z",
        "azureADRegistered": True,
        "deviceEnrollmentType": kind,
        "activationLockBypassCode": None,
        "emailAddress": user,
        "azureADDeviceId": str(uuid.UUID(int=rng.getrandbits(128))),
        "deviceRegistrationState": "registered",
        "deviceCategoryDisplayName": "Unknown Category",
        "isSupervised": kind.startswith("appleBulk"),
        "exchangeLastSuccessfulSyncDateTime": "0001-01-01T00:00:00Z",
        "exchangeAccessState": "none",
        "exchangeAccessStateReason": "none",
        "remoteAssistanceSessionUrl": None,
        "remoteAssistanceSessionErrorDetails": None,
        "isEncrypted": rng.random() < 0.9,
        "userPrincipalName": user,
        "model": model,
        "manufacturer": "Apple",
        "imei": "",
        "complianceGracePeriodExpirationDateTime": "9999-12-31T23:59:59Z",
        "serialNumber": f"C02{rng.getrandbits(40):010X}"[:12],
        "phoneNumber": "",
        "androidSecurityPatchLevel": "",
        "userDisplayName": f"User {i}",
        "configurationManagerClientEnabledFeatures": None,
        "wiFiMacAddress": f"{rng.getrandbits(48):012x}",
        "deviceHealthAttestationState": None,
        "subscriberCarrier": "",
        "meid": "",
        "totalStorageSpaceInBytes": 494384795648,
        "freeStorageSpaceInBytes": rng.randrange(494384795648),
        "partnerReportedThreatState": "unknown",
        "requireUserEnrollmentApproval": None,
        "managementCertificateExpirationDate": _iso(when + 31_536_000),
        "iccid": None,
        "udid": None,
        "notes": None,
        "ethernetMacAddress": None,
        "physicalMemoryInBytes": 0,
        "enrollmentProfileName": "Corp ADE"
        if kind.startswith("appleBulk") and rng.random() < 0.8
        else "",
        "deviceActionResults": [],
        "processorArchitecture": arch,
        "enrolledByUserPrincipalName": "dem@contoso.com"
        if kind == "deviceEnrollmentManager"
        else user,
        "bootstrapTokenEscrowed": False,
        "hardwareInformation": {
            "serialNumber": None,
            "productName": identifier if rng.random() < 0.5 else None,
            "isSupervised": False,
            "totalStorageSpace": 0,
        },
    }


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".1234567Z"


def graph_pages(devices: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Graph list pages of `PAGE` devices with @odata.nextLink, as Graph delivers them."""
    rng = random.Random(seed)
    context = _CONTEXT
    for start in range(0, devices, PAGE):
        page: dict[str, Any] = {"@odata.context": context}
        if start + PAGE < devices:
            page["@odata.nextLink"] = f"{_DEVICES_URL}?$skiptoken={start}"
        page["value"] = [graph_device(rng, i) for i in range(start, min(start + PAGE, devices))]
        yield page


def write_graph_pages(path: Path, devices: int) -> None:
    """JSON-lines, one Graph page per line."""
    with path.open("wb") as out:
        for page in graph_pages(devices):
            out.write(orjson.dumps(page) + b"\n")


def write_graph_single(path: Path, devices: int) -> None:
    """One {"value": [...]} document holding every device."""
    with path.open("wb") as out:
        out.write(b'{"@odata.context": "' + _CONTEXT.encode() + b'", "value": [')
        for n, page in enumerate(graph_pages(devices)):
            body = orjson.dumps(page["value"])[1:-1]
            out.write((b"," if n else b"") + body)
        out.write(b"]}")


_CSV_HEADER = (
    "Device name,Device ID,Serial number,OS,OS version,Model,Ownership,Supervised,Encrypted,"
    "Compliance,Enrollment date,Last check-in,Primary user UPN,Management name,Manufacturer"
)


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def write_admin_csv(path: Path, devices: int) -> None:
    """The admin-center "All devices" export (UTF-8 with BOM, en-US dates)."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(_CSV_HEADER + "\r\n")
        for page in graph_pages(devices):
            for d in page["value"]:
                synced = time.strptime(d["lastSyncDateTime"][:19], "%Y-%m-%dT%H:%M:%S")
                fields = (
                    d["deviceName"],
                    d["id"],
                    d["serialNumber"],
                    d["operatingSystem"],
                    d["osVersion"].split(" ")[0],
                    d["model"],
                    "Corporate" if d["managedDeviceOwnerType"] == "company" else "Personal",
                    _yes(d["isSupervised"]),
                    _yes(d["isEncrypted"]),
                    d["complianceState"].capitalize(),
                    d["enrolledDateTime"][:19].replace("T", " "),
                    time.strftime("%m/%d/%Y %I:%M:%S %p", synced),
                    d["userPrincipalName"],
                    d["managedDeviceName"],
                    "Apple",
                )
                out.write(",".join(fields) + "\r\n")


_EXPORT_CODES = {  # Data Warehouse enrollment type ids
    "userEnrollment": "1",
    "deviceEnrollmentManager": "2",
    "appleBulkWithUser": "3",
    "appleBulkWithoutUser": "4",
}


def write_export_csv(path: Path, devices: int) -> None:
    """The reports-export Devices report of the same fleet (DeviceId, UserApprovedEnrollment …)."""
    header = (
        "DeviceId,DeviceName,SerialNumber,OS,OSVersion,UserApprovedEnrollment,SupervisedStatus,"
    )
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(header + "EnrollmentType\r\n")
        for page in graph_pages(devices):
            for d in page["value"]:
                supervised = "Supervised" if d["isSupervised"] else "Not supervised"
                code = _EXPORT_CODES.get(d["deviceEnrollmentType"], "0")
                row = (d["id"], d["deviceName"], d["serialNumber"], d["operatingSystem"])
                out.write(",".join(row) + f",{d['osVersion']},True,{supervised},{code}\r\n")


_WRITERS = {
    "graph-pages": (("devices.jsonl", write_graph_pages),),
    "graph-single": (("devices.json", write_graph_single),),
    "admin-csv": (("devices.csv", write_admin_csv),),
    "graph+export": (("devices.jsonl", write_graph_pages), ("export.csv", write_export_csv)),
}


def measure(shape: str, files: list[Path]) -> dict[str, Any]:
    """Read + normalize in this process; seconds per step and this process's peak RSS."""
    from auditor.normalize import normalize
    from auditor.sources.files import read_files

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    readings = read_files(files)
    read_s, read_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    inventory = normalize(readings.batches, inputs=readings.inputs, notes=readings.notes)
    del readings
    normalize_s, normalize_cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "shape": shape,
        "file_mb": round(sum(f.stat().st_size for f in files) / 2**20, 1),
        "read_s": round(read_s, 2),
        "normalize_s": round(normalize_s, 2),
        "total_s": round(read_s + normalize_s, 2),
        "read_cpu_s": round(read_cpu, 2),
        "normalize_cpu_s": round(normalize_cpu, 2),
        "peak_rss_mb": round(peak / 1024),
        "rss_before_mb": round(baseline / 1024),
        "macs": len(inventory.devices),
        "notes": len(inventory.quality),
    }


def run(
    devices: int, shapes: tuple[str, ...] = SHAPES, workdir: Path | None = None
) -> dict[str, Any]:
    """Generate each shape for `devices` Macs and measure it in a fresh process."""
    results: dict[str, Any] = {"devices": devices, "cpus": os.cpu_count(), "shapes": {}}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for shape in shapes:
            files = []
            for name, writer in _WRITERS[shape]:
                path = Path(tmp) / f"{devices}-{name}"
                if not path.exists():
                    writer(path, devices)
                files.append(path)
            command = [sys.executable, "-m", "bench.ingest", "--measure", shape, *map(str, files)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results["shapes"][shape] = json.loads(output.strip().splitlines()[-1])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--shape", choices=SHAPES, action="append")
    parser.add_argument("--measure", metavar="SHAPE", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.files)))
        return
    results = run(args.devices, tuple(args.shape or SHAPES))
    print(f"ingest of {results['devices']:,} devices ({results['cpus']} CPUs)")
    for shape, r in results["shapes"].items():
        print(
            f"  {shape:<13} {r['file_mb']:>8,.0f} MB  read {r['read_s']:6.2f} s  normalize "
            f"{r['normalize_s']:6.2f} s  total {r['total_s']:6.2f} s  "
            f"peak {r['peak_rss_mb']:>6,} MB  ({r['macs']:,} Macs, {r['notes']} notes)"
        )


if __name__ == "__main__":
    main()
