"""Evidence: manifest.json beside the reports (digests of inputs, outputs, config), signing, verify.

The manifest holds digests, sizes, record counts and paths relative to the output folder, never
a credential. With an Ed25519 private key (PEM) the exact manifest bytes are signed into
`manifest.sig` (base64); `verify` re-hashes every output and, given the public key, the signature.
Inputs are recorded; `verify` re-hashes only those inside the folder (`folder_path`, e.g. the
snapshot of a Graph pull): the others lie elsewhere and are reported as not checked. A report
file in the folder that the manifest does not name (left by an earlier run?) fails `verify`.
Keys are made and loaded in `evidence.keys`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditor.errors import AuditorError, VerifyError
from auditor.evidence.keys import fingerprint, generate_keypair, load_private_key, load_public_key
from auditor.fileops import sha256_and_size, write_atomic
from auditor.models import InputFile, RunMeta

__all__ = [
    "MANIFEST",
    "SIGNATURE",
    "VerifyResult",
    "build_manifest",
    "check_evidence",
    "generate_keypair",
    "load_private_key",
    "load_public_key",
    "verify",
    "write_manifest",
]
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FORMAT_VERSION = 1
# Files auditor writes: one the manifest does not name is a stale report, not a harmless extra.
REPORT_NAMES = frozenset(
    {"findings.json", "report.xlsx", "report.pdf", "snapshot.json.gz", "snapshot.json"}
)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What `check_evidence` found: files that match, problems, and the signature's state."""

    directory: Path
    checked: tuple[str, ...]  # outputs that match
    problems: tuple[str, ...]  # "report.pdf: changed (…)", one per file at fault
    unlisted: tuple[str, ...]  # other files the manifest does not name (ignored, not a problem)
    signature: str  # verified | not checked | unsigned
    inputs_checked: tuple[str, ...] = ()  # inputs inside the folder that match
    inputs_not_checked: tuple[str, ...] = ()  # inputs recorded but outside the folder

    @property
    def is_ok(self) -> bool:
        """True when every listed file matches and the signature (if checked) verifies."""
        return not self.problems

    def summary(self) -> str:
        """A few lines for the console: the verdict, what was checked and what was not."""
        if self.problems:
            listed = "\n  - ".join(self.problems)
            lines = [f"{self.directory}: {len(self.problems)} problem(s):\n  - {listed}"]
        else:
            checked = len(self.checked) + len(self.inputs_checked)
            lines = [f"OK: {checked} file(s) match {MANIFEST} in {self.directory}"]
        if self.inputs_checked:
            inside = ", ".join(self.inputs_checked)
            lines.append(f"checked: the outputs, and the inputs inside this folder ({inside})")
        else:
            lines.append("checked: the outputs only")
        if self.inputs_not_checked:
            outside = ", ".join(self.inputs_not_checked)
            lines.append(f"inputs recorded, not checked (outside this folder): {outside}")
        lines.append(
            {
                "verified": "signature verified with the given public key",
                "not checked": "warning: manifest is signed; pass --key PUBKEY to check the "
                "signature",
                "unsigned": "the manifest is not signed",
            }[self.signature]
        )
        if self.unlisted:
            lines.append(f"not in the manifest (ignored): {', '.join(self.unlisted)}")
        return "\n".join(lines)


