"""History: a real SQLite file, real engine results, month-over-month deltas."""

import datetime as dt
import sqlite3
import threading
from contextlib import closing

import pandas as pd
import pytest

from auditor.console import format_changes, format_runs
from auditor.engine import EvaluationContext, evaluate
from auditor.errors import ConfigError, HistoryError
from auditor.history import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    STATUS_CODES,
    default_history_path,
    open_history,
)
from auditor.models import InputFile, RunMeta, Status
from auditor.refdata.catalogue_file import load_catalogue
from auditor.rules import rule_by_id
from auditor.waivers import Waiver, apply_waivers

RULES = [rule_by_id("MAC-FV-001"), rule_by_id("MAC-SYN-001")]
CATALOGUE = load_catalogue()
INPUTS = [InputFile("devices.csv", "admin-center-csv", "ab" * 32, 8)]


def meta(as_of: dt.date, tenant: str = "tenant-1") -> RunMeta:
    return RunMeta(
        as_of=as_of,
        generated_at=dt.datetime.combine(as_of, dt.time(6), tzinfo=dt.UTC),
        tool_version="0.1.0",
        organisation="Example",
        classification="INTERNAL",
        tenant_id=tenant,
        source="files",
        catalogue_as_of=CATALOGUE.as_of,
        catalogue_source=CATALOGUE.source,
        catalogue_age_days=1,
        catalogue_is_stale=False,
        config_digest="c" * 64,
    )


def audit(as_of: dt.date, encrypted: dict[str, bool | None], waived: tuple[str, ...] = ()):
    """Results after waivers for Macs named by their expected fate, all synced the day before."""
    names = list(encrypted)
    devices = pd.DataFrame(
        {
            "device_id": pd.array([f"id-{n}" for n in names], dtype="string"),
            "device_name": pd.array(names, dtype="string"),
            "serial_number": pd.array([f"SER-{n.upper()}" for n in names], dtype="string"),
            "is_encrypted": pd.array(list(encrypted.values()), dtype="boolean"),
            "last_sync_at": pd.Series(
                pd.Timestamp(as_of, tz="UTC") - pd.Timedelta(days=1), index=range(len(names))
            ).astype("datetime64[us, UTC]"),
        }
    )
    frames = {"devices": devices}
    results = evaluate(RULES, frames, EvaluationContext(as_of, CATALOGUE, {}))
    waivers = [
        Waiver(
            f"W-{n}", "MAC-FV-001", "device_id", f"id-{n}", "r", "a", "t", dt.date(2099, 1, 1), ""
        )
        for n in waived
    ]
    return apply_waivers(results, frames, waivers, as_of).results, frames


JUL, AUG, SEP = dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 9, 1)
JULY = {
    "mac-fixed": False,
    "mac-still-broken": False,
    "mac-newly-broken": True,
    "mac-retired": False,
    "mac-unknown-now": False,
    "mac-waived-now": False,
    "mac-healthy": True,
}
AUGUST = {
    "mac-fixed": True,
    "mac-still-broken": False,
    "mac-newly-broken": False,
    "mac-new": False,
    "mac-unknown-now": None,
    "mac-waived-now": False,
    "mac-healthy": True,
}


def record(history, as_of, encrypted, waived=()):
    results, frames = audit(as_of, encrypted, waived)
    history.record(history.compare(results, frames, meta(as_of)), INPUTS)


def changes_in_august(history):
    results, frames = audit(AUG, AUGUST, waived=("mac-waived-now",))
    return history.compare(results, frames, meta(AUG)).changes


def names(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["device_name"])


def test_a_month_later_new_resolved_and_persisting_failures_are_told_apart(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, JUL, JULY)
        changes = changes_in_august(history)
    assert (changes.current_period, changes.previous_period) == ("2026-08", "2026-07")
    assert names(changes.new) == ["mac-new", "mac-newly-broken"]
    assert names(changes.persisting) == ["mac-still-broken"]
    assert changes.persisting["months_failing"].tolist() == [2]
    now = dict(zip(changes.resolved["device_name"], changes.resolved["now"], strict=True))
    assert now == {
        "mac-fixed": "pass",
        "mac-retired": "retired",
        "mac-unknown-now": "unknown",
        "mac-waived-now": "waived",
    }
    retired = changes.resolved[changes.resolved["now"] == "retired"].iloc[0]
    assert (retired["entity_id"], retired["serial_number"]) == ("id-mac-retired", "SER-MAC-RETIRED")
    assert set(changes.new["severity"]) == {"high"}


