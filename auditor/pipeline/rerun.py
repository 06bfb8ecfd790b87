"""`auditor verify DIR --rerun`: re-derive findings.json from an evidence folder's bundle.

The bundle (`run --bundle-inputs`) holds the inputs, configuration, waivers and catalogue the run
used, and `bundle/run.json` its as-of date, clock reading, source and operator. The audit is run
again from those alone into a temporary folder, and its findings.json is compared with the
folder's. What depends on the history database (`changes`, each finding's `first_seen` and
`months_failing`) cannot be re-derived from the bundle and is left out of the comparison.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.config import load_config
from auditor.errors import VerifyError
from auditor.evidence import MANIFEST
from auditor.pipeline import HISTORY_NOT_COMPARED, RunOptions, run_audit
from auditor.rules.settings import rule_problems

FINDINGS = "findings.json"
HISTORY_KEYS = ("first_seen", "months_failing")
SHOWN = 20  # differences listed before "and N more"


@dataclass(frozen=True, slots=True)
class RerunResult:
    """What re-running the bundle gave: the differences from the recorded findings.json."""

    directory: Path
    differences: tuple[str, ...]
    recorded_version: str

    def summary(self) -> str:
        """Lines for the console: the verdict, what was compared and what could not be."""
        lines = [
            f"rerun: findings.json re-derived from {self.directory / 'bundle'} "
            + ("matches the recorded one" if not self.differences else "DIFFERS")
        ]
        lines += [f"  - {d}" for d in self.differences[:SHOWN]]
        if len(self.differences) > SHOWN:
            lines.append(f"  … and {len(self.differences) - SHOWN} more")
        lines.append(
            "not re-derived (they come from the history database): changes, first_seen, "
            "months_failing"
        )
        if self.recorded_version != __version__:
            lines.append(
                f"note: the folder was written by auditor {self.recorded_version}, re-derived "
                f"with {__version__}: a difference may come from the version"
            )
        return "\n".join(lines)


def rerun_findings(directory: Path) -> RerunResult:
    """Re-derive findings.json from the bundle in `directory` and compare it with the recorded.

    Raises:
        VerifyError: the folder has no bundle or no findings.json, or the two differ.
    """
    manifest = _json(directory / MANIFEST)
    bundle = manifest.get("bundle")
    if not isinstance(bundle, str):
        raise VerifyError(
            f"{directory}: written without --bundle-inputs: the inputs are not in the folder, "
            "so findings.json cannot be re-derived"
        )
    if not (directory / FINDINGS).is_file():
        raise VerifyError(f"{directory}: no {FINDINGS} to compare (the run wrote no JSON)")
    run = _json(directory / bundle)
    config_path = _path(directory, run.get("config"))
    config = load_config(config_path, check=rule_problems)
    with tempfile.TemporaryDirectory(prefix="auditor-rerun-") as scratch:
        out = Path(scratch) / "out"
        config = dataclasses.replace(
            config.with_overrides(allow_partial=bool(run.get("allow_partial"))),
            source="files",
            inputs=tuple(directory / p for p in run["inputs"]),
            out_dir=out,
            formats=("json",),
            waivers_file=_path(directory, run.get("waivers")),
            catalogue_path=_path(directory, run.get("catalogue")),
        )
        options = RunOptions(
            as_of=dt.date.fromisoformat(run["as_of"]),
            generated_at=dt.datetime.fromisoformat(run["generated_at"]),
            operator=str(run.get("operator") or ""),
            allow_empty=bool(run.get("allow_empty")),
            recorded_source=str(run["source"]),
        )
        run_audit(config, options)
        derived = _json(out / FINDINGS)
    recorded = _json(directory / FINDINGS)
    result = RerunResult(
        directory,
        tuple(_differences(_comparable(recorded), _comparable(derived), "")),
        str(run.get("tool_version") or manifest.get("tool", {}).get("version", "?")),
    )
    if result.differences:
        raise VerifyError(result.summary())
    return result


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    """The findings.json without what only the history database could give."""
    document = {**document, "changes": None}
    document["findings"] = [
        {k: v for k, v in f.items() if k not in HISTORY_KEYS} for f in document["findings"]
    ]
    run = dict(document["run"])
    run["warnings"] = [w for w in run.get("warnings", []) if w.get("code") != HISTORY_NOT_COMPARED]
    document["run"] = run
    return document


def _differences(recorded: Any, derived: Any, where: str) -> Iterator[str]:
    """Every place the two JSON values differ, as `path: recorded … re-derived …`."""
    if isinstance(recorded, dict) and isinstance(derived, dict):
        for key in sorted(set(recorded) | set(derived), key=str):
            yield from _differences(
                recorded.get(key, "<absent>"), derived.get(key, "<absent>"), f"{where}.{key}"
            )
    elif isinstance(recorded, list) and isinstance(derived, list) and len(recorded) == len(derived):
        for i, (a, b) in enumerate(zip(recorded, derived, strict=True)):
            yield from _differences(a, b, f"{where}[{i}]")
    elif recorded != derived:
        yield f"{where.lstrip('.')}: recorded {_short(recorded)}, re-derived {_short(derived)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _path(directory: Path, relative: object) -> Path | None:
    return directory / str(relative) if relative else None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise VerifyError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise VerifyError(f"{path}: not a JSON object")
    return data
