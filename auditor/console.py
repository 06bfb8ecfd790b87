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
    now = changes.resolved["now"].value_counts().sort_index()
    how = ", ".join(f"{count} {status}" for status, count in now.items())
    lines = [
        f"{changes.current_period} vs {changes.previous_period}: {len(changes.new)} new, "
        f"{len(changes.resolved)} resolved{f' ({how})' if how else ''}, "
        f"{len(changes.persisting)} still failing"
    ]
    moved = changes.per_rule[(changes.per_rule["new"] + changes.per_rule["resolved"]) > 0]
    lines += [f"  {r['rule_id']}: {r['previous_fail']} -> {r['current_fail']} failing "
              f"({r['new']} new, {r['resolved']} resolved)"
              for r in moved.to_dict("records")]  # fmt: skip
    for title, frame in (("new", changes.new), ("resolved", changes.resolved)):
        for row in frame.head(limit).to_dict("records"):
            name = row["entity_id"] if pd.isna(row["device_name"]) else row["device_name"]
            name = "".join(c if c.isprintable() else "?" for c in str(name))  # no escape codes
            extra = f" (now {row['now']})" if title == "resolved" else ""
            lines.append(f"  {title:<8} {row['rule_id']} {row['entity_type']} {name}{extra}")
        if len(frame) > limit:
            lines.append(f"  … and {len(frame) - limit} more {title}")
    return "\n".join(lines)