def test_counts_per_rule_add_up(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, JUL, JULY)
        changes = changes_in_august(history)
    per_rule = changes.per_rule.set_index("rule_id")
    fv = per_rule.loc["MAC-FV-001"].to_dict()
    assert fv == {"previous_fail": 5, "current_fail": 3, "new": 2, "resolved": 4, "persisting": 1}
    assert (per_rule["previous_fail"] == per_rule["resolved"] + per_rule["persisting"]).all()
    assert (per_rule["current_fail"] == per_rule["new"] + per_rule["persisting"]).all()
    assert per_rule.loc["MAC-SYN-001"].sum() == 0


def test_trend_lists_each_period_with_posture(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, JUL, JULY)
        trend = changes_in_august(history).trend
    assert trend["period"].tolist() == ["2026-07", "2026-08"]
    assert trend["devices"].tolist() == [7, 7]
    assert trend["failing_devices"].tolist() == [5, 3]
    assert trend["fail_high"].tolist() == [5, 3]
    assert trend["posture_pct"].round(2).tolist() == [round(200 / 7, 2), round(400 / 7, 2)]


def test_months_failing_counts_the_uninterrupted_streak(tmp_path):
    june = {"mac-still-broken": False, "mac-broke-again": False}
    july = {"mac-still-broken": False, "mac-broke-again": True}
    august = {"mac-still-broken": False, "mac-broke-again": False}
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, dt.date(2026, 6, 1), june)
        record(history, JUL, july)
        results, frames = audit(AUG, august)
        changes = history.compare(results, frames, meta(AUG)).changes
    first_seen = changes.first_seen.set_index("entity_id")
    assert first_seen.loc["id-mac-still-broken", "first_seen"] == "2026-06"
    assert first_seen.loc["id-mac-still-broken", "months_failing"] == 3
    assert first_seen.loc["id-mac-broke-again", "first_seen"] == "2026-08"
    assert names(changes.new) == ["mac-broke-again"]


def test_a_waived_month_interrupts_the_failing_streak(tmp_path):
    mac = {"mac-waived-in-july": False}
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, dt.date(2026, 6, 1), mac)
        record(history, JUL, mac, waived=("mac-waived-in-july",))
        results, frames = audit(AUG, mac)
        changes = history.compare(results, frames, meta(AUG)).changes
    assert names(changes.new) == ["mac-waived-in-july"]
    assert changes.first_seen["first_seen"].tolist() == ["2026-08"]


