"""`auditor verify`: re-hash every file an evidence folder's manifest names, check the signature."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature

from auditor.errors import VerifyError
from auditor.evidence.keys import fingerprint, load_public_key
from auditor.evidence.manifest import FORMAT_VERSION, MANIFEST, REPORT_NAMES, SIGNATURE
from auditor.fileops import sha256_and_size

STAGING_PREFIX = ".auditor-"  # the hidden folders a run stages its evidence in
OS_METADATA = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})  # file managers write these
NOTE_SUFFIXES = (".txt", ".md")  # a reader's notes beside the evidence: named, not a problem


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What `check_evidence` found: files that match, problems, and the signature's state."""

    directory: Path
    checked: tuple[str, ...]  # outputs that match
    problems: tuple[str, ...]  # "report.pdf: changed (…)", one per file at fault
    unlisted: tuple[str, ...]  # notes and OS metadata the manifest does not name (not a problem)
    signature: str  # verified | failed | key required | not checked (allowed) | unsigned
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
                "failed": "signature NOT verified with the given public key",
                "key required": "signature not checked: the manifest is signed and no public "
                "key was given",
                "not checked": "warning: the manifest is signed, but its signature was not "
                "checked (--allow-unsigned): pass --key PUBKEY to check it",
                "unsigned": "the manifest is not signed",
            }[self.signature]
        )
        if self.unlisted:
            lines.append(f"not in the manifest (ignored): {', '.join(self.unlisted)}")
        return "\n".join(lines)


def verify(out_dir: Path, key: Path | None = None, *, allow_unsigned: bool = False) -> VerifyResult:
    """Check `out_dir` against its manifest; raise VerifyError naming every changed/missing file.

    A signed manifest checked without `key` is a failure unless `allow_unsigned`.
    """
    result = check_evidence(out_dir, key, allow_unsigned=allow_unsigned)
    if not result.is_ok:
        raise VerifyError(result.summary())
    return result


def check_evidence(
    out_dir: Path, key: Path | None = None, *, allow_unsigned: bool = False
) -> VerifyResult:
    """Re-hash every output and every input inside `out_dir`; check the signature given `key`.

    Every file the manifest does not list, hidden or not, is named: a problem, except notes
    (.txt, .md) and operating-system metadata (.DS_Store …), which are listed as `unlisted`.
    What an interrupted run left (a `.auditor-*` staging folder, a `.*.tmp` file) is one
    problem per folder. Raises VerifyError only when there is no readable manifest; everything
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
    signature = _check_signature(out_dir, data, manifest, key, problems, allow_unsigned)
    unexpected = _unexpected(out_dir, named)
    problems += [problem for _, problem in unexpected if problem]
    return VerifyResult(
        out_dir,
        tuple(checked),
        tuple(problems),
        tuple(path for path, problem in unexpected if not problem),
        signature,
        tuple(inputs_checked),
        tuple(inputs_not_checked),
    )


def is_leftover(relative: str) -> bool:
    """True for what an interrupted run leaves: a staging folder or an atomic write's temporary."""
    name = PurePosixPath(relative).name
    return relative.startswith(STAGING_PREFIX) or (name.startswith(".") and name.endswith(".tmp"))


def _unexpected(out_dir: Path, named: set[str]) -> list[tuple[str, str]]:
    """(path, problem) for every file or folder the manifest does not name; "" when harmless."""
    found: dict[str, str] = {}
    for path in sorted(out_dir.rglob("*")):
        relative = path.relative_to(out_dir).as_posix()
        if relative in named or (path.is_dir() and not relative.startswith(STAGING_PREFIX)):
            continue
        top = relative.split("/", 1)[0]
        if top.startswith(STAGING_PREFIX):
            found.setdefault(f"{top}/", f"{top}/: a staging folder an interrupted auditor run "
                             "left (the next run into this folder leaves it out)")  # fmt: skip
        elif is_leftover(relative):
            found[relative] = f"{relative}: a temporary file an interrupted auditor run left"
        elif PurePosixPath(relative).name in REPORT_NAMES:
            found[relative] = f"{relative} is not in the manifest: left from an earlier run?"
        elif path.name in OS_METADATA or path.suffix.lower() in NOTE_SUFFIXES:
            found[relative] = ""
        else:
            found[relative] = f"{relative} is not in the manifest: not written by this run"
    return sorted(found.items())


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
    out_dir: Path,
    data: bytes,
    manifest: dict[str, Any],
    key: Path | None,
    problems: list[str],
    allow_unsigned: bool,
) -> str:
    """The signature's state (verified, failed, not checked, unsigned); a bad one is a problem.

    A signed manifest without `key` is a problem unless `allow_unsigned`: an edited manifest
    would otherwise pass as OK.
    """
    sig_path = out_dir / SIGNATURE
    if key is None:
        if "signature" in manifest and not sig_path.exists():
            problems.append(f"{SIGNATURE}: missing, but {MANIFEST} records a signature")
        if not (sig_path.exists() or "signature" in manifest):
            return "unsigned"
        if not allow_unsigned:
            recorded = manifest.get("signature", {})
            fingerprint_text = (
                recorded.get("public_key_sha256") if isinstance(recorded, dict) else None
            )
            by = f" (key sha256 {fingerprint_text})" if fingerprint_text else ""
            problems.append(
                f"{MANIFEST}: signed{by}, but no public key was given: pass --key PUBKEY to "
                "check the signature (--allow-unsigned checks the hashes only)"
            )
            return "key required"
        return "not checked"
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
    return "failed"
