"""SQLite store of audit runs and the month-over-month deltas between them.

A failure, for every delta, is status `fail`. `waived` is accepted risk: it is stored and counted
per rule, but it is never a new or persisting failure, and a failure that became waived is
resolved with `now = waived`. Only rules evaluated in the current run are compared. Each stored
failure carries the first period of its uninterrupted failing streak, carried forward from the
latest earlier period when it is recorded, so a streak needs one earlier period, not all of them
(re-recording an old period therefore does not rewrite the streaks of later ones).

Posture (`posture_pct`) is the report's headline, defined once in `auditor.posture`;
`failing_devices` counts Macs with any failing result. A run is compared once
(`History.compare`): the report shows that comparison and `History.record` stores it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import numpy as np
import orjson
import pandas as pd

from auditor.errors import ConfigError, HistoryError
from auditor.models import Changes, Entity, InputFile, RunMeta, Severity
from auditor.posture import SERIOUS, posture_pct

APPLICATION_ID = 0x41554454  # "AUDT" in the SQLite header marks the file as ours
STATUS_CODES = ("pass", "fail", "unknown", "not_applicable", "waived")  # stored as the index
TREND_PERIODS = 12
KEY = ("rule_id", "entity_type", "entity_id")
_FAIL = 1
_NAMES = {Entity.DEVICE: "device_name", Entity.ADE_TOKEN: "token_name"}
_ENTITIES = ("entity_type", "entity_id", "serial_number", "name")
_GROUP = ("rule_no", "status", "first_seen", "waiver_id")  # results share these per statement
_SEVERITIES = np.array([s.value for s in Severity], dtype=object)
_SERIOUS = [s.value for s in SERIOUS]

_V1 = (
    """CREATE TABLE runs (period TEXT PRIMARY KEY, as_of TEXT NOT NULL, generated_at TEXT NOT NULL,
    tool_version TEXT NOT NULL, catalogue_as_of TEXT NOT NULL, catalogue_source TEXT NOT NULL,
    config_digest TEXT NOT NULL, waivers_digest TEXT NOT NULL, tenant_id TEXT NOT NULL,
    source TEXT NOT NULL, devices INTEGER NOT NULL, failing_devices INTEGER NOT NULL,
    inputs TEXT NOT NULL)""",
    """CREATE TABLE rules (period TEXT NOT NULL, rule_no INTEGER NOT NULL, rule_id TEXT NOT NULL,
    severity TEXT NOT NULL, pass INTEGER NOT NULL, fail INTEGER NOT NULL, unknown INTEGER NOT NULL,
    not_applicable INTEGER NOT NULL, waived INTEGER NOT NULL, PRIMARY KEY (period, rule_no))
    WITHOUT ROWID""",
    """CREATE TABLE entities (period TEXT NOT NULL, entity_no INTEGER NOT NULL,
    entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, serial_number TEXT, name TEXT,
    PRIMARY KEY (period, entity_no)) WITHOUT ROWID""",
    """CREATE TABLE results (period TEXT NOT NULL, rule_no INTEGER NOT NULL,
    entity_no INTEGER NOT NULL, status INTEGER NOT NULL, first_seen TEXT, waiver_id TEXT,
    PRIMARY KEY (period, rule_no, entity_no)) WITHOUT ROWID""",
    "CREATE TABLE statuses (code INTEGER PRIMARY KEY, status TEXT NOT NULL UNIQUE)",
    "INSERT INTO statuses VALUES " + ", ".join(f"({i}, '{s}')" for i, s in enumerate(STATUS_CODES)),
    """CREATE VIEW findings AS SELECT r.period, u.rule_id, u.severity, e.entity_type, e.entity_id,
    e.serial_number, e.name, s.status, r.first_seen, r.waiver_id FROM results r
    JOIN rules u USING (period, rule_no) JOIN entities e USING (period, entity_no)
    JOIN statuses s ON s.code = r.status""",
)
# v2: Macs with a failing critical or high result per period (posture), filled in for old runs.
# A migration is frozen: it states posture's definition as it was written (status 1 = fail);
# a test asserts it agrees with auditor.posture.
_V2 = (
    "ALTER TABLE runs ADD COLUMN critical_high_devices INTEGER NOT NULL DEFAULT 0",
    """UPDATE runs SET critical_high_devices = (SELECT count(DISTINCT r.entity_no)
    FROM results r JOIN rules u USING (period, rule_no) JOIN entities e USING (period, entity_no)
    WHERE r.period = runs.period AND r.status = 1 AND e.entity_type = 'device'
    AND u.severity IN ('critical', 'high'))""",
)
# MIGRATIONS[i] takes a database from schema version i to i + 1, inside one transaction.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)
_RUN_COLUMNS = (
    "period", "as_of", "generated_at", "tool_version", "catalogue_as_of", "catalogue_source",
    "config_digest", "waivers_digest", "tenant_id", "source", "devices", "failing_devices",
    "critical_high_devices", "inputs",
)  # fmt: skip


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryError(f"{path}: cannot open the history database: {exc}") from exc
    history = History(path, conn)
    try:
        history._prepare()
    except BaseException:
        conn.close()
        raise
    return history


@dataclass(slots=True)
class _Snapshot:
    """One period in stored form: non-pass `results` number into `rules` and `entities` rows."""

    period: str
    as_of: str
    rules: pd.DataFrame  # rule_id, severity, a count per status; row = rule_no
    entities: pd.DataFrame  # _ENTITIES; row = entity_no
    results: pd.DataFrame  # rule_no, entity_no, status, first_seen, waiver_id
    devices: int
    failing_devices: int  # Macs with any failing result
    critical_high_devices: int  # Macs with a failing critical or high result
    keys: pd.Index  # `type<US>id` of each entity, for matching across periods


@dataclass(frozen=True, slots=True, eq=False)
class Comparison:
    """One run compared with the latest earlier period: what the report shows and record stores."""

    meta: RunMeta
    stored: _Snapshot  # the run in stored form (its results' first_seen not yet filled)
    changes: Changes
    first_seen: np.ndarray  # first period of each failure's streak, in stored result order
    basis: tuple[str | None, int]  # (previous period, PRAGMA data_version) compared against


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
        self, results: pd.DataFrame, frames: Mapping[str, pd.DataFrame], meta: RunMeta
    ) -> Comparison:
        """This (not yet recorded) run against the latest period recorded before it.

        The comparison's `changes` feed the report; `record` stores the same comparison.
        """
        current = _snapshot(results, frames, meta)
        with self._transaction("compare with the previous run") as conn:
            basis = _basis(conn, meta.period)
            matched = _compare(current, self._latest_before(conn, basis[0]))
            changes = matched.changes(_trend(conn, current))
        return Comparison(meta, current, changes, matched.first_seen, basis)

    def record(self, comparison: Comparison, inputs: Sequence[InputFile]) -> None:
        """Store the compared run, replacing any run recorded for its period, in one transaction.

        Keeps the run's metadata and inputs, counts per rule and status, every entity that
        existed, and each non-passing result (passes are implied by the entity list) with the
        first period of its failing streak. Only when another process recorded a run since
        `compare` are the streaks matched again, against what is recorded now.
        """
        meta, snap = comparison.meta, comparison.stored
        inputs_json = json.dumps([dataclasses.asdict(i) for i in inputs])
        with self._transaction("record the run", write=True) as conn:
            first_seen = comparison.first_seen
            basis = _basis(conn, meta.period)
            if basis != comparison.basis:
                first_seen = _compare(snap, self._latest_before(conn, basis[0])).first_seen
            results = snap.results.copy()
            results.loc[results["status"].to_numpy() == _FAIL, "first_seen"] = first_seen
            _delete_periods(conn, [meta.period])
            conn.execute(
                f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_RUN_COLUMNS))})",
                (meta.period, meta.as_of.isoformat(), meta.generated_at.isoformat(),
                 meta.tool_version, meta.catalogue_as_of.isoformat(), meta.catalogue_source,
                 meta.config_digest, meta.waivers_digest, meta.tenant_id, meta.source,
                 snap.devices, snap.failing_devices, snap.critical_high_devices, inputs_json),
            )  # fmt: skip
            for table, frame in (("rules", snap.rules), ("entities", snap.entities)):
                marks = ", ".join("?" * (frame.shape[1] + 2))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", _rows(meta.period, frame))
            _insert_results(conn, meta.period, results)

    def diff(self, a: str, b: str) -> Changes:
        """Deltas of recorded period `b` against recorded period `a` (as `compare` gives them).

        Raises:
            ConfigError: `a` or `b` is not a recorded period (the message lists those that are).
        """
        with self._transaction(f"compare {a} with {b}") as conn:
            _require_periods(conn, self.path, a, b)
            current = _load(conn, b, self.path, fails_only=False)
            comparison = _compare(current, _load(conn, a, self.path, fails_only=True))
            is_fail = current.results["status"].to_numpy() == _FAIL
            # streaks as recorded for b: counted over every period before it, not only since a
            comparison.first_seen = current.results["first_seen"].to_numpy(dtype=object)[is_fail]
            return comparison.changes(_trend(conn, current))

    def list_runs(self) -> pd.DataFrame:
        """One row per recorded period, oldest first, with totals per status."""
        sums = ", ".join(f"coalesce(sum(u.{s}), 0) AS {s}" for s in STATUS_CODES)
        query = f"""SELECT r.period, r.as_of, r.generated_at, r.tool_version, r.catalogue_as_of,
            r.config_digest, r.devices, r.failing_devices, r.critical_high_devices, {sums}
            FROM runs r
            LEFT JOIN rules u USING (period) GROUP BY r.period ORDER BY r.period"""
        with self._transaction("list runs") as conn:
            runs = _frame_of(conn.execute(query))
        return runs.assign(posture_pct=_posture(runs))

    def show(self, period: str) -> dict[str, Any]:
        """Everything recorded about one period: metadata, inputs, counts per rule, totals.

        Raises:
            ConfigError: `period` is not recorded (the message lists the periods that are).
        """
        with self._transaction(f"show {period}") as conn:
            _require_periods(conn, self.path, period)
            cursor = conn.execute("SELECT * FROM runs WHERE period = ?", (period,))
            row = cursor.fetchone()
            run = dict(zip([d[0] for d in cursor.description], row, strict=True))
            columns = ", ".join(("rule_id", "severity", *STATUS_CODES))
            query = f"SELECT {columns} FROM rules WHERE period = ? ORDER BY rule_no"
            rules = _frame_of(conn.execute(query, (period,)))
        run["inputs"] = json.loads(run["inputs"])
        posture = _posture(pd.DataFrame([run])).iloc[0]
        run["posture_pct"] = None if pd.isna(posture) else float(posture)
        run["rules"] = rules.to_dict("records")
        run["totals"] = {s: int(rules[s].sum()) for s in STATUS_CODES}
        return run

    def prune(self, keep: int) -> int:
        """Delete all but the newest `keep` periods; returns how many periods were deleted."""
        if keep < 1:
            raise ConfigError(f"history prune: keep must be at least 1, got {keep}")
        with self._transaction("prune old runs", write=True) as conn:
            query = "SELECT period FROM runs ORDER BY period DESC LIMIT -1 OFFSET ?"
            old = [period for (period,) in conn.execute(query, (keep,)).fetchall()]
            _delete_periods(conn, old)
        return len(old)

    def _latest_before(self, conn: sqlite3.Connection, previous: str | None) -> _Snapshot | None:
        """The failures of period `previous` (the latest before the run), if there is one."""
        return None if previous is None else _load(conn, previous, self.path, fails_only=True)

    def _prepare(self) -> None:
        """Refuse files that are not ours or too new; create or migrate; switch to WAL."""
        with self._guard("read the database header"):
            # One read transaction: header and tables from the same snapshot, so a writer
            # creating the schema meanwhile is never seen half-done as a foreign database.
            self._conn.execute("BEGIN")
            try:
                app, version = _header(self._conn)
                tables = self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            finally:
                self._conn.execute("COMMIT")
            if app != APPLICATION_ID and (version or tables):
                raise HistoryError(
                    f"{self.path}: not an auditor history database (it holds other tables); "
                    "left untouched: choose another history path"
                )
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    f"{self.path}: written by a newer auditor (schema {version}, this version "
                    f"reads up to {SCHEMA_VERSION}); left untouched: upgrade auditor"
                )
            if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self._conn.execute("PRAGMA journal_mode = WAL")
        if version < SCHEMA_VERSION:
            with self._transaction("create or migrate the schema", write=True) as conn:
                _, version = _header(conn)  # another process may have migrated meanwhile
                for statement in itertools.chain.from_iterable(MIGRATIONS[version:]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self, action: str, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE for writes (waits for other writers), BEGIN for a consistent read."""
        with self._guard(action):
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._conn
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn sqlite3 errors into a HistoryError naming the file and what went wrong."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise HistoryError(
                    f"{self.path}: cannot {action}: another auditor run is writing the history "
                    f"({exc}); try again when it has finished"
                ) from exc
            raise HistoryError(f"{self.path}: cannot {action}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise HistoryError(
                f"{self.path}: cannot {action}: not a readable SQLite history database ({exc}); "
                "left untouched: restore it from a backup or move it aside to start a new history"
            ) from exc


