"""The machine formats read back by independent readers, each agreeing with findings.json.

findings.csv by the csv module, findings.ndjson by a JSON parser per line, findings.ocsf.json
by the OCSF models' own validation (py-ocsf-models, OCSF 1.5.0), junit.xml by junitparser and
devices.parquet by pyarrow. The report is the hand-made one of `report_inputs` (hostile names,
a waiver, an unknown, a tenant finding, history).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cli_runner import auditor
from junitparser import Failure, JUnitXml, Skipped
from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from report_inputs import FORMULA, SCRIPT, make_report

from auditor.config import FORMATS
from auditor.errors import RenderError
from auditor.render import OUTPUT_NAMES, RENDERERS, check_format_available
from auditor.render.json import FINDING_KEYS
from auditor.report import DEVICE_TABLE_SCHEMA

MACHINE = ("csv", "ndjson", "ocsf", "junit", "parquet")
PINNED_OCSF = "1.5.0"  # py-ocsf-models 0.10.x; bump deliberately with the dependency


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("formats")
    report = make_report(gaps=False)  # every part collected: the rows say complete
    for fmt in ("json", *MACHINE):
        RENDERERS[fmt](report, out / OUTPUT_NAMES[fmt])
    return out, json.loads((out / "findings.json").read_text(encoding="utf-8"))


def as_csv_text(value: object) -> str:
    """What findings.csv must hold for a findings.json value (formulas made inert)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if isinstance(value, str) and text[:1] in "=+-@\t\r" and text else text


def test_every_format_has_a_file_name_a_renderer_and_a_format_choice():
    assert set(OUTPUT_NAMES) == set(RENDERERS) == set(FORMATS)
    assert [OUTPUT_NAMES[f] for f in MACHINE] == [
        "findings.csv", "findings.ndjson", "findings.ocsf.json", "junit.xml", "devices.parquet"
    ]  # fmt: skip
    for fmt in FORMATS:
        check_format_available(fmt)
    with pytest.raises(RenderError, match="known: csv, html, json, junit, ndjson, ocsf"):
        check_format_available("xml")


def test_every_output_name_is_one_verify_knows_as_a_report():
    from auditor.evidence import REPORT_NAMES

    assert set(OUTPUT_NAMES.values()) <= REPORT_NAMES


def test_a_partial_run_says_so_in_every_flat_row(tmp_path):
    report = make_report(core_gap=True)
    for fmt in ("csv", "ndjson", "ocsf"):
        RENDERERS[fmt](report, tmp_path / OUTPUT_NAMES[fmt])
    with (tmp_path / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert {row["run_complete"] for row in csv.DictReader(handle)} == {"false"}
    lines = (tmp_path / "findings.ndjson").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["run"]["complete"] for line in lines} == {False}
    events = json.loads((tmp_path / "findings.ocsf.json").read_text(encoding="utf-8"))
    assert {e["unmapped"]["auditor"]["run_complete"] for e in events} == {False}


