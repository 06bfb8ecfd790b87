"""What a parsed JSON document is, and which batch kind its records are.

Documents: a Graph page, a single-object response, Intune's report table, the snapshot.
Kinds come from @odata.context, then @odata.type, then the fields the records carry.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from auditor.errors import SourceError
from auditor.models import RawBatch, SourceGap
from auditor.sources.files import population
from auditor.sources.files.records import Collector

INPUT_KINDS = {
    "graph_devices": "graph-managed-devices",
    "graph_device_details": "graph-device-details",
    "admin_center_csv": "admin-center-csv",
    "export_devices": "export-devices",
    "apns": "graph-apns-certificate",
    "ade_tokens": "graph-ade-tokens",
    "ade_profiles": "graph-ade-profiles",
    "enrollment_configurations": "graph-enrollment-configurations",
    "tenant": "tenant",
    **population.INPUT_KINDS,
}


_CONTEXT = re.compile(r"#deviceManagement/(\w+)(?:\('([^']*)'\))?(?:/(\w+))?")


def add_document(collector: Collector, document: Any, where: str, is_stream: bool) -> list[str]:
    """Route one parsed document into the collector; returns the kinds it held."""
    name = collector.name
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        return [_add_page(collector, document, where)]
    if isinstance(document, dict) and _is_report_table(document):
        return [_add_report_table(collector, document, where)]
    if isinstance(document, dict):
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
            return [_add_page(collector, page, f"{where}[{i}].") for i, page in enumerate(pages)]
        located = f"{name}:{where.strip() or '$'}"
        kind = _records_kind(document, "", located, in_page=False)
        extra = population.parent_extra(kind, None, document, located)
        if kind == population.POLICIES:
            population.add_embedded_assignments(collector, document, where.strip())
        collector.add(kind, document, where.strip(), extra)
        return [kind]
    raise SourceError(
        f"{name}:{where.strip() or ' top level'}: not a known shape: expected a JSON object or "
        f"array, found {type(document).__name__}"
    )


def _add_page(collector: Collector, page: dict[str, Any], where: str) -> str:
    return add_page_records(collector, page["value"], str(page.get("@odata.context", "")), where)


def add_page_records(
    collector: Collector, records: list[Any], context: str, where: str, start: int = 0
) -> str:
    """Records of a Graph page's `value` (numbered from `start`); returns their kind."""
    kind = _records_kind(records, context, f"{collector.name}:{where}value", in_page=True)
    extra = {}
    match = _CONTEXT.search(context)
    if kind == "ade_profiles" and match and match[2]:
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


def _add_report_table(collector: Collector, document: dict[str, Any], where: str) -> str:
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


def context_kind(context: str) -> str | None:
    """The batch kind an `@odata.context` names (a list of it), or None."""
    match = _CONTEXT.search(context)
    if match is None:
        return population.app_context_kind(context)
    return _CONTEXT_KINDS.get((match[1], match[3] or ""))


def _records_kind(records: list[Any], context: str, where: str, *, in_page: bool) -> str:
    """The batch kind of a list of records, from @odata.context and the keys of a sample.

    Records of a Graph list page are never trusted as single GETs (a list returns defaults
    for bootstrapTokenEscrowed and hardwareInformation); a bare array holding only the
    detail fields is taken as collected single GETs.
    """
    kind = context_kind(context)
    if kind:
        return kind
    keys: set[str] = set()
    odata_type = ""
    for record in records[:50]:
        if isinstance(record, dict):
            keys.update(record)
            odata_type = odata_type or str(record.get("@odata.type", ""))
    if not records:
        raise SourceError(f"{where}: an empty list whose @odata.context names no known collection")
    kind = _kind_of(keys, odata_type, single=False)
    if kind is None:
        raise _unknown_shape(where, keys)
    return "graph_devices" if in_page and kind == "graph_device_details" else kind


