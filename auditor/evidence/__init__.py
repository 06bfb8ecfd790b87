"""Evidence: manifest.json beside the reports (digests of inputs, outputs, config), signing, verify.

The manifest holds digests, sizes, record counts and paths relative to the output folder, never
a credential. With an Ed25519 private key (PEM) the exact manifest bytes are signed into
`manifest.sig` (base64); `verify` re-hashes every output and, given the public key, the signature.
Inputs are recorded by file name (the path as given only with `record_paths`); `verify`
re-hashes those inside the folder (`folder_path`: the snapshot of a Graph pull, or the copies
`evidence.bundle` made): the others lie elsewhere and are reported as not checked. Any file in
the folder that the manifest does not name, hidden or not (a stale report, a `report-final.pdf`,
an interrupted run's `.auditor-*` staging folder) fails `verify`, except notes and file-manager
metadata, which are named; so does a signed manifest checked without the public key, unless
the caller allows it.
Keys are made and loaded in `evidence.keys`.
"""

from __future__ import annotations

from auditor.evidence.check import VerifyResult, check_evidence, verify
from auditor.evidence.keys import generate_keypair, load_private_key, load_public_key
from auditor.evidence.manifest import (
    MANIFEST,
    REPORT_NAMES,
    SIGNATURE,
    build_manifest,
    write_manifest,
)

__all__ = [
    "MANIFEST",
    "REPORT_NAMES",
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