def build_manifest(
    out_dir: Path, outputs: Sequence[Path], inputs: Sequence[InputFile], meta: RunMeta
) -> dict[str, Any]:
    """The manifest of one run: what ran, on what, when, and the digest of every output.

    An input file inside `out_dir` (a relative path counts from the working directory) also
    gets `folder_path`, relative to `out_dir`, so that `verify` re-hashes it.
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
        "inputs": [_input(out_dir, i) for i in inputs],
        "outputs": sorted((_describe(out_dir, p) for p in outputs), key=lambda o: o["path"]),
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


def verify(out_dir: Path, key: Path | None = None) -> VerifyResult:
    """Check `out_dir` against its manifest; raise VerifyError naming every changed/missing file."""
    result = check_evidence(out_dir, key)
    if not result.is_ok:
        raise VerifyError(result.summary())
    return result


def check_evidence(out_dir: Path, key: Path | None = None) -> VerifyResult:
    """Re-hash every output and every input inside `out_dir`; check the signature given `key`.

    A report-named file (REPORT_NAMES) the manifest does not list is a problem; other unlisted
    files are ignored. Raises VerifyError only when there is no readable manifest; everything
    else is a problem in the result.
    """
    data, manifest = _read_manifest(out_dir)
    problems: list[str] = []
    checked: list[str] = []
    for entry in manifest["outputs"]:
        problem = _check_file(out_dir, entry["path"], entry["sha256"], entry["bytes"])
        if problem:
            problems.append(f"{entry['path']}: {problem}")
        else:
            checked.append(entry["path"])
    inputs_checked: list[str] = []
    inputs_not_checked: list[str] = []
    named = {e["path"] for e in manifest["outputs"]} | {MANIFEST, SIGNATURE}
    inputs = manifest.get("inputs")
    for entry in inputs if isinstance(inputs, list) else []:
        inside = _inside_path(out_dir, entry)
        if inside is None:
            inputs_not_checked.append(str(entry.get("path")))
            continue
        named.add(inside)
        problem = _check_file(out_dir, inside, entry.get("sha256"), None)
        if problem:
            problems.append(f"{inside}: input {problem}")
        else:
            inputs_checked.append(inside)
    signature = _check_signature(out_dir, data, manifest, key, problems)
    present = (p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())
    unlisted = sorted(p for p in present if p not in named and not p.startswith("."))
    problems += [
        f"{p} is not in the manifest: left from an earlier run?"
        for p in unlisted
        if PurePosixPath(p).name in REPORT_NAMES
    ]
    return VerifyResult(
        out_dir,
        tuple(checked),
        tuple(problems),
        tuple(p for p in unlisted if PurePosixPath(p).name not in REPORT_NAMES),
        signature,
        tuple(inputs_checked),
        tuple(inputs_not_checked),
    )


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


def _read_manifest(out_dir: Path) -> tuple[bytes, dict[str, Any]]:
    path = out_dir / MANIFEST
    try:
        data = path.read_bytes()
        manifest = json.loads(data)
    except FileNotFoundError as exc:
        raise VerifyError(f"{path}: missing: {out_dir} is not an auditor evidence folder") from exc
    except OSError as exc:
        raise VerifyError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerifyError(f"{path}: not valid JSON (changed or damaged): {exc}") from exc
    outputs = manifest.get("outputs") if isinstance(manifest, dict) else None
    shape_ok = isinstance(outputs, list) and all(
        isinstance(o, dict) and {"path", "sha256", "bytes"} <= set(o) for o in outputs
    )
    if not isinstance(manifest, dict) or manifest.get("auditor_manifest") != FORMAT_VERSION:
        raise VerifyError(f"{path}: not an auditor manifest (format {FORMAT_VERSION} expected)")
    if not shape_ok:
        raise VerifyError(f"{path}: 'outputs' must list path, sha256 and bytes for every file")
    return data, manifest


def _check_file(out_dir: Path, path: str, sha256: Any, size_bytes: Any) -> str | None:
    """None when the file matches its digest (and size, if recorded), else what is wrong."""
    relative = PurePosixPath(str(path))
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return "path leaves the evidence folder: not checked"
    try:
        digest, size = sha256_and_size(out_dir.joinpath(*relative.parts))
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if size_bytes is not None and size != size_bytes:
        return f"changed: {size} bytes, the manifest records {size_bytes}"
    if digest != sha256:
        return f"changed: sha256 {digest[:12]}…, the manifest records {str(sha256)[:12]}…"
    return None


def _input(out_dir: Path, item: InputFile) -> dict[str, Any]:
    """An input's manifest entry; `folder_path` when the file lies inside `out_dir`."""
    entry: dict[str, Any] = {
        "path": _location(item.path), "kind": item.kind, "sha256": item.sha256,
        "records": item.records,
    }  # fmt: skip
    if "://" not in item.path:
        try:
            inside = Path(item.path).resolve().relative_to(out_dir.resolve())
        except (ValueError, OSError):
            return entry  # elsewhere: recorded, not re-hashed by verify
        entry["folder_path"] = inside.as_posix()
    return entry


def _inside_path(out_dir: Path, entry: Any) -> str | None:
    """Where a manifest input lies inside `out_dir` (relative, POSIX), or None when outside.

    `folder_path` says so; an absolute `path` under the folder counts too (older manifests).
    """
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("folder_path"), str):
        return str(entry["folder_path"])
    path = entry.get("path")
    if not isinstance(path, str) or "://" in path or not Path(path).is_absolute():
        return None
    try:
        return Path(path).resolve().relative_to(out_dir.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def _check_signature(
    out_dir: Path, data: bytes, manifest: dict[str, Any], key: Path | None, problems: list[str]
) -> str:
    """The signature's state (verified, not checked, unsigned); a bad one adds a problem."""
    sig_path = out_dir / SIGNATURE
    if key is None:
        if "signature" in manifest and not sig_path.exists():
            problems.append(f"{SIGNATURE}: missing, but {MANIFEST} records a signature")
        return "not checked" if sig_path.exists() or "signature" in manifest else "unsigned"
    public = load_public_key(key)
    try:
        signature = base64.b64decode(sig_path.read_bytes().strip(), validate=True)
        public.verify(signature, data)
    except FileNotFoundError:
        problems.append(f"{SIGNATURE}: missing, but a key was given: the evidence is not signed")
    except (binascii.Error, ValueError):
        problems.append(f"{SIGNATURE}: not a base64 signature (changed or damaged)")
    except InvalidSignature:
        recorded = manifest.get("signature", {}).get("public_key_sha256", "?")
        other_key = f" (signed by key {recorded[:16]}…)" if recorded != fingerprint(public) else ""
        problems.append(
            f"{MANIFEST}: signature does not verify with {key.name}{other_key}: the manifest or "
            "its signature changed after signing, or the wrong key was given"
        )
    else:
        return "verified"
    return "not checked"
