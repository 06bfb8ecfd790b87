"""The snapshot file: atomic (gzip) writes, loading, and raw batches for normalize."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import SourceError
from auditor.models import SourceGap
from auditor.sources.snapshot import PART_KINDS, load_snapshot, read_snapshot, write_snapshot


def snapshot(**parts: dict[str, Any]) -> dict[str, Any]:
    """A version-1 snapshot with the given parts (default: two devices and their details)."""
    default = {
        "managed_devices": {
            "status": "ok",
            "endpoint": "https://graph.microsoft.com/v1.0/deviceManagement/managedDevices",
            "records": [
                {"id": "dev-supervised", "serialNumber": "C02AAA", "isSupervised": True,
                 "osVersion": "15.5 (24F74)"},
                {"id": "dev-no-serial", "isSupervised": None,
                 "deviceEnrollmentType": "userEnrollment"},
            ],
        },
        "device_details": {
            "status": "partial",
            "endpoint": "https://graph.microsoft.com/beta/deviceManagement/managedDevices/{id}",
            "records": [{"id": "dev-supervised", "bootstrapTokenEscrowed": True,
                         "hardwareInformation": {"productName": "Mac14,2", "nested": {"deep": 1}}}],
            "failures": [{"id": "dev-no-serial", "status": 404, "reason": "not found"}],
        },
        "export_devices": {"status": "denied", "endpoint": "x", "records": [], "error": "403"},
        "apns": {"status": "ok", "endpoint": "x", "records": []},
        "ade_tokens": {"status": "skipped", "endpoint": "x", "records": []},
    }  # fmt: skip
    return {
        "auditor_snapshot": 1,
        "tool_version": "0.1.0",
        "fetched_at": "2026-08-31T12:00:00Z",
        "graph_url": "https://graph.microsoft.com/v1.0",
        "cloud": "global",
        "tenant_id": None,
        "complete": True,
        "parts": parts or default,
        "reconciliation": {"listed": 2, "exported": None, "only_in_list": [], "only_in_export": []},
        "gaps": [
            {
                "part": "export_devices",
                "reason": "403 Forbidden",
                "fields": ["user_approved"],
                "is_core": False,
            },
        ],
    }


# -- writing and loading ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["snapshot.json", "snapshot.json.gz"])
def test_written_snapshot_loads_back_equal(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_snapshot(snapshot(), path)
    assert load_snapshot(path) == snapshot()
    assert (path.read_bytes()[:2] == b"\x1f\x8b") is name.endswith(".gz")


def test_gz_snapshot_bytes_depend_only_on_content(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    write_snapshot(snapshot(), first)
    write_snapshot(snapshot(), second)
    assert first.read_bytes() == second.read_bytes()


def test_write_replaces_an_existing_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_text("old")
    write_snapshot(snapshot(), path)
    assert json.loads(path.read_text().splitlines()[0])["auditor_snapshot"] == 2  # paged
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.json"]


def test_write_into_a_missing_directory_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot write the snapshot"):
        write_snapshot(snapshot(), tmp_path / "missing" / "snapshot.json")


def test_unserialisable_snapshot_is_a_source_error_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_text("old")
    with pytest.raises(SourceError, match="not JSON-serialisable"):
        write_snapshot({"auditor_snapshot": 1, "bad": object()}, path)
    assert path.read_text() == "old"


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(gzip.compress(json.dumps(snapshot()).encode()))
    assert load_snapshot(path)["auditor_snapshot"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{not json", "not JSON"), (b"[1, 2]", "top level is not an object"),
     (b"\x1f\x8b\x08junk", "cannot read")],
)  # fmt: skip
def test_unreadable_snapshot_files_are_source_errors(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        load_snapshot(path)


def test_missing_snapshot_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        load_snapshot(tmp_path / "nope.json.gz")


# -- raw batches ------------------------------------------------------------------------------


def test_parts_become_batches_of_their_kind() -> None:
    batches, _ = read_snapshot(snapshot(), "snapshot.json.gz")
    by_kind = {b.kind: b for b in batches}
    assert set(by_kind) == {"graph_devices", "graph_device_details", "export_devices", "apns"}
    assert all(b.source == "snapshot.json.gz" for b in batches)
    assert set(PART_KINDS.values()) >= set(by_kind)


def test_records_keep_source_names_and_values_with_a_source_record() -> None:
    batches, _ = read_snapshot(snapshot(), "snapshot.json.gz")
    devices = next(b for b in batches if b.kind == "graph_devices").records
    assert list(devices["id"]) == ["dev-supervised", "dev-no-serial"]
    assert list(devices["source_record"]) == [
        "snapshot.json.gz:managed_devices[0]",
        "snapshot.json.gz:managed_devices[1]",
    ]
    assert devices.loc[0, "isSupervised"] is True
    assert devices.loc[1, "isSupervised"] is None
    assert devices.loc[1, "serialNumber"] is None  # absent key: None, never a made-up value
    assert devices.loc[0, "osVersion"] == "15.5 (24F74)"


def test_nested_objects_are_flattened_one_level() -> None:
    batches, _ = read_snapshot(snapshot(), "s.json")
    details = next(b for b in batches if b.kind == "graph_device_details").records
    assert details.loc[0, "hardwareInformation.productName"] == "Mac14,2"
    assert details.loc[0, "hardwareInformation.nested"] == {"deep": 1}
    assert "hardwareInformation" not in details.columns


def test_collected_but_empty_part_is_an_empty_batch() -> None:
    batches, _ = read_snapshot(snapshot(), "s.json")
    apns = next(b for b in batches if b.kind == "apns")
    assert apns.records.empty
    assert list(apns.records.columns) == ["source_record"]


def test_skipped_part_without_records_yields_no_batch() -> None:
    batches, _ = read_snapshot(snapshot(), "s.json")
    assert "ade_tokens" not in {b.kind for b in batches}


def test_gaps_become_source_gaps() -> None:
    _, gaps = read_snapshot(snapshot(), "s.json")
    assert gaps == [SourceGap("export_devices", "403 Forbidden", ("user_approved",), False)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"parts": {}}, "not an auditor snapshot"),
        ({"auditor_snapshot": 2, "parts": {}}, "version 2 is not supported"),
        ({"auditor_snapshot": 1}, "'parts' is missing"),
        (
            {"auditor_snapshot": 1, "parts": {"apns": {"records": "x"}}},
            r"parts.apns.records is not a list",
        ),
        (
            {"auditor_snapshot": 1, "parts": {}, "gaps": [{"reason": "r"}]},
            r"gaps\[0\] has no 'part'",
        ),
        ({"auditor_snapshot": 1, "parts": {}, "gaps": {}}, "'gaps' is not a list"),
    ],
)
def test_malformed_snapshots_name_the_source_and_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        read_snapshot(data, "broken.json")
    assert str(caught.value).startswith("broken.json:")