def test_the_first_recorded_period_has_nothing_to_compare(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        results, frames = audit(JUL, JULY)
        changes = history.compare(results, frames, meta(JUL)).changes
    assert changes.previous_period is None
    assert changes.new.empty and changes.resolved.empty and changes.persisting.empty
    assert changes.first_seen["months_failing"].tolist() == [1] * 5
    assert changes.per_rule["current_fail"].tolist() == [5, 0]
    assert (changes.per_rule[["previous_fail", "new", "resolved", "persisting"]] == 0).all().all()
    assert changes.trend["period"].tolist() == ["2026-07"]
    assert "first recorded period" in format_changes(changes)


def test_rerunning_a_period_replaces_it(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, JUL, JULY)
        record(history, AUG, JULY)
        record(history, AUG, AUGUST, waived=("mac-waived-now",))  # same period again
        runs = history.list_runs()
        changes = history.diff("2026-07", "2026-08")
    assert runs["period"].tolist() == ["2026-07", "2026-08"]
    august = runs.set_index("period").loc["2026-08"]
    assert (august["fail"], august["waived"], august["unknown"]) == (3, 1, 1)
    assert names(changes.new) == ["mac-new", "mac-newly-broken"]


def test_comparing_a_rerun_period_ignores_its_own_earlier_recording(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, JUL, JULY)
        record(history, AUG, AUGUST)
        changes = changes_in_august(history)
    assert changes.previous_period == "2026-07"
    assert names(changes.new) == ["mac-new", "mac-newly-broken"]


def test_diff_of_two_recorded_periods_matches_the_live_comparison(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, JUL, JULY)
        live = changes_in_august(history)
        record(history, AUG, AUGUST, waived=("mac-waived-now",))
        recorded = history.diff("2026-07", "2026-08")
    for part in ("first_seen", "new", "resolved", "persisting", "per_rule", "trend"):
        pd.testing.assert_frame_equal(getattr(recorded, part), getattr(live, part))
    assert "2 new, 4 resolved" in format_changes(recorded)


def test_show_returns_the_run_its_inputs_and_counts(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, AUG, AUGUST, waived=("mac-waived-now",))
        shown = history.show("2026-08")
        with pytest.raises(ConfigError, match=r"no recorded period 2031-01 in .*history\.sqlite"):
            history.show("2031-01")
    assert shown["as_of"] == "2026-08-01"
    assert shown["config_digest"] == "c" * 64
    assert shown["critical_high_devices"] == 3
    assert shown["posture_pct"] == pytest.approx(400 / 7)
    assert shown["inputs"] == [
        {"path": "devices.csv", "kind": "admin-center-csv", "sha256": "ab" * 32, "records": 8}
    ]
    assert [r["rule_id"] for r in shown["rules"]] == ["MAC-FV-001", "MAC-SYN-001"]
    assert shown["totals"] == {
        "pass": 2 + 7, "fail": 3, "unknown": 1, "not_applicable": 0, "waived": 1
    }  # fmt: skip


def test_prune_keeps_the_newest_periods_and_their_streaks(tmp_path):
    mac = {"mac-still-broken": False}
    path = tmp_path / "history.sqlite"
    with open_history(path) as history:
        for month in (5, 6, 7):
            record(history, dt.date(2026, month, 1), mac)
        assert history.prune(keep=2) == 1
        assert history.prune(keep=2) == 0
        with pytest.raises(ConfigError):
            history.prune(keep=0)
        assert history.list_runs()["period"].tolist() == ["2026-06", "2026-07"]
        results, frames = audit(AUG, mac)
        changes = history.compare(results, frames, meta(AUG)).changes
    assert changes.persisting["months_failing"].tolist() == [4]  # streak began in May
    with closing(sqlite3.connect(path)) as conn:
        left = conn.execute("SELECT count(*) FROM results WHERE period = '2026-05'").fetchone()
    assert left == (0,)


def test_the_findings_view_reads_like_the_results(tmp_path):
    path = tmp_path / "history.sqlite"
    with open_history(path) as history:
        record(history, AUG, AUGUST, waived=("mac-waived-now",))
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT rule_id, entity_id, serial_number, status, first_seen, waiver_id "
            "FROM findings WHERE name = 'mac-waived-now'"
        ).fetchall()
        version, app = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("user_version",
                        "application_id"))  # fmt: skip
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert rows == [
        (
            "MAC-FV-001",
            "id-mac-waived-now",
            "SER-MAC-WAIVED-NOW",
            "waived",
            None,
            "W-mac-waived-now",
        )
    ]
    assert (version, app, journal) == (SCHEMA_VERSION, APPLICATION_ID, "wal")
    assert tuple(s.value for s in Status) == STATUS_CODES  # stored codes: frozen, in this order


def test_list_is_formatted_one_line_per_period(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        assert format_runs(history.list_runs()) == "no runs recorded"
        record(history, JUL, JULY)
        text = format_runs(history.list_runs())
    tenant, header, line = text.splitlines()[:3]
    assert tenant == "tenant tenant-1"
    assert header.split()[:7] == ["period", "as", "of", "Macs", "failing", "crit/high", "posture"]
    assert line.split()[:6] == ["2026-07", "2026-07-01", "7", "5", "5", "28.6%"]
    assert "posture: Macs without one (the report's headline)" in text


def test_non_device_entities_are_tracked_by_their_own_ids(tmp_path):
    tenant = pd.DataFrame({"tenant_id": pd.array(["tenant-1"], dtype="string")})

    def tenant_results(status: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "rule_id": ["MAC-TEN-001"],
                "entity_type": ["tenant"],
                "entity_id": ["tenant-1"],
                "row": [0],
                "severity": ["critical"],
                "status": [status],
                "detail": [None],
            }
        )

    with open_history(tmp_path / "history.sqlite") as history:
        history.record(history.compare(tenant_results("fail"), {"tenant": tenant}, meta(JUL)), [])
        changes = history.compare(tenant_results("pass"), {"tenant": tenant}, meta(AUG)).changes
    assert changes.resolved[["entity_type", "entity_id", "severity", "now"]].values.tolist() == [
        ["tenant", "tenant-1", "critical", "pass"]
    ]
    assert changes.trend["devices"].tolist() == [0, 0]
    assert changes.trend["posture_pct"].isna().all()


def test_default_path_honours_xdg_data_home(tmp_path):
    assert default_history_path({"XDG_DATA_HOME": str(tmp_path)}) == (
        tmp_path / "auditor" / "history.sqlite"
    )
    assert default_history_path({}).parts[-4:] == (".local", "share", "auditor", "history.sqlite")


