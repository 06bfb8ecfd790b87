"""Render a run's formats on both cores: the workbook in a child process, the rest in this one.

The workbook is the longest renderer at scale (seconds per 100k Macs) and the PDF is next;
they share nothing but the report model, so the workbook goes to a child process while the
PDF, findings.json and every other format render here (findings.json first: the PDF
attaches the file written rather than rendering it again). On Linux the child is forked after
the model is built, so the model crosses without being copied or serialized (its frames'
buffers are shared copy-on-write; `gc.freeze` keeps the child's collector from touching the
parent's objects). Where fork is unsafe (macOS, Windows) the child is spawned and the model
is pickled to it once.

A failure in the child is the same failure as in this process: an AuditorError comes back
as itself (a RenderError names the file), anything else as an error carrying the child's
traceback; a child that dies is a RenderError with its exit status. When this process fails,
the child is stopped, so nothing half-written survives (each renderer writes atomically
into the staging folder the pipeline discards on failure).
"""

from __future__ import annotations

import functools
import gc
import logging
import multiprocessing
import pickle
import signal
import sys
import traceback
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.clock import Lap, Stopwatch
from auditor.errors import AuditorError, RenderError
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
    method = start_method or _default_start_method()
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


def _default_start_method() -> str:
    # fork shares the model for free; macOS system libraries are not fork-safe
    return "fork" if sys.platform == "linux" else "spawn"


class _Child:
    """One format rendering in a child process, and how it ended."""

    def __init__(
        self, fmt: str, renderer: Renderer, report: Report, path: Path, start_method: str
    ) -> None:
        context: Any = multiprocessing.get_context(start_method)  # its Process: typeshed lacks it
        self.fmt = fmt
        self._answer: object = _UNANSWERED
        self._receive, send = context.Pipe(duplex=False)
        self._process: BaseProcess = context.Process(
            target=_child_main,
            args=(renderer, report, path, send),
            name=f"auditor-render-{fmt}",
            daemon=True,
        )
        gc.freeze()  # the child's collector then never writes into the objects it shares
        try:
            self._process.start()
        finally:
            gc.unfreeze()
            send.close()

    def wait(self) -> Lap:
        """Block until the child ends: what it cost, or raise what it raised (or it died).

        Asked again, the same answer (the PDF asks for findings.json before the run does).
        """
        if self._answer is _UNANSWERED:
            try:
                self._answer = self._receive.recv()
            except EOFError:  # it died before answering
                self._answer = None
            self._process.join()
        outcome = self._answer
        if isinstance(outcome, AuditorError):
            raise outcome
        if isinstance(outcome, str):
            raise RuntimeError(f"rendering {OUTPUT_NAMES[self.fmt]} failed:\n{outcome}")
        if not isinstance(outcome, Lap) or self._process.exitcode != 0:
            code = self._process.exitcode
            how = f"was killed by signal {-code}" if code and code < 0 else f"exited with {code}"
            raise RenderError(
                f"{OUTPUT_NAMES[self.fmt]}: the process rendering it {how} "
                "(out of memory?); no report was written"
            )
        return outcome

    def stop(self) -> None:
        """End the child if it still runs (this process failed first), and release it."""
        if self._process.is_alive():
            self._process.terminate()  # SIGTERM: it removes its temporary file and exits
            self._process.join(_STOP_GRACE_S)
            if self._process.is_alive():
                self._process.kill()
        self._process.join()
        self._receive.close()


_STOP_GRACE_S = 10.0
_UNANSWERED = object()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the renderer: `atomic_path` cleans up


def _child_main(renderer: Renderer, report: Report, path: Path, send: Connection) -> None:
    """The child's whole life: render, then answer its Lap, the AuditorError, or a traceback."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    clock = Stopwatch()
    outcome: object = None
    try:
        renderer(report, path)
        outcome = clock.lap()
    except AuditorError as exc:
        outcome = exc
    except Exception:  # the process boundary: the parent raises it with this traceback
        outcome = traceback.format_exc()
    try:
        send.send(outcome)
    except (pickle.PicklingError, TypeError, AttributeError):  # an error that cannot travel
        send.send(RenderError(str(outcome)) if isinstance(outcome, AuditorError) else repr(outcome))
    finally:
        send.close()
