"""One device batch (Graph, export, diagnostic log, CSV) → canonical typed columns, with notes.

Where each canonical field comes from is `columns.SOURCE_COLUMNS` (every spelling of every
source column); what a record could have carried is `provenance` (a single GET's `$select`,
whether a profile name was sent). A field the source did not carry, or carried only as a
documented default, is NA here: the rules that need it say `unknown`, never pass or fail on it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from auditor.models import BatchKind, QualityNote, RawBatch
from auditor.normalize.columns import (
    CONTEXT_COLUMN,
    DATE_WITNESSES,
    SOURCE_COLUMNS,
    BatchColumns,
)
from auditor.normalize.dates import datetime_column, slash_order
from auditor.normalize.owners import tag_id_text
from auditor.normalize.provenance import (
    newest_first,
    profile_carried_column,
    selected_members,
    unselected_notes,
)
from auditor.normalize.text import capped, safe_text, text_notes, without_controls
from auditor.normalize.values import (
    Parsed,
    boolean_column,
    coalesce,
    enum_column,
    factorize,
    keyed_text_column,
    take,
    text_column,
    token,
)
from auditor.normalize.vocabulary import ENUMS, MACOS_NAMES
from auditor.refdata.hardware import UNKNOWN, chip_of_model, model_parts
from auditor.refdata.versions import parse_version_column

SOURCE_FILE = "source_file"
"""Raw column naming each row's input file when batches of several files were joined."""

DEVICE_KINDS = (
    BatchKind.GRAPH_DEVICE_DETAILS,
    BatchKind.GRAPH_DEVICES,
    BatchKind.EXPORT_DEVICES,
    BatchKind.DEVICES_LOG,
    BatchKind.ADMIN_CENTER_CSV,
)
"""Device batch kinds, highest precedence first: single GET > list > export > log > CSV."""

LABELS = {
    BatchKind.GRAPH_DEVICE_DETAILS: "Graph single GET",
    BatchKind.GRAPH_DEVICES: "Graph list",
    BatchKind.EXPORT_DEVICES: "Devices export",
    BatchKind.DEVICES_LOG: "Intune Devices log",
    BatchKind.ADMIN_CENTER_CSV: "admin-center CSV",
}

# Nearly every value distinct (cleaned in bulk) vs few distinct values (cleaned once each).
_IDENTIFYING = ("device_id", "device_name", "serial_number", "udid", "upn", "enrolled_by_upn")
_REPEATED = (
    "model",
    "enrollment_profile",
    "os_version_raw",
    "user_display_name",
    "device_category",
)
_BOOLEANS = ("is_supervised", "is_encrypted", "user_approved", "bootstrap_escrowed")
_DATES = ("enrolled_at", "last_sync_at")
_EXAMPLES = 5
_SOURCES_NAMED = 3


