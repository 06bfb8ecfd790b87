"""The PDF read back (PDFium text, pypdf outline and attachments, PDFium pixels) and its HTML."""

from __future__ import annotations

import re

import pypdfium2
import pytest
from outputs import pdf_pages
from PIL import ImageStat
from pypdf import PdfReader
from report_inputs import golden_rules, make_report

from auditor.errors import RenderError
from auditor.refdata.catalogue import STALE_AFTER_DAYS
from auditor.render import RENDERERS, check_format_available
from auditor.render.pdf import chart_svgs, render_html

DATA_URI = re.compile(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+")


@pytest.fixture(scope="module")
def report():
    return make_report(rules=golden_rules(), cap=2)


@pytest.fixture(scope="module")
def html(report) -> str:
    return render_html(report)


@pytest.fixture(scope="module")
def pdf_path(report, tmp_path_factory):
    check_format_available("pdf")
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    RENDERERS["pdf"](report, path)
    return path


@pytest.fixture(scope="module")
def text(pdf_path) -> str:
    # each page's text with whitespace collapsed (WeasyPrint wraps lines where it likes)
    return " ".join(pdf_pages(pdf_path.parent))


def test_the_pdf_holds_the_summary_numbers_and_the_failing_macs(text, report):
    assert "Intune Mac audit" in text
    assert "Example & Co <Ltd>" in text
    assert "55.6 %" in text  # posture
    assert "5 of 9 Macs" in text
    for name in ("filevault-off-mbp", "stale-95-days", "stale-40-days"):
        assert name in text
    assert "and 1 more: see the workbook" in text  # FileVault: 3 failing, 2 listed


def test_hostile_inventory_text_is_printed_literally(text):
    # names sort "<", "=" before letters: the capped FileVault section lists both hostile Macs
    text = "".join(text.split())  # every page's text, without any whitespace
    assert "<script>alert(1)</script>" in text
    assert "=HYPERLINK(" in text


def test_the_pdf_has_an_outline_running_footer_and_classification(pdf_path, text):
    reader = PdfReader(pdf_path)
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert "Intune Mac audit" in titles
    assert {"Tenant health", "Failing rules", "Data quality", "Waivers", "Appendix"} <= set(titles)
    assert "Page 1 of" in text
    assert "CONFIDENTIAL" in text
    assert "As of 2026-09-01 · generated 2026-09-01 07:30 UTC" in text


def test_page_one_is_not_blank(pdf_path):
    document = pypdfium2.PdfDocument(str(pdf_path))
    image = document[0].render(scale=0.5).to_pil().convert("L")
    assert ImageStat.Stat(image).var[0] > 100  # a blank page has no variance
    document.close()


def test_html_escapes_inventory_text(html):
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Example &amp; Co &lt;Ltd&gt;" in html


def test_html_warns_about_partial_data_and_a_stale_catalogue(html):
    complete = render_html(make_report(rules=golden_rules(), gaps=False))
    assert "PARTIAL:" not in complete and "complete: every part collected" in complete
    assert "PARTIAL: part of the inventory was not collected" in html  # details were denied
    assert "per-device details: denied (403 denied)" in html
    assert "WARNING: the macOS release catalogue" not in html
    bad = render_html(make_report(rules=golden_rules(), core_gap=True, stale=True))
    assert "device list: failed (500 failed)" in bad
    assert "WARNING: the macOS release catalogue is 92 days old" in bad
    limit = f"limit {STALE_AFTER_DAYS} days"  # the constant the run judged by, not a copy
    assert limit in bad and f"older than {STALE_AFTER_DAYS} days" in bad


def test_html_is_deterministic(report, html):
    assert render_html(report) == html


def test_unknown_format_is_refused_before_any_work():
    with pytest.raises(RenderError, match="unknown report format 'docx'"):
        check_format_available("docx")
    for fmt in ("json", "xlsx", "pdf"):
        check_format_available(fmt)


def test_report_html_golden(html, golden):
    # charts are compared by the model numbers they draw, not by their SVG bytes
    golden("report.html", DATA_URI.sub("data:image/svg+xml;base64,…", html))


def test_charts_are_svg_without_dates(report):
    charts = chart_svgs(report)
    assert set(charts) == {"severity", "os", "trend"}
    for svg in charts.values():
        assert svg.lstrip().startswith("<?xml")
        assert "<dc:date>" not in svg


def test_a_large_findings_json_is_attached_gzipped_and_the_appendix_names_it(
    report, tmp_path, monkeypatch
):
    import gzip

    import auditor.render.pdf as pdf

    monkeypatch.setattr(pdf, "ATTACH_AS_IS_MAX_FINDINGS", 0)  # every findings.json is "large"
    RENDERERS["pdf"](report, tmp_path / "report.pdf")
    RENDERERS["json"](report, tmp_path / "findings.json")
    reader = PdfReader(tmp_path / "report.pdf")
    (packed,) = reader.attachments["findings.json.gz"]
    assert gzip.decompress(packed) == (tmp_path / "findings.json").read_bytes()
    assert "findings.json.gz" in " ".join(pdf_pages(tmp_path))


def test_the_same_note_about_many_files_is_one_row_in_the_pdf_and_every_row_elsewhere(report):
    """100 Graph pages gave 100 identical "columns not used" notes: 20 PDF pages at 100k Macs."""
    import dataclasses

    from auditor.models import QualityNote
    from auditor.report.quality import note_rows

    unused = ("19 columns not used: userId, managementState",)
    pages = [f"managed_devices.page-{n:04}.json" for n in range(1, 101)]
    notes = (
        *(QualityNote("inputs", "unmapped_columns", 1000, unused, page) for page in pages),
        QualityNote("inputs", "unmapped_columns", 7, ("2 columns not used: a, b",), "x.json"),
    )
    rows = note_rows(notes)
    assert [(r.count, r.source) for r in rows] == [
        (100_000, "managed_devices.page-0001.json and 99 more files"),
        (7, "x.json"),
    ]
    twice = QualityNote("serial_number", "missing", 3, (), "a.json")
    unsourced = QualityNote("serial_number", "duplicate", 2, ("C02X",), "")
    assert [r.source for r in note_rows([twice, dataclasses.replace(twice, source="b.json")])] == [
        "a.json and 1 more file"
    ]
    pair = [unsourced, dataclasses.replace(unsourced, source="b.json")]
    assert note_rows(pair) == tuple(pair)  # a note not about a file is never folded in
    words = {**report.quality.words, "inputs": "inputs", "unmapped_columns": "columns not used"}
    quality = dataclasses.replace(report.quality, notes=notes, note_rows=rows, words=words)
    html = render_html(dataclasses.replace(report, quality=quality))
    assert html.count("19 columns not used") == 1
    assert "managed_devices.page-0001.json and 99 more files" in html
    assert "Data quality sheet and findings.json list each file" in html
