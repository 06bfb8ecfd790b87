"""`make bench-html`: report.html of a generated tenant, opened in a real headless Chromium.

    python -m bench.html --devices 100000 [--devices 500000] [--runs 3] [--keep DIR]

Builds the report of a generated tenant (the pipeline's own stages), renders report.html and
the machine formats, then opens the page from file:// in Debian's Chromium (the browser tests'
driver, tests/browser.py) and records, as the median of `--runs` fresh page loads:
- ready: from navigation start until the summary is drawn (the page's own performance.now()),
- devices: the click on Devices until its first page is drawn (wall clock),
- filters: the page's own time to filter (and sort) the rows for each filter below.
Budgets (issue 18): the file under 25 MB, ready + devices under 3 s, each filter under 300 ms.
The machine is shared: the load average is printed beside the numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.measure import Stage, bench_meta, stage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

AS_OF = dt.date(2026, 9, 1)
BUDGET_MB, BUDGET_READY_S, BUDGET_FILTER_MS = 25, 3.0, 300
# (label, table, how): a select filter by column and value, or a search
FILTERS = (
    ("findings: severity = high", "findings", ("select", "severity", "high")),
    ("findings: os major = 15", "findings", ("select", "os_major", "15")),
    ("findings: enrollment = byod", "findings", ("select", "enrollment_method", "byod")),
    ("devices: MAC-BST-001 = fail", "devices", ("select", "MAC-BST-001", "fail")),
    ("devices: ownership = personal", "devices", ("select", "ownership", "personal")),
    ("devices: search a serial", "devices", ("search", "", "")),
    ("findings: search a serial", "findings", ("search", "", "")),
)


def build_report(devices: int, work: Path, stages: list[Stage]) -> Any:
    """The report model of a generated tenant of `devices` Macs (as `make bench` builds it)."""
    from auditor.config import Config
    from auditor.engine import EvaluationContext, evaluate
    from auditor.normalize import normalize
    from auditor.pipeline import resolve_catalogue, rule_params, select_rules, tenant_files
    from auditor.report import build_report as build
    from auditor.sample import generate_tenant, write_tenant
    from auditor.sources.files import read_inputs
    from auditor.waivers import apply_waivers

    tenant = work / f"tenant-{devices}"
    with stage("generate sample tenant", stages, devices):
        write_tenant(generate_tenant(devices, 11, AS_OF), tenant, pretty=False)
    with stage("load + normalize + evaluate", stages, devices):
        batches, inputs = read_inputs(tenant_files(tenant))
        inventory = normalize(batches, inputs=inputs)
        config = Config()
        catalogue = resolve_catalogue(config)
        context = EvaluationContext(AS_OF, catalogue, rule_params(config))
        rules = select_rules(config)
        results = evaluate(rules, inventory.frames(), context)
    with stage("waivers + report model", stages, devices):
        outcome = apply_waivers(results, inventory.frames(), [], AS_OF)
        report = build(
            outcome.results, inventory, rules, outcome.uses, bench_meta(catalogue, AS_OF),
            params=rule_params(config),
        )  # fmt: skip
    shutil.rmtree(tenant, ignore_errors=True)
    return report


def render_formats(report: Any, devices: int, work: Path, stages: list[Stage]) -> Path:
    """Render report.html and the machine formats, timing each; returns report.html's path."""
    from auditor.render import OUTPUT_NAMES, RENDERERS

    for fmt in ("html", "csv", "ndjson", "ocsf", "junit", "parquet"):
        target = work / f"{devices}-{OUTPUT_NAMES[fmt]}"
        with stage(f"render {fmt}", stages, devices) as s:
            RENDERERS[fmt](report, target)
        s.extra["MB"] = round(target.stat().st_size / 2**20, 1)
    return work / f"{devices}-report.html"


