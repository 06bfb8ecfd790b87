"""Report renderers on a synthetic tenant, against the naive pandas `to_excel` baseline.

    python -m bench.reports --devices 100000 [--devices 500000] [--skip-baseline]

`run(devices)` builds a canonical devices frame (seeded), evaluates the rule catalogue (padded
with copies of its device rules up to 24 device rules, the size of the full catalogue), builds
the report model and times: the report model, findings.json, the workbook, the PDF, and what a
user would write by hand, `DataFrame.to_excel(engine="openpyxl")` of the same Findings and
Devices sheets. Memory is the sampled peak RSS of this process and its growth during a stage;
CPU seconds are given beside wall seconds because the 2 shared cores are often busy.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.measure import Stage, bench_meta, stage

AS_OF = dt.date(2026, 9, 1)
DEVICE_RULES = 24
OS = [
    ("26.0.1", "26", 26_000_001),
    ("15.7.1", "15", 15_007_001),
    ("15.6.1", "15", 15_006_001),
    ("14.8.1", "14", 14_008_001),
    ("14.7.6", "14", 14_007_006),
    ("13.7.8", "13", 13_007_008),
    ("12.7.6", "12", 12_007_006),
]
MODELS = [
    ("MacBook Pro (14-inch, 2021)", "MacBookPro18,3", "apple_silicon", "arm64"),
    ("MacBook Air (M2, 2022)", "Mac14,2", "apple_silicon", "arm64"),
    ("MacBook Air (M1, 2020)", "MacBookAir10,1", "apple_silicon", "arm64"),
    ("iMac (24-inch, M3, 2023)", "Mac15,5", "apple_silicon", "arm64"),
    ("MacBook Pro (16-inch, 2019)", "MacBookPro16,1", "intel", "x64"),
    ("Mac mini (2018)", "Macmini8,1", "intel", "x64"),
]


def devices_frame(size: int, seed: int = 7) -> pd.DataFrame:
    """A canonical devices frame of `size` Macs with realistic spreads and some missing values."""
    rng = np.random.default_rng(seed)

    def pick(options: list[Any], weights: list[float] | None = None) -> np.ndarray:
        p = None if weights is None else np.array(weights) / sum(weights)
        return np.asarray(options, dtype=object)[rng.choice(len(options), size, p=p)]

    def flag(p_true: float, p_missing: float) -> pd.array:
        values = rng.random(size) < p_true
        missing = rng.random(size) < p_missing
        return pd.array(np.where(missing, None, values).tolist(), dtype="boolean")

    os_idx = rng.choice(len(OS), size, p=[0.2, 0.25, 0.15, 0.15, 0.1, 0.1, 0.05])
    model_idx = rng.choice(len(MODELS), size)
    ids = [f"{i:08x}-1111-4222-8333-{i * 7919 % 16**12:012x}" for i in range(size)]
    as_of = pd.Timestamp(AS_OF, tz="UTC")
    sync_days = rng.exponential(6, size).astype(int)
    synced = as_of - pd.to_timedelta(sync_days, unit="D")
    synced = synced.where(rng.random(size) > 0.01)
    frame = pd.DataFrame(
        {
            "device_id": ids,
            "device_name": [f"MAC-{i:06d}" for i in range(size)],
            "serial_number": [f"C02{i:07d}Q" for i in range(size)],
            "udid": ids,
            "model": [MODELS[i][0] for i in model_idx],
            "model_identifier": [MODELS[i][1] for i in model_idx],
            "chip": [MODELS[i][2] for i in model_idx],
            "processor_arch": [MODELS[i][3] for i in model_idx],
            "is_vm": pd.array(np.zeros(size, bool), dtype="boolean"),
            "vm_evidence": pd.array([None] * size, dtype="string"),
            "os_version": [OS[i][0] for i in os_idx],
            "os_major": [OS[i][1] for i in os_idx],
            "os_version_key": pd.array([OS[i][2] for i in os_idx], dtype="Int64"),
            "os_build": pick(["24G90", "25A362", "23H124"]),
            "os_rsr": pd.array([None] * size, dtype="string"),
            "ownership": pick(["corporate", "personal", "unknown"], [0.85, 0.1, 0.05]),
            "enrollment_method": pick(["ade", "direct", "byod", "dem"], [0.75, 0.1, 0.1, 0.05]),
            "has_user_affinity": flag(0.9, 0.0),
            "enrollment_profile": pick(["Corporate ADE", "Shared Macs", None]),
            "is_supervised": flag(0.85, 0.01),
            "user_approved": flag(0.9, 0.02),
            "bootstrap_escrowed": flag(0.8, 0.05),
            "is_encrypted": flag(0.92, 0.01),
            "compliance_state": pick(["compliant", "noncompliant", "inGracePeriod", "unknown"]),
            "enrolled_at": as_of - pd.to_timedelta(rng.integers(30, 1500, size), unit="D"),
            "last_sync_at": synced,
            "upn": [f"user{i % 90_000}@example.com" for i in range(size)],
            "enrolled_by_upn": pd.array([None] * size, dtype="string"),
            "source": "bench.csv",
            "source_record": [f"bench.csv:line {i + 2}" for i in range(size)],
        }
    )
    return frame.astype(
        {
            c: "string"
            for c in frame.columns
            if frame[c].dtype == object and c not in ("enrolled_at", "last_sync_at")
        }
    ).astype({"enrolled_at": "datetime64[us, UTC]", "last_sync_at": "datetime64[us, UTC]"})


def inventory(size: int) -> Any:
    from auditor.models import Inventory

    tenant = pd.DataFrame(
        {"tenant_id": ["bench"], "apns_expires_at": [pd.Timestamp("2027-01-01", tz="UTC")]}
    ).astype({"tenant_id": "string", "apns_expires_at": "datetime64[us, UTC]"})
    tokens = pd.DataFrame(
        {"token_id": pd.array(["tok"], "string"), "token_name": pd.array(["ABM"], "string")}
    )
    dem = pd.DataFrame({"dem_upn": pd.array([], "string"), "device_count": pd.array([], "Int64")})
    frame = devices_frame(size)
    return Inventory(devices=frame, tenant=tenant, ade_tokens=tokens, dem_accounts=dem)


def catalogue_rules() -> list[Any]:
    """ALL_RULES, with device rules copied under bench ids up to DEVICE_RULES device rules."""
    from auditor.models import Entity
    from auditor.rules import ALL_RULES

    rules = list(ALL_RULES)
    device = [r for r in rules if r.entity == Entity.DEVICE]
    for i in range(max(0, DEVICE_RULES - len(device))):
        rules.append(dataclasses.replace(device[i % len(device)], id=f"MAC-BNC-{i + 1:03d}"))
    return rules


def baseline_xlsx(report: Any, path: Path) -> None:
    """The workbook a user would write by hand: DataFrame.to_excel with openpyxl."""

    def naive(frame: pd.DataFrame) -> pd.DataFrame:
        # to_excel refuses tz-aware datetimes: a user strips the zone first
        zoned = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
        return frame.assign(**{c: frame[c].dt.tz_localize(None) for c in zoned})

    rules = pd.DataFrame([dataclasses.asdict(r) for r in report.rules]).astype(str)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        naive(report.findings).to_excel(writer, sheet_name="Findings", index=False)
        naive(report.devices).to_excel(writer, sheet_name="Devices", index=False)
        rules.to_excel(writer, sheet_name="Rules", index=False)


def run(devices: int, *, baseline: bool = True, pdf: bool = True) -> dict[str, Any]:
    """Time the report model and every renderer (and the baseline) on `devices` Macs."""
    from auditor.engine import EvaluationContext, evaluate
    from auditor.refdata.catalogue_file import load_catalogue
    from auditor.render import RENDERERS
    from auditor.report import build_report
    from auditor.waivers import apply_waivers

    stages: list[Stage] = []
    out = Path(tempfile.mkdtemp(prefix="auditor-bench-reports-"))
    inv = inventory(devices)
    rules = catalogue_rules()
    catalogue = load_catalogue()
    results = evaluate(rules, inv.frames(), EvaluationContext(AS_OF, catalogue, {}))
    outcome = apply_waivers(results, inv.frames(), [], AS_OF)
    meta = bench_meta(catalogue, AS_OF)
    figures: dict[str, Any] = {
        "rules (device rules padded to 24)": len(rules),
        "results": f"{len(results):,}",
    }
    cpu: dict[str, float] = {}
    started = time.process_time()
    with stage("report model", stages, devices):
        report = build_report(outcome.results, inv, rules, outcome.uses, meta)
    cpu["report model"] = time.process_time() - started
    figures["findings rows"] = f"{len(report.findings):,}"
    figures["devices sheet"] = f"{report.devices.shape[0]:,} rows x {report.devices.shape[1]} cols"
    del results
    formats = ["json", "xlsx", *(["pdf"] if pdf else [])]
    for fmt in formats:
        target = out / f"report.{fmt}"
        started = time.process_time()
        with stage(f"render {fmt}", stages, devices):
            RENDERERS[fmt](report, target)
        cpu[f"render {fmt}"] = time.process_time() - started
        figures[f"{fmt} size MB"] = round(target.stat().st_size / 2**20, 1)
    if pdf:
        from pypdf import PdfReader

        figures["pdf pages"] = len(PdfReader(out / "report.pdf").pages)
    if baseline:
        started = time.process_time()
        with stage("baseline to_excel(openpyxl)", stages, devices):
            baseline_xlsx(report, out / "baseline.xlsx")
        cpu["baseline to_excel(openpyxl)"] = time.process_time() - started
        figures["baseline xlsx size MB"] = round((out / "baseline.xlsx").stat().st_size / 2**20, 1)
    for s in stages:
        figures[f"{s.name} s (cpu s)"] = f"{s.seconds:.2f} ({cpu[s.name]:.2f})"
        figures[f"{s.name} peak MB (+growth)"] = (
            f"{s.rss_peak / 2**20:,.0f} (+{s.peak_delta_mb:,.0f})"
        )
    if baseline:
        ours = next(s for s in stages if s.name == "render xlsx").seconds
        theirs = next(s for s in stages if s.name.startswith("baseline")).seconds
        figures["xlsx speed-up over baseline (wall)"] = f"{theirs / ours:.1f}x"
        ratio = cpu["baseline to_excel(openpyxl)"] / cpu["render xlsx"]
        figures["xlsx speed-up over baseline (cpu)"] = f"{ratio:.1f}x"
    for path in out.iterdir():
        path.unlink()
    out.rmdir()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--devices", type=int, action="append")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-pdf", action="store_true")
    args = parser.parse_args()
    for size in args.devices or [100_000]:
        print(f"\n{size:,} devices", flush=True)
        figures = run(size, baseline=not args.skip_baseline, pdf=not args.skip_pdf)
        for key, value in figures.items():
            print(f"  {key:<44} {value}")


if __name__ == "__main__":
    main()
