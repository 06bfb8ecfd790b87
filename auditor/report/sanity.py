"""Date sanity: past events dated after the as-of date, and the run's warnings for page one.

A check-in, enrollment or ADE sync after the as-of date cannot have happened yet: it is a
data-quality note (the engine makes the rules reading it `unknown`). An export whose newest
check-in is long before the as-of date, and a catalogue newer than the as-of date, are warned
about on page one and in the log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from auditor.models import Inventory, Problem, QualityNote
from auditor.report.frames import column
from auditor.report.run_model import RunWarning

STALE_EXPORT_DAYS = 14  # newest check-in this many days before the as-of date: an old export?
_EXAMPLES = 5
# (frame, field, what a reader calls it, the column naming each row)
_PAST_EVENTS = (
    ("devices", "last_sync_at", "last check-in", "device_name"),
    ("devices", "enrolled_at", "enrollment", "device_name"),
    ("ade_tokens", "last_successful_sync_at", "ADE token sync", "token_name"),
    ("ade_identities", "imported_at", "ABM import", "serial_number"),
    ("vpp_tokens", "vpp_last_sync_at", "VPP token sync", "vpp_token_name"),
)


def end_of_day(as_of: dt.date) -> pd.Timestamp:
    """The last instant of the as-of date in UTC: an event up to then has happened."""
    return pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(1, "us")


def after_as_of_notes(inventory: Inventory, as_of: dt.date) -> list[QualityNote]:
    """A note per past-event field with values after the as-of date (examples name the rows)."""
    limit = end_of_day(as_of)
    frames = inventory.frames()
    notes = []
    for dataset, field, _, name in _PAST_EVENTS:
        frame = frames[dataset]
        values = column(frame, field, "datetime64[us, UTC]")
        after = (values > limit).to_numpy(dtype=bool, na_value=False)
        if not after.any():
            continue
        rows = frame[after]
        names = column(rows, name).fillna(column(rows, "serial_number")).fillna("?")
        when = values[after].dt.strftime("%Y-%m-%d")
        examples = tuple((names + ": " + when).head(_EXAMPLES).astype(str))
        sources = column(rows, "source").dropna().astype(str)
        source = ", ".join(dict.fromkeys(s for joined in sources for s in joined.split("; ")))
        notes.append(
            QualityNote(field, Problem.AFTER_AS_OF.value, int(after.sum()), examples, source)
        )
    return notes


def date_warnings(
    inventory: Inventory,
    as_of: dt.date,
    catalogue_as_of: dt.date,
    after_as_of: Sequence[QualityNote],
) -> list[RunWarning]:
    """Old export, dates after the as-of date, and a catalogue newer than the as-of date."""
    warnings = []
    synced = column(inventory.devices, "last_sync_at", "datetime64[us, UTC]").dropna()
    synced = synced[synced <= end_of_day(as_of)]
    if len(synced):
        newest = synced.max().date()
        gap = (as_of - newest).days
        if gap > STALE_EXPORT_DAYS:
            warnings.append(
                RunWarning(
                    "stale_export",
                    f"The newest check-in ({newest}) is {gap} days before the as-of date "
                    f"{as_of}: is this an old export? Audit an export as of the day it was "
                    "taken (--as-of), or the staleness rules fail every Mac.",
                )
            )
    if after_as_of:
        described = "; ".join(
            f"{n.count:,} {label} date(s)"
            for n in after_as_of
            for _, field, label, _ in _PAST_EVENTS
            if field == n.field
        )
        warnings.append(
            RunWarning(
                "dates_after_as_of",
                f"The inventory has dates after the as-of date {as_of} ({described}): is the "
                "as-of date right? Rules that read those dates give unknown for them.",
            )
        )
    if catalogue_as_of > as_of:
        warnings.append(
            RunWarning(
                "catalogue_after_as_of",
                f"The macOS release catalogue (facts as of {catalogue_as_of}) is newer than the "
                f"as-of date {as_of}: OS rules count only releases published by the as-of date, "
                "but model support and Intune's minimum are as known later.",
            )
        )
    return warnings