def device_columns(batch: RawBatch, notes: list[QualityNote]) -> tuple[pd.DataFrame, pd.Series]:
    """Canonical typed columns of the Macs in one device batch, and the ids of the others.

    Records whose operating system is known and not macOS are set aside first (counted in
    a `not_macos` note), then records that carry no identifier at all (no id, serial or
    name; a `no_identifier` note). Values present but unreadable (dates, booleans,
    versions) or outside an enum are appended to `notes` with up to five examples; they
    become NA (`unknown` for enums). Values a record could not have carried (a list's
    defaults, members a single GET did not select) are NA with a `default_not_read` note.
    The frame also holds the work columns `enrollment_type`, `_rank`, `_id_key`,
    `_serial_key` and `_profile_carried` (see `schema.WORK_COLUMNS`).
    """
    source = BatchColumns(batch.kind, newest_first(batch))
    other_ids = pd.Series([], dtype="string")
    system = _safe(
        "operating_system",
        text_column(source.field("operating_system"), distinct=True),
        _records_of(source.records),
        batch,
        notes,
    )
    is_mac = _is_macos(system)
    if not is_mac.all():
        ordered = source.records
        notes += _other_platform_notes(batch, ordered, system, is_mac)
        other_ids = text_column(BatchColumns(batch.kind, ordered[~is_mac]).field("device_id"))
        source = BatchColumns(batch.kind, ordered[is_mac])
        system = system[is_mac]
    records = source.records
    whole_entity = (source.field("device_name").notna() | system.notna()).to_numpy(dtype=bool)
    context = source.column((CONTEXT_COLUMN,))
    if context is None:
        context = _na(records.index)
    source.masks.update(selected_members(batch.kind, context, whole_entity))
    notes += unselected_notes(batch, source, context)

    out = pd.DataFrame(index=records.index)
    # matching keys, computed once: ids compare case-insensitively, serials upper-cased
    out["device_id"], out["_id_key"] = keyed_text_column(source.field("device_id"), str.casefold)
    out["serial_number"], out["_serial_key"] = keyed_text_column(
        source.field("serial_number"), str.upper
    )
    for field in _IDENTIFYING:
        if field not in out.columns:
            out[field] = text_column(source.field(field))
    for field in _REPEATED:
        out[field] = text_column(source.field(field), distinct=True)
    out["_profile_carried"] = profile_carried_column(
        source, out["enrollment_profile"], context, whole_entity
    )
    out["operating_system"] = system
    out["scope_tag_ids"] = tag_id_text(source.field("scope_tag_ids"))
    out["model_identifier"] = _model_identifier(source)
    parsed: dict[str, tuple[Parsed, str]] = {}
    for field in _BOOLEANS:
        parsed[field] = (boolean_column(source.field(field)), "unparseable")
    dates = {field: source.field(field) for field in _DATES}
    witnesses = [c for s in DATE_WITNESSES if (c := source.column(s)) is not None]
    day_first = slash_order([*dates.values(), *witnesses])
    for field, raw in dates.items():
        parsed[field] = (datetime_column(raw, day_first=day_first), "unparseable")
    for field, table in ENUMS.items():
        parsed[field] = (enum_column(source.field(f"{field}_raw"), table), "unknown_value")
        out[f"{field}_raw"] = parsed[field][0].text
    for field, (result, _) in parsed.items():
        out[field] = result.values
    versions = parse_version_column(out["os_version_raw"])
    out[list(versions.columns)] = versions
    unparsed = out["os_version_raw"].notna() & versions["os_version"].isna()
    parsed["os_version"] = (
        Parsed(versions["os_version"], unparsed.to_numpy(dtype=bool), out["os_version_raw"]),
        "unparseable",
    )
    out["source"] = records[SOURCE_FILE] if SOURCE_FILE in records.columns else batch.source
    out["source_record"] = (
        records["source_record"].astype("string")
        if "source_record" in records.columns
        else _na(records.index)
    )
    out["_rank"] = DEVICE_KINDS.index(batch.kind)
    _safe_texts(out, batch, notes)
    notes += [
        _failure_note(field, problem, result, out, batch)
        for field, (result, problem) in parsed.items()
        if result.failed.any()
    ]
    return _identified(out, notes), other_ids


_TEXTS = (*_IDENTIFYING, *_REPEATED, "model_identifier", *(f"{f}_raw" for f in ENUMS))
_KEYS = {"device_id": ("_id_key", str.casefold), "serial_number": ("_serial_key", str.upper)}


def _safe_texts(out: pd.DataFrame, batch: RawBatch, notes: list[QualityNote]) -> None:
    """Every text the input gave, controls removed and cut to `TEXT_LIMIT`, with notes.

    A changed id or serial number gets its matching key again: keyed, then cut, so values
    that match (case aside) still match after the cut.
    """
    changed = []
    for field in _TEXTS:
        safe = safe_text(out[field])
        if not (safe.removed or safe.cuts):
            continue
        changed.append((field, safe))
        if field in _KEYS:  # keyed before the cut: the digest of the case-folded whole value
            key, keyed = _KEYS[field]
            rows = safe.changed
            out.loc[rows, key] = [
                capped(keyed(without_controls(v).strip())) if isinstance(v, str) else None
                for v in out[field][rows]
            ]
        out[field] = safe.values
    if changed:
        handles = describe_rows(out)  # from the safe values: a note never quotes a control
        for field, safe in changed:
            notes += text_notes(field, safe, handles, lambda rows: sources_of(out[rows]))


def _safe(
    field: str, text: pd.Series, handles: pd.Series, batch: RawBatch, notes: list[QualityNote]
) -> pd.Series:
    """`text` made safe (`text.safe_text`), its notes naming rows by `handles`."""
    safe = safe_text(text)
    if safe.removed or safe.cuts:
        notes += text_notes(field, safe, handles, lambda _: batch.source)
    return safe.values


