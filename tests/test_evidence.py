"""Evidence: manifest.json written beside real files, verified, signed, and tampered with."""

import datetime as dt
import hashlib
import json
import os
import shutil
import stat
import subprocess

import pytest
from cli_runner import auditor
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auditor.errors import ConfigError, VerifyError
from auditor.evidence import (
    build_manifest,
    check_evidence,
    generate_keypair,
    load_private_key,
    load_public_key,
    verify,
    write_manifest,
)
from auditor.models import InputFile, RunMeta

META = RunMeta(
    as_of=dt.date(2026, 9, 1),
    generated_at=dt.datetime(2026, 9, 1, 6, 0, tzinfo=dt.UTC),
    tool_version="0.1.0",
    organisation="Example",
    classification="INTERNAL",
    tenant_id="tenant-1",
    source="graph",
    catalogue_as_of=dt.date(2026, 8, 22),
    catalogue_source="SOFA feed 2026-08-22",
    catalogue_age_days=10,
    catalogue_is_stale=False,
    config_digest="c" * 64,
    waivers_digest="d" * 64,
)
INPUTS = [
    InputFile("snapshot.json.gz", "snapshot", "a" * 64, 300),
    InputFile(
        "https://reports.blob.core.windows.net/x/Devices.zip?sv=2024&sig=SECRET",
        "export-devices",
        "b" * 64,
        299,
    ),
]
OUTPUTS = {
    "findings.json": b'{"findings": []}\n',
    "report.xlsx": b"PK\x03\x04 workbook bytes",
    "report.pdf": b"%PDF-1.7 report bytes",
}


@pytest.fixture
def evidence(tmp_path):
    """An output folder with three reports, as a run leaves it (unsigned)."""
    out = tmp_path / "reports"
    out.mkdir()
    for name, data in OUTPUTS.items():
        (out / name).write_bytes(data)
    return out


@pytest.fixture
def keys(tmp_path):
    return generate_keypair(tmp_path / "keys")


def seal(out, key=None):
    manifest = build_manifest(out, [out / n for n in OUTPUTS], INPUTS, META)
    return write_manifest(out, manifest, key=key)


def test_an_untouched_folder_verifies(evidence):
    seal(evidence)
    result = verify(evidence)
    assert result.checked == ("findings.json", "report.pdf", "report.xlsx")
    assert result.signature == "unsigned"
    assert result.summary().startswith("OK: 3 file(s) match manifest.json")


def test_the_manifest_records_digests_sizes_and_the_run(evidence):
    path = seal(evidence)
    manifest = json.loads(path.read_text())
    assert manifest["outputs"][1] == {
        "path": "report.pdf",
        "sha256": hashlib.sha256(OUTPUTS["report.pdf"]).hexdigest(),
        "bytes": len(OUTPUTS["report.pdf"]),
    }
    assert manifest["inputs"][0] == {
        "path": "snapshot.json.gz", "kind": "snapshot", "sha256": "a" * 64, "records": 300
    }  # fmt: skip
    assert (manifest["period"], manifest["as_of"]) == ("2026-09", "2026-09-01")
    assert manifest["generated_at"] == "2026-09-01T06:00:00+00:00"
    assert manifest["tool"] == {"name": "auditor", "version": "0.1.0"}
    assert manifest["catalogue"]["as_of"] == "2026-08-22"
    assert manifest["catalogue"]["source"] == "SOFA feed 2026-08-22"
    assert (manifest["config"]["sha256"], manifest["waivers"]["sha256"]) == ("c" * 64, "d" * 64)


def test_the_manifest_holds_no_credentials_or_absolute_paths(evidence):
    text = seal(evidence).read_text()
    assert "SECRET" not in text and "sig=" not in text
    assert "https://reports.blob.core.windows.net/x/Devices.zip" in text
    assert str(evidence) not in text


def test_one_changed_byte_names_that_file(evidence):
    seal(evidence)
    pdf = evidence / "report.pdf"
    pdf.write_bytes(pdf.read_bytes().replace(b"report", b"rep0rt"))
    with pytest.raises(VerifyError, match=r"report\.pdf: changed: sha256") as caught:
        verify(evidence)
    assert "report.xlsx" not in str(caught.value) and "findings.json" not in str(caught.value)


def test_a_grown_file_is_reported_by_size(evidence):
    seal(evidence)
    with (evidence / "findings.json").open("ab") as handle:
        handle.write(b" ")
    result = check_evidence(evidence)
    assert result.problems == (
        f"findings.json: changed: {len(OUTPUTS['findings.json']) + 1} bytes, "
        f"the manifest records {len(OUTPUTS['findings.json'])}",
    )


def test_a_missing_file_is_named(evidence):
    seal(evidence)
    (evidence / "report.xlsx").unlink()
    with pytest.raises(VerifyError, match=r"report\.xlsx: missing"):
        verify(evidence)


def test_a_folder_without_manifest_is_refused(evidence):
    with pytest.raises(VerifyError, match=r"manifest\.json: missing"):
        verify(evidence)


