"""The scheduling recipes in docs/: each example parses, and each auditor command in it is valid."""

import importlib.util
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLES = DOCS / "examples"
# Used when the auditor.cli package is absent: the flags `auditor run` is documented to take.
RUN_FLAGS = {"--input", "--source", "--as-of", "--format", "--out", "--config", "--waivers",
             "--history", "--no-history", "--fail-on", "--only-new", "--sign-key", "--cloud",
             "--graph-url", "--allow-partial", "--no-notify", "--notify-required"}  # fmt: skip
SHELL_EXPANSION = re.compile(r'^"?\$\{?\w+(\[@\])?\}?"?$')  # "${sign[@]}": filled in at run time


def check_command(args: list[str]) -> None:
    """Parse `auditor ARGS` with the real click command (or check run's flags without it)."""
    args = [a for a in args if not SHELL_EXPANSION.match(a)]
    flags = {a.split("=")[0] for a in args if a.startswith("--")}
    if importlib.util.find_spec("auditor.cli") is None:
        assert args[0] == "run" and flags <= RUN_FLAGS, args
        return
    import click

    from auditor.cli import cli

    command = cli.commands[args[0]]
    known = {o for p in command.params for o in p.opts}
    assert flags <= known, f"unknown flags {flags - known} in {args}"
    try:
        command.make_context(args[0], args[1:])
    except click.BadParameter as exc:  # paths that exist only on the scheduling machine
        assert "does not exist" in exc.format_message(), exc.format_message()


