"""Intune diagnostic settings records: category `Devices`, the report's columns under `properties`.

Azure Monitor writes them one per line (storage account `PT1H.json` blobs) or as
`{"records": [...]}` (Event Hubs, older storage blobs); Elastic's microsoft_intune integration
has real ones (elastic/integrations packages/microsoft_intune/data_stream/managed_device/
_dev/test/pipeline/test-managed-device.log). The columns are the Log Analytics table
IntuneDevices' (MicrosoftDocs/azure-reference-other azure-monitor-ref/tables/intunedevices.md).
"""

from __future__ import annotations

from typing import Any

from auditor.models import BatchKind
from auditor.normalize.text import quoted
from auditor.sources.files.reading import UnknownShapeError
from auditor.sources.files.records import Collector

_DIAGNOSTIC_KEYS = frozenset({"properties", "category"})


def member(document: dict[str, Any], name: str) -> Any:
    """A member by name, any case (`value`, `Value`)."""
    if name in document:
        return document[name]
    for key, value in document.items():
        if key.casefold() == name:
            return value
    return None


def is_diagnostic(record: dict[str, Any]) -> bool:
    """Whether a JSON object is a diagnostic record (`category` and a `properties` object)."""
    keys = {k.casefold() for k in record}
    return keys >= _DIAGNOSTIC_KEYS and isinstance(member(record, "properties"), dict)


def add_diagnostic(
    collector: Collector, records: list[Any], where: str, located: str, *, single: bool = False
) -> list[BatchKind]:
    """Add the records (one, or an array); refuses other categories, naming the record."""
    rows = []
    for i, record in enumerate(records):
        if not isinstance(record, dict) or not is_diagnostic(record):
            raise UnknownShapeError(f"{located}[{i}]: not a diagnostic record (no properties)")
        category = str(member(record, "category") or "")
        if category.casefold() != "devices":
            raise UnknownShapeError(
                f"{located}: an Intune diagnostic record of category {quoted(category)!r}; only "
                "the Devices category carries inventory (AuditLogs, OperationalLogs and "
                "DeviceComplianceOrg do not)"
            )
        rows.append({**member(record, "properties"), "time": member(record, "time")})
    if single:
        collector.add_object(BatchKind.DEVICES_LOG, rows[0], where)
    else:
        collector.add(BatchKind.DEVICES_LOG, rows, where, {})
    return [BatchKind.DEVICES_LOG]
