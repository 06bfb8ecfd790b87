"""Render a run's formats on all cores: findings.json and the workbook each in a child process.

The workbook is the longest renderer at scale (seconds per 100k Macs) and the PDF is next;
they share nothing but the report model, so the workbook and findings.json go to child
processes (`auditor.forked`: on Linux forked after the model is built, so the model crosses
without being copied or serialized; elsewhere spawned, the model pickled once) while the PDF
and every other format render here. The PDF attaches findings.json as written: it lays its
pages out first and waits for the file after.

A failure in a child is the same failure as in this process: an AuditorError comes back as
itself (a RenderError names the file), anything else as an error carrying the child's
traceback; a child that dies is a RenderError with its exit status. When this process fails,
the children are stopped, so nothing half-written survives (each renderer writes atomically
into the staging folder the pipeline discards on failure).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.clock import Lap, Stopwatch
from auditor.errors import AuditorError, RenderError
from auditor.forked import ChildDied, ChildFailed, Forked, default_start_method
from auditor.render import OUTPUT_NAMES, RENDERERS, Renderer

if TYPE_CHECKING:
    from auditor.report import Report

log = logging.getLogger(__name__)
CHILD_FORMATS = ("json", "xlsx")  # each rendered in a process of its own beside the others


def render_reports(
    report: Report,
    formats: Sequence[str],
    folder: Path,
    *,
    json_indent: bool = False,
    start_method: str | None = None,
) -> list[Path]:
    """Render each format into `folder` (named by OUTPUT_NAMES); the paths in `formats` order.

    With more than one format, findings.json and the workbook each render in a child process
    (`start_method`: fork on Linux, spawn elsewhere) while the others render here; the PDF,
    which attaches findings.json, lays its pages out first and waits for the file after.

    Raises:
        RenderError: A format could not be produced (from either process).
    """
    paths = {fmt: folder / OUTPUT_NAMES[fmt] for fmt in formats}
    aside = [f for f in formats if f in CHILD_FORMATS] if len(formats) > 1 else []
    method = start_method or default_start_method()
    children: dict[str, _Child] = {}
    try:
        for fmt in aside:
            children[fmt] = _Child(fmt, _renderer(fmt, json_indent), report, paths[fmt], method)
        here = sorted((f for f in formats if f not in aside), key=lambda f: f != "json")
        for fmt in here:  # findings.json first: the PDF attaches the file written
            clock = Stopwatch()
            _renderer(fmt, json_indent, paths, children.get("json"))(report, paths[fmt])
            log.info("rendered %s: %s", OUTPUT_NAMES[fmt], clock.lap())
        for child in children.values():
            lap = child.wait()
            log.info("rendered %s in a child process: %s", OUTPUT_NAMES[child.fmt], lap)
    finally:
        for child in children.values():
            child.stop()
    return [paths[fmt] for fmt in formats]


def _renderer(
    fmt: str,
    json_indent: bool,
    paths: Mapping[str, Path] | None = None,
    json_child: _Child | None = None,
) -> Renderer:
    """The function that writes `fmt`.

    findings.json indented or not; the PDF attaching the findings.json this run writes (here,
    or once `json_child` has written it).
    """
    if fmt == "json" and json_indent:
        from auditor.render.json import render

        return functools.partial(render, indent=True)
    if fmt == "pdf" and paths is not None and "json" in paths:
        from auditor.render.pdf import render as render_pdf

        written = paths["json"]
        if json_child is None:
            return functools.partial(render_pdf, findings_json=written)

        def when_written() -> Path:
            json_child.wait()  # raises what stopped it
            return written

        return functools.partial(render_pdf, findings_json=when_written)
    return RENDERERS[fmt]


class _Child:
    """One format rendering in a child process, and how it ended (asked once or more)."""

    def __init__(
        self, fmt: str, renderer: Renderer, report: Report, path: Path, start_method: str
    ) -> None:
        self.fmt = fmt
        self._answer: Lap | BaseException | None = None
        self._forked: Forked[Lap] = Forked(
            _render, renderer, report, path, name=f"auditor-render-{fmt}", start_method=start_method
        )

    def wait(self) -> Lap:
        """Block until the child ends: what it cost, or raise what it raised (or it died).

        Asked again, the same answer (the PDF asks for findings.json before the run does).
        """
        if self._answer is None:
            try:
                (self._answer,) = self._forked
            except AuditorError as exc:
                self._answer = exc
            except ChildFailed as exc:
                self._answer = RuntimeError(
                    f"rendering {OUTPUT_NAMES[self.fmt]} failed:\n{exc.details}"
                )
            except ChildDied as exc:
                self._answer = RenderError(
                    f"{OUTPUT_NAMES[self.fmt]}: the process rendering it "
                    f"{str(exc).removeprefix('the child process ')} (out of memory?); "
                    "no report was written"
                )
        if isinstance(self._answer, BaseException):
            raise self._answer
        return self._answer

    def stop(self) -> None:
        """End the child if it still runs (this process failed first), and release it."""
        self._forked.stop()


def _render(renderer: Renderer, report: Report, path: Path) -> Iterator[Lap]:
    """The child's work: render, then what it cost."""
    clock = Stopwatch()
    renderer(report, path)
    yield clock.lap()
