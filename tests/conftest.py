"""Shared pytest options and fixtures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from auditor.report import Report

GOLDEN = Path(__file__).parent / "golden"
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


# The longest tests (build and install the wheel; run the scheduling recipes and the shards as
# separate processes; start mail servers), longest first: they start at once, so none of them is
# left running at the end while the other xdist workers idle (`make pytest` runs xdist's
# worksteal: the first worker starts them, the others take the tail of its queue as they run out).
RUN_FIRST = (
    "test_install.py::test_the_wheel_installs",
    "test_scheduling_recipes.py::test_the_workflow_audits",
    "test_scheduling_recipes.py::test_the_kubernetes_shards_audit",
    "test_tenants_run.py::test_shards_as_separate_processes",
    "test_notify_cli.py::",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the longest tests to the front in RUN_FIRST's order (a stable sort keeps every other
    order)."""

    def rank(item: pytest.Item) -> int:
        return next((i for i, mark in enumerate(RUN_FIRST) if mark in item.nodeid), len(RUN_FIRST))

    items.sort(key=rank)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current output (make golden); review the diff",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Compare text with tests/golden/<name> (or `where`/<name>), or rewrite it under
    --update-golden."""
    update = request.config.getoption("--update-golden")

    def check(name: str, actual: str, *, where: Path = GOLDEN) -> None:
        path = where / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        assert path.exists(), f"{path} is missing: run `make golden` and review it"
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"{name} differs: if intended, run `make golden`"

    return check


@pytest.fixture(autouse=True)
def _private_data_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the user's history database or imported macOS catalogue."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The bundled sample's files audited in process as of 2026-09-01 with the default
    configuration, findings.json only: one audit per xdist worker for every module that reads
    this report model (test_sample_audit's default case, test_population). Read it, never change
    it."""
    from auditor.config import Config
    from auditor.pipeline import RunOptions, run_audit, tenant_files

    config = Config(
        source="files",
        inputs=tuple(tenant_files(SAMPLE)),
        out_dir=tmp_path_factory.mktemp("sample-report"),
        formats=("json",),
    )
    options = RunOptions(dt.date(2026, 9, 1), dt.datetime(2026, 9, 1, 6, tzinfo=dt.UTC))
    return run_audit(config, options).report
