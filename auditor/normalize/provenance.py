"""What a record could have carried: a single GET's `$select`, whether a profile name was sent.

A value the source could not have carried is missing, never a default taken as fact. A GET
by id carries `bootstrapTokenEscrowed` and `hardwareInformation` as values only when its
`$select` named them (microsoft-graph-docs-contrib#8667, beta `managedDevice` page); its
`@odata.context` says which were selected:
`…/$metadata#deviceManagement/managedDevices(id,bootstrapTokenEscrowed)/$entity` versus
`…/$metadata#deviceManagement/managedDevices/$entity` (none). A record saved without its
context counts as selected when it is not the whole entity (a GET without `$select` returns
every member, `deviceName` and `operatingSystem` among them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from auditor.models import BatchKind
from auditor.normalize.columns import SELECTED_ONLY
from auditor.normalize.values import factorize

Mask = npt.NDArray[np.bool_]

_SELECT = re.compile(r"managedDevices\(([^)]*)\)/\$entity", re.IGNORECASE)
_ENTITY = re.compile(r"managedDevices(?:\([^)]*\))?/\$entity", re.IGNORECASE)


def selected_members(
    kind: BatchKind, context: pd.Series, is_whole_entity: Mask
) -> Mapping[str, Mask]:
    """Per member of `SELECTED_ONLY`, the rows whose record really carried it.

    Args:
        kind: the batch kind (only single GETs carry these members at all).
        context: each record's `@odata.context` (NA when it was not saved).
        is_whole_entity: rows that hold the whole entity (a GET without `$select`).
    """
    if kind != BatchKind.GRAPH_DEVICE_DETAILS:
        return {member: np.zeros(len(context), dtype=bool) for member in SELECTED_ONLY}
    no_context = context.isna().to_numpy(dtype=bool)
    return {
        member: context_selects(context, member) | (no_context & ~is_whole_entity)
        for member in SELECTED_ONLY
    }


def profile_carried(
    kind: BatchKind, context: pd.Series, is_whole_entity: Mask, has_value: Mask
) -> Mask:
    """Rows whose record carried `enrollmentProfileName` (an empty one means no profile).

    A Graph list never does (null for every device); a GET by id does, unless its
    `$select` left the member out; a context-less partial record only when it has a value.
    Callers handle the other kinds (an export carries it when it has the column).
    """
    if kind == BatchKind.GRAPH_DEVICES:
        return np.zeros(len(context), dtype=bool)
    no_context = context.isna().to_numpy(dtype=bool)
    return (
        context_selects(context, "enrollmentProfileName")
        | is_unselected_entity(context)
        | (no_context & (is_whole_entity | has_value))
    )


def context_selects(context: pd.Series, member: str) -> Mask:
    """Rows whose `@odata.context` is a single GET whose `$select` names `member`."""
    codes, contexts = factorize(context)
    named = [_names(str(c), member) for c in contexts]
    table = np.array([*named, False], dtype=bool)
    return table.take(np.where(codes < 0, len(named), codes))


def _names(context: str, member: str) -> bool:
    match = _SELECT.search(context)
    if match is None:
        return False  # `…/$entity` without a selection, or not a single GET's context
    return member.casefold() in {m.strip().casefold() for m in match[1].split(",")}


def is_unselected_entity(context: pd.Series) -> Mask:
    """Rows whose context is a single GET's `…/$entity` without any `$select`."""
    codes, contexts = factorize(context)
    plain = [bool(_ENTITY.search(str(c))) and _SELECT.search(str(c)) is None for c in contexts]
    table = np.array([*plain, False], dtype=bool)
    return table.take(np.where(codes < 0, len(plain), codes))
