"""Raw batches → the canonical typed frames an audit evaluates, with a data-quality report.

`normalize` is the entry point. Nothing is dropped silently: records of other platforms are
counted, records of one Mac from several inputs are merged (precedence: Graph single GET >
Graph list > Devices export > admin-center CSV) with their conflicts recorded, and every
missing, unparseable or unknown value is counted with examples in `Inventory.quality`.
Device rows come in the order devices first appear in the batches. The frames' columns are
documented in `schema.py` (docs/schema.md, printed by `python -m auditor.normalize`).

Modules: `fields` (source columns → typed canonical columns), `values` (the parsers),
`merge`, `derive` (chip, VM, enrollment method), `quality`, `tenant`, `schema`, and for the
population and policy frames `population` (ADE identities), `vpp`, `compliance`.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence, Sequence

import numpy as np
import pandas as pd

from auditor.clock import release_freed_memory
from auditor.models import BatchKind, InputFile, Inventory, QualityNote, RawBatch, SourceGap
from auditor.normalize.compliance import (
    ASSIGNMENTS,
    POLICIES,
    SETTINGS,
    compliance_columns,
    compliance_policy_frame,
)
from auditor.normalize.derive import add_enrollment, add_hardware
from auditor.normalize.fields import DEVICE_KINDS, SOURCE_FILE, device_columns, sources_of
from auditor.normalize.merge import KEY, merge_devices
from auditor.normalize.owners import add_owners
from auditor.normalize.population import (
    IDENTITIES,
    add_abm_assignment,
    identity_frame,
    identity_rows,
)
from auditor.normalize.quality import duplicate_serial_notes, missing_notes
from auditor.normalize.schema import (
    ADE_TOKEN_SCHEMA,
    DEM_ACCOUNT_SCHEMA,
    DEVICE_SCHEMA,
    SCHEMAS,
    TENANT_SCHEMA,
    WORK_COLUMNS,
    conform,
    empty_frame,
    schema_markdown,
)
from auditor.normalize.tenant import (
    ade_profile_names,
    ade_token_frame,
    dem_account_frame,
    tenant_frame,
)
from auditor.normalize.text import safe_raw, safe_text, text_notes
from auditor.normalize.vpp import VPP_TOKENS, vpp_token_frame

__all__ = [
    "ADE_TOKEN_SCHEMA",
    "DEM_ACCOUNT_SCHEMA",
    "DEVICE_SCHEMA",
    "SCHEMAS",
    "TENANT_SCHEMA",
    "normalize",
    "schema_markdown",
]

TENANT_KINDS = frozenset(
    {
        BatchKind.APNS,
        BatchKind.ADE_TOKENS,
        BatchKind.ADE_PROFILES,
        BatchKind.ENROLLMENT_CONFIGURATIONS,
        BatchKind.TENANT,
    }
)
POPULATION_KINDS = frozenset({IDENTITIES, VPP_TOKENS, SETTINGS, POLICIES, ASSIGNMENTS})
OWNER_KINDS = frozenset({BatchKind.ROLE_SCOPE_TAGS, BatchKind.ENTRA_USERS})
_OTHER_KINDS = TENANT_KINDS | POPULATION_KINDS | OWNER_KINDS


def normalize(
    batches: Sequence[RawBatch],
    *,
    inputs: Sequence[InputFile] = (),
    gaps: Sequence[SourceGap] = (),
    notes: Sequence[QualityNote] = (),
    consume: bool = False,
) -> Inventory:
    """Build the inventory: devices (one row per Mac), tenant, ADE tokens, DEM accounts.

    Args:
        batches: raw records as the sources read them (`RawBatch.kind` says which shape).
        consume: `batches` is a list the caller gives up: each device batch and ADE identities
            batch in it is replaced by an empty one once its kind is typed, so a big tenant's
            raw and typed records are not held together (at 500k Macs, ~1.5 GB). The records
            of other kinds stay.
        inputs: the files read, kept as evidence.
        gaps: parts of the inventory that could not be collected.
        notes: what the readers noticed about the files (unused columns, odd values).

    Returns:
        The typed frames (see `DEVICE_SCHEMA` and friends) plus quality notes.
    """
    notes = list(notes)
    # The identities are typed first (their notes kept aside, then added where they always
    # stood), so with `consume` their raw records are gone before the devices are merged.
    later: list[QualityNote] = []
    population = [  # ADE token names reach the identities too; ade_token_frame notes them
        _safe_batch(b, later if b.kind in POPULATION_KINDS else [])
        for b in batches
        if b.kind in POPULATION_KINDS | {BatchKind.ADE_TOKENS}
    ]
    typed_identities = identity_rows(population, later)
    if consume:
        for typed in (population, batches):
            _let_go(typed, [i for i, b in enumerate(typed) if b.kind == IDENTITIES])
    rows = add_owners(device_rows(batches, notes, consume=consume), batches, gaps, notes)
    devices = conform(rows, DEVICE_SCHEMA, WORK_COLUMNS)
    notes += [
        QualityNote(
            "inputs", "ignored_kind", len(b.records), (f"{b.kind} records are not used",), b.source
        )
        for b in batches
        if b.kind not in DEVICE_KINDS
        and b.kind not in TENANT_KINDS | POPULATION_KINDS | OWNER_KINDS
    ]
    notes += later
    identities = identity_frame(typed_identities, devices, gaps)
    del typed_identities
    policies = compliance_policy_frame(population, gaps, notes)
    tenant = tenant_frame(batches, notes)
    compliance = compliance_columns(population, policies, gaps)
    return Inventory(
        devices=add_abm_assignment(devices, identities, gaps),
        tenant=conform(tenant.assign(**{k: [v] for k, v in compliance.items()}), TENANT_SCHEMA),
        ade_tokens=ade_token_frame(batches, notes),
        dem_accounts=dem_account_frame(devices),
        inputs=list(inputs),
        quality=notes,
        gaps=list(gaps),
        ade_identities=identities,
        vpp_tokens=vpp_token_frame(population, gaps),
        compliance_policies=policies,
    )


def _safe_batch(batch: RawBatch, notes: list[QualityNote]) -> RawBatch:
    """A population batch's texts without control characters and cut (`text`), with notes.

    Done on the records, before the frames are built, so that a serial cut here matches a
    Mac's serial cut the same way.
    """
    records = batch.records
    handles = (
        records["source_record"].astype(object).fillna("?")
        if "source_record" in records.columns
        else pd.Series(batch.source, index=records.index, dtype=object)
    )
    changed = {}
    for column in records.columns:
        values = records[column]
        is_text = isinstance(values.dtype, pd.StringDtype)  # a reader's Arrow text
        if column == "source_record" or not (values.dtype == object or is_text):
            continue
        # `safe_text` changes Arrow text as `safe_raw` changes the same values held as objects
        safe = safe_text(values) if is_text else safe_raw(values)
        if safe.removed or safe.cuts:
            changed[column] = safe.values
            notes += text_notes(str(column), safe, handles, lambda _: batch.source)
    if not changed:
        return batch
    return RawBatch(batch.kind, batch.source, records.assign(**changed))


def device_rows(
    batches: Sequence[RawBatch], notes: list[QualityNote], *, consume: bool = False
) -> pd.DataFrame:
    """One row per Mac with every derived field, before `conform`; appends the notes.

    The frame holds the schema's columns plus the work columns (`WORK_COLUMNS`) the steps
    pass each other. `consume`: as `normalize`'s.
    """
    devices = _devices(batches, notes, consume)
    devices = add_hardware(devices, notes)
    devices = add_enrollment(devices, ade_profile_names(batches), notes)
    notes += missing_notes(devices)
    notes += duplicate_serial_notes(devices)
    return devices


def _devices(batches: Sequence[RawBatch], notes: list[QualityNote], consume: bool) -> pd.DataFrame:
    """Every device batch typed, other platforms set aside, then merged into one row per Mac."""
    kept: list[pd.DataFrame] = []
    other_ids: list[pd.Series] = []
    start = 0
    while start < len(batches):  # runs of one kind, by position: typed runs can be let go
        kind = batches[start].kind
        ends = (i for i in range(start, len(batches)) if batches[i].kind != kind)
        stop = next(ends, len(batches))
        files = [batch for batch in batches[start:stop] if not batch.records.empty]
        if kind in DEVICE_KINDS and files:
            macs, others = device_columns(_one_batch(files), notes)
            kept.append(macs)
            other_ids.append(others)
            if consume:  # typed: this kind's raw records are done with
                _let_go(batches, range(start, stop))
        del files
        start = stop
    if not kept:
        empty = {c: pd.Series([], dtype="string") for c in ("enrollment_type", "_serial_key")}
        carried = pd.Series([], dtype="boolean")
        return empty_frame(DEVICE_SCHEMA).assign(**empty, _profile_carried=carried)
    kept = _without_other_platforms(kept, other_ids, notes)
    del other_ids
    release_freed_memory()
    merged, merge_notes = merge_devices(kept)  # takes the per-kind frames over
    notes += merge_notes
    return merged.drop(columns=[KEY])


def _let_go(batches: Sequence[RawBatch], positions: Iterable[int]) -> None:
    """Replace those batches of a consumed list by empty ones, and hand the memory back.

    An empty batch keeps its kind, source, columns and dtypes, and holds no view on the old
    records. A batch sequence that is not a list is left as it is.
    """
    if not isinstance(batches, MutableSequence):
        return
    for i in positions:
        batches[i] = RawBatch(
            batches[i].kind,
            batches[i].source,
            pd.DataFrame({n: pd.array([], dtype=t) for n, t in batches[i].records.dtypes.items()}),
        )
    release_freed_memory()


def _one_batch(files: list[RawBatch]) -> RawBatch:
    """Consecutive batches of one kind (100 page files, say) as one, each row naming its file.

    Typing a column has a fixed cost; paying it once per kind rather than once per file
    keeps a tenant saved as hundreds of pages as fast as one saved as a single file.
    """
    if len(files) == 1:
        return files[0]
    records = pd.concat(
        [batch.records.assign(**{SOURCE_FILE: batch.source}) for batch in files],
        ignore_index=True,
    )
    sources = ", ".join(dict.fromkeys(batch.source for batch in files))
    return RawBatch(files[0].kind, sources, records)


def _without_other_platforms(
    kept: list[pd.DataFrame], other_ids: list[pd.Series], notes: list[QualityNote]
) -> list[pd.DataFrame]:
    """Drop OS-less records (detail GETs) of devices another input shows as not macOS."""
    ids = frozenset(pd.concat(other_ids).str.casefold().dropna())
    if not ids:
        return kept
    result = []
    for frame in kept:
        unsure = frame["operating_system"].isna().to_numpy(dtype=bool)
        match = np.zeros(len(frame), dtype=bool)
        if unsure.any():
            match[unsure] = frame["_id_key"][unsure].isin(ids).to_numpy(dtype=bool)
        if match.any():
            count = int(match.sum())
            notes.append(
                QualityNote(
                    "operating_system",
                    "not_macos",
                    count,
                    (f"{count} records of devices listed elsewhere as not macOS ignored",),
                    sources_of(frame[match]),
                )
            )
            frame = frame[~match]
        result.append(frame)
    return result
