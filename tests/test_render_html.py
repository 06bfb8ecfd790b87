"""report.html without a browser: self-contained, a strict CSP, the model embedded intact.

What the page does in a browser is tested in test_render_html_browser.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import re

import pandas as pd
import pytest
from report_inputs import FORMULA, SCRIPT, make_report

from auditor.normalize.schema import STRING
from auditor.render.html import asset_dir, render_page
from auditor.render.json import summary_block
from auditor.report import DEVICE_TABLE_SCHEMA, FINDINGS_SCHEMA
from auditor.report.links import DEVICE_PAGE, device_links
from auditor.report.views import build_views

DATA = re.compile(r'<script id="report-data" type="([^"]+)">(.*?)</script>', re.S)


def decode(page: str) -> dict:
    kind, text = DATA.search(page).groups()
    if kind == "application/json":
        return json.loads(text)
    assert kind == "application/gzip+base64"
    return json.loads(gzip.decompress(base64.b64decode(text)))


@pytest.fixture(scope="module")
def report():
    return make_report()


@pytest.fixture(scope="module")
def page(report) -> str:
    return render_page(report)


def sha(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_page_is_self_contained_under_a_strict_csp(page):
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    csp = html.unescape(csp)
    rules = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert rules["default-src"] == "'none'"
    assert rules["connect-src"] == "'none'" and rules["img-src"] == "'none'"
    assert rules["base-uri"] == "'none'" and rules["form-action"] == "'none'"
    script = (asset_dir() / "app.js").read_text(encoding="utf-8")
    style = (asset_dir() / "app.css").read_text(encoding="utf-8")
    assert rules["script-src"] == f"'{sha(script)}'"
    assert rules["style-src"] == f"'{sha(style)}'"
    assert f"<script>{script}</script>" in page and f"<style>{style}</style>" in page
    assert page.index("Content-Security-Policy") < page.index("<style>") < page.index("<script")
    # nothing to load: no external element, no remote address in an attribute
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page)
    assert not re.search(r"""\s(src|href)=["']""", page)
    assert '<meta name="referrer" content="no-referrer">' in page


def test_inventory_text_cannot_close_the_data_element(report):
    page = render_page(report, compress_over=10**9)  # plain JSON, where escaping matters
    assert DATA.search(page).group(1) == "application/json"
    assert page.count("</script>") == 2  # the data's and the script's own
    assert SCRIPT not in page  # its "<" is \\u003c inside the JSON
    data = decode(page)
    names = data["tables"]["findings"]["columns"]
    entity = next(c for c in names if c["key"] == "entity_name")["data"]
    assert {SCRIPT, FORMULA} <= set(entity.get("values") or entity["dict"])


def test_large_data_is_gzipped_and_decodes_to_the_same_model(report):
    plain_page = render_page(report, compress_over=10**9)
    packed_page = render_page(report, compress_over=0)
    assert DATA.search(packed_page).group(1) == "application/gzip+base64"
    assert len(packed_page) < len(plain_page)
    assert decode(packed_page) == decode(plain_page)


def test_the_embedded_summary_is_the_model_findings_json_states(report, page):
    data = decode(page)
    block = summary_block(report)
    summary = data["summary"]
    assert summary["devices"] == block["devices"] == 9
    assert (summary["posture"]["count"], summary["posture"]["pct"]) == (
        block["posture"]["devices"], block["posture"]["pct"]
    )  # fmt: skip
    assert dict(summary["status_counts"]) == block["status"]
    assert {k["key"]: k["count"] for k in summary["kpis"]} == {
        k: v["devices"] for k, v in block["kpis"].items()
    }
    assert data["sections"] == [s.rule.rule_id for s in report.sections]
    assert data["run"]["meta"]["tenant_id"] == "tenant-0001"


def cells(table: dict, key: str, devices: dict | None = None) -> list:
    column = next(c for c in table["columns"] if c["key"] == key)
    if column["source"] == "device":
        base = cells(devices, key)
        return [base[r] if r >= 0 else None for r in table["device_rows"]]
    data = column["data"]
    if "codes" in data:
        return [None if c < 0 else data["dict"][c] for c in data["codes"]]
    return data["values"]


