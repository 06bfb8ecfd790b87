"""`auditor --version` and `--help` answer without loading what only a command needs.

Which modules a fresh interpreter has imported after answering is asserted, never how long it
took: pandas/numpy/pyarrow (the frames), the Graph SDK, WeasyPrint and openpyxl (the reports)
are each loaded by the command that uses them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "pyarrow", "weasyprint", "openpyxl", "msgraph", "kiota_abstractions",
         "azure", "jinja2", "py_ocsf_models", "cryptography")  # fmt: skip

PROBE = """
import json, sys
from auditor.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def modules_after(*argv: str) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    return done.stdout, set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["-h"], ["run", "--help"]])
def test_answering_loads_no_frame_report_or_graph_library(argv):
    answer, modules = modules_after(*argv)
    assert answer.strip(), "the command answered"
    loaded = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert loaded == []


def test_a_command_that_needs_pandas_still_gets_it():
    # the probe sees imports at all: `rules` builds the catalogue, whose rules are pandas code
    _, modules = modules_after("rules", "--format", "json")
    assert "pandas" in modules


def test_a_files_run_without_channels_loads_no_graph_or_http_client(tmp_path):
    # the notification stack (httpx, azure-identity, the Graph client) is for sending: a run
    # over files with no [notify.channels] never needs it (~0.5 s of every cron run's start)
    _, modules = modules_after("run", "--as-of", "2026-09-01", "--out", str(tmp_path / "out"),
                               "--no-history", "--format", "json")  # fmt: skip
    assert "auditor.pipeline" in modules, "the probe saw the audit's imports"
    assert sorted({m.split(".")[0] for m in modules} & {"azure", "msgraph", "httpx", "msal"}) == []
