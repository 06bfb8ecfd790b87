"""What a parsed JSON document is, and which batch kind its records are.

Documents: a Graph page (`value` list; a `value` that is one object, as Graph's documentation
prints single responses, is that object), a single-object response, a bare array of records,
Intune's report table (Schema/Values), Intune diagnostic records (`diagnostic`), and the tool's
snapshot. Kinds come from `@odata.context`, then `@odata.type`, then the members the
records carry, matched case-insensitively (the PowerShell SDK writes Graph's members
PascalCase). A line or page without records (`"value": null`, a nextLink alone) adds none, but
every list page is tallied (`Collector.pages`) so a list saved without its last page is found.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from auditor.errors import SourceError
from auditor.models import BatchKind, RawBatch, SourceGap
from auditor.normalize.columns import classify
from auditor.normalize.text import quoted
from auditor.sources.files import population
from auditor.sources.files.diagnostic import add_diagnostic, is_diagnostic, member
from auditor.sources.files.json_parse import JSON_TYPES, json_words
from auditor.sources.files.paging import is_linked, link_path, next_link
from auditor.sources.files.reading import UnknownShapeError
from auditor.sources.files.records import Collector

INPUT_KINDS = {
    BatchKind.GRAPH_DEVICES: "graph-managed-devices",
    BatchKind.GRAPH_DEVICE_DETAILS: "graph-device-details",
    BatchKind.ADMIN_CENTER_CSV: "admin-center-csv",
    BatchKind.EXPORT_DEVICES: "export-devices",
    BatchKind.DEVICES_LOG: "intune-diagnostic-devices",
    BatchKind.APNS: "graph-apns-certificate",
    BatchKind.ADE_TOKENS: "graph-ade-tokens",
    BatchKind.ADE_PROFILES: "graph-ade-profiles",
    BatchKind.ENROLLMENT_CONFIGURATIONS: "graph-enrollment-configurations",
    BatchKind.TENANT: "tenant",
    **population.INPUT_KINDS,
}
POWERSHELL = "powershell-managed-devices"
"""Shape of `Get-MgDeviceManagementManagedDevice` output saved by Export-Csv or ConvertTo-Json."""

_CONTEXT = re.compile(r"#deviceManagement/(\w+)(?:\('([^']*)'\))?(?:\([^)]*\))?(?:/(\w+))?")
Kinds = list[BatchKind]


def add_document(collector: Collector, document: Any, where: str, is_stream: bool) -> Kinds:
    """Route one parsed document into the collector; returns the kinds it held."""
    name = collector.name
    if isinstance(document, dict):
        value = member(document, "value")
        if isinstance(value, list):
            return [_add_page(collector, document, value, where)]
        if isinstance(value, dict):  # {"value": {…}}: one object, as Graph's docs print it
            inner = {"@odata.context": document.get("@odata.context", ""), **value}
            return add_document(collector, inner, where, is_stream=False)
        if isinstance(responses := member(document, "responses"), list):
            kinds: Kinds = []
            for body, place in population.batch_answers(responses, name, where):
                kinds += add_document(collector, body, place, is_stream=False)
            return kinds
        if _is_empty_page(document):
            return _empty_page(collector, document, f"{name}:{where.strip() or '$'}")
        if _is_report_table(document):
            return [_add_report_table(collector, document, where)]
        if isinstance(member(document, "records"), list):
            records = member(document, "records")
            return add_diagnostic(collector, records, f"{where}records", f"{name}:{where}records")
        if is_diagnostic(document):
            return add_diagnostic(
                collector, [document], where.strip(), f"{name}:{where}", single=True
            )
        context = str(document.get("@odata.context", ""))
        single = not is_stream or context.endswith("$entity")
        located = f"{name}:{where.strip() or '$'}"
        kind = _object_kind(document, context, single, located)
        match = _CONTEXT.search(context)
        document |= population.parent_extra(kind, match[2] if match else None, [document], located)
        if kind == population.POLICIES:
            population.add_embedded_assignments(collector, [document], where.strip())
        collector.add_object(kind, document, where.strip())
        return [kind]
    if isinstance(document, list):
        pages = [p for p in document if isinstance(p, dict) and isinstance(p.get("value"), list)]
        if document and len(pages) == len(document):
            return [
                _add_page(collector, page, page["value"], f"{where}[{i}].")
                for i, page in enumerate(pages)
            ]
        if document and all(isinstance(r, dict) and is_diagnostic(r) for r in document):
            return add_diagnostic(collector, document, where.strip(), f"{name}:{where}")
        located = f"{name}:{where.strip() or '$'}"
        kind = _records_kind(document, "", located, in_page=False)
        extra = population.parent_extra(kind, None, document, located)
        if kind == population.POLICIES:
            population.add_embedded_assignments(collector, document, where.strip())
        collector.add(kind, document, where.strip(), extra)
        return [kind]
    if not where.strip():
        raise UnknownShapeError(
            f"{name}: not a known shape: the file is JSON holding {json_words(document)}, not "
            "an object or array of records (docs/inputs.md lists the inputs read)"
        )
    raise UnknownShapeError(
        f"{name}:{where.strip()}: not a known shape: expected a JSON object or array, found "
        f"{json_words(document)}"
    )


def _is_empty_page(document: dict[str, Any]) -> bool:
    """A page without records: `"value": null`, or nothing but OData annotations."""
    keys = [k for k in document if not k.startswith("@")]
    return not keys or [k.casefold() for k in keys] == ["value"]


def _empty_page(collector: Collector, document: dict[str, Any], where: str) -> Kinds:
    """A page without records adds none, but one carrying a nextLink says more pages follow."""
    context = str(document.get("@odata.context", ""))
    link = next_link(document)
    kind = context_kind(context) or (
        context_kind(f"#{link_path(str(link))}") if is_linked(link) else None
    )
    if kind is None and not is_linked(link):
        what = (
            "an empty JSON object"
            if not document
            else "a page without records whose @odata.context names no known collection"
        )
        raise UnknownShapeError(f"{where}: not a known shape: {what}")
    collector.pages.page(kind, context, 0, document)
    return [kind] if kind is not None else []


def _add_page(
    collector: Collector, page: dict[str, Any], records: list[Any], where: str
) -> BatchKind:
    context = str(page.get("@odata.context", ""))
    count = len(records)  # the collector empties the list as it goes
    kind = add_page_records(collector, records, context, where)
    collector.pages.page(kind, context, count, page)
    return kind


def add_page_records(
    collector: Collector, records: list[Any], context: str, where: str, start: int = 0
) -> BatchKind:
    """Records of a Graph page's `value` (numbered from `start`); returns their kind."""
    kind = _records_kind(records, context, f"{collector.name}:{where}value", in_page=True)
    extra = {}
    match = _CONTEXT.search(context)
    if kind == BatchKind.ADE_PROFILES and match and match[2]:
        extra["tokenId"] = match[2]
    parent = match[2] if match else None
    extra |= population.parent_extra(kind, parent, records, f"{collector.name}:{where}value")
    if kind == population.POLICIES:
        population.add_embedded_assignments(collector, records, f"{where}value")
    collector.add(kind, records, f"{where}value", extra, start)
    return kind


