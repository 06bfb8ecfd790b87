"""Engine benchmark: the whole rule catalogue over N Macs (issue goal: 500k in < 3 s, < 1.5 GB).

    python -m bench.engine --devices 500000 [--repeat 3]

A generated 100k-Mac tenant is read and normalized once, then its device rows are repeated
(with fresh ids and serials) up to N, so the frame has the value mix of a real audit. Only
`evaluate` is timed; peak memory is the growth over the frames already in memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from bench.measure import Stage, stage

AS_OF = dt.date(2026, 9, 1)
_BASE = 100_000


def inventory_frames(devices: int) -> dict[str, pd.DataFrame]:
    """The normalized frames of a generated tenant, devices repeated up to `devices` rows."""
    from auditor.normalize import normalize
    from auditor.pipeline import tenant_files
    from auditor.sample import generate_tenant, write_tenant
    from auditor.sources.files import read_files

    base = min(devices, _BASE)
    with tempfile.TemporaryDirectory() as tmp:
        write_tenant(generate_tenant(base, 11, AS_OF), Path(tmp), pretty=False)
        readings = read_files(tenant_files(Path(tmp)))
        frames = normalize(readings.batches, inputs=readings.inputs).frames()
    macs = frames["devices"]
    copies = []
    for copy in range(-(-devices // len(macs))):
        part = macs.copy()
        if copy:
            for column in ("device_id", "serial_number", "udid"):
                part[column] = part[column] + f"-{copy}"
        copies.append(part)
    frames["devices"] = pd.concat(copies, ignore_index=True).head(devices)
    return frames


def run(devices: int, repeat: int = 3) -> dict[str, Any]:
    """Evaluate every rule `repeat` times over `devices` Macs; the best run and its memory."""
    from auditor.config import Config
    from auditor.engine import EvaluationContext, evaluate
    from auditor.pipeline import resolve_catalogue
    from auditor.rules.settings import rule_params, select_rules

    frames = inventory_frames(devices)
    config = Config()
    rules = select_rules(config)
    context = EvaluationContext(AS_OF, resolve_catalogue(config), rule_params(config))
    stages: list[Stage] = []
    for attempt in range(repeat):
        with stage(f"evaluate {len(rules)} rules #{attempt + 1}", stages, devices) as s:
            results = evaluate(rules, frames, context)
            s.extra["results"] = f"{len(results):,}"
        del results
    best = min(stages, key=lambda s: s.seconds)
    return {
        "devices": devices,
        "rules": len(rules),
        "cpus": os.cpu_count(),
        "best seconds": round(best.seconds, 2),
        "rows/s": f"{devices / best.seconds:,.0f}",
        "peak extra MB": round(max(s.peak_delta_mb for s in stages)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for key, value in run(args.devices, args.repeat).items():
        print(f"  {key:<16} {value}")


if __name__ == "__main__":
    main()
