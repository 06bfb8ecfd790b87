"""Paged (version 2) snapshots: read column-wise to the same inventory as the old single document.

The snapshot comes from a real pull (msgraph-sdk over HTTP from the loopback Graph server,
tests/graph_server.py); "old" files are that pull written the way version 1 wrote it.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from graph_server import serve
from test_sources_graph import pull

from auditor.errors import SourceError
from auditor.normalize import normalize
from auditor.sources.files import read_files
from auditor.sources.snapshot import load_snapshot, write_snapshot
from auditor.sources.snapshot_pages import is_paged_snapshot


@pytest.fixture(scope="module")
def pulled() -> dict[str, Any]:
    with serve(60, page_size=25, export_polls=0) as graph:
        return pull(graph)


def old_file(snapshot: dict[str, Any], path: Path) -> Path:
    """The snapshot as version 1 wrote it: one indented JSON document, gzip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    path.write_bytes(gzip.compress(text, mtime=0))
    return path


def inventory(path: Path) -> Any:
    readings = read_files([path])
    return normalize(
        readings.batches, inputs=readings.inputs, gaps=readings.gaps, notes=readings.notes
    )


def assert_same_inventory(paged: Any, old: Any) -> None:
    for name in ("devices", "tenant", "ade_tokens", "dem_accounts"):
        left, right = getattr(paged, name), getattr(old, name)
        left = left.drop(columns=["source"], errors="ignore")
        right = right.drop(columns=["source"], errors="ignore")
        pd.testing.assert_frame_equal(left, right)
    assert paged.gaps == old.gaps
    assert paged.quality == old.quality


@pytest.mark.parametrize("name", ["snapshot.json.gz", "snapshot.json"])
def test_a_paged_snapshot_reads_to_the_inventory_of_the_old_document(pulled, tmp_path, name):
    paged = tmp_path / name
    write_snapshot(pulled, paged, page_records=7)
    assert is_paged_snapshot(paged)
    assert (paged.read_bytes()[:2] == b"\x1f\x8b") is name.endswith(".gz")
    old = old_file(pulled, tmp_path / "old" / name)
    new, before = inventory(paged), inventory(old)
    assert len(new.devices) == 60
    assert_same_inventory(new, before)
    [record] = new.inputs
    assert (record.kind, record.records) == ("snapshot", before.inputs[0].records)


def test_loading_a_paged_snapshot_gives_the_pulled_document_back(pulled, tmp_path):
    path = tmp_path / "snapshot.json.gz"
    write_snapshot(pulled, path, page_records=7)
    assert orjson.loads(gzip.decompress(path.read_bytes()).splitlines()[0])["auditor_snapshot"] == 2
    assert load_snapshot(path) == pulled


def test_a_file_cut_after_a_whole_page_is_refused_not_read_as_a_smaller_tenant(pulled, tmp_path):
    path = tmp_path / "snapshot.json"
    write_snapshot(pulled, path, page_records=7)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:4]))
    with pytest.raises(SourceError, match=r"cut short"):
        read_files([path])
    with pytest.raises(SourceError, match=r"cut short"):
        load_snapshot(path)


def test_a_field_of_another_json_type_is_read_by_the_general_reader(pulled, tmp_path):
    # Graph sends isSupervised as a boolean; a hand-edited "true" is read, never dropped
    changed = orjson.loads(orjson.dumps(pulled))
    changed["parts"]["managed_devices"]["records"][0]["isSupervised"] = "true"
    paged = tmp_path / "snapshot.json.gz"
    write_snapshot(changed, paged, page_records=7)
    old = old_file(changed, tmp_path / "old" / "snapshot.json.gz")
    assert_same_inventory(inventory(paged), inventory(old))


def test_the_device_parts_are_read_column_wise_and_only_what_normalization_reads(pulled, tmp_path):
    from auditor.sources.snapshot_pages import read_paged_snapshot

    path = tmp_path / "snapshot.json.gz"
    write_snapshot(pulled, path, page_records=7)
    batches, _, sha256 = read_paged_snapshot(path, path.name)
    devices = next(b for b in batches if b.kind == "graph_devices").records
    assert isinstance(devices["deviceName"].dtype, pd.StringDtype)  # Arrow, not objects
    assert "wiFiMacAddress" not in devices  # a member normalization never reads

    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
