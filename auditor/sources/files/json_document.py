"""One big Graph list document ({"@odata.context": …, "value": [records]}) read in slices.

Parsing a 500k-device document whole holds the file and every parsed object at once (gigabytes).
Instead the `value` array is cut at record boundaries into slices of a few megabytes, each
parsed on its own. A cut is only ever accepted when its slice parses as a list of objects;
anything unexpected (another layout, a truncated file) returns None and the caller reads the
file whole, which also produces the precise error message.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from auditor.clock import collector_paused
from auditor.fileops import sha256_file
from auditor.models import BatchKind
from auditor.sources.files.encoding import GZIP
from auditor.sources.files.json_arrow import read_device_pages
from auditor.sources.files.reading import FileReading, ReadLimits
from auditor.sources.files.records import Collector
from auditor.sources.files.shapes import add_page_records, context_kind, shape_of

_READ = 16 * 2**20
_VALUE = re.compile(rb'"value"\s*:\s*\[')
_BETWEEN_RECORDS = re.compile(rb"\}\s*,\s*\{")
_TRIES = 64  # candidate cuts per slice before giving up (a cut inside a nested array fails)


def read_value_document(path: Path, name: str, limits: ReadLimits) -> FileReading | None:
    """A `value` document read without holding it whole; None if not one.

    Device lists of any size go to Arrow; other big documents are parsed in slices.
    """
    small = path.stat().st_size < limits.sliced_from
    with path.open("rb") as raw:
        stream: BinaryIO = raw
        if raw.peek(2)[:2] == GZIP:
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        try:
            head = stream.read(2**20)
            before = _members_before_value(head)
            if before is None:
                return None
            context = str(before.get("@odata.context", ""))
            if stream is raw and context_kind(context) == BatchKind.GRAPH_DEVICES:
                keys = _first_record_keys(head)
                fast = read_device_pages(path, name, context, keys, one_document=True)
                if fast is not None:
                    return fast
            if small:
                return None
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
                digest = pool.submit(sha256_file, path)
                collector = Collector(name)
                with collector_paused():
                    read = _read_slices(stream, head, context, collector, limits.slice_bytes)
                sha256 = digest.result()
        except (OSError, EOFError, zlib.error):
            return None  # damaged gzip: the whole-file path says so
    if read is None:
        return None
    kinds, records, after = read
    collector.pages.page(kinds[0], context, records, {**before, **after})
    batches = collector.batches()
    shape = shape_of(kinds, collector)
    return FileReading(
        path, batches, shape, sha256, notes=collector.notes(), lists=collector.pages.lists()
    )


def _first_record_keys(head: bytes) -> list[str]:
    """The members of the document's first record (its spelling is the Arrow schema's)."""
    start = _VALUE.search(head)
    if start is None:
        return []
    text = head[start.end() :].decode("utf-8", "replace").lstrip()
    try:
        record, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return []
    return list(record) if isinstance(record, dict) else []


def _members_before_value(head: bytes) -> dict[str, Any] | None:
    """The members before `value` when `head` opens a top-level `value` array, else None."""
    match = _VALUE.search(head)
    if match is None or not head.lstrip().startswith(b"{"):
        return None
    try:  # the keys before "value" must close into a valid object on their own
        before = orjson.loads(head[: match.end() - 1] + b"[]}")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(before, dict) or before.get("value") != [] or "auditor_snapshot" in before:
        return None
    del before["value"]
    return before


Sliced = tuple[list[BatchKind], int, dict[str, Any]]
"""The kinds of the slices, the records read, and the members after the array."""


def _read_slices(
    stream: BinaryIO, head: bytes, context: str, collector: Collector, size: int
) -> Sliced | None:
    """Parse the array slice by slice into `collector`; None on anything unexpected."""
    buffer = head[_VALUE.search(head).end() :]  # type: ignore[union-attr]
    chunks = _chunks(stream)
    kinds: list[BatchKind] = []
    done = 0
    while True:
        while len(buffer) < 2 * size:
            more = next(chunks, b"")
            if not more:
                break
            buffer += more
        records, rest, after = _next_slice(buffer, size, at_end=len(buffer) < 2 * size)
        if records is None:
            return None
        if records:
            count = len(records)  # the collector empties the list as it goes
            kinds.append(add_page_records(collector, records, context, "", done))
            done += count
        if rest is None:
            return (kinds, done, after) if kinds else None
        buffer = rest


def _next_slice(
    buffer: bytes, size: int, *, at_end: bool
) -> tuple[list[Any] | None, bytes | None, dict[str, Any]]:
    """(records, what follows, members after the array).

    What follows is None after the array's last record; only then are members after it known.
    """
    if at_end:
        end = buffer.rfind(b"]")
        while end >= 0:
            records = _records(buffer[:end])
            after = _members_after(buffer[end + 1 :]) if records is not None else None
            if records is not None and after is not None:
                return records, None, after
            end = buffer.rfind(b"]", 0, end)
        return None, None, {}
    for tries, cut in enumerate(_BETWEEN_RECORDS.finditer(buffer, size)):
        if tries == _TRIES:
            break
        records = _records(buffer[: cut.start() + 1])
        if records is not None:
            return records, buffer[cut.end() - 1 :], {}
    return None, None, {}


def _records(text: bytes) -> list[Any] | None:
    try:
        parsed = orjson.loads(b"[" + text + b"]")
    except orjson.JSONDecodeError:
        return None
    if not all(isinstance(record, dict) for record in parsed):
        return None
    return parsed  # type: ignore[no-any-return]


def _members_after(tail: bytes) -> dict[str, Any] | None:
    """After the array: `}`, or more members then `}` (e.g. an @odata.nextLink); else None."""
    try:
        closed = orjson.loads(b'{"value": []' + tail)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(closed, dict):
        return None
    del closed["value"]
    return closed


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(_READ):
        yield chunk
