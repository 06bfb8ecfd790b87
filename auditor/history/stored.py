"""A run in stored form: its non-passing results numbered into rule and entity rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditor.history.schema import ENTITY_COLUMNS, FAIL, STATUS_CODES
from auditor.models import Entity, RunMeta, Severity
from auditor.posture import SERIOUS

_NAMES = {Entity.DEVICE: "device_name", Entity.ADE_TOKEN: "token_name"}
_SEVERITIES = np.array([s.value for s in Severity], dtype=object)
_SERIOUS = [s.value for s in SERIOUS]


@dataclass(slots=True)
class StoredRun:
    """One period in stored form: non-pass `results` number into `rules` and `entities` rows."""

    tenant_id: str
    period: str
    as_of: str
    rules: pd.DataFrame  # rule_id, severity, a count per status; row = rule_no
    entities: pd.DataFrame  # ENTITY_COLUMNS; row = entity_no
    results: pd.DataFrame  # rule_no, entity_no, status, first_seen, waiver_id, cause
    devices: int
    failing_devices: int  # Macs with any failing result
    critical_high_devices: int  # Macs with a failing critical or high result
    keys: pd.Index  # `type<US>id` of each entity, for matching across periods


def stored_run(
    results: pd.DataFrame, frames: Mapping[str, pd.DataFrame], meta: RunMeta
) -> StoredRun:
    """The stored form of an in-memory run, built column-wise (no per-row Python)."""
    entities, offsets, keys = _entities(frames)
    rule_ids = _labels(results["rule_id"])
    rule = _codes(results["rule_id"], rule_ids)
    status = _codes(results["status"], STATUS_CODES)
    severity = _codes(results["severity"], _SEVERITIES)
    kind = _codes(results["entity_type"], [e.value for e in Entity])
    if any((codes < 0).any() for codes in (status, severity, kind, offsets[kind])):
        raise ValueError("results hold a status, severity or entity type history cannot store")
    width = len(STATUS_CODES)
    counts = np.bincount(rule * width + status, minlength=len(rule_ids) * width)
    rules = pd.DataFrame(counts.reshape(-1, width), columns=list(STATUS_CODES))
    severity_of_rule = np.zeros(len(rule_ids), dtype=np.int64)
    severity_of_rule[rule] = severity
    rules.insert(0, "rule_id", rule_ids)
    rules.insert(1, "severity", _SEVERITIES[severity_of_rule])
    kept = np.flatnonzero(status > 0)
    entity_no = offsets[kind[kept]] + results["row"].to_numpy(dtype=np.int64)[kept]
    order = np.lexsort((entity_no, rule[kept]))
    kept, entity_no = kept[order], entity_no[order]
    waivers = results["waiver_id"].to_numpy(dtype=object)[kept] if "waiver_id" in results else None
    stored = pd.DataFrame({
        "rule_no": rule[kept],
        "entity_no": entity_no,
        "status": status[kept],
        "first_seen": pd.Series(None, index=range(len(kept)), dtype=object),
        "waiver_id": pd.Series(waivers, index=range(len(kept)), dtype=object),
        "cause": pd.Series(None, index=range(len(kept)), dtype=object),
    })  # fmt: skip
    is_device = entities["entity_type"].to_numpy(dtype=object) == Entity.DEVICE.value
    failing = entity_no[status[kept] == FAIL]
    per_device = np.bincount(failing[is_device[failing]], minlength=len(entities))
    serious = failing[np.isin(_SEVERITIES[severity[kept]][status[kept] == FAIL], _SERIOUS)]
    per_device_serious = np.bincount(serious[is_device[serious]], minlength=len(entities))
    return StoredRun(meta.tenant_id, meta.period, meta.as_of.isoformat(), rules, entities, stored,
                     int(is_device.sum()), int(np.count_nonzero(per_device)),
                     int(np.count_nonzero(per_device_serious)), keys)  # fmt: skip


def _entities(frames: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, np.ndarray, pd.Index]:
    """Every entity the frames hold, the row where each entity type starts (-1: absent), keys."""
    offsets = np.full(len(Entity), -1, dtype=np.int64)
    parts, start = [], 0
    for i, entity in enumerate(Entity):
        frame = frames.get(entity.dataset)
        if frame is None:
            continue
        offsets[i], start = start, start + len(frame)
        parts.append(pd.DataFrame({
            "entity_type": pd.Series(entity.value, index=frame.index, dtype="string"),
            "entity_id": _column(frame, entity.id_column).fillna(""),  # still a key when NA
            "serial_number": _column(frame, "serial_number" if entity == Entity.DEVICE else ""),
            "name": _column(frame, _NAMES.get(entity, entity.id_column)),
        }))  # fmt: skip
    if not parts:
        parts.append(pd.DataFrame({c: pd.Series(dtype="string") for c in ENTITY_COLUMNS}))
    entities = pd.concat(parts, ignore_index=True)
    keys = entity_keys(entities)
    if not keys.is_unique:
        raise ValueError("entity ids must be unique within a run to be tracked over time")
    return entities, offsets, keys


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame[name].astype("string")


def entity_keys(entities: pd.DataFrame) -> pd.Index:
    """`type<US>id` per entity: one hashable key (US sorts before any printable character)."""
    kinds = entities["entity_type"].to_numpy(dtype=object)
    keys: np.ndarray = kinds + "\x1f" + entities["entity_id"].to_numpy(dtype=object)
    index: pd.Index = pd.Index(keys, dtype=object)
    return index


def _labels(values: pd.Series) -> list[str]:
    """The distinct values present, sorted."""
    return sorted(str(v) for v in pd.unique(values) if not pd.isna(v))


def _codes(values: pd.Series, labels: Sequence[str] | np.ndarray) -> np.ndarray:
    """Position of each value in `labels` (-1 when absent), through categorical codes: fast."""
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    lookup = pd.Index(labels).get_indexer(cat.cat.categories.astype(str))
    return np.append(lookup, -1)[cat.cat.codes.to_numpy()]