@dataclass(slots=True)
class _Comparison:
    """Failures of two periods as (rule_no, entity_no) pairs in the current period's numbering.

    Entities gone since the previous period are appended to `universe` after the current ones.
    """

    current: _Snapshot
    previous: _Snapshot | None
    universe: pd.DataFrame
    rank: np.ndarray  # each universe entity's position when sorted by type, then id
    severity_before: np.ndarray  # per current rule_no
    fails: np.ndarray
    was: np.ndarray  # previous failures of rules evaluated now
    is_new: np.ndarray  # per row of `fails`
    is_resolved: np.ndarray  # per row of `was`
    now: np.ndarray  # status now of each row of `was`; retired when the entity is gone
    first_seen: np.ndarray  # per row of `fails`

    def changes(self, trend: pd.DataFrame) -> Changes:
        """The Changes record of this comparison."""
        first = pd.Series(self.first_seen, dtype="string")
        months = (_month_number(self.current.period) - _month_number(first) + 1).astype("Int64")
        has_previous = self.previous is not None
        is_new, is_persisting = self.is_new & has_previous, ~self.is_new & has_previous
        severity_now = self.current.rules["severity"].to_numpy(dtype=object)
        rank = self.rank
        parts = {
            "previous_fail": self.was,
            "current_fail": self.fails,
            "new": self.fails[is_new],
            "resolved": self.was[self.is_resolved],
            "persisting": self.fails[is_persisting],
        }
        per_rule = pd.DataFrame({"rule_id": self.current.rules["rule_id"].astype("string")})
        for column, pairs in parts.items():  # all 0 but current_fail without a previous period
            counts = np.bincount(pairs[:, 0], minlength=len(per_rule))
            per_rule[column] = pd.array(counts, dtype="Int64")
        return Changes(
            current_period=self.current.period,
            previous_period=self.previous.period if self.previous else None,
            first_seen=self._frame(self.fails, rank, first_seen=first, months_failing=months),
            new=self._frame(parts["new"], rank, severity_now),
            resolved=self._frame(parts["resolved"], rank, self.severity_before,
                                 now=pd.Series(self.now[self.is_resolved], dtype="string")),
            persisting=self._frame(parts["persisting"], rank, severity_now,
                                   months_failing=months[is_persisting]),
            per_rule=per_rule,
            trend=trend,
        )  # fmt: skip

    def _frame(
        self,
        pairs: np.ndarray,
        rank: np.ndarray,
        severity: np.ndarray | None = None,
        **extra: pd.Series,
    ) -> pd.DataFrame:
        """Described pairs sorted by rule id, entity type and id (by rank: no string sort)."""
        order = np.lexsort((rank[pairs[:, 1]], pairs[:, 0]))  # rule_no order is rule id order
        pairs = pairs[order]
        entities = self.universe.iloc[pairs[:, 1]].reset_index(drop=True)
        frame = pd.DataFrame({
            "rule_id": self.current.rules["rule_id"].to_numpy(dtype=object)[pairs[:, 0]],
            "entity_type": entities["entity_type"],
            "entity_id": entities["entity_id"],
        }).astype("string")  # fmt: skip
        if severity is not None:
            frame["severity"] = pd.array(severity[pairs[:, 0]], dtype="string")
            frame["device_name"] = entities["name"]
            frame["serial_number"] = entities["serial_number"]
        for name, values in extra.items():
            frame[name] = values.reset_index(drop=True).iloc[order].reset_index(drop=True)
        return frame


