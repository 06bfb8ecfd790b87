"""Issue 14 / user review A6: the README's cron line and docs/scheduling.md's crontab work as
written. Each documented line runs under `sh` with cron's bare environment against the loopback
Graph server, with the folders of the recipe moved under a temporary root; the wheel the docs
install is the one `make dist` builds (tests/test_install.py builds and installs it).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cli_runner import auditor
from graph_server import GraphServer

REPO = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
TOKEN = "eyJ0eXAiOiJKV1QifQ.cron-token-payload.signature"
INSTALLED = Path(sys.executable).parent  # stands for /opt/auditor/bin: the venv auditor is in


def cron_block(text: str) -> list[str]:
    """The lines of the first ```cron block of a Markdown text."""
    return text.split("```cron\n", 1)[1].split("```", 1)[0].splitlines()


DOCUMENTED = {
    "README": cron_block((REPO / "README.md").read_text(encoding="utf-8")),
    "examples/crontab": (REPO / "docs" / "examples" / "crontab").read_text().splitlines(),
}


def job(lines: list[str]) -> tuple[str, dict[str, str]]:
    """The crontab's one job command (as cron hands it to the shell) and its variables."""
    variables = dict(
        line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line)
    )  # SHELL=/bin/sh, PATH=…
    (entry,) = [line for line in lines if line and not line.startswith("#") and "=" not in
                line.split(" ", 1)[0]]  # fmt: skip
    command = entry.split(None, 5)[5]
    return command.replace("\\%", "%"), variables  # cron turns \% into %


def on_this_machine(text: str, root: Path) -> str:
    """The recipe's folders moved under `root` (and its install prefix to this venv)."""
    for folder in ("/etc/auditor", "/var/lib/auditor", "/var/log/auditor"):
        text = text.replace(folder, str(root) + folder)
    return text.replace("/opt/auditor/bin", str(INSTALLED))


@pytest.fixture
def machine(tmp_path: Path):
    """/etc/auditor as the guide sets it up: graph.env (KEY=value lines), auditor.toml, key."""
    with GraphServer(8, accepted_tokens=[TOKEN], export_polls=0) as graph:
        etc = tmp_path / "etc" / "auditor"
        etc.mkdir(parents=True)
        (tmp_path / "var" / "lib" / "auditor").mkdir(parents=True)
        (tmp_path / "var" / "log" / "auditor").mkdir(parents=True)
        (etc / "graph.env").write_text(f"AUDITOR_GRAPH_TOKEN={TOKEN}\n", encoding="utf-8")
        (etc / "auditor.toml").write_text(
            f'organisation = "Acme Corp"\n[graph]\ngraph_url = "{graph.url}"\n', encoding="utf-8"
        )
        assert auditor("keygen", str(etc), "--name", "signing").returncode == 0
        yield tmp_path, graph


def run_like_cron(command: str, variables: dict[str, str], root: Path):
    """`sh -c COMMAND` with nothing in the environment but what the crontab sets."""
    env = {"HOME": str(root), "LANG": "C.UTF-8", "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
    env |= {k: on_this_machine(v, root) for k, v in variables.items()}
    return subprocess.run(
        [env["SHELL"], "-c", on_this_machine(command, root)],
        capture_output=True, text=True, env=env, cwd=root, timeout=600,
    )  # fmt: skip


@pytest.mark.parametrize("where", sorted(DOCUMENTED))
def test_the_documented_cron_job_audits_graph_and_signs_the_evidence(machine, where):
    root, graph = machine
    command, variables = job(DOCUMENTED[where])
    assert "set -a && . /etc/auditor/graph.env && set +a && auditor" in command
    done = run_like_cron(command, variables, root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert graph.requests_to("/deviceManagement/managedDevices")  # Graph was really asked
    reports = [p.parent for p in (root / "var" / "lib" / "auditor" / "reports").glob("*/*.pdf")]
    (folder,) = reports
    assert re.fullmatch(r"\d{4}-\d{2}", folder.name)  # one folder per period
    assert (root / "var" / "log" / "auditor" / "auditor.log").stat().st_size > 0
    assert (root / "var" / "lib" / "auditor" / "history.sqlite").is_file()
    verified = auditor("verify", str(folder), "--key", str(root / "etc/auditor/signing.pub"))
    assert verified.returncode == 0, verified.stderr


def test_sourcing_graph_env_without_exporting_it_fails_as_the_review_found(machine):
    root, graph = machine
    command, variables = job(DOCUMENTED["README"])
    unexported = command.replace("set -a && ", "").replace(" && set +a", "")
    done = run_like_cron(unexported, variables, root)
    assert done.returncode == 4
    log = (root / "var" / "log" / "auditor" / "auditor.log").read_text(encoding="utf-8")
    assert "could not get a Microsoft Graph token" in log
    assert not graph.requests_to("/deviceManagement/managedDevices")


def test_the_wheel_the_docs_install_is_the_one_make_dist_builds():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "python -m build --no-isolation --outdir dist ." in makefile
    for doc in ("README.md", "docs/scheduling.md"):
        named = re.findall(r"auditor-([\w.*]+)-py3-none-any\.whl", (REPO / doc).read_text())
        assert named and all(v in (VERSION, "*") for v in named), (doc, named)