def test_a_missing_database_is_not_created_when_reading(tmp_path):
    path = tmp_path / "none.sqlite"
    with pytest.raises(HistoryError, match=r"none\.sqlite.*nothing recorded"):
        open_history(path, create=False)
    assert not path.exists()


@pytest.mark.parametrize(
    "content",
    [b"this is a CSV file, not a database\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["not-sqlite", "damaged-header"],
)
def test_an_unreadable_file_is_refused_and_left_untouched(tmp_path, content):
    path = tmp_path / "history.sqlite"
    path.write_bytes(content)
    with pytest.raises(HistoryError, match=r"history\.sqlite.*left untouched"):
        open_history(path)
    assert path.read_bytes() == content


def test_a_damaged_table_fails_clearly_when_read(tmp_path):
    path = tmp_path / "history.sqlite"
    with open_history(path) as history:
        record(history, JUL, JULY)
    data = bytearray(path.read_bytes())
    page = 4096
    data[page:] = b"\x07" * (len(data) - page)  # every page after the schema page
    path.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match=r"history\.sqlite"), open_history(path) as history:
        history.list_runs()
    assert path.read_bytes() == bytes(data)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "history.sqlite"
    with open_history(path):
        pass
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(HistoryError, match=r"history\.sqlite.*newer auditor"):
        open_history(path)
    assert path.read_bytes() == before


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(HistoryError, match=r"other\.sqlite.*not an auditor history"):
        open_history(path)


def test_a_writer_waits_briefly_then_fails_clearly_while_another_writes(tmp_path):
    path = tmp_path / "history.sqlite"
    with open_history(path):
        pass
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another run holds the write lock
    try:
        with open_history(path, busy_timeout_s=0.05) as history:
            with pytest.raises(HistoryError, match=r"history\.sqlite.*another auditor run"):
                record(history, JUL, JULY)
            assert history.list_runs().empty  # readers are not blocked (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()
    with open_history(path) as history:
        record(history, JUL, JULY)
        assert history.list_runs()["period"].tolist() == ["2026-07"]


