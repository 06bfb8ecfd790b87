"""The evidence bundle: copies of everything a run read, beside the reports.

`run --bundle-inputs` copies every input file, the configuration, the waiver file and the
release catalogue the run used into `bundle/` of the output folder, with `bundle/run.json`
recording the run's own choices (as-of date, clock reading, source, operator). The manifest
lists every bundled file, so `verify` re-hashes them, and `verify --rerun` re-derives
findings.json from them alone.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.fileops import atomic_path, write_atomic
from auditor.refdata.catalogue import Catalogue
from auditor.refdata.catalogue_file import catalogue_text

BUNDLE = "bundle"
RUN_FILE = f"{BUNDLE}/run.json"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Bundle:
    """What `write_bundle` wrote: where each input's copy lies, and the bundle's other files.

    The manifest lists the copies among its inputs (`folder_path`) and `files` among its
    outputs, so `verify` re-hashes each once.
    """

    files: tuple[Path, ...]  # config, waivers, catalogue and run.json
    input_copies: Mapping[str, str]  # input path as read → its copy, relative to the folder


def write_bundle(
    out_dir: Path,
    inputs: Sequence[Path],
    *,
    config_file: Path | None,
    waivers_file: Path | None,
    catalogue: Catalogue,
    run: Mapping[str, Any],
) -> Bundle:
    """Copy the inputs (in the order read), config, waivers and catalogue into `bundle/`.

    An input already inside `out_dir` (the snapshot of a Graph pull) is not copied: it is
    named where it lies. Copies keep their file names; two inputs with one name go into
    numbered subfolders. A bundle left by an earlier run is replaced.
    """
    root = out_dir / BUNDLE
    try:
        shutil.rmtree(root, ignore_errors=True)
        (root / "inputs").mkdir(parents=True)
        written: list[Path] = []
        copies: dict[str, str] = {}
        taken: set[str] = set()
        for number, path in enumerate(inputs, 1):
            inside = _inside(path, out_dir)
            if inside is not None:
                copies[str(path)] = inside
                continue
            name = path.name if path.name not in taken else f"{number}/{path.name}"
            taken.add(path.name)
            target = root / "inputs" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy(path, target)
            copies[str(path)] = target.relative_to(out_dir).as_posix()
        recorded: dict[str, Any] = {"auditor_bundle": FORMAT_VERSION, **run}
        for key, source in (("config", config_file), ("waivers", waivers_file)):
            recorded[key] = None
            if source is not None:
                target = root / f"{key}{source.suffix or '.toml'}"
                _copy(source, target)
                written.append(target)
                recorded[key] = target.relative_to(out_dir).as_posix()
        catalogue_path = root / "catalogue.json"
        write_atomic(catalogue_path, catalogue_text(catalogue).encode("utf-8"))
        written.append(catalogue_path)
        recorded["catalogue"] = catalogue_path.relative_to(out_dir).as_posix()
        recorded["inputs"] = [copies[str(p)] for p in inputs]
        run_path = out_dir / RUN_FILE
        write_atomic(run_path, (json.dumps(recorded, indent=2) + "\n").encode("utf-8"))
        written.append(run_path)
    except OSError as exc:
        raise AuditorError(f"{exc.filename or root}: cannot bundle the inputs: {exc}") from exc
    return Bundle(tuple(written), copies)


def remove_bundle(out_dir: Path) -> bool:
    """Remove a bundle an earlier run left (it would not match this run's manifest)."""
    root = out_dir / BUNDLE
    if not (root / "run.json").is_file():
        return False
    shutil.rmtree(root, ignore_errors=True)
    return True


def _copy(source: Path, target: Path) -> None:
    with atomic_path(target) as temporary:
        shutil.copyfile(source, temporary)


def _inside(path: Path, folder: Path) -> str | None:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except (ValueError, OSError):
        return None
