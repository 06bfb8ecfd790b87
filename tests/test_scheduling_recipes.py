"""Issue 20: the many-tenant recipes in docs/examples/k8s and docs/examples/github parse, agree
with themselves (shard counts, schedules, artifact names) and with the real CLI, and the
Kubernetes shard script audits loopback Graph tenants as written: every tenant exactly once.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from graph_server import GraphServer
from test_scheduling import DOCKER_UID, EXAMPLES, SECRET_NAME, check_command, image_version

K8S = EXAMPLES / "k8s"
WORKFLOW = EXAMPLES / "github" / "audit-tenants.yml"
INSTALLED = Path(sys.executable).parent  # the venv the `auditor` script is in


def shard_of(tenant_id: str, count: int) -> int:
    """The 1-based shard of a tenant, as INTERFACE.md fixes it."""
    return int(hashlib.sha256(tenant_id.lower().encode()).hexdigest(), 16) % count + 1


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def manifest(name: str, kind: str) -> dict[str, Any]:
    (found,) = [d for d in documents(K8S / name) if d["kind"] == kind]
    return found


def shard_cronjob() -> dict[str, Any]:
    (found,) = [d for d in documents(K8S / "cronjob.yaml") if d["spec"]["jobTemplate"]["spec"].get(
        "completionMode") == "Indexed"]  # fmt: skip
    return found


def rollup_cronjob() -> dict[str, Any]:
    (found,) = [d for d in documents(K8S / "cronjob.yaml")
                if "completionMode" not in d["spec"]["jobTemplate"]["spec"]]  # fmt: skip
    return found


def shard_job_specs() -> dict[str, dict[str, Any]]:
    """The Indexed Job spec of indexed-job.yaml and of the monthly CronJob."""
    return {
        "indexed-job.yaml": manifest("indexed-job.yaml", "Job")["spec"],
        "cronjob.yaml": shard_cronjob()["spec"]["jobTemplate"]["spec"],
    }


def container_of(job_spec: dict[str, Any]) -> dict[str, Any]:
    (container,) = job_spec["template"]["spec"]["containers"]
    return dict(container)


def shard_script(job_spec: dict[str, Any]) -> str:
    container = container_of(job_spec)
    assert container["command"] == ["/bin/sh", "-c"]
    (script,) = container["args"]
    return str(script)


def auditor_lines(script: str) -> list[list[str]]:
    """Every `auditor …` command of a shell script: continuations joined, `|| …` cut off."""
    joined = re.sub(r"\\\n\s*", " ", script)
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line.strip(), comments=True)
        if words[:1] == ["auditor"]:
            cut = [i for i, w in enumerate(words) if w in ("||", "&&", ";", "|")]
            commands.append(words[1 : cut[0] if cut else None])
    return commands


def test_every_many_tenant_manifest_parses():
    for path in sorted(K8S.glob("*.yaml")):
        for document in documents(path):
            assert document["apiVersion"] in ("v1", "batch/v1"), path
            assert document["metadata"]["namespace"] == "auditor", path
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert set(workflow["jobs"]) == {"plan", "audit", "portfolio"}


def test_the_shared_volume_is_read_write_many():
    claim = manifest("storage.yaml", "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


@pytest.mark.parametrize("where", ["indexed-job.yaml", "cronjob.yaml"])
def test_the_indexed_job_runs_one_pod_per_shard_and_tells_it_the_count(where):
    spec = shard_job_specs()[where]
    assert spec["completionMode"] == "Indexed"
    container = container_of(spec)
    env = {v["name"]: v for v in container["env"]}
    count = int(env["AUDITOR_SHARD_COUNT"]["value"])
    assert spec["completions"] == spec["parallelism"] == count
    # one failed shard neither re-runs nor stops the others (backoffLimit 0 would stop them all)
    assert spec["backoffLimitPerIndex"] == 0 and "backoffLimit" not in spec
    assert spec["activeDeadlineSeconds"] > 0
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"  # backoffLimitPerIndex requires it
    assert pod["securityContext"]["runAsUser"] == DOCKER_UID
    assert container["image"].endswith(f"/auditor:{image_version()}")
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    (run,) = auditor_lines(shard_script(spec))
    assert "--shard" not in run, "inside an Indexed Job the shard comes from JOB_COMPLETION_INDEX"
    workers = int(run[run.index("--workers") + 1])
    assert workers == int(container["resources"]["requests"]["cpu"])


@pytest.mark.parametrize("where", ["indexed-job.yaml", "cronjob.yaml"])
def test_the_shards_take_secrets_only_by_reference_and_share_one_claim(where):
    spec = shard_job_specs()[where]
    container, pod = container_of(spec), spec["template"]["spec"]
    for variable in container["env"]:
        assert not SECRET_NAME.search(variable["name"]) or "valueFrom" in variable, variable
    assert [s["secretRef"]["name"] for s in container["envFrom"]] == ["auditor-tenant-secrets"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    claim = manifest("storage.yaml", "PersistentVolumeClaim")["metadata"]["name"]
    for path, sub_path in (("/reports", "reports"), ("/history", "history")):
        assert mounts[path]["subPath"] == sub_path
        assert volumes[mounts[path]["name"]]["persistentVolumeClaim"]["claimName"] == claim
    assert "configMap" in volumes[mounts["/config"]["name"]]
    assert "secret" in volumes[mounts["/secrets/certs"]["name"]]
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    script = shard_script(spec)
    assert '"/history/shard-$shard-of-$AUDITOR_SHARD_COUNT.sqlite"' in script  # one per shard
    done = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_the_monthly_shards_are_the_indexed_job():
    one_off, monthly = shard_job_specs()["indexed-job.yaml"], shard_job_specs()["cronjob.yaml"]
    assert {k: v for k, v in one_off.items() if k != "ttlSecondsAfterFinished"} == monthly


def test_the_rollup_reads_what_the_shards_wrote_and_runs_after_them():
    one_off = manifest("rollup-job.yaml", "Job")["spec"]
    monthly = rollup_cronjob()["spec"]["jobTemplate"]["spec"]
    assert one_off["template"]["spec"]["containers"] == monthly["template"]["spec"]["containers"]
    (container,) = one_off["template"]["spec"]["containers"]
    assert container["command"] == ["auditor"] and container["args"] == [
        "portfolio", "--from", "/reports", "--tenants", "/config/tenants.toml"]  # fmt: skip
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/reports"]["subPath"] == "reports"
    shard_spec = shard_job_specs()["cronjob.yaml"]["template"]["spec"]
    (config,) = [v for v in shard_spec["volumes"] if v["name"] == "config"]
    for spec in (one_off, monthly):  # the shards' tenants.toml, so a missing tenant shows
        volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
        assert volumes[mounts["/config"]["name"]] == config
    shards, rollup = shard_cronjob()["spec"], rollup_cronjob()["spec"]
    assert shards["timeZone"] == rollup["timeZone"]
    start_minute, start_hour, *start_day = shards["schedule"].split()
    minute, hour, *day = rollup["schedule"].split()
    assert start_day == day == ["1", "*", "*"]
    latest_end_s = (
        int(start_hour) * 3600
        + int(start_minute) * 60
        + shards["startingDeadlineSeconds"]
        + shards["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    )
    assert int(hour) * 3600 + int(minute) * 60 > latest_end_s


def test_every_auditor_command_in_the_kubernetes_manifests_parses():
    commands = [auditor_lines(shard_script(spec)) for spec in shard_job_specs().values()]
    commands = [c for found in commands for c in found]
    commands += [container_of(manifest("rollup-job.yaml", "Job")["spec"])["args"]]
    assert [c[0] for c in commands] == ["run", "run", "portfolio"]
    for command in commands:
        if command[0] == "run":
            assert "{tenant}" in command[command.index("--out") + 1]
        check_command([a.replace("$work", "/tmp/history.sqlite") for a in command])


# -- GitHub Actions ------------------------------------------------------------------------------
def workflow_jobs() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"])


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in job["steps"] if s.get("name") == name]
    return dict(found)


def expand(text: str, shard: int, count: int) -> str:
    """The workflow's `${{ … }}` expressions as GitHub fills them in for one shard."""
    values = {
        "matrix.shard": str(shard),
        "needs.plan.outputs.count": str(count),
        "needs.plan.outputs.as_of": "2026-12-01",
    }
    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values.get(m[1], m[0]), text)