def measure_page(path: Path, serial: str, runs: int) -> dict[str, list[float]]:
    """Fresh page loads in Chromium: ready, devices view and each filter's own time."""
    from browser import chromium, open_report
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    timings: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        timings.setdefault(name, []).append(value)

    with chromium(performance_log=False) as driver:
        for _ in range(runs):
            driver.get("about:blank")
            ready_ms = open_report(driver, path, timeout_s=120)
            phases = driver.execute_script("return window.__auditor")
            record("decoded + parsed (ms)", phases["parsed"])
            record("tables prepared (ms)", phases["prepared"])
            record("summary drawn = ready (ms)", ready_ms)
            started = time.perf_counter()
            driver.find_element(By.CSS_SELECTOR, '#tabs button[data-view="devices"]').click()
            driver.find_element(By.CSS_SELECTOR, '[data-table="devices"] tbody tr')
            record("devices first page (ms)", (time.perf_counter() - started) * 1000)
            record(
                "interactive: ready + devices (ms)",
                ready_ms + timings["devices first page (ms)"][-1],
            )
            for label, table, (how, key, value) in FILTERS:
                driver.find_element(By.CSS_SELECTOR, f'#tabs button[data-view="{table}"]').click()
                root = f'[data-table="{table}"]'
                driver.find_element(By.CSS_SELECTOR, f'{root} [data-testid="clear"]').click()
                runs_before = driver.execute_script("return window.__auditor.filterRuns")
                if how == "select":
                    control = driver.find_element(By.CSS_SELECTOR, f'{root} [data-filter="{key}"]')
                    Select(control).select_by_value(value)
                else:
                    box = driver.find_element(By.CSS_SELECTOR, f'{root} [data-testid="search"]')
                    box.send_keys(serial)
                WebDriverWait(driver, 30, poll_frequency=0.01).until(
                    lambda d, n=runs_before: (
                        d.execute_script("return window.__auditor.filterRuns") > n
                    )
                )
                record(f"filter {label} (ms)", driver.execute_script(
                    "return window.__auditor.lastFilterMs"
                ))  # fmt: skip
            driver.find_element(By.CSS_SELECTOR, '#tabs button[data-view="findings"]').click()
            header = '[data-table="findings"] th.k-date button'
            runs_before = driver.execute_script("return window.__auditor.filterRuns")
            driver.find_element(By.CSS_SELECTOR, header).click()
            record("sort findings by check-in (ms)", driver.execute_script(
                "return window.__auditor.lastFilterMs"
            ))  # fmt: skip
            assert driver.execute_script("return window.__auditor.filterRuns") > runs_before
    return timings


def run(devices: int, runs: int = 3, keep: Path | None = None) -> dict[str, Any]:
    """Build, render and open the report of `devices` Macs; the medians and the verdicts."""
    work = keep or Path(tempfile.mkdtemp(prefix="auditor-bench-html-"))
    work.mkdir(parents=True, exist_ok=True)
    stages: list[Stage] = []
    try:
        report = build_report(devices, work, stages)
        page = render_formats(report, devices, work, stages)
        serial = str(report.devices["serial_number"].dropna().iloc[len(report.devices) // 2])
        del report
        timings = measure_page(page, serial, runs)
        size_mb = page.stat().st_size / 2**20
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    interactive_s = medians["interactive: ready + devices (ms)"] / 1000
    worst_filter = max(v for k, v in medians.items() if k.startswith(("filter", "sort")))
    verdict = {
        f"report.html under {BUDGET_MB} MB": size_mb < BUDGET_MB,
        f"interactive under {BUDGET_READY_S} s": interactive_s < BUDGET_READY_S,
        f"every filter under {BUDGET_FILTER_MS} ms": worst_filter < BUDGET_FILTER_MS,
    }
    return {
        "report.html (MB)": round(size_mb, 1),
        **{name: round(value) for name, value in medians.items()},
        "load average (1, 5, 15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        **{name: "ok" if ok else "OVER BUDGET" for name, ok in verdict.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.html", description=__doc__)
    parser.add_argument("--devices", type=int, action="append", help="tenant size (repeatable)")
    parser.add_argument(
        "--runs", type=int, default=3, help="fresh page loads to take the median of"
    )
    parser.add_argument("--keep", type=Path, help="keep the tenant's reports in this folder")
    args = parser.parse_args()
    for devices in args.devices or [100_000]:
        print(
            f"\nreport.html of {devices:,} Macs in Chromium ({args.runs} runs, median)", flush=True
        )
        for key, value in run(devices, args.runs, args.keep).items():
            print(f"  {key:<44} {value}", flush=True)


if __name__ == "__main__":
    main()
