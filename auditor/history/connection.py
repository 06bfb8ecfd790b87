"""The history file's connection: open, refuse what is not ours, migrate, WAL, transactions."""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from auditor.errors import HistoryError
from auditor.history.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from auditor.history.sql import header


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """An autocommit connection to `path`, its schema created or migrated, in WAL mode.

    A file that is not an auditor history, is corrupt, or has a newer schema is refused with a
    HistoryError and left untouched; the connection is closed then.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryError(f"{path}: cannot open the history database: {exc}") from exc
    try:
        _prepare(conn, path, busy_timeout_s)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(
    conn: sqlite3.Connection, path: Path, action: str, *, write: bool = False
) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE for writes (waits for other writers), BEGIN for a consistent read."""
    with guard(path, action):
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.execute("COMMIT")


@contextmanager
def guard(path: Path, action: str) -> Iterator[None]:
    """Turn sqlite3 errors into a HistoryError naming the file and what went wrong."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise HistoryError(
                f"{path}: cannot {action}: another auditor run is writing the history "
                f"({exc}); try again when it has finished"
            ) from exc
        raise HistoryError(f"{path}: cannot {action}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise HistoryError(
            f"{path}: cannot {action}: not a readable SQLite history database ({exc}); "
            "left untouched: restore it from a backup or move it aside to start a new history"
        ) from exc


def _prepare(conn: sqlite3.Connection, path: Path, busy_timeout_s: float) -> None:
    """Refuse files that are not ours or too new; create or migrate; switch to WAL."""
    with guard(path, "read the database header"):
        # One read transaction: header and tables from the same snapshot, so a writer
        # creating the schema meanwhile is never seen half-done as a foreign database.
        conn.execute("BEGIN")
        try:
            app, version = header(conn)
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.execute("COMMIT")
        if app != APPLICATION_ID and (version or tables):
            raise HistoryError(
                f"{path}: not an auditor history database (it holds other tables); "
                "left untouched: choose another history path"
            )
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"{path}: written by a newer auditor (schema {version}, this version "
                f"reads up to {SCHEMA_VERSION}); left untouched: upgrade auditor"
            )
        _use_wal(conn, time.monotonic() + busy_timeout_s)
    if version < SCHEMA_VERSION:
        with transaction(conn, path, "create or migrate the schema", write=True):
            _, version = header(conn)  # another process may have migrated meanwhile
            for statement in itertools.chain.from_iterable(MIGRATIONS[version:]):
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _use_wal(conn: sqlite3.Connection, deadline: float) -> None:
    """Switch the file to WAL, waiting for other connections until `deadline`.

    SQLite takes the exclusive lock this switch needs without calling its busy handler, so
    two first runs opening a new file at once would otherwise fail at once ("locked").
    """
    while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
