"""What a record could have carried: a single GET's `$select`, whether a profile name was sent.

A value the source could not have carried is missing, never a default taken as fact. A GET
by id carries `bootstrapTokenEscrowed` and `hardwareInformation` as values only when its
`$select` named them (microsoft-graph-docs-contrib#8667, beta `managedDevice` page); its
`@odata.context` says which were selected:
`…/$metadata#deviceManagement/managedDevices(id,bootstrapTokenEscrowed)/$entity` versus
`…/$metadata#deviceManagement/managedDevices/$entity` (none). A record saved without its
context counts as selected when it is not the whole entity (a GET without `$select` returns
every member, `deviceName` and `operatingSystem` among them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from auditor.models import BatchKind, QualityNote, RawBatch
from auditor.normalize.columns import (
    LOG_TIME_COLUMN,
    SELECTED_ONLY,
    SOURCE_COLUMNS,
    BatchColumns,
)
from auditor.normalize.dates import datetime_column
from auditor.normalize.values import factorize

_EXAMPLES = 5

Mask = npt.NDArray[np.bool_]

_SELECT = re.compile(r"managedDevices\(([^)]*)\)/\$entity", re.IGNORECASE)
_ENTITY = re.compile(r"managedDevices(?:\([^)]*\))?/\$entity", re.IGNORECASE)


def selected_members(
    kind: BatchKind, context: pd.Series, is_whole_entity: Mask
) -> Mapping[str, Mask]:
    """Per member of `SELECTED_ONLY`, the rows whose record really carried it.

    Args:
        kind: the batch kind (only single GETs carry these members at all).
        context: each record's `@odata.context` (NA when it was not saved).
        is_whole_entity: rows that hold the whole entity (a GET without `$select`).
    """
    if kind != BatchKind.GRAPH_DEVICE_DETAILS:
        return {member: np.zeros(len(context), dtype=bool) for member in SELECTED_ONLY}
    no_context = context.isna().to_numpy(dtype=bool)
    return {
        member: context_selects(context, member) | (no_context & ~is_whole_entity)
        for member in SELECTED_ONLY
    }


def profile_carried(
    kind: BatchKind, context: pd.Series, is_whole_entity: Mask, has_value: Mask
) -> Mask:
    """Rows whose record carried `enrollmentProfileName` (an empty one means no profile).

    A Graph list never does (null for every device); a GET by id does, unless its
    `$select` left the member out; a context-less partial record only when it has a value.
    Callers handle the other kinds (an export carries it when it has the column).
    """
    if kind == BatchKind.GRAPH_DEVICES:
        return np.zeros(len(context), dtype=bool)
    no_context = context.isna().to_numpy(dtype=bool)
    return (
        context_selects(context, "enrollmentProfileName")
        | is_unselected_entity(context)
        | (no_context & (is_whole_entity | has_value))
    )


def context_selects(context: pd.Series, member: str) -> Mask:
    """Rows whose `@odata.context` is a single GET whose `$select` names `member`."""
    codes, contexts = factorize(context)
    named = [_names(str(c), member) for c in contexts]
    table = np.array([*named, False], dtype=bool)
    return table.take(np.where(codes < 0, len(named), codes))


def _names(context: str, member: str) -> bool:
    match = _SELECT.search(context)
    if match is None:
        return False  # `…/$entity` without a selection, or not a single GET's context
    return member.casefold() in {m.strip().casefold() for m in match[1].split(",")}


def is_unselected_entity(context: pd.Series) -> Mask:
    """Rows whose context is a single GET's `…/$entity` without any `$select`."""
    codes, contexts = factorize(context)
    plain = [bool(_ENTITY.search(str(c))) and _SELECT.search(str(c)) is None for c in contexts]
    table = np.array([*plain, False], dtype=bool)
    return table.take(np.where(codes < 0, len(plain), codes))


def newest_first(batch: RawBatch) -> pd.DataFrame:
    """Diagnostic records newest first: where a log holds a Mac twice, its latest state wins.

    Intune streams the whole Devices report at every export, so a storage folder of several
    exports holds each Mac several times; merging keeps the first record of a kind.
    """
    records = batch.records
    if batch.kind != BatchKind.DEVICES_LOG:
        return records
    column = BatchColumns(batch.kind, records).column((LOG_TIME_COLUMN,))
    if column is None:
        return records
    times = datetime_column(column).values
    ticks = times.to_numpy(dtype="datetime64[us]").astype("int64")
    key = np.where(times.isna().to_numpy(), np.iinfo(np.int64).max, -ticks)  # NaT last
    return records.iloc[np.argsort(key, kind="stable")]


def profile_carried_column(
    source: BatchColumns,
    profile: pd.Series,
    context: pd.Series,
    whole_entity: npt.NDArray[np.bool_],
) -> pd.Series:
    """True where the record carried an enrollment profile name (empty means none); else NA."""
    candidates = SOURCE_COLUMNS[source.kind].get("enrollment_profile", ())
    has_value = profile.notna().to_numpy(dtype=bool)
    if not any(source.has(s) for s in candidates):
        carried = np.zeros(len(profile), dtype=bool)
    elif source.kind == BatchKind.GRAPH_DEVICE_DETAILS:
        carried = profile_carried(source.kind, context, whole_entity, has_value)
    else:
        carried = np.ones(len(profile), dtype=bool)
    flags = pd.Series(pd.NA, index=profile.index, dtype="boolean")
    flags[carried] = True
    return flags


def unselected_notes(
    batch: RawBatch, source: BatchColumns, context: pd.Series
) -> list[QualityNote]:
    """Single GETs whose `$select` left out a member that then arrived as a default."""
    if batch.kind != BatchKind.GRAPH_DEVICE_DETAILS:
        return []
    notes = []
    for member in sorted(SELECTED_ONLY):
        present = [c for k, cols in source.by_key.items() if k.split(".", 1)[0] == member
                   for c in cols]  # fmt: skip
        if not present:
            continue
        has_value = source.records[present].notna().any(axis=1).to_numpy(dtype=bool)
        dropped = has_value & ~source.masks[member]
        if not dropped.any():
            continue
        records = source.records.get("source_record", pd.Series("?", index=source.records.index))
        where = tuple(map(str, records[dropped].head(_EXAMPLES)))
        field = "bootstrap_escrowed" if member == "bootstrapTokenEscrowed" else "model_identifier"
        notes.append(
            QualityNote(
                field,
                "default_not_read",
                int(dropped.sum()),
                tuple(
                    f"{w}: a GET by id without $select={member} returns a default, not the "
                    "device's value; not read"
                    for w in where
                ),
                batch.source,
            )
        )
    return notes
