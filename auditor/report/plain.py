"""Model values as plain Python: frame cells for records, and the whole model for `to_dict`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd


def scalar(value: Any) -> Any:
    """A frame value as a plain Python value: NA → None, Timestamp → datetime, numpy → int."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def text(value: Any) -> str | None:
    """A frame value as text, or None when missing."""
    value = scalar(value)
    return None if value is None else str(value)


def plain(value: Any) -> Any:
    """A JSON-able copy of a model value (records as dicts, frames as row lists, ISO dates)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, pd.DataFrame):
        return [
            {k: plain(scalar(v)) for k, v in row.items()}
            for row in value.astype(object).to_dict("records")
        ]
    if isinstance(value, pd.Series | np.ndarray):
        return [plain(scalar(v)) for v in value.tolist()]
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return scalar(value)