def _is_report_table(document: dict[str, Any]) -> bool:
    keys = {k.casefold(): k for k in document}
    return "schema" in keys and "values" in keys and isinstance(document[keys["values"]], list)


def _add_report_table(collector: Collector, document: dict[str, Any], where: str) -> BatchKind:
    """Intune's report JSON: {"Schema": [{"Column": "DeviceId", …}], "Values": [[…], …]}."""
    keys = {k.casefold(): k for k in document}
    schema, rows = document[keys["schema"]], document[keys["values"]]
    try:
        columns = [str(c["Column"] if isinstance(c, dict) else c) for c in schema]
        records = [dict(zip(columns, row, strict=True)) for row in rows]
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(
            f"{collector.name}:{where}Values: rows do not match the Schema columns ({exc})"
        ) from exc
    kind = _records_kind(records, "", f"{collector.name}:{where}Values", in_page=True)
    collector.add(kind, records, f"{where}Values", {})
    return kind


def context_kind(context: str) -> BatchKind | None:
    """The batch kind an `@odata.context` names (a list of it), or None."""
    match = _CONTEXT.search(context)
    if match is None:
        return population.app_context_kind(context)
    return _CONTEXT_KINDS.get((match[1], match[3] or ""))


def _records_kind(records: list[Any], context: str, where: str, *, in_page: bool) -> BatchKind:
    """The batch kind of a list of records, from @odata.context and the keys of the records.

    Records of a Graph list page are never trusted as single GETs (a list returns defaults
    for bootstrapTokenEscrowed and hardwareInformation); a bare array holding only the
    detail fields is taken as collected single GETs.
    """
    kind = context_kind(context)
    if kind:
        return kind
    keys: dict[str, None] = {}
    odata_type = ""
    for record in records:
        if isinstance(record, dict):
            keys.update(dict.fromkeys(record))
            odata_type = odata_type or str(record.get("@odata.type", ""))
    if not records:
        raise UnknownShapeError(
            f"{where}: not a known shape: an empty array, and no @odata.context names the "
            "collection it would hold"
        )
    if not any(isinstance(r, dict) for r in records):
        found = ", ".join(sorted({JSON_TYPES.get(type(r), "objects") for r in records}))
        raise UnknownShapeError(
            f"{where}: not a known shape: an array of {found}, not of records (objects)"
        )
    kind = _kind_of(list(keys), odata_type, single=False, where=where)
    if kind is None:
        raise _unknown_shape(where, set(keys))
    return BatchKind.GRAPH_DEVICES if in_page and kind == BatchKind.GRAPH_DEVICE_DETAILS else kind


