"""The workbook file: openpyxl's package with the long sheets' rows spliced in.

openpyxl builds the workbook (styles, tables, filters, charts, small sheets) with only the
header row on the long sheets; `splice_rows` copies that package and streams each long
sheet's rows (`stream.rows_xml`) under its header, then writes the shared-strings table those
rows refer to. Memory stays flat: rows go out in chunks, straight into the deflate stream.
"""

from __future__ import annotations

import itertools
import re
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

import pandas as pd
from openpyxl.utils import get_column_letter

from auditor.render.xlsx.stream import SharedStrings, Styles, rows_xml

# zlib level 1: 3x faster than the default 6 on the Devices sheet's XML (220 MB at 100k Macs:
# 1.0 s and 36 MB against 3.0 s and 28 MB); levels 2-3 gain 5-9 % size for 10-50 % more time.
COMPRESS_LEVEL = 1
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_SST = "xl/sharedStrings.xml"
_CONTENT_TYPES = "[Content_Types].xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_SI = re.compile(rb"<si>.*?</si>|<si/>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class SheetRows:
    """Rows of `frame` to insert under the header row of the sheet called `sheet`."""

    sheet: str
    frame: pd.DataFrame


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its part name inside the package (read from workbook.xml and its rels)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read(_WORKBOOK_RELS))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
    paths = {}
    for sheet in workbook.findall("m:sheets/m:sheet", _NS):
        target = targets[sheet.get(f"{{{_NS['r']}}}id")]
        paths[str(sheet.get("name"))] = (
            target.lstrip("/") if target.startswith("/") else ("xl/" + target)
        )
    return paths


def splice_rows(source: Path, target: Path, parts: Sequence[SheetRows], styles: Styles) -> None:
    """Copy the openpyxl workbook `source` to `target`, inserting each part's rows."""
    with zipfile.ZipFile(source) as original:
        paths = _sheet_paths(original)
        by_path = {paths[p.sheet]: p for p in parts}
        names = original.namelist()
        existing = original.read(_SST) if _SST in names else b""
        shared = SharedStrings([m.decode("utf-8") for m in _SI.findall(existing)])
        held = (_SST, _CONTENT_TYPES, _WORKBOOK_RELS)  # written last: they depend on the rows
        with zipfile.ZipFile(
            target, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
        ) as out:
            for info in original.infolist():
                if info.filename in held:
                    continue
                data = original.read(info.filename)
                part = by_path.get(info.filename)
                if part is None:
                    out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                    continue
                head, tail = data.split(b"</sheetData>", 1)
                last = f"{get_column_letter(max(part.frame.shape[1], 1))}{len(part.frame) + 1}"
                head = re.sub(
                    rb'<dimension ref="[^"]*"', f'<dimension ref="A1:{last}"'.encode(), head
                )
                with out.open(info.filename, "w", force_zip64=True) as stream:
                    _write_overlapped(
                        stream,
                        [head],
                        rows_xml(part.frame, styles, shared=shared),
                        [b"</sheetData>" + tail],
                    )
            content_types = original.read(_CONTENT_TYPES)
            rels = original.read(_WORKBOOK_RELS)
            if shared.items:
                out.writestr(_SST, _shared_strings_xml(shared))
                if _SST not in names:
                    content_types, rels = _declare_shared_strings(content_types, rels)
            out.writestr(_CONTENT_TYPES, content_types)
            out.writestr(_WORKBOOK_RELS, rels)


def _write_overlapped(stream: IO[bytes], *blocks: Iterable[bytes | memoryview]) -> None:
    """Write the blocks in order, each compressed on a second thread while the next is built.

    zlib and crc32 release the GIL, so deflating a block overlaps building the next one.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx-deflate") as deflate:
        pending: Future[int] | None = None
        for block in itertools.chain(*blocks):
            if pending is not None:
                pending.result()
            pending = deflate.submit(stream.write, block)
        if pending is not None:
            pending.result()


def _shared_strings_xml(shared: SharedStrings) -> bytes:
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<sst xmlns="{_NS["m"]}" count="{shared.references}" uniqueCount="{len(shared.items)}">'
    )
    return (head + "".join(shared.items) + "</sst>").encode("utf-8")


def _declare_shared_strings(content_types: bytes, rels: bytes) -> tuple[bytes, bytes]:
    """[Content_Types].xml and the workbook's rels with the shared-strings part added."""
    override = f'<Override PartName="/{_SST}" ContentType="{_SST_TYPE}"/>'
    ids = set(re.findall(rb'Id="([^"]*)"', rels))
    number = 1 + len(ids)
    while f"rId{number}".encode() in ids:
        number += 1
    relationship = f'<Relationship Id="rId{number}" Type="{_SST_REL}" Target="sharedStrings.xml"/>'
    return (
        content_types.replace(b"</Types>", override.encode() + b"</Types>"),
        rels.replace(b"</Relationships>", relationship.encode() + b"</Relationships>"),
    )
