"""Rendering on both cores: the workbook from a child process is the workbook, failures travel."""

from __future__ import annotations

import multiprocessing

import openpyxl
import orjson
import pytest
from pypdf import PdfReader
from report_inputs import golden_rules, make_report

from auditor.errors import RenderError
from auditor.render import RENDERERS
from auditor.render.parallel import render_reports


@pytest.fixture(scope="module")
def report():
    return make_report(rules=golden_rules())


def cell_values(path) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_workbook_rendered_aside_equals_one_rendered_here(report, tmp_path, start_method):
    here = tmp_path / "here.xlsx"
    RENDERERS["xlsx"](report, here)
    folder = tmp_path / "both"
    folder.mkdir()
    paths = render_reports(report, ["json", "xlsx", "pdf"], folder, start_method=start_method)
    assert [p.name for p in paths] == ["findings.json", "report.xlsx", "report.pdf"]
    assert cell_values(folder / "report.xlsx") == cell_values(here)
    assert orjson.loads((folder / "findings.json").read_bytes())["summary"]["devices"] == 9
    assert len(PdfReader(folder / "report.pdf").pages) > 1
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in sorted(paths)]
    assert not multiprocessing.active_children()


def test_json_indent_writes_the_same_document_indented(report, tmp_path):
    (tmp_path / "compact").mkdir()
    (tmp_path / "indented").mkdir()
    [compact] = render_reports(report, ["json"], tmp_path / "compact")
    [indented] = render_reports(report, ["json"], tmp_path / "indented", json_indent=True)
    assert b"\n" not in compact.read_bytes().rstrip(b"\n")
    assert indented.read_bytes().startswith(b'{\n  "schema_version": 1,')
    assert orjson.loads(indented.read_bytes()) == orjson.loads(compact.read_bytes())


def test_a_workbook_failing_in_the_child_fails_the_render_naming_the_file(report, tmp_path):
    (tmp_path / "report.xlsx").mkdir()  # the finished workbook cannot be moved into place
    with pytest.raises(RenderError, match=r"report\.xlsx"):
        render_reports(report, ["json", "xlsx"], tmp_path)
    assert not multiprocessing.active_children()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json", "report.xlsx"]
    assert (tmp_path / "report.xlsx").is_dir()  # nothing half-written took its place


def test_a_failure_here_stops_the_child_and_leaves_no_workbook(report, tmp_path):
    (tmp_path / "findings.json").mkdir()  # the parent's renderer fails first
    with pytest.raises(RenderError, match=r"findings\.json"):
        render_reports(report, ["json", "xlsx", "pdf"], tmp_path)
    assert not multiprocessing.active_children()
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers in (["findings.json"], ["findings.json", "report.xlsx"])  # no temp file
    if "report.xlsx" in leftovers:  # the child may have finished: then its file is whole
        assert cell_values(tmp_path / "report.xlsx")["Devices"]


@pytest.mark.parametrize(
    ("flags", "config", "indented"),
    [
        ([], "", False),
        (["--json-indent"], "", True),
        ([], "[output]\njson_indent = true\n", True),
    ],
)
def test_json_indent_from_the_flag_or_auditor_toml(tmp_path, flags, config, indented):
    from cli_runner import auditor

    (tmp_path / "auditor.toml").write_text(config)
    done = auditor(
        "run", "--config", str(tmp_path / "auditor.toml"), "--out", str(tmp_path / "out"),
        "--as-of", "2026-09-01", "--no-history", "--no-notify", "--format", "json", *flags,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    raw = (tmp_path / "out" / "findings.json").read_bytes()
    assert raw.startswith(b'{\n  "schema_version": 1,' if indented else b'{"schema_version":1,')
    assert orjson.loads(raw)["summary"]["devices"] == 300


@pytest.mark.parametrize("json_indent", [False, True])
def test_the_pdf_attaches_the_findings_json_the_run_wrote(report, tmp_path, json_indent):
    # pdf listed first: findings.json still renders first, and the PDF carries its bytes
    render_reports(report, ["pdf", "json"], tmp_path, json_indent=json_indent)
    (attached,) = PdfReader(tmp_path / "report.pdf").attachments["findings.json"]
    assert attached == (tmp_path / "findings.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json", "report.pdf"]
