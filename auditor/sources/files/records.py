"""Parsed JSON records → column lists by batch kind, a chunk at a time; then frames."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.errors import SourceError
from auditor.models import BatchKind, QualityNote, RawBatch
from auditor.normalize.columns import ID_LIST_MEMBERS, wanted_columns
from auditor.normalize.text import quoted
from auditor.sources.files.copies import merge_copies, unmapped_note
from auditor.sources.files.json_parse import json_words
from auditor.sources.files.paging import ListPages, PageTally

_CHUNK = 5_000  # records turned into a frame at a time, so parsed dicts are freed as we go
_EXAMPLES = 5
_NOT_VALUES = (dict, list)
_ID_LISTS = frozenset(m.casefold() for m in ID_LIST_MEMBERS)  # kept as `a, b` text
_TEXT_TYPES = frozenset({str, type(None)})


Exported = tuple[
    dict[str, tuple[dict[str, Any], int, dict[str, None], dict[str, list[str]]]],
    list[str],
    tuple[ListPages, ...],
]
"""Columns by kind (values, rows, keys, non-values), locations of repaired text, list pages."""


class _Columns:
    """One batch kind's records as growing columns (source names, one level flattened).

    `wanted` (case-folded names) limits a device batch to the columns normalization reads:
    a Graph device carries ~60 fields, and keeping them all costs gigabytes at 500k devices.
    """

    def __init__(self, wanted: frozenset[str] | None) -> None:
        self.wanted = wanted
        self.data: dict[str, _Column] = {}
        self.rows = 0
        self.keys: dict[str, None] = {}  # every top-level key seen, in order
        self.not_values: dict[str, list[str]] = {}  # key → locations of objects/arrays in it
        # Columns with few distinct values keep one object per value ("macOS" once, not 500k
        # times): less memory, and hashing them later is cheap (str caches its hash).
        self.shared: dict[str, dict[Any, Any] | None] = {}

    def extend(self, records: list[dict[str, Any]], locations: list[str]) -> None:
        """Append records; each value decides for itself whether it is nested or a value.

        An object under a key contributes its wanted members (`key.member`) and leaves the
        key's own value empty for that record; a scalar fills the key's column. An object or
        array where only a value is read is counted (`not_values`), never read as text.
        """
        keys, values_by_key, seen = _columns_of(records, self._wants)
        self.keys.update(seen)
        for key, values in zip(keys, values_by_key, strict=True):
            types = set(map(type, values))
            wanted_value = self.wanted is None or key.casefold() in self.wanted
            if dict in types:
                for sub in self._members(key, values):
                    self._put(
                        f"{key}.{sub}",
                        [v.get(sub) if v.__class__ is dict else None for v in values],
                    )
            if not wanted_value:
                continue
            if list in types and key.casefold() in _ID_LISTS:
                values = tuple(_id_list(v) if v.__class__ is list else v for v in values)
                types = set(map(type, values))
            if types.isdisjoint(_NOT_VALUES):
                self._put(key, list(values))
            elif self.wanted is None:  # tenant objects: keep arrays, objects went to members
                if types - {dict, type(None)}:
                    self._put(key, [None if v.__class__ is dict else v for v in values])
            else:
                odd = [i for i, v in enumerate(values) if isinstance(v, _NOT_VALUES)]
                self.not_values.setdefault(key, []).extend(locations[i] for i in odd)
                self._put(key, [None if isinstance(v, _NOT_VALUES) else v for v in values])
        self._put("source_record", locations)
        self.rows += len(records)
        for column in self.data.values():
            column.pad(self.rows)

    def export(self) -> dict[str, Any]:
        """Columns as Arrow text or lists, or (distinct values, codes) where values were shared."""
        exported: dict[str, Any] = {}
        for name, column in self.data.items():
            values = column.values()
            cache = self.shared.get(name)
            if cache and isinstance(values, list):
                index = {id(value): i for i, value in enumerate(cache.values())}
                index[id(None)] = len(cache)
                codes = np.fromiter(map(index.__getitem__, map(id, values)), np.int32, len(values))
                exported[name] = ([*cache.values(), None], codes)
            else:
                exported[name] = values
        return exported

    def append(self, data: dict[str, list[Any] | pa.Array], rows: int) -> None:
        """Append `rows` rows given as columns (columns missing on either side are None)."""
        for name, values in data.items():
            self._column(name).extend(values)
        self.rows += rows
        for column in self.data.values():
            column.pad(self.rows)

    def _members(self, key: str, values: tuple[Any, ...]) -> list[str]:
        """Members of the objects under `key` to keep: all, or the wanted ones (every object)."""
        # a dict iterates over its keys: chained at C speed, first appearance first
        members = dict.fromkeys(chain.from_iterable(v for v in values if v.__class__ is dict))
        if self.wanted is None:
            return list(members)
        return [m for m in members if f"{key}.{m}".casefold() in self.wanted]

    def _wants(self, key: str) -> bool:
        """Keep this key (or, for a nested object, some of its members)?"""
        if self.wanted is None:
            return True
        folded = key.casefold()
        return folded in self.wanted or any(w.startswith(folded + ".") for w in self.wanted)

    def _column(self, name: str) -> _Column:
        column = self.data.get(name)
        if column is None:
            column = self.data[name] = _Column()
            column.pad(self.rows)
        return column

    def _put(self, name: str, values: list[Any]) -> None:
        column = self._column(name)
        if name not in self.shared:
            # only text: sharing would turn 1 into True (equal keys) and lists are unhashable
            texts = _all_text(values)
            few = texts and len(set(values)) * 20 <= len(values)
            self.shared[name] = {} if few else None
        cache = self.shared[name]
        if cache is not None:
            try:
                column.extend(list(map(cache.setdefault, values, values)))
                return
            except TypeError:
                self.shared[name] = None
        column.extend(_as_arrow_text(values))

    def frame(self) -> pd.DataFrame:
        index = pd.RangeIndex(self.rows)
        return pd.DataFrame(
            {name: column.series(index) for name, column in self.data.items()}, index=index
        )


class _Column:
    """One column, a chunk at a time: Arrow text, or the values as read where they must be.

    A chunk of unshared text becomes an Arrow string array at once (`_as_arrow_text`), so its
    Python strings die with the chunk instead of living until the frame is built (at 500k
    records, ~0.5 GB of small strings the allocator cannot hand back once freed). Shared
    texts, booleans, numbers and arrays stay lists of the values as read.
    """

    def __init__(self) -> None:
        self.pieces: list[pa.Array | list[Any]] = []
        self.rows = 0

    def extend(self, values: pa.Array | list[Any]) -> None:
        """Append a chunk: Arrow text, or values as read."""
        self.pieces.append(values)
        self.rows += len(values)

    def pad(self, rows: int) -> None:
        """None up to `rows` values."""
        if rows > self.rows:
            self.extend(pa.nulls(rows - self.rows, pa.string()))

    def values(self) -> pa.Array | list[Any]:
        """One Arrow string array when every chunk is Arrow text (not all missing), else a list.

        The list holds the values as read: Arrow chunks give back their str values, and None.
        """
        arrow = [p for p in self.pieces if isinstance(p, pa.Array)]
        if len(arrow) == len(self.pieces) and any(p.null_count < len(p) for p in arrow):
            return pa.concat_arrays(arrow)
        values: list[Any] = []
        for piece in self.pieces:
            values += piece.to_pylist() if isinstance(piece, pa.Array) else piece
        return values

    def series(self, index: pd.RangeIndex) -> pd.Series:
        """The column: Arrow-backed text (as the Graph list reader makes it), else objects."""
        values = self.values()
        if isinstance(values, pa.Array):
            return pd.Series(pd.arrays.ArrowStringArray(values), index=index)
        return pd.Series(values, index=index, dtype=object)


def _as_arrow_text(values: list[Any]) -> pa.Array | list[Any]:
    """`values` as an Arrow string array when all are str or None, else as they are.

    Text with a lone surrogate (no UTF-8 can hold it) stays Python text.
    """
    if not _all_text(values):
        return values
    try:
        return pa.array(values, pa.string())
    except UnicodeEncodeError:
        return values


def _all_text(values: Sequence[Any]) -> bool:
    """Whether every value is str or None (their types collected at C speed)."""
    return set(map(type, values)) <= _TEXT_TYPES


def _columns_of(
    records: list[dict[str, Any]], wants: Callable[[str], bool]
) -> tuple[list[str], list[tuple[Any, ...]], dict[str, None]]:
    """The wanted keys of a chunk, their columns of values, and every key of the chunk.

    Graph records share one key set: when every record has as many keys as the first ones
    and all of theirs, the columns come out at C speed; otherwise key by key.
    """
    sample: dict[str, None] = {}
    for record in records[:20]:
        sample.update(dict.fromkeys(record))
    if sample and all(len(record) == len(sample) for record in records):
        keys = [k for k in sample if wants(k)]
        try:
            rows = list(map(itemgetter(*keys), records)) if keys else []
        except KeyError:
            pass
        else:
            if len(keys) == 1:
                return keys, [tuple(rows)], sample
            return keys, list(zip(*rows, strict=True)) if rows else [], sample
    for record in records:
        sample.update(dict.fromkeys(record))
    keys = [k for k in sample if wants(k)]
    return keys, [tuple(record.get(key) for record in records) for key in keys], sample


class Collector:
    """Records by batch kind, taken a chunk at a time so parsed dicts are freed as we go."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kinds: dict[str, _Columns] = {}
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
        columns = self.kinds.setdefault(kind, _Columns(wanted_columns(kind)))
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
        columns = self.kinds.setdefault(kind, _Columns(wanted_columns(kind)))
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
            columns = self.kinds.setdefault(kind, _Columns(wanted_columns(kind)))
            columns.append({name: _decoded(value) for name, value in data.items()}, rows)
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
                if not k.startswith("@") and not _is_wanted(k.casefold(), wanted)
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


def _is_wanted(folded: str, wanted: frozenset[str]) -> bool:
    return folded in wanted or any(w.startswith(folded + ".") for w in wanted)


def _decoded(value: Any) -> list[Any] | pa.Array:
    if isinstance(value, pa.Array):
        return value
    if isinstance(value, tuple):
        uniques, codes = value
        table = np.empty(len(uniques), dtype=object)
        table[:] = uniques
        decoded: list[Any] = table.take(codes).tolist()
        return decoded
    return list(value)


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames one after another on a fresh index (a single frame as it is)."""
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def _id_list(values: list[Any]) -> Any:
    """An array of scalar ids as `a, b` text; an array holding objects stays (not a value)."""
    if any(isinstance(v, _NOT_VALUES) for v in values):
        return values
    return ", ".join(str(v) for v in values if v is not None)
