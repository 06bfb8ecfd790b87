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
from auditor.history.compare import Matched
from auditor.history.schema import ENTITY_COLUMNS, STATUS_CODES
from auditor.history.stored import StoredRun, entity_keys
from auditor.models import Severity
from auditor.posture import posture_pct

TREND_PERIODS = 12
_GROUP = ("rule_no", "status", "first_seen", "waiver_id", "cause")  # shared per statement


def load_run(
    conn: sqlite3.Connection,
    tenant: str,
    period: str,
    where: Path,
    *,
    fails_only: bool,
    also: Sequence[str] = (),
) -> StoredRun:
    """A tenant's recorded period in stored form (`fails_only`: failing results, and `also`)."""
    key = (tenant, period)
    query = """SELECT as_of, devices, failing_devices, critical_high_devices FROM runs
        WHERE tenant_id = ? AND period = ?"""
    run = conn.execute(query, key).fetchone()
    if run is None:
        raise HistoryError(f"{where}: no run recorded for tenant {tenant}, period '{period}'")
    columns = ", ".join(("rule_id", "severity", *STATUS_CODES))
    query = f"SELECT {columns} FROM rules WHERE tenant_id = ? AND period = ? ORDER BY rule_no"
    rules = pd.DataFrame(conn.execute(query, key).fetchall(), columns=["rule_id", "severity",
                         *STATUS_CODES])  # fmt: skip
    query = f"""SELECT {", ".join(ENTITY_COLUMNS)} FROM entities
        WHERE tenant_id = ? AND period = ? ORDER BY entity_no"""
    entities = pd.DataFrame(conn.execute(query, key).fetchall(), columns=list(ENTITY_COLUMNS))
    codes = ", ".join(str(STATUS_CODES.index(s)) for s in ("fail", *also))
    where_status = f" AND status IN ({codes})" if fails_only else ""
    query = f"""SELECT {", ".join(_GROUP)}, json_group_array(entity_no) FROM results
        WHERE tenant_id = ? AND period = ?{where_status} GROUP BY {", ".join(_GROUP)}"""
    groups = conn.execute(query, key).fetchall()
    numbers = [np.array(orjson.loads(g[-1]), dtype=np.int64) for g in groups]
    sizes = [len(n) for n in numbers]
    results = pd.DataFrame({
        "rule_no": np.repeat([g[0] for g in groups], sizes).astype(np.int64),
        "entity_no": np.concatenate([np.empty(0, np.int64), *numbers]),
        "status": np.repeat([g[1] for g in groups], sizes).astype(np.int64),
        "first_seen": np.repeat(np.array([g[2] for g in groups], dtype=object), sizes),
        "waiver_id": np.repeat(np.array([g[3] for g in groups], dtype=object), sizes),
        "cause": np.repeat(np.array([g[4] for g in groups], dtype=object), sizes),
    }).sort_values(["rule_no", "entity_no"], ignore_index=True)  # fmt: skip
    entities = entities.astype("string")
    keys = entity_keys(entities)
    return StoredRun(tenant, period, run[0], rules, entities, results, run[1], run[2], run[3],
                     keys)  # fmt: skip


def basis(conn: sqlite3.Connection, tenant: str, period: str) -> tuple[str | None, int]:
    """The tenant's period a run of `period` is compared with, and the file's version.

    `PRAGMA data_version` changes when another connection commits, so an unchanged basis
    means the comparison still holds.
    """
    query = "SELECT max(period) FROM runs WHERE tenant_id = ? AND period < ?"
    previous = conn.execute(query, (tenant, period)).fetchone()[0]
    return previous, int(conn.execute("PRAGMA data_version").fetchone()[0])


def require_periods(conn: sqlite3.Connection, where: Path, tenant: str, *periods: str) -> None:
    """A ConfigError (a user error, not a broken database) for a period never recorded."""
    query = "SELECT period FROM runs WHERE tenant_id = ? ORDER BY period"
    recorded = [period for (period,) in conn.execute(query, (tenant,))]
    for period in periods:
        if period not in recorded:
            listed = ", ".join(recorded) or "none yet"
            raise ConfigError(
                f"no recorded period {period} in {where} (recorded: {listed}"
                f"{'' if tenant == only_tenant(conn) else f' for tenant {tenant}'})"
            )


def tenants(conn: sqlite3.Connection, periods: Sequence[str] = ()) -> list[str]:
    """The tenants recorded (those with a run in every one of `periods`, when given)."""
    query = "SELECT DISTINCT tenant_id FROM runs ORDER BY tenant_id"
    found = [tenant for (tenant,) in conn.execute(query)]
    for period in periods:
        query = "SELECT tenant_id FROM runs WHERE period = ?"
        having = {tenant for (tenant,) in conn.execute(query, (period,))}
        found = [t for t in found if t in having]
    return found


def only_tenant(conn: sqlite3.Connection) -> str | None:
    """The one tenant the file holds, or None when it holds several (or none)."""
    recorded = tenants(conn)
    return recorded[0] if len(recorded) == 1 else None


