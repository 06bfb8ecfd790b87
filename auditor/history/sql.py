"""Reads and writes of the history database: runs, rules, entities, results and the trend."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import orjson
import pandas as pd

from auditor.errors import ConfigError, HistoryError
from auditor.history.schema import ENTITY_COLUMNS, FAIL, STATUS_CODES
from auditor.history.stored import StoredRun, entity_keys
from auditor.models import Severity
from auditor.posture import posture_pct

TREND_PERIODS = 12
_GROUP = ("rule_no", "status", "first_seen", "waiver_id")  # results share these per statement


def load_run(conn: sqlite3.Connection, period: str, where: Path, *, fails_only: bool) -> StoredRun:
    """A recorded period in stored form (`fails_only`: its failing results only)."""
    query = (
        "SELECT as_of, devices, failing_devices, critical_high_devices FROM runs WHERE period = ?"
    )
    run = conn.execute(query, (period,)).fetchone()
    if run is None:
        raise HistoryError(f"{where}: no run recorded for period '{period}'")
    columns = ", ".join(("rule_id", "severity", *STATUS_CODES))
    query = f"SELECT {columns} FROM rules WHERE period = ? ORDER BY rule_no"
    rules = pd.DataFrame(conn.execute(query, (period,)).fetchall(), columns=["rule_id",
                         "severity", *STATUS_CODES])  # fmt: skip
    query = f"SELECT {', '.join(ENTITY_COLUMNS)} FROM entities WHERE period = ? ORDER BY entity_no"
    entities = pd.DataFrame(conn.execute(query, (period,)).fetchall(), columns=list(ENTITY_COLUMNS))
    where_status = f" AND status = {FAIL}" if fails_only else ""
    query = f"""SELECT {", ".join(_GROUP)}, json_group_array(entity_no) FROM results
        WHERE period = ?{where_status} GROUP BY {", ".join(_GROUP)}"""
    groups = conn.execute(query, (period,)).fetchall()
    numbers = [np.array(orjson.loads(g[-1]), dtype=np.int64) for g in groups]
    sizes = [len(n) for n in numbers]
    results = pd.DataFrame({
        "rule_no": np.repeat([g[0] for g in groups], sizes).astype(np.int64),
        "entity_no": np.concatenate([np.empty(0, np.int64), *numbers]),
        "status": np.repeat([g[1] for g in groups], sizes).astype(np.int64),
        "first_seen": np.repeat(np.array([g[2] for g in groups], dtype=object), sizes),
        "waiver_id": np.repeat(np.array([g[3] for g in groups], dtype=object), sizes),
    }).sort_values(["rule_no", "entity_no"], ignore_index=True)  # fmt: skip
    entities = entities.astype("string")
    keys = entity_keys(entities)
    return StoredRun(period, run[0], rules, entities, results, run[1], run[2], run[3], keys)


def basis(conn: sqlite3.Connection, period: str) -> tuple[str | None, int]:
    """The period a run of `period` is compared with, and the file's version.

    `PRAGMA data_version` changes when another connection commits, so an unchanged basis
    means the comparison still holds.
    """
    query = "SELECT max(period) FROM runs WHERE period < ?"
    previous = conn.execute(query, (period,)).fetchone()[0]
    return previous, int(conn.execute("PRAGMA data_version").fetchone()[0])


def require_periods(conn: sqlite3.Connection, where: Path, *periods: str) -> None:
    """A ConfigError (a user error, not a broken database) for a period never recorded."""
    recorded = [period for (period,) in conn.execute("SELECT period FROM runs ORDER BY period")]
    for period in periods:
        if period not in recorded:
            listed = ", ".join(recorded) or "none yet"
            raise ConfigError(f"no recorded period {period} in {where} (recorded: {listed})")


def insert_results(conn: sqlite3.Connection, period: str, results: pd.DataFrame) -> None:
    """One INSERT … json_each per (rule, status, first_seen, waiver): 4x faster than rows."""
    statement = "INSERT INTO results SELECT ?, ?, value, ?, ?, ? FROM json_each(?)"
    groups = results.groupby(list(_GROUP), dropna=False, sort=False)["entity_no"]
    for key, numbers in groups:
        rule_no, status, first_seen, waiver_id = cast(tuple[Any, ...], key)
        payload = orjson.dumps(numbers.to_numpy(np.int64), option=orjson.OPT_SERIALIZE_NUMPY)
        conn.execute(statement, (period, int(rule_no), int(status), _text(first_seen),
                                 _text(waiver_id), payload))  # fmt: skip


def _text(value: Any) -> str | None:
    return None if pd.isna(value) else str(value)


def frame_of(cursor: sqlite3.Cursor) -> pd.DataFrame:
    """A query's rows as a frame (pandas.read_sql would hide sqlite3's errors from _guard)."""
    return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])


def header(conn: sqlite3.Connection) -> tuple[int, int]:
    """The file's application id and schema version (PRAGMA user_version)."""
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    return int(app), int(conn.execute("PRAGMA user_version").fetchone()[0])


def table_rows(period: str, frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """(period, row number, *columns) tuples for executemany, built column-wise (NA → None)."""
    columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame]
    return zip(itertools.repeat(period), itertools.count(), *columns)


def delete_periods(conn: sqlite3.Connection, periods: Sequence[str]) -> None:
    """Remove every row of these periods from every table."""
    for table, period in itertools.product(("results", "entities", "rules", "runs"), periods):
        conn.execute(f"DELETE FROM {table} WHERE period = ?", (period,))


def trend(conn: sqlite3.Connection, current: StoredRun) -> pd.DataFrame:
    """The last TREND_PERIODS periods up to and including the current one, oldest first."""
    sums = ", ".join(
        f"coalesce(sum(CASE WHEN u.severity = '{s.value}' THEN u.fail END), 0) AS fail_{s.value}"
        for s in Severity
    )
    query = f"""SELECT r.period, r.as_of, r.devices, r.failing_devices, r.critical_high_devices,
        {sums} FROM runs r
        LEFT JOIN rules u USING (period) WHERE r.period < ? GROUP BY r.period
        ORDER BY r.period DESC LIMIT ?"""
    rows = conn.execute(query, (current.period, TREND_PERIODS - 1)).fetchall()
    fails = current.rules.groupby("severity")["fail"].sum()
    now = (current.period, current.as_of, current.devices, current.failing_devices,
           current.critical_high_devices,
           *(int(fails.get(s.value, 0)) for s in Severity))  # fmt: skip
    columns = ["period", "as_of", "devices", "failing_devices", "critical_high_devices",
               *(f"fail_{s}" for s in Severity)]  # fmt: skip
    trend = pd.DataFrame([*reversed(rows), now], columns=columns)
    trend = trend.astype({c: "string" if c in ("period", "as_of") else "Int64" for c in columns})
    trend.insert(4, "posture_pct", posture_column(trend))
    return trend.drop(columns="critical_high_devices")  # the columns Changes.trend documents


def posture_column(frame: pd.DataFrame) -> pd.Series:
    """`posture.posture_pct` of each row's `devices` and `critical_high_devices` (NA: no Macs)."""
    values = [
        posture_pct(int(devices), int(serious))
        for devices, serious in zip(frame["devices"], frame["critical_high_devices"], strict=True)
    ]
    return pd.Series(pd.array(values, dtype="Float64"), index=frame.index)
