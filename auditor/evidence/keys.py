"""Signing keys for manifests: Ed25519 key pairs made, loaded and fingerprinted.

A private key signs `manifest.json`; anyone holding the public key checks it with
`auditor verify --key`. Errors name the key file and say which key was expected.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditor.errors import ConfigError


def generate_keypair(directory: Path, name: str = "auditor-signing") -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: `<name>.key` (private, mode 0600) and `<name>.pub`.

    Refuses to overwrite either file, and a name that is not a plain file stem (a path, `..`,
    a separator), so the keys land in `directory` and nowhere else.
    """
    _check_stem(name)
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    paths = (directory / f"{name}.key", directory / f"{name}.pub")
    for path in paths:
        if path.exists():
            raise ConfigError(f"{path}: already exists; not overwriting a key")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, pem, mode in ((paths[0], private_pem, 0o600), (paths[1], public_pem, 0o644)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
    except OSError as exc:
        raise ConfigError(f"{exc.filename or directory}: cannot write the key pair: {exc}") from exc
    return paths


def _check_stem(name: str) -> None:
    """A ConfigError unless `name` is one plain file name component (no path of any kind)."""
    separators = {"/", "\\", os.sep, os.altsep or "/"}
    if (
        not name.strip()
        or name in (".", "..")
        or any(s in name for s in separators)
        or "\x00" in name
        or Path(name).is_absolute()
        or Path(name).name != name
    ):
        raise ConfigError(
            f"--name {name!r}: give a plain file name, not a path (no '/', '\\' or '..'); "
            "the keys are written into the DIRECTORY argument"
        )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key from a PEM file, to sign manifests with.

    Cheap: call it before any work so that a wrong `--sign-key` fails the run at once.

    Raises:
        ConfigError: the file is missing or unreadable, holds a public key, or is not an
            unencrypted Ed25519 private key; the message names the file.
    """
    data = _read_key(path)
    if b"PRIVATE KEY" not in data and (b"PUBLIC KEY" in data or data.startswith(b"ssh-")):
        raise ConfigError(
            f"{path} is a public key; --sign-key needs the private key "
            "(the .key file `auditor keygen` wrote, not the .pub)"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigError(
            f"{path}: not an unencrypted PEM Ed25519 private key ({exc}); "
            "create one with `auditor keygen` or `openssl genpkey -algorithm ed25519`"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path}: the signing key must be Ed25519, not {type(key).__name__}")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file, or a ConfigError naming the file."""
    data = _read_key(path)
    if b"PRIVATE KEY" in data:
        raise ConfigError(f"{path}: this is a private key; verify with the public key (.pub)")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"{path}: not a PEM Ed25519 public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path}: the public key must be Ed25519, not {type(key).__name__}")
    return key


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the key file: {exc.strerror or exc}") from exc


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key: names the key a manifest was signed with."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()