def test_a_damaged_manifest_is_refused(evidence):
    path = seal(evidence)
    path.write_text(path.read_text()[:-10])
    with pytest.raises(VerifyError, match=r"manifest\.json: not valid JSON"):
        verify(evidence)


def test_a_manifest_path_leaving_the_folder_is_not_followed(evidence):
    path = seal(evidence)
    manifest = json.loads(path.read_text())
    manifest["outputs"][0]["path"] = "../../etc/passwd"
    path.write_text(json.dumps(manifest))
    result = check_evidence(evidence)
    assert result.problems == (
        "../../etc/passwd: path leaves the evidence folder: not checked",
        "findings.json is not in the manifest: left from an earlier run?",
    )


def test_files_not_in_the_manifest_are_listed_but_accepted(evidence):
    seal(evidence)
    (evidence / "notes.txt").write_text("added later")
    result = verify(evidence)
    assert result.unlisted == ("notes.txt",)
    assert "notes.txt" in result.summary()


def test_signed_evidence_verifies_with_the_public_key(evidence, keys):
    private, public = keys
    seal(evidence, key=private)
    assert (evidence / "manifest.sig").is_file()
    result = verify(evidence, key=public)
    assert result.signature == "verified"
    assert "signature verified" in result.summary()
    assert "pass --key" not in result.summary()
    assert verify(evidence, allow_unsigned=True).signature == "not checked"


def test_a_manifest_edited_to_match_a_changed_report_fails_the_signature(evidence, keys):
    private, public = keys
    path = seal(evidence, key=private)
    forged = b"%PDF-1.7 forged bytes"
    (evidence / "report.pdf").write_bytes(forged)
    manifest = json.loads(path.read_text())
    manifest["outputs"][1]["sha256"] = hashlib.sha256(forged).hexdigest()
    manifest["outputs"][1]["bytes"] = len(forged)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    assert check_evidence(evidence, allow_unsigned=True).is_ok  # the hashes alone cannot tell
    with pytest.raises(VerifyError, match=r"signed \(key sha256 [0-9a-f]{64}\), but no public"):
        verify(evidence)  # without the key, a signed folder never passes as OK
    with pytest.raises(VerifyError, match=r"manifest\.json: signature does not verify"):
        verify(evidence, key=public)


def test_the_wrong_public_key_fails_and_says_which_key_signed(evidence, keys, tmp_path):
    private, _ = keys
    _, other_public = generate_keypair(tmp_path / "other")
    seal(evidence, key=private)
    with pytest.raises(VerifyError, match=r"does not verify with auditor-signing\.pub \(signed by"):
        verify(evidence, key=other_public)


def test_unsigned_evidence_fails_when_a_key_is_given(evidence, keys):
    private, public = keys
    seal(evidence, key=private)
    seal(evidence)  # an unsigned re-run removes the stale signature
    assert not (evidence / "manifest.sig").exists()
    with pytest.raises(VerifyError, match=r"manifest\.sig: missing"):
        verify(evidence, key=public)


def test_keygen_writes_a_private_key_only_its_owner_can_read(keys):
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PUBLIC KEY" in public.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        generate_keypair(private.parent)


def test_a_private_key_given_to_verify_is_refused(evidence, keys):
    private, _ = keys
    seal(evidence, key=private)
    with pytest.raises(ConfigError, match="private key; verify with the public key"):
        load_public_key(private)


@pytest.mark.parametrize("kind", ["encrypted-ed25519", "rsa", "not-a-key"])
def test_an_unusable_signing_key_names_the_file(evidence, tmp_path, kind):
    key = tmp_path / f"{kind}.pem"
    if kind == "encrypted-ed25519":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    elif kind == "rsa":
        pem = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    else:
        pem = b"hello"
    key.write_bytes(pem)
    with pytest.raises(ConfigError, match=f"{kind}.pem"):
        seal(evidence, key=key)
    assert not (evidence / "manifest.json").exists()


def test_outputs_outside_the_folder_are_refused(evidence, tmp_path):
    stray = tmp_path / "elsewhere.pdf"
    stray.write_bytes(b"x")
    with pytest.raises(ValueError, match="inside"):
        build_manifest(evidence, [stray], INPUTS, META)


def test_writing_leaves_no_temporary_files(evidence, keys):
    seal(evidence, key=keys[0])
    seal(evidence, key=keys[0])
    assert sorted(os.listdir(evidence)) == sorted([*OUTPUTS, "manifest.json", "manifest.sig"])