def _object_kind(record: dict[str, Any], context: str, single: bool, where: str) -> str:
    match = _CONTEXT.search(context)
    if match:
        kind = _CONTEXT_KINDS.get((match[1], match[3] or ""))
        if kind == "graph_devices" and single:
            return "graph_device_details"
        if kind:
            return kind
    kind = _kind_of(set(record), str(record.get("@odata.type", "")), single=single)
    if kind is None:
        raise _unknown_shape(where, set(record))
    return kind


_CONTEXT_KINDS = {
    ("managedDevices", ""): "graph_devices",
    ("applePushNotificationCertificate", ""): "apns",
    ("depOnboardingSettings", ""): "ade_tokens",
    ("depOnboardingSettings", "enrollmentProfiles"): "ade_profiles",
    ("deviceEnrollmentConfigurations", ""): "enrollment_configurations",
    **population.CONTEXT_KINDS,
}


_GRAPH_DEVICE_KEYS = frozenset(
    {"deviceName", "operatingSystem", "osVersion", "serialNumber", "deviceEnrollmentType",
     "managementAgent", "enrolledDateTime", "lastSyncDateTime", "isSupervised", "model"}
)  # fmt: skip


_DETAIL_KEYS = frozenset({"bootstrapTokenEscrowed", "hardwareInformation"})


_PROFILE_KEYS = frozenset(
    {"configurationEndpointUrl", "enableAuthenticationViaCompanyPortal", "isDefault",
     "requiresUserAuthentication", "requireCompanyPortalOnSetupAssistantEnrolledDevices"}
)  # fmt: skip


def _kind_of(keys: set[str], odata_type: str, *, single: bool) -> str | None:
    """Classify by @odata.type, then by which fields are present (Graph is camelCase)."""
    if (kind := population.population_kind(keys, odata_type)) is not None:
        return kind
    folded = {k.casefold() for k in keys}
    type_name = odata_type.rsplit(".", 1)[-1].casefold()
    if type_name == "manageddevice" or ("id" in keys and len(keys & _GRAPH_DEVICE_KEYS) >= 2):
        return "graph_device_details" if single else "graph_devices"
    if "id" in keys and keys & _DETAIL_KEYS and not keys & _GRAPH_DEVICE_KEYS:
        return "graph_device_details"
    if {"deviceid", "serialnumber"} & folded and "id" not in keys:
        return "export_devices"
    if {"device id", "serial number"} & folded:
        return "admin_center_csv"
    if (
        type_name == "applepushnotificationcertificate"
        or {"topicIdentifier", "certificateSerialNumber"} & keys
    ):
        return "apns"
    if type_name == "deponboardingsetting" or "tokenExpirationDateTime" in keys:
        return "ade_tokens"
    if "enrollmentprofile" in type_name or (keys & _PROFILE_KEYS and "displayName" in keys):
        return "ade_profiles"
    if "enrollmentconfiguration" in type_name or "restriction" in type_name:
        return "enrollment_configurations"
    if {"macOSRestriction", "platformRestriction", "deviceEnrollmentConfigurationType"} & keys:
        return "enrollment_configurations"
    return None


def _unknown_shape(where: str, keys: set[str]) -> SourceError:
    shown = ", ".join(sorted(keys)[:12]) + (" …" if len(keys) > 12 else "")
    return SourceError(
        f"{where}: not a known shape (fields: {shown or 'none'}); expected Intune managed "
        "devices, a Devices export, the APNs certificate, ADE tokens, profiles or imported "
        "device identities, enrollment configurations, VPP tokens, or compliance policies, "
        "their assignments or settings"
    )


def read_snapshot_document(
    document: dict[str, Any], name: str
) -> tuple[list[RawBatch], list[SourceGap]]:
    """The tool's snapshot via its owner's reader, plus a tenant batch from its tenant id."""
    from auditor.sources.snapshot import read_snapshot  # the Graph side owns the format

    batches, gaps = read_snapshot(document, name)
    tenant_id = document.get("tenant_id")
    if tenant_id and not any(b.kind == "tenant" for b in batches):
        tenant = pd.DataFrame(
            {"tenant_id": [str(tenant_id)], "source_record": [f"{name}:tenant_id"]}
        )
        batches = [*batches, RawBatch("tenant", name, tenant)]
    return batches, gaps