def auditor_commands(script: str) -> list[list[str]]:
    """Every `auditor …` command in a shell script, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", script)
    commands = []
    for line in joined.splitlines():
        found = re.search(r"(?:^|&& |exec |run: )\S*auditor (\w+ .*?)(?: >>.*|'?$)", line.strip())
        if found:
            commands.append(shlex.split(found.group(1), comments=True))
    return commands


def test_the_workflow_runs_monthly_and_signs_in_without_a_secret():
    workflow = yaml.safe_load((EXAMPLES / "github-workflow.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    (schedule,) = triggers["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month, weekday) == ("1", "*", "*") and minute.isdigit() and hour.isdigit()
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "read", "id-token": "write", "actions": "read"}
    steps = workflow["jobs"]["audit"]["steps"]
    (login,) = [s for s in steps if s.get("uses", "").startswith("azure/login@")]
    assert login["with"]["allow-no-subscriptions"] is True
    assert login["with"]["client-id"] == "${{ vars.AZURE_CLIENT_ID }}"
    script = "\n".join(s.get("run", "") for s in steps)
    assert "az account get-access-token --resource-type ms-graph" in re.sub(r"\\\n\s*", "", script)
    assert "::add-mask::$AUDITOR_GRAPH_TOKEN" in script
    uploads = [s["with"]["name"] for s in steps if s.get("uses", "").startswith("actions/upload")]
    assert uploads == ["auditor-reports-${{ env.PERIOD }}", "auditor-history"]


def test_the_workflow_commands_are_valid_auditor_invocations():
    workflow = yaml.safe_load((EXAMPLES / "github-workflow.yml").read_text())
    script = "\n".join(s.get("run", "") for s in workflow["jobs"]["audit"]["steps"])
    commands = auditor_commands(script)
    assert [c[0] for c in commands] == ["run", "verify"]
    run = commands[0]
    assert run[run.index("--history") + 1] == "history/history.sqlite"
    for command in commands:
        check_command(command)


def test_the_crontab_line_is_a_monthly_auditor_run():
    lines = [
        line
        for line in (EXAMPLES / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not re.match(r"^\w+=", line)
    ]
    (entry,) = lines
    minute, hour, day, month, weekday, command = entry.split(maxsplit=5)
    assert (day, month, weekday) == ("1", "*", "*") and minute.isdigit() and hour.isdigit()
    assert "%" not in command.replace(r"\%", ""), "cron reads a bare % as a newline"
    (run,) = auditor_commands(command.replace(r"\%", "%"))
    assert run[0] == "run" and "--history" in run and "--out" in run
    check_command(run)
    assert_shell_syntax(command.replace(r"\%", "%"))


def assert_shell_syntax(script: str) -> None:
    """`sh -n`: parse the script without running anything."""
    done = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def unit_command(text: str) -> list[str]:
    """The auditor command of the service's ExecStart, after systemd's own unescaping."""
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", text, flags=re.MULTILINE)
    expanded = exec_start.replace("%%", "\0").replace("%S", "/var/lib").replace("%d", "/run/creds")
    expanded = expanded.replace("$$", "$").replace("\0", "%")
    shell = shlex.split(expanded)
    assert shell[:2] == ["/bin/sh", "-c"]
    assert_shell_syntax(shell[2])
    (command,) = auditor_commands(shell[2])
    return command


def test_the_service_runs_auditor_into_a_folder_per_period():
    service = (EXAMPLES / "auditor.service").read_text()
    command = unit_command(service)
    assert command[command.index("--out") + 1] == "/var/lib/auditor/reports/$(date -u +%Y-%m)"
    check_command(command)
    timer = (EXAMPLES / "auditor.timer").read_text()
    assert re.search(r"^OnCalendar=\*-\*-01 \d\d:\d\d:\d\d", timer, flags=re.MULTILINE)
    assert "Persistent=true" in timer


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    for name in ("auditor.service", "auditor.timer"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "auditor.timer", "auditor.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # no unknown keys, no warnings


def test_every_complete_command_in_the_guide_is_valid():
    guide = (DOCS / "scheduling.md").read_text()
    blocks = re.findall(r"```(?:sh|cron|yaml)\n(.*?)```", guide, flags=re.DOTALL)
    commands = [c for block in blocks for c in auditor_commands(block.replace(r"\%", "%"))]
    assert len(commands) >= 4
    for command in commands:
        if "…" not in command:
            check_command(command)


REPO = DOCS.parent
DOCKER_UID = 10001  # the Dockerfile's `USER 10001:10001`
SECRET_NAME = re.compile(r"(URL|PASSWORD|SECRET|TOKEN|KEY)$")


def image_version() -> str:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_the_container_apps_job_runs_the_image_monthly_with_secrets_by_reference():
    job = yaml.safe_load((EXAMPLES / "container-apps-job.yaml").read_text())
    assert job["identity"]["type"] == "UserAssigned"
    configuration = job["properties"]["configuration"]
    assert configuration["triggerType"] == "Schedule"
    schedule = configuration["scheduleTriggerConfig"]
    minute, hour, day, month, weekday = schedule["cronExpression"].split()
    assert (day, month, weekday) == ("1", "*", "*") and minute.isdigit() and hour.isdigit()
    assert schedule["parallelism"] == 1 and configuration["replicaRetryLimit"] == 0
    secrets = {s["name"]: s for s in configuration["secrets"]}
    assert all("keyVaultUrl" in s and "value" not in s for s in secrets.values())
    template = job["properties"]["template"]
    (container,) = template["containers"]
    assert container["image"].endswith(f"/auditor:{image_version()}")
    for variable in container["env"]:
        assert ("value" in variable) != ("secretRef" in variable), variable
        if SECRET_NAME.search(variable["name"]):
            assert variable["secretRef"] in secrets, variable
    mounts = {m["mountPath"]: m["volumeName"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in template["volumes"]}
    assert volumes[mounts["/data"]]["storageType"] == "AzureFile"
    assert all(s["secretRef"] in secrets for s in volumes[mounts["/secrets"]]["secrets"])
    check_command(["run", *container["args"]])  # the image's entrypoint runs `auditor run ARGS`


def test_the_kubernetes_cronjob_runs_the_image_as_non_root_monthly():
    cronjob = yaml.safe_load((EXAMPLES / "kubernetes-cronjob.yaml").read_text())
    assert (cronjob["apiVersion"], cronjob["kind"]) == ("batch/v1", "CronJob")
    spec = cronjob["spec"]
    minute, hour, day, month, weekday = spec["schedule"].split()
    assert (day, month, weekday) == ("1", "*", "*") and minute.isdigit() and hour.isdigit()
    assert (
        spec["concurrencyPolicy"] == "Forbid" and spec["jobTemplate"]["spec"]["backoffLimit"] == 0
    )
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == DOCKER_UID
    (container,) = pod["containers"]
    assert container["image"].endswith(f"/auditor:{image_version()}")
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    for variable in container["env"]:
        if SECRET_NAME.search(variable["name"]):
            assert "secretKeyRef" in variable["valueFrom"], variable
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert "persistentVolumeClaim" in volumes[mounts["/data"]]
    assert "emptyDir" in volumes[mounts["/tmp"]], "a read-only root needs a writable /tmp"
    assert "secret" in volumes[mounts["/secrets"]]
    check_command(["run", *container["args"]])


def test_the_dockerfile_user_and_volume_match_the_recipes():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert f"USER {DOCKER_UID}:{DOCKER_UID}" in dockerfile
    assert 'VOLUME ["/data"]' in dockerfile
    entrypoint = (REPO / "docker" / "auditor-monthly").read_text()
    assert '--out "$data/reports/{period}"' in entrypoint