def test_the_verify_command_exits_7_naming_the_changed_file(evidence):
    seal(evidence)
    (evidence / "report.xlsx").write_bytes(b"PK\x03\x04 workbook bytez")
    done = auditor("verify", str(evidence))
    assert done.returncode == 7, done.stderr
    assert "report.xlsx: changed" in done.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_keys_made_with_openssl_as_the_docs_show_work(evidence, tmp_path):
    private, public = tmp_path / "signing.key", tmp_path / "signing.pub"
    for command in (
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(private)],
        ["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    seal(evidence, key=private)
    assert verify(evidence, key=public).signature == "verified"


def test_the_summary_says_only_outputs_were_checked_and_names_the_inputs_outside(evidence):
    seal(evidence)
    summary = verify(evidence).summary()
    assert "checked: the outputs only" in summary
    assert (
        "inputs recorded, not checked (outside this folder): snapshot.json.gz, "
        "https://reports.blob.core.windows.net/x/Devices.zip"
    ) in summary


def test_signed_evidence_verified_without_a_key_fails_unless_unsigned_is_allowed(evidence, keys):
    seal(evidence, key=keys[0])
    with pytest.raises(VerifyError, match="pass --key PUBKEY") as caught:
        verify(evidence)
    assert "signature not checked: the manifest is signed and no public key" in str(caught.value)
    result = verify(evidence, allow_unsigned=True)
    assert result.is_ok
    assert "warning: the manifest is signed, but its signature was not checked" in (
        result.summary()
    )


def test_a_wrong_key_never_asks_for_a_key(evidence, keys, tmp_path):
    seal(evidence, key=keys[0])
    _, other_public = generate_keypair(tmp_path / "other")
    with pytest.raises(VerifyError) as caught:
        verify(evidence, key=other_public)
    assert "pass --key" not in str(caught.value)
    assert "signature NOT verified with the given public key" in str(caught.value)


def test_a_removed_signature_fails_even_without_a_key(evidence, keys):
    seal(evidence, key=keys[0])
    (evidence / "manifest.sig").unlink()
    with pytest.raises(VerifyError, match=r"manifest\.sig: missing, but manifest\.json records"):
        verify(evidence)


def snapshot_input(path, data=b"\x1f\x8b snapshot bytes"):
    path.write_bytes(data)
    return InputFile(str(path), "snapshot", hashlib.sha256(data).hexdigest(), 300)


def test_an_input_inside_the_folder_is_checked_too(evidence, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # recorded as given: relative to the working directory
    inside = snapshot_input(evidence / "snapshot.json.gz")
    inside = InputFile("reports/snapshot.json.gz", inside.kind, inside.sha256, inside.records)
    outside = snapshot_input(tmp_path / "devices.csv")
    manifest = build_manifest(evidence, [evidence / n for n in OUTPUTS], [inside, outside], META)
    assert manifest["inputs"][0]["folder_path"] == "snapshot.json.gz"
    assert "folder_path" not in manifest["inputs"][1]
    write_manifest(evidence, manifest)
    result = verify(evidence)
    assert (result.inputs_checked, result.inputs_not_checked) == (
        ("snapshot.json.gz",), ("devices.csv",)
    )  # fmt: skip
    assert "checked: the outputs, and the inputs inside this folder (snapshot.json.gz)" in (
        result.summary()
    )
    (evidence / "snapshot.json.gz").write_bytes(b"\x1f\x8b other bytes")
    with pytest.raises(VerifyError, match=r"snapshot\.json\.gz: input changed: sha256"):
        verify(evidence)


def test_a_report_the_manifest_does_not_name_fails_other_strays_are_ignored(evidence):
    listed = [evidence / "findings.json", evidence / "report.xlsx"]
    write_manifest(evidence, build_manifest(evidence, listed, INPUTS, META))
    (evidence / "notes.txt").write_text("added later")
    (evidence / "old").mkdir()
    (evidence / "old" / "snapshot.json.gz").write_bytes(b"older pull")
    result = check_evidence(evidence)
    assert result.problems == (
        "old/snapshot.json.gz is not in the manifest: left from an earlier run?",
        "report.pdf is not in the manifest: left from an earlier run?",
    )
    assert result.unlisted == ("notes.txt",)
    with pytest.raises(VerifyError, match=r"report\.pdf is not in the manifest"):
        verify(evidence)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o644), (0o077, 0o600)])
def test_the_manifest_and_signature_get_0644_less_the_umask(evidence, keys, umask, mode):
    before = os.umask(umask)
    try:
        seal(evidence, key=keys[0])
    finally:
        os.umask(before)
    for name in ("manifest.json", "manifest.sig"):
        assert stat.S_IMODE((evidence / name).stat().st_mode) == mode, name


def test_a_public_key_given_as_signing_key_is_refused_naming_the_file(evidence, keys):
    _, public = keys
    with pytest.raises(ConfigError) as caught:
        load_private_key(public)
    assert str(caught.value).startswith(
        f"{public} is a public key; --sign-key needs the private key"
    )
    with pytest.raises(ConfigError, match="is a public key"):
        seal(evidence, key=public)
    assert not (evidence / "manifest.json").exists()


def test_a_missing_signing_key_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"absent\.key: cannot read the key file"):
        load_private_key(tmp_path / "absent.key")


def test_a_key_loaded_up_front_signs_like_its_file(evidence, keys):
    private, public = keys
    seal(evidence, key=load_private_key(private))
    assert verify(evidence, key=public).signature == "verified"
