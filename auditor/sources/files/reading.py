"""What reading inputs returns (`FileReading`, `Readings`), the limits readers obey, digests.

Whole files on disk are hashed by `fileops.sha256_file`, bytes in memory by `sha256_bytes`;
the streaming readers hash as they read (`json_arrow`, the second process of `json_lines`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from auditor.errors import SourceError
from auditor.models import InputFile, QualityNote, RawBatch, SourceGap
from auditor.sources.files.paging import ListPages, merge_lists


class UnknownShapeError(SourceError):
    """The file is readable but holds none of the shapes auditor knows (exit 4)."""


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Sizes at which the readers change strategy (tests lower them to reach the big-file paths).

    Attributes:
        two_processes_from: plain JSON-lines files this big are parsed by two processes (Linux).
        sliced_from: one `value` document this big that Arrow cannot take is parsed in slices.
        slice_bytes: the size of one such slice.
        first_line_limit: the longest first line read to tell JSON lines from one document.
        shared_from: files that add up to this many bytes are read by two processes, a
            share each (below it, one process reads faster than two start).
        kept_from: a file this big is read by the process that asked, never handed to the
            other (its records would cost more to send back than to read).
    """

    two_processes_from: int = 64 * 2**20
    sliced_from: int = 64 * 2**20
    slice_bytes: int = 4 * 2**20
    first_line_limit: int = 64 * 2**20
    shared_from: int = 32 * 2**20
    kept_from: int = 16 * 2**20


@dataclass(frozen=True, slots=True)
class Content:
    """What the bytes of one file (or one member of a ZIP) held, before its digest is known."""

    batches: list[RawBatch]
    kind: str
    gaps: list[SourceGap] = field(default_factory=list)
    notes: list[QualityNote] = field(default_factory=list)
    lists: tuple[ListPages, ...] = ()

    def of_file(self, path: Path, sha256: str) -> FileReading:
        """This content as the reading of `path`."""
        return FileReading(path, self.batches, self.kind, sha256, self.gaps, self.notes, self.lists)


@dataclass(frozen=True, slots=True)
class FileReading:
    """Everything one input file held: its batches, shape, digest, recorded gaps and notes.

    `kind` is the file's shape as evidence names it (`graph-managed-devices`, `export-devices`,
    `snapshot` …); `notes` are what the reader saw about the file (columns it does not use,
    values of the wrong JSON type), for the data-quality report; `lists` are the pages of
    each Graph list it held (paging.py), checked for a missing last page once every file is read.
    """

    path: Path
    batches: list[RawBatch]
    kind: str
    sha256: str
    gaps: list[SourceGap] = field(default_factory=list)
    notes: list[QualityNote] = field(default_factory=list)
    lists: tuple[ListPages, ...] = ()

    @property
    def input_file(self) -> InputFile:
        """The evidence record of this input: path, shape, digest, record count."""
        records = sum(len(b.records) for b in self.batches)
        return InputFile(shown_name(str(self.path)), self.kind, self.sha256, records)


@dataclass(frozen=True, slots=True)
class Readings:
    """Every input read for one run, plus the files of an input folder that were not inventory.

    `list_gaps` are the parts that Graph lists cut short leave incomplete, found across all the
    files (a list's pages may be split over several); the pipeline sets them (`lists` says
    which lists were read, page by page).
    """

    files: tuple[FileReading, ...]
    unrecognised: tuple[str, ...] = ()  # "name: why" for files of a folder left unread
    list_gaps: tuple[SourceGap, ...] = ()

    @property
    def batches(self) -> list[RawBatch]:
        """The raw batches of every file, in input order."""
        return [b for f in self.files for b in f.batches]

    @property
    def inputs(self) -> list[InputFile]:
        """One evidence record per file read."""
        return [f.input_file for f in self.files]

    @property
    def gaps(self) -> list[SourceGap]:
        """The gaps snapshot files recorded, then those of lists cut short."""
        return [*(g for f in self.files for g in f.gaps), *self.list_gaps]

    @property
    def lists(self) -> tuple[ListPages, ...]:
        """Every Graph list the files held pages of, its pages added up across files."""
        return merge_lists(p for f in self.files for p in f.lists)

    @property
    def notes(self) -> list[QualityNote]:
        """What the readers noticed, file by file, then the unrecognised files of a folder."""
        notes = [n for f in self.files for n in f.notes]
        if self.unrecognised:
            notes.append(
                QualityNote(
                    "inputs",
                    "unrecognised_file",
                    len(self.unrecognised),
                    self.unrecognised[:5],
                    ", ".join(u.split(":", 1)[0] for u in self.unrecognised),
                )
            )
        return notes


def shown_name(name: str) -> str:
    """A file name or path as reports cite it, with U+FFFD for bytes that are not UTF-8.

    Linux keeps such bytes as lone surrogates in `str`, which no report can write.
    """
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of bytes already in memory."""
    return hashlib.sha256(data).hexdigest()
