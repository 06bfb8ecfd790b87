"""ADE identities: the serials Apple Business Manager assigned to the tenant, matched to its Macs.

The records are Graph beta `importedAppleDeviceIdentity` objects, listed per ADE token
(`depOnboardingSettings/{id}/importedAppleDeviceIdentities`). The frame has one row per serial
(a serial two tokens list names both). A serial that no managed Mac carries counts as "not
enrolled" only when the device list is whole; with a device-list gap it is NA, never a fact.
When the identities were not collected whole, one `(not collected)` row stands for the missing
ones, so their rules say `unknown` instead of falling silent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.models import Problem, QualityNote, RawBatch, SourceGap
from auditor.normalize.dates import datetime_column
from auditor.normalize.schema import ADE_IDENTITY_SCHEMA, NOT_COLLECTED, conform
from auditor.normalize.tenant import _column, _records
from auditor.normalize.values import boolean_column

IDENTITIES = "ade_identities"  # the batch kind and the inventory part
DEVICE_LIST = "managed_devices"
_MACOS = "macos"
_UNKNOWN = "unknown"


def serial_key(serials: pd.Series) -> pd.Series:
    """Serials as they are compared: trimmed, upper-case, NA when empty."""
    key = serials.astype("string").str.strip().str.upper()
    return key.mask(key == "")


def identity_rows(batches: Sequence[RawBatch], notes: list[QualityNote]) -> pd.DataFrame:
    """The identity records typed, Macs only, one row per serial (not yet matched)."""
    records = _records(batches, IDENTITIES)
    return _one_per_serial(_macs_only(_typed(records, batches), notes), notes)


def identity_frame(
    rows: pd.DataFrame, devices: pd.DataFrame, gaps: Sequence[SourceGap]
) -> pd.DataFrame:
    """One row per serial assigned through the tenant's ADE tokens, matched to managed Macs.

    `rows` are `identity_rows`; typed before the devices, so a big tenant's raw identity
    records can go before the device records are merged.
    """
    missing = {g.part for g in gaps}
    rows = _matched(rows, devices, device_list_whole=DEVICE_LIST not in missing)
    if IDENTITIES in missing:
        rows = pd.concat([rows, pd.DataFrame({"identity_id": [NOT_COLLECTED]})])
    return conform(rows, ADE_IDENTITY_SCHEMA)


def add_abm_assignment(
    devices: pd.DataFrame, identities: pd.DataFrame, gaps: Sequence[SourceGap]
) -> pd.DataFrame:
    """`is_abm_assigned` on each Mac: its serial is an identity not deleted from ABM.

    False needs every identity collected and the Mac's serial; otherwise a Mac that matches
    none is NA.
    """
    real = identities[identities["identity_id"] != NOT_COLLECTED]
    assigned = real.loc[real["is_deleted"].ne(True).fillna(True), "identity_id"]
    key = serial_key(devices["serial_number"])
    # Arrow's is_in: pandas' isin over Arrow text made a scalar per serial (~3 s at 440k)
    listed = pa.array(assigned.dropna(), type=pa.string())
    is_listed = pc.is_in(pa.array(key, type=pa.string()), value_set=listed)
    found = pd.Series(is_listed.to_numpy(zero_copy_only=False), index=key.index, dtype="boolean")
    whole = IDENTITIES not in {g.part for g in gaps}
    known = found | (key.notna() & whole)
    return devices.assign(is_abm_assigned=found.where(known.fillna(False), pd.NA))


def _typed(records: pd.DataFrame, batches: Sequence[RawBatch]) -> pd.DataFrame:
    """The identity records as typed columns, one row per record."""
    if records.empty:
        return pd.DataFrame({"serial_number": pd.Series([], dtype="string")})
    token_id = _column(records, "tokenId")
    tokens = _records(batches, "ade_tokens")
    names = pd.Series(
        _column(tokens, "tokenName").to_numpy(), index=_column(tokens, "id").to_numpy()
    )
    names = names[~names.index.duplicated()]
    record_id = _column(records, "id")
    serial = _column(records, "serialNumber").str.strip()
    return pd.DataFrame(
        {
            "identity_id": serial_key(serial).fillna("record " + record_id.fillna("?")),
            "serial_number": serial.mask(serial == ""),
            "token_id": token_id,
            "token_name": token_id.map(names).astype("string"),
            "platform": _column(records, "platform"),
            "enrollment_state": _column(records, "enrollmentState"),
            "is_deleted": boolean_column(_column(records, "isDeleted")).values,
            "imported_at": datetime_column(_column(records, "createdDateTime")).values,
            "last_contacted_at": datetime_column(_column(records, "lastContactedDateTime")).values,
            "source_record": _column(records, "source_record"),
        }
    )


def _macs_only(rows: pd.DataFrame, notes: list[QualityNote]) -> pd.DataFrame:
    """Identities of macOS, or of a platform not reported; the others counted and left out."""
    if rows.empty:
        return rows
    folded = rows["platform"].str.casefold()
    other = (folded.notna() & ~folded.isin((_MACOS, _UNKNOWN))).to_numpy(dtype=bool)
    if other.any():
        counts = rows.loc[other, "platform"].value_counts()
        notes.append(
            QualityNote(
                "ade_identities.platform",
                Problem.NOT_MACOS.value,
                int(other.sum()),
                tuple(f"{n} {platform}" for platform, n in counts.items()),
                IDENTITIES,
            )
        )
    kept = rows[~other].copy()
    kept["platform"] = kept["platform"].where(kept["platform"].str.casefold() == _MACOS, _UNKNOWN)
    return kept


def _one_per_serial(rows: pd.DataFrame, notes: list[QualityNote]) -> pd.DataFrame:
    """Rows of one serial (listed by two tokens, or twice) merged: every token named.

    The earliest import counts (the grace period runs from the first assignment); the serial
    stays assigned unless every record says it was deleted.
    """
    if rows.empty:
        return rows
    repeated = rows["identity_id"].duplicated(keep=False).to_numpy(dtype=bool)
    if not repeated.any():
        return rows
    twice = rows[repeated]
    notes.append(
        QualityNote(
            "ade_identities.serialNumber",
            Problem.DUPLICATE_SERIAL.value,
            int(twice["identity_id"].nunique()),
            tuple(twice["identity_id"].drop_duplicates().head(5)),
            IDENTITIES,
        )
    )

    def joined(values: pd.Series) -> str | None:
        kept = [str(v) for v in dict.fromkeys(values.dropna())]
        return "; ".join(kept) if kept else None

    merged = twice.groupby("identity_id", sort=False).agg(
        serial_number=("serial_number", "first"),
        token_id=("token_id", joined),
        token_name=("token_name", joined),
        platform=("platform", "min"),  # "macOS" sorts before "unknown"
        enrollment_state=("enrollment_state", "first"),
        is_deleted=("is_deleted", lambda v: bool(v.all()) if v.notna().all() else pd.NA),
        imported_at=("imported_at", "min"),
        last_contacted_at=("last_contacted_at", "max"),
        source_record=("source_record", joined),
    )
    once = rows[~repeated]
    return pd.concat([once, merged.reset_index()], ignore_index=True)


def _matched(rows: pd.DataFrame, devices: pd.DataFrame, *, device_list_whole: bool) -> pd.DataFrame:
    """Each serial's managed Mac (an ADE-enrolled one first), `is_enrolled` and `is_mac`."""
    key = serial_key(devices["serial_number"])
    method = devices["enrollment_method"].astype("string")
    order = np.lexsort(((method != "ade").fillna(True).to_numpy(dtype=bool),))
    macs = pd.DataFrame(
        {
            "identity_id": key.to_numpy()[order],
            "device_id": devices["device_id"].to_numpy()[order],
            "device_name": devices["device_name"].to_numpy()[order],
            "enrollment_method": method.to_numpy()[order],
        }
    )
    macs = macs.dropna(subset=["identity_id"]).drop_duplicates("identity_id")
    out = rows.merge(macs, on="identity_id", how="left") if len(rows) else rows
    if out.empty:
        return out
    carried = out["device_id"].notna()
    out["is_enrolled"] = carried.astype("boolean")
    if not device_list_whole:
        out["is_enrolled"] = out["is_enrolled"].mask(~carried)
    is_macos = (out["platform"].str.casefold() == _MACOS).astype("boolean")
    known = is_macos | carried
    out["is_mac"] = known.mask(~known.fillna(False)).astype("boolean")  # False is unknown: NA
    out["devices_without_serial"] = int(key.isna().sum())
    return out
