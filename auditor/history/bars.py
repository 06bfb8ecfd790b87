"""The bar each recorded run was judged against: its catalogue (by digest) and rule parameters.

`store_bar` keeps them with the run, `load_bar` reads them back for the next period's change
attribution, and `bar_changes` says what moved between two bars in plain frames (the report
words them). Runs recorded before schema v4 have no bar: `load_bar` returns None.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pandas as pd

from auditor.history.causes import Bar
from auditor.models import Param
from auditor.refdata.catalogue_file import catalogue_from_dict, catalogue_text
from auditor.refdata.changes import ReleaseGroup, catalogue_changes
from auditor.rules.base import Rule
from auditor.rules.display import param_text

CATALOGUE_CHANGE_COLUMNS = ("kind", "versions", "released", "exploited_cves")
PARAM_CHANGE_COLUMNS = ("rule_id", "name", "before", "after")


def current_bar(
    as_of: dt.date,
    catalogue: Any,
    rules: Sequence[Rule],
    configured: Mapping[str, Mapping[str, Param]],
) -> Bar:
    """The bar of a run: every rule's effective parameters (defaults, then configured values)."""
    params = {rule.id: {**rule.params, **configured.get(rule.id, {})} for rule in rules}
    return Bar(as_of, catalogue, params, tuple(rules))


def store_bar(conn: sqlite3.Connection, bar: Bar) -> tuple[str, str]:
    """Keep the bar's catalogue (once per digest); the run's (catalogue_digest, params) values."""
    body = catalogue_text(bar.catalogue)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    conn.execute("INSERT OR IGNORE INTO catalogues VALUES (?, ?)", (digest, body))
    params = orjson.dumps(
        {rule_id: dict(values) for rule_id, values in sorted(bar.params.items())},
        option=orjson.OPT_SORT_KEYS,
    )
    return digest, params.decode("utf-8")


def load_bar(conn: sqlite3.Connection, tenant: str, period: str | None) -> Bar | None:
    """The bar a recorded run was judged against; None before v4 or when unreadable."""
    if period is None:
        return None
    row = conn.execute(
        """SELECT r.as_of, c.body, r.params FROM runs r
        LEFT JOIN catalogues c ON c.digest = r.catalogue_digest
        WHERE r.tenant_id = ? AND r.period = ?""",
        (tenant, period),
    ).fetchone()
    if row is None or row[1] is None or row[2] is None:
        return None
    try:
        catalogue = catalogue_from_dict(orjson.loads(row[1]))
        params = orjson.loads(row[2])
    except (ValueError, orjson.JSONDecodeError):
        return None  # a damaged bar cannot attribute anything: the causes stay undetermined
    if not isinstance(params, dict):
        return None
    return Bar(dt.date.fromisoformat(row[0][:10]), catalogue, params)


def period_dates(conn: sqlite3.Connection, tenant: str) -> dict[str, str]:
    """Each recorded period of the tenant → its as-of date (YYYY-MM-DD)."""
    query = "SELECT period, as_of FROM runs WHERE tenant_id = ?"
    return {period: as_of[:10] for period, as_of in conn.execute(query, (tenant,))}


def bar_changes(before: Bar | None, now: Bar | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the catalogue added and which parameters changed between two bars, as frames."""
    releases: list[tuple[str, str, str | None, str]] = []
    params: list[tuple[str, str, str, str]] = []
    if before is not None and now is not None:
        moved = catalogue_changes(before.catalogue, before.as_of, now.catalogue, now.as_of)
        releases += [_release_row("release", g) for g in moved.releases]
        releases += [_release_row("newly_exploited", g) for g in moved.newly_exploited]
        releases += [("major", label, None, "") for label in moved.majors]
        if moved.intune_minimum:
            releases.append(("intune_minimum", moved.intune_minimum, None, ""))
        for rule_id, values in sorted(now.params.items()):
            old = before.params.get(rule_id)
            if old is None:
                continue
            for name, value in values.items():
                if name in old and param_text(old[name]) != param_text(value):
                    params.append((rule_id, name, param_text(old[name]), param_text(value)))
    return (
        pd.DataFrame(releases, columns=list(CATALOGUE_CHANGE_COLUMNS), dtype="string"),
        pd.DataFrame(params, columns=list(PARAM_CHANGE_COLUMNS), dtype="string"),
    )


def _release_row(kind: str, group: ReleaseGroup) -> tuple[str, str, str | None, str]:
    return (
        kind,
        "/".join(group.versions),
        group.released.isoformat(),
        ", ".join(group.exploited_cves),
    )
