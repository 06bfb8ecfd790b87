"""junit.xml: the audit as a test report for CI systems, one test case per rule.

A rule with failures is a failed test case whose failure text lists every failing Mac (or
tenant object); a rule that could not judge some entities and failed none is skipped ("not
assessed"), as is a rule with nothing in scope, so a CI tab never shows as passed what was not
checked. The layout follows the JUnit XML most CI systems read (testsuites > testsuite >
testcase with failure / skipped / system-out). Field mapping: docs/formats.md.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from auditor.render import report_path
from auditor.report import Report
from auditor.report.model import RuleSummary

# Characters XML 1.0 cannot hold (C0 controls but tab, CR, LF; U+FFFE, U+FFFF).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SUITE_NAME = "Intune Mac audit"


def xml_text(value: object) -> str:
    """Text XML can carry: characters it cannot are replaced by U+FFFD, never dropped silently."""
    return NOT_XML.sub("\ufffd", "" if value is None else str(value))


def _counts(rule: RuleSummary) -> str:
    return (
        f"{rule.failed:,} fail, {rule.passed:,} pass, {rule.unknown:,} unknown, "
        f"{rule.waived:,} waived, {rule.not_applicable:,} not applicable"
    )


def _entity_lines(rows: pd.DataFrame) -> str:
    """One line per finding: name, serial, user and why."""
    names = rows["entity_name"].fillna(rows["entity_id"])
    columns = zip(names, rows["serial_number"], rows["upn"], rows["detail"], rows["waiver_id"],
                  strict=True)  # fmt: skip
    return "\n".join(
        " · ".join(
            part
            for part in (
                str(name),
                None if pd.isna(serial) else f"serial {serial}",
                None if pd.isna(upn) else f"user {upn}",
                None if pd.isna(detail) else str(detail),
                None if pd.isna(waiver) else f"waiver {waiver}",
            )
            if part
        )
        for name, serial, upn, detail, waiver in columns
    )


def _testcase(
    suite: ET.Element, rule: RuleSummary, rows: pd.DataFrame, unknown_reasons: Mapping[str, str]
) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"auditor.{rule.entity_type}.{rule.severity}",
        name=xml_text(f"{rule.rule_id} {rule.title}"),
        time="0",
    )
    status = rows["status"]
    if rule.outcome == "failing":
        failure = ET.SubElement(
            case, "failure", message=xml_text(f"{rule.failed:,} failing ({_counts(rule)})"),
            type=rule.severity,
        )  # fmt: skip
        failure.text = xml_text(_entity_lines(rows[status == "fail"]))
    elif rule.outcome == "not_assessed":
        reason = unknown_reasons.get(rule.rule_id, "")
        ET.SubElement(
            case, "skipped",
            message=xml_text(f"not assessed: {rule.unknown:,} could not be judged"
                             + (f" (most often: {reason})" if reason else "")),
        )  # fmt: skip
    elif rule.outcome == "not_applicable":
        ET.SubElement(case, "skipped", message="not applicable: nothing in scope")
    out = [f"{rule.rule_id} ({rule.severity}): {_counts(rule)}"]
    for label, name in (("Could not judge", "unknown"), ("Waived", "waived")):
        if (status == name).any():
            out += ["", f"{label}:", _entity_lines(rows[status == name])]
    out += ["", f"Why: {rule.rationale}", f"Fix: {rule.remediation}", *rule.references]
    ET.SubElement(case, "system-out").text = xml_text("\n".join(out))


def document(report: Report) -> ET.ElementTree[ET.Element]:
    """The JUnit XML tree of one run."""
    meta = report.run.meta
    rules = report.rules
    tally = {outcome: sum(r.outcome == outcome for r in rules)
             for outcome in ("failing", "not_assessed", "not_applicable")}  # fmt: skip
    counts = {
        "tests": str(len(rules)),
        "failures": str(tally["failing"]),
        "errors": "0",
        "skipped": str(tally["not_assessed"] + tally["not_applicable"]),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "auditor", **counts})
    name = f"{SUITE_NAME}: tenant {meta.tenant_id} as of {meta.as_of.isoformat()}"
    stamp = meta.generated_at.replace(microsecond=0).isoformat()
    suite = ET.SubElement(root, "testsuite", {"name": xml_text(name), "timestamp": stamp, **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(report):
        ET.SubElement(properties, "property", name=name, value=xml_text(value))
    by_rule = dict(_findings_by_rule(report.findings))
    empty = report.findings.iloc[:0]
    reasons = {u.rule_id: u.top_reason for u in report.quality.unknowns}
    for rule in rules:
        _testcase(suite, rule, by_rule.get(rule.rule_id, empty), reasons)
    ET.indent(root)
    return ET.ElementTree(root)


def _properties(report: Report) -> Iterable[tuple[str, str]]:
    meta, run = report.run.meta, report.run
    yield from (
        ("as_of", meta.as_of.isoformat()),
        ("tenant_id", meta.tenant_id),
        ("organisation", meta.organisation),
        ("tool_version", meta.tool_version),
        ("source", meta.source),
        ("complete", "true" if run.is_complete else "false"),
        ("devices", str(report.summary.devices)),
        ("posture_pct", f"{report.summary.posture.pct:.1f}"),
        ("catalogue_as_of", meta.catalogue_as_of.isoformat()),
    )
    for gap in run.gaps:
        yield (f"gap.{gap.part}", gap.reason)


def _findings_by_rule(findings: pd.DataFrame) -> Iterable[tuple[str, pd.DataFrame]]:
    for rule_id, rows in findings.groupby("rule_id", sort=False, observed=True):
        yield str(rule_id), rows


def render(report: Report, path: Path) -> None:
    """Write junit.xml."""
    tree = document(report)
    with report_path(path) as temporary:
        tree.write(temporary, encoding="utf-8", xml_declaration=True)
