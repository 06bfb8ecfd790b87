"""Who owns each Mac: its role scope tags by name, its primary user's Entra department and manager.

Scope tag ids come from the Mac's `roleScopeTagIds` (Graph beta, per-device details); their
names from `deviceManagement/roleScopeTags` when an input carries it (else the id is shown as
`tag <id>`). Department, manager and office come from the primary users as Entra has them
(`entra_users`), joined on the UPN. `owner_in_entra` says whether the lookup found the user:
NA when no lookup covered the Mac (not done, denied, cut short) — never a guess.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from auditor.models import BatchKind, Problem, QualityNote, RawBatch, SourceGap
from auditor.normalize.tenant import _column, _records

_EXAMPLES = 5


def tag_id_text(raw: pd.Series) -> pd.Series:
    """`roleScopeTagIds` (a JSON list, or its text in a CSV cell) as `id, id` text, else NA."""

    def one(value: object) -> str | None:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    return text or None
            else:
                value = [part for part in text.replace(";", ",").split(",")]
        if isinstance(value, (list, tuple)):
            ids = [str(v).strip() for v in value if v is not None and str(v).strip()]
            return ", ".join(ids) or None
        return None

    try:  # each distinct value once (a few tag lists over 500k Macs), then spread by code
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    except TypeError:  # lists (unhashable): value by value
        values = [one(v) for v in raw.to_numpy(dtype=object)]
        return pd.Series(pd.array(values, dtype="string"), index=raw.index)
    texts = pd.array([one(v) for v in np.asarray(uniques, dtype=object)], dtype="string")
    return pd.Series(texts.take(codes, allow_fill=True), index=raw.index)  # code -1: NA


def add_owners(
    devices: pd.DataFrame,
    batches: Sequence[RawBatch],
    gaps: Sequence[SourceGap],
    notes: list[QualityNote],
) -> pd.DataFrame:
    """`devices` with their scope tag names and their primary user's Entra facts.

    Adds `scope_tags`, `owner_department`, `owner_manager`, `owner_office` and
    `owner_in_entra`; appends a note naming the Macs whose primary user Entra does not have.
    """
    devices = devices.assign(scope_tags=_tag_names(devices["scope_tag_ids"], batches))
    users = _records(batches, BatchKind.ENTRA_USERS)
    if not any(b.kind == BatchKind.ENTRA_USERS for b in batches):
        return devices.assign(owner_in_entra=pd.Series(pd.NA, index=devices.index, dtype="boolean"))
    upn = _column(users, "userPrincipalName").str.casefold()
    manager = _column(users, "manager.displayName").fillna(
        _column(users, "manager.userPrincipalName")
    )
    people = pd.DataFrame(
        {
            "owner_department": _column(users, "department").to_numpy(),
            "owner_manager": manager.to_numpy(),
            "owner_office": _column(users, "officeLocation").to_numpy(),
        },
        index=pd.Index(upn.to_numpy(), dtype="string"),
    )
    people = people[people.index.notna() & ~people.index.duplicated()]
    key = devices["upn"].str.casefold()
    found = key.isin(people.index).astype("boolean")
    looked_up_whole = BatchKind.ENTRA_USERS not in {g.part for g in gaps}
    found = found.mask(key.isna() | ~(found | looked_up_whole))  # not looked up: NA
    joined = people.reindex(key.to_numpy())
    devices = devices.assign(
        **{c: pd.array(joined[c].to_numpy(), dtype="string") for c in people.columns},
        owner_in_entra=found.to_numpy(),
    )
    gone = devices.loc[(~found.fillna(True)).to_numpy(dtype=bool), "upn"]
    if len(gone):
        notes.append(
            QualityNote(
                "upn",
                Problem.OWNER_NOT_IN_ENTRA,
                len(gone),
                tuple(sorted(gone.dropna().unique())[:_EXAMPLES]),
                "entra_users",
            )
        )
    return devices


def _tag_names(ids: pd.Series, batches: Sequence[RawBatch]) -> pd.Series:
    """Each Mac's scope tags by display name, `; `-separated; an unnamed id as `tag <id>`."""
    tags = _records(batches, BatchKind.ROLE_SCOPE_TAGS)
    names = dict(
        zip(
            _column(tags, "id").fillna("").to_numpy(),
            _column(tags, "displayName").to_numpy(),
            strict=True,
        )
    )

    def named(text: object) -> str | None:
        if not isinstance(text, str):
            return None
        return "; ".join(
            str(names[i]) if isinstance(names.get(i), str) else f"tag {i}" for i in text.split(", ")
        )

    return pd.Series(
        pd.array([named(v) for v in ids.to_numpy(dtype=object)], dtype="string"),
        index=ids.index,
    )
