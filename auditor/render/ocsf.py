"""findings.ocsf.json: every finding as an OCSF Compliance Finding event (class 2003).

Events are built with `py-ocsf-models` (the OCSF models Prowler maintains), so each one is
validated by the library while it is made; the schema version is the library's `OCSF_VERSION`
(pinned through the dependency's version range). The file is a JSON array of events, as
Prowler writes its `.ocsf.json`. Field mapping: docs/formats.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.activity_id import ActivityID
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from py_ocsf_models.events.findings.compliance_finding_type_id import ComplianceFindingTypeID
from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.events.findings.status_id import StatusID
from py_ocsf_models.objects.check import Check
from py_ocsf_models.objects.compliance import Compliance
from py_ocsf_models.objects.compliance_status import StatusID as ComplianceStatusID
from py_ocsf_models.objects.finding_info import FindingInformation
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.product import Product
from py_ocsf_models.objects.remediation import Remediation
from py_ocsf_models.objects.resource_details import ResourceDetails

from auditor.render import report_path
from auditor.render.json import CHUNK_ROWS, finding_records
from auditor.report import Report
from auditor.report.model import RuleSummary

SCHEMA_VERSION = OCSF_VERSION
CLASS_NAME = "Compliance Finding"
SEVERITY_IDS = {
    "critical": SeverityID.Critical,
    "high": SeverityID.High,
    "medium": SeverityID.Medium,
    "low": SeverityID.Low,
    "info": SeverityID.Informational,
}
# auditor status → (finding status, compliance status): a waived failure is a suppressed
# finding that still fails; unknown is OCSF's "did not yield a result due to missing information".
STATUS_IDS = {
    "fail": (StatusID.New, ComplianceStatusID.Fail),
    "unknown": (StatusID.New, ComplianceStatusID.Warning),
    "waived": (StatusID.Suppressed, ComplianceStatusID.Fail),
}
RESOURCE_TYPES = {
    "device": "Mac",
    "tenant": "Intune tenant",
    "ade_token": "ADE token",
    "dem_account": "Device enrollment manager account",
}
DEVICE_DATA = ("device_id", "serial_number", "device_name", "upn", "os_version", "last_sync_at")
OWN_MAPPING = " (auditor's own mapping)"


def _rule_parts(rule: RuleSummary) -> dict[str, Any]:
    """The parts of an event every finding of one rule shares: its compliance per status."""
    requirements = [
        f"{control.framework} {control_id}{OWN_MAPPING if control.is_own else ''}"
        for control in rule.controls
        for control_id in control.ids
    ]
    standards = [c.framework for c in rule.controls if not c.is_own]
    check = Check(uid=rule.rule_id, name=rule.title, desc=rule.fails_when or None)
    return {
        "compliance": {
            status: Compliance(
                control=rule.rule_id,
                standards=standards or None,
                requirements=requirements or None,
                checks=[check],
                status_id=compliance_status,
            )
            for status, (_, compliance_status) in STATUS_IDS.items()
        },
        "remediation": Remediation(desc=rule.remediation, references=list(rule.references) or None),
        "finding_info": {"title": rule.title, "desc": rule.rationale or None},
    }


def events(report: Report, chunk_rows: int = CHUNK_ROWS) -> Iterator[ComplianceFinding]:
    """The findings as OCSF events, one at a time, in findings.json's order."""
    meta = report.run.meta
    rules: Mapping[str, RuleSummary] = {r.rule_id: r for r in report.rules}
    parts = {rule_id: _rule_parts(rule) for rule_id, rule in rules.items()}
    product = Product(name="auditor", vendor_name="auditor", version=meta.tool_version)
    time_ms = int(meta.generated_at.timestamp() * 1000)
    for records in finding_records(report, chunk_rows):
        for record in records:
            rule, shared = rules[record["rule_id"]], parts[record["rule_id"]]
            status_id, _ = STATUS_IDS[record["status"]]
            finding_uid = ":".join(
                ("auditor", meta.tenant_id, record["rule_id"], record["entity_type"],
                 record["entity_id"])
            )  # fmt: skip
            data = {k: record[k] for k in DEVICE_DATA if record.get(k) is not None}
            unmapped = {
                **{
                    k: record[k]
                    for k in ("status", "waiver_id", "first_seen", "months_failing")
                    if record.get(k) is not None
                },
                "run_complete": report.run.is_complete,
            }
            yield ComplianceFinding(
                activity_id=ActivityID.Create,
                activity_name=ActivityID.Create.name,
                class_name=CLASS_NAME,
                type_uid=ComplianceFindingTypeID.Create,
                type_name=f"{CLASS_NAME}: {ActivityID.Create.name}",
                time=time_ms,
                metadata=Metadata(
                    product=product,
                    version=SCHEMA_VERSION,
                    uid=f"{finding_uid}:{meta.as_of.isoformat()}",
                    event_code=record["rule_id"],
                    tenant_uid=meta.tenant_id,
                ),
                severity_id=SEVERITY_IDS[record["severity"]],
                severity=SEVERITY_IDS[record["severity"]].name,
                status_id=status_id,
                status=status_id.name,
                status_detail=record["detail"],
                message=record["detail"] or rule.title,
                finding_info=FindingInformation(uid=finding_uid, **shared["finding_info"]),
                compliance=shared["compliance"][record["status"]],
                remediation=shared["remediation"],
                resources=[
                    ResourceDetails(
                        uid=record["entity_id"],
                        name=record["entity_name"],
                        type=RESOURCE_TYPES.get(record["entity_type"], record["entity_type"]),
                        data=data or None,
                    )
                ],
                unmapped={"auditor": unmapped},
            )


def document_chunks(report: Report, chunk_rows: int = CHUNK_ROWS) -> Iterator[str]:
    """findings.ocsf.json as text chunks: a JSON array, one event per line."""
    yield "["
    written = False
    for event in events(report, chunk_rows):
        yield ("," if written else "") + "\n" + event.model_dump_json(exclude_none=True)
        written = True
    yield "\n]\n"


def render(report: Report, path: Path) -> None:
    """Write findings.ocsf.json."""
    with report_path(path) as temporary, temporary.open("w", encoding="utf-8") as out:
        for chunk in document_chunks(report):
            out.write(chunk)
