"""Acceptance, end to end: the `auditor` command notifying loopback Teams, Slack and SMTP
endpoints (tests/notify_endpoints.py) about audits of the bundled sample tenant. The command runs
in this process (tests/cli_runner.py: `cli.main`, the entry point's code path, with its exit code,
stdout and stderr); tests/test_cli.py keeps the runs in a fresh interpreter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import auditor
from notify_endpoints import Answer, HttpReceiver, SmtpServer
from pypdf import PdfReader

REPO = Path(__file__).resolve().parent.parent
TEAMS = "/workflows/acceptance/triggers/manual/paths/invoke"
SIG = "Zq9-acceptance-sig-never-shown"
SLACK_TOKEN = "T000/B000/acceptance-slack-secret"
PASSWORD = "acceptance-smtp-password-7e2"
SEVERITIES = ("critical", "high", "medium", "low", "info")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notify-cli")
    receiver = HttpReceiver()
    receiver.answer(TEAMS, default=Answer(202))
    receiver.answer(f"/services/{SLACK_TOKEN}", default=Answer(500, b"slack is down"))
    smtp = SmtpServer(folder, "auditor", PASSWORD)
    sample = (REPO / "sample_data" / "auditor.toml").read_text()
    channels = f"""
[notify]
retries = 1
retry_delay_s = 0.05
attach = ["pdf"]
report_url = "https://reports.example/{{period}}/"

[notify.channels.it-teams]
type = "teams"
url_env = "TEAMS_WEBHOOK_URL"

[notify.channels.security-mail]
type = "smtp"
url = "smtp://auditor@127.0.0.1:{smtp.port}"
password_env = "SMTP_PASSWORD"
from = "auditor@contoso.example"
to = ["security@contoso.example"]
"""
    broken = """
