"""SQLite store of audit runs and the month-over-month deltas between them.

A failure, for every delta, is status `fail`. `waived` is accepted risk: it is stored and counted
per rule, but it is never a new or persisting failure, and a failure that became waived is
resolved with `now = waived`. Only rules evaluated in the current run are compared. Each stored
failure carries the first period of its uninterrupted failing streak, carried forward from the
latest earlier period when it is recorded, so a streak needs one earlier period, not all of them
(re-recording an old period therefore does not rewrite the streaks of later ones).

Runs are keyed by tenant: each tenant has its own line of periods, a run is compared only with
its own tenant's runs, and `list`, `show`, `diff` and `prune` work on one tenant (named, or the
only one the file holds); a diff never spans two tenants.

Posture (`posture_pct`) is the report's headline, defined once in `auditor.posture`;
`failing_devices` counts Macs with any failing result. A run is compared once
(`History.compare`): the report shows that comparison and `History.record` stores it.

`schema` holds the tables and migrations, `stored` a run's stored form, `compare` the pure
matching of two stored runs, `sql` the reads and writes, `connection` opening, migrating and
transactions; `History` runs each public method in a transaction.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from auditor.errors import ConfigError, HistoryError
from auditor.history.bars import bar_changes, current_bar, load_bar, period_dates, store_bar
from auditor.history.causes import Bar, attribute, recorded_causes
from auditor.history.compare import match_failures
from auditor.history.connection import connect, transaction
from auditor.history.schema import (
    APPLICATION_ID,
    FAIL,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    STATUS_CODES,
)
from auditor.history.sql import (
    basis,
    delete_periods,
    frame_of,
    insert_resolutions,
    insert_results,
    load_run,
    posture_column,
    recorded_resolutions,
    require_periods,
    resolve_tenant,
    table_rows,
    tenants,
    trend,
)
from auditor.history.stored import StoredRun, stored_run
from auditor.models import Changes, InputFile, RunMeta

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "STATUS_CODES",
    "Bar",
    "Comparison",
    "History",
    "current_bar",
    "default_history_path",
    "open_history",
]


def default_history_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/auditor/history.sqlite`, else `~/.local/share/auditor/history.sqlite`."""
    base = (os.environ if environ is None else environ).get("XDG_DATA_HOME")
    base = base or str(Path.home() / ".local" / "share")
    return Path(base) / "auditor" / "history.sqlite"


def open_history(path: Path, *, create: bool = True, busy_timeout_s: float = 30.0) -> History:
    """Open the history database at `path`, creating or migrating it when `create` allows.

    A second writer waits up to `busy_timeout_s` for the first, then fails with HistoryError.
    A file that is not an auditor history, is corrupt, or has a newer schema is refused and left
    untouched. Use it as a context manager: the connection closes on exit.
    """
    if not create and not path.is_file():
        raise HistoryError(f"{path}: no history database here (nothing recorded yet)")
    return History(path, connect(path, busy_timeout_s))


@dataclass(frozen=True, slots=True, eq=False)
class Comparison:
    """One run compared with the latest earlier period: what the report shows and record stores."""

    meta: RunMeta
    stored: StoredRun  # the run in stored form (its results' first_seen not yet filled)
    changes: Changes
    first_seen: np.ndarray  # first period of each failure's streak, in stored result order
    basis: tuple[str | None, int]  # (previous period, PRAGMA data_version) compared against
    cause: np.ndarray  # why each failure's streak began, in stored result order (None: unknown)
    bar: Bar | None = None  # what the run was judged against, stored with it


