"""The expiry horizon of a tenant: the nearest of its APNs certificate, ADE and VPP tokens.

Read from findings.json's `tenant` block; a part that `run.gaps` lists was not collected, so
its dates (if any) are not believed and it is named instead: "not collected", never "no expiry".
"""

from __future__ import annotations

import datetime as dt

from auditor.notify.message import Expiry
from auditor.portfolio.collect import Audited

# findings.json tenant-block key, run.gaps part and what a reader calls it
EXPIRY_PARTS = (
    ("apns_certificate", "apns", "APNs certificate"),
    ("ade_tokens", "ade_tokens", "ADE tokens"),
    ("vpp_tokens", "vpp_tokens", "VPP tokens"),
)


def expiry_horizon(
    audit: Audited, as_of: dt.date
) -> tuple[str, Expiry | None, tuple[str, ...], str]:
    """(state, nearest, parts not collected, text) of the tenant's APNs/ADE/VPP expiry horizon.

    state: `found` (nearest is set; parts not collected are still named), `not_collected`
    (no date, and a part holding them was a gap or the file has no tenant block) or `none`
    (all three collected, none carries a date). Days are counted to `as_of`.
    """
    gaps = {g.get("part") for g in audit.run.get("gaps") or [] if isinstance(g, dict)}
    block = audit.tenant
    missing = tuple(w for key, part, w in EXPIRY_PARTS if block is None or part in gaps)
    found: list[Expiry] = []
    if block is not None:
        apns = block.get("apns_certificate")
        if "apns" not in gaps and isinstance(apns, dict) and apns.get("expires_at"):
            found.append(_item("APNs certificate", apns["expires_at"], as_of))
        for key, part, label in EXPIRY_PARTS[1:]:
            tokens = [] if part in gaps else block.get(key) or []
            found += [
                _item(
                    f"{label[:-1]} '{t.get('name') or t.get('token_id')}'", t["expires_at"], as_of
                )
                for t in tokens
                if isinstance(t, dict) and t.get("expires_at")
            ]
    unseen = f"not collected: {', '.join(missing)}" if missing else ""
    if found:
        nearest = min(found, key=lambda e: (e.expires_on, e.what))
        return "found", nearest, missing, "; ".join(filter(None, (nearest.phrase, unseen)))
    if missing:
        return "not_collected", None, missing, unseen
    return "none", None, missing, "no APNs certificate, ADE or VPP token expiry reported"


def _item(what: str, expires_at: str, as_of: dt.date) -> Expiry:
    day = dt.date.fromisoformat(str(expires_at)[:10])
    return Expiry(what, day, (day - as_of).days)
