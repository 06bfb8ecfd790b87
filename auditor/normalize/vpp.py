"""VPP (Apps and Books) tokens: one row per `vppToken`, or one `(not collected)` row for a gap.

The token string itself (`token`) is a secret and never becomes a column.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from auditor.models import RawBatch, SourceGap
from auditor.normalize.dates import datetime_column
from auditor.normalize.schema import NOT_COLLECTED, VPP_TOKEN_SCHEMA, conform
from auditor.normalize.tenant import _column, _records

VPP_TOKENS = "vpp_tokens"  # the batch kind and the inventory part


def vpp_token_frame(batches: Sequence[RawBatch], gaps: Sequence[SourceGap]) -> pd.DataFrame:
    """The tenant's VPP tokens by name; duplicates by id dropped."""
    records = _records(batches, VPP_TOKENS)
    frame = pd.DataFrame({"vpp_token_id": pd.Series([], dtype="string")})
    if len(records):
        organisation = _column(records, "organizationName")
        location = _column(records, "locationName")
        fallback = organisation.str.cat(location, sep=" – ", na_rep="").str.strip(" –")
        name = _column(records, "displayName")
        frame = pd.DataFrame(
            {
                "vpp_token_id": _column(records, "id"),
                "vpp_token_name": name.mask(name == "").fillna(fallback.mask(fallback == "")),
                "apple_id": _column(records, "appleId"),
                "account_type": _column(records, "vppTokenAccountType"),
                "vpp_expires_at": datetime_column(_column(records, "expirationDateTime")).values,
                "vpp_last_sync_at": datetime_column(_column(records, "lastSyncDateTime")).values,
                "vpp_last_sync_status": _column(records, "lastSyncStatus"),
                "vpp_state": _column(records, "state"),
            }
        )
        frame["vpp_token_id"] = frame["vpp_token_id"].fillna(
            "record " + pd.Series(range(len(frame)), index=frame.index).astype(str)
        )
        frame = frame.drop_duplicates("vpp_token_id").sort_values(
            ["vpp_token_name", "vpp_token_id"], na_position="last"
        )
    if VPP_TOKENS in {g.part for g in gaps}:
        frame = pd.concat([frame, pd.DataFrame({"vpp_token_id": [NOT_COLLECTED]})])
    return conform(frame, VPP_TOKEN_SCHEMA)
