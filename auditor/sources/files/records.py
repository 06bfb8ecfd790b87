"""Parsed JSON records → column lists by batch kind, a chunk at a time; then frames."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from auditor.errors import SourceError
from auditor.models import BatchKind, QualityNote, RawBatch
from auditor.normalize.columns import wanted_columns
from auditor.normalize.text import quoted
from auditor.sources.files.copies import merge_copies, unmapped_note
from auditor.sources.files.json_parse import json_words
from auditor.sources.files.paging import ListPages, PageTally
from auditor.sources.files.record_columns import Columns, decoded, is_wanted

_CHUNK = 5_000  # records turned into a frame at a time, so parsed dicts are freed as we go
_EXAMPLES = 5


Exported = tuple[
    dict[str, tuple[dict[str, Any], int, dict[str, None], dict[str, list[str]]]],
    list[str],
    tuple[ListPages, ...],
]
"""Columns by kind (values, rows, keys, non-values), locations of repaired text, list pages."""


class Collector:
    """Records by batch kind, taken a chunk at a time so parsed dicts are freed as we go."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kinds: dict[str, Columns] = {}
        self.repaired: list[str] = []  # where lone UTF-16 surrogates were removed (json_parse)
        self.pages = PageTally(name)  # the Graph list pages read, for the paging check

    def note_repaired(self, where: str, paths: list[str]) -> None:
        """Values of the document at `where` (`line 3 `) whose lone surrogates were removed."""
        self.repaired += [f"{self.name}:{where}{path}" for path in paths]

    def add(
        self, kind: str, records: list[Any], where: str, extra: dict[str, str], start: int = 0
    ) -> None:
        """Records of one kind found at `where` (`value`, `[1].value` …).

        They are numbered from `start`; `extra` fills fields the records lack.
        """
        columns = self.kinds.setdefault(kind, Columns(wanted_columns(kind)))
        offset = start
        while records:
            chunk = records[:_CHUNK]
            del records[:_CHUNK]
            for i, record in enumerate(chunk):
                if not isinstance(record, dict):
                    raise SourceError(
                        f"{self.name}:{where}[{offset + i}]: expected an object (a record), "
                        f"found {json_words(record)}"
                    )
                for column, value in extra.items():
                    record.setdefault(column, value)
            prefix = f"{self.name}:{where}["
            locations = [f"{prefix}{i}]" for i in range(offset, offset + len(chunk))]
            columns.extend(chunk, locations)
            offset += len(chunk)

    def add_object(self, kind: str, record: dict[str, Any], where: str) -> None:
        """One single-object response (its location is the file itself, or `line N`)."""
        columns = self.kinds.setdefault(kind, Columns(wanted_columns(kind)))
        columns.extend([record], [f"{self.name}{':' + where if where else ''}"])

    def export(self) -> Exported:
        """The columns by kind, compact enough to send to another process quickly.

        A column of few distinct values goes as those values plus an array of codes
        (pickling millions of shared references one by one is the slow part).
        """
        kinds = {k: (c.export(), c.rows, c.keys, c.not_values) for k, c in self.kinds.items()}
        return kinds, self.repaired, self.pages.lists()

    def absorb(self, exported: Exported) -> None:
        """Append another collector's rows (from `export`) after this one's."""
        kinds, repaired, pages = exported
        self.repaired += repaired
        for listed in pages:
            self.pages.add(listed)
        for kind, (data, rows, keys, not_values) in kinds.items():
            columns = self.kinds.setdefault(kind, Columns(wanted_columns(kind)))
            columns.append({name: decoded(value) for name, value in data.items()}, rows)
            columns.keys.update(keys)
            for key, locations in not_values.items():
                columns.not_values.setdefault(key, []).extend(locations)

    def batches(self) -> list[RawBatch]:
        """One RawBatch per kind, named after the file; copies of one column merged."""
        return [
            RawBatch(
                BatchKind(kind), self.name, merge_copies(c.frame(), BatchKind(kind), self.name)
            )
            for kind, c in self.kinds.items()
        ]

    def keys_of(self, kind: str) -> list[str]:
        """Every top-level key the records of `kind` had."""
        columns = self.kinds.get(kind)
        return list(columns.keys) if columns is not None else []

    def notes(self) -> list[QualityNote]:
        """Per device kind: the keys normalization does not read, and non-values it met.

        Then, per member, the values whose lone surrogates were removed.
        """
        notes = []
        for columns in self.kinds.values():
            wanted = columns.wanted
            if wanted is None:
                continue
            unused = [
                k for k in columns.keys
                if not k.startswith("@") and not is_wanted(k.casefold(), wanted)
            ]  # fmt: skip
            note = unmapped_note(self.name, unused)
            if note is not None:
                notes.append(note)
            for key, locations in columns.not_values.items():
                if locations:
                    notes.append(
                        QualityNote(
                            quoted(key),
                            "not_a_value",
                            len(locations),
                            tuple(
                                f"{where}: an object or array where a value belongs; not read"
                                for where in locations[:_EXAMPLES]
                            ),
                            self.name,
                        )
                    )
        return notes + self._repaired_notes()

    def _repaired_notes(self) -> list[QualityNote]:
        by_member: dict[str, list[str]] = {}
        for where in self.repaired:
            member = re.sub(r"\[\d+\]$", "", where).rsplit(".", 1)[-1].rsplit(":", 1)[-1]
            by_member.setdefault(member, []).append(where)
        return [
            QualityNote(
                quoted(member),
                "control_characters",
                len(locations),
                tuple(
                    f"{where}: a lone UTF-16 surrogate (text no UTF-8 can hold) removed"
                    for where in locations[:_EXAMPLES]
                ),
                self.name,
            )
            for member, locations in by_member.items()
        ]


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames one after another on a fresh index (a single frame as it is)."""
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)
