"""Writing files atomically and hashing them: the one place for both, below every layer.

A file is written beside its target under a hidden temporary name, flushed to disk, given its
final mode and moved into place with `os.replace`, so a reader sees the old file or the new
one, never half of one. On failure the temporary file is removed and the `OSError` propagates:
each caller turns it into its own `AuditorError` at the boundary that knows what the file is.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644  # reports, manifest, catalogue: less the umask, as os.open would apply it


def umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


@contextmanager
def atomic_path(path: Path, *, mode: int = FILE_MODE) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; it replaces `path` if the block succeeds.

    The folder must exist. The written file is synced to disk and gets `mode` less the umask
    before it is moved into place.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield temporary
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.chmod(temporary, mode & ~umask())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Write `data` to `path` atomically (see `atomic_path`)."""
    with atomic_path(path, mode=mode) as temporary:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)


def sha256_and_size(path: Path) -> tuple[str, int]:
    """The file's SHA-256 (hex) and size in bytes, read through one open handle."""
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
        return digest, os.fstat(handle.fileno()).st_size


def sha256_file(path: Path) -> str:
    """The file's SHA-256 as lowercase hex."""
    return sha256_and_size(path)[0]
