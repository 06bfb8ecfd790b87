"""The interactive tables' declarations: column specs, filter values and admin-center links.

The HTML report builds its findings, devices and changes tables from these specs, so a column
added to `FINDINGS_SCHEMA`, `DEVICE_TABLE_SCHEMA` or `CHANGE_ITEMS_SCHEMA` shows up there
without new code: it gets a default label, a kind from its dtype and a filter (a list of values
for categories and flags, a text box otherwise). Every select filter's values, their order and
counts come from here; each Mac's link into the Intune admin center comes from `links`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditor.models import Severity, Status
from auditor.refdata.versions import version_key
from auditor.report.findings import Columns
from auditor.report.frames import take
from auditor.report.links import ADMIN_CENTER_HOSTS
from auditor.report.model import ColumnSpec, FacetValue, TableView, Views
from auditor.report.plain import scalar

LABELS = {
    "severity": "Severity", "rule_id": "Rule", "title": "Passing state", "status": "Status",
    "entity_type": "Entity type", "entity_id": "Entity id", "entity_name": "Mac / object",
    "device_id": "Intune device id", "serial_number": "Serial", "device_name": "Mac",
    "upn": "Primary user", "os_version": "macOS", "os_major": "macOS major",
    "last_sync_at": "Last check-in", "detail": "Detail", "waiver_id": "Waiver",
    "first_seen": "Failing since", "months_failing": "Months failing", "model": "Model",
    "model_identifier": "Model id", "chip": "Chip", "processor_arch": "Architecture",
    "is_vm": "Virtual machine", "vm_evidence": "VM evidence", "os_build": "Build",
    "os_rsr": "RSR", "ownership": "Ownership", "enrollment_method": "Enrollment method",
    "enrollment_profile": "Enrollment profile", "has_user_affinity": "User affinity",
    "is_supervised": "Supervised", "user_approved": "User approved",
    "bootstrap_escrowed": "Bootstrap token escrowed", "is_encrypted": "FileVault on",
    "compliance_state": "Compliance", "enrolled_at": "Enrolled", "enrolled_by_upn": "Enrolled by",
    "udid": "UDID", "source": "Source", "source_record": "Source record",
    "failing_rules": "Failing rules", "worst_severity": "Worst severity", "change": "Change",
    "now": "Status now",
}  # fmt: skip
# String columns filtered by picking values (few distinct values); other text gets a text box.
SELECT_COLUMNS = frozenset({
    "severity", "rule_id", "status", "entity_type", "os_major", "ownership", "enrollment_method",
    "chip", "processor_arch", "compliance_state", "worst_severity", "change", "now", "source",
    "model",
})  # fmt: skip
SEARCHED = frozenset({"device_name", "entity_name", "serial_number", "upn", "device_id",
                      "entity_id", "detail", "udid", "enrolled_by_upn"})  # fmt: skip
DEVICES_HIDDEN = (
    "device_id", "model_identifier", "processor_arch", "vm_evidence", "os_build", "os_rsr",
    "enrollment_profile", "has_user_affinity", "enrolled_at", "enrolled_by_upn", "udid",
    "source", "source_record", "is_vm", "chip", "compliance_state",
)  # fmt: skip
HIDDEN = {
    "findings": frozenset({"entity_type", "entity_id", "device_id", "device_name", "title"}),
    "devices": frozenset(DEVICES_HIDDEN),
    "changes": frozenset({"entity_type"}),
}
# The findings table shows these from the finding's Mac (its row in the devices table), so the
# owner, OS major and enrollment method of every finding can be filtered on.
FINDING_DEVICE_COLUMNS = (
    "device_name", "serial_number", "upn", "ownership", "os_version", "os_major",
    "enrollment_method", "last_sync_at", "device_id",
)  # fmt: skip
LINKED = {"findings": "entity_name", "devices": "device_name"}
_ORDER = {
    "severity": [s.value for s in Severity],
    "worst_severity": [s.value for s in Severity],
    "status": [s.value for s in Status],
}


def build_views(
    findings: pd.DataFrame,
    devices: pd.DataFrame,
    findings_schema: Columns,
    devices_schema: Columns,
    titles: Mapping[str, str],
    device_rule_ids: Sequence[str],
    changes: tuple[pd.DataFrame, Columns] | None,
    *,
    cloud: str,
    tenant_id: str | None,
) -> Views:
    """Specs of the findings, devices and changes tables, and what each Mac's link is made of.

    Args:
        findings: the report's findings table.
        devices: the report's devices table (its rule status columns named by rule id).
        findings_schema: `FINDINGS_SCHEMA`.
        devices_schema: `DEVICE_TABLE_SCHEMA` (the rule status columns come after it).
        titles: rule id → title of every rule evaluated (filter labels, column descriptions).
        device_rule_ids: the device rules, whose status columns end the devices table.
        changes: the changes items table and its schema, or None without history.
        cloud: the Graph cloud (`graph.cloud`), which picks the admin center's host.
        tenant_id: the tenant, named in the links when it is an Entra tenant id.
    """
    device_rows = _device_rows(findings, devices)
    findings_columns = [
        _spec("findings", name, findings[name], meaning)
        for name, (_, meaning) in findings_schema.items()
        if name not in FINDING_DEVICE_COLUMNS
    ]
    at = _position(findings_columns, "entity_name") + 1
    findings_columns[at:at] = [
        _spec(
            "findings", name, pd.Series(take(devices[name], device_rows)), devices_schema[name][1],
            source="device",
        )
        for name in FINDING_DEVICE_COLUMNS
        if name in devices.columns and name in devices_schema
    ]  # fmt: skip
    devices_columns = [
        _spec("devices", name, devices[name], meaning)
        for name, (_, meaning) in devices_schema.items()
        if name in devices.columns
    ]
    devices_columns += [
        _spec("devices", rule_id, devices[rule_id], titles[rule_id], label=rule_id, kind="status")
        for rule_id in device_rule_ids
    ]
    change_view = None
    if changes is not None:
        items, schema = changes
        change_view = TableView(
            "changes",
            tuple(_spec("changes", n, items[n], meaning) for n, (_, meaning) in schema.items()),
        )
    return Views(
        findings=TableView("findings", tuple(_with_rule_labels(findings_columns, titles))),
        devices=TableView("devices", tuple(devices_columns)),
        changes=change_view,
        finding_device_rows=device_rows,
        device_ids=devices["device_id"],
        cloud=cloud,
        tenant_id=tenant_id,
        admin_center_url=ADMIN_CENTER_HOSTS.get(cloud, ADMIN_CENTER_HOSTS["global"]),
    )


def _device_rows(findings: pd.DataFrame, devices: pd.DataFrame) -> np.ndarray:
    """Each finding's Mac as a position in the devices table; -1 for other entities."""
    index = pd.Index(devices["device_id"].astype("string"))
    rows = index.get_indexer(pd.Index(findings["device_id"].astype("string")))
    return np.asarray(rows, dtype=np.int64)


