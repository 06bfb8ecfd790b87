"""A Graph pull whose `Devices` export answers with display headers ("Device ID", "OS version").

Intune's reports export renames requested columns: a real `Devices` export in
MG-Cloudflow/MSGraph-Examples (GraphApi-Reports/reports/13062024/
Devices_3be707eb-9b44-4768-97f7-e2c89134750b.csv, requested by GraphApi-Reports/Reports-Demo.ps1)
asked for DeviceName, ownerType, OSVersion, LastContact, UPN, DeviceId and received "Device name",
"Ownership", "OS version", "Last check-in", "Primary user UPN", "Device ID"; MicrosoftDocs/memdocs
reports-export-graph-available-reports.md documents the same renaming. The loopback server
answers that way (`export_headers="display"`); the real msgraph-sdk pulls over HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph_server import GraphServer, serve

from auditor.normalize import normalize
from auditor.sources.files import read_files
from auditor.sources.graph import GraphSettings, fetch_snapshot
from auditor.sources.graph_auth import StaticTokenCredential
from auditor.sources.snapshot import write_snapshot


def pull(graph: GraphServer) -> dict[str, Any]:
    settings = GraphSettings(
        graph_url=graph.url, progress=False, backoff_base_s=0.01, export_poll_s=0.01,
        request_timeout_s=5.0, max_concurrency=4,
    )  # fmt: skip
    return fetch_snapshot(settings, credential=StaticTokenCredential("test-token-not-secret"))


def test_pull_with_a_display_header_export_joins_on_the_device_id(tmp_path: Path) -> None:
    with serve(30, page_size=7, export_headers="display", export_polls=0) as graph:
        skipped = graph.macs[9]["id"]
        graph.skip_in_list.add(skipped)
        snapshot = pull(graph)
    export = snapshot["parts"]["export_devices"]["records"]
    assert {"Device ID", "Device name", "Serial number", "OS version", "Ownership"} <= set(
        export[0]
    )
    assert "DeviceId" not in export[0]
    reconciliation = snapshot["reconciliation"]
    assert (reconciliation["listed"], reconciliation["exported"]) == (29, 30)
    assert reconciliation["only_in_list"] == []
    assert reconciliation["only_in_export"] == reconciliation["recovered"] == [skipped]
    assert snapshot["complete"] is True

    path = tmp_path / "snapshot.json.gz"
    write_snapshot(snapshot, path)
    readings = read_files([path])
    inventory = normalize(readings.batches, inputs=readings.inputs, gaps=readings.gaps)
    devices = inventory.devices.set_index("device_id")
    macs = {d["id"]: d for d in graph.macs}
    assert sorted(devices.index) == sorted(macs)  # 30 Macs, not 60: no phantom export rows
    assert not [n for n in inventory.quality if n.problem in ("missing", "conflict")
                and n.field in ("device_id", "serial_number", "device_name")]  # fmt: skip
    for device_id, device in macs.items():
        row = devices.loc[device_id]
        assert bool(row["user_approved"]) is device["_userApproved"]  # only the export has it
        assert "snapshot.json.gz:export_devices" in row["source_record"]
    personal = [i for i, d in macs.items() if d["managedDeviceOwnerType"] == "personal"]
    assert set(devices.loc[personal, "ownership"]) <= {"personal"}


def test_pull_decides_userless_macs_from_the_profile_names_its_gets_selected(
    tmp_path: Path,
) -> None:
    """The pull's GETs by id select enrollmentProfileName: an empty one means no ADE profile
    (Apple Configurator / direct), a named one an ADE profile; the list's is never read."""
    with serve(40, page_size=9, export_polls=0) as graph:
        snapshot = pull(graph)
    path = tmp_path / "snapshot.json.gz"
    write_snapshot(snapshot, path)
    readings = read_files([path])
    inventory = normalize(readings.batches, inputs=readings.inputs, gaps=readings.gaps)
    devices = inventory.devices.set_index("device_id")
    userless = [d for d in graph.macs if d["deviceEnrollmentType"] == "appleBulkWithoutUser"]
    assert userless
    for device in userless:
        expected = "ade" if device["enrollmentProfileName"] else "direct"
        assert devices.loc[device["id"], "enrollment_method"] == expected
    assert not [n for n in inventory.quality if n.problem == "undecided"]
