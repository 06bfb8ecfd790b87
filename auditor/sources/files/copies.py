"""One column under several names, and the columns a file has that normalization does not read.

A source column may arrive under two spellings (`DeviceId` and `Device ID`) or twice under one
name; the copies are merged when they agree and refused when they do not. Columns no spelling
maps are listed once per file in the data-quality notes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from auditor.errors import SourceError
from auditor.models import BatchKind, QualityNote
from auditor.normalize.columns import spelling_key
from auditor.normalize.text import quoted
from auditor.normalize.values import text_column

_LISTED = 40


def unmapped_note(name: str, columns: Sequence[str]) -> QualityNote | None:
    """One note per file listing the columns normalization does not read, or None."""
    if not columns:
        return None
    shown = ", ".join(map(quoted, columns[:_LISTED])) + (
        f" and {len(columns) - _LISTED} more" if len(columns) > _LISTED else ""
    )
    return QualityNote(
        "inputs", "unmapped_columns", len(columns), (f"columns not used: {shown}",), name
    )


def merge_copies(
    frame: pd.DataFrame,
    kind: BatchKind,
    name: str,
    header_of: Callable[[str], str] = str,
    label: Callable[[str], str] = lambda column: f"'{column}'",
) -> pd.DataFrame:
    """One column per source column: copies under several spellings (or one name twice).

    Copies that agree (case and spaces aside) give the filled value per row; copies that
    disagree are refused, naming both columns and the first record where they differ.
    """
    groups: dict[str, list[str]] = {}
    for column in frame.columns:
        header = header_of(column)
        groups.setdefault(spelling_key(kind, header) or header, []).append(column)
    if all(len(columns) == 1 for columns in groups.values()):
        return frame.rename(columns={c: header_of(c) for c in frame.columns})
    out: dict[str, pd.Series] = {}
    for columns in groups.values():
        out[header_of(columns[0])] = (
            frame[columns[0]] if len(columns) == 1 else _merged(frame, columns, name, label)
        )
    return pd.DataFrame(out, index=frame.index)


def _merged(
    frame: pd.DataFrame, columns: list[str], name: str, label: Callable[[str], str]
) -> pd.Series:
    values = [text_column(frame[c]) for c in columns]
    result = values[0]
    for column, other in zip(columns[1:], values[1:], strict=True):
        differs = (
            result.notna() & other.notna() & (result.str.casefold() != other.str.casefold())
        ).to_numpy(dtype=bool)
        if differs.any():
            row = int(differs.argmax())
            where = frame["source_record"].iloc[row] if "source_record" in frame else f"{name}"
            raise SourceError(
                f"{where}: {label(columns[0])} and {label(column)} hold the same field but "
                f"disagree ({quoted(result.iloc[row])!r} vs {quoted(other.iloc[row])!r}); "
                "remove one of them"
            )
        result = result.fillna(other)
    return result
