"""The audit's scope: the Macs audited, and what the inputs held that was left out and why."""

from __future__ import annotations

from pathlib import Path

from auditor.models import Inventory, Problem
from auditor.report.frames import column
from auditor.report.run_model import Exclusion, Scope

# Normalization notes that take records out of the scope (or fold them into one Mac).
_EXCLUDED = {
    Problem.NOT_MACOS.value: "not macOS: other platforms are out of scope",
    Problem.IGNORED_KIND.value: "not a record kind the audit uses",
    Problem.DUPLICATE_RECORD.value: "the same device id listed more than once: counted once",
}


def audit_scope(inventory: Inventory) -> Scope:
    """The Macs audited, the likely virtual ones among them, and every exclusion with counts."""
    devices = inventory.devices
    is_vm = column(devices, "is_vm", "boolean").astype("boolean")
    excluded = tuple(
        Exclusion(
            reason=_EXCLUDED[note.problem],
            records=note.count,
            detail="; ".join(note.examples),
            source=note.source,
        )
        for note in sorted(inventory.quality, key=lambda n: (n.problem, n.source))
        if note.problem in _EXCLUDED
    )
    return Scope(
        devices=len(devices),
        virtual_devices=int((is_vm == True).sum()),  # noqa: E712
        excluded=excluded,
    )


def what_was_read(inventory: Inventory) -> str:
    """What the inputs held, for a run that found no Mac: records per input, platforms set aside."""
    read = (
        ", ".join(f"{i.records:,} record(s) in {Path(i.path).name}" for i in inventory.inputs)
        or "no input"
    )
    others = "; ".join(
        f"{', '.join(n.examples) or f'{n.count:,} records'} ({n.source})"
        for n in inventory.quality
        if n.problem in (Problem.NOT_MACOS.value, Problem.IGNORED_KIND.value)
    )
    return f"{len(inventory.devices):,} Macs from {read}" + (
        f"; left out: {others}" if others else ""
    )
