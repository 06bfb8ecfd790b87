"""JSON lines (a Graph page per line, plain or gzip) streamed from disk, page by page."""

from __future__ import annotations

import codecs
import gc
import gzip
import hashlib
import io
import json
import multiprocessing
import os
import sys
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from auditor.clock import collector_paused
from auditor.errors import SourceError
from auditor.fileops import sha256_file
from auditor.models import BatchKind
from auditor.sources.files.encoding import GZIP, undecodable
from auditor.sources.files.json_arrow import read_device_pages
from auditor.sources.files.json_parse import loads
from auditor.sources.files.reading import FileReading, ReadLimits
from auditor.sources.files.records import Collector, Exported
from auditor.sources.files.shapes import add_document, context_kind, shape_of

_PARENT_SHARE = 0.55  # the child also hashes the whole file, so it parses less than half


def read_json_lines_file(path: Path, name: str, limits: ReadLimits) -> FileReading | None:
    """Stream a JSON-lines file (plain or gzip) into one reading.

    None when the file is not JSON lines. A big plain file is parsed by two processes on
    Linux, each taking a run of whole lines (JSON parsing is most of the cost of ingest).
    """
    with path.open("rb") as buffered:
        stream: io.BufferedReader | gzip.GzipFile = buffered
        is_gzip = buffered.peek(2)[:2] == GZIP
        if is_gzip:
            stream = gzip.GzipFile(fileobj=buffered, mode="rb")
        try:
            first = stream.readline(limits.first_line_limit)
            more = bool(stream.peek(1)[:1])
        except (OSError, EOFError, zlib.error):
            return None  # damaged gzip: the whole-file path reports it
        document, repaired = _first_line_document(first, more=more)
        if document is None:
            return None
        if not is_gzip and _is_device_page(document):
            keys = [k for r in document["value"] if isinstance(r, dict) for k in r]
            fast = read_device_pages(path, name, document["@odata.context"], keys)
            if fast is not None:
                return fast
        collector = Collector(name)
        kinds: list[BatchKind] = []
        size = os.fstat(buffered.fileno()).st_size
        split = None if is_gzip else _split_offset(path, size, limits.two_processes_from)
        with collector_paused():
            collector.note_repaired("line 1 ", repaired)
            kinds += add_document(collector, document, "line 1 ", True)
            del document
            if split is None:
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
                    digest = pool.submit(sha256_file, path)
                    _parse_lines(_lines(stream, name), 2, collector, kinds, name)
                    sha256 = digest.result()
            else:
                lines = _lines_until(_lines(stream, name), split - len(first))
                child_kinds, exported, sha256 = _in_two_processes(
                    path, split, name, lambda: _parse_lines(lines, 2, collector, kinds, name)
                )
                collector.absorb(exported)
                kinds += child_kinds
    batches = collector.batches()
    shape = shape_of(kinds, collector)
    return FileReading(
        path, batches, shape, sha256, notes=collector.notes(), lists=collector.pages.lists()
    )


def _is_device_page(document: Any) -> bool:
    """A Graph `managedDevices` list page (which the Arrow reader can take)."""
    return (
        isinstance(document, dict)
        and isinstance(document.get("value"), list)
        and isinstance(document.get("@odata.context"), str)
        and context_kind(document["@odata.context"]) == "graph_devices"
    )


def _parse_lines(
    lines: Iterable[bytes], number: int, collector: Collector, kinds: list[BatchKind], name: str
) -> None:
    for number, line in enumerate(lines, start=number):  # noqa: B020 - numbering continues
        if not line.strip():
            continue
        try:  # without its newline, a line cut inside a string reads as cut short
            page, repaired = loads(memoryview(line)[:-1] if line.endswith(b"\n") else line)
        except orjson.JSONDecodeError as exc:
            raise _line_error(line, number, name, exc) from exc
        collector.note_repaired(f"line {number} ", repaired)
        kinds += add_document(collector, page, f"line {number} ", True)
        del page


def _lines_until(lines: Iterator[bytes], length: int) -> Iterator[bytes]:
    """Lines until `length` bytes were read (the split point is a line start).

    Zero: none (the child's lines start right after the first line, already parsed).
    """
    if length <= 0:
        return
    read = 0
    for line in lines:
        yield line
        read += len(line)
        if read >= length:
            return


def _split_offset(path: Path, size: int, smallest: int) -> int | None:
    """Where the child's lines start (a line start), or None to stay in one process."""
    if size < smallest or sys.platform != "linux" or (os.cpu_count() or 1) < 2:
        return None
    with path.open("rb") as handle:
        handle.seek(int(size * _PARENT_SHARE))
        handle.readline()
        split = handle.tell()
    return split if split < size else None


def _in_two_processes(
    path: Path, split: int, name: str, parse_head: Callable[[], None]
) -> tuple[list[BatchKind], Exported, str]:
    """Parse the lines from `split` on in a forked child while `parse_head` runs here."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_tail_worker, args=(path, split, name, sender), daemon=True)
    with warnings.catch_warnings():  # 3.12+ warns about fork with native (BLAS) threads
        warnings.simplefilter("ignore", DeprecationWarning)
        child.start()
    sender.close()
    try:
        parse_head()
        status, payload = receiver.recv()
    except EOFError as exc:
        raise SourceError(f"{name}: the process reading the second half of the file died") from exc
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        receiver.close()
    if status != "ok":
        raise SourceError(str(payload))
    kinds, exported, sha256 = payload
    return kinds, exported, sha256


def _tail_worker(path: Path, split: int, name: str, sender: Connection) -> None:
    """In the child: parse the lines from `split` on, hash the whole file, send both back.

    The child reads the head of the file anyway (to number its lines), so it hashes as it
    reads: the head while counting newlines, then each of its own lines.
    """
    try:
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            number = 1
            for chunk in _chunks(handle, split):
                hasher.update(chunk)
                number += chunk.count(b"\n")
            collector = Collector(name)
            kinds: list[BatchKind] = []
            gc.disable()
            _parse_lines(_hashed(_lines(handle, name), hasher), number, collector, kinds, name)
        sender.send(("ok", (kinds, collector.export(), hasher.hexdigest())))
    except SourceError as exc:
        sender.send(("error", str(exc)))
    except OSError as exc:
        sender.send(("error", f"{path}: cannot read the file ({exc.strerror or exc})"))
    finally:
        sender.close()


def _hashed(lines: Iterator[bytes], hasher: Any) -> Iterator[bytes]:
    for line in lines:
        hasher.update(line)
        yield line


def _chunks(handle: BinaryIO, length: int) -> Iterator[bytes]:
    """The first `length` bytes of a file, 16 MB at a time."""
    while length > 0:
        chunk = handle.read(min(length, 2**24))
        if not chunk:
            return
        length -= len(chunk)
        yield chunk


def _first_line_document(first: bytes, *, more: bool) -> tuple[Any, list[str]]:
    """The first line's JSON when it opens a JSON-lines file (else None), and repaired paths."""
    if not more or not first.endswith(b"\n"):
        return None, []  # a single document (or a first line too long to be a page)
    line = first.removeprefix(codecs.BOM_UTF8).strip()
    if not line.startswith((b"{", b"[")):
        return None, []
    try:
        document, repaired = loads(line)
    except orjson.JSONDecodeError:
        return None, []  # pretty-printed JSON: read whole
    if isinstance(document, dict) and "auditor_snapshot" in document:
        return None, []  # the snapshot reader wants the whole document
    return document, repaired


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
