"""Issue 14 / user review A10: evidence an auditor can re-check with `auditor verify`.

Runs are `auditor` in process on the bundled sample tenant's files; the evidence folder is then
tampered with as an auditor might find it, and `auditor verify` is run on it.
"""

import hashlib
import json
import re
from pathlib import Path

import pytest
from cli_runner import auditor
from outputs import findings

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"
INPUTS = sorted(p for p in SAMPLE.iterdir()
                if p.suffix in (".json", ".csv") and p.name != "expected.json")  # fmt: skip


def inputs_args(folder: Path = SAMPLE) -> list[str]:
    return [arg for p in INPUTS for arg in ("--input", str(folder / p.name))]


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    done = auditor("keygen", str(folder))
    assert done.returncode == 0, done.stderr
    return folder / "auditor-signing.key", folder / "auditor-signing.pub"


def signed_run(out: Path, key: Path, *extra: str) -> None:
    done = auditor("run", *inputs_args(), "--as-of", "2026-09-01", "--out", str(out),
                   "--no-history", "--format", "json", "--sign-key", str(key), *extra)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_an_edited_signed_manifest_fails_without_the_key_unless_unsigned_is_allowed(tmp_path, keys):
    private, public = keys
    signed_run(tmp_path, private)
    manifest = tmp_path / "manifest.json"
    edited = json.loads(manifest.read_text())
    edited["as_of"] = "2026-10-01"
    manifest.write_text(json.dumps(edited, indent=2) + "\n")
    done = auditor("verify", str(tmp_path))
    assert done.returncode == 7, done.stdout
    assert "no public key was given: pass --key PUBKEY" in done.stderr
    allowed = auditor("verify", str(tmp_path), "--allow-unsigned")
    assert allowed.returncode == 0, allowed.stderr
    assert "its signature was not checked (--allow-unsigned)" in allowed.stdout
    with_key = auditor("verify", str(tmp_path), "--key", str(public))
    assert with_key.returncode == 7
    assert "signature does not verify with auditor-signing.pub" in with_key.stderr
    assert "pass --key" not in with_key.stderr + with_key.stdout


def test_reports_and_manifest_name_inputs_by_file_name_unless_paths_are_asked_for(tmp_path, keys):
    private, _ = keys
    signed_run(tmp_path / "names", private)
    recorded = json.loads((tmp_path / "names" / "manifest.json").read_text())["inputs"]
    assert sorted(i["path"] for i in recorded) == sorted(p.name for p in INPUTS)
    assert sorted(i["path"] for i in findings(tmp_path / "names")["run"]["inputs"]) == sorted(
        p.name for p in INPUTS
    )
    for name in ("manifest.json", "findings.json"):
        assert str(REPO) not in (tmp_path / "names" / name).read_text()
    signed_run(tmp_path / "paths", private, "--record-paths")
    recorded = json.loads((tmp_path / "paths" / "manifest.json").read_text())["inputs"]
    assert sorted(i["path"] for i in recorded) == sorted(str(p) for p in INPUTS)
    assert str(REPO) not in (tmp_path / "paths" / "findings.json").read_text()  # reports: names


@pytest.fixture
def bundled(tmp_path, keys) -> Path:
    out = tmp_path / "evidence"
    history = tmp_path / "history.sqlite"
    config = tmp_path / "auditor.toml"
    config.write_text(
        'organisation = "Acme Corp"\n[report]\nprepared_by = "Mac admin"\n'
        '[rules.params."MAC-SYN-001"]\nmax_days = 21\n',
        encoding="utf-8",
    )
    for as_of, folder in (("2026-08-31", tmp_path / "august"), ("2026-09-01", out)):
        done = auditor("run", *inputs_args(), "--as-of", as_of, "--out", str(folder),
                       "--history", str(history), "--format", "json,xlsx", "--bundle-inputs",
                       "--config", str(config), "--sign-key", str(keys[0]))  # fmt: skip
        assert done.returncode == 0, done.stderr
    return out