class History:
    """An open history database; each public method is one transaction."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    def __enter__(self) -> History:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def compare(
        self,
        results: pd.DataFrame,
        frames: Mapping[str, pd.DataFrame],
        meta: RunMeta,
        bar: Bar | None = None,
    ) -> Comparison:
        """This (not yet recorded) run against the latest period recorded before it.

        With the run's `bar` (rules, catalogue, parameters) every new failure gets its cause
        and every resolution its kind (`history.causes`); without it, or against a period
        recorded before causes were kept, the causes are `undetermined`. The comparison's
        `changes` feed the report; `record` stores the same comparison.
        """
        current = stored_run(results, frames, meta)
        tenant = meta.tenant_id
        with transaction(self._conn, self.path, "compare with the previous run") as conn:
            compared_with = basis(conn, tenant, meta.period)
            previous = self._latest_before(conn, tenant, compared_with[0])
            before = load_bar(conn, tenant, compared_with[0])
            matched = match_failures(current, previous)
            attribute(matched, frames, bar, before if bar is not None else None)
            dates = {**period_dates(conn, tenant), meta.period: meta.as_of.isoformat()}
            changes = matched.changes(trend(conn, current), dates, bar_changes(before, bar))
        return Comparison(
            meta, current, changes, matched.first_seen, compared_with, matched.cause, bar
        )

    def record(self, comparison: Comparison, inputs: Sequence[InputFile]) -> None:
        """Store the compared run, replacing its tenant's run of that period, in one transaction.

        Keeps the run's metadata and inputs, counts per rule and status, every entity that
        existed, and each non-passing result (passes are implied by the entity list) with the
        first period of its failing streak. Only when another process recorded a run since
        `compare` are the streaks matched again, against what is recorded now.
        """
        meta, snap = comparison.meta, comparison.stored
        tenant = meta.tenant_id
        inputs_json = json.dumps([dataclasses.asdict(i) for i in inputs])
        with transaction(self._conn, self.path, "record the run", write=True) as conn:
            first_seen, cause = comparison.first_seen, comparison.cause
            resolved = comparison.changes.resolved
            now = basis(conn, tenant, meta.period)
            if now != comparison.basis:  # another run was recorded meanwhile: match again
                matched = match_failures(snap, self._latest_before(conn, tenant, now[0]))
                first_seen, cause = matched.first_seen, matched.cause
                resolved = resolved.iloc[0:0]
            results = snap.results.copy()
            is_fail = results["status"].to_numpy() == FAIL
            results.loc[is_fail, "first_seen"] = first_seen
            results.loc[is_fail, "cause"] = cause
            delete_periods(conn, tenant, [meta.period])
            digest, params = store_bar(conn, comparison.bar) if comparison.bar else (None, None)
            conn.execute(
                f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
                (tenant, meta.period, meta.as_of.isoformat(), meta.generated_at.isoformat(),
                 meta.tool_version, meta.catalogue_as_of.isoformat(), meta.catalogue_source,
                 meta.config_digest, meta.waivers_digest, meta.source,
                 snap.devices, snap.failing_devices, snap.critical_high_devices, inputs_json,
                 digest, params),
            )  # fmt: skip
            insert_resolutions(conn, tenant, meta.period, resolved)
            for table, frame in (("rules", snap.rules), ("entities", snap.entities)):
                marks = ", ".join("?" * (frame.shape[1] + 3))
                rows = table_rows(tenant, meta.period, frame)
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            insert_results(conn, tenant, meta.period, results)

    def diff(self, a: str, b: str, tenant: str | None = None) -> Changes:
        """Deltas of recorded period `b` against recorded period `a` of one tenant.

        `tenant` (an id or a unique start of one) may be left out when one tenant has both
        periods recorded; a diff never compares two tenants.

        Raises:
            ConfigError: `a` or `b` is not recorded for the tenant (the message lists those
                that are), or the tenant is ambiguous.
        """
        with transaction(self._conn, self.path, f"compare {a} with {b}") as conn:
            tenant = resolve_tenant(conn, self.path, tenant, (a, b))
            require_periods(conn, self.path, tenant, a, b)
            current = load_run(conn, tenant, b, self.path, fails_only=False)
            before = load_run(conn, tenant, a, self.path, fails_only=True)
            comparison = match_failures(current, before)
            is_fail = current.results["status"].to_numpy() == FAIL
            # streaks and their causes as recorded for b: counted over every period before it
            comparison.first_seen = current.results["first_seen"].to_numpy(dtype=object)[is_fail]
            comparison.cause = recorded_causes(current, before, is_fail)
            if basis(conn, tenant, b)[0] == a:  # consecutive: b recorded how each resolved
                comparison.resolution = recorded_resolutions(conn, tenant, b, comparison)
            dates = period_dates(conn, tenant)
            moved = bar_changes(load_bar(conn, tenant, a), load_bar(conn, tenant, b))
            return comparison.changes(trend(conn, current), dates, moved)

    def list_runs(self, tenant: str | None = None) -> pd.DataFrame:
        """One row per recorded run (of `tenant`, else of every tenant), by tenant and period."""
        sums = ", ".join(f"coalesce(sum(u.{s}), 0) AS {s}" for s in STATUS_CODES)
        query = f"""SELECT r.tenant_id, r.period, r.as_of, r.generated_at, r.tool_version,
            r.catalogue_as_of, r.config_digest, r.devices, r.failing_devices,
            r.critical_high_devices, {sums}
            FROM runs r LEFT JOIN rules u USING (tenant_id, period)
            WHERE ? IS NULL OR r.tenant_id = ?
            GROUP BY r.tenant_id, r.period ORDER BY r.tenant_id, r.period"""
        with transaction(self._conn, self.path, "list runs") as conn:
            chosen = None if tenant is None else resolve_tenant(conn, self.path, tenant, ())
            runs = frame_of(conn.execute(query, (chosen, chosen)))
        return runs.assign(posture_pct=posture_column(runs))

    def show(self, period: str, tenant: str | None = None) -> dict[str, Any]:
        """Everything recorded about one tenant's period: metadata, inputs, counts, totals.

        Raises:
            ConfigError: `period` is not recorded (the message lists the periods that are),
                or several tenants have it and `tenant` does not say which.
        """
        with transaction(self._conn, self.path, f"show {period}") as conn:
            tenant = resolve_tenant(conn, self.path, tenant, (period,))
            require_periods(conn, self.path, tenant, period)
            key = (tenant, period)
            cursor = conn.execute("SELECT * FROM runs WHERE tenant_id = ? AND period = ?", key)
            row = cursor.fetchone()
            run = dict(zip([d[0] for d in cursor.description], row, strict=True))
            columns = ", ".join(("rule_id", "severity", *STATUS_CODES))
            query = f"""SELECT {columns} FROM rules WHERE tenant_id = ? AND period = ?
                ORDER BY rule_no"""
            rules = frame_of(conn.execute(query, key))
        run["inputs"] = json.loads(run["inputs"])
        posture = posture_column(pd.DataFrame([run])).iloc[0]
        run["posture_pct"] = None if pd.isna(posture) else float(posture)
        run["rules"] = rules.to_dict("records")
        run["totals"] = {s: int(rules[s].sum()) for s in STATUS_CODES}
        return run

    def prune(self, keep: int, tenant: str | None = None) -> int:
        """Keep each tenant's (or only `tenant`'s) newest `keep` periods; returns runs deleted."""
        if keep < 1:
            raise ConfigError(f"history prune: keep must be at least 1, got {keep}")
        deleted = 0
        with transaction(self._conn, self.path, "prune old runs", write=True) as conn:
            chosen = (
                [resolve_tenant(conn, self.path, tenant, ())]
                if tenant is not None
                else tenants(conn)
            )
            query = """SELECT period FROM runs WHERE tenant_id = ?
                ORDER BY period DESC LIMIT -1 OFFSET ?"""
            for each in chosen:
                old = [period for (period,) in conn.execute(query, (each, keep)).fetchall()]
                delete_periods(conn, each, old)
                deleted += len(old)
        return deleted

    def _latest_before(
        self, conn: sqlite3.Connection, tenant: str, previous: str | None
    ) -> StoredRun | None:
        """The tenant's period `previous` (the latest before the run): failing, unknown, waived."""
        if previous is None:
            return None
        return load_run(
            conn, tenant, previous, self.path, fails_only=True, also=("unknown", "waived")
        )
