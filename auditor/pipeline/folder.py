"""Replacing an evidence folder as a whole: the new one is staged beside it, then swapped in.

A run writes its complete evidence (reports, bundle, manifest, signature) into a hidden staging
folder beside `--out`, `.auditor-<name>-<token>` in the same parent (so on the same file
system), then swaps it in:

- Linux (`renameat2` RENAME_EXCHANGE) and macOS (`renamex_np` RENAME_SWAP) exchange the two
  folders in one atomic step: whenever the run is killed, `--out` holds the old evidence or
  the new, each complete.
- Elsewhere (another system, a file system that cannot exchange) the old folder is renamed
  aside (`.auditor-<name>-<token>.old`), the new one into place, then the old one removed. A
  run killed between those two renames leaves no `--out`: the next run into it puts the old
  evidence back before anything else (and says so). On Windows the old evidence is likewise
  never deleted before the new is in place.

A staging folder is locked by its run (`pipeline.locks`); one whose lock is free was left by a
run that was killed, and the next run into the same `--out` removes it, naming it in the log.
Files in the old folder that auditor did not write (notes, an input read in place) are carried
into the new one (hard links); an existing folder that is not an evidence folder (no
manifest.json) and holds such files is refused, never swapped away.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from auditor.errors import AuditorError, ConfigError
from auditor.evidence import MANIFEST, REPORT_NAMES, SIGNATURE
from auditor.evidence.bundle import BUNDLE, RUN_FILE
from auditor.evidence.check import OS_METADATA, STAGING_PREFIX, is_leftover
from auditor.fileops import umask
from auditor.pipeline.locks import folder_lock, is_abandoned, release, try_lock

log = logging.getLogger(__name__)
NO_EXCHANGE_ENV = "AUDITOR_TEST_NO_EXCHANGE"  # tests: take the two-rename path
FAILURE = "failure.json"  # `run --tenants`: a tenant's failed run; the next good run replaces it


class Staging:
    """The locked staging folder of one run, and the evidence folder it will replace."""

    def __init__(self, out_dir: Path, path: Path, lock: int | None, mode: int) -> None:
        self.out_dir = out_dir
        self.path = path
        self._lock = lock
        self._mode = mode  # the old folder's permissions, else a new folder's (umask)

    def final(self, path: Path) -> Path:
        """Where a file written into the staging folder lies once swapped in."""
        return self.out_dir / path.relative_to(self.path)

    def carry_over(self, keep: Iterable[Path]) -> dict[Path, str]:
        """Hard-link what the old folder holds that auditor did not write into the staging one.

        `keep` (the run's inputs) is carried even under a report's name; what the new folder
        already has wins. Returns each carried file (resolved) → its relative POSIX path.
        """
        if not self.out_dir.is_dir():
            return {}
        kept = {p.resolve() for p in keep}
        written = _auditor_files(self.out_dir)
        carried: dict[Path, str] = {}
        for source in sorted(p for p in self.out_dir.rglob("*") if p.is_file()):
            relative = source.relative_to(self.out_dir).as_posix()
            if (relative in written and source.resolve() not in kept) or is_leftover(relative):
                continue
            target = self.path / relative
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)
            carried[source.resolve()] = relative
            if source.resolve() not in kept:
                log.info("kept %s in %s (auditor did not write it)", relative, self.out_dir)
        return carried

    def swap_in(self) -> None:
        """Put the staging folder in place of `out_dir`; remove the old evidence."""
        parent = self.out_dir.parent
        aside = self.path.with_name(self.path.name + ".old")
        with folder_lock(parent):
            try:
                os.chmod(self.path, self._mode)
                if not self.out_dir.exists():
                    os.rename(self.path, self.out_dir)
                elif _exchange(self.path, self.out_dir):
                    shutil.rmtree(self.path, ignore_errors=True)  # the old evidence, now here
                else:
                    os.rename(self.out_dir, aside)
                    hook("moved-aside")
                    os.rename(self.path, self.out_dir)
                    hook("swapped-in")
                    shutil.rmtree(aside, ignore_errors=True)
            except OSError as exc:
                if aside.exists() and not self.out_dir.exists():
                    os.rename(aside, self.out_dir)
                raise AuditorError(
                    f"--out {self.out_dir}: cannot put the new evidence in place ({exc}); the "
                    "previous evidence is unchanged (a mount point cannot be replaced: give a "
                    "folder inside it)"
                ) from exc
            _sync(parent)

    def close(self) -> None:
        """Release the lock; remove the staging folder if it was not swapped in."""
        release(self._lock)
        self._lock = None
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)


def open_staging(out_dir: Path, *, keep: Sequence[Path]) -> Staging:
    """Recover `out_dir`'s interrupted swaps, remove stale staging, create this run's staging.

    `keep` are the paths the run reads (inputs, config, waivers, key): they may lie in
    `out_dir` and make it acceptable even when it is not an evidence folder.

    Raises:
        ConfigError: `out_dir` is a file, or a folder that is not auditor's evidence and holds
            other files, or its parent cannot hold the staging folder.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir}: exists and is not a directory")
    if out_dir.is_symlink():
        out_dir = out_dir.resolve()  # the folder it points to is replaced; the link stays
    absolute = Path(os.path.abspath(out_dir))
    if absolute == Path.cwd() or absolute in Path.cwd().parents:
        raise ConfigError(
            f"--out {out_dir}: is the working folder (or holds it); a run replaces its --out "
            "folder as a whole, so run from another folder or give another --out"
        )
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(parent):  # a staging folder is never seen unlocked by `recover`
            recover(out_dir)
            _refuse_foreign(out_dir, keep)
            path = parent / f"{STAGING_PREFIX}{out_dir.name}-{secrets.token_hex(4)}"
            path.mkdir(mode=0o700)  # personal data: nobody else reads it while it is written
            lock = try_lock(path)
        mode = stat.S_IMODE(out_dir.stat().st_mode) if out_dir.is_dir() else 0o777 & ~umask()
    except OSError as exc:
        raise ConfigError(
            f"--out {out_dir}: cannot prepare the new evidence beside it in {parent} ({exc}); "
            "auditor replaces the folder as a whole, so its parent must be writable"
        ) from exc
    return Staging(out_dir, path, lock, mode)