def test_concurrent_writers_take_turns_without_corruption(tmp_path):
    path = tmp_path / "history.sqlite"
    errors: list[BaseException] = []

    def write(month: int) -> None:
        try:
            with open_history(path) as history:
                for _ in range(3):
                    record(history, dt.date(2026, month, 1), JULY)
                    record(history, AUG, AUGUST)  # both threads also replace the same period
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(month,)) for month in (6, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        periods = conn.execute("SELECT period FROM runs ORDER BY period").fetchall()
        august = conn.execute("SELECT count(*) FROM entities WHERE period = '2026-08'").fetchone()
    assert periods == [("2026-06",), ("2026-07",), ("2026-08",)]
    assert august == (len(AUGUST),)


def test_device_names_cannot_inject_terminal_escapes(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, JUL, {"mac-fine": True})
        record(history, AUG, {"mac-fine": True, "evil\x1b[2J-mac": False})
        text = format_changes(history.diff("2026-07", "2026-08"))
    assert "\x1b" not in text
    assert "evil?[2J-mac" in text


def device_results(outcomes: dict[str, tuple[str, str]]) -> tuple[pd.DataFrame, dict]:
    """One device result per Mac named after its fate: {name: (severity, status)}."""
    names = list(outcomes)
    devices = pd.DataFrame({"device_id": pd.array([f"id-{n}" for n in names], dtype="string")})
    results = pd.DataFrame({
        "rule_id": [f"MAC-T-{severity.upper()}" for severity, _ in outcomes.values()],
        "entity_type": "device",
        "entity_id": [f"id-{n}" for n in names],
        "row": range(len(names)),
        "severity": [severity for severity, _ in outcomes.values()],
        "status": [status for _, status in outcomes.values()],
        "detail": None,
    })  # fmt: skip
    return results, {"devices": devices}


POSTURE_OUTCOMES = {
    "mac-critical-failing": ("critical", "fail"),
    "mac-high-failing": ("high", "fail"),
    "mac-medium-failing-counts-as-ok": ("medium", "fail"),
    "mac-high-waived-counts-as-ok": ("high", "waived"),
    "mac-high-unknown-counts-as-ok": ("high", "unknown"),
    "mac-passing": ("critical", "pass"),
    "mac-low-failing-counts-as-ok": ("low", "fail"),
    "mac-info-failing-counts-as-ok": ("info", "fail"),
}


def test_posture_is_the_reports_headline_macs_without_a_critical_or_high_failure(tmp_path):
    results, frames = device_results(POSTURE_OUTCOMES)
    with open_history(tmp_path / "history.sqlite") as history:
        history.record(history.compare(results, frames, meta(JUL)), [])
        changes = history.compare(results, frames, meta(AUG)).changes
        runs = history.list_runs()
    assert runs["devices"].tolist() == [8]
    assert runs["failing_devices"].tolist() == [5]
    assert runs["critical_high_devices"].tolist() == [2]
    assert runs["posture_pct"].tolist() == [75.0]
    assert changes.trend["posture_pct"].tolist() == [75.0, 75.0]
    assert changes.trend["failing_devices"].tolist() == [5, 5]


def as_schema_2(path):
    """Rewrite a history file as auditor with schema 2 left it: the frozen v1 and v2 SQL,
    holding the same rows (schema 2 had one run per period, whatever its tenant)."""
    from auditor.history.schema import MIGRATIONS

    old = path.with_name("v2.sqlite")
    with closing(sqlite3.connect(old)) as conn:
        for statement in (*MIGRATIONS[0], *MIGRATIONS[1]):
            conn.execute(statement)
        conn.execute("ATTACH DATABASE ? AS v3", (str(path),))
        for table in ("runs", "rules", "entities", "results"):
            columns = [r[1] for r in conn.execute(f"PRAGMA main.table_info({table})")]
            listed = ", ".join(columns)
            conn.execute(f"INSERT INTO main.{table} ({listed}) SELECT {listed} FROM v3.{table}")
        conn.commit()
        conn.execute("DETACH DATABASE v3")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 2")
    path.unlink()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    old.rename(path)


def as_schema_1(path):
    """Rewrite a history file as auditor with schema 1 left it (no posture column)."""
    as_schema_2(path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN critical_high_devices")
        conn.execute("PRAGMA user_version = 1")


def test_a_schema_2_database_keeps_its_runs_under_their_tenant(tmp_path):
    path = tmp_path / "history.sqlite"
    with open_history(path) as history:
        record(history, JUL, JULY)
        record(history, AUG, AUGUST, waived=("mac-waived-now",))
        before = history.diff("2026-07", "2026-08")
    as_schema_2(path)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    with open_history(path) as history:
        runs = history.list_runs()
        after = history.diff("2026-07", "2026-08")
        sep = audit(SEP, AUGUST)
        same = history.compare(*sep, meta(SEP)).changes
        other = history.compare(*sep, meta(SEP, tenant="tenant-2")).changes
    assert runs[["tenant_id", "period"]].values.tolist() == [
        ["tenant-1", "2026-07"], ["tenant-1", "2026-08"]
    ]  # fmt: skip
    assert names(after.new) == names(before.new) and names(after.resolved) == names(before.resolved)
    assert (same.previous_period, other.previous_period) == ("2026-08", None)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        view = conn.execute("SELECT DISTINCT tenant_id FROM findings").fetchall()
    assert view == [("tenant-1",)]


def test_two_tenants_in_one_file_keep_their_own_months(tmp_path):
    path = tmp_path / "history.sqlite"
    with open_history(path) as history:
        record(history, JUL, JULY)
        record(history, AUG, AUGUST)
        results, frames = audit(AUG, {"other-mac": False})
        second = history.compare(results, frames, meta(AUG, tenant="tenant-2"))
        history.record(second, INPUTS)
        runs = history.list_runs()
        first_tenant = history.list_runs("tenant-1")
        with pytest.raises(ConfigError, match="recorded for 2 tenants"):
            history.show("2026-08")
        shown = history.show("2026-08", tenant="tenant-2")
        own = history.diff("2026-07", "2026-08", tenant="tenant-1")
        with pytest.raises(ConfigError, match="no recorded period 2026-07"):
            history.diff("2026-07", "2026-08", tenant="tenant-2")
        assert history.prune(1) == 1  # tenant-1's July; tenant-2 has only August
    assert second.changes.previous_period is None  # never compared with tenant-1
    assert runs[["tenant_id", "period", "devices"]].values.tolist() == [
        ["tenant-1", "2026-07", 7], ["tenant-1", "2026-08", 7], ["tenant-2", "2026-08", 1]
    ]  # fmt: skip
    assert first_tenant["period"].tolist() == ["2026-07", "2026-08"]
    assert (shown["tenant_id"], shown["devices"]) == ("tenant-2", 1)
    assert own.previous_period == "2026-07"
    assert "tenant tenant-1" in format_runs(runs) and "tenant tenant-2" in format_runs(runs)


def test_a_diff_never_compares_two_tenants(tmp_path):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, JUL, JULY)
        results, frames = audit(AUG, {"other-mac": False})
        history.record(history.compare(results, frames, meta(AUG, tenant="tenant-2")), INPUTS)
        with pytest.raises(ConfigError) as caught:
            history.diff("2026-07", "2026-08")
        with pytest.raises(ConfigError, match="matches none"):
            history.list_runs("tenant-3")
    assert "2026-07 is tenant tenant-1; 2026-08 is tenant tenant-2" in str(caught.value)
    assert "never two tenants" in str(caught.value)


def test_a_schema_1_database_gets_posture_recomputed_from_its_results(tmp_path):
    path = tmp_path / "history.sqlite"
    results, frames = device_results(POSTURE_OUTCOMES)
    with open_history(path) as history:
        history.record(history.compare(results, frames, meta(JUL)), [])
    as_schema_1(path)
    with open_history(path) as history:
        runs = history.list_runs()
    assert runs["critical_high_devices"].tolist() == [2]
    assert runs["posture_pct"].tolist() == [75.0]
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.parametrize(("a", "b", "missing"), [("2026-07", "2026-10", "2026-10"),
                                                 ("2026-06", "2026-08", "2026-06")])  # fmt: skip
def test_diff_of_an_unrecorded_period_is_a_user_error_listing_the_recorded_ones(
    tmp_path, a, b, missing
):
    with open_history(tmp_path / "history.sqlite") as history:
        record(history, JUL, JULY)
        record(history, AUG, AUGUST)
        with pytest.raises(ConfigError) as caught:
            history.diff(a, b)
    assert str(caught.value) == (
        f"no recorded period {missing} in {tmp_path / 'history.sqlite'} "
        "(recorded: 2026-07, 2026-08)"
    )
    assert caught.value.exit_code == 2


def test_the_report_the_history_and_the_v2_migration_agree_on_posture(tmp_path):
    from auditor.models import SEVERITIES, STATUSES, Inventory
    from auditor.normalize.schema import SCHEMAS, empty_frame
    from auditor.posture import is_serious, posture_pct
    from auditor.report import build_report

    results, frames = device_results(POSTURE_OUTCOMES)
    serious = [
        n for n, (sev, status) in POSTURE_OUTCOMES.items() if status == "fail" and is_serious(sev)
    ]
    expected = posture_pct(len(POSTURE_OUTCOMES), len(serious))
    assert (len(serious), expected) == (2, 75.0)
    typed = results.astype({"status": STATUSES, "severity": SEVERITIES, "rule_id": "category",
                            "entity_type": "category", "entity_id": "category"})  # fmt: skip
    typed["waiver_id"] = pd.array([None] * len(typed), dtype="string")
    inventory = Inventory(
        frames["devices"],
        *(empty_frame(SCHEMAS[name]) for name in ("tenant", "ade_tokens", "dem_accounts")),
    )
    posture = build_report(typed, inventory, [], [], meta(JUL)).summary.posture
    assert (posture.count, posture.pct) == (len(POSTURE_OUTCOMES) - len(serious), expected)
    path = tmp_path / "history.sqlite"
    with open_history(path) as history:
        history.record(history.compare(results, frames, meta(JUL)), [])
        recorded = history.list_runs()[["critical_high_devices", "posture_pct"]].values.tolist()
    as_schema_1(path)  # then the v2 and v3 migrations' own SQL
    with open_history(path) as history:
        migrated = history.list_runs()[["critical_high_devices", "posture_pct"]].values.tolist()
    assert recorded == migrated == [[len(serious), expected]]


def test_a_run_recorded_by_another_process_after_compare_is_taken_into_account(tmp_path):
    path = tmp_path / "history.sqlite"
    august = audit(AUG, AUGUST, waived=("mac-waived-now",))
    with open_history(path) as history, open_history(path) as other:
        comparison = history.compare(*august, meta(AUG))
        assert comparison.changes.previous_period is None  # nothing recorded yet
        record(other, JUL, JULY)  # meanwhile, another process records July
        history.record(comparison, INPUTS)
        streaks = history.diff("2026-07", "2026-08").persisting
    still_broken = streaks[streaks["device_name"] == "mac-still-broken"]
    assert still_broken["months_failing"].tolist() == [2]  # matched against July after all