def _compare(current: _Snapshot, previous: _Snapshot | None) -> _Comparison:
    """Match failures by (rule id, entity type, entity id) across two periods."""
    results = current.results
    fails = results.loc[results["status"] == _FAIL, ["rule_no", "entity_no"]].to_numpy(np.int64)
    if previous is None:
        return _Comparison(
            current, None, current.entities, _rank(current.keys),
            current.rules["severity"].to_numpy(dtype=object),
            fails, np.empty((0, 2), np.int64), np.ones(len(fails), bool), np.zeros(0, bool),
            np.empty(0, object), np.full(len(fails), current.period, dtype=object),
        )  # fmt: skip
    entity_map = current.keys.get_indexer(previous.keys)
    retired = entity_map < 0
    entity_map[retired] = len(current.entities) + np.arange(int(retired.sum()))
    universe = pd.concat([current.entities, previous.entities[retired]], ignore_index=True)
    rank = _rank(current.keys.append(previous.keys[retired]))
    rule_map = pd.Index(current.rules["rule_id"]).get_indexer(previous.rules["rule_id"])
    severity_before = np.full(len(current.rules), None, dtype=object)
    severity_before[rule_map[rule_map >= 0]] = previous.rules["severity"].to_numpy()[rule_map >= 0]
    before = previous.results[previous.results["status"] == _FAIL]
    rule_now = rule_map[before["rule_no"].to_numpy()]
    kept = rule_now >= 0
    was = np.column_stack([rule_now[kept], entity_map[before["entity_no"].to_numpy()[kept]]])
    width = len(universe) + 1
    was_keys = pd.Index(was[:, 0] * width + was[:, 1])
    fail_keys = pd.Index(fails[:, 0] * width + fails[:, 1])
    matched = was_keys.get_indexer(fail_keys)
    streak = before["first_seen"].fillna(previous.period).to_numpy(dtype=object)[kept]
    streak = np.concatenate([streak, np.array([current.period], dtype=object)])
    stored = pd.Index(results["rule_no"].to_numpy() * width + results["entity_no"].to_numpy())
    position = stored.get_indexer(was_keys)
    codes = np.append(results["status"].to_numpy(), 0)[position]  # not stored: a pass
    now = np.array(STATUS_CODES, dtype=object)[codes]
    now[(position < 0) & (was[:, 1] >= len(current.entities))] = "retired"
    return _Comparison(
        current, previous, universe, rank, severity_before, fails, was, matched < 0,
        ~was_keys.isin(fail_keys), now, streak[matched],
    )  # fmt: skip