def _object_kind(record: dict[str, Any], context: str, single: bool, where: str) -> BatchKind:
    match = _CONTEXT.search(context)
    if match:
        kind = _CONTEXT_KINDS.get((match[1], match[3] or ""))
        if kind == BatchKind.GRAPH_DEVICES and single:
            return BatchKind.GRAPH_DEVICE_DETAILS
        if kind:
            return kind
    kind = _kind_of(list(record), str(record.get("@odata.type", "")), single=single, where=where)
    if kind is None:
        raise _unknown_shape(where, set(record))
    return kind


_CONTEXT_KINDS = {
    ("managedDevices", ""): BatchKind.GRAPH_DEVICES,
    ("applePushNotificationCertificate", ""): BatchKind.APNS,
    ("depOnboardingSettings", ""): BatchKind.ADE_TOKENS,
    ("depOnboardingSettings", "enrollmentProfiles"): BatchKind.ADE_PROFILES,
    ("deviceEnrollmentConfigurations", ""): BatchKind.ENROLLMENT_CONFIGURATIONS,
    **population.CONTEXT_KINDS,
}
_GRAPH_DEVICE_KEYS = frozenset(
    {"devicename", "operatingsystem", "osversion", "serialnumber", "deviceenrollmenttype",
     "managementagent", "enrolleddatetime", "lastsyncdatetime", "issupervised", "model"}
)  # fmt: skip
_DETAIL_KEYS = frozenset({"bootstraptokenescrowed", "hardwareinformation"})
_PROFILE_KEYS = frozenset(
    {"configurationendpointurl", "enableauthenticationviacompanyportal", "isdefault",
     "requiresuserauthentication", "requirecompanyportalonsetupassistantenrolleddevices"}
)  # fmt: skip


