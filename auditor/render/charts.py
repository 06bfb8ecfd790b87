"""The PDF's charts: report-model numbers drawn as small, deterministic SVG documents.

Plain SVG (rectangles, lines and text that WeasyPrint sets in DejaVu Sans) rather than a
plotting library: two bar charts and a trend need no layout engine, the same model gives
byte-identical SVG, and a run that writes the PDF no longer imports one (matplotlib took
~0.55 s of CPU per process and ~0.1 s per report). Only geometry is computed here; every
number drawn is a report-model number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from auditor.report import Report
from auditor.report.model import TrendPoint

SEVERITY_COLOURS = {
    "critical": "#7f1d1d",
    "high": "#c2410c",
    "medium": "#ca8a04",
    "low": "#2563eb",
    "info": "#64748b",
    "none": "#15803d",
}
INK = "#1f2937"
GRID = "#d1d5db"
OS_BAR = "#475569"
TREND_BAR = "#fed7aa"
TREND_LINE = "#15803d"
FONT_PT = 8.0
SMALL_PT = 7.0
_CHAR_EM = 0.62  # DejaVu Sans' widest common glyphs are ~0.62 em: label widths are estimated
_TICK_PT = 3.0
_BAR_WIDTH = 240.0  # the bar charts' width in pt: half a page's column, as the PDF shows them
_BAR_ROW_PT = 14.0
_TREND_SIZE = (490.0, 137.0)


@dataclass(frozen=True, slots=True)
class _Box:
    """The plot area inside a chart, in pt from the top left."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def _num(value: float) -> str:
    """A coordinate as SVG text: two decimals at most, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _label(value: float) -> str:
    """A tick or value label: whole numbers with thousands separators."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,g}"


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: float = FONT_PT,
    anchor: str = "start",
    rotate: float = 0.0,
    fill: str = INK,
) -> str:
    """A text element whose vertical middle sits on `y` (no dominant-baseline needed)."""
    baseline = y + 0.35 * size
    turn = f' transform="rotate({_num(rotate)} {_num(x)} {_num(y)})"' if rotate else ""
    return (
        f'<text x="{_num(x)}" y="{_num(baseline)}" font-size="{_num(size)}" '
        f'text-anchor="{anchor}" fill="{fill}"{turn}>{escape(text)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, width: float) -> str:
    return (
        f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
        f'stroke="{colour}" stroke-width="{_num(width)}"/>'
    )


def _rect(x: float, y: float, width: float, height: float, colour: str) -> str:
    return (
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(width, 0.0))}" '
        f'height="{_num(height)}" fill="{colour}"/>'
    )


def _document(width: float, height: float, parts: Iterable[str]) -> str:
    """The SVG document: size in pt, DejaVu Sans for every text."""
    return (
        '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_num(width)}pt" '
        f'height="{_num(height)}pt" viewBox="0 0 {_num(width)} {_num(height)}" '
        'font-family="DejaVu Sans, sans-serif">\n' + "\n".join(parts) + "\n</svg>\n"
    )


def ticks(top: float, most: int = 6) -> list[float]:
    """Round axis values from 0 up to `top`: steps of 1, 2, 2.5 or 5 × 10ⁿ, at most `most`.

    Counts of Macs never get a fractional step (2.5 only from 25 up; 1 at least).
    """
    if top <= 0:
        return [0.0]
    magnitude = 10.0 ** math.floor(math.log10(top / (most - 1)))
    step = 10 * magnitude
    for factor in (1.0, 2.0, 2.5, 5.0):
        candidate = factor * magnitude
        if candidate >= 1 and candidate.is_integer() and top / candidate <= most - 1:
            step = candidate
            break
    step = max(step, 1.0)
    return [i * step for i in range(int(top / step + 1e-9) + 1)]


def _fit(label: str, room_pt: float, size: float) -> str:
    """`label`, cut with an ellipsis where it would not fit in `room_pt`."""
    most = max(int(room_pt / (_CHAR_EM * size)), 4)
    return label if len(label) <= most else label[: most - 1] + "…"


def _hbar(labels: Sequence[str], values: Sequence[int], colours: Sequence[str], xlabel: str) -> str:
    """Horizontal bars, one row per label, each with its value at the bar's end."""
    rows = max(len(labels), 1)
    height = 32.0 + _BAR_ROW_PT * rows
    widest = max((len(label) for label in labels), default=0) * _CHAR_EM * FONT_PT
    left = min(max(0.22 * _BAR_WIDTH, widest + 8.0), 0.45 * _BAR_WIDTH)
    box = _Box(left, 4.0, 0.95 * _BAR_WIDTH, height - 28.0)
    top = max(values, default=0)
    scale_max = max(top * 1.15, 1.0)

    def x(value: float) -> float:
        return box.left + box.width * value / scale_max

    parts = []
    for tick in ticks(scale_max, most=7):
        parts.append(_line(x(tick), box.top, x(tick), box.bottom, GRID, 0.5))
        parts.append(_line(x(tick), box.bottom, x(tick), box.bottom + _TICK_PT, INK, 0.8))
        parts.append(_text(x(tick), box.bottom + _TICK_PT + 6.0, _label(tick), anchor="middle"))
    band = box.height / rows
    for row, (label, value, colour) in enumerate(zip(labels, values, colours, strict=True)):
        middle = box.top + band * (row + 0.5)
        length = x(value) - box.left
        parts.append(_rect(box.left, middle - 0.325 * band, length, 0.65 * band, colour))
        parts.append(_line(box.left - _TICK_PT, middle, box.left, middle, INK, 0.8))
        parts.append(
            _text(box.left - _TICK_PT - 2.0, middle, _fit(label, left - 8.0, FONT_PT), anchor="end")
        )
        parts.append(_text(x(value) + 2.0, middle, _label(value), size=SMALL_PT))
    parts.append(_line(box.left, box.top, box.left, box.bottom, GRID, 0.8))
    parts.append(_line(box.left, box.bottom, box.right, box.bottom, GRID, 0.8))
    parts.append(_text((box.left + box.right) / 2, height - 6.0, xlabel, anchor="middle"))
    return _document(_BAR_WIDTH, height, parts)


