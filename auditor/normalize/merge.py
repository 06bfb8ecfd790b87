"""Several inputs' records of one Mac → one row; conflicts and merges recorded, never silent.

Records match by Intune device id (case-insensitive); a record without an id matches by
serial number when exactly one device carries that serial. Each field takes the value of
the highest-precedence record that has one (Graph single GET > Graph list > Devices export
> admin-center CSV); where two records disagree, a `conflict` note quotes both values and
the one kept. Fields that travel together (a version and its build, an enum and its raw
value) come from the same record.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from auditor.models import QualityNote
from auditor.normalize.fields import DEVICE_KINDS, LABELS, describe_rows

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
_EXAMPLES = 5
KEY = "_key"


def merge_devices(parts: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, list[QualityNote]]:
    """One row per device (column `_key` kept for the caller), plus merge and conflict notes."""
    combined = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    combined = combined.reset_index(drop=True)
    key, notes = _keys(combined)
    combined[KEY] = key
    if key.is_unique:
        merged = combined
    else:
        combined = combined.sort_values([KEY, "_rank"], kind="stable", ignore_index=True)
        merged = _merge_sorted(combined)
        notes += _conflicts(combined, merged)
        notes += _duplicate_records(combined)
    merged = _fill_device_id(merged, notes)
    notes += _absent_from_inputs(combined, merged)
    return merged.drop(columns=["_rank"]), notes


def _keys(frame: pd.DataFrame) -> tuple[pd.Series, list[QualityNote]]:
    """Device id, else the one id that carries the same serial, else `serial:…`, else the record."""
    device = frame["_id_key"].astype(object).where(frame["_id_key"].notna(), None)
    serial = frame["_serial_key"].astype(object).where(frame["_serial_key"].notna(), None)
    key = device.copy()
    notes: list[QualityNote] = []
    lacking = (device.isna() & serial.notna()).to_numpy(dtype=bool)
    if lacking.any():
        known = pd.DataFrame({"serial": serial, "key": device}).dropna().drop_duplicates()
        per_serial = known["serial"].value_counts()
        single = known[known["serial"].map(per_serial) == 1].set_index("serial")["key"]
        key[lacking] = serial[lacking].map(single)
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
                )
            )
        still = (key.isna() & serial.notna()).to_numpy(dtype=bool)
        key[still] = "serial:" + serial[still]
    orphan = key.isna().to_numpy(dtype=bool)
    key[orphan] = "record:" + frame["source_record"][orphan].astype(object).fillna("?")
    return key, notes


def _merge_sorted(combined: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by key then precedence → first non-NA per field; paired fields by record."""
    groups = combined.groupby(KEY, sort=False)
    paired = {c for pair in _PAIRED.items() for c in (pair[0], *pair[1])}
    plain = [c for c in combined.columns if c not in paired and c not in (KEY, *_LINEAGE)]
    merged = groups[plain].first()
    for canonical, companions in _PAIRED.items():
        values = combined[canonical]
        weak = (
            values.isna() | (values == "unknown").fillna(False)
            if canonical in _ENUMS
            else values.isna()
        )
        empty = combined[companions[0]].isna() & values.isna()
        score = combined["_rank"] + 100 * weak.astype(int) + 1000 * empty.astype(int)
        best = score.groupby(combined[KEY], sort=False).idxmin()
        chosen = combined.loc[best.to_numpy(), [canonical, *companions]]
        chosen.index = best.index
        merged[[canonical, *companions]] = chosen
    codes = pd.factorize(combined[KEY])[0]
    position = groups.cumcount().to_numpy()
    distinct = ~combined.duplicated([KEY, "source"]).to_numpy()
    merged["source"] = _join(codes, position, combined["source"], distinct)
    merged["source_record"] = _join(codes, position, combined["source_record"], None)
    merged[KEY] = merged.index
    return merged.reset_index(drop=True)


def _join(
    codes: np.ndarray, position: np.ndarray, values: pd.Series, keep: np.ndarray | None
) -> np.ndarray:
    """Per group (rows sorted by group), its values joined with "; " in row order."""
    text = values.fillna("?").to_numpy(dtype=object)
    out = np.empty(codes.max() + 1, dtype=object)
    first = position == 0
    out[codes[first]] = text[first]
    for step in range(1, int(position.max()) + 1):
        rows = position == step
        if keep is not None:
            rows &= keep
        out[codes[rows]] = out[codes[rows]] + "; " + text[rows]
    return out


def _conflicts(combined: pd.DataFrame, merged: pd.DataFrame) -> list[QualityNote]:
    """Fields on which two records of one device disagree, with both values quoted."""
    size = combined.groupby(KEY, sort=False)[KEY].transform("size")
    multi = combined[size.to_numpy() > 1]
    kept = merged.set_index(KEY)
    notes = []
    for field in _COMPARED:
        values = multi[field]
        if field in _CASELESS:
            values = values.str.casefold()
        if field in _ENUMS:
            values = values.mask(values == "unknown")
        first = values.groupby(multi[KEY], sort=False).transform("first")
        differs = (values != first).to_numpy(dtype=bool, na_value=False)
        if not differs.any():
            continue
        keys = pd.unique(multi[KEY][differs])
        examples = tuple(
            _conflict_example(multi[multi[KEY] == k], field, kept.loc[[k]])
            for k in keys[:_EXAMPLES]
        )
        notes.append(QualityNote(field, "conflict", len(keys), examples))
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


def _duplicate_records(combined: pd.DataFrame) -> list[QualityNote]:
    """One input listing the same device twice: merged into one row, and said so."""
    twice = combined.duplicated([KEY, "source", "_rank"], keep=False)
    if not twice.any():
        return []
    rows = combined[twice]
    keys = pd.unique(rows[KEY])
    examples = tuple(
        f"{describe_rows(g.iloc[:1]).iloc[0]}: " + ", ".join(g["source_record"].fillna("?"))
        for _, g in rows[rows[KEY].isin(keys[:_EXAMPLES])].groupby(KEY, sort=False)
    )
    return [QualityNote("device_id", "duplicate_record", len(keys), examples)]


def _fill_device_id(merged: pd.DataFrame, notes: list[QualityNote]) -> pd.DataFrame:
    lacking = merged["device_id"].isna()
    if lacking.any():
        examples = tuple(describe_rows(merged[lacking].head(_EXAMPLES)))
        notes.append(QualityNote("device_id", "missing", int(lacking.sum()), examples))
        merged["device_id"] = merged["device_id"].fillna(merged[KEY].astype("string"))
    return merged


def _absent_from_inputs(combined: pd.DataFrame, merged: pd.DataFrame) -> list[QualityNote]:
    """Devices one kind of input has and another lacks (Graph list vs export vs CSV).

    Single-GET detail files are left out: they cover the devices asked for, by design.
    """
    kinds = combined["_rank"].unique()
    ranks = sorted(r for r in kinds if DEVICE_KINDS[r] != "graph_device_details")
    if len(ranks) < 2:
        return []
    present = combined[[KEY, "_rank"]].drop_duplicates()
    notes = []
    for rank in ranks:
        absent = ~merged[KEY].isin(present[KEY][present["_rank"] == rank])
        if absent.any():
            sources = combined["source"][combined["_rank"] == rank].unique()
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