def _position(columns: Sequence[ColumnSpec], key: str) -> int:
    return next((i for i, c in enumerate(columns) if c.key == key), len(columns) - 1)


def _kind(values: pd.Series) -> str:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "text"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"


def _spec(
    table: str,
    name: str,
    values: pd.Series,
    meaning: str,
    *,
    source: str = "row",
    label: str | None = None,
    kind: str | None = None,
) -> ColumnSpec:
    """One column's spec; a column this module does not know gets defaults from its dtype."""
    kind = kind or ("severity" if name in ("severity", "worst_severity") else None)
    kind = kind or ("status" if name == "status" else _kind(values))
    is_select = (
        name in SELECT_COLUMNS
        or kind in ("bool", "status", "severity")
        or isinstance(values.dtype, pd.CategoricalDtype)
    )
    return ColumnSpec(
        key=name,
        label=label or LABELS.get(name) or name.replace("_", " ").capitalize(),
        description=meaning,
        kind=kind,
        filter="select" if is_select else "text",
        is_searched=name in SEARCHED,
        is_visible=name not in HIDDEN.get(table, ()),
        source=source,
        link="device" if LINKED.get(table) == name else None,
        values=_facet(name, values) if is_select else (),
    )


def _facet(name: str, values: pd.Series) -> tuple[FacetValue, ...]:
    """Every value of a select filter with its count: in the column's natural order."""
    counts = values.astype(object).where(values.notna(), None).value_counts(dropna=False)
    pairs = [(scalar(v), int(n)) for v, n in counts.items()]
    present = [(v, n) for v, n in pairs if v is not None]
    missing = sum(n for v, n in pairs if v is None)
    ordered = [*sorted(present, key=lambda item: _value_order(name, item)), *(
        [(None, missing)] if missing else []
    )]  # fmt: skip
    return tuple(FacetValue(v, _value_label(v), n) for v, n in ordered)


def _value_order(name: str, item: tuple[Any, int]) -> tuple[Any, ...]:
    value, count = item
    if name in _ORDER and value in _ORDER[name]:
        return (0, _ORDER[name].index(value), "")
    if name == "os_major":
        try:
            return (0, -version_key(str(value)), "")
        except ValueError:
            return (1, 0, str(value))
    if isinstance(value, bool):
        return (0, 0 if value else 1, "")
    if name == "rule_id":
        return (0, 0, str(value))
    return (0, -count, str(value))


def _value_label(value: Any) -> str:
    if value is None:
        return "not reported"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _with_rule_labels(
    columns: Iterable[ColumnSpec], titles: Mapping[str, str]
) -> Iterable[ColumnSpec]:
    """The rule filter names each rule by id and title."""
    for column in columns:
        if column.key != "rule_id":
            yield column
            continue
        yield dataclasses.replace(
            column,
            values=tuple(
                FacetValue(v.value, f"{v.value} · {titles[str(v.value)]}", v.count)
                if str(v.value) in titles
                else v
                for v in column.values
            ),
        )