def _kind_of(keys: list[str], odata_type: str, *, single: bool, where: str) -> BatchKind | None:
    """Classify by @odata.type, then by which members are present (any case)."""
    if (kind := population.population_kind(keys, odata_type)) is not None:
        return kind
    folded = {k.casefold() for k in keys}
    type_name = odata_type.rsplit(".", 1)[-1].casefold()
    details = BatchKind.GRAPH_DEVICE_DETAILS if single else BatchKind.GRAPH_DEVICES
    if type_name == "manageddevice":
        return details
    devices = classify(keys)
    whole = len(folded & _GRAPH_DEVICE_KEYS) >= 2
    if "id" in folded and whole and devices.kind == BatchKind.GRAPH_DEVICES:
        _refuse_foreign(devices.foreign, where)
        return details
    if "id" in folded and folded & _DETAIL_KEYS and not whole:
        return BatchKind.GRAPH_DEVICE_DETAILS
    if devices.kind in (BatchKind.EXPORT_DEVICES, BatchKind.ADMIN_CENTER_CSV):
        _refuse_foreign(devices.foreign, where)
        return BatchKind.EXPORT_DEVICES
    if (
        type_name == "applepushnotificationcertificate"
        or {
            "topicidentifier",
            "certificateserialnumber",
        }
        & folded
    ):
        return BatchKind.APNS
    if type_name == "deponboardingsetting" or "tokenexpirationdatetime" in folded:
        return BatchKind.ADE_TOKENS
    if "enrollmentprofile" in type_name or (folded & _PROFILE_KEYS and "displayname" in folded):
        return BatchKind.ADE_PROFILES
    if "enrollmentconfiguration" in type_name or "restriction" in type_name:
        return BatchKind.ENROLLMENT_CONFIGURATIONS
    if {"macosrestriction", "platformrestriction", "deviceenrollmentconfigurationtype"} & folded:
        return BatchKind.ENROLLMENT_CONFIGURATIONS
    if devices.kind == BatchKind.GRAPH_DEVICES and whole:  # Graph members without an id
        _refuse_foreign(devices.foreign, where)
        return details
    return None


def _refuse_foreign(foreign: tuple[str, ...], where: str) -> None:
    if foreign:
        raise SourceError(
            f"{where}: the records mix two shapes ({', '.join(foreign)} belong to another "
            "export than the rest); save one shape per file"
        )


def _unknown_shape(where: str, keys: set[str]) -> SourceError:
    shown = ", ".join(quoted(k) for k in sorted(keys)[:12]) + (" …" if len(keys) > 12 else "")
    return UnknownShapeError(
        f"{where}: not a known shape (fields: {shown or 'none'}); expected Intune managed "
        "devices, a Devices export, Intune diagnostic Devices records, the APNs certificate, "
        "ADE tokens, profiles or imported device identities, enrollment configurations, VPP "
        "tokens, or compliance policies, their assignments or settings"
    )


def shape_of(kinds: Kinds, collector: Collector) -> str:
    """The evidence name of a JSON file's shape, from its first kind (PowerShell told apart)."""
    if not kinds:
        return INPUT_KINDS[BatchKind.GRAPH_DEVICES]
    kind = kinds[0]
    if kind in (BatchKind.GRAPH_DEVICES, BatchKind.GRAPH_DEVICE_DETAILS):
        keys = collector.keys_of(kind)
        if "Id" in keys and "id" not in keys:
            return f"{POWERSHELL}-json"
    return INPUT_KINDS[kind]


def read_snapshot_document(
    document: dict[str, Any], name: str
) -> tuple[list[RawBatch], list[SourceGap]]:
    """The tool's snapshot via its owner's reader, plus a tenant batch from its tenant id."""
    from auditor.sources.snapshot import read_snapshot  # the Graph side owns the format

    batches, gaps = read_snapshot(document, name)
    tenant_id = document.get("tenant_id")
    if tenant_id and not any(b.kind == BatchKind.TENANT for b in batches):
        tenant = pd.DataFrame(
            {"tenant_id": [str(tenant_id)], "source_record": [f"{name}:tenant_id"]}
        )
        batches = [*batches, RawBatch(BatchKind.TENANT, name, tenant)]
    return batches, gaps