def severity_chart(report: Report) -> str:
    """Macs by their worst failing severity, 'none' last."""
    rows = report.summary.devices_by_worst
    return _hbar(
        [r.label for r in rows],
        [r.count for r in rows],
        [SEVERITY_COLOURS[r.label] for r in rows],
        "Macs (each at its worst failure)",
    )


def os_chart(report: Report) -> str:
    """Macs per macOS major, newest first."""
    majors = report.distribution.os_majors
    return _hbar(
        [f"macOS {m.label}" if m.label[0].isdigit() else m.label for m in majors],
        [m.count for m in majors],
        [OS_BAR] * len(majors),
        "Macs",
    )


def trend_chart(trend: Sequence[TrendPoint]) -> str:
    """Failing Macs per period (bars, left axis) and posture % (line, right axis, 0–100).

    A period without Macs has no posture: the line breaks there instead of dropping to 0.
    """
    width, height = _TREND_SIZE
    box = _Box(0.08 * width, 0.05 * height, 0.92 * width, 0.7 * height)
    failing_max = max((p.failing_devices for p in trend), default=0)
    left_max = max(failing_max * 1.05, 1.0)
    band = box.width / max(len(trend), 1)

    def y_left(value: float) -> float:
        return box.bottom - box.height * value / left_max

    def y_right(pct: float) -> float:
        return box.bottom - box.height * pct / 100.0

    parts = []
    for tick in ticks(left_max, most=5):
        parts.append(_line(box.left - _TICK_PT, y_left(tick), box.left, y_left(tick), INK, 0.8))
        parts.append(_text(box.left - _TICK_PT - 2.0, y_left(tick), _label(tick), anchor="end"))
    for pct in range(0, 101, 20):
        parts.append(_line(box.right, y_right(pct), box.right + _TICK_PT, y_right(pct), INK, 0.8))
        parts.append(_text(box.right + _TICK_PT + 2.0, y_right(pct), str(pct)))
    for index, point in enumerate(trend):
        centre = box.left + band * (index + 0.5)
        bar_top = y_left(point.failing_devices)
        bar_height = box.bottom - bar_top
        parts.append(_rect(centre - 0.4 * band, bar_top, 0.8 * band, bar_height, TREND_BAR))
        parts.append(_line(centre, box.bottom, centre, box.bottom + _TICK_PT, INK, 0.8))
        parts.append(
            _text(
                centre,
                box.bottom + _TICK_PT + 4.0,
                point.period,
                size=SMALL_PT,
                anchor="end",
                rotate=-45.0,
            )
        )
    parts.extend(_posture_line(trend, box, band, y_right))
    parts.append(_line(box.left, box.top, box.left, box.bottom, GRID, 0.8))
    parts.append(_line(box.right, box.top, box.right, box.bottom, GRID, 0.8))
    parts.append(_line(box.left, box.bottom, box.right, box.bottom, GRID, 0.8))
    middle = (box.top + box.bottom) / 2
    parts.append(_text(12.0, middle, "failing Macs", anchor="middle", rotate=-90.0))
    parts.append(_text(width - 10.0, middle, "posture %", anchor="middle", rotate=-90.0))
    parts.extend(_trend_legend(box.left + 6.0, box.top + 6.0))
    return _document(width, height, parts)


def _posture_line(
    trend: Sequence[TrendPoint], box: _Box, band: float, y: Callable[[float], float]
) -> list[str]:
    """The posture polyline, broken where a period has none, with a dot per period."""
    runs: list[list[tuple[float, float]]] = [[]]
    for index, point in enumerate(trend):
        if point.posture_pct is None:
            runs.append([])
            continue
        runs[-1].append((box.left + band * (index + 0.5), y(point.posture_pct)))
    parts = []
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{_num(px)},{_num(py)}" for px, py in run)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{TREND_LINE}" '
                'stroke-width="1.5"/>'
            )
        parts.extend(
            f'<circle cx="{_num(px)}" cy="{_num(py)}" r="3" fill="{TREND_LINE}"/>' for px, py in run
        )
    return parts


def _trend_legend(x: float, y: float) -> list[str]:
    """The two series' keys, top left inside the plot."""
    return [
        _rect(x, y - 3.0, 12.0, 6.0, TREND_BAR),
        _text(x + 16.0, y, "failing Macs", size=SMALL_PT),
        _line(x, y + 10.0, x + 12.0, y + 10.0, TREND_LINE, 1.5),
        f'<circle cx="{_num(x + 6.0)}" cy="{_num(y + 10.0)}" r="3" fill="{TREND_LINE}"/>',
        _text(x + 16.0, y + 10.0, "posture %", size=SMALL_PT),
    ]
