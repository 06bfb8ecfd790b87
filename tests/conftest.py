"""Shared pytest options and fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


# The longest tests (build and install the wheel; run the scheduling recipes and the shards as
# separate processes; start mail servers), longest first: they start at once, alternating between
# the xdist workers, so neither worker is left with one of them at the end while the other idles.
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
