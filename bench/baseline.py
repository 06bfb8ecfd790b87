"""The straightforward pipeline `make bench` measures auditor against (issue 22).

    python -m bench.baseline --tenant DIR --out DIR [--as-of 2026-09-01]

What a competent engineer writes in an afternoon for the same work, with the usual tools and
none of auditor's machinery: every file of a generated tenant read with orjson into pandas
(pages and detail parts as whole documents, the Devices export with `read_csv`, the tenant
objects), one merged devices frame, the 31 rules as simple vectorized masks giving each Mac a
status per rule, then the three reports — findings.json (`orjson.dumps` of the whole
document), the workbook with `DataFrame.to_excel(engine="openpyxl")` for the same sheets
(Summary, Findings, Devices with a status column per rule, Rules, Tenant, Data quality,
Waivers, Run info) and the PDF with WeasyPrint over the same pages (summary, tenant, a
section per failing rule listing 15 Macs, fleet, data quality, the appendix's inputs and
rule catalogue). It is not a second implementation of the rules: the masks are close to the
catalogue's conditions, not its missing-data handling; the work and the output sizes are.
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

AS_OF = "2026-09-01"
EXCEL_ROWS = 1_048_575  # rows per sheet under the header (Excel's limit)
PER_RULE = 15  # Macs listed per failing rule in the PDF, as auditor's default
CSS = """@page { size: A4; margin: 18mm 14mm; @bottom-right { content: counter(page); } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 8.5pt; }
h1 { break-before: page; font-size: 15pt; } h1.first { break-before: auto; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin-bottom: 3mm; }
th { text-align: left; border-bottom: 0.8pt solid #374151; } td { overflow-wrap: break-word; }
"""


def read_tenant(folder: Path) -> tuple[pd.DataFrame, dict[str, Any], list[dict[str, Any]]]:
    """The merged devices frame, the tenant objects, and one row per input file."""
    pages, details, inputs = [], [], []
    tenant: dict[str, Any] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("managed_devices"):
            records = orjson.loads(path.read_bytes())["value"]
            pages.append(pd.DataFrame(records))
        elif path.name.startswith("device_details"):
            records = orjson.loads(path.read_bytes())
            details.append(pd.json_normalize(records))
        elif path.name == "export_devices.csv":
            export = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
            records = export
        elif path.suffix == ".json" and path.name != "expected.json":
            records = orjson.loads(path.read_bytes())
            tenant[path.stem] = records
        else:
            continue
        inputs.append({"path": path.name, "records": len(records)})
    devices = pd.concat(pages, ignore_index=True).drop(columns=["hardwareInformation"])
    detail = pd.concat(details, ignore_index=True)
    detail = detail[["id", "bootstrapTokenEscrowed", "hardwareInformation.productName"]]
    devices = devices.drop(columns=["bootstrapTokenEscrowed"]).merge(detail, on="id", how="left")
    export = export[["DeviceId", "UserApprovedEnrollment", "SupervisedStatus"]]
    devices = devices.merge(export, left_on="id", right_on="DeviceId", how="left")
    return devices, tenant, inputs


def prepare(devices: pd.DataFrame) -> pd.DataFrame:
    """The columns the rules read, parsed the obvious way."""
    version = devices["osVersion"].str.extract(r"^(\d+)\.?(\d+)?\.?(\d+)?").astype(float)
    devices["os_major"] = version[0]
    devices["os_key"] = version[0] * 1e6 + version[1].fillna(0) * 1e3 + version[2].fillna(0)
    for column in ("enrolledDateTime", "lastSyncDateTime"):
        devices[column] = pd.to_datetime(devices[column], utc=True, errors="coerce")
    devices["user_approved"] = devices["UserApprovedEnrollment"].map({"True": True, "False": False})
    devices["model_id"] = devices["hardwareInformation.productName"]
    devices["is_intel"] = devices["processorArchitecture"].eq("x64")
    devices["is_ade"] = devices["deviceEnrollmentType"].str.contains("apple", case=False, na=False)
    devices["is_vm"] = devices["model"].str.contains("Virtual", na=False)
    return devices


def rule_statuses(d: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, pd.Series]:
    """Each rule's status per Mac: fail where the mask holds, unknown where inputs are missing."""
    days = (as_of - d["lastSyncDateTime"]).dt.days
    major, key, ade, intel = d["os_major"], d["os_key"], d["is_ade"], d["is_intel"]
    escrowed, approved, supervised = (
        d["bootstrapTokenEscrowed"],
        d["user_approved"],
        d["isSupervised"],
    )
    enrolled, model_id, serial = d["enrolledDateTime"], d["model_id"], d["serialNumber"]
    newest_patch = d.groupby("os_major")["os_key"].transform("max")
    dem = d["enrolledByUserPrincipalName"].fillna("").str.startswith("dem")
    old_model = model_id.fillna("").str.contains("MacBookPro1[0-4]|Macmini[67]")
    lab_vm = d["deviceName"].str.startswith("QA-VM-", na=False)
    bad_state = d["complianceState"].isin(["noncompliant", "conflict", "error"])
    masks: dict[str, tuple[pd.Series, pd.Series]] = {
        "MAC-BST-001": (escrowed.eq(False), escrowed.isna()),
        "MAC-CMP-001": (bad_state, d["complianceState"].isna()),
        "MAC-ENR-001": (approved.eq(False) & ~ade, approved.isna()),
        "MAC-ENR-002": (enrolled.lt("2020-06-01") & approved.ne(True), enrolled.isna()),
        "MAC-ENR-003": (supervised.eq(False) & major.ge(11), supervised.isna()),
        "MAC-ENR-004": (d["ownerType"].eq("company") & ~ade, d["ownerType"].isna()),
        "MAC-ENR-005": (dem, d["deviceEnrollmentType"].isna()),
        "MAC-ENR-006": (d["userPrincipalName"].fillna("").eq(""), d["deviceEnrollmentType"].isna()),
        "MAC-FV-001": (d["isEncrypted"].eq(False), d["isEncrypted"].isna()),
        "MAC-HW-001": (old_model, model_id.isna()),
        "MAC-HW-002": (intel, d["processorArchitecture"].isna()),
        "MAC-INV-001": (serial.duplicated(keep=False), serial.isna()),
        "MAC-INV-002": (serial.isna() | d["model"].isna(), d["id"].isna()),
        "MAC-KXT-001": (~intel & ~(ade & major.ge(11)), major.isna()),
        "MAC-OS-001": (major.lt(14), major.isna()),
        "MAC-OS-002": (major.lt(15), major.isna()),
        "MAC-OS-003": (key.lt(newest_patch - 1), key.isna()),
        "MAC-OS-004": (key.lt(newest_patch), key.isna()),
        "MAC-OS-005": (major.ne(26), major.isna()),
        "MAC-SWU-001": (~intel & escrowed.ne(True), major.isna()),
        "MAC-SYN-001": (days.gt(30), days.isna()),
        "MAC-SYN-002": (days.gt(90), days.isna()),
        "MAC-VM-001": (d["is_vm"] & ~lab_vm, d["model"].isna()),
        "MAC-VM-002": (d["is_vm"] & model_id.isna(), d["model"].isna()),
    }
    return {
        rule: pd.Series(np.select([unknown, fail], ["unknown", "fail"], "pass"), index=d.index)
        for rule, (fail, unknown) in masks.items()
    }


def tenant_rows(tenant: dict[str, Any], as_of: pd.Timestamp) -> list[dict[str, Any]]:
    """The tenant rules (APNs, ADE tokens, DEM, enrollment restrictions) as finding rows."""
    month, week = pd.Timedelta(days=30), pd.Timedelta(days=7)
    apns = pd.Timestamp(tenant["apns_certificate"]["expirationDateTime"])
    checks = [("MAC-TEN-001", "tenant", apns <= as_of),
              ("MAC-TEN-002", "tenant", apns <= as_of + month)]  # fmt: skip
    for token in tenant["dep_onboarding_settings"]["value"]:
        expires = pd.Timestamp(token["tokenExpirationDateTime"])
        synced = pd.Timestamp(token["lastSuccessfulSyncDateTime"])
        checks += [("MAC-TEN-003", token["id"], expires <= as_of),
                   ("MAC-TEN-004", token["id"], expires <= as_of + month),
                   ("MAC-TEN-005", token["id"], synced < as_of - week)]  # fmt: skip
    checks += [("MAC-TEN-006", "tenant", False), ("MAC-DEM-001", "dem", False)]
    return [
        {"rule_id": rule, "entity_id": entity, "status": "fail" if failed else "pass"}
        for rule, entity, failed in checks
    ]


def table_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def pdf_html(devices: pd.DataFrame, findings: pd.DataFrame, rules: pd.DataFrame,
             tenant: pd.DataFrame, inputs: pd.DataFrame) -> str:  # fmt: skip
    """The same pages as auditor's PDF: summary, tenant, failing rules, fleet, quality, appendix."""
    failing = findings[findings["status"] == "fail"]
    counts = findings.pivot_table(index="rule_id", columns="status", aggfunc="size", fill_value=0)
    parts = [
        '<h1 class="first">Intune Mac audit</h1>',
        f"<p>{len(devices):,} Macs as of {AS_OF}</p>",
        table_html(counts.reset_index()),
        "<h1>Tenant health</h1>",
        table_html(tenant),
        "<h1>Failing rules</h1>",
    ]
    for rule_id, group in failing.groupby("rule_id", sort=True):
        meta = rules[rules["id"] == rule_id].iloc[0]
        parts += [f"<h2>{rule_id} {html.escape(meta['title'])}</h2>",
                  f"<p><b>Why:</b> {html.escape(str(meta['rationale']))}</p>",
                  f"<p><b>Fix:</b> {html.escape(str(meta['remediation']))}</p>",
                  table_html(group[["device_name", "serial_number", "detail"]].head(PER_RULE)),
                  f"<p>and {max(len(group) - PER_RULE, 0):,} more</p>"]  # fmt: skip
    fleet = devices.groupby(["os_major", "model"]).size().rename("macs").reset_index()
    quality = devices.isna().sum().rename("missing").reset_index()
    parts += [
        "<h1>Operating systems and hardware</h1>",
        table_html(fleet),
        "<h1>Data quality</h1>",
        table_html(quality[quality["missing"] > 0]),
        "<h1>Appendix</h1>",
        table_html(inputs),
        table_html(rules[["id", "title", "severity"]]),
    ]
    return f"<html><head><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"


def run(folder: Path, out: Path) -> None:
    """Read `folder`, evaluate, and write findings.json, report.xlsx and report.pdf into `out`."""
    from weasyprint import HTML

    from auditor.rules import ALL_RULES

    as_of = pd.Timestamp(AS_OF, tz="UTC")
    devices, tenant_objects, inputs = read_tenant(folder)
    devices = prepare(devices)
    statuses = rule_statuses(devices, as_of)
    rules = pd.DataFrame(
        [{"id": r.id, "title": r.title, "severity": r.severity.value, "rationale": r.rationale,
          "remediation": r.remediation, "references": ", ".join(r.references)} for r in ALL_RULES]
    )  # fmt: skip
    fields = devices[["id", "deviceName", "serialNumber", "userPrincipalName", "osVersion",
                      "lastSyncDateTime"]]  # fmt: skip
    fields.columns = [
        "device_id",
        "device_name",
        "serial_number",
        "upn",
        "os_version",
        "last_sync_at",
    ]
    long = pd.concat(
        [fields.assign(rule_id=rule, status=status) for rule, status in statuses.items()],
        ignore_index=True,
    )
    findings = long[long["status"] != "pass"].merge(
        rules[["id", "title", "severity"]], left_on="rule_id", right_on="id"
    )
    findings["detail"] = findings["rule_id"] + " " + findings["status"]
    tenant = pd.DataFrame(tenant_rows(tenant_objects, as_of))
    out.mkdir(parents=True, exist_ok=True)
    rows = findings.drop(columns=["id"])
    document = {
        "schema_version": 1,
        "summary": {"devices": len(devices), "status": findings["status"].value_counts().to_dict()},
        "findings": rows.assign(last_sync_at=rows["last_sync_at"].astype(str)).to_dict("records"),
        "tenant": tenant.to_dict("records"),
    }  # fmt: skip
    (out / "findings.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    sheet = fields.assign(**statuses)
    naive = {c: sheet[c].dt.tz_localize(None) for c in ("last_sync_at",)}
    with pd.ExcelWriter(out / "report.xlsx", engine="openpyxl") as writer:
        findings["status"].value_counts().to_frame().to_excel(writer, sheet_name="Summary")
        zoneless = rows.assign(last_sync_at=rows["last_sync_at"].dt.tz_localize(None))
        for part, start in enumerate(range(0, max(len(zoneless), 1), EXCEL_ROWS)):
            name = "Findings" if part == 0 else f"Findings ({part + 1})"
            zoneless.iloc[start : start + EXCEL_ROWS].to_excel(writer, sheet_name=name, index=False)
        sheet.assign(**naive).to_excel(writer, sheet_name="Devices", index=False)
        rules.to_excel(writer, sheet_name="Rules", index=False)
        tenant.to_excel(writer, sheet_name="Tenant", index=False)
        devices.isna().sum().rename("missing").to_frame().to_excel(
            writer, sheet_name="Data quality"
        )
        waivers = pd.DataFrame(columns=["waiver_id", "rule_id", "state"])
        waivers.to_excel(writer, sheet_name="Waivers", index=False)
        pd.DataFrame(inputs).to_excel(writer, sheet_name="Run info", index=False)
    page = pdf_html(devices, findings, rules, tenant, pd.DataFrame(inputs))
    HTML(string=page).write_pdf(out / "report.pdf")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--tenant", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    run(args.tenant, args.out)


if __name__ == "__main__":
    main()