def test_a_bundled_folder_holds_every_input_and_passes_verify_rerun(bundled, keys):
    manifest = json.loads((bundled / "manifest.json").read_text())
    assert manifest["bundle"] == "bundle/run.json"
    copies = {i["path"]: i["folder_path"] for i in manifest["inputs"]}
    assert copies == {p.name: f"bundle/inputs/{p.name}" for p in INPUTS}
    for name, copy in copies.items():
        assert (bundled / copy).read_bytes() == (SAMPLE / name).read_bytes()
    listed = {o["path"] for o in manifest["outputs"]}
    assert {"bundle/catalogue.json", "bundle/config.toml", "bundle/run.json"} <= listed
    assert (bundled / "bundle" / "config.toml").read_text().startswith('organisation = "Acme')
    assert findings(bundled)["changes"]["previous_period"] == "2026-08"  # history was used
    done = auditor("verify", str(bundled), "--key", str(keys[1]), "--rerun")
    assert done.returncode == 0, done.stderr
    assert "checked: the outputs, and the inputs inside this folder" in done.stdout
    assert "rerun: findings.json re-derived from" in done.stdout
    assert "matches the recorded one" in done.stdout
    assert "not re-derived (they come from the history database)" in done.stdout


def test_one_changed_input_byte_fails_verify(bundled, keys):
    copy = bundled / "bundle" / "inputs" / "managed_devices.json"
    data = bytearray(copy.read_bytes())
    data[data.index(b'"isEncrypted": true')] ^= 0x20  # one byte: the quote becomes "\x02"
    copy.write_bytes(bytes(data))
    done = auditor("verify", str(bundled), "--key", str(keys[1]), "--rerun")
    assert done.returncode == 7
    assert "bundle/inputs/managed_devices.json: input changed: sha256" in done.stderr


def test_rerun_finds_a_changed_input_even_when_the_manifest_was_resealed(tmp_path):
    out = tmp_path / "evidence"
    done = auditor("run", *inputs_args(), "--as-of", "2026-09-01", "--out", str(out),
                   "--no-history", "--format", "json", "--bundle-inputs")  # fmt: skip
    assert done.returncode == 0, done.stderr
    copy = out / "bundle" / "inputs" / "device_details.json"  # only these carry the token state
    text = copy.read_text(encoding="utf-8")
    copy.write_text(
        text.replace('"bootstrapTokenEscrowed": false', '"bootstrapTokenEscrowed": true', 1)
    )
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(i for i in manifest["inputs"] if i["path"] == "device_details.json")
    entry["sha256"] = hashlib.sha256(copy.read_bytes()).hexdigest()  # unsigned: re-sealable
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    assert auditor("verify", str(out)).returncode == 0  # the hashes alone cannot tell
    rerun = auditor("verify", str(out), "--rerun")
    assert rerun.returncode == 7
    assert "rerun: findings.json re-derived from" in rerun.stderr and "DIFFERS" in rerun.stderr
    assert re.search(r"run\.inputs\[\d+\]\.sha256: recorded", rerun.stderr)
    assert "summary.rules[" in rerun.stderr  # MAC-BST-001's counts moved


def test_rerun_of_a_folder_without_a_bundle_says_why_it_cannot(tmp_path):
    done = auditor("run", "--as-of", "2026-09-01", "--out", str(tmp_path), "--no-history",
                   "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rerun = auditor("verify", str(tmp_path), "--rerun")
    assert rerun.returncode == 7
    assert "written without --bundle-inputs" in rerun.stderr


def test_a_run_without_bundle_removes_a_bundle_an_earlier_run_left(bundled):
    done = auditor("run", "--as-of", "2026-09-01", "--out", str(bundled), "--no-history",
                   "--format", "json,xlsx")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not (bundled / "bundle").exists()
    assert auditor("verify", str(bundled)).returncode == 0
