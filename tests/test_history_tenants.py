"""Issue 14 / user review A4: two tenants sharing one history file keep their own line of months.

Tenant A is the bundled sample (sample_data/), tenant B a second tenant from the same
deterministic generator (`auditor sample`); both are audited into one history file with
`auditor run` in process, then read with `auditor history`.
"""

import json
from pathlib import Path

import pytest
from cli_runner import auditor
from outputs import findings

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"
TENANT_A = "8b4ae5f1-a941-46a0-956a-26afbccdafe5"  # the bundled sample's tenant id


def tenant_inputs(folder: Path) -> list[str]:
    """`--input FILE` for every inventory file `auditor sample` wrote into `folder`."""
    files = sorted(p for p in folder.iterdir()
                   if p.suffix in (".json", ".csv") and p.name != "expected.json")  # fmt: skip
    return [arg for path in files for arg in ("--input", str(path))]


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("tenants")
    made = auditor("sample", "--devices", "60", "--seed", "11", "--as-of", "2026-09-01",
                   "--out", str(base / "tenant-b"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    history = base / "history.sqlite"
    runs = {}
    for name, inputs, as_of in (
        ("a-2026-08", tenant_inputs(SAMPLE), "2026-08-31"),
        ("a-2026-09", tenant_inputs(SAMPLE), "2026-09-01"),
        ("b-2026-09", tenant_inputs(base / "tenant-b"), "2026-09-01"),
        ("b-2026-10", tenant_inputs(base / "tenant-b"), "2026-10-01"),
    ):
        out = base / name
        done = auditor("run", *inputs, "--as-of", as_of, "--out", str(out),
                       "--history", str(history), "--format", "json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs[name] = findings(out)
    return {"history": history, "runs": runs, "b": runs["b-2026-09"]["run"]["tenant_id"]}


def history(shared: dict, *args: str):
    return auditor("history", *args, "--history", str(shared["history"]))


def test_each_tenant_is_compared_only_with_its_own_runs(shared):
    runs = shared["runs"]
    assert shared["b"] != TENANT_A
    assert runs["a-2026-09"]["changes"]["previous_period"] == "2026-08"
    assert runs["b-2026-09"]["changes"]["previous_period"] is None  # never tenant A's August
    assert runs["b-2026-10"]["changes"]["previous_period"] == "2026-09"
    trend = runs["b-2026-10"]["changes"]["trend"]
    assert [(t["period"], t["devices"]) for t in trend] == [("2026-09", 60), ("2026-10", 60)]


def test_history_list_shows_both_tenants_and_neither_replaced_the_other(shared):
    done = history(shared, "list")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"tenant {TENANT_A}" in text and f"tenant {shared['b']}" in text
    both = [line for line in text.splitlines() if line.startswith("2026-09 ")]
    assert sorted(line.split()[2] for line in both) == ["300", "60"]  # Macs of each tenant
    only_b = history(shared, "list", "--tenant", shared["b"][:8])
    assert TENANT_A not in only_b.stdout and "2026-08" not in only_b.stdout


def test_show_needs_the_tenant_when_two_have_the_period(shared):
    ambiguous = history(shared, "show", "2026-09")
    assert ambiguous.returncode == 2
    assert "2026-09 recorded for 2 tenants" in ambiguous.stderr and "--tenant" in ambiguous.stderr
    shown = history(shared, "show", "2026-09", "--tenant", shared["b"])
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["tenant_id"] == shared["b"]
    assert json.loads(shown.stdout)["devices"] == 60


def test_diff_stays_within_one_tenant_and_refuses_two(shared):
    own = history(shared, "diff", "2026-08", "2026-09")  # only tenant A has both
    assert own.returncode == 0, own.stderr
    assert own.stdout.startswith("2026-09 vs 2026-08")
    across = history(shared, "diff", "2026-08", "2026-10")
    assert across.returncode == 2
    assert f"2026-08 is tenant {TENANT_A}; 2026-10 is tenant {shared['b']}" in across.stderr
    assert "never two tenants" in across.stderr
    missing = history(shared, "diff", "2026-08", "2026-09", "--tenant", shared["b"])
    assert missing.returncode == 2
    assert "no recorded period 2026-08" in missing.stderr and shared["b"] in missing.stderr


def test_a_run_whose_tenant_is_unknown_is_neither_compared_nor_recorded(shared, tmp_path):
    before = history(shared, "list").stdout
    done = auditor(
        "run", "--input", str(SAMPLE / "managed_devices.json"), "--as-of", "2026-09-01",
        "--out", str(tmp_path), "--history", str(shared["history"]), "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = findings(tmp_path)
    assert data["run"]["tenant_id"] == "unknown"
    assert data["changes"] is None
    warning = next(w for w in data["run"]["warnings"] if w["code"] == "history_not_compared")
    assert (
        "The tenant is unknown (no input names it): this run cannot be compared"
        in (warning["message"])
    )
    assert warning["message"] in done.stderr
    assert history(shared, "list").stdout == before
