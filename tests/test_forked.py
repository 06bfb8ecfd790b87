"""auditor.forked: work in a child process comes back in order, and so does how it ended."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from auditor.errors import SourceError
from auditor.forked import ChildDied, ChildFailed, Forked

METHODS = ["fork", "spawn"]


def squares(count: int) -> Iterator[int]:
    yield from (n * n for n in range(count))


def two_then_error(error: Exception) -> Iterator[str]:
    yield "one"
    yield "two"
    raise error


def dies() -> Iterator[int]:
    yield 1
    os.kill(os.getpid(), signal.SIGKILL)
    yield 2  # never reached


def sleeps_writing(marker: str) -> Iterator[str]:
    try:
        yield "started"
        time.sleep(60)
    finally:  # SIGTERM unwinds the child: its clean-up runs
        with open(marker, "w") as done:
            done.write("cleaned up")


@pytest.mark.parametrize("method", METHODS)
def test_items_come_back_in_order(method):
    child = Forked(squares, 1000, name="test-squares", start_method=method)
    try:
        assert list(child) == [n * n for n in range(1000)]
    finally:
        child.stop()


@pytest.mark.parametrize("method", METHODS)
def test_an_auditor_error_travels_as_itself_after_the_items_before_it(method):
    child = Forked(
        two_then_error, SourceError("x.json: line 3: bad"), name="t", start_method=method
    )
    received = []
    with pytest.raises(SourceError, match=r"x\.json: line 3: bad") as raised:
        received.extend(child)
    child.stop()
    assert received == ["one", "two"]
    assert raised.value.exit_code == SourceError("").exit_code


def test_any_other_exception_carries_the_childs_traceback():
    child = Forked(two_then_error, ValueError("a bug"), name="t")
    with pytest.raises(ChildFailed) as raised:
        list(child)
    child.stop()
    assert "ValueError: a bug" in raised.value.details
    assert "two_then_error" in raised.value.details


def test_a_child_that_dies_is_said_to_have_died_with_its_signal():
    child = Forked(dies, name="t")
    with pytest.raises(ChildDied, match="killed by signal 9") as raised:
        list(child)
    child.stop()
    assert raised.value.exitcode == -signal.SIGKILL


def test_stop_ends_a_child_at_work_and_lets_it_clean_up(tmp_path):
    marker = tmp_path / "marker"
    child = Forked(sleeps_writing, str(marker), name="t")
    assert next(iter(child)) == "started"
    child.stop()
    assert marker.read_text() == "cleaned up"