[notify.channels.slack-down]
type = "slack"
url_env = "SLACK_WEBHOOK_URL"
"""
    (folder / "good.toml").write_text(sample + channels)
    (folder / "auditor.toml").write_text(sample + channels + broken)
    env = {
        "TEAMS_WEBHOOK_URL": f"{receiver.root}{TEAMS}?api-version=2016-06-01&sig={SIG}",
        "SLACK_WEBHOOK_URL": f"{receiver.root}/services/{SLACK_TOKEN}",
        "SMTP_PASSWORD": PASSWORD,
        "SSL_CERT_FILE": str(smtp.ca_file),
    }
    yield folder, receiver, smtp, env
    receiver.close()
    smtp.close()


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (SIG, SLACK_TOKEN, PASSWORD):
            assert secret not in text


@pytest.fixture(scope="module")
def september(site):
    folder, receiver, smtp, env = site
    common = ["--config", "auditor.toml", "--history", "history.sqlite", "-v"]
    # August only fills the history September compares with: no report of it is read
    august = auditor("run", "--as-of", "2026-08-01", "--out", "r/08", "--no-notify", *common[:4],
                     "--format", "json", env=env, cwd=folder)  # fmt: skip
    assert august.returncode == 0, august.stderr
    assert receiver.requests == [] and smtp.messages == [], "--no-notify sends nothing"
    done = auditor(
        "-v", "run", "--as-of", "2026-09-01", "--out", "r/09", *common[:4], env=env, cwd=folder
    )
    return done, folder / "r" / "09"


def test_one_card_and_one_mail_whose_numbers_equal_findings_json(site, september):
    _, receiver, smtp, _ = site
    done, out = september
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "findings.json").read_text())
    summary, changes = data["summary"], data["changes"]
    (card_request,) = receiver.at(TEAMS)
    card = card_request.json()["attachments"][0]["content"]
    (facts,) = [b["facts"] for b in card["body"] if b["type"] == "FactSet"]
    facts = {f["title"]: f["value"] for f in facts}
    failing = " · ".join(f"{s} {summary['fail_by_severity'][s]:,}" for s in SEVERITIES)
    new = " · ".join(f"{s} {changes['new_by_severity'][s]:,}" for s in SEVERITIES)
    posture = f"{summary['posture']['pct']:.1f} % ({summary['posture']['devices']:,} of "
    assert facts["Macs"] == f"{summary['devices']:,}"
    assert facts["Failing now (results)"] == failing
    assert facts["New since last period"] == f"{new} (vs 2026-08)"
    assert facts["Posture"].startswith(posture)
    previous = changes["trend"][-2]["posture_pct"]
    delta = round(summary["posture"]["pct"] - previous, 1)
    assert f"{delta:+.1f} points since 2026-08 ({previous:.1f} %)" in facts["Posture"]
    assert card["actions"][0]["url"] == "https://reports.example/2026-09/"
    (message,) = smtp.messages
    _sender, recipients, mail, is_tls = message
    assert (recipients, is_tls) == (["security@contoso.example"], True)
    text = mail.get_body(("plain",)).get_content()
    for value in (facts["Macs"], failing, new, posture):
        assert value in text
    (pdf,) = list(mail.iter_attachments())
    assert pdf.get_filename() == "report.pdf"
    assert pdf.get_content() == (out / "report.pdf").read_bytes()
    assert "Intune Mac audit" in PdfReader(out / "report.pdf").pages[0].extract_text()


def test_a_failing_channel_leaves_reports_and_exit_code_alone_and_is_named(site, september):
    folder, _, _, env = site
    done, out = september
    assert done.returncode == 0, done.stderr
    assert "slack-down (slack): FAILED after 2 attempts" in done.stderr
    assert "auditor.notify" in done.stderr and "WARNING" in done.stderr  # the log names it too
    assert "it-teams (teams): delivered" in done.stderr
    assert "security-mail (smtp): delivered" in done.stderr
    verified = auditor("verify", str(out), env=env, cwd=folder)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert_no_secret(done.stdout, done.stderr)
    for path in out.iterdir():
        assert_no_secret(path.read_bytes().decode("latin-1"))


def test_the_run_ends_with_an_outcome_summary(september):
    done, out = september
    lines = done.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("auditor: Contoso"))
    summary = "\n".join(lines[start:])
    assert "period 2026-09 (as of 2026-09-01)" in summary
    assert "points since 2026-08" in summary
    assert "new since 2026-08: critical" in summary
    assert (
        f"reports: {out.resolve()} (findings.json, report.xlsx, report.pdf, manifest.json)"
        in summary
    )
    assert "notifications:" in summary


def test_fail_on_keeps_exit_3_and_notify_required_makes_a_failed_channel_exit_8(site, september):
    folder, _, _, env = site
    common = [
        "--as-of",
        "2026-09-01",
        "--config",
        "auditor.toml",
        "--no-history",
        "--format",
        "json",
    ]
    gated = auditor("run", "--out", "r/gate", "--fail-on", "critical", *common, env=env, cwd=folder)
    assert gated.returncode == 3, gated.stderr
    assert "slack-down (slack): FAILED" in gated.stderr
    required = auditor("run", "--out", "r/req", "--notify-required", *common, env=env, cwd=folder)
    assert required.returncode == 8, required.stderr
    assert "notification failed for slack-down" in required.stderr
    assert (folder / "r" / "req" / "findings.json").is_file(), "the reports are kept"
    unset = {**env, "SMTP_PASSWORD": ""}
    early = auditor("run", "--out", "r/none", "--notify-required", *common, env=unset, cwd=folder)
    assert early.returncode == 2 and "SMTP_PASSWORD is not set" in early.stderr
    assert not (folder / "r" / "none").exists(), "refused before any work"


def test_notify_test_exits_0_when_every_channel_answers_and_names_each_failing_one(site):
    folder, _receiver, smtp, env = site
    sent = len(smtp.messages)
    good = auditor("notify", "--test", "--config", "good.toml", env=env, cwd=folder)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "it-teams (teams): delivered" in good.stdout
    assert len(smtp.messages) == sent + 1
    assert "test message" in smtp.messages[-1][2]["Subject"]
    bad = auditor("notify", "--test", "--config", "auditor.toml", env=env, cwd=folder)
    assert bad.returncode == 8, bad.stdout + bad.stderr
    assert "1 channel(s) failed: slack-down" in bad.stderr
    assert_no_secret(good.stdout, good.stderr, bad.stdout, bad.stderr)


def test_notify_resends_a_finished_evidence_folder(site, september):
    folder, receiver, _, env = site
    before = len(receiver.at(TEAMS))
    done = auditor(
        "notify", "r/09", "--config", "good.toml", "--channel", "it-teams", env=env, cwd=folder
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(receiver.at(TEAMS)) == before + 1
    first, again = receiver.at(TEAMS)[0].json(), receiver.at(TEAMS)[-1].json()
    facts = lambda p: [b for b in p["attachments"][0]["content"]["body"] if b["type"] == "FactSet"]  # noqa: E731
    assert facts(first) == facts(again), "the same numbers from the same findings.json"


def test_a_run_that_fails_is_announced(site):
    folder, receiver, _, env = site
    before = len(receiver.at(TEAMS))
    (folder / "broken.json").write_text("{not json")
    done = auditor(
        "run",
        "--input",
        "broken.json",
        "--config",
        "good.toml",
        "--out",
        "r/x",
        env=env,
        cwd=folder,
    )
    assert done.returncode == 4, done.stderr
    assert "FAILED (exit 4), no reports written" in done.stderr
    card = receiver.at(TEAMS)[before].json()["attachments"][0]["content"]
    texts = [i["text"] for b in card["body"] if b["type"] == "RichTextBlock" for i in b["inlines"]]
    assert texts[0].startswith("Mac audit FAILED")
    assert any("broken.json" in t for t in texts)
