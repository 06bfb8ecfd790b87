"""The install story: the built wheel in a fresh venv audits the sample outside the repository,
the Dockerfile's steps are the ones CI runs, and a machine without WeasyPrint's libraries gets
an error naming them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEV_BIN = Path(sys.executable).parent
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_the_wheel_installs_in_a_fresh_venv_and_audits_outside_the_repo(tmp_path):
    """`make wheel-check` in one test: build (sdist, then the wheel from it), install, audit."""
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheel = dist / f"auditor-{VERSION}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "auditor/_report_templates/report.html",
        "auditor/_sample_data/managed_devices.json",
        "auditor/refdata/macos_catalogue.json",
        "auditor/notify/email.html",
    ):
        assert needed in names, needed
    with tarfile.open(dist / f"auditor-{VERSION}.tar.gz") as sdist:
        members = {m.name.split("/", 1)[-1] for m in sdist.getmembers()}
    assert "Dockerfile" in members and "docker/install.sh" in members
    assert not [m for m in members if m.startswith((".import_linter_cache", ".venv", "dist/"))]
    done = subprocess.run(
        ["sh", str(REPO / "docker" / "check-wheel.sh"), str(wheel)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        # the dev venv's bin first: its uv (the `dev` extra) makes and fills the fresh venv
        env={**os.environ, "TMPDIR": str(tmp_path), "PATH": f"{DEV_BIN}:{os.environ['PATH']}"},
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert f"wheel check passed: auditor-{VERSION}-py3-none-any.whl" in done.stdout
    assert "OK: 3 file(s) match manifest.json in data/reports/2026-09" in done.stdout


def test_the_dockerfile_runs_the_steps_ci_checks():
    dockerfile = (REPO / "Dockerfile").read_text()
    instructions = re.findall(r"^([A-Z]+) ((?:[^\n]*\\\n)*[^\n]*)", dockerfile, flags=re.MULTILINE)
    kinds = [kind for kind, _ in instructions]
    assert re.fullmatch(r"python:3\.1[1-9]-slim-(bookworm|trixie)", instructions[0][1])
    (run,) = [text for kind, text in instructions if kind == "RUN"]
    assert "sh /usr/local/lib/auditor/install.sh /tmp/auditor-${VERSION}" in run
    assert "useradd --system --uid 10001" in run
    assert f"ARG VERSION={VERSION}" in dockerfile, "the image takes the wheel `make dist` builds"
    assert dict(instructions)["USER"] == "10001:10001" and kinds.index("USER") > kinds.index("RUN")
    assert dict(instructions)["VOLUME"] == '["/data"]'
    assert dict(instructions)["ENTRYPOINT"] == '["auditor-monthly"]'
    check = (REPO / "docker" / "check-wheel.sh").read_text()
    assert 'sh "$here/install.sh"' in check and 'sh "$here/auditor-monthly"' in check
    for script in ("install.sh", "auditor-monthly", "check-wheel.sh"):
        parsed = subprocess.run(["sh", "-n", str(REPO / "docker" / script)], capture_output=True)
        assert parsed.returncode == 0, parsed.stderr


# Stands for a machine without Pango: cffi cannot open the library, as it reports then.
NO_PANGO = """
import cffi, sys
real = cffi.FFI.dlopen
def dlopen(self, name, *args, **kwargs):
    if "pango" in str(name) or "gobject" in str(name):
        raise OSError(f"cannot load library '{name}': {name}: cannot open shared object file")
    return real(self, name, *args, **kwargs)
cffi.FFI.dlopen = dlopen
sys.argv = ["auditor", *sys.argv[1:]]
from auditor.cli import main
main()
"""


def test_a_missing_weasyprint_library_is_named_with_the_packages_to_install(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", NO_PANGO, "run", "--out", str(tmp_path / "out"), "--no-history"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 5, done.stderr
    assert "PDF output needs WeasyPrint and its system libraries" in done.stderr
    assert "apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0" in done.stderr
    assert "--format json,xlsx" in done.stderr
    assert not (tmp_path / "out").exists(), "nothing is written before the check"
    json_only = subprocess.run(
        [sys.executable, "-c", NO_PANGO, "run", "--out", str(tmp_path / "json"), "--no-history",
         "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )  # fmt: skip
    assert json_only.returncode == 0, json_only.stderr
