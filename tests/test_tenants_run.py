"""`auditor run --tenants`: three loopback Graph tenants, one command, per-tenant evidence.

The tenants stand for an MSP's customers: different tokens (AUDITOR_<NAME>_GRAPH_TOKEN), sizes
and problems; northwind answers 403 to everything (admin consent revoked). Each tenant's
findings.json must hold what a single-tenant `run --source graph` of the same server gives,
the failed tenant gets failure.json and the run exits 9, and the portfolio's rows carry the
same numbers; history keeps tenants apart; shards run as separate processes audit every tenant
exactly once and roll up into the portfolio a one-process run gives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from cli_runner import auditor
from graph_server import Fault, GraphServer

from auditor.tenants.select import shard_of

CONTOSO = "8d2c1b7e-5a4f-4c3b-9e1d-2f6a7b8c9d00"  # ids chosen to fall in shards 1, 2, 3 of 3
FABRIKAM = "1f0e2d3c-4b5a-4697-8a7b-6c5d4e3f2a12"
NORTHWIND = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c40"
TOKENS = {
    "AUDITOR_CONTOSO_GRAPH_TOKEN": "contoso-token-not-secret",
    "AUDITOR_FABRIKAM_EU_GRAPH_TOKEN": "fabrikam-token-not-secret",
    "AUDITOR_NORTHWIND_GRAPH_TOKEN": "northwind-token-not-secret",
}
IDS = {"contoso": CONTOSO, "fabrikam-eu": FABRIKAM, "northwind": NORTHWIND}


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Three running loopback tenants and the tenants.toml naming them."""
    folder = tmp_path_factory.mktemp("msp")
    with ExitStack() as stack:
        contoso = stack.enter_context(
            GraphServer(
                24, seed=7, tenant_id=CONTOSO, export_polls=0,
                accepted_tokens=[TOKENS["AUDITOR_CONTOSO_GRAPH_TOKEN"]],
            )
        )  # fmt: skip
        fabrikam = stack.enter_context(
            GraphServer(
                9, seed=3, tenant_id=FABRIKAM,
                accepted_tokens=[TOKENS["AUDITOR_FABRIKAM_EU_GRAPH_TOKEN"]], export_polls=0,
                # VPP tokens denied: a PARTIAL tenant, not a failed one
                faults=[Fault(r"vppTokens", 403, times=None)],
            )
        )  # fmt: skip
        northwind = stack.enter_context(
            GraphServer(5, seed=5, tenant_id=NORTHWIND, faults=[Fault(r".*", 403, times=None)])
        )
        (folder / "waivers-contoso.toml").write_text("")
        (folder / "tenants.toml").write_text(
            f"""
[run]
concurrency = 3
workers = 1

[[tenant]]
name = "contoso"
tenant_id = "{CONTOSO}"
display_name = "Contoso Ltd"
groups = ["EU customers"]
graph_url = "{contoso.url}"
waivers = "waivers-contoso.toml"

[[tenant]]
name = "fabrikam-eu"
tenant_id = "{FABRIKAM}"
display_name = "Fabrikam Europe"
groups = ["EU customers", "Retail"]
graph_url = "{fabrikam.url}"

[[tenant]]
name = "northwind"
tenant_id = "{NORTHWIND}"
graph_url = "{northwind.url}"
""",
            encoding="utf-8",
        )
        yield folder


def _env() -> dict[str, str]:
    return {**TOKENS, "AUDITOR_GRAPH_TOKEN": "", "AZURE_CLIENT_SECRET": ""}