def test_findings_csv_is_findings_json_flat_and_excel_safe(written):
    out, data = written
    raw = (out / "findings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [*FINDING_KEYS, "as_of", "tenant_id", "run_complete"]
    assert len(rows) == len(data["findings"])
    for row, finding in zip(rows, data["findings"], strict=True):
        assert {k: row[k] for k in FINDING_KEYS} == {
            k: as_csv_text(finding.get(k)) for k in FINDING_KEYS
        }
        assert (row["as_of"], row["tenant_id"], row["run_complete"]) == (
            "2026-09-01", "tenant-0001", "true"
        )  # fmt: skip
    hostile = next(r for r in rows if r["entity_id"] == "dev-07")
    assert hostile["device_name"] == "'" + FORMULA
    assert hostile["serial_number"] == "'=1+2"
    assert hostile["upn"].startswith("'+cmd")
    assert any(r["device_name"] == SCRIPT for r in rows)  # not a formula: kept as it is
    waived = next(r for r in rows if r["status"] == "waived")
    assert waived["waiver_id"] == "W001"


def test_findings_ndjson_is_one_findings_json_finding_per_line(written):
    out, data = written
    lines = (out / "findings.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(data["findings"])
    for line, finding in zip(lines, data["findings"], strict=True):
        record = json.loads(line)
        run = record.pop("run")
        assert record == finding
        assert run == {
            "as_of": "2026-09-01",
            "generated_at": data["run"]["generated_at"],
            "tenant_id": "tenant-0001",
            "tool_version": "0.1.0",
            "complete": True,
        }


def test_findings_ocsf_events_validate_against_the_pinned_ocsf_models(written):
    out, data = written
    assert OCSF_VERSION == PINNED_OCSF
    events = json.loads((out / "findings.ocsf.json").read_text(encoding="utf-8"))
    assert len(events) == len(data["findings"])
    for event, finding in zip(events, data["findings"], strict=True):
        model = ComplianceFinding.model_validate(event)
        # every field is one the schema knows, with its type: the round trip changes nothing
        assert model.model_dump(mode="json", exclude_none=True) == event
        assert event["metadata"]["version"] == PINNED_OCSF
        assert (event["class_uid"], event["category_uid"], event["type_uid"]) == (2003, 2, 200301)
        assert event["compliance"]["control"] == finding["rule_id"]
        resource = event["resources"][0]
        assert (resource["uid"], resource["name"]) == (finding["entity_id"], finding["entity_name"])
        assert event["severity_id"] == {"critical": 5, "high": 4, "medium": 3, "low": 2,
                                        "info": 1}[finding["severity"]]  # fmt: skip
        status = finding["status"]
        assert event["status_id"] == (3 if status == "waived" else 1)
        assert event["compliance"]["status_id"] == (2 if status == "unknown" else 3)
        assert event["unmapped"]["auditor"]["status"] == status
        assert event["unmapped"]["auditor"]["run_complete"] is True
        assert event["finding_info"]["uid"] == ":".join(
            ("auditor", "tenant-0001", finding["rule_id"], finding["entity_type"],
             finding["entity_id"])
        )  # fmt: skip
    hostile = next(e for e in events if e["resources"][0]["uid"] == "dev-06")
    assert hostile["resources"][0]["name"] == SCRIPT  # JSON keeps the text; consumers escape


def test_own_control_mappings_are_never_passed_off_as_published_standards(written):
    out, _ = written
    events = json.loads((out / "findings.ocsf.json").read_text(encoding="utf-8"))
    report = make_report()
    for event in events:
        rule = next(r for r in report.rules if r.rule_id == event["compliance"]["control"])
        own = {c.framework for c in rule.controls if c.is_own}
        assert not own & set(event["compliance"].get("standards", []))
        expected = [
            f"{c.framework} {i}" + (" (auditor's own mapping)" if c.is_own else "")
            for c in rule.controls
            for i in c.ids
        ]
        assert event["compliance"].get("requirements", []) == expected


def test_junit_has_one_testcase_per_rule_failing_with_its_failing_macs(written):
    out, data = written
    suites = list(JUnitXml.fromfile(str(out / "junit.xml")))
    assert len(suites) == 1
    cases = {case.name.split(" ")[0]: case for case in suites[0]}
    rules = {r["rule_id"]: r for r in data["summary"]["rules"]}
    assert set(cases) == set(rules)
    for rule_id, rule in rules.items():
        results = cases[rule_id].result
        failing = [f for f in data["findings"] if f["rule_id"] == rule_id and f["status"] == "fail"]
        if rule["fail"]:
            (failure,) = results
            assert isinstance(failure, Failure)
            assert len(failure.text.splitlines()) == rule["fail"] == len(failing)
            assert failure.type == rule["severity"]
        elif rule["unknown"] or not (rule["pass"] or rule["waived"]):
            (skipped,) = results
            assert isinstance(skipped, Skipped), f"{rule_id} was not fully judged: not a pass"
        else:
            assert results == [], f"{rule_id} passes"
    assert cases["MAC-ENR-001"].result[0].message.startswith("not assessed: 1 could not be judged")
    assert cases["MAC-VM-001"].result[0].message == "not applicable: nothing in scope"
    suite = suites[0]
    assert suite.tests == len(rules)
    assert suite.failures == sum(1 for r in rules.values() if r["fail"])
    fv = cases["MAC-FV-001"].result[0].text
    assert SCRIPT in fv and FORMULA in fv  # XML-escaped on disk, the same text read back


def test_junit_names_the_unknown_and_waived_entities_in_system_out(written):
    out, _ = written
    suite = next(iter(JUnitXml.fromfile(str(out / "junit.xml"))))
    fv = next(case for case in suite if case.name.startswith("MAC-FV-001 "))
    assert "Could not judge:\nnever-synced" in fv.system_out
    assert "waiver W001" in fv.system_out


def test_devices_parquet_is_the_device_table_with_every_rule_status(written):
    out, data = written
    table = pq.read_table(out / "devices.parquet")
    report = make_report()
    assert table.num_rows == data["summary"]["devices"] == len(report.devices)
    assert table.column_names == list(report.devices.columns)
    assert list(table.column_names[: len(DEVICE_TABLE_SCHEMA)]) == list(DEVICE_TABLE_SCHEMA)
    frame = table.to_pandas()
    for rule in data["summary"]["rules"]:
        if rule["entity_type"] != "device":
            continue
        counts = frame[rule["rule_id"]].astype("string").value_counts().to_dict()
        for status in ("pass", "fail", "unknown", "not_applicable", "waived"):
            assert counts.get(status, 0) == rule[status], (rule["rule_id"], status)
    schema = table.schema
    assert schema.field("is_encrypted").metadata[b"description"].startswith(b"FileVault")
    assert b"MAC-FV-001" in schema.field("MAC-FV-001").metadata[b"description"]
    facts = json.loads(schema.metadata[b"auditor"])
    assert facts["as_of"] == "2026-09-01" and facts["complete"] is True
    names = set(frame["device_name"])
    assert {SCRIPT, FORMULA} <= names


@pytest.fixture(scope="module")
def sample_all_formats(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample-formats")
    done = auditor(
        "run", "--as-of", "2026-09-01", "--out", str(out), "--no-history",
        "--format", "json,html,csv,ndjson,ocsf,junit,parquet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_the_sample_run_lists_every_chosen_format_in_the_manifest(sample_all_formats):
    manifest = json.loads((sample_all_formats / "manifest.json").read_text())
    listed = {o["path"] for o in manifest["outputs"]}
    assert listed == {
        "findings.json", "report.html", "findings.csv", "findings.ndjson", "findings.ocsf.json",
        "junit.xml", "devices.parquet",
    }  # fmt: skip
    done = auditor("verify", str(sample_all_formats))
    assert done.returncode == 0, done.stderr + done.stdout


def test_verify_names_a_changed_machine_format(sample_all_formats, tmp_path):
    import shutil

    copy = tmp_path / "evidence"
    shutil.copytree(sample_all_formats, copy)
    with (copy / "findings.csv").open("a", encoding="utf-8") as handle:
        handle.write("MAC-FAKE-001,low,fail\r\n")
    done = auditor("verify", str(copy))
    assert done.returncode == 7
    assert "findings.csv: changed" in done.stderr + done.stdout


def test_a_machine_format_left_by_an_earlier_run_fails_verify(sample_all_formats, tmp_path):
    import shutil

    copy = tmp_path / "evidence"
    shutil.copytree(sample_all_formats, copy)
    (copy / "report.xlsx").write_bytes(b"stale")  # a report this run did not write
    done = auditor("verify", str(copy))
    assert done.returncode == 7
    assert "report.xlsx is not in the manifest" in done.stderr + done.stdout


def test_an_unknown_format_names_every_choice(tmp_path):
    done = auditor("run", "--format", "json,xml", "--out", str(tmp_path), "--no-history")
    assert done.returncode == 2
    assert "json,xlsx,pdf,html,csv,ndjson,ocsf,junit,parquet" in done.stderr.replace(", ", ",")
