"""Parsed JSON records → column lists by batch kind, a chunk at a time; then frames."""

from __future__ import annotations

from collections.abc import Callable
from itertools import compress, repeat
from operator import is_not, itemgetter
from typing import Any

import numpy as np
import pandas as pd

from auditor.errors import SourceError
from auditor.models import RawBatch
from auditor.normalize.fields import wanted_columns

_CHUNK = 5_000  # records turned into a frame at a time, so parsed dicts are freed as we go


Exported = dict[str, tuple[dict[str, Any], int]]


class _Columns:
    """One batch kind's records as growing column lists (source names, one level flattened).

    `wanted` (case-folded names) limits a device batch to the columns normalization reads:
    a Graph device carries ~60 fields, and keeping them all costs gigabytes at 500k devices.
    """

    def __init__(self, wanted: frozenset[str] | None) -> None:
        self.wanted = wanted
        self.data: dict[str, list[Any]] = {}
        self.rows = 0
        # Columns with few distinct values keep one object per value ("macOS" once, not 500k
        # times): less memory, and hashing them later is cheap (str caches its hash).
        self.shared: dict[str, dict[Any, Any] | None] = {}

    def extend(self, records: list[dict[str, Any]], locations: list[str]) -> None:
        keys, values_by_key = _columns_of(records, self._wants)
        for key, values in zip(keys, values_by_key, strict=True):
            if isinstance(_first_present(values), dict):
                for sub in self._members(key, values):
                    self._put(
                        f"{key}.{sub}",
                        [v.get(sub) if v.__class__ is dict else None for v in values],
                    )
            elif self.wanted is None or key.casefold() in self.wanted:
                self._put(key, list(values))
        self._put("source_record", locations)
        self.rows += len(records)
        for column in self.data.values():
            if len(column) < self.rows:
                column.extend([None] * (self.rows - len(column)))

    def export(self) -> dict[str, Any]:
        """Columns as lists, or (distinct values, codes) where values were shared."""
        exported: dict[str, Any] = {}
        for name, values in self.data.items():
            cache = self.shared.get(name)
            if cache:
                index = {id(value): i for i, value in enumerate(cache.values())}
                index[id(None)] = len(cache)
                codes = np.fromiter(map(index.__getitem__, map(id, values)), np.int32, len(values))
                exported[name] = ([*cache.values(), None], codes)
            else:
                exported[name] = values
        return exported

    def append(self, data: dict[str, list[Any]], rows: int) -> None:
        """Append `rows` rows given as column lists (columns missing on either side are None)."""
        for name, values in data.items():
            self.data.setdefault(name, [None] * self.rows).extend(values)
        self.rows += rows
        for column in self.data.values():
            if len(column) < self.rows:
                column.extend([None] * (self.rows - len(column)))

    def _members(self, key: str, values: tuple[Any, ...]) -> list[str]:
        """Members of a nested object to keep: all of them, or the wanted ones (by a sample)."""
        if self.wanted is None:
            return list(dict.fromkeys(k for v in values if isinstance(v, dict) for k in v))
        sample = [v for v in values[:50] if isinstance(v, dict)] or [_first_present(values)]
        members = dict.fromkeys(k for v in sample for k in v)
        return [m for m in members if f"{key}.{m}".casefold() in self.wanted]

    def _wants(self, key: str) -> bool:
        """Keep this key (or, for a nested object, some of its members)?"""
        if self.wanted is None:
            return True
        folded = key.casefold()
        return folded in self.wanted or any(w.startswith(folded + ".") for w in self.wanted)

    def _put(self, name: str, values: list[Any]) -> None:
        column = self.data.get(name)
        if column is None:
            column = self.data[name] = [None] * self.rows
        if name not in self.shared:
            # only text: sharing would turn 1 into True (equal keys) and lists are unhashable
            texts = all(value is None or value.__class__ is str for value in values)
            few = texts and len(set(values)) * 20 <= len(values)
            self.shared[name] = {} if few else None
        cache = self.shared[name]
        start = len(column)
        if cache is not None:
            try:
                column.extend(map(cache.setdefault, values, values))
                return
            except TypeError:
                self.shared[name] = None
                del column[start:]
        column.extend(values)

    def frame(self) -> pd.DataFrame:
        index = pd.RangeIndex(self.rows)
        return pd.DataFrame(
            {
                name: pd.Series(values, index=index, dtype=object)
                for name, values in self.data.items()
            },
            index=index,
        )


def _columns_of(
    records: list[dict[str, Any]], wants: Callable[[str], bool]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The wanted keys of a chunk and their columns of values.

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
                return keys, [tuple(rows)]
            return keys, list(zip(*rows, strict=True)) if rows else []
    for record in records:
        sample.update(dict.fromkeys(record))
    keys = [k for k in sample if wants(k)]
    return keys, [tuple(record.get(key) for record in records) for key in keys]


def _first_present(values: tuple[Any, ...]) -> Any:
    """The first value that is not None (C-speed scan), or None."""
    return next(compress(values, map(is_not, values, repeat(None))), None)


class Collector:
    """Records by batch kind, taken a chunk at a time so parsed dicts are freed as we go."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kinds: dict[str, _Columns] = {}

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
                    found = type(record).__name__
                    raise SourceError(
                        f"{self.name}:{where}[{offset + i}]: expected an object, found {found}"
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
        return {kind: (c.export(), c.rows) for kind, c in self.kinds.items()}

    def absorb(self, exported: Exported) -> None:
        """Append another collector's rows (from `export`) after this one's."""
        for kind, (data, rows) in exported.items():
            columns = self.kinds.setdefault(kind, _Columns(wanted_columns(kind)))
            columns.append({name: _decoded(value) for name, value in data.items()}, rows)

    def batches(self) -> list[RawBatch]:
        """One RawBatch per kind, named after the file."""
        return [RawBatch(kind, self.name, c.frame()) for kind, c in self.kinds.items()]


def _decoded(value: Any) -> list[Any]:
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
