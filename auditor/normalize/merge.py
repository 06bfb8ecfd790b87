"""Several inputs' records of one Mac → one row; conflicts and merges recorded, never silent.

Records match by Intune device id (case-insensitive); a record without an id matches by
serial number when exactly one device carries that serial. Each field takes the value of
the highest-precedence record that has one (Graph single GET > Graph list > Devices export
> admin-center CSV); where two records disagree, a `conflict` note quotes both values and
the one kept. Fields that travel together (a version and its build, an enum and its raw
value) come from the same record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.models import QualityNote
from auditor.normalize.fields import DEVICE_KINDS, LABELS, describe_rows, sources_of

_PAIRED = {
    "os_version": ("os_version_raw", "os_major", "os_version_key", "os_build", "os_rsr"),
    "ownership": ("ownership_raw",),
    "enrollment_type": ("enrollment_type_raw",),
    "compliance_state": ("compliance_state_raw",),
    "processor_arch": ("processor_arch_raw",),
}
_COMPARED = (
    "device_name", "serial_number", "udid", "model_identifier", "os_version", "ownership",
    "enrollment_type", "enrollment_profile", "is_supervised", "is_encrypted", "user_approved",
    "compliance_state", "processor_arch", "upn",
)  # fmt: skip
_CASELESS = frozenset({"device_name", "serial_number", "udid", "upn", "model_identifier"})
_ENUMS = frozenset({"ownership", "enrollment_type", "compliance_state", "processor_arch"})
_LINEAGE = ("source", "source_record")
# what the steps after `_merge` read of the records: conflicts, duplicates, absent devices
_READ_AFTER = frozenset(
    {*_COMPARED, *_LINEAGE, "_rank", "device_id", "device_name", "serial_number"}
)
_EXAMPLES = 5
_RECORDS_NAMED = 10
KEY = "_key"
_FEW_TEXTS = 4096  # `_join` builds each distinct sequence of texts once below this many texts


def merge_devices(parts: list[pd.DataFrame]) -> tuple[pd.DataFrame, list[QualityNote]]:
    """One row per device (column `_key` kept for the caller), plus merge and conflict notes.

    `parts` (the typed frames of each input kind) are taken over: the list is emptied, and
    each field no later step reads goes as soon as it is merged (at 500k Macs, the three
    inputs' rows and the merged frame are not all held at once).
    """
    combined = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    parts.clear()
    combined = combined.reset_index(drop=True)
    key, notes = _keys(combined)
    codes, _ = pd.factorize(key)  # hashed once; everything after works on integers
    combined[KEY] = key
    if len(codes) == 0 or codes.max() + 1 == len(codes):  # every key once: nothing to merge
        merged, group_of_row = combined, np.arange(len(combined))
    else:
        groups = _Groups(codes, combined["_rank"].to_numpy())
        merged = _merge(combined, groups)
        notes += _conflicts(combined, merged, groups)
        notes += _duplicate_records(combined, groups)
        group_of_row = groups.of_row
    merged = _fill_device_id(merged, notes)
    notes += _absent_from_inputs(combined, merged, group_of_row)
    return merged.drop(columns=["_rank"]), notes


class _Groups:
    """Rows grouped by device without moving them: precedence order within each group.

    Groups are numbered in order of first appearance (the order of `codes`); `order` lists
    the rows group by group, highest precedence first, so positions in it are "sorted".
    """

    def __init__(self, codes: np.ndarray, ranks: np.ndarray) -> None:
        size = len(codes)
        self.order = np.lexsort((ranks, codes))
        ordered = codes[self.order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self.sizes = np.diff(np.r_[self.starts, size])
        self.sorted_group = np.repeat(np.arange(len(self.starts)), self.sizes)
        self.of_row = np.empty(size, dtype=np.intp)  # each row's group
        self.of_row[self.order] = self.sorted_group
        self.rows = size

    def first(self, present: np.ndarray) -> np.ndarray:
        """Per group, the highest-precedence row where `present` holds (-1 when none does)."""
        position = self.first_position(present[self.order])
        return np.where(position < 0, -1, self.order[np.maximum(position, 0)])

    def first_position(self, present_sorted: np.ndarray) -> np.ndarray:
        """Like `first`, for a mask in sorted order, as sorted positions."""
        index = np.where(present_sorted, np.arange(self.rows), self.rows)
        first = np.minimum.reduceat(index, self.starts)
        return np.where(first == self.rows, -1, first)

    def members(self, group: int) -> np.ndarray:
        """The rows of one group, highest precedence first."""
        return self.order[self.starts[group] : self.starts[group] + self.sizes[group]]


def _keys(frame: pd.DataFrame) -> tuple[pd.Series, list[QualityNote]]:
    """Device id, else the one id that carries the same serial, else `serial:…`, else the record."""
    device, serial = frame["_id_key"], frame["_serial_key"]
    key = device.copy()
    notes: list[QualityNote] = []
    lacking = (device.isna() & serial.notna()).to_numpy(dtype=bool)
    if lacking.any():
        known = pd.DataFrame({"serial": serial, "key": device}).dropna().drop_duplicates()
        per_serial = known["serial"].value_counts()
        single = known[known["serial"].map(per_serial) == 1].set_index("serial")["key"]
        key[lacking] = serial[lacking].map(single).astype("string")
        ambiguous = lacking & serial.map(per_serial).fillna(0).gt(1).to_numpy(dtype=bool)
        if ambiguous.any():
            records = frame["source_record"][ambiguous].head(_EXAMPLES)
            notes.append(
                QualityNote(
                    "device_id",
                    "ambiguous_serial",
                    int(ambiguous.sum()),
                    tuple(
                        f"{r} has no device id and its serial belongs to several Intune "
                        "devices: kept as its own row"
                        for r in records
                    ),
                    sources_of(frame[ambiguous]),
                )
            )
        still = (key.isna() & serial.notna()).to_numpy(dtype=bool)
        key[still] = "serial:" + serial[still]
    orphan = key.isna().to_numpy(dtype=bool)
    key[orphan] = "record:" + frame["source_record"][orphan].fillna("?")
    return key, notes


def _merge(combined: pd.DataFrame, groups: _Groups) -> pd.DataFrame:
    """First non-NA value per group and field; paired fields from one record; lineage joined.

    A field no later step reads (`_READ_AFTER`) is dropped from `combined` once merged.
    """
    paired = {c for pair in _PAIRED.items() for c in (pair[0], *pair[1])}
    merged: dict[str, object] = {}
    for column in list(combined.columns):
        if column not in paired and column not in _LINEAGE:
            values = combined[column]
            merged[column] = _take(values, groups.first(values.notna().to_numpy(dtype=bool)))
            del values
            _drop_merged(combined, column)
    for canonical, companions in _PAIRED.items():
        values = combined[canonical]
        known = values.notna().to_numpy(dtype=bool)
        if canonical in _ENUMS:
            known = known & (values != "unknown").to_numpy(dtype=bool, na_value=False)
        raw = combined[companions[0]].notna().to_numpy(dtype=bool)
        best = groups.first(known)
        best = np.where(best < 0, groups.first(raw), best)
        del values
        for column in (canonical, *companions):
            merged[column] = _take(combined[column], best)
            _drop_merged(combined, column)
    source_codes, _ = pd.factorize(combined["source"])
    repeated = np.zeros(groups.rows, dtype=bool)  # a later record from the same file
    pair = groups.of_row.astype(np.int64) * (int(source_codes.max()) + 2) + source_codes + 1
    repeated[groups.order] = pd.Series(pair[groups.order]).duplicated().to_numpy()
    merged["source"] = _join(groups, combined["source"], ~repeated, few_texts=True)
    merged["source_record"] = _join(groups, combined["source_record"], None)
    return pd.DataFrame(merged)


def _drop_merged(combined: pd.DataFrame, column: str) -> None:
    """Drop a merged field from `combined` unless a later step reads it."""
    if column not in _READ_AFTER:
        del combined[column]


def _take(values: pd.Series, rows: np.ndarray) -> pd.Series:
    """values[rows] with -1 as NA, on a fresh 0…n-1 index."""
    return pd.Series(values.array.take(rows, allow_fill=True))


def _join(
    groups: _Groups, values: pd.Series, keep: np.ndarray | None, *, few_texts: bool = False
) -> pd.Series:
    """Per group, its values joined with "; " in precedence order (`keep` rows after the first).

    `few_texts`: the values are a few texts repeated (file names), joined once per sequence.
    """
    few = _join_few(groups, values, keep) if few_texts else None
    if few is not None:
        return few
    text = pa.array(values.fillna("?").astype("string").array)
    out = text.take(pa.array(groups.order[groups.starts]))
    for step in range(1, int(groups.sizes.max())):
        has = groups.sizes > step
        rows = np.where(has, groups.order[groups.starts + np.minimum(step, groups.sizes - 1)], 0)
        if keep is not None:
            has &= keep[rows]
        following = pc.if_else(
            pa.array(has), text.take(pa.array(rows)), pa.scalar(None, pa.string())
        )
        out = pc.binary_join_element_wise(
            out, following, pa.scalar("; ", text.type), null_handling="skip"
        )
    return pd.Series(pd.arrays.ArrowStringArray(out))


def _join_few(groups: _Groups, values: pd.Series, keep: np.ndarray | None) -> pd.Series | None:
    """`_join` for values with few distinct texts (the files a Mac came from), else None.

    Each group's sequence of value codes is one integer; only the distinct sequences are
    joined, then taken per group: at 500k Macs a few hundred strings built instead of three
    passes over half a million.
    """
    codes, uniques = pd.factorize(values.fillna("?").astype("string"))
    steps, base = int(groups.sizes.max(initial=0)), len(uniques) + 1
    if not steps or len(uniques) > _FEW_TEXTS or base**steps >= 2**62:
        return None
    key = np.zeros(len(groups.starts), dtype=np.int64)
    for step in range(steps):
        has = groups.sizes > step
        rows = np.where(has, groups.order[groups.starts + np.minimum(step, groups.sizes - 1)], 0)
        if keep is not None and step:
            has &= keep[rows]
        key = key * base + np.where(has, codes[rows] + 1, 0)
    distinct, inverse = np.unique(key, return_inverse=True)
    names = [str(u) for u in uniques]
    joined = []
    for number in distinct.tolist():
        parts = []
        for _ in range(steps):
            number, code = divmod(number, base)
            if code:
                parts.append(names[code - 1])
        joined.append("; ".join(reversed(parts)))
    return pd.Series(pd.array(np.asarray(joined, dtype=object)[inverse], dtype="string"))


def _conflicts(combined: pd.DataFrame, merged: pd.DataFrame, groups: _Groups) -> list[QualityNote]:
    """Fields on which two records of one device disagree, with both values quoted.

    Values are compared as integer codes (one hash per column); text that differs only in
    case is then checked for the fields where case does not matter.
    """
    several = (groups.sizes > 1)[groups.sorted_group]
    notes = []
    for field in _COMPARED:
        codes, uniques = pd.factorize(combined[field])
        ordered = codes[groups.order]
        present = several & (ordered >= 0)
        if field in _ENUMS and "unknown" in set(uniques):
            present &= ordered != list(uniques).index("unknown")
        first = groups.first_position(present)[groups.sorted_group]
        compare = np.flatnonzero(present & (first >= 0))
        differs = np.zeros(groups.rows, dtype=bool)
        differs[compare] = ordered[compare] != ordered[first[compare]]
        if field in _CASELESS and differs.any():  # "C02ABC" and "c02abc" agree
            folded = np.array([str(u).casefold() for u in uniques], dtype=object)
            rows = np.flatnonzero(differs)
            differs[rows] = folded[ordered[rows]] != folded[ordered[first[rows]]]
        if not differs.any():
            continue
        conflicting = np.unique(groups.sorted_group[differs])
        examples = tuple(
            _conflict_example(combined.iloc[groups.members(g)], field, merged.iloc[[g]])
            for g in conflicting[:_EXAMPLES]
        )
        rows = np.concatenate([groups.members(g) for g in conflicting])
        source = sources_of(combined.iloc[rows])
        notes.append(QualityNote(field, "conflict", len(conflicting), examples, source))
    return notes


def _conflict_example(rows: pd.DataFrame, field: str, kept: pd.DataFrame) -> str:
    who = describe_rows(kept).iloc[0]
    said = "; ".join(
        f"{LABELS[DEVICE_KINDS[rank]]} {source} says {_show(value)}"
        for rank, source, value in zip(rows["_rank"], rows["source"], rows[field], strict=True)
        if not pd.isna(value)
    )
    return f"{who}: {field}: {said} → kept {_show(kept[field].iloc[0])}"


def _show(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return repr(str(value))


def _duplicate_records(combined: pd.DataFrame, groups: _Groups) -> list[QualityNote]:
    """One input listing the same device twice: merged into one row, and said so."""
    source_codes, sources = pd.factorize(combined["source"])
    per_group = (source_codes + 1) * len(DEVICE_KINDS) + combined["_rank"].to_numpy()
    twice = groups.of_row.astype(np.int64) * (len(sources) + 1) * len(DEVICE_KINDS) + per_group
    repeated = pd.Series(twice).duplicated(keep=False).to_numpy(dtype=bool)
    if not repeated.any():
        return []
    examples = []
    for g in np.unique(groups.of_row[repeated])[:_EXAMPLES]:
        rows = combined.iloc[groups.members(g)]
        records = ", ".join(rows["source_record"].head(_RECORDS_NAMED).fillna("?"))
        if len(rows) > _RECORDS_NAMED:  # a log folder may hold one Mac thousands of times
            records += f" and {len(rows) - _RECORDS_NAMED:,} more"
        examples.append(f"{describe_rows(rows.iloc[:1]).iloc[0]}: {records}")
    affected = len(np.unique(groups.of_row[repeated]))
    source = sources_of(combined[repeated])
    return [QualityNote("device_id", "duplicate_record", affected, tuple(examples), source)]


def _fill_device_id(merged: pd.DataFrame, notes: list[QualityNote]) -> pd.DataFrame:
    lacking = merged["device_id"].isna()
    if lacking.any():
        examples = tuple(describe_rows(merged[lacking].head(_EXAMPLES)))
        source = sources_of(merged[lacking])
        notes.append(QualityNote("device_id", "missing", int(lacking.sum()), examples, source))
        merged["device_id"] = merged["device_id"].fillna(merged[KEY].astype("string"))
    return merged


def _absent_from_inputs(
    combined: pd.DataFrame, merged: pd.DataFrame, group_of_row: np.ndarray
) -> list[QualityNote]:
    """Devices one kind of input has and another lacks (Graph list vs export vs CSV).

    Single-GET detail files are left out: they cover the devices asked for, by design.
    """
    rank_of_row = combined["_rank"].to_numpy()
    ranks = sorted(r for r in np.unique(rank_of_row) if DEVICE_KINDS[r] != "graph_device_details")
    if len(ranks) < 2:
        return []
    notes = []
    for rank in ranks:
        absent = np.ones(len(merged), dtype=bool)
        absent[group_of_row[rank_of_row == rank]] = False
        if absent.any():
            sources = combined["source"][rank_of_row == rank].unique()
            where = f"{LABELS[DEVICE_KINDS[rank]]} ({', '.join(map(str, sources))})"
            notes.append(
                QualityNote(
                    "device_id",
                    "absent_from_input",
                    int(absent.sum()),
                    tuple(
                        f"{w} is not in the {where}"
                        for w in describe_rows(merged[absent].head(_EXAMPLES))
                    ),
                    ", ".join(map(str, sources)),
                )
            )
    return notes