def test_one_command_audits_three_tenants_and_the_failed_one_is_never_shown_as_fine(
    tenants, tmp_path
):
    reports = tmp_path / "reports"
    template = f"{reports}/{{tenant}}/{{period}}"
    done = auditor(
        "run", "--tenants", str(tenants / "tenants.toml"), "--out", template,
        "--as-of", "2026-08-31", "--format", "json", "--history", str(tmp_path / "history.sqlite"),
        cwd=tmp_path, env=_env(),
    )  # fmt: skip
    assert done.returncode == 9, done.stderr
    assert "1 of 3 tenant(s) failed: northwind" in done.stderr
    table = done.stderr[done.stderr.index("tenant ") :]
    assert "contoso     | ok" in table and "fabrikam-eu | partial" in table
    assert "northwind   | failed  | 4" in table
    for token in TOKENS.values():
        assert token not in done.stdout + done.stderr

    contoso = reports / "contoso" / "2026-08"
    fabrikam = reports / "fabrikam-eu" / "2026-08"
    northwind = reports / "northwind" / "2026-08"
    # The failed tenant: no report, a failure record saying why (never a secret)
    assert sorted(p.name for p in northwind.iterdir()) == ["failure.json"]
    failure = json.loads((northwind / "failure.json").read_text())
    assert failure["schema_version"] == 1 and failure["tenant_name"] == "northwind"
    assert (failure["tenant_id"], failure["as_of"], failure["period"]) == (
        NORTHWIND, "2026-08-31", "2026-08",
    )  # fmt: skip
    assert failure["exit_code"] == 4 and failure["error_type"] == "PartialSourceError"
    assert "403" in failure["error"] or "denied" in failure["error"].lower()
    assert failure["display_name"] == "northwind" and failure["groups"] == []

    # The others: exactly the folder a single-tenant Graph run writes, and the same numbers
    for folder, name, groups, url_of in (
        (contoso, "contoso", ["EU customers"], "contoso"),
        (fabrikam, "fabrikam-eu", ["EU customers", "Retail"], "fabrikam-eu"),
    ):
        document = json.loads((folder / "findings.json").read_text())
        assert document["run"]["tenant_name"] == name
        assert document["run"]["tenant_groups"] == groups
        assert document["run"]["tenant_id"] == IDS[name]
        assert document["run"]["source"] == "graph"
        single = _single_run(tenants, url_of, tmp_path / f"single-{name}")
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in single.iterdir())
        alone = json.loads((single / "findings.json").read_text())
        assert document["summary"] == alone["summary"]
        history_keys = ("first_seen", "months_failing")  # this run keeps history, the other not
        assert [
            {k: v for k, v in f.items() if k not in history_keys} for f in document["findings"]
        ] == alone["findings"]
        assert alone["run"]["tenant_name"] is None and alone["run"]["tenant_groups"] == []
        verified = auditor("verify", str(folder))
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads((contoso / "findings.json").read_text())["run"]["organisation"] == (
        "Contoso Ltd"
    )
    assert json.loads((fabrikam / "findings.json").read_text())["run"]["complete"] is False
    assert not list(reports.glob(".auditor-*")) and not list(tmp_path.glob(".auditor-*"))

    # The portfolio of the three folders: its numbers are each tenant's findings.json's
    rows = _portfolio(reports, tmp_path / "portfolio")
    assert rows["northwind"]["outcome"] == "failed" and rows["northwind"]["devices"] is None
    assert rows["northwind"]["exit_code"] == 4
    for name, folder in (("contoso", contoso), ("fabrikam-eu", fabrikam)):
        document = json.loads((folder / "findings.json").read_text())
        summary = document["summary"]
        assert rows[name]["outcome"] == ("ok" if document["run"]["complete"] else "partial")
        assert rows[name]["devices"] == summary["devices"]
        assert rows[name]["posture_pct"] == summary["posture"]["pct"]
        assert rows[name]["critical_failing_devices"] == (
            summary["failing_devices_by_severity"].get("critical", 0)
        )
        assert rows[name]["groups"] == document["run"]["tenant_groups"]

    # Next month: two tenants in one history file each compare with their own last month
    again = auditor(
        "run", "--tenants", str(tenants / "tenants.toml"), "--out", template,
        "--as-of", "2026-09-01", "--format", "json", "--history", str(tmp_path / "history.sqlite"),
        "--tenant", "contoso", "--group", "Retail",
        cwd=tmp_path, env=_env(),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert not (reports / "northwind" / "2026-09").exists()  # not selected
    for name in ("contoso", "fabrikam-eu"):
        august = json.loads((reports / name / "2026-08" / "findings.json").read_text())
        september = json.loads((reports / name / "2026-09" / "findings.json").read_text())
        changes = september["changes"]
        assert changes["previous_period"] == "2026-08"
        assert changes["previous_posture_pct"] == august["summary"]["posture"]["pct"]
        assert changes["resolved"] == 0  # the same Macs a day later: nothing of another tenant's


def _portfolio(reports: Path, out: Path) -> dict[str, dict[str, object]]:
    """`auditor portfolio --from REPORTS`: its tenant rows by name."""
    done = auditor(
        "portfolio", "--from", str(reports), "--out", str(out), "--format", "json",
        "--as-of", "2026-08-31",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    tenants = json.loads((out / "portfolio.json").read_text())["tenants"]
    return {str(t["name"]): t for t in tenants}


def _single_run(tenants: Path, name: str, out: Path) -> Path:
    """The same tenant audited alone, as `run --source graph` (single-tenant variables)."""
    text = (tenants / "tenants.toml").read_text()
    block = text[text.index(f'name = "{name}"') :]
    url = block[block.index('graph_url = "') + 13 :].split('"', 1)[0]
    token = TOKENS[f"AUDITOR_{name.upper().replace('-', '_')}_GRAPH_TOKEN"]
    done = auditor(
        "run", "--source", "graph", "--graph-url", url, "--as-of", "2026-08-31", "--out", str(out),
        "--no-history", "--format", "json",
        *(["--waivers", str(tenants / "waivers-contoso.toml")] if name == "contoso" else []),
        cwd=out.parent, env={"AUDITOR_GRAPH_TOKEN": token},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_a_good_run_replaces_the_failure_record_and_a_failure_never_replaces_evidence(
    tenants, tmp_path
):
    out = tmp_path / "r" / "contoso"
    out.mkdir(parents=True)
    (out / "failure.json").write_text('{"schema_version": 1}')
    args = [
        "run", "--tenants", str(tenants / "tenants.toml"), "--out", str(tmp_path / "r/{tenant}"),
        "--as-of", "2026-08-31", "--format", "json", "--no-history", "--tenant", "contoso",
    ]  # fmt: skip
    done = auditor(*args, cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    assert not (out / "failure.json").exists()
    evidence = sorted(p.name for p in out.iterdir())
    assert "manifest.json" in evidence
    # the same period again without the tenant's token: it fails, the evidence stays
    failed = auditor(*args, cwd=tmp_path, env={**_env(), "AUDITOR_CONTOSO_GRAPH_TOKEN": ""})
    assert failed.returncode == 9
    assert "AUDITOR_CONTOSO_GRAPH_TOKEN" in failed.stderr
    assert "(earlier evidence in the folder kept)" in failed.stderr
    assert sorted(p.name for p in out.iterdir()) == evidence
    assert auditor("verify", str(out)).returncode == 0


def _shard_run(
    tenants: Path, out: Path, *args: str, env: dict[str, str], separate: bool = True
) -> list[str]:
    """`python -m auditor run --tenants … ARGS` in its own process (`separate`, as a shard runs on
    its own machine) or in this one: the tenants it audited."""
    argv = [
        "run", "--tenants", str(tenants / "tenants.toml"), "--out", f"{out}/{{tenant}}",
        "--as-of", "2026-08-31", "--format", "json", "--no-history", "--no-notify", *args,
    ]  # fmt: skip
    if separate:
        done = subprocess.run(
            [sys.executable, "-m", "auditor", *argv],
            capture_output=True, text=True, timeout=300, check=False, cwd=out.parent,
            env={**os.environ, **_env(), **env},
        )  # fmt: skip
        code, stderr = done.returncode, done.stderr
    else:
        ran = auditor(*argv, cwd=out.parent, env={**_env(), **env})
        code, stderr = ran.returncode, ran.stderr
    assert code in (0, 9), stderr
    return sorted(
        line.split(" | ")[0].strip()
        for line in stderr.splitlines()
        if " | " in line and line.split(" | ")[0].strip() in IDS
    )


def test_shards_as_separate_processes_audit_every_tenant_exactly_once(tenants, tmp_path):
    count = 3
    audited = {
        k: _shard_run(tenants, tmp_path / f"shard{k}", "--shard", f"{k}/{count}", env={})
        for k in range(1, count + 1)
    }
    union = [name for names in audited.values() for name in names]
    assert sorted(union) == sorted(IDS)  # every tenant, exactly once
    assert all(audited.values())  # the ids were chosen so that no shard is empty
    for k, names in audited.items():
        assert names == sorted(n for n, i in IDS.items() if shard_of(i, count) == k)
        written = sorted(p.name for p in (tmp_path / f"shard{k}").iterdir()) if names else []
        assert written == names
    # the shards' folders roll up into the portfolio a one-process run's give
    one = tmp_path / "one" / "reports"
    one.parent.mkdir()
    _shard_run(tenants, one, env={}, separate=False)  # the one-process run, in this one
    shards = tmp_path / "shards"
    shards.mkdir()
    for k in audited:
        (tmp_path / f"shard{k}").rename(shards / f"shard{k}")
    volatile = ("folder", "links", "last_successful_audit", "last_complete_audit", "failed_at")

    def stable(rows: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
        return {n: {k: v for k, v in row.items() if k not in volatile} for n, row in rows.items()}

    from_shards, from_one = (_portfolio(w, tmp_path / f"pf-{w.name}") for w in (shards, one))
    assert sorted(from_shards) == sorted(IDS)
    assert stable(from_shards) == stable(from_one)
    # In a Kubernetes Indexed Job the pod's index (from 0) picks the same shard as --shard
    pod = {"JOB_COMPLETION_INDEX": "1", "AUDITOR_SHARD_COUNT": "3"}
    indexed = _shard_run(tenants, tmp_path / "indexed", env=pod, separate=False)
    assert indexed == audited[2]


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (the audit workers), read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _sigterm_pending(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    masks = [
        int(line.split()[1], 16)
        for line in status.splitlines()
        if line[:7] in ("SigPnd:", "ShdPnd:")
    ]
    return any(mask & (1 << (signal.SIGTERM - 1)) for mask in masks)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_stops_every_tenant_cleanly_and_leaves_no_half_written_folder(tenants, tmp_path):
    reports = tmp_path / "reports"
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", "run", "--tenants", str(tenants / "tenants.toml"),
         "--out", f"{reports}/{{tenant}}", "--as-of", "2026-08-31", "--format", "json",
         "--no-history", "--tenant", "contoso"],
        env={**os.environ, **_env(), "AUDITOR_TEST_HOOK": "STOP@rendered"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        # the worker stops itself once the reports are staged beside reports/contoso
        while not list(reports.glob(".auditor-contoso-*/findings.json")):
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        # the run passes SIGTERM on to its stopped worker, which handles it once continued
        while not any(_sigterm_pending(pid) for pid in _children(process.pid)):
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        for worker in _children(process.pid):
            os.kill(worker, signal.SIGCONT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "aborted" in stderr
    assert sorted(p.name for p in reports.iterdir()) == []  # no staging, no pulls, no folder


def test_an_audit_process_that_dies_fails_its_tenant_and_the_run_goes_on(tenants, tmp_path):
    # every audit process kills itself once its tenant is loaded (as the OOM killer would)
    done = auditor(
        "run", "--tenants", str(tenants / "tenants.toml"), "--out", str(tmp_path / "r/{tenant}"),
        "--as-of", "2026-08-31", "--format", "json", "--no-history", "--workers", "1",
        "--tenant", "contoso", "--tenant", "fabrikam-eu",
        cwd=tmp_path, env={**_env(), "AUDITOR_TEST_HOOK": "KILL@loaded"},
    )  # fmt: skip
    assert done.returncode == 9, done.stderr
    for name in ("contoso", "fabrikam-eu"):
        failure = json.loads((tmp_path / "r" / name / "failure.json").read_text())
        assert "audit process ended abruptly" in failure["error"]
        assert not (tmp_path / "r" / name / "findings.json").exists()


def test_each_tenant_is_notified_with_its_own_name_and_the_failed_one_as_a_failure(
    tenants, tmp_path
):
    from notify_endpoints import HttpReceiver

    receiver = HttpReceiver()
    try:
        (tmp_path / "auditor.toml").write_text(
            f'[notify.channels.hook]\ntype = "webhook"\nurl = "{receiver.root}/hook"\n'
        )
        out = str(tmp_path / "r/{tenant}")
        done = auditor(
            "run", "--tenants", str(tenants / "tenants.toml"), "--out", out,
            "--as-of", "2026-08-31", "--format", "json", "--no-history", "--config", "auditor.toml",
            "--tenant", "contoso", "--tenant", "northwind",
            cwd=tmp_path, env=_env(),
        )  # fmt: skip
        assert done.returncode == 9, done.stderr
        bodies = [json.loads(r.body) for r in receiver.requests]
    finally:
        receiver.close()
    events = sorted((b["event"], b["data"]["organisation"]) for b in bodies)
    assert events == [("audit.completed", "Contoso Ltd"), ("audit.failed", "northwind")]
    for token in TOKENS.values():
        assert all(token not in json.dumps(b) for b in bodies)
