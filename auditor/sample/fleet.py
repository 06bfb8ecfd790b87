"""Draw a fleet's facts column by column (numpy), before any Graph formatting."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from auditor.sample.catalog import FIRST_NAMES, LAST_NAMES, MAJORS, MODELS, RELEASES, ascii_fold

Array = npt.NDArray[Any]

# Enrollment methods of the plan, and what Intune records for each.
METHODS = ("ade", "ade_userless", "byod", "corporate_byod", "dem", "direct")
ENROLLMENT_TYPE = (
    "appleBulkWithUser",
    "appleBulkWithoutUser",
    "userEnrollment",
    "userEnrollment",
    "deviceEnrollmentManager",
    "appleBulkWithoutUser",
)
HAS_USER = np.array([True, False, True, True, False, False])
ADE, ADE_USERLESS, BYOD, CORPORATE_BYOD, DEM, DIRECT = range(6)
METHOD_SHARE = (0.82, 0.04, 0.09, 0.02, 0.015, 0.015)

COMPLIANCE = ("compliant", "noncompliant", "inGracePeriod", "error", "conflict", "unknown")
DAY = 86_400
BYOD_APPROVAL_CUTOFF = dt.date(2020, 6, 1)  # BYOD enrolled before June 2020 may lack approval


@dataclass(frozen=True, slots=True)
class Profile:
    """An ADE enrollment profile of one token."""

    name: str
    token: int  # index into the tenant's token list
    with_user: bool
    share: float  # share of the ADE-with-user fleet enrolled through it
    enrolled_before: dt.date | None = None  # token stopped working after this date


def epoch(day: dt.date) -> int:
    """Seconds since 1970 at midnight UTC of `day`."""
    return (day - dt.date(1970, 1, 1)).days * DAY


def _choice(rng: np.random.Generator, n: int, weights: Array) -> Array:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def users(n_users: int, rng: np.random.Generator) -> pd.DataFrame:
    """A user directory: first, last, display name, UPN (unique), user id order preserved."""
    nf, nl = len(FIRST_NAMES), len(LAST_NAMES)
    combo = rng.permutation(max(n_users, nf * nl))[:n_users]
    first = np.array(FIRST_NAMES, dtype=object)[combo % nf]
    last = np.array(LAST_NAMES, dtype=object)[(combo // nf) % nl]
    suffix = combo // (nf * nl)
    first_ascii = {name: ascii_fold(name) for name in FIRST_NAMES}
    last_ascii = {name: ascii_fold(name) for name in LAST_NAMES}
    upn = [
        f"{first_ascii[f].lower()}.{last_ascii[la].lower()}{k or ''}@contoso.com"
        for f, la, k in zip(first, last, suffix.tolist(), strict=True)
    ]
    alias = [
        f"{first_ascii[f][0]}{last_ascii[la]}".upper() for f, la in zip(first, last, strict=True)
    ]
    return pd.DataFrame(
        {
            "first": first,
            "last": last,
            "display": [f"{f} {la}" for f, la in zip(first, last, strict=True)],
            "upn": upn,
            "alias": alias,
        }
    )


def draw_plan(
    rng: np.random.Generator,
    n: int,
    as_of: dt.date,
    profiles: tuple[Profile, ...],
    n_dem_accounts: int,
) -> pd.DataFrame:
    """Facts for `n` Macs: model, release, method, ownership, flags and times (one row each)."""
    method = _choice(rng, n, np.array(METHOD_SHARE))
    model = _choice(rng, n, np.array([m.weight for m in MODELS]))
    release = _choice(rng, n, np.array([r.weight for r in RELEASES]))
    # a Mac runs a major between the one it shipped with and the newest it supports
    rank = np.array([r.rank for r in RELEASES])[release]
    max_rank = np.array([m.max_rank for m in MODELS])[model]
    min_rank = np.array([m.min_rank for m in MODELS])[model]
    newest_of_rank = {r.rank: i for i, r in reversed(list(enumerate(RELEASES))) if r.weight}
    capped = np.array([newest_of_rank.get(k, 0) for k in range(len(MAJORS))])
    release = np.where(rank > max_rank, capped[max_rank], release)
    release = np.where(rank < min_rank, 0, release)

    user_profiles = [i for i, p in enumerate(profiles) if p.with_user]
    userless_profiles = [i for i, p in enumerate(profiles) if not p.with_user]
    profile = np.array(user_profiles)[
        _choice(rng, n, np.array([profiles[i].share for i in user_profiles]))
    ]
    profile = np.where(method == ADE_USERLESS, userless_profiles[0], profile)
    profile = np.where((method == ADE) | (method == ADE_USERLESS), profile, -1)

    dem_weights = rng.uniform(0.5, 1.45, n_dem_accounts)
    dem = np.where(method == DEM, _choice(rng, n, dem_weights), -1)

    # enrolled some time after the model shipped; legacy-token Macs before that token lapsed
    released = np.array([epoch(m.released) for m in MODELS])[model] + 14 * DAY
    upper = np.full(n, epoch(as_of) - DAY, dtype=np.int64)
    cutoffs = np.array(
        [epoch(p.enrolled_before) if p.enrolled_before else upper[0] for p in profiles]
    )
    upper = np.where(profile >= 0, np.minimum(upper, cutoffs[np.maximum(profile, 0)]), upper)
    lower = np.minimum(np.maximum(released, epoch(dt.date(2019, 1, 7))), upper - 30 * DAY)
    enrolled = lower + (rng.random(n) * (upper - lower)).astype(np.int64)

    # most Macs check in every 8 hours; a tail stopped checking in
    tail = _choice(rng, n, np.array([95.5, 2.5, 1.3, 0.7]))
    gap_days = np.select(
        [tail == 0, tail == 1, tail == 2],
        [rng.exponential(0.3, n), rng.uniform(3, 30, n), rng.uniform(31, 89, n)],
        rng.uniform(91, 400, n),
    )
    synced = np.maximum(epoch(as_of) - (gap_days * DAY).astype(np.int64), enrolled + 3_600)

    personal = method == BYOD
    pre_cutoff = enrolled < epoch(BYOD_APPROVAL_CUTOFF)
    approved = ~(personal & pre_cutoff & (rng.random(n) < 0.5))
    supervised = (method != BYOD) | approved
    is_ade = (method == ADE) | (method == ADE_USERLESS)
    escrowed = np.where(is_ade, rng.random(n) < 0.96, supervised & (rng.random(n) < 0.85))
    encrypted = rng.random(n) < 0.985

    stale = (epoch(as_of) - synced) > 30 * DAY
    drift = _choice(rng, n, np.array([97.6, 1.5, 0.7, 0.1, 0.1]))
    compliance = np.where(stale | ~encrypted, 1, drift)
    compliance = np.where(HAS_USER[method], compliance, COMPLIANCE.index("unknown"))

    # one user per Mac with affinity; a few people have a second Mac
    user = np.arange(n)
    second = rng.random(n) < 0.04
    user = np.where(second, rng.integers(0, n, n), user)
    user = np.where(HAS_USER[method], user, -1)

    return pd.DataFrame(
        {
            "user": user,
            "method": method,
            "model": model,
            "release": release,
            "profile": profile,
            "dem": dem,
            "personal": personal,
            "approved": approved,
            "supervised": supervised,
            "escrowed": escrowed,
            "encrypted": encrypted,
            "compliance": compliance,
            "enrolled": enrolled,
            "synced": synced,
            "marketing_model": rng.random(n) < 0.01,
            "registered": HAS_USER[method] & (rng.random(n) < 0.97),
        }
    )
