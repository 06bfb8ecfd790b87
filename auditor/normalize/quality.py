"""Data-quality notes over the final device frame: missing fields and shared serial numbers."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from auditor.models import QualityNote
from auditor.normalize.fields import describe_rows, sources_of

# Fields a rule or the inventory summary reads; a missing value there makes a rule `unknown`.
CHECKED_FIELDS = (
    "device_name", "serial_number", "model", "model_identifier", "processor_arch",
    "os_version", "ownership", "enrollment_method", "is_supervised", "user_approved",
    "bootstrap_escrowed", "is_encrypted", "compliance_state", "enrolled_at", "last_sync_at", "upn",
)  # fmt: skip
_EXAMPLES = 5
_GETS = "single-device GETs with $select"
WHAT_TO_ADD: Mapping[str, str] = {
    "bootstrap_escrowed": f"{_GETS}=bootstrapTokenEscrowed (auditor fetch collects them)",
    "model_identifier": f"{_GETS}=hardwareInformation (auditor fetch collects them)",
    "user_approved": "the reports-export Devices report (UserApprovedEnrollment)",
    "enrollment_method": (
        "a Graph list or the Devices report (enrollment type); for appleBulkWithoutUser Macs "
        f"{_GETS}=enrollmentProfileName or the tenant's ADE enrollment profiles"
    ),
    "processor_arch": "a Graph beta list or single GETs (processorArchitecture)",
}
"""For a field a rule needs, the input that carries it (docs/inputs.md has the whole table)."""


def missing_notes(devices: pd.DataFrame) -> list[QualityNote]:
    """Per checked field: how many devices lack a value, with up to five of them named."""
    notes = []
    sources = devices[["source"]].astype("category")  # hashed once, not once per field
    for field in CHECKED_FIELDS:
        missing = devices[field].isna()
        count = int(missing.sum())
        if count == 0:
            continue
        add = WHAT_TO_ADD.get(field)
        if count == len(devices):
            examples: tuple[str, ...] = (
                f"no input provides {field} for any of the {count} Macs"
                + (f"; add {add}" if add else ""),
            )
        else:
            examples = tuple(describe_rows(devices[missing].head(_EXAMPLES)))
            examples += (f"to fill it, add {add}",) if add else ()
        notes.append(QualityNote(field, "missing", count, examples, sources_of(sources[missing])))
    return notes


def duplicate_serial_notes(devices: pd.DataFrame) -> list[QualityNote]:
    """Serial numbers carried by more than one device row (cloned VMs, stale re-enrollments)."""
    serial = devices["_serial_key"]
    shared = devices["_serial_shared"].to_numpy() > 0  # counted once, in derive.add_hardware
    if not shared.any():
        return []
    rows = devices[shared].assign(_serial=serial[shared]).sort_values(["_serial", "device_id"])
    groups = rows.groupby("_serial", sort=True)["device_id"]
    examples = tuple(
        f"{value}: " + ", ".join(ids.astype(str)) for value, ids in list(groups)[:_EXAMPLES]
    )
    return [
        QualityNote("serial_number", "duplicate_serial", groups.ngroups, examples, sources_of(rows))
    ]
