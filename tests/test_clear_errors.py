"""Clear errors and small leaks (issue 15): paths a key name cannot escape, and more."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli_runner import auditor


@pytest.mark.parametrize(
    "name", ["../x", "../../etc/x", "a/b", "a\\b", "..", ".", "", "/tmp/absolute", "x\x00y"]
)
def test_keygen_name_cannot_leave_its_folder(tmp_path, name):
    folder = tmp_path / "keys"
    done = auditor("keygen", str(folder), "--name", name)
    assert done.returncode == 2, done.stderr
    assert "plain file name" in done.stderr and "Traceback" not in done.stderr
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert written == []  # nothing inside the folder, nothing beside it
    assert not (tmp_path.parent / "x.key").exists()


def test_keygen_plain_name_writes_both_keys_in_the_folder(tmp_path):
    done = auditor("keygen", str(tmp_path / "keys"), "--name", "audit.2026")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        "audit.2026.key",
        "audit.2026.pub",
    ]


PUBLISHED = Path(__file__).parent / "fixtures" / "files" / "published"


def _admin_center_export_with_blank_and_multiline_rows() -> bytes:
    """The published admin-center export (tests/test_published_shapes.py names its source),
    with a blank line after the header and a device name holding a quoted line break."""
    lines = (PUBLISHED / "devices_with_inventory.csv").read_bytes().split(b"\n")
    header, first, *rest = lines
    first = first.replace(b'"MBP-ADA-01"', b'"MBP-ADA-01\nsecond line"', 1)
    return b"\n".join([header, b"", first, *rest])


def test_csv_rows_name_their_physical_line_in_the_reports(tmp_path):
    source = tmp_path / "devices.csv"
    source.write_bytes(_admin_center_export_with_blank_and_multiline_rows())
    done = auditor(
        "run", "--input", str(source), "--out", str(tmp_path / "out"), "--as-of", "2026-09-01",
        "--no-history", "--format", "json,parquet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    devices = pd.read_parquet(tmp_path / "out" / "devices.parquet").set_index("serial_number")
    assert devices.loc["C02Z71ABMD6T", "source_record"] == "devices.csv:line 3"
    assert devices.loc["FVFH3KQ8Q6L4", "source_record"] == "devices.csv:line 5"


def test_a_short_csv_row_is_refused_naming_its_physical_line(tmp_path):
    source = tmp_path / "devices.csv"
    data = _admin_center_export_with_blank_and_multiline_rows().rstrip(b"\n")
    source.write_bytes(data + b'\n"short","row"\n')
    lines = data.count(b"\n") + 2
    done = auditor("run", "--input", str(source), "--out", str(tmp_path / "out"), "--no-history")
    assert done.returncode == 4
    assert f"devices.csv: line {lines}: expected" in done.stderr and "found 2" in done.stderr


@pytest.mark.parametrize("content", [b"null", b"42\n", b'"devices"', b"[]"])
def test_json_without_records_is_named_as_json(tmp_path, content):
    source = tmp_path / "export.json"
    source.write_bytes(content)
    done = auditor("run", "--input", str(source), "--out", str(tmp_path / "out"), "--no-history")
    assert done.returncode == 4, done.stderr
    assert "export.json" in done.stderr and "not a known shape" in done.stderr
    assert "header" not in done.stderr and "CSV" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_export_job_csv_errors_name_the_line_a_row_starts_on():
    """The reports export CSV fetched from Graph counts physical lines too."""
    import io
    import zipfile

    from auditor.sources.graph_auth import GraphFault
    from auditor.sources.graph_export import read_export_zip

    body = 'DeviceId,DeviceName\n\n"id-1","two\nlines"\n"id-2\nshort"\n'
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Devices.csv", body)
    with pytest.raises(GraphFault, match="line 5 of the report has 1 fields"):
        read_export_zip(archive.getvalue(), "job-1")


def test_a_file_name_that_is_not_utf8_is_cited_with_a_replacement_character(tmp_path):
    """Linux file names are bytes: one that is not UTF-8 reaches Python as lone surrogates,
    which no report can write. Reports cite it with U+FFFD; the file is read all the same."""
    import os
    import shutil

    folder = tmp_path / "inputs"
    folder.mkdir()
    name = os.fsdecode(b"devices-\xff.json")
    shutil.copy(Path(__file__).parent / "fixtures/files/graph_devices_v1_page.json", folder / name)
    (folder / os.fsdecode(b"read-\xfe.txt")).write_text("not inventory")
    out = tmp_path / "out"
    done = auditor(
        "run", "--input", str(folder), "--out", str(out), "--as-of", "2026-09-01",
        "--no-history", "--format", "json,xlsx,pdf,html,csv,parquet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads((out / "findings.json").read_text())
    assert [i["path"] for i in document["run"]["inputs"]] == ["devices-\ufffd.json"]
    devices = pd.read_parquet(out / "devices.parquet")
    assert set(devices["source"]) == {"devices-\ufffd.json"}
    [unread] = [n for n in document["data_quality"]["notes"] if n["problem"] == "unrecognised_file"]
    assert unread["source"] == f"{folder}/read-\ufffd.txt"
