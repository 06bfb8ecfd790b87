"""Issue 15: runs of different periods at the same time agree with `history diff`.

Two real `auditor` processes over the bundled sample tenant share one real SQLite history
file. The 2026-09 run stops itself right after comparing (`AUDITOR_TEST_HOOK=STOP@compared`,
holding the tenant's history lock); the 2026-12 run is started meanwhile and says it waits;
only then is the first resumed. The second must compare with the first (before the fix both
said "no previous period" and `--only-new` passed). A backfill of 2026-06 afterwards
compares with nothing before it, says which later periods were computed without it, and
leaves their records as they were.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from pathlib import Path

import pytest
from child_process import child, reap_children, wait_until_stopped
from cli_runner import auditor

SUMMARY = re.compile(r"(\S+) vs (\S+): (\d+) new, (\d+) resolved.*?, (\d+) still failing")


@pytest.fixture(autouse=True)
def _reap():
    yield
    reap_children()


def args(base: Path, as_of: str, *extra: str) -> list[str]:
    return ["run", "--as-of", as_of, "--out", str(base / "reports" / as_of[:7]),
            "--history", str(base / "history.sqlite"), "--format", "json", *extra]  # fmt: skip


def diff_line(base: Path, a: str, b: str) -> tuple[str, ...]:
    """`history diff A B`'s summary: periods, then new, resolved and still-failing counts."""
    done = auditor("history", "diff", a, b, "--history", str(base / "history.sqlite"))
    assert done.returncode == 0, done.stderr
    found = SUMMARY.match(done.stdout)
    assert found, done.stdout
    return found.groups()


def report_line(base: Path, period: str) -> tuple[str, ...]:
    """The same summary of the comparison the period's own findings.json states."""
    changes = json.loads((base / "reports" / period / "findings.json").read_text())["changes"]
    return (changes["current_period"], str(changes["previous_period"]),
            *(str(changes[k]) for k in ("new", "resolved", "persisting")))  # fmt: skip


def test_two_periods_run_at_once_compare_in_order_and_agree_with_history_diff(tmp_path):
    first = child(args(tmp_path, "2026-09-01"), "STOP@compared")
    wait_until_stopped(first)
    second = child(args(tmp_path, "2026-12-01", "--fail-on", "low", "--only-new"))
    assert second.stderr is not None
    seen: list[str] = []

    def read_until_waiting() -> None:
        for line in second.stderr:  # type: ignore[union-attr]
            seen.append(line)
            if "waiting for it" in line:
                return

    reader = threading.Thread(target=read_until_waiting)
    reader.start()
    reader.join(timeout=600)  # a safety net against a hang, not a measure of speed
    assert seen and "waiting for it" in seen[-1], "".join(seen)
    assert "another auditor run of tenant" in seen[-1]
    first.send_signal(signal.SIGCONT)
    _, first_err = first.communicate()
    _, second_err = second.communicate()
    assert first.returncode == 0, first_err
    assert second.returncode == 3, "".join(seen) + second_err  # new failures since 2026-09
    assert "new failures at or above low" in second_err
    report = report_line(tmp_path, "2026-12")
    assert report[:2] == ("2026-12", "2026-09")
    assert report == diff_line(tmp_path, "2026-09", "2026-12")

    # A backfill compares with what precedes it (nothing), and says what it cannot change.
    backfill = auditor(*args(tmp_path, "2026-06-01", "--fail-on", "low", "--only-new"))
    assert backfill.returncode == 0, backfill.stderr  # nothing recorded before 2026-06
    assert "recorded 2026-06 of tenant" in backfill.stderr
    assert "after later period(s) 2026-09, 2026-12" in backfill.stderr
    changes = json.loads((tmp_path / "reports" / "2026-06" / "findings.json").read_text())
    assert changes["changes"]["previous_period"] is None
    assert report_line(tmp_path, "2026-12") == diff_line(tmp_path, "2026-09", "2026-12")
    # Rerun as the warning says, 2026-09 now compares with the backfilled 2026-06.
    again = auditor(*args(tmp_path, "2026-09-01", "--fail-on", "low", "--only-new"))
    assert again.returncode in (0, 3), again.stderr
    assert report_line(tmp_path, "2026-09") == diff_line(tmp_path, "2026-06", "2026-09")