def tenants_toml(names_and_ids: list[tuple[str, str]], extra: str = "") -> str:
    return "".join(
        f'[[tenant]]\nname = "{name}"\ntenant_id = "{tenant_id}"\n{extra}\n'
        for name, tenant_id in names_and_ids
    )


def run_plan(tmp_path: Path, tenants: int) -> dict[str, str]:
    """The plan job's step, run by bash in a checkout holding `tenants` tenants."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    checkout = tmp_path / f"checkout-{tenants}"
    checkout.mkdir()
    ids = [(f"customer-{i}", str(uuid.uuid5(uuid.NAMESPACE_DNS, f"c{i}"))) for i in range(tenants)]
    (checkout / "tenants.toml").write_text(tenants_toml(ids), encoding="utf-8")
    output = checkout / "github_output"
    script = step(workflow["jobs"]["plan"], "Shards from tenants.toml")["run"]
    env = {**os.environ, **workflow["env"], "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(["bash", "-e", "-c", script], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


@pytest.mark.parametrize(("tenants", "shards"), [(0, 1), (3, 1), (60, 3), (200, 8), (999, 20)])
def test_the_plan_job_emits_every_shard_exactly_once(tmp_path, tenants, shards):
    outputs = run_plan(tmp_path, tenants)
    count = int(outputs["count"])
    assert count == shards
    matrix = json.loads(outputs["matrix"])
    assert sorted(matrix["shard"]) == list(range(1, count + 1)) == matrix["shard"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", outputs["as_of"])
    ids = [str(uuid.uuid5(uuid.NAMESPACE_DNS, f"c{i}")) for i in range(tenants)]
    assert {shard_of(tenant_id, count) for tenant_id in ids} <= set(matrix["shard"])


def test_the_audit_matrix_uploads_what_the_portfolio_downloads():
    jobs = workflow_jobs()
    audit, portfolio = jobs["audit"], jobs["portfolio"]
    assert audit["needs"] == "plan"
    assert audit["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert audit["strategy"]["fail-fast"] is False
    uploads = [
        s for s in audit["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")
    ]
    assert all(s["uses"] == "actions/upload-artifact@v4" and s["if"] == "${{ always() }}"
               for s in uploads)  # fmt: skip
    (evidence,) = [s for s in uploads if s["with"]["path"] == "reports/"]
    names = {expand(evidence["with"]["name"], k, 4) for k in range(1, 5)}
    assert len(names) == 4, "artifact names must be unique in a run since upload-artifact@v4"
    (download,) = [
        s for s in portfolio["steps"] if s.get("uses", "").startswith("actions/download")
    ]
    assert download["uses"] == "actions/download-artifact@v4"
    assert download["with"]["merge-multiple"] is True and download["with"]["path"] == "reports"
    assert all(fnmatch.fnmatchcase(name, download["with"]["pattern"]) for name in names)
    history = [s for s in uploads if s is not evidence]
    assert not fnmatch.fnmatchcase(history[0]["with"]["name"], download["with"]["pattern"])
    assert set(portfolio["needs"]) == {"plan", "audit"}
    assert portfolio["if"] == "${{ !cancelled() }}", "a failed shard's tenants must still show"


def test_every_run_step_of_the_workflow_is_valid_bash():
    for name, job in workflow_jobs().items():
        for each in job["steps"]:
            if "run" in each:
                script = expand(each["run"], 2, 4)
                done = subprocess.run(["bash", "-n", "-c", script], capture_output=True,
                                      text=True, timeout=30)  # fmt: skip
                assert done.returncode == 0, (name, each.get("name"), done.stderr)


def test_every_auditor_command_in_the_workflow_parses():
    jobs = workflow_jobs()
    audit = step(jobs["audit"], "Audit this shard's tenants")["run"]
    for shard in (1, 2, 3):
        (run,) = auditor_lines(expand(audit, shard, 3))
        assert run[:3] == ["run", "--tenants", "tenants.toml"]
        assert run[run.index("--shard") + 1] == f"{shard}/3"
        assert run[run.index("--out") + 1] == "reports/{tenant}/{period}"
        check_command(run)
    (rollup,) = auditor_lines(expand(step(jobs["portfolio"], "Roll up")["run"], 1, 3))
    assert rollup[:3] == ["portfolio", "--from", "reports"]
    assert rollup[rollup.index("--tenants") + 1] == "tenants.toml"  # a missing tenant shows
    check_command(rollup)


# -- the Kubernetes shard script, run as written against loopback Graph tenants ------------------
# Few and small tenants keep the runs cheap: shard 1 audits one tenant and shard 2 two (checked
# below), so a shard holding several tenants and one holding a single tenant are both run. The
# tenants' auditor.toml (a user's own configuration, beside tenants.toml as the recipes keep it)
# asks for findings.json only: what the shards hand over and the roll-up reads; the PDF and the
# workbook each run writes are tested in test_auditor_pdf.py and test_render_xlsx.py.
TENANTS = ["alpine-dental", "borealis-legal", "cobalt-freight"]
SHARDS = 2
FINDINGS_ONLY = '[output]\nformats = ["json"]\n'


def tenant_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://example.com/tenants/{name}"))


def token(name: str) -> str:
    return f"eyJ0eXAiOiJKV1QifQ.{name}.signature"


def on_this_machine(script: str, root: Path) -> str:
    """The pod's paths (/config, /reports, /history, /tmp) moved under `root`."""
    return re.sub(r"(?<![\w.-])/(config|reports|history|tmp)/", rf"{root}/\1/", script)


