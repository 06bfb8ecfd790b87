"""One batch kind's parsed records as growing columns, a chunk at a time.

`records.Collector` keeps one `Columns` per batch kind. Text becomes Arrow strings chunk by
chunk, repeated text is shared, and `Columns.export` / `decoded` carry a kind's columns to
another process compactly (the two-process JSON lines reader).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from auditor.normalize.columns import ID_LIST_MEMBERS

_NOT_VALUES = (dict, list)
_ID_LISTS = frozenset(m.casefold() for m in ID_LIST_MEMBERS)  # kept as `a, b` text
_TEXT_TYPES = frozenset({str, type(None)})


class Columns:
    """One batch kind's records as growing columns (source names, one level flattened).

    `wanted` (case-folded names) limits a device batch to the columns normalization reads:
    a Graph device carries ~60 fields, and keeping them all costs gigabytes at 500k devices.
    """

    def __init__(self, wanted: frozenset[str] | None) -> None:
        self.wanted = wanted
        self.data: dict[str, Column] = {}
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
        return self.wanted is None or is_wanted(key.casefold(), self.wanted)

    def _column(self, name: str) -> Column:
        column = self.data.get(name)
        if column is None:
            column = self.data[name] = Column()
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
        """The columns as a frame, one row per record."""
        index = pd.RangeIndex(self.rows)
        return pd.DataFrame(
            {name: column.series(index) for name, column in self.data.items()}, index=index
        )


class Column:
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


def is_wanted(folded: str, wanted: frozenset[str]) -> bool:
    """A key (case-folded) is wanted itself, or some member of an object under it is."""
    return folded in wanted or any(w.startswith(folded + ".") for w in wanted)


def decoded(value: Any) -> list[Any] | pa.Array:
    """A column as `Columns.export` gave it, as values again (Arrow text stays Arrow)."""
    if isinstance(value, pa.Array):
        return value
    if isinstance(value, tuple):
        uniques, codes = value
        table = np.empty(len(uniques), dtype=object)
        table[:] = uniques
        decoded: list[Any] = table.take(codes).tolist()
        return decoded
    return list(value)


def _id_list(values: list[Any]) -> Any:
    """An array of scalar ids as `a, b` text; an array holding objects stays (not a value)."""
    if any(isinstance(v, _NOT_VALUES) for v in values):
        return values
    return ", ".join(str(v) for v in values if v is not None)
