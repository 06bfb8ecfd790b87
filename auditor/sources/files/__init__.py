"""Read exported inventory files, recognised by their content (never their name), into raw batches.

Shapes understood: Microsoft Graph list responses (one page, JSON lines of pages, a JSON array
of pages, pretty-printed pages one after another), single-object responses (a device, the APNs
certificate, a depOnboardingSetting …), bare JSON arrays of records, the admin-center
"All devices" CSV export, the reports-export `Devices` report (CSV, JSON rows or Intune's
Schema/Values table), the ZIP Intune hands out, gzip around any of them, and the tool's own
snapshot. Text may be UTF-8 (with or without BOM) or UTF-16.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from auditor.errors import SourceError
from auditor.models import InputFile, RawBatch, SourceGap
from auditor.sources.files.csv_exports import read_csv
from auditor.sources.files.encoding import GZIP, NON_SPACE, ZIP, as_utf8, gunzip
from auditor.sources.files.json_document import read_value_document
from auditor.sources.files.json_lines import read_json_lines_file
from auditor.sources.files.json_text import read_json
from auditor.sources.files.shapes import INPUT_KINDS

__all__ = ["INPUT_KINDS", "read_bytes", "read_file", "read_files", "read_inputs"]


def read_inputs(paths: Sequence[Path]) -> tuple[list[RawBatch], list[InputFile]]:
    """Read every file into raw batches plus one InputFile (kind, sha256, record count) each.

    Raises:
        SourceError: a file is empty, truncated, undecodable or of no known shape; the
            message names the file, the line or record, and the field.
    """
    batches, inputs, _ = read_files(paths)
    return batches, inputs


def read_files(
    paths: Sequence[Path],
) -> tuple[list[RawBatch], list[InputFile], list[SourceGap]]:
    """Like `read_inputs`, plus the gaps a snapshot file recorded (parts it could not fetch)."""
    batches: list[RawBatch] = []
    inputs: list[InputFile] = []
    gaps: list[SourceGap] = []
    for path in paths:
        file_batches, file_input, file_gaps = read_file(path)
        batches += file_batches
        inputs.append(file_input)
        gaps += file_gaps
    return batches, inputs, gaps


def read_file(path: Path) -> tuple[list[RawBatch], InputFile, list[SourceGap]]:
    """Read one file; its batches are named after the file (`name` or `name/member`).

    JSON-lines files (a Graph page per line, gzip or not) are streamed line by line, so a
    500k-device file never sits in memory whole; everything else is read at once. The
    SHA-256 of the file is computed alongside (hashlib releases the GIL).
    """
    name = Path(path).name
    try:
        streamed = read_json_lines_file(Path(path), name) or read_value_document(Path(path), name)
        if streamed is not None:
            batches, kind, sha256 = streamed
            gaps: list[SourceGap] = []
        else:
            data = Path(path).read_bytes()
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
                digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
                batches, gaps, kind = read_bytes(data, name)
                sha256 = digest.result()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    records = sum(len(b.records) for b in batches)
    return batches, InputFile(str(path), kind, sha256, records), gaps


def read_bytes(data: bytes, name: str) -> tuple[list[RawBatch], list[SourceGap], str]:
    """Recognise one file's bytes: returns its batches, snapshot gaps and InputFile kind."""
    if data.startswith(GZIP):
        return read_bytes(gunzip(data, name), name)
    if data.startswith(ZIP):
        return _read_zip(data, name)
    text = as_utf8(data, name)
    del data
    start = NON_SPACE.search(text)
    if start is None:
        raise SourceError(f"{name}: the file is empty")
    if text[start.start() : start.start() + 1] in (b"{", b"["):
        return read_json(text, name)
    return read_csv(text, name)


def _read_zip(data: bytes, name: str) -> tuple[list[RawBatch], list[SourceGap], str]:
    batches: list[RawBatch] = []
    gaps: list[SourceGap] = []
    kinds: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir() and not m.filename.startswith("__MACOSX/")
            ]
            if not members:
                raise SourceError(f"{name}: the ZIP archive holds no files")
            for member in members:
                member_batches, member_gaps, kind = read_bytes(
                    archive.read(member), f"{name}/{member.filename}"
                )
                batches += member_batches
                gaps += member_gaps
                kinds.append(kind)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise SourceError(f"{name}: the ZIP archive is damaged or cut short ({exc})") from exc
    return batches, gaps, kinds[0]
