"""The PDF's charts: matplotlib figures of report-model numbers, as deterministic SVG text.

No pyplot and no global backend switch: each chart draws on its own `Figure` and is saved
through matplotlib's SVG canvas with a fixed hash salt and no date, so the same model gives
byte-identical SVG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

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
_BAR_MARGINS = {"left": 0.3, "right": 0.95, "bottom": 0.25, "top": 0.97}
GRID = "#d1d5db"
_RC: Any = {
    "svg.hashsalt": "auditor",
    "svg.fonttype": "none",  # text stays text: WeasyPrint sets it in DejaVu Sans
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
}


def _svg(draw: Any, size: tuple[float, float], margins: dict[str, float]) -> str:
    """Run `draw(figure)` on a fresh figure and return the figure as SVG text.

    Margins are fixed (no tight_layout): it would draw every chart twice to measure it.
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with rc_context(_RC):
        figure = Figure(figsize=size)
        FigureCanvasSVG(figure)
        draw(figure)
        figure.subplots_adjust(**margins)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": "auditor"})
    return out.getvalue()


def _hbar(labels: Sequence[str], values: Sequence[int], colours: Sequence[str], xlabel: str) -> Any:
    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        positions = list(range(len(labels)))
        axes.barh(positions, values, color=list(colours), height=0.65)
        axes.set_yticks(positions, labels=list(labels))
        axes.invert_yaxis()
        axes.set_xlabel(xlabel)
        axes.grid(axis="x", color=GRID, linewidth=0.5)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        top = max(values, default=0)
        for y, value in zip(positions, values, strict=True):
            axes.text(value + top * 0.01, y, f"{value:,}", va="center", fontsize=7, color=INK)
        axes.set_xlim(0, max(top * 1.15, 1))

    return draw


def severity_chart(report: Report) -> str:
    """Macs by their worst failing severity, 'none' last."""
    rows = report.summary.devices_by_worst
    return _svg(
        _hbar(
            [r.label for r in rows],
            [r.count for r in rows],
            [SEVERITY_COLOURS[r.label] for r in rows],
            "Macs (each at its worst failure)",
        ),
        (3.4, 1.6),
        _BAR_MARGINS,
    )


def os_chart(report: Report) -> str:
    """Macs per macOS major, newest first."""
    majors = report.distribution.os_majors
    return _svg(
        _hbar(
            [f"macOS {m.label}" if m.label[0].isdigit() else m.label for m in majors],
            [m.count for m in majors],
            ["#475569"] * len(majors),
            "Macs",
        ),
        (3.4, max(1.2, 0.25 * len(majors) + 0.6)),
        _BAR_MARGINS,
    )


def trend_chart(trend: Sequence[TrendPoint]) -> str:
    """Posture (share of Macs with no critical/high failure) and failing Macs per period."""

    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        periods = [p.period for p in trend]
        axes.bar(periods, [p.failing_devices for p in trend], color="#fed7aa", label="failing Macs")
        axes.set_ylabel("failing Macs")
        axes.tick_params(axis="x", labelrotation=45, labelsize=7)
        for side in ("top",):
            axes.spines[side].set_visible(False)
        posture = axes.twinx()
        posture.plot(
            periods,
            [math.nan if p.posture_pct is None else p.posture_pct for p in trend],  # no Macs
            color="#15803d",
            marker="o",
            label="posture %",
        )
        posture.set_ylim(0, 100)
        posture.set_ylabel("posture %")
        posture.spines["top"].set_visible(False)
        handles = axes.get_legend_handles_labels()[0] + posture.get_legend_handles_labels()[0]
        axes.legend(handles=handles, loc="upper left", fontsize=7, frameon=False)

    return _svg(draw, (6.8, 1.9), {"left": 0.08, "right": 0.92, "bottom": 0.3, "top": 0.95})