def _records_of(records: pd.DataFrame) -> pd.Series:
    if "source_record" in records.columns:
        return records["source_record"].astype(object).fillna("?")
    return pd.Series("?", index=records.index, dtype=object)


def _is_macos(system: pd.Series) -> npt.NDArray[np.bool_]:
    """True for macOS and for records that do not say (kept, never guessed away)."""
    codes, uniques = factorize(system)
    table = np.array([token(str(u)) in MACOS_NAMES for u in uniques] + [True], dtype=bool)
    return table.take(np.where(codes < 0, len(uniques), codes))


def sources_of(rows: pd.DataFrame) -> str:
    """The input files some device rows came from, in order, as a note's `source`.

    Merged rows name several files ("a.json; b.csv"); past four, all but three are counted.
    """
    merged = rows["source"].dropna().unique()  # few distinct values, however many rows
    files = dict.fromkeys(f for s in merged for f in str(s).split("; "))
    names = list(files)
    if len(names) <= _SOURCES_NAMED + 1:
        return ", ".join(names)
    rest = len(names) - _SOURCES_NAMED
    return ", ".join(names[:_SOURCES_NAMED]) + f" and {rest} more files"


def _other_platform_notes(
    batch: RawBatch, records: pd.DataFrame, system: pd.Series, is_mac: npt.NDArray[np.bool_]
) -> list[QualityNote]:
    """Per input file, how many records of which other platforms were set aside."""
    files = (
        records[SOURCE_FILE]
        if SOURCE_FILE in records.columns
        else pd.Series(batch.source, index=system.index)
    )
    notes = []
    for source, others in system[~is_mac].groupby(files[~is_mac], sort=False):
        examples = tuple(
            f"{n} {name} device{'s' if n != 1 else ''} ignored"
            for name, n in others.value_counts().items()
        )
        notes.append(
            QualityNote(
                "operating_system", "not_macos", len(others), examples[:_EXAMPLES], str(source)
            )
        )
    return notes


def describe_rows(frame: pd.DataFrame) -> pd.Series:
    """A human handle per row for examples: `name (serial)`, else the id or the record."""
    name = (
        frame["device_name"].fillna(frame["device_id"]).fillna(frame["source_record"]).fillna("?")
    )
    serial = frame["serial_number"]
    return name.where(serial.isna(), name + " (" + serial.fillna("") + ")").astype(object)


def _model_identifier(source: BatchColumns) -> pd.Series:
    """The first candidate that is a model identifier; marketing names give NA."""
    found = []
    for spellings in SOURCE_COLUMNS[source.kind]["model_identifier"]:
        column = source.column(spellings)
        if column is not None:
            values = text_column(column, distinct=True)
            codes, uniques = factorize(values)
            known = [u if _is_identifier(str(u)) else None for u in uniques]
            found.append(take(known, codes, "string", values.index))
    return coalesce(found) if found else _na(source.records.index)


def _identified(out: pd.DataFrame, notes: list[QualityNote]) -> pd.DataFrame:
    """The rows that carry an id, a serial or a name; the others are counted, never kept."""
    anonymous = (
        out["device_id"].isna() & out["serial_number"].isna() & out["device_name"].isna()
    ).to_numpy(dtype=bool)
    if not anonymous.any():
        return out
    records = out["source_record"][anonymous].fillna("?").head(_EXAMPLES)
    notes.append(
        QualityNote(
            "device_id",
            "no_identifier",
            int(anonymous.sum()),
            tuple(f"{r}: no id, serial number or name; not counted as a Mac" for r in records),
            sources_of(out[anonymous]),
        )
    )
    return out[~anonymous]


def _is_identifier(text: str) -> bool:
    return model_parts(text) is not None or chip_of_model(text) != UNKNOWN


def _failure_note(
    field: str, problem: str, result: Parsed, out: pd.DataFrame, batch: RawBatch
) -> QualityNote:
    rows = np.flatnonzero(result.failed)[:_EXAMPLES]
    who = describe_rows(out.iloc[rows])
    examples = tuple(
        f"{w}: {capped(v)!r}" for w, v in zip(who, result.text.iloc[rows], strict=True)
    )
    return QualityNote(
        field, problem, int(result.failed.sum()), examples, sources_of(out[result.failed])
    )


def _na(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="string")