def _snapshot(
    results: pd.DataFrame, frames: Mapping[str, pd.DataFrame], meta: RunMeta
) -> _Snapshot:
    """The stored form of an in-memory run, built column-wise (no per-row Python)."""
    entities, offsets, keys = _entities(frames)
    rule_ids = _labels(results["rule_id"])
    rule = _codes(results["rule_id"], rule_ids)
    status = _codes(results["status"], STATUS_CODES)
    severity = _codes(results["severity"], _SEVERITIES)
    kind = _codes(results["entity_type"], [e.value for e in Entity])
    if any((codes < 0).any() for codes in (status, severity, kind, offsets[kind])):
        raise ValueError("results hold a status, severity or entity type history cannot store")
    width = len(STATUS_CODES)
    counts = np.bincount(rule * width + status, minlength=len(rule_ids) * width)
    rules = pd.DataFrame(counts.reshape(-1, width), columns=list(STATUS_CODES))
    severity_of_rule = np.zeros(len(rule_ids), dtype=np.int64)
    severity_of_rule[rule] = severity
    rules.insert(0, "rule_id", rule_ids)
    rules.insert(1, "severity", _SEVERITIES[severity_of_rule])
    kept = np.flatnonzero(status > 0)
    entity_no = offsets[kind[kept]] + results["row"].to_numpy(dtype=np.int64)[kept]
    order = np.lexsort((entity_no, rule[kept]))
    kept, entity_no = kept[order], entity_no[order]
    waivers = results["waiver_id"].to_numpy(dtype=object)[kept] if "waiver_id" in results else None
    stored = pd.DataFrame({
        "rule_no": rule[kept],
        "entity_no": entity_no,
        "status": status[kept],
        "first_seen": pd.Series(None, index=range(len(kept)), dtype=object),
        "waiver_id": pd.Series(waivers, index=range(len(kept)), dtype=object),
    })  # fmt: skip
    is_device = entities["entity_type"].to_numpy(dtype=object) == Entity.DEVICE.value
    failing = entity_no[status[kept] == _FAIL]
    per_device = np.bincount(failing[is_device[failing]], minlength=len(entities))
    serious = failing[np.isin(_SEVERITIES[severity[kept]][status[kept] == _FAIL], _SERIOUS)]
    per_device_serious = np.bincount(serious[is_device[serious]], minlength=len(entities))
    return _Snapshot(meta.period, meta.as_of.isoformat(), rules, entities, stored,
                     int(is_device.sum()), int(np.count_nonzero(per_device)),
                     int(np.count_nonzero(per_device_serious)), keys)  # fmt: skip


