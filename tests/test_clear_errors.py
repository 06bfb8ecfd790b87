"""Clear errors and small leaks (issue 15): paths a key name cannot escape, and more."""

from __future__ import annotations

import pytest

from tests.cli_runner import auditor


@pytest.mark.parametrize(
    "name", ["../x", "../../etc/x", "a/b", "a\\b", "..", ".", "", "/tmp/absolute", "x\x00y"]
)
def test_keygen_name_cannot_leave_its_folder(tmp_path, name):
    folder = tmp_path / "keys"
    done = auditor("keygen", str(folder), "--name", name)
    assert done.returncode == 2, done.stderr
    assert "plain file name" in done.stderr and "Traceback" not in done.stderr
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert written == []  # nothing inside the folder, nothing beside it
    assert not (tmp_path.parent / "x.key").exists()


def test_keygen_plain_name_writes_both_keys_in_the_folder(tmp_path):
    done = auditor("keygen", str(tmp_path / "keys"), "--name", "audit.2026")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        "audit.2026.key",
        "audit.2026.pub",
    ]
