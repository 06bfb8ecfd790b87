"""Read exported inventory files, recognised by their content (never their name), into raw batches.

Shapes understood (docs/inputs.md says how to produce each): Microsoft Graph list responses
(one page, JSON lines of pages, a JSON array of pages, pretty-printed pages one after
another), single-object responses (also wrapped as `{"value": {…}}`), bare JSON arrays of
records, the admin-center "All devices" CSV export, the reports-export `Devices` report (CSV,
JSON rows or Intune's Schema/Values table, display or requested headers), PowerShell SDK
output saved with `Export-Csv` or `ConvertTo-Json`, Intune diagnostic settings records
(category `Devices`), the ZIP Intune hands out, gzip around any of them, and the tool's own
snapshot. Text may be UTF-8 (with or without BOM) or UTF-16.

`read_files` takes files and folders: a folder's files are read (not its subfolders), and the
ones that hold no known shape are listed in the result, never skipped silently.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from auditor.errors import SourceError
from auditor.normalize.text import TEXT_LIMIT, quoted
from auditor.sources.files.csv_exports import read_csv
from auditor.sources.files.encoding import GZIP, NON_SPACE, ZIP, as_utf8, gunzip
from auditor.sources.files.json_document import read_value_document
from auditor.sources.files.json_lines import read_json_lines_file
from auditor.sources.files.json_text import is_json_without_bracket, read_json
from auditor.sources.files.reading import (
    Content,
    FileReading,
    Readings,
    ReadLimits,
    UnknownShapeError,
    sha256_bytes,
    shown_name,
)
from auditor.sources.files.shapes import INPUT_KINDS
from auditor.sources.snapshot_pages import is_paged_snapshot, read_paged_snapshot

__all__ = [
    "INPUT_KINDS",
    "FileReading",
    "ReadLimits",
    "Readings",
    "UnknownShapeError",
    "read_content",
    "read_file",
    "read_files",
]


def read_files(paths: Sequence[Path], limits: ReadLimits | None = None) -> Readings:
    """Read every file (a folder: each file in it) into one reading per file.

    Raises:
        SourceError: a file is empty, truncated, undecodable or (given by name) of no
            known shape; a folder holds no inventory file. Messages name the file, the
            line or record, and the field.
    """
    limits = limits or ReadLimits()
    readings: list[FileReading] = []
    unrecognised: list[str] = []
    for path in paths:
        if not Path(path).is_dir():
            readings.append(read_file(Path(path), limits))
            continue
        found, skipped = _read_folder(Path(path), limits)
        readings += found
        unrecognised += skipped
    return Readings(tuple(readings), tuple(unrecognised))


def _read_folder(folder: Path, limits: ReadLimits) -> tuple[list[FileReading], list[str]]:
    """The recognised files of one folder (not its subfolders), and why the others were not.

    A file that holds a known shape but is damaged still stops the run: only files of no
    known shape (a README, the sample's expected.json, a report) are passed over, by name.
    """
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    readings, unrecognised = [], []
    for path in files:
        try:
            readings.append(read_file(path, limits))
        except UnknownShapeError as exc:
            reason = str(exc).split(": not a known shape", 1)[-1].lstrip(": ")
            shown = shown_name(str(folder / path.name))
            unrecognised.append(f"{shown}: not inventory ({reason[:160]})")
    if not readings:
        listed = "; ".join(unrecognised[:5]) or "it is empty"
        raise SourceError(f"{folder}: no inventory file in the folder ({listed})")
    return readings, unrecognised


def read_file(path: Path, limits: ReadLimits | None = None) -> FileReading:
    """Read one file; its batches are named after the file (`name` or `name/member`).

    JSON-lines files (a Graph page per line, gzip or not) and big `value` documents are
    streamed, so a 500k-device file never sits in memory whole; everything else is read at
    once. The SHA-256 of the file is computed alongside (hashlib releases the GIL).
    """
    name, limits = shown_name(path.name), limits or ReadLimits()
    try:
        if is_paged_snapshot(path):  # `auditor fetch` output: read column-wise by its owner
            batches, gaps, sha256 = read_paged_snapshot(path, name)
            return FileReading(path, batches, "snapshot", sha256, gaps)
        streamed = read_json_lines_file(path, name, limits) or read_value_document(
            path, name, limits
        )
        if streamed is not None:
            return streamed
        data = path.read_bytes()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
            digest = pool.submit(sha256_bytes, data)
            content = read_content(data, name)
            return content.of_file(path, digest.result())
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc


def read_content(data: bytes, name: str) -> Content:
    """Recognise one file's bytes (gzip, ZIP, JSON or CSV) and read them."""
    if data.startswith(GZIP):
        return read_content(gunzip(data, name), name)
    if data.startswith(ZIP):
        return _read_zip(data, name)
    text = as_utf8(data, name)
    del data
    start = NON_SPACE.search(text)
    if start is None:
        raise SourceError(f"{name}: the file is empty")
    if text[start.start() : start.start() + 1] in (b"{", b"[") or is_json_without_bracket(text):
        return read_json(text, name)
    return read_csv(text, name)


def _read_zip(data: bytes, name: str) -> Content:
    contents: list[Content] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir() and not m.filename.startswith("__MACOSX/")
            ]
            if not members:
                raise UnknownShapeError(f"{name}: not a known shape: the ZIP archive is empty")
            for member in members:
                inner = f"{name}/{quoted(member.filename, TEXT_LIMIT)}"
                contents.append(read_content(archive.read(member), inner))
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise SourceError(f"{name}: the ZIP archive is damaged or cut short ({exc})") from exc
    return Content(
        [b for c in contents for b in c.batches],
        contents[0].kind,
        [g for c in contents for g in c.gaps],
        [n for c in contents for n in c.notes],
        tuple(p for c in contents for p in c.lists),
    )
