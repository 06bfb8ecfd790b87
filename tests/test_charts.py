"""The PDF's charts as SVG: every bar and point drawn to scale from report-model numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from report_inputs import golden_rules, make_report

from auditor.render.charts import os_chart, severity_chart, ticks, trend_chart
from auditor.report.model import TrendPoint

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def report():
    return make_report(rules=golden_rules(), cap=2)


def parse(svg: str) -> ET.Element:
    assert svg.startswith('<?xml version="1.0" encoding="utf-8"')
    return ET.fromstring(svg.encode("utf-8"))


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def bars(root: ET.Element) -> list[float]:
    return [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]


def test_each_severity_bar_is_as_long_as_its_count_and_labelled_with_it(report):
    rows = report.summary.devices_by_worst
    root = parse(severity_chart(report))
    widths = bars(root)
    assert len(widths) == len(rows)
    largest = max(r.count for r in rows)
    for row, width in zip(rows, widths, strict=True):
        assert width == pytest.approx(max(widths) * row.count / largest, abs=0.02)
        assert row.label in texts(root) and f"{row.count:,}" in texts(root)
    assert "Macs (each at its worst failure)" in texts(root)


def test_the_os_chart_names_each_major_newest_first(report):
    majors = report.distribution.os_majors
    labels = [t for t in texts(parse(os_chart(report))) if t.startswith("macOS ")]
    assert labels == [f"macOS {m.label}" for m in majors if m.label[0].isdigit()]


def point(period: str, failing: int, posture: float | None) -> TrendPoint:
    return TrendPoint(period, 100, failing, posture, ())


def test_the_trend_breaks_where_a_period_had_no_macs_and_scales_posture_to_0_100():
    trend = [point("2026-01", 40, 50.0), point("2026-02", 20, 100.0), point("2026-03", 0, None),
             point("2026-04", 10, 0.0), point("2026-05", 30, 25.0)]  # fmt: skip
    root = parse(trend_chart(trend))
    polylines = root.iter(f"{SVG}polyline")
    lines = [re.findall(r"[\d.]+,([\d.]+)", p.get("points", "")) for p in polylines]
    assert [len(line) for line in lines] == [2, 2]  # 2026-03 has no posture: two runs
    (first, second) = [[float(y) for y in line] for line in lines]
    zero, hundred = second[0], first[1]  # y grows downwards
    assert first[0] == pytest.approx((zero + hundred) / 2, abs=0.02)  # 50 % halfway
    assert second[1] == pytest.approx(zero + (hundred - zero) / 4, abs=0.02)  # 25 %
    assert len(list(root.iter(f"{SVG}circle"))) == 4 + 1  # a dot per posture, one in the key
    heights = [float(r.get("height", "0")) for r in root.iter(f"{SVG}rect")][:-1]  # key last
    assert heights == pytest.approx([h * heights[0] / 40 for h in (40, 20, 0, 10, 30)], abs=0.02)


def test_text_from_the_data_is_escaped_and_the_same_model_gives_the_same_bytes():
    trend = [point("<b>&amp;", 1, 1.0), point("2026-02", 2, None)]
    svg = trend_chart(trend)
    assert "<b>&amp;" in texts(parse(svg)) and svg == trend_chart(list(trend))


def test_an_empty_trend_and_one_without_any_posture_still_draw():
    assert texts(parse(trend_chart([])))
    assert parse(trend_chart([point("2026-01", 0, None)]))


@pytest.mark.parametrize(
    ("top", "most", "expected"),
    [
        (148.35, 7, [0, 25, 50, 75, 100, 125]),
        (1.0, 6, [0, 1]),
        (0.0, 6, [0]),
        (12.0, 6, [0, 5, 10]),
        (6.0, 6, [0, 2, 4, 6]),
        (1_150_000.0, 6, [0, 250_000, 500_000, 750_000, 1_000_000]),
    ],
)
def test_axis_ticks_are_round_whole_numbers(top, most, expected):
    assert ticks(top, most) == expected
