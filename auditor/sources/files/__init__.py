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
import threading
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from auditor.errors import AuditorError, SourceError
from auditor.forked import ChildDied, ChildFailed, Forked
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
    """Read every file (a folder: each file in it) into one reading per file, in order.

    Many files (a folder of Graph pages, say) are read on two cores: a child process reads a
    share of them (`_shares`) while this one reads the rest. Readings, errors and the list of
    unrecognised files come out in the order the files are given (a folder's in name order),
    and the first file that fails stops the run with its own error, as if read one by one.

    Raises:
        SourceError: a file is empty, truncated, undecodable or (given by name) of no
            known shape; a folder holds no inventory file. Messages name the file, the
            line or record, and the field.
    """
    limits = limits or ReadLimits()
    plan = [(Path(path), _folder_files(path) if Path(path).is_dir() else None) for path in paths]
    files: list[Path] = []
    in_folder: list[bool] = []  # a folder's file of no known shape is listed, not an error
    for path, members in plan:
        files += [path] if members is None else members
        in_folder += [False] if members is None else [True] * len(members)
    results = iter(_read_all(files, limits, in_folder))
    readings: list[FileReading] = []
    unrecognised: list[str] = []
    for path, members in plan:
        if members is None:
            readings.append(_reading(next(results)))
            continue
        found, skipped = _folder_readings(path, [(f, next(results)) for f in members])
        readings += found
        unrecognised += skipped
    return Readings(tuple(readings), tuple(unrecognised))


Result = FileReading | AuditorError  # a failure is a value until its turn comes


def _read_all(files: Sequence[Path], limits: ReadLimits, in_folder: Sequence[bool]) -> list[Result]:
    """Each file's reading or failure, in order; one by one, or shared with a child process.

    One by one, reading stops at the first failure that will stop the run (a folder's file of
    no known shape does not); the rest are then never read.
    """
    sizes = [_size(f) for f in files]
    # a file that big JSON lines would split over a process of its own: the child may not fork
    here, there = _shares(sizes, min(limits.kept_from, limits.two_processes_from))
    if len(files) < 2 or not there or sum(sizes) < limits.shared_from:
        results: list[Result] = []
        for path, listed in zip(files, in_folder, strict=True):
            results.append(_read_one(path, limits))
            if _stops(results[-1], listed):
                break
        return results + [_NOT_READ] * (len(files) - len(results))
    child: Forked[tuple[int, Result]] = Forked(
        _read_each, [(i, files[i]) for i in there], limits, name="auditor-read"
    )
    received: dict[int, Result] = {}
    failure: list[BaseException] = []
    receiver = threading.Thread(target=_receive, args=(child, received, failure), daemon=True)
    try:
        receiver.start()
        mine = {i: _read_one(files[i], limits) for i in here}
        receiver.join()
    finally:
        child.stop()
    if failure:
        reading = next((files[i] for i in there if i not in received), None)
        raise _as_here(failure[0], reading)
    return [mine[i] if i in mine else received[i] for i in range(len(files))]


def _shares(sizes: Sequence[int], kept_from: int) -> tuple[list[int], list[int]]:
    """Which files this process reads and which the child does, as positions.

    Big files stay here (their records would cost more to pickle back than to read); the rest
    go, largest first, to whichever side has fewer bytes, so both finish about together.
    """
    here = [i for i, size in enumerate(sizes) if size >= kept_from]
    there: list[int] = []
    loads = [sum(sizes[i] for i in here), 0]
    for i in sorted(
        (i for i in range(len(sizes)) if sizes[i] < kept_from), key=lambda i: -sizes[i]
    ):
        side = 0 if loads[0] <= loads[1] else 1
        (here if side == 0 else there).append(i)
        loads[side] += sizes[i]
    return sorted(here), sorted(there)


def _read_each(
    files: Sequence[tuple[int, Path]], limits: ReadLimits
) -> Iterator[tuple[int, Result]]:
    """The child's work: each file's position and reading (or failure), as each is done."""
    for position, path in files:
        yield position, _read_one(path, limits)


def _receive(
    child: Forked[tuple[int, Result]], into: dict[int, Result], failure: list[BaseException]
) -> None:
    """Collect the child's readings as they arrive (a thread: the pipe never fills up)."""
    try:
        for position, result in child:
            into[position] = result
    except BaseException as exc:  # handed to the reading thread, which raises it
        failure.append(exc)


def _as_here(exc: BaseException, reading: Path | None) -> BaseException:
    """What the child's end means here: its error as itself, a crash or a death as an error.

    A death names `reading`, the first file of the child's share that never came back.
    """
    if isinstance(exc, ChildFailed):
        return RuntimeError(f"reading the inputs failed in a child process:\n{exc.details}")
    if isinstance(exc, ChildDied):
        how = str(exc).removeprefix("the child process ")
        where = f"{shown_name(str(reading))}: " if reading is not None else ""
        return SourceError(f"{where}the process reading this file {how} (out of memory?)")
    return exc


def _read_one(path: Path, limits: ReadLimits) -> Result:
    """One file's reading, or the AuditorError reading it raised."""
    try:
        return read_file(path, limits)
    except AuditorError as exc:
        return exc


def _stops(result: Result, in_folder: bool) -> bool:
    """Whether this failure stops the run (a folder's file of no known shape does not)."""
    return isinstance(result, AuditorError) and not (
        in_folder and isinstance(result, UnknownShapeError)
    )


def _reading(result: Result) -> FileReading:
    """A file given by name: its reading, or its failure raised."""
    if isinstance(result, AuditorError):
        raise result
    return result


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reading it says what is wrong
        return 0


_NOT_READ = SourceError("not read: an earlier file failed")  # never raised: the earlier one is


def _folder_files(folder: str | Path) -> list[Path]:
    """A folder's files (not its subfolders, not hidden ones), by name."""
    files = Path(folder).iterdir()
    return sorted(p for p in files if p.is_file() and not p.name.startswith("."))


def _folder_readings(
    folder: Path, results: Sequence[tuple[Path, Result]]
) -> tuple[list[FileReading], list[str]]:
    """The recognised files of one folder, and why the others were not.

    A file that holds a known shape but is damaged still stops the run: only files of no
    known shape (a README, the sample's expected.json, a report) are passed over, by name.
    """
    readings, unrecognised = [], []
    for path, result in results:
        if isinstance(result, UnknownShapeError):
            reason = str(result).split(": not a known shape", 1)[-1].lstrip(": ")
            shown = shown_name(str(folder / path.name))
            unrecognised.append(f"{shown}: not inventory ({reason[:160]})")
            continue
        readings.append(_reading(result))
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
