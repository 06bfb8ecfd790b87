"""Issue 15: a run killed or stopped at any point leaves the old evidence or the new, never half.

Each run here is a real `auditor` child process over the bundled sample tenant, killed by
itself at a named stage boundary (`AUDITOR_TEST_HOOK=KILL@boundary`, see
docs/evidence-folder.md) or stopped there (`STOP@…`) for the parent to signal. The old
evidence is a signed `--bundle-inputs` run of 2026-09; the new one is 2026-10 into the same
`--out`, recorded in a real SQLite history file.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
from child_process import child, reap_children, wait_until_stopped
from cli_runner import auditor

OLD, NEW, LATER = "2026-09-01", "2026-10-01", "2026-11-01"
# In the order a run crosses them; from "swapped" on, the new evidence is in place.
BOUNDARIES = ["staged", "loaded", "compared", "rendered", "carried", "bundled",
              "manifest-written", "swapped", "recorded"]  # fmt: skip
FALLBACK = ["moved-aside", "swapped-in"]  # the two-rename swap where folders cannot be exchanged


@pytest.fixture(autouse=True)
def _reap():
    yield
    reap_children()


def run_args(out: Path, history: Path, key: Path, as_of: str) -> list[str]:
    return ["run", "--as-of", as_of, "--out", str(out), "--history", str(history),
            "--sign-key", str(key), "--bundle-inputs", "--format", "json,xlsx"]  # fmt: skip


def as_of_of(folder: Path) -> str:
    return json.loads((folder / "manifest.json").read_text())["as_of"]


def staging_left(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".auditor-"))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A signed, bundled 2026-09 evidence folder and its history, to copy for each case."""
    base = tmp_path_factory.mktemp("template")
    assert auditor("keygen", str(base / "keys")).returncode == 0
    done = auditor(*run_args(base / "reports" / "out", base / "history.sqlite",
                             base / "keys" / "auditor-signing.key", OLD))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return base


@pytest.fixture
def case(template, tmp_path) -> Path:
    shutil.copytree(template, tmp_path / "case")
    return tmp_path / "case"


def verified(case: Path, folder: Path) -> str:
    """`auditor verify` with the public key passes; returns the evidence's as-of date."""
    done = auditor("verify", str(folder), "--key", str(case / "keys" / "auditor-signing.pub"))
    assert done.returncode == 0, done.stdout + done.stderr
    return as_of_of(folder)


def recorded_periods(case: Path) -> str:
    done = auditor("history", "list", "--history", str(case / "history.sqlite"))
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("boundary", BOUNDARIES + FALLBACK)
def test_a_run_killed_at_a_boundary_leaves_old_or_new_evidence_that_verifies(case, boundary):
    out, history, key = case / "reports" / "out", case / "history.sqlite", case / "keys"
    args = run_args(out, history, key / "auditor-signing.key", NEW)
    fallback = {"AUDITOR_TEST_NO_EXCHANGE": "1"} if boundary in FALLBACK else {}
    killed = child(args, f"KILL@{boundary}", **fallback)
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    if boundary == "moved-aside":
        # Between the two renames --out is gone; the next run's first step puts it back.
        assert not out.exists()
        recovering = child(args, "KILL@staged")
        _, stderr = recovering.communicate()
        assert recovering.returncode == -signal.SIGKILL
        assert "put back the previous evidence" in stderr
    new_in_place = boundary in ("swapped", "recorded", "swapped-in")
    assert verified(case, out) == (NEW if new_in_place else OLD)
    assert ("2026-10" in recorded_periods(case)) == (boundary == "recorded")
    # The next run removes what the killed one left beside --out, naming it.
    left = staging_left(out.parent)
    assert bool(left) == (boundary not in ("swapped", "recorded"))
    done = auditor(*args)
    assert done.returncode == 0, done.stderr
    for name in left:
        assert name in done.stderr
    assert staging_left(out.parent) == []
    assert verified(case, out) == NEW
    assert "2026-10" in recorded_periods(case)


