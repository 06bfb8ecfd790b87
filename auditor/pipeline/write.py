"""A run's evidence, written whole into its staging folder: reports, carried files, manifest.

Everything here lands in the staging folder (`pipeline.folder`); paths are recorded as they
will be once the folder is swapped in place of `--out`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditor import __version__
from auditor.config import Config
from auditor.errors import ConfigError
from auditor.evidence import build_manifest, write_manifest
from auditor.evidence.bundle import BUNDLE, RUN_FILE, Bundle, write_bundle
from auditor.models import InputFile, RunMeta
from auditor.pipeline.folder import Staging, hook
from auditor.refdata.catalogue import Catalogue
from auditor.render import OUTPUT_NAMES, RENDERERS
from auditor.render.action_plan_csv import write_action_plans
from auditor.report import Report


@dataclass(frozen=True, slots=True)
class BundleChoices:
    """What `--bundle-inputs` records about the run beside the copies (`bundle/run.json`)."""

    config: Config
    catalogue: Catalogue
    run: dict[str, object]


@dataclass(frozen=True, slots=True)
class Written:
    """The staged evidence: outputs (fetched snapshot first) and manifest, in the staging folder."""

    outputs: tuple[Path, ...]
    manifest: Path


def write_evidence(
    report: Report,
    staging: Staging,
    *,
    formats: Sequence[str],
    inputs: Sequence[InputFile],
    fetched: Sequence[Path],
    meta: RunMeta,
    signing_key: Ed25519PrivateKey | None,
    record_paths: bool,
    bundle: BundleChoices | None,
    split_by: str | None = None,
) -> Written:
    """Render every format, carry the old folder's other files, bundle, then write the manifest.

    With `split_by`, the Action plan is also written as one CSV per group, category or owner.

    An input lying in `--out` (a snapshot re-audited in place) is carried into the new folder
    and recorded where it lies there, so `verify` re-hashes it.
    """
    outputs = [*fetched, *_render(report, formats, staging.path, split_by)]
    hook("rendered")
    old_bundle = (staging.out_dir / BUNDLE).resolve()
    readable = [Path(i.path) for i in inputs if "://" not in i.path]
    carried = staging.carry_over(
        p for p in readable if bundle is None or old_bundle not in p.resolve().parents
    )
    hook("carried")
    located = _located(inputs, staging, carried)
    recorded = [
        dataclasses.replace(i, path=str(staging.out_dir / located[i.path]))
        if i.path in located
        else i
        for i in inputs
    ]
    copies = {r.path: located[i.path] for r, i in zip(recorded, inputs, strict=True)
              if i.path in located}  # fmt: skip
    made: Bundle | None = None
    if bundle is not None:
        sources = [staging.path / located[i.path] if i.path in located else Path(i.path)
                   for i in inputs]  # fmt: skip
        made = _bundle(bundle, sources, staging.path)
        copies = {r.path: made.input_copies[str(s)] for r, s in zip(recorded, sources, strict=True)}
        hook("bundled")
    manifest = write_manifest(
        staging.path,
        build_manifest(
            staging.path,
            [*outputs, *(made.files if made else ())],
            recorded,
            meta,
            record_paths=record_paths,
            input_copies=copies,
            bundle=RUN_FILE if made else None,
        ),
        key=signing_key,
    )
    hook("manifest-written")
    return Written(tuple(outputs), manifest)


def _located(
    inputs: Sequence[InputFile], staging: Staging, carried: dict[Path, str]
) -> dict[str, str]:
    """Input path as read → where it lies in the new folder (carried, or written there)."""
    inside = staging.path.resolve()
    located: dict[str, str] = {}
    for item in inputs:
        if "://" in item.path:
            continue
        resolved = Path(item.path).resolve()
        if resolved in carried:
            located[item.path] = carried[resolved]
        elif inside in resolved.parents:
            located[item.path] = resolved.relative_to(inside).as_posix()
    return located


def _bundle(choices: BundleChoices, inputs: Sequence[Path], folder: Path) -> Bundle:
    """Copy what the run read into the evidence folder, with what `verify --rerun` needs."""
    config = choices.config
    return write_bundle(
        folder,
        list(inputs),
        config_file=config.config_file,
        waivers_file=config.waivers_file,
        catalogue=choices.catalogue,
        run={**choices.run, "tool_version": __version__},
    )


def refuse_url_bundle(inputs: Sequence[InputFile]) -> None:
    """--bundle-inputs copies files: an input read from a URL cannot be bundled."""
    if any("://" in i.path for i in inputs):
        raise ConfigError("--bundle-inputs copies input files; an input is a URL")


def _render(
    report: Report, formats: Sequence[str], folder: Path, split_by: str | None
) -> list[Path]:
    """Render every format (and the split action plans) into `folder`."""
    written = []
    for fmt in formats:
        path = folder / OUTPUT_NAMES[fmt]
        RENDERERS[fmt](report, path)
        written.append(path)
    if split_by is not None:
        written += write_action_plans(report, folder, split_by)
    return written
