"""Graph device list pages read by Arrow's JSON reader (C++, multi-threaded for JSON lines).

The common big inputs — `managedDevices` pages saved one per line, or all devices in one
`value` document — are read column-wise instead of as millions of Python dicts. Only the
fields normalization reads are kept.
Anything else falls back to the general reader (`json_lines`), whose errors name the line
and field: a line of another collection, a field of an unexpected JSON type, bytes that are
not UTF-8 (Arrow does not check), blank lines (Arrow would skip them and shift the line
numbers every record cites).
"""

from __future__ import annotations

import codecs
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pajson

from auditor.models import RawBatch
from auditor.normalize.fields import SOURCE_COLUMNS

_KIND = "graph_devices"
_BOOLEANS = frozenset({"isSupervised", "isEncrypted"})
_BLOCK = 64 * 2**20  # bytes per parse block: larger than any one page line
_LARGEST_DOCUMENT = 2**31 - 2**24  # one document must fit one block (an int32 size)


def read_device_pages(
    path: Path, name: str, context: str, *, one_document: bool = False
) -> tuple[list[RawBatch], str] | None:
    """The device batch and the file's SHA-256, or None when the general reader must do it.

    `context` is the first page's `@odata.context`; every page must carry the same one.
    `one_document`: the file is one (possibly pretty-printed) page, not a page per line.
    """
    size = path.stat().st_size
    if one_document and size > _LARGEST_DOCUMENT:
        return None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(_sha256_and_lines, path)
        try:
            table = pajson.read_json(
                path,
                read_options=pajson.ReadOptions(
                    block_size=size + 2**20 if one_document else _BLOCK
                ),
                parse_options=pajson.ParseOptions(
                    explicit_schema=_schema(),
                    unexpected_field_behavior="ignore",
                    newlines_in_values=one_document,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
        sha256, lines, utf8 = digest.result()
    pages = table.column("value").combine_chunks()
    contexts = table.column("@odata.context")
    if (
        not utf8  # Arrow does not check: the general reader names the line and column
        or table.num_rows != (1 if one_document else lines)  # blank lines would shift numbers
        or pages.null_count
        or pages.flatten().null_count  # a null record: the general reader rejects it
        or contexts.null_count
        or contexts.unique().to_pylist() != [context]
    ):
        return None
    return [RawBatch(_KIND, name, _frame(pages, name, numbered=not one_document))], sha256


def _schema() -> pa.Schema:
    """`@odata.context` and `value`: a list of devices with the fields normalization reads."""
    top: dict[str, pa.DataType] = {}
    nested: dict[str, dict[str, pa.DataType]] = {}
    for names in SOURCE_COLUMNS[_KIND].values():
        for field in names:
            kind = pa.bool_() if field in _BOOLEANS else pa.string()
            parent, _, member = field.partition(".")
            if member:
                nested.setdefault(parent, {})[member] = kind
            else:
                top[field] = kind
    members = [pa.field(k, t) for k, t in top.items()]
    members += [pa.field(p, pa.struct(list(m.items()))) for p, m in nested.items()]
    return pa.schema([("@odata.context", pa.string()), ("value", pa.list_(pa.struct(members)))])


def _frame(pages: pa.ListArray, name: str, *, numbered: bool) -> pd.DataFrame:
    """One row per device: top-level fields, nested ones as `parent.member`, and lineage.

    Each record's `source_record` is `name:line N value[i]` (`name:value[i]` for a single
    document), as the general reader writes it.
    """
    devices = pages.flatten()
    columns: dict[str, Any] = {}
    for index, field in enumerate(devices.type):
        values = devices.field(index)
        if pa.types.is_struct(field.type):
            for sub_index, member in enumerate(field.type):
                columns[f"{field.name}.{member.name}"] = _series(values.field(sub_index))
        else:
            columns[field.name] = _series(values)
    offsets = pages.offsets.to_numpy()
    sizes = np.diff(offsets)
    line = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    position = np.arange(len(devices)) - np.repeat(offsets[:-1], sizes)
    records = (
        [
            f"{name}:line {n} value[{i}]"
            for n, i in zip(line.tolist(), position.tolist(), strict=True)
        ]
        if numbered
        else [f"{name}:value[{i}]" for i in position.tolist()]
    )
    columns["source_record"] = pd.Series(records, dtype="string")
    return pd.DataFrame(columns)


def _series(values: pa.Array) -> pd.Series:
    if pa.types.is_boolean(values.type):
        return pd.Series(pd.array(values.to_pandas(), dtype="boolean"))
    return pd.Series(pd.arrays.ArrowStringArray(values))


def _sha256_and_lines(path: Path) -> tuple[str, int, bool]:
    """The file's SHA-256, how many lines it has, and whether it is all valid UTF-8."""
    hasher = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, last, utf8 = 0, b"\n", True
    with path.open("rb") as handle:
        while chunk := handle.read(2**22):
            hasher.update(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            if utf8 and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        utf8 = False
    return hasher.hexdigest(), lines + (last != b"\n"), utf8
