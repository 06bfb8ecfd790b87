"""What the CLI prints besides file paths: plain-text views of `history list` and `history diff`.

Formatting only: the numbers come from `auditor.history`; `cli` prints what these return.
"""

from __future__ import annotations

import pandas as pd

from auditor.models import Changes


def format_runs(runs: pd.DataFrame) -> str:
    """`history list` as plain text: per tenant, one line per recorded period, and a legend."""
    if runs.empty:
        return "no runs recorded"
    lines = []
    for tenant, group in runs.groupby("tenant_id", sort=True):
        lines += [f"tenant {tenant}",
                  f"{'period':<8} {'as of':<10} {'Macs':>6} {'failing':>8} {'crit/high':>9} "
                  f"{'posture':>8} {'fail':>7} {'waived':>7} {'unknown':>7}  tool"]  # fmt: skip
        for run in group.to_dict("records"):
            posture = "-" if pd.isna(run["posture_pct"]) else f"{run['posture_pct']:.1f}%"
            lines.append(
                f"{run['period']:<8} {run['as_of']:<10} {run['devices']:>6} "
                f"{run['failing_devices']:>8} {run['critical_high_devices']:>9} {posture:>8} "
                f"{run['fail']:>7} {run['waived']:>7} {run['unknown']:>7}  {run['tool_version']}"
            )
    lines.append(
        "failing: Macs with any failing result; crit/high: Macs with a failing critical or high "
        "result; posture: Macs without one (the report's headline); waived is not failing"
    )
    return "\n".join(lines)


def format_changes(changes: Changes, *, limit: int = 20) -> str:
    """`history diff` as text: a summary line, counts per rule, then up to `limit` rows each."""
    if changes.previous_period is None:
        return f"{changes.current_period}: first recorded period, nothing to compare"
    resolved = changes.resolved
    kinds = resolved["resolution"] if "resolution" in resolved else resolved["now"]
    how = ", ".join(f"{count} {kind}" for kind, count in kinds.value_counts().sort_index().items())
    lines = [
        f"{changes.current_period} vs {changes.previous_period}: {len(changes.new)} new, "
        f"{len(changes.resolved)} resolved{f' ({how})' if how else ''}, "
        f"{len(changes.persisting)} still failing"
    ]
    lines += _why(changes)
    moved = changes.per_rule[(changes.per_rule["new"] + changes.per_rule["resolved"]) > 0]
    lines += [f"  {r['rule_id']}: {r['previous_fail']} -> {r['current_fail']} failing "
              f"({r['new']} new, {r['resolved']} resolved)"
              for r in moved.to_dict("records")]  # fmt: skip
    for title, frame in (("new", changes.new), ("resolved", changes.resolved)):
        for row in frame.head(limit).to_dict("records"):
            name = row["entity_id"] if pd.isna(row["device_name"]) else row["device_name"]
            name = "".join(c if c.isprintable() else "?" for c in str(name))  # no escape codes
            extra = f" (now {row['now']})" if title == "resolved" else f" ({row.get('cause')})"
            lines.append(f"  {title:<8} {row['rule_id']} {row['entity_type']} {name}{extra}")
        if len(frame) > limit:
            lines.append(f"  … and {len(frame) - limit} more {title}")
    return "\n".join(lines)


_GROUPS = {  # `history.causes.CAUSE_GROUPS`, worded
    "regressed": "the Mac changed", "now_reported": "the Mac changed", "new_mac": "new Mac",
    "catalogue": "the bar moved", "grace_ended": "the bar moved", "parameter": "the bar moved",
    "rule_added": "the bar moved", "waiver_ended": "the bar moved",
}  # fmt: skip


def _why(changes: Changes) -> list[str]:
    """New failures by cause (with distinct Macs), and what moved the bar."""
    new = changes.new
    if not len(new) or "cause" not in new:
        return []
    cause = new["cause"].astype("string").fillna("undetermined")
    macs = new["entity_id"].where(new["entity_type"] == "device")
    lines = ["  new by cause:"]
    for name, group in pd.DataFrame({"cause": cause, "mac": macs}).groupby("cause", sort=True):
        heading = _GROUPS.get(str(name), "undetermined")
        lines.append(f"    {name} ({heading}): {len(group)} results on "
                     f"{group['mac'].nunique()} Macs")  # fmt: skip
    for row in changes.catalogue_changes.to_dict("records"):
        cves = f", fixes exploited {row['exploited_cves']}" if row["exploited_cves"] else ""
        released = f" released {row['released']}" if not pd.isna(row["released"]) else ""
        lines.append(f"  catalogue: {row['kind']} macOS {row['versions']}{released}{cves}")
    lines += [f"  parameter: {r['rule_id']} {r['name']} {r['before']} -> {r['after']}"
              for r in changes.param_changes.to_dict("records")]  # fmt: skip
    return lines