def _entities(frames: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, np.ndarray, pd.Index]:
    """Every entity the frames hold, the row where each entity type starts (-1: absent), keys."""
    offsets = np.full(len(Entity), -1, dtype=np.int64)
    parts, start = [], 0
    for i, entity in enumerate(Entity):
        frame = frames.get(entity.dataset)
        if frame is None:
            continue
        offsets[i], start = start, start + len(frame)
        parts.append(pd.DataFrame({
            "entity_type": pd.Series(entity.value, index=frame.index, dtype="string"),
            "entity_id": _column(frame, entity.id_column).fillna(""),  # still a key when NA
            "serial_number": _column(frame, "serial_number" if entity == Entity.DEVICE else ""),
            "name": _column(frame, _NAMES.get(entity, entity.id_column)),
        }))  # fmt: skip
    if not parts:
        parts.append(pd.DataFrame({c: pd.Series(dtype="string") for c in _ENTITIES}))
    entities = pd.concat(parts, ignore_index=True)
    keys = _entity_keys(entities)
    if not keys.is_unique:
        raise ValueError("entity ids must be unique within a run to be tracked over time")
    return entities, offsets, keys


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame[name].astype("string")


def _entity_keys(entities: pd.DataFrame) -> pd.Index:
    """`type<US>id` per entity: one hashable key (US sorts before any printable character)."""
    kinds = entities["entity_type"].to_numpy(dtype=object)
    keys: np.ndarray = kinds + "\x1f" + entities["entity_id"].to_numpy(dtype=object)
    index: pd.Index = pd.Index(keys, dtype=object)
    return index