def recover(out_dir: Path) -> None:
    """Finish what killed runs left beside `out_dir`: put moved-aside evidence back, clean up."""
    pattern = re.compile(re.escape(f"{STAGING_PREFIX}{out_dir.name}-") + r"[0-9a-f]{8}(\.old)?")
    for folder in sorted(out_dir.parent.iterdir()):
        match = pattern.fullmatch(folder.name)
        if match is None or not folder.is_dir():
            continue
        if match.group(1) and not out_dir.exists():
            os.rename(folder, out_dir)
            log.warning(
                "%s: put back the previous evidence an interrupted run had moved aside (%s)",
                out_dir, folder.name,
            )  # fmt: skip
        elif match.group(1) or is_abandoned(folder):
            shutil.rmtree(folder, ignore_errors=True)
            log.warning("removed %s, left beside %s by an interrupted run", folder, out_dir)
        else:
            log.info("%s: %s belongs to a run still in progress; left alone", out_dir, folder)
    for inside in sorted(out_dir.glob(f"{STAGING_PREFIX}*")) if out_dir.is_dir() else ():
        # an earlier version staged inside the folder; the swap leaves these behind anyway
        log.warning("%s will not be carried into the new evidence (an interrupted run's)", inside)


def hook(boundary: str) -> None:
    """Tests: `AUDITOR_TEST_HOOK=KILL@boundary` (or STOP@…) signals this process there."""
    wanted = os.environ.get("AUDITOR_TEST_HOOK", "")
    action, _, at = wanted.partition("@")
    if at == boundary and action in ("KILL", "STOP"):
        import signal

        os.kill(os.getpid(), signal.SIGKILL if action == "KILL" else signal.SIGSTOP)


def _auditor_files(folder: Path) -> set[str]:
    """Files of `folder` auditor wrote: manifest, signature, reports, listed outputs, bundle."""
    written = {MANIFEST, SIGNATURE, FAILURE}
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError, KeyError):
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        written |= {str(o["path"]) for o in manifest["outputs"]}
    present = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    has_bundle = (folder / RUN_FILE).is_file()
    return written | {
        p
        for p in present
        if p.rsplit("/", 1)[-1] in REPORT_NAMES
        or p.rsplit("/", 1)[-1] in OS_METADATA
        or (has_bundle and p.startswith(f"{BUNDLE}/"))
    }


def _refuse_foreign(out_dir: Path, keep: Sequence[Path]) -> None:
    """A folder without manifest.json that holds files auditor did not write is not replaced."""
    if not out_dir.is_dir() or (out_dir / MANIFEST).is_file():
        return
    kept = [p.resolve() for p in keep]
    written = _auditor_files(out_dir)
    foreign = []
    for entry in sorted(out_dir.iterdir()):
        name = entry.relative_to(out_dir).as_posix()
        resolved = entry.resolve()
        if name in written or is_leftover(name) or entry.name.startswith(STAGING_PREFIX):
            continue
        if any(resolved == k or resolved in k.parents or k in resolved.parents for k in kept):
            continue
        if entry.is_dir() and not any(p.is_file() for p in entry.rglob("*")):
            continue
        foreign.append(name + ("/" if entry.is_dir() else ""))
    if foreign:
        listed = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise ConfigError(
            f"--out {out_dir}: an existing folder that is not auditor evidence (no {MANIFEST}) "
            f"and holds other files ({listed}); a run replaces its --out folder as a whole, "
            "so give a new or empty folder (e.g. a subfolder of it)"
        )


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two folders; False when the system or file system cannot."""
    if os.environ.get(NO_EXCHANGE_ENV):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if sys.platform.startswith("linux"):
            at_fdcwd, rename_exchange = -100, 2
            result = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b),
                                    rename_exchange)  # fmt: skip
        elif sys.platform == "darwin":
            rename_swap = 2
            result = libc.renamex_np(os.fsencode(a), os.fsencode(b), rename_swap)
        else:
            return False
    except (OSError, AttributeError):
        return False  # no such call in this C library
    if result != 0:
        log.debug("cannot exchange %s and %s: %s", a, b, os.strerror(ctypes.get_errno()))
    return bool(result == 0)  # else the two renames, which report their own error


def _sync(folder: Path) -> None:
    """Flush the folder's entries (the renames) to disk where the system allows it."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
