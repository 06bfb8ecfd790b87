"""The one atomic writer and file hasher every output goes through, on real files."""

import hashlib
import os
import stat

import pytest

from auditor.fileops import atomic_path, sha256_and_size, sha256_file, write_atomic


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_bytes(b"old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_failing_block_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="renderer broke"), atomic_path(path) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("renderer broke")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]


def test_a_missing_folder_is_an_os_error_for_the_caller_to_name(tmp_path):
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing" / "snapshot.json", b"{}")


@pytest.mark.parametrize(("mode", "umask", "expected"), [(0o644, 0o022, 0o644),
                                                          (0o644, 0o077, 0o600),
                                                          (0o600, 0o002, 0o600)])  # fmt: skip
def test_the_file_gets_its_mode_less_the_umask(tmp_path, mode, umask, expected):
    before = os.umask(umask)
    try:
        write_atomic(tmp_path / "a", b"x", mode=mode)
        with atomic_path(tmp_path / "b", mode=mode) as temporary:
            temporary.write_bytes(b"x")
    finally:
        os.umask(before)
    for name in ("a", "b"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected


def test_sha256_matches_hashlib_and_reports_the_size(tmp_path):
    path = tmp_path / "input.json"
    data = b"x" * 300_000
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_and_size(path) == (hashlib.sha256(data).hexdigest(), len(data))