def _rank(keys: pd.Index) -> np.ndarray:
    """Each key's position in sorted order."""
    order = np.argsort(keys.to_numpy(), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _labels(values: pd.Series) -> list[str]:
    """The distinct values present, sorted."""
    return sorted(str(v) for v in pd.unique(values) if not pd.isna(v))


def _codes(values: pd.Series, labels: Sequence[str] | np.ndarray) -> np.ndarray:
    """Position of each value in `labels` (-1 when absent), through categorical codes: fast."""
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    lookup = pd.Index(labels).get_indexer(cat.cat.categories.astype(str))
    return np.append(lookup, -1)[cat.cat.codes.to_numpy()]


def _load(conn: sqlite3.Connection, period: str, where: Path, *, fails_only: bool) -> _Snapshot:
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
    query = f"SELECT {', '.join(_ENTITIES)} FROM entities WHERE period = ? ORDER BY entity_no"
    entities = pd.DataFrame(conn.execute(query, (period,)).fetchall(), columns=list(_ENTITIES))
    where_status = f" AND status = {_FAIL}" if fails_only else ""
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
    keys = _entity_keys(entities)
    return _Snapshot(period, run[0], rules, entities, results, run[1], run[2], run[3], keys)


def _basis(conn: sqlite3.Connection, period: str) -> tuple[str | None, int]:
    """The period a run of `period` is compared with, and the file's version.

    `PRAGMA data_version` changes when another connection commits, so an unchanged basis
    means the comparison still holds.
    """
    query = "SELECT max(period) FROM runs WHERE period < ?"
    previous = conn.execute(query, (period,)).fetchone()[0]
    return previous, int(conn.execute("PRAGMA data_version").fetchone()[0])


def _require_periods(conn: sqlite3.Connection, where: Path, *periods: str) -> None:
    """A ConfigError (a user error, not a broken database) for a period never recorded."""
    recorded = [period for (period,) in conn.execute("SELECT period FROM runs ORDER BY period")]
    for period in periods:
        if period not in recorded:
            listed = ", ".join(recorded) or "none yet"
            raise ConfigError(f"no recorded period {period} in {where} (recorded: {listed})")


def _insert_results(conn: sqlite3.Connection, period: str, results: pd.DataFrame) -> None:
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


def _frame_of(cursor: sqlite3.Cursor) -> pd.DataFrame:
    """A query's rows as a frame (pandas.read_sql would hide sqlite3's errors from _guard)."""
    return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])


