"""Shared pytest options and fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


# Tests that take minutes (build and install the wheel; start real browsers and mail servers)
# run first, so the other worker spends that time on the rest instead of waiting at the end.
RUN_FIRST = ("test_install.py::test_the_wheel_installs", "test_notify_cli.py::")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the longest tests to the front (a stable sort keeps every other order)."""
    items.sort(key=lambda item: not any(mark in item.nodeid for mark in RUN_FIRST))


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
