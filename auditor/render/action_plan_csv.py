"""`run --split-by`: the Action plan as one CSV per group, for hand-off to each team.

Each file holds the Action plan rows of one group of the chosen grouping (`SPLITS`; Macs
without an owner, or whose department is unknown, are groups named as such),
with the sheet's columns, text made formula-safe as in findings.csv. File names are
`action-plan-<value>.csv` with the value reduced to letters, digits, `.`, `_` and `-` (never
a path), made unique with a number when two values reduce to the same name.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from auditor.render import report_path
from auditor.render.flat import excel_safe
from auditor.report import ACTION_PLAN_SCHEMA, Report

PREFIX = "action-plan-"
SPLITS = ("group", "category", "owner", "department", "scope_tag")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(value: str) -> str:
    """A group value as a file-name part: safe characters only, never empty or dotted."""
    stem = _UNSAFE.sub("-", value).strip("-.")[:80]
    return stem or "unnamed"


def write_action_plans(report: Report, folder: Path, split_by: str) -> list[Path]:
    """One CSV per group of `split_by` (`SPLITS`: the configured group, or a grouping)."""
    plan = report.action_plan
    if not len(plan.columns):
        return []
    groups = plan["group"] if split_by == "group" else report.action_plan_groups[split_by]
    key = groups.astype("string").fillna("none")
    written: list[Path] = []
    taken: set[str] = set()
    columns = list(ACTION_PLAN_SCHEMA)
    for value, rows in plan.groupby(key, sort=True):
        stem = file_stem(str(value))
        name, number = stem, 2
        while name.casefold() in taken:
            name, number = f"{stem}-{number}", number + 1
        taken.add(name.casefold())
        path = folder / f"{PREFIX}{name}.csv"
        _write(rows[columns], path)
        written.append(path)
    return written


def _write(rows: pd.DataFrame, path: Path) -> None:
    with (
        report_path(path) as temporary,
        temporary.open("w", encoding="utf-8-sig", newline="") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(rows.columns)
        for record in rows.astype(object).where(rows.notna(), None).itertuples(index=False):
            writer.writerow([excel_safe(_text(v)) for v in record])


def _text(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value