def _header(conn: sqlite3.Connection) -> tuple[int, int]:
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    return int(app), int(conn.execute("PRAGMA user_version").fetchone()[0])


def _rows(period: str, frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """(period, row number, *columns) tuples for executemany, built column-wise (NA → None)."""
    columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame]
    return zip(itertools.repeat(period), itertools.count(), *columns)


def _delete_periods(conn: sqlite3.Connection, periods: Sequence[str]) -> None:
    for table, period in itertools.product(("results", "entities", "rules", "runs"), periods):
        conn.execute(f"DELETE FROM {table} WHERE period = ?", (period,))


def _month_number(periods: str | pd.Series) -> Any:
    """YYYY-MM as a count of months (a str, or a Series one distinct value at a time)."""
    if isinstance(periods, str):
        return int(periods[:4]) * 12 + int(periods[5:7])
    codes, distinct = pd.factorize(periods)
    months = np.array([_month_number(str(p)) for p in distinct] + [0], dtype=np.int64)
    return pd.Series(months[codes], index=periods.index)


def _trend(conn: sqlite3.Connection, current: _Snapshot) -> pd.DataFrame:
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
    trend.insert(4, "posture_pct", _posture(trend))
    return trend.drop(columns="critical_high_devices")  # the columns Changes.trend documents


def _posture(frame: pd.DataFrame) -> pd.Series:
    """`posture.posture_pct` of each row's `devices` and `critical_high_devices` (NA: no Macs)."""
    values = [
        posture_pct(int(devices), int(serious))
        for devices, serious in zip(frame["devices"], frame["critical_high_devices"], strict=True)
    ]
    return pd.Series(pd.array(values, dtype="Float64"), index=frame.index)


def format_runs(runs: pd.DataFrame) -> str:
    """`history list` as a plain-text table, one line per recorded period, and a legend."""
    if runs.empty:
        return "no runs recorded"
    lines = [f"{'period':<8} {'as of':<10} {'Macs':>6} {'failing':>8} {'crit/high':>9} "
             f"{'posture':>8} {'fail':>7} {'waived':>7} {'unknown':>7}  tool"]  # fmt: skip
    for run in runs.to_dict("records"):
        posture = "-" if pd.isna(run["posture_pct"]) else f"{run['posture_pct']:.1f}%"
        lines.append(
            f"{run['period']:<8} {run['as_of']:<10} {run['devices']:>6} "
            f"{run['failing_devices']:>8} {run['critical_high_devices']:>9} {posture:>8} "
            f"{run['fail']:>7} {run['waived']:>7} {run['unknown']:>7}  {run['tool_version']}"
        )
    lines.append(
        "failing: Macs with any failing result; crit/high: Macs with a failing critical or high "
        "result; posture: Macs without one (the report's headline); waived is not failing"
    )
    return "\n".join(lines)


def format_changes(changes: Changes, *, limit: int = 20) -> str:
    """`history diff` as text: a summary line, counts per rule, then up to `limit` rows each."""
    if changes.previous_period is None:
        return f"{changes.current_period}: first recorded period, nothing to compare"
    now = changes.resolved["now"].value_counts().sort_index()
    how = ", ".join(f"{count} {status}" for status, count in now.items())
    lines = [
        f"{changes.current_period} vs {changes.previous_period}: {len(changes.new)} new, "
        f"{len(changes.resolved)} resolved{f' ({how})' if how else ''}, "
        f"{len(changes.persisting)} still failing"
    ]
    moved = changes.per_rule[(changes.per_rule["new"] + changes.per_rule["resolved"]) > 0]
    lines += [f"  {r['rule_id']}: {r['previous_fail']} -> {r['current_fail']} failing "
              f"({r['new']} new, {r['resolved']} resolved)"
              for r in moved.to_dict("records")]  # fmt: skip
    for title, frame in (("new", changes.new), ("resolved", changes.resolved)):
        for row in frame.head(limit).to_dict("records"):
            name = row["entity_id"] if pd.isna(row["device_name"]) else row["device_name"]
            name = "".join(c if c.isprintable() else "?" for c in str(name))  # no escape codes
            extra = f" (now {row['now']})" if title == "resolved" else ""
            lines.append(f"  {title:<8} {row['rule_id']} {row['entity_type']} {name}{extra}")
        if len(frame) > limit:
            lines.append(f"  … and {len(frame) - limit} more {title}")
    return "\n".join(lines)