def test_the_kubernetes_shards_audit_every_tenant_once_and_roll_up(tmp_path):
    assert sorted(shard_of(tenant_id(n), SHARDS) for n in TENANTS) == [1, 2, 2]  # none empty
    servers = [GraphServer(4 + 2 * i, seed=i + 1, accepted_tokens=[token(n)],
                           export_polls=0).start() for i, n in enumerate(TENANTS)]  # fmt: skip
    try:
        (tmp_path / "config").mkdir()
        (tmp_path / "history").mkdir()
        (tmp_path / "reports").mkdir()
        (tmp_path / "config" / "auditor.toml").write_text(FINDINGS_ONLY, encoding="utf-8")
        (tmp_path / "config" / "tenants.toml").write_text('[defaults]\nconfig = "auditor.toml"\n\n'
            + "".join(
            f'[[tenant]]\nname = "{n}"\ntenant_id = "{tenant_id(n)}"\ngraph_url = "{s.url}"\n\n'
            for n, s in zip(TENANTS, servers, strict=True)), encoding="utf-8")  # fmt: skip
        spec = shard_job_specs()["indexed-job.yaml"]
        script = on_this_machine(shard_script(spec), tmp_path)
        env = {**os.environ, "PATH": f"{INSTALLED}:/usr/bin:/bin", "AUDITOR_SHARD_COUNT": "2"}
        env |= {f"AUDITOR_{n.upper().replace('-', '_')}_GRAPH_TOKEN": token(n) for n in TENANTS}
        audited: dict[int, set[str]] = {}
        for index in range(SHARDS):
            (tmp_path / "tmp").mkdir()  # each pod has its own emptyDir
            before = {p.name for p in (tmp_path / "reports").iterdir()}
            pod_env = env | {"JOB_COMPLETION_INDEX": str(index)}
            done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True,
                                  env=pod_env, timeout=600)  # fmt: skip
            assert done.returncode == 0, done.stderr
            audited[index + 1] = {p.name for p in (tmp_path / "reports").iterdir()} - before
            (tmp_path / "tmp").rename(tmp_path / f"pod-{index}-tmp")
        assert audited == {k: {n for n in TENANTS if shard_of(tenant_id(n), SHARDS) == k}
                           for k in (1, 2)}  # fmt: skip
        for name in TENANTS:
            (folder,) = (tmp_path / "reports" / name).iterdir()  # {period}
            findings = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
            assert findings["run"]["tenant_name"] == name
            assert not (folder / "report.pdf").exists()  # [defaults] config reached the shard
        kept = sorted(p.name for p in (tmp_path / "history").iterdir())
        assert kept == ["shard-1-of-2.sqlite", "shard-2-of-2.sqlite"]
        rollup = container_of(manifest("rollup-job.yaml", "Job")["spec"])
        command = [on_this_machine(a + "/", tmp_path).rstrip("/") for a in rollup["args"]]
        done = subprocess.run([str(INSTALLED / "auditor"), *command], capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
        portfolio = (tmp_path / "reports" / "portfolio.json").read_text(encoding="utf-8")
        assert all(f'"{n}"' in portfolio for n in TENANTS)
    finally:
        for server in servers:
            server.stop()


def test_the_workflow_audits_every_tenant_once_and_fails_on_a_missing_one(tmp_path):
    """plan → one runner per shard → merged artifacts → portfolio → the completeness check."""
    jobs = workflow_jobs()
    assert sorted(shard_of(tenant_id(n), SHARDS) for n in TENANTS) == [1, 2, 2]  # none empty
    servers = [GraphServer(3 + 2 * i, seed=i + 1, accepted_tokens=[token(n)],
                           export_polls=0).start() for i, n in enumerate(TENANTS)]  # fmt: skip
    try:
        checkout = tmp_path / "checkout"
        checkout.mkdir()
        (checkout / "auditor.toml").write_text(FINDINGS_ONLY, encoding="utf-8")  # read from cwd
        (checkout / "tenants.toml").write_text("".join(
            f'[[tenant]]\nname = "{n}"\ntenant_id = "{tenant_id(n)}"\ngraph_url = "{s.url}"\n\n'
            for n, s in zip(TENANTS, servers, strict=True)), encoding="utf-8")  # fmt: skip
        env = {
            **os.environ,
            **yaml.safe_load(WORKFLOW.read_text())["env"],
            "TENANTS_PER_SHARD": "2",
        }
        env |= {"PATH": f"{INSTALLED}:/usr/bin:/bin", "APP_CERTIFICATE": "not a certificate"}
        env |= {f"AUDITOR_{n.upper().replace('-', '_')}_GRAPH_TOKEN": token(n) for n in TENANTS}

        def bash(script: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env | extra,
                                  capture_output=True, text=True, timeout=600)  # fmt: skip

        plan = bash(step(jobs["plan"], "Shards from tenants.toml")["run"], checkout,
                    GITHUB_OUTPUT=str(tmp_path / "plan-output"))  # fmt: skip
        assert plan.returncode == 0, plan.stderr
        outputs = dict(
            line.split("=", 1) for line in (tmp_path / "plan-output").read_text().splitlines()
        )
        count = int(outputs["count"])
        assert count == SHARDS  # three tenants, two per shard
        merged = tmp_path / "merged" / "reports"  # download-artifact, merge-multiple: true
        merged.mkdir(parents=True)
        audited: dict[int, set[str]] = {}
        for shard in json.loads(outputs["matrix"])["shard"]:
            runner = tmp_path / f"runner-{shard}"
            shutil.copytree(checkout, runner)
            (runner / "history").mkdir()
            script = step(jobs["audit"], "Audit this shard's tenants")["run"]
            done = bash(expand(script, shard, count), runner)
            assert done.returncode == 0, done.stderr
            assert not (runner / "certs" / "auditor-app.pem").exists()  # deleted after the run
            reports = runner / "reports"
            audited[shard] = {p.name for p in reports.iterdir()} if reports.is_dir() else set()
            if reports.is_dir():
                shutil.copytree(reports, merged, dirs_exist_ok=True)
        assert audited == {k: {n for n in TENANTS if shard_of(tenant_id(n), count) == k}
                           for k in range(1, count + 1)}  # fmt: skip
        assert not list(merged.rglob("report.pdf"))  # the checkout's auditor.toml was read
        workspace = merged.parent
        shutil.copy(checkout / "tenants.toml", workspace)
        rollup = bash(expand(step(jobs["portfolio"], "Roll up")["run"], 1, count), workspace)
        assert rollup.returncode == 0, rollup.stderr
        assert (merged / "portfolio.json").is_file() and (merged / "portfolio.pdf").is_file()
        check = step(jobs["portfolio"], "Every tenant of tenants.toml has a folder")["run"]
        assert bash(check, workspace).returncode == 0
        lost = sorted(audited[max(audited, key=lambda k: len(audited[k]))])
        for name in lost:  # a shard that died before uploading its artifact
            shutil.rmtree(merged / name)
        rollup = bash(expand(step(jobs["portfolio"], "Roll up")["run"], 1, count), workspace)
        assert rollup.returncode == 0, rollup.stderr  # the portfolio is still written
        rows = json.loads((merged / "portfolio.json").read_bytes())["tenants"]
        assert [r["name"] for r in rows if r["outcome"] == "not_audited"] == lost
        missing = bash(check, workspace)
        assert missing.returncode != 0 and all(n in missing.stderr for n in lost), missing.stderr
    finally:
        for server in servers:
            server.stop()