def test_the_tables_decode_to_the_model_frames(report, page):
    data = decode(page)
    findings, devices = data["tables"]["findings"], data["tables"]["devices"]
    assert findings["length"] == len(report.findings)
    assert devices["length"] == len(report.devices) == 9
    for key in ("rule_id", "status", "severity", "entity_name", "detail"):
        expected = report.findings[key].astype(object).where(report.findings[key].notna(), None)
        assert cells(findings, key) == expected.tolist(), key
    # a finding's Mac's columns come through its row in the devices table
    serials = report.findings["serial_number"].astype(object)
    assert (
        cells(findings, "serial_number", devices) == serials.where(serials.notna(), None).tolist()
    )
    majors = dict(zip(report.devices["device_id"], report.devices["os_major"], strict=True))
    assert cells(findings, "os_major", devices) == [
        majors.get(d) if isinstance(d, str) else None for d in report.findings["device_id"]
    ]
    for rule_id in report.device_rule_ids:
        assert cells(devices, rule_id) == report.devices[rule_id].astype(str).tolist()
    assert cells(devices, "last_sync_at")[0] == "2026-08-31"
    assert cells(devices, "is_encrypted")[:2] == [False, False]


def test_the_findings_view_filters_on_owner_os_major_and_enrollment(report):
    specs = {c.key: c for c in report.views.findings.columns}
    for key in ("severity", "status", "rule_id", "os_major", "enrollment_method", "ownership"):
        assert specs[key].filter == "select", key
    assert specs["upn"].filter == "text" and specs["upn"].label == "Primary user"
    assert [v.value for v in specs["severity"].values] == ["critical", "high", "medium", "low",
                                                           "info"]  # fmt: skip
    assert specs["rule_id"].values[0].label.startswith("MAC-ADE-002 · ")
    assert specs["entity_name"].link == "device"
    assert specs["serial_number"].source == "device"
    majors = {c.key: c for c in report.views.devices.columns}["os_major"].values
    assert [v.value for v in majors] == ["15", "13"]  # newest first, by version not text
    status = {c.key: c for c in report.views.devices.columns}["MAC-FV-001"]
    assert status.kind == "status" and status.label == "MAC-FV-001"
    assert {v.value: v.count for v in status.values}["fail"] == 3


def test_a_column_added_to_a_schema_shows_up_in_the_views(report):
    # issue 17 adds owners: a new column appears with a label, a filter and a place
    findings = report.findings.assign(owner_group=pd.array(["Design"] * len(report.findings)))
    schema = {**FINDINGS_SCHEMA, "owner_group": (STRING, "The Mac's owning group.")}
    views = build_views(
        findings, report.devices, schema, DEVICE_TABLE_SCHEMA,
        {r.rule_id: r.title for r in report.rules}, report.device_rule_ids, None,
        cloud="global", tenant_id=None,
    )  # fmt: skip
    spec = views.findings.columns[-1]
    assert (spec.key, spec.label, spec.filter, spec.is_visible) == (
        "owner_group", "Owner group", "text", True
    )  # fmt: skip


@pytest.mark.parametrize(
    ("cloud", "host"),
    [
        ("global", "https://intune.microsoft.com"),
        ("usgov", "https://intune.microsoft.us"),
        ("usgov-dod", "https://intune.microsoft.us"),
        ("china", "https://intune.microsoft.cn"),
    ],
)
def test_each_mac_links_to_its_page_in_its_clouds_admin_center(cloud, host):
    tenant = "8b4ae5f1-a941-46a0-956a-26afbccdafe5"
    ids = pd.Series(["0b0d80ae-5ab8-45c0-bfb7-fc73c4399260", "serial:C02X", pd.NA, "a/b c"],
                    dtype="string")  # fmt: skip
    links = device_links(ids, cloud, tenant).tolist()
    assert links[0] == f"{host}/{tenant}/{DEVICE_PAGE}0b0d80ae-5ab8-45c0-bfb7-fc73c4399260"
    assert links[1] is pd.NA and links[2] is pd.NA  # no Intune id: no link, never a guess
    assert links[3].endswith("mdmDeviceId/a%2Fb%20c")
    assert device_links(ids, cloud, "unknown").tolist()[0].startswith(f"{host}/#view/")
