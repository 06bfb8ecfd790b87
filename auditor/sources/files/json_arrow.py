"""Graph device list pages read by Arrow's JSON reader (C++, multi-threaded for JSON lines).

The common big inputs — `managedDevices` pages saved one per line, or all devices in one
`value` document — are read column-wise instead of as millions of Python dicts. Only the
fields normalization reads are kept, plus each page's `@odata.nextLink` and `@odata.count` (page
columns, so the paging check costs nothing per record).

Arrow matches member names exactly, and skips one it does not expect; the general reader
matches them case-insensitively. So the schema uses the spelling the first page's records
use, and the whole file is searched (by RE2, beside the digest) for a member the reader
needs spelled another way: one anywhere sends the file to the general reader, which reads it
the same way either path would.
Anything else falls back to the general reader (`json_lines`) too, whose errors name the
line and field: a line of another collection, a field of an unexpected JSON type, bytes that
are not UTF-8 (Arrow does not check), blank lines or two pages on one line (either would
shift the line numbers every record cites).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from auditor.models import BatchKind, RawBatch
from auditor.normalize.columns import SOURCE_COLUMNS, wanted_columns
from auditor.sources.files.copies import unmapped_note
from auditor.sources.files.encoding import NON_SPACE
from auditor.sources.files.paging import ListPages, list_path
from auditor.sources.files.reading import FileReading

_KIND = BatchKind.GRAPH_DEVICES
_BOOLEANS = frozenset({"issupervised", "isencrypted"})
_BLOCK = 64 * 2**20  # bytes per parse block: larger than any one page line
_LARGEST_DOCUMENT = 2**31 - 2**24  # one document must fit one block (an int32 size)


def read_device_pages(
    path: Path, name: str, context: str, keys: Iterable[str], *, one_document: bool = False
) -> FileReading | None:
    """The device batch and the file's SHA-256, or None when the general reader must do it.

    `context` is the first page's `@odata.context`; every page must carry the same one.
    `keys` are the members the first page's records use (their spelling is the schema's).
    `one_document`: the file is one (possibly pretty-printed) page, not a page per line.
    """
    size = path.stat().st_size
    if one_document and size > _LARGEST_DOCUMENT:
        return None
    if not str(path).isascii():
        try:  # Arrow opens paths as UTF-8: a name in another encoding goes to the general reader
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            return None
    schema, spelled = _schema(keys)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(_sha256_and_lines, path, spelled, one_document)
        try:
            table = pajson.read_json(
                path,
                read_options=pajson.ReadOptions(
                    block_size=size + 2**20 if one_document else _BLOCK
                ),
                parse_options=pajson.ParseOptions(
                    explicit_schema=schema,
                    unexpected_field_behavior="ignore",
                    newlines_in_values=one_document,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
        sha256, lines, blank, utf8, respelled = digest.result()
    pages = table.column("value").combine_chunks()
    contexts = table.column("@odata.context")
    if (
        not utf8  # Arrow does not check: the general reader names the line and column
        or table.num_rows != (1 if one_document else lines)  # two pages on one line
        or (blank and not one_document)  # Arrow skips blank lines: numbers would shift
        or pages.null_count
        or pages.flatten().null_count  # a null record: the general reader rejects it
        or contexts.null_count
        or contexts.unique().to_pylist() != [context]
        or respelled  # a member spelled another way: the general reader folds case
    ):
        return None
    frame = _frame(pages, name, numbered=not one_document)
    listed = ListPages(
        _KIND,
        list_path(context),
        (name,),
        table.num_rows,
        _linked_pages(table.column(_NEXT_LINK)),
        len(frame),
        pc.max(table.column(_COUNT)).as_py(),
    )
    wanted = wanted_columns(_KIND) or frozenset()
    unused = [
        k for k in dict.fromkeys(keys)
        if not k.startswith("@") and k.casefold() not in wanted
        and not any(w.startswith(k.casefold() + ".") for w in wanted)
    ]  # fmt: skip
    notes = [n for n in (unmapped_note(name, unused),) if n is not None]
    batches = [RawBatch(_KIND, name, frame)]
    return FileReading(path, batches, _SHAPE, sha256, notes=notes, lists=(listed,))


_SHAPE = "graph-managed-devices"
_NEXT_LINK, _COUNT = "@odata.nextLink", "@odata.count"  # page members (paging.py)


def _linked_pages(links: pa.ChunkedArray) -> int:
    """Pages whose nextLink says more follow (a null or blank one says none; paging.is_linked)."""
    blank = pc.sum(pc.equal(pc.utf8_trim_whitespace(links), "")).as_py() or 0
    return int(len(links) - links.null_count - blank)


def _schema(keys: Iterable[str]) -> tuple[pa.Schema, dict[str, str]]:
    """The page members (context, paging) and `value`: devices with the fields normalization reads.

    Each field is spelled as the first page spells it; returns the schema and the spelling
    chosen for each (case-folded) member name (the paging members' too: a page spelling one
    otherwise goes to the general reader, which folds case).
    """
    seen = {k.casefold(): k for k in keys}
    top: dict[str, pa.DataType] = {}
    nested: dict[str, dict[str, pa.DataType]] = {}
    for candidates in SOURCE_COLUMNS[_KIND].values():
        for spellings in candidates:
            field = spellings[0]
            kind = pa.bool_() if field.casefold() in _BOOLEANS else pa.string()
            parent, _, member = field.partition(".")
            if member:
                nested.setdefault(parent, {})[member] = kind
            else:
                top[seen.get(field.casefold(), field)] = kind
    members = [pa.field(k, t) for k, t in top.items()]
    members += [pa.field(p, pa.struct(list(m.items()))) for p, m in nested.items()]
    schema = pa.schema(
        [
            ("@odata.context", pa.string()),
            (_NEXT_LINK, pa.string()),
            (_COUNT, pa.int64()),
            ("value", pa.list_(pa.struct(members))),
        ]
    )
    return schema, {k.casefold(): k for k in [*top, *nested, _NEXT_LINK, _COUNT]}


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


def _sha256_and_lines(
    path: Path, spelled: dict[str, str], one_document: bool
) -> tuple[str, int, int, bool, bool]:
    """The file's SHA-256, lines, blank lines, whether it is valid UTF-8, and any respelling.

    The last is whether any record, anywhere in the file, spells a member otherwise than
    `spelled` says (the schema's spelling): Arrow would skip that member silently.
    """
    hasher = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, blank, last, utf8 = 0, 0, b"\n", True
    has_text = False  # the current line holds something besides white space
    respelling, respelled, tail = _respelling(spelled), False, b""
    with path.open("rb") as handle:
        while chunk := handle.read(2**22):
            hasher.update(chunk)
            start = 0
            while (newline := chunk.find(b"\n", start)) >= 0:
                has_text = has_text or NON_SPACE.search(chunk, start, newline) is not None
                blank += not has_text
                lines += 1
                has_text = False
                start = newline + 1
            has_text = has_text or NON_SPACE.search(chunk, start) is not None
            last = chunk[-1:]
            if utf8 and not (chunk.isascii() and not decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not respelled:  # the chunk, and where it meets the last (a name may straddle)
                respelled = _matches(tail + chunk[:_KEY_SPAN], respelling) or _matches(
                    chunk, respelling
                )
                tail = chunk[-_KEY_SPAN:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        utf8 = False
    return hasher.hexdigest(), lines + (last != b"\n"), blank, utf8, bool(respelled)


_KEY_SPAN = 4096  # longer than any member name with the white space before its colon


def _matches(text: bytes, pattern: str) -> bool:
    """Whether RE2 finds `pattern` in `text` (read in place, not copied)."""
    offsets = pa.py_buffer(np.array([0, len(text)], dtype=np.int64).tobytes())
    array = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), 1, [None, offsets, pa.py_buffer(text)]
    )
    return bool(pc.any(pc.match_substring_regex(array, pattern)).as_py())


def _respelling(spelled: dict[str, str]) -> str:
    """An RE2 pattern matching a member name that is one of `spelled` in another casing.

    Each alternative keeps the name up to one letter, flips that letter's case and matches
    the rest in any case (`D(?i:eviceName)`, `dE(?i:viceName)` …), so the exact spelling
    never matches and every other casing does. A match must be quoted and followed by a
    colon: inside a JSON string a quote is escaped, so that is always a member name.
    """
    alternatives = []
    for name in sorted(set(spelled.values())):
        for i, letter in enumerate(name):
            if letter.lower() != letter.upper():
                rest = re.escape(name[i + 1 :])
                alternatives.append(
                    f"{re.escape(name[:i])}{re.escape(letter.swapcase())}(?i:{rest})"
                )
    return '"(?:' + "|".join(alternatives) + r')"\s*:'
