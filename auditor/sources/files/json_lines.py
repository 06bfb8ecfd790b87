"""JSON lines (a Graph page per line, plain or gzip) streamed from disk, page by page."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from auditor.errors import SourceError
from auditor.models import RawBatch
from auditor.sources.files.encoding import GZIP, gc_paused, undecodable
from auditor.sources.files.records import Collector
from auditor.sources.files.shapes import INPUT_KINDS, add_document

_FIRST_LINE_LIMIT = 64 * 2**20  # a Graph page of 1,000 devices is ~2 MB on one line


def read_json_lines_file(path: Path, name: str) -> tuple[list[RawBatch], str] | None:
    """Stream a JSON-lines file (plain or gzip); None when the file is not JSON lines."""
    with path.open("rb") as buffered:
        stream: io.BufferedReader | gzip.GzipFile = buffered
        if buffered.peek(2)[:2] == GZIP:
            stream = gzip.GzipFile(fileobj=buffered, mode="rb")
        try:
            first = stream.readline(_FIRST_LINE_LIMIT)
            more = bool(stream.peek(1)[:1])
        except (OSError, EOFError, zlib.error):
            return None  # damaged gzip: the whole-file path reports it
        document = _first_line_document(first, more=more)
        if document is None:
            return None
        collector = Collector(name)
        kinds: list[str] = []
        with gc_paused():
            kinds += add_document(collector, document, "line 1 ", True)
            del document
            for number, line in enumerate(_lines(stream, name), start=2):
                if not line.strip():
                    continue
                try:
                    page = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise _line_error(line, number, name, exc) from exc
                kinds += add_document(collector, page, f"line {number} ", True)
                del page
    return collector.batches(), INPUT_KINDS.get(kinds[0], kinds[0])


def _first_line_document(first: bytes, *, more: bool) -> Any:
    """The first line's JSON when it opens a JSON-lines file, else None."""
    if not more or not first.endswith(b"\n"):
        return None  # a single document (or a first line too long to be a page)
    line = first.removeprefix(codecs.BOM_UTF8).strip()
    if not line.startswith((b"{", b"[")):
        return None
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # pretty-printed JSON: read whole
    if isinstance(document, dict) and "auditor_snapshot" in document:
        return None  # the snapshot reader wants the whole document
    return document


def _lines(stream: io.BufferedIOBase, name: str) -> Iterator[bytes]:
    try:
        yield from stream
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"{name}: gzip data is damaged or cut short ({exc})") from exc


def _line_error(line: bytes, number: int, name: str, exc: json.JSONDecodeError) -> SourceError:
    if "UTF-8" in exc.msg or "surrogates" in exc.msg:
        located = undecodable(line, name, first_line=number)
        if located is not None:
            return located
    ends_early = "end of data" in exc.msg
    what = "JSON ends early (truncated?)" if ends_early else f"invalid JSON ({exc.msg})"
    return SourceError(f"{name}: line {number} column {exc.colno}: {what}")