def resolve_tenant(
    conn: sqlite3.Connection, where: Path, given: str | None, periods: Sequence[str]
) -> str:
    """The tenant a command means: `given` (an id or its unique start), else the only one.

    Without `given`, the only tenant with every one of `periods` recorded (the only tenant
    at all, without periods).

    Raises:
        ConfigError: no tenant matches, or several do (the message lists them).
    """
    recorded = tenants(conn)
    if given is not None:
        matches = [t for t in recorded if t == given] or [
            t for t in recorded if t.startswith(given)
        ]
        if len(matches) == 1:
            return matches[0]
        what = "matches several" if matches else "matches none"
        listed = ", ".join(recorded) or "none yet"
        raise ConfigError(f"--tenant {given} {what} of the tenants in {where} (recorded: {listed})")
    having = tenants(conn, periods) if periods else recorded
    if len(having) == 1:
        return having[0]
    if not having:
        only = only_tenant(conn)
        if only is not None:
            return only  # the periods are missing: require_periods says which
        split = {p: tenants(conn, (p,)) for p in periods}
        if periods and all(len(v) == 1 for v in split.values()):
            owners = "; ".join(f"{p} is tenant {v[0]}" for p, v in split.items())
            raise ConfigError(
                f"{where}: {owners}: a diff compares one tenant's runs, never two "
                "tenants; pass --tenant"
            )
        listed = ", ".join(recorded) or "none yet"
        raise ConfigError(
            f"{where}: no single tenant has {' and '.join(periods) or 'runs'} "
            f"recorded (tenants: {listed}); pass --tenant"
        )
    listed = ", ".join(having)
    raise ConfigError(
        f"{where}: {' and '.join(periods) or 'runs'} recorded for {len(having)} "
        f"tenants ({listed}): pass --tenant ID"
    )


def insert_results(
    conn: sqlite3.Connection, tenant: str, period: str, results: pd.DataFrame
) -> None:
    """One INSERT … json_each per (rule, status, first_seen, waiver): 4x faster than rows."""
    statement = """INSERT INTO results (tenant_id, period, rule_no, entity_no, status,
        first_seen, waiver_id, cause) SELECT ?, ?, ?, value, ?, ?, ?, ? FROM json_each(?)"""
    groups = results.groupby(list(_GROUP), dropna=False, sort=False)["entity_no"]
    for key, numbers in groups:
        rule_no, status, first_seen, waiver_id, cause = cast(tuple[Any, ...], key)
        payload = orjson.dumps(numbers.to_numpy(np.int64), option=orjson.OPT_SERIALIZE_NUMPY)
        conn.execute(statement, (tenant, period, int(rule_no), int(status), _text(first_seen),
                                 _text(waiver_id), _text(cause), payload))  # fmt: skip


def _text(value: Any) -> str | None:
    return None if pd.isna(value) else str(value)


def frame_of(cursor: sqlite3.Cursor) -> pd.DataFrame:
    """A query's rows as a frame (pandas.read_sql would hide sqlite3's errors from _guard)."""
    return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])


def header(conn: sqlite3.Connection) -> tuple[int, int]:
    """The file's application id and schema version (PRAGMA user_version)."""
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    return int(app), int(conn.execute("PRAGMA user_version").fetchone()[0])


def table_rows(tenant: str, period: str, frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """(tenant, period, row number, *columns) tuples for executemany, built column-wise."""
    columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame]
    return zip(itertools.repeat(tenant), itertools.repeat(period), itertools.count(), *columns)


def delete_periods(conn: sqlite3.Connection, tenant: str, periods: Sequence[str]) -> None:
    """Remove every row of the tenant's periods from every table (and catalogues no run uses)."""
    tables = ("results", "resolutions", "entities", "rules", "runs")
    for table, period in itertools.product(tables, periods):
        conn.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND period = ?", (tenant, period))
    conn.execute(
        "DELETE FROM catalogues WHERE digest NOT IN "
        "(SELECT catalogue_digest FROM runs WHERE catalogue_digest IS NOT NULL)"
    )


def trend(conn: sqlite3.Connection, current: StoredRun) -> pd.DataFrame:
    """The tenant's last TREND_PERIODS periods up to the current one, oldest first."""
    sums = ", ".join(
        f"coalesce(sum(CASE WHEN u.severity = '{s.value}' THEN u.fail END), 0) AS fail_{s.value}"
        for s in Severity
    )
    query = f"""SELECT r.period, r.as_of, r.devices, r.failing_devices, r.critical_high_devices,
        {sums} FROM runs r
        LEFT JOIN rules u USING (tenant_id, period) WHERE r.tenant_id = ? AND r.period < ?
        GROUP BY r.period ORDER BY r.period DESC LIMIT ?"""
    rows = conn.execute(query, (current.tenant_id, current.period, TREND_PERIODS - 1)).fetchall()
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


def insert_resolutions(
    conn: sqlite3.Connection, tenant: str, period: str, resolved: pd.DataFrame
) -> None:
    """Keep how each failure of the previous period resolved (`Changes.resolved`)."""
    if not len(resolved):
        return
    columns = ("rule_id", "entity_type", "entity_id", "resolution")
    values = [resolved[c].astype(object).where(resolved[c].notna(), None) for c in columns]
    rows = zip(*values, strict=True)
    conn.executemany(
        "INSERT INTO resolutions VALUES (?, ?, ?, ?, ?, ?)",
        ((tenant, period, *row) for row in rows),
    )


def recorded_resolutions(
    conn: sqlite3.Connection, tenant: str, period: str, matched: Matched
) -> np.ndarray:
    """The recorded resolution of each of `matched`'s previous failures (derived if unrecorded)."""
    query = """SELECT rule_id, entity_type, entity_id, resolution FROM resolutions
        WHERE tenant_id = ? AND period = ?"""
    recorded = {(r, t, i): kind for r, t, i, kind in conn.execute(query, (tenant, period))}
    if not recorded:
        return matched.resolution
    rule_ids = matched.current.rules["rule_id"].to_numpy(dtype=object)
    kinds = matched.universe["entity_type"].to_numpy(dtype=object)
    ids = matched.universe["entity_id"].to_numpy(dtype=object)
    found = [
        recorded.get((rule_ids[rule_no], kinds[entity_no], ids[entity_no]), derived)
        for (rule_no, entity_no), derived in zip(
            matched.was.tolist(), matched.resolution.tolist(), strict=True
        )
    ]
    return np.array(found, dtype=object)
