"""JSON held in memory: one document, JSON lines, or documents one after another."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

from auditor.clock import collector_paused
from auditor.errors import SourceError
from auditor.models import BatchKind, RawBatch, SourceGap
from auditor.sources.files.encoding import NON_SPACE, undecodable
from auditor.sources.files.json_parse import loads, not_json, without_surrogates
from auditor.sources.files.reading import Content
from auditor.sources.files.records import Collector
from auditor.sources.files.shapes import add_document, read_snapshot_document, shape_of

_NON_SPACE_TEXT = re.compile(r"\S")


def read_json(text: bytes, name: str) -> Content:
    """JSON in memory → batches (a snapshot goes to its own reader), gaps, shape, notes."""
    collector = Collector(name)
    snapshot: list[RawBatch] = []
    gaps: list[SourceGap] = []
    kinds: list[BatchKind] = []
    is_snapshot = False
    with collector_paused():
        for where, document, is_stream, repaired in _json_documents(text, name):
            collector.note_repaired(where, repaired)
            if isinstance(document, dict) and "auditor_snapshot" in document:
                snapshot_batches, snapshot_gaps = read_snapshot_document(document, name)
                snapshot += snapshot_batches
                gaps += snapshot_gaps
                is_snapshot = is_snapshot or not kinds
            else:
                kinds += add_document(collector, document, where, is_stream)
            del document
    shape = "snapshot" if is_snapshot else shape_of(kinds, collector)
    return Content(
        [*snapshot, *collector.batches()], shape, gaps, collector.notes(), collector.pages.lists()
    )


def is_json_without_bracket(text: bytes) -> bool:
    """JSON whose first value is not an object or array: `null`, `42`, `"x"`, or lines of them.

    Such a file would otherwise be read as a CSV whose header is that value. A CSV never
    parses as one JSON document, nor (its header naming columns) starts with a line that is
    a JSON null, boolean or number, so trying costs only its first bytes.
    """
    try:
        orjson.loads(text)
        return True
    except orjson.JSONDecodeError as exc:
        if exc.msg != "unexpected content after document":
            return False
    newline = text.find(b"\n")
    try:
        first = orjson.loads(text[: newline if newline >= 0 else len(text)])
    except orjson.JSONDecodeError:
        return False
    return not isinstance(first, str)  # `"DeviceId"` then rows is a one-column CSV


Documents = Iterator[tuple[str, Any, bool, list[str]]]


def _json_documents(text: bytes, name: str) -> Documents:
    """(location prefix, document, part of a stream?, repaired paths) for each document."""
    try:
        document, repaired = loads(text)
    except orjson.JSONDecodeError as exc:
        if exc.msg != "unexpected content after document":
            raise json_error(text, name, exc) from exc
    else:
        yield "", document, False, repaired
        return
    yield from _json_lines(text, name)


def _json_lines(text: bytes, name: str) -> Documents:
    """Documents one per line (JSON-lines); else pretty-printed documents one after another."""
    view = memoryview(text)
    documents = []
    start = line = 0
    while start < len(text):
        end = text.find(b"\n", start)
        end = len(text) if end < 0 else end
        line += 1
        if NON_SPACE.search(text, start, end) is not None:
            try:
                documents.append((f"line {line} ", *loads(view[start:end])))
            except orjson.JSONDecodeError:
                documents = []
                break
        start = end + 1
    if documents:
        for where, document, repaired in documents:
            yield where, document, True, repaired
        return
    decoder = json.JSONDecoder(parse_constant=not_json)
    decoded = text.decode("utf-8")
    position, number = 0, 0
    while True:
        match = _NON_SPACE_TEXT.search(decoded, position)
        if match is None:
            return
        number += 1
        try:
            document, position = decoder.raw_decode(decoded, match.start())
        except json.JSONDecodeError as exc:
            raise json_error(text, name, exc) from exc
        except ValueError as exc:  # NaN or Infinity, or a number of over 4,300 digits
            line = decoded.count("\n", 0, match.start()) + 1
            raise SourceError(f"{name}: document {number} (line {line}): {exc}") from exc
        document, repaired = without_surrogates(document)
        yield f"document {number} ", document, True, repaired


def json_error(text: bytes, name: str, exc: json.JSONDecodeError) -> SourceError:
    """One message with line and column; a document cut short says so."""
    bad_bytes = undecodable(text, name) if "UTF-8" in exc.msg or "surrogates" in exc.msg else None
    if bad_bytes is not None:
        return bad_bytes
    ends_early = (
        "end of data" in exc.msg
        or exc.msg.startswith("Unterminated")
        or exc.pos >= len(text.decode("utf-8", "replace").rstrip())
    )
    what = "JSON ends early (truncated?)" if ends_early else f"invalid JSON ({exc.msg})"
    return SourceError(f"{name}: line {exc.lineno} column {exc.colno}: {what}")
