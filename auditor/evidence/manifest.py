"""manifest.json: what a run read and wrote, with digests, written atomically and signed."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditor.errors import AuditorError
from auditor.evidence.keys import fingerprint, load_private_key
from auditor.fileops import sha256_and_size, write_atomic
from auditor.models import InputFile, RunMeta

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FORMAT_VERSION = 1
# Files auditor writes: one the manifest does not name is a stale report, not a harmless extra.
REPORT_NAMES = frozenset(
    {
        "findings.json", "report.xlsx", "report.pdf", "report.html", "findings.csv",
        "findings.ndjson", "findings.ocsf.json", "junit.xml", "devices.parquet",
        "snapshot.json.gz", "snapshot.json",
    }
)  # fmt: skip


def build_manifest(
    out_dir: Path,
    outputs: Sequence[Path],
    inputs: Sequence[InputFile],
    meta: RunMeta,
    *,
    record_paths: bool = False,
    input_copies: Mapping[str, str] | None = None,
    bundle: str | None = None,
) -> dict[str, Any]:
    """The manifest of one run: what ran, on what, when, and the digest of every output.

    Inputs are named by file name, or by the path as given with `record_paths`. An input
    inside `out_dir` (a relative path counts from the working directory), or copied into it
    (`input_copies`: path as read → copy relative to `out_dir`), also gets `folder_path`, so
    that `verify` re-hashes it. `bundle` names the bundle's run.json, when there is one.
    """
    return {
        "auditor_manifest": FORMAT_VERSION,
        "tool": {"name": "auditor", "version": meta.tool_version},
        "period": meta.period,
        "as_of": meta.as_of.isoformat(),
        "generated_at": meta.generated_at.isoformat(),
        "source": meta.source,
        "tenant_id": meta.tenant_id,
        "catalogue": {
            "as_of": meta.catalogue_as_of.isoformat(),
            "source": meta.catalogue_source,
            "age_days": meta.catalogue_age_days,
            "is_stale": meta.catalogue_is_stale,
        },
        "config": {"sha256": meta.config_digest or None},
        "waivers": {"sha256": meta.waivers_digest or None},
        "inputs": [_input(out_dir, i, record_paths, input_copies or {}) for i in inputs],
        "outputs": sorted((_describe(out_dir, p) for p in outputs), key=lambda o: o["path"]),
        "bundle": bundle,
    }


def write_manifest(
    out_dir: Path, manifest: dict[str, Any], key: Path | Ed25519PrivateKey | None = None
) -> Path:
    """Write manifest.json atomically; with `key` also manifest.sig. Returns the manifest's path.

    `key` is an Ed25519 private key PEM file, or the key `load_private_key` already loaded.
    Both files get mode 0644 less the umask. Without a key, a manifest.sig left by an earlier
    run in the same folder is removed.
    """
    signing_key = load_private_key(key) if isinstance(key, Path) else key
    if signing_key is not None:
        public_key_sha256 = fingerprint(signing_key.public_key())
        manifest = {**manifest, "signature": {"algorithm": "ed25519", "file": SIGNATURE,
                                              "public_key_sha256": public_key_sha256}}  # fmt: skip
    data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    path = out_dir / MANIFEST
    try:
        write_atomic(path, data)
        if signing_key is not None:
            write_atomic(out_dir / SIGNATURE, base64.b64encode(signing_key.sign(data)) + b"\n")
        else:
            (out_dir / SIGNATURE).unlink(missing_ok=True)
    except OSError as exc:
        where = exc.filename or path
        raise AuditorError(f"{where}: cannot write the evidence manifest: {exc}") from exc
    return path


def _describe(out_dir: Path, path: Path) -> dict[str, Any]:
    """Relative path, sha256 and size of one output."""
    try:
        relative = path.resolve().relative_to(out_dir.resolve()).as_posix()
    except ValueError as exc:
        raise ValueError(f"{path}: outputs must lie inside {out_dir}") from exc
    if relative in (MANIFEST, SIGNATURE):
        raise ValueError(f"{path}: the manifest cannot list itself")
    try:
        digest, size = sha256_and_size(path)
    except OSError as exc:
        raise AuditorError(f"{path}: cannot hash the report for the manifest: {exc}") from exc
    return {"path": relative, "sha256": digest, "bytes": size}


def _location(path: str) -> str:
    """An input's path as given, minus any URL credentials, query or fragment (SAS tokens)."""
    if "://" not in path:
        return path
    parts = urlsplit(path)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _input(
    out_dir: Path, item: InputFile, record_paths: bool, copies: Mapping[str, str]
) -> dict[str, Any]:
    """An input's manifest entry; `folder_path` when the file (or its copy) is in `out_dir`."""
    location = _location(item.path)
    entry: dict[str, Any] = {
        "path": location if record_paths or "://" in location else Path(location).name,
        "kind": item.kind, "sha256": item.sha256, "records": item.records,
    }  # fmt: skip
    if item.path in copies:
        entry["folder_path"] = copies[item.path]
    elif "://" not in item.path:
        try:
            inside = Path(item.path).resolve().relative_to(out_dir.resolve())
        except (ValueError, OSError):
            return entry  # elsewhere: recorded, not re-hashed by verify
        entry["folder_path"] = inside.as_posix()
    return entry