def test_sigterm_stops_the_run_like_ctrl_c_and_removes_its_staging(case):
    out = case / "reports" / "out"
    args = run_args(out, case / "history.sqlite", case / "keys" / "auditor-signing.key", NEW)
    stopped = child(args, "STOP@rendered")
    wait_until_stopped(stopped)
    assert len(staging_left(out.parent)) == 1  # the new reports are staged, not yet in place
    stopped.send_signal(signal.SIGTERM)
    stopped.send_signal(signal.SIGCONT)
    _, stderr = stopped.communicate()
    assert stopped.returncode == 130, stderr
    assert "aborted" in stderr
    assert staging_left(out.parent) == []
    assert verified(case, out) == OLD
    assert "2026-10" not in recorded_periods(case)


def test_verify_names_every_file_it_did_not_expect_hidden_or_not(case):
    out = case / "reports" / "out"
    (out / ".auditor-123").mkdir()
    (out / ".auditor-123" / "findings.json").write_text("{}")
    (out / "report-final.pdf").write_bytes(b"%PDF-1.7 not ours")
    (out / ".report.xlsx.0a1b2c3d.tmp").write_bytes(b"half")
    (out / ".hidden.pdf").write_bytes(b"%PDF")
    (out / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (out / "notes.txt").write_text("reviewed by J.")
    done = auditor("verify", str(out), "--key", str(case / "keys" / "auditor-signing.pub"))
    assert done.returncode == 7
    for problem in (
        ".auditor-123/: a staging folder an interrupted auditor run left",
        "report-final.pdf is not in the manifest: not written by this run",
        ".report.xlsx.0a1b2c3d.tmp: a temporary file an interrupted auditor run left",
        ".hidden.pdf is not in the manifest",
    ):
        assert problem in done.stderr
    assert "not in the manifest (ignored): .DS_Store, notes.txt" in done.stderr


def test_an_existing_folder_that_is_not_evidence_is_refused_untouched(tmp_path):
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"PK not auditor's")
    (out / "photos").mkdir()
    (out / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    done = auditor("run", "--as-of", OLD, "--out", str(out), "--no-history", "--format", "json")
    assert done.returncode == 2
    assert "not auditor evidence (no manifest.json) and holds other files (photos/, " in (
        done.stderr
    )
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert staging_left(tmp_path) == []
    here = auditor("run", "--as-of", OLD, "--out", ".", "--no-history", cwd=out)
    assert here.returncode == 2
    assert "is the working folder" in here.stderr


def test_files_a_person_added_to_the_evidence_are_carried_into_the_new_one(case):
    out = case / "reports" / "out"
    (out / "notes.txt").write_text("reviewed by J.")
    (out / "report.pdf").write_bytes(b"%PDF stale, from a format no longer configured")
    out.chmod(0o750)  # the new folder keeps the permissions given to the old one
    args = run_args(out, case / "history.sqlite", case / "keys" / "auditor-signing.key", NEW)
    done = auditor("-v", *args)
    assert done.returncode == 0, done.stderr
    assert "kept notes.txt" in done.stderr
    assert (out / "notes.txt").read_text() == "reviewed by J."
    assert not (out / "report.pdf").exists()  # auditor's own stale report is not carried
    assert out.stat().st_mode & 0o777 == 0o750
    assert verified(case, out) == NEW


def test_a_run_in_progress_keeps_its_staging_while_another_replaces_the_same_folder(case):
    out = case / "reports" / "out"
    args = run_args(out, case / "history.sqlite", case / "keys" / "auditor-signing.key", NEW)
    stopped = child(args, "STOP@loaded")  # staged, before it takes the tenant's history lock
    wait_until_stopped(stopped)
    [staged] = staging_left(out.parent)
    later = run_args(out, case / "history.sqlite", case / "keys" / "auditor-signing.key", LATER)
    second = auditor("-v", *later)
    assert second.returncode == 0, second.stderr
    assert f"{staged} belongs to a run still in progress; left alone" in second.stderr
    assert staging_left(out.parent) == [staged]
    assert verified(case, out) == LATER
    stopped.send_signal(signal.SIGCONT)
    _, stderr = stopped.communicate()
    assert stopped.returncode == 0, stderr
    assert staging_left(out.parent) == []
    assert verified(case, out) == NEW  # the later swap wins, whole
