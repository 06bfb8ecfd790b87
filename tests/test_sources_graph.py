"""The Graph source against a loopback Graph-shaped server, through the real msgraph-sdk and HTTP.

Every case ends in a complete snapshot, a clear error, or (with allow_partial) a snapshot that
says it is partial: never silent partial data.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import CertificateCredential, ClientSecretCredential, DefaultAzureCredential
from graph_server import Fault, ForwardProxy, GraphServer, serve

from auditor.config import GraphConfig, load_config
from auditor.errors import ConfigError, PartialSourceError, SourceError
from auditor.sources.graph import (
    GraphSettings,
    fetch_snapshot,
    fetch_to_file,
    settings_from_config,
)
from auditor.sources.graph_auth import CLOUDS, StaticTokenCredential, make_credential
from auditor.sources.graph_network import GraphRoots, TokenDestinationError, scrub_userinfo
from auditor.sources.graph_parts import LIST_FIELDS
from auditor.sources.snapshot import load_snapshot, write_snapshot


class RotatingCredential:
    """Stands in for Entra ID: every call issues a new token tok-1, tok-2, …"""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken(f"tok-{self.calls}", int(time.time()) + 3600)


def fast(graph: GraphServer, **overrides: Any) -> GraphSettings:
    """Settings for the loopback server with test-sized delays."""
    values: dict[str, Any] = {
        "graph_url": graph.url, "progress": False, "backoff_base_s": 0.01, "export_poll_s": 0.01,
        "request_timeout_s": 5.0, "max_concurrency": 4,
    }  # fmt: skip
    return GraphSettings(**(values | overrides))


def pull(graph: GraphServer, credential: Any = None, **overrides: Any) -> dict[str, Any]:
    return fetch_snapshot(fast(graph, **overrides), credential=credential or RotatingCredential())


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loopback servers are reached directly whatever the developer's shell says."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "AUDITOR_GRAPH_PROXY_USER",
                 "AUDITOR_GRAPH_PROXY_PASSWORD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def no_azure_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("AUDITOR_GRAPH_TOKEN", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


def status_of(snapshot: dict[str, Any]) -> dict[str, str]:
    return {name: part["status"] for name, part in snapshot["parts"].items()}


# -- the complete pull ------------------------------------------------------------------------


def test_complete_pull_has_every_part_paged_detailed_and_reconciled() -> None:
    with serve(45, page_size=7) as graph:
        snapshot = pull(graph)
    macs = {d["id"]: d for d in graph.macs}
    assert snapshot["complete"] is True
    assert set(status_of(snapshot).values()) == {"ok"}
    assert snapshot["gaps"] == []
    listed = snapshot["parts"]["managed_devices"]["records"]
    assert sorted(r["id"] for r in listed) == sorted(macs)  # 7 pages, the Windows PCs filtered out
    assert len(graph.requests_to("/v1.0/deviceManagement/managedDevices")) == 7
    list_calls = graph.requests_to("/v1.0/deviceManagement/managedDevices")
    assert all("%24filter=operatingSystem" in s.query or "$filter" in s.query for s in list_calls)
    assert set(listed[0]) == set(LIST_FIELDS)  # $select honoured, v1.0 names only
    details = {r["id"]: r for r in snapshot["parts"]["device_details"]["records"]}
    assert set(details) == set(macs)
    escrowed = [d["bootstrapTokenEscrowed"] for d in details.values()]
    assert escrowed == [
        macs[i]["bootstrapTokenEscrowed"] for i in details
    ]  # real values, not list defaults
    assert True in escrowed
    assert all(d["hardwareInformation"]["productName"] for d in details.values())
    assert len(graph.requests_to("/beta/deviceManagement/managedDevices/")) == 45
    export = snapshot["parts"]["export_devices"]["records"]
    assert sorted(r["DeviceId"] for r in export) == sorted(macs)
    assert {"UserApprovedEnrollment", "SupervisedStatus"} <= set(export[0])
    assert snapshot["reconciliation"] == {"listed": 45, "exported": 45, "only_in_list": [],
                                          "only_in_export": [], "recovered": []}  # fmt: skip
    assert snapshot["parts"]["apns"]["records"][0]["expirationDateTime"] == "2026-10-02T08:14:59Z"
    assert len(snapshot["parts"]["ade_tokens"]["records"]) == 2
    profiles = snapshot["parts"]["ade_profiles"]["records"]
    assert {p["tokenId"] for p in profiles} == {snapshot["parts"]["ade_tokens"]["records"][0]["id"]}
    configs = snapshot["parts"]["enrollment_configurations"]["records"]
    assert "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration" in {
        c["@odata.type"] for c in configs
    }
    assert snapshot["graph_url"] == graph.url
    assert snapshot["stats"]["requests"] >= 45 + 7


def test_export_zip_is_downloaded_without_the_graph_token() -> None:
    with serve(5) as graph:
        pull(graph)
    assert graph.blob_authorizations == [None]
    graph_calls = [s for s in graph.seen if not s.path.startswith("/_blob/")]
    assert all(s.authorization == "Bearer tok-1" for s in graph_calls)


def test_snapshot_holds_no_token_and_no_signed_url(
    tmp_path: Path, no_azure_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-part.signature"
    no_azure_env.setenv("AUDITOR_GRAPH_TOKEN", secret)
    caplog.set_level(logging.DEBUG)
    with serve(6, accepted_tokens={secret}) as graph:
        snapshot = fetch_snapshot(fast(graph))
    path = tmp_path / "snapshot.json"
    write_snapshot(snapshot, path)
    text = path.read_text()
    assert snapshot["complete"] is True
    for leaked in (secret, "secret-part", "SAS-SIGNATURE-SECRET", "sig="):
        assert leaked not in text
        assert leaked not in caplog.text


# -- throttling and transient faults ------------------------------------------------------------


def test_throttled_requests_are_retried_after_retry_after() -> None:
    wait = {"Retry-After": "1"}
    faults = [
        Fault(r"GET /v1\.0/deviceManagement/managedDevices\?.*skiptoken=page1", 429, headers=wait),
        Fault(r"GET /beta/deviceManagement/managedDevices/", 429, headers=wait),
    ]  # fmt: skip
    with serve(12, page_size=5, faults=faults) as graph:
        snapshot = pull(graph)
    assert snapshot["complete"] is True
    assert set(status_of(snapshot).values()) == {"ok"}
    assert len(snapshot["parts"]["device_details"]["records"]) == 12
    assert snapshot["stats"]["throttled"] == 2
    listed = [s for s in graph.seen if s.path.endswith("/deviceManagement/managedDevices")]
    assert [s.status for s in listed if "skiptoken=page1" in s.query] == [429, 200]


def test_unavailable_answers_are_retried_until_success() -> None:
    faults = [
        Fault(r"GET /v1\.0/deviceManagement/applePushNotificationCertificate", 503, times=2),
        Fault(r"POST /beta/\$batch", 504),
        Fault(r"GET /beta/deviceManagement/managedDevices/", 503),
        Fault(r"GET /beta/deviceManagement/deviceEnrollmentConfigurations", 503, times=1),
    ]
    with serve(10, faults=faults) as graph:
        snapshot = pull(graph)
    assert snapshot["complete"] is True
    assert set(status_of(snapshot).values()) == {"ok"}
    assert snapshot["stats"]["retries"] >= 5
    assert len(snapshot["parts"]["device_details"]["records"]) == 10


def test_a_slow_answer_times_out_and_is_retried() -> None:
    faults = [
        Fault(r"GET /v1\.0/deviceManagement/applePushNotificationCertificate", 0, delay_s=1.0)
    ]
    with serve(3, faults=faults) as graph:
        snapshot = pull(graph, request_timeout_s=0.3)
    assert snapshot["parts"]["apns"]["status"] == "ok"
    assert snapshot["stats"]["retries"] >= 1


def test_a_body_cut_off_once_is_retried_and_the_pull_completes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="auditor")
    cut = [Fault(r"GET /v1\.0/deviceManagement/managedDevices\?", 0, cut_body=True)]
    with serve(30, page_size=10, faults=cut) as graph:
        snapshot = pull(graph)
    assert snapshot["complete"] is True
    assert set(status_of(snapshot).values()) == {"ok"}
    assert len(snapshot["parts"]["managed_devices"]["records"]) == 30
    assert snapshot["stats"]["retries"] == 1
    first_page = [
        w for w in graph.wire if w.path.endswith("/managedDevices") and "page" not in w.query
    ]
    assert len(first_page) == 2  # cut, then answered whole
    assert "RemoteProtocolError" in caplog.text
    assert "retry 1 of 5" in caplog.text


def test_a_cut_batch_answer_is_retried_too() -> None:
    with serve(8, faults=[Fault(r"POST /beta/\$batch", 0, cut_body=True)]) as graph:
        snapshot = pull(graph)
    assert snapshot["parts"]["device_details"]["status"] == "ok"
    assert len(snapshot["parts"]["device_details"]["records"]) == 8
    assert [w.path for w in graph.wire].count("/beta/$batch") == 2


def test_a_cut_answer_to_a_post_that_creates_a_job_is_not_sent_again() -> None:
    cut = [Fault(r"POST /v1\.0/deviceManagement/reports/exportJobs", 0, cut_body=True)]
    with serve(4, faults=cut) as graph:
        snapshot = pull(graph)
    export = snapshot["parts"]["export_devices"]
    assert export["status"] == "failed"
    assert export["error"].endswith("connection failed (RemoteProtocolError)")  # no "after retries"
    assert len(graph.requests_to("/reports/exportJobs")) == 1


def test_after_retries_is_said_only_when_retries_happened() -> None:
    apns = r"GET /v1\.0/deviceManagement/applePushNotificationCertificate"
    with serve(3, faults=[Fault(apns, 0, cut_body=True, times=None)]) as graph:
        retried = pull(graph, max_retries=2)
    assert retried["parts"]["apns"]["error"].endswith(
        "connection failed (RemoteProtocolError, after 2 retries)"
    )
    with serve(3, faults=[Fault(apns, 429, times=None, headers={"Retry-After": "1"})]) as graph:
        at_once = pull(graph, max_retries=0)
    assert ": throttled (429)" in at_once["parts"]["apns"]["error"]
    assert "retr" not in at_once["parts"]["apns"]["error"]
    with serve(3, faults=[Fault(apns, 503, times=None)]) as graph:
        unavailable = pull(graph, max_retries=1)
    assert "HTTP 503 (after 1 retry)" in unavailable["parts"]["apns"]["error"]


def test_persistent_unavailability_ends_in_a_named_failure() -> None:
    faults = [
        Fault(r"GET /v1\.0/deviceManagement/applePushNotificationCertificate", 503, times=None)
    ]
    with serve(3, faults=faults) as graph:
        snapshot = pull(graph, max_retries=2)
    apns = snapshot["parts"]["apns"]
    assert apns["status"] == "failed"
    assert "HTTP 503" in apns["error"]
    assert "applePushNotificationCertificate" in apns["error"]
    assert {"part": "apns", "is_core": False}.items() <= snapshot["gaps"][0].items()
    assert snapshot["complete"] is True  # the device inventory itself is whole


def test_client_side_rate_limit_keeps_under_the_server_limit() -> None:
    with serve(20, page_size=10, rate_limit=(26, 0.5)) as graph:
        snapshot = pull(graph, rate_limit_requests=20, rate_limit_window_s=0.6)
    assert snapshot["complete"] is True
    assert graph.throttled == 0
    assert snapshot["stats"]["throttled"] == 0


def test_server_side_throttling_is_absorbed_when_the_client_limit_is_too_generous() -> None:
    with serve(10, page_size=10, rate_limit=(12, 0.5)) as graph:
        snapshot = pull(graph, rate_limit_requests=1000, rate_limit_window_s=1.0)
    assert snapshot["complete"] is True
    assert set(status_of(snapshot).values()) == {"ok"}
    assert graph.throttled > 0
    assert snapshot["stats"]["throttled"] > 0


# -- denied parts --------------------------------------------------------------------------------


def test_export_without_readwrite_permission_becomes_a_gap() -> None:
    faults = [Fault(r"POST /v1\.0/deviceManagement/reports/exportJobs", 403, times=None)]
    with serve(8, faults=faults) as graph:
        snapshot = pull(graph)
    export = snapshot["parts"]["export_devices"]
    assert export["status"] == "denied"
    assert "DeviceManagementManagedDevices.ReadWrite.All" in export["error"]
    [gap] = snapshot["gaps"]
    assert gap["part"] == "export_devices"
    assert {"user_approved", "is_supervised"} <= set(gap["fields"])
    assert gap["is_core"] is False
    assert snapshot["complete"] is True
    assert snapshot["reconciliation"]["exported"] is None
    assert any("not reconciled" in note for note in snapshot["notes"])


def test_device_details_denied_becomes_a_gap() -> None:
    faults = [Fault(r"GET /beta/deviceManagement/managedDevices/", 403, times=None)]
    with serve(30, faults=faults) as graph:
        snapshot = pull(graph)
    details = snapshot["parts"]["device_details"]
    assert details["status"] == "denied"
    assert "DeviceManagementManagedDevices.Read.All" in details["error"]
    assert [g["part"] for g in snapshot["gaps"]] == ["device_details"]
    assert "bootstrap_escrowed" in snapshot["gaps"][0]["fields"]
    assert len(snapshot["parts"]["managed_devices"]["records"]) == 30
    assert snapshot["complete"] is True


def test_ade_tokens_denied_skips_their_profiles() -> None:
    faults = [Fault(r"GET /beta/deviceManagement/depOnboardingSettings", 403, times=None)]
    with serve(4, faults=faults) as graph:
        snapshot = pull(graph)
    assert snapshot["parts"]["ade_tokens"]["status"] == "denied"
    assert "DeviceManagementServiceConfig.Read.All" in snapshot["parts"]["ade_tokens"]["error"]
    assert snapshot["parts"]["ade_profiles"]["status"] == "skipped"
    assert snapshot["parts"]["ade_identities"]["status"] == "skipped"
    assert {g["part"] for g in snapshot["gaps"]} == {"ade_tokens", "ade_profiles", "ade_identities"}
    # the identities' gap says why, naming the permission the tokens' GET was refused for
    assert "DeviceManagementServiceConfig.Read.All" in snapshot["parts"]["ade_identities"]["error"]


def test_device_list_denied_raises_partial_source_error_naming_the_permission() -> None:
    faults = [Fault(r"GET /v1\.0/deviceManagement/managedDevices", 403, times=None)]
    with serve(4, faults=faults) as graph, pytest.raises(PartialSourceError) as caught:
        pull(graph)
    message = str(caught.value)
    assert "403" in message
    assert "DeviceManagementManagedDevices.Read.All" in message
    assert "--allow-partial" in message


def test_device_list_denied_with_allow_partial_writes_an_incomplete_snapshot() -> None:
    faults = [Fault(r"GET /v1\.0/deviceManagement/managedDevices", 403, times=None)]
    with serve(4, faults=faults) as graph:
        snapshot = pull(graph, allow_partial=True)
    assert snapshot["complete"] is False
    assert snapshot["parts"]["managed_devices"]["status"] == "denied"
    core = [g for g in snapshot["gaps"] if g["is_core"]]
    assert [g["part"] for g in core] == ["managed_devices"]


# -- broken paging -----------------------------------------------------------------------------


def test_malformed_page_raises_partial_source_error() -> None:
    with (
        serve(20, page_size=5, malformed_page=2) as graph,
        pytest.raises(PartialSourceError, match="malformed JSON"),
    ):
        pull(graph)


def test_malformed_page_with_allow_partial_keeps_the_pages_before_it() -> None:
    with serve(20, page_size=5, malformed_page=2) as graph:
        snapshot = pull(graph, allow_partial=True)
    listing = snapshot["parts"]["managed_devices"]
    assert listing["status"] == "partial"
    assert len(listing["records"]) == 10
    assert snapshot["complete"] is False
    assert snapshot["gaps"][0]["is_core"] is True


def test_nextlink_loop_is_detected() -> None:
    with (
        serve(30, page_size=5, loop_from_page=2) as graph,
        pytest.raises(PartialSourceError, match="loop"),
    ):
        pull(graph)


def test_nextlink_to_a_foreign_host_gets_no_token() -> None:
    page = b'{"value": [], "@odata.nextLink": "https://evil.example/v1.0/deviceManagement/managedDevices?x=1"}'
    faults = [Fault(r"GET /v1\.0/deviceManagement/managedDevices", 200, body=page)]
    with (
        serve(4, faults=faults) as graph,
        pytest.raises(TokenDestinationError, match="refusing to send the Graph token") as caught,
    ):
        pull(graph, allow_partial=True)
    assert not isinstance(caught.value, PartialSourceError)  # allow_partial does not let it pass
    assert caught.value.exit_code == 4


def test_nextlink_of_an_optional_part_to_another_port_stops_the_pull() -> None:
    with serve(2) as catcher:
        link = f"{catcher.url}/deviceManagement/deviceEnrollmentConfigurations?$skiptoken=2"
        page = f'{{"value": [], "@odata.nextLink": "{link}"}}'.encode()
        faults = [
            Fault(r"GET /beta/deviceManagement/deviceEnrollmentConfigurations", 200, body=page)
        ]
        with serve(4, faults=faults) as graph, pytest.raises(TokenDestinationError):
            pull(graph)
    assert catcher.wire == []


@pytest.mark.parametrize(
    ("url", "why"),
    [("http://127.0.0.1:8443/v1.0/deviceManagement", "not under a configured Graph root"),
     ("https://127.0.0.1:8080/v1.0/deviceManagement", "not under a configured Graph root"),
     ("http://127.0.0.1:8080/v2/deviceManagement", "not under a configured Graph root"),
     ("http://127.0.0.1:8080/v1.0evil/x", "not under a configured Graph root"),
     ("http://127.0.0.1:8080/v1.0/%2e%2e/admin", "climbs out"),
     ("https://graph.microsoft.com:8443/v1.0/me", "not under a configured Graph root"),
     ("https://graph.microsoft.us/v1.0/me", "not under a configured Graph root"),
     ("http://u:p@127.0.0.1:8080/v1.0/x", "user name or password")],
)  # fmt: skip
def test_the_token_goes_only_under_a_configured_root_of_the_same_origin(url: str, why: str) -> None:
    roots = GraphRoots.of("http://127.0.0.1:8080/v1.0", "https://graph.microsoft.com/v1.0")
    allowed = (
        "http://127.0.0.1:8080/beta/$batch",
        "https://graph.microsoft.com:443/beta/x",
        "https://GRAPH.microsoft.com/v1.0",
        "http://127.0.0.1:8080/v1.0/a?b=/../",
    )
    for fine in allowed:
        roots.check(fine)
    with pytest.raises(TokenDestinationError, match=why) as caught:
        roots.check(url)
    assert "u:p" not in str(caught.value)


def test_userinfo_is_scrubbed_from_text() -> None:
    text = "GET http://svc:S3cret@proxy.example:3128/v1.0/x failed; see https://a@b.example/"
    assert scrub_userinfo(text) == (
        "GET http://proxy.example:3128/v1.0/x failed; see https://b.example/"
    )


# -- devices that come and go --------------------------------------------------------------------


def test_device_removed_between_list_and_get_is_recorded() -> None:
    with serve(12) as graph:
        gone = graph.macs[3]["id"]
        graph.vanish.add(gone)
        snapshot = pull(graph)
    details = snapshot["parts"]["device_details"]
    assert details["status"] == "partial"
    assert details["failures"] == [
        {
            "id": gone,
            "status": 404,
            "reason": "not found (removed from Intune after it was listed?)",
        }
    ]
    assert gone in {r["id"] for r in snapshot["parts"]["managed_devices"]["records"]}
    assert len(details["records"]) == 11
    [gap] = snapshot["gaps"]
    assert gap["part"] == "device_details"
    assert "1 of 12" in gap["reason"]
    assert snapshot["complete"] is True


def test_device_the_list_skips_is_found_through_the_export_and_fetched_by_id() -> None:
    with serve(15, page_size=4) as graph:
        skipped = graph.macs[6]["id"]
        graph.skip_in_list.add(skipped)
        snapshot = pull(graph)
    assert snapshot["reconciliation"]["only_in_export"] == [skipped]
    assert snapshot["reconciliation"]["recovered"] == [skipped]
    assert snapshot["reconciliation"]["listed"] == 14
    assert skipped in {r["id"] for r in snapshot["parts"]["managed_devices"]["records"]}
    assert skipped in {r["id"] for r in snapshot["parts"]["device_details"]["records"]}
    assert any("skipped 1 Mac" in note for note in snapshot["notes"])
    assert snapshot["complete"] is True


# -- credentials ---------------------------------------------------------------------------------


def test_expired_token_is_renewed_and_the_request_repeated() -> None:
    credential = RotatingCredential()
    with serve(25, page_size=5, expire_token_after=6) as graph:
        snapshot = pull(graph, credential=credential)
    assert snapshot["complete"] is True
    assert set(status_of(snapshot).values()) == {"ok"}
    assert credential.calls >= 2
    assert snapshot["stats"]["token_renewals"] >= 1
    rejected = [s for s in graph.seen if s.status == 401]
    assert rejected
    assert all(s.authorization != f"Bearer tok-{credential.calls}" for s in rejected)


def test_rejected_static_token_is_a_clear_error(no_azure_env: pytest.MonkeyPatch) -> None:
    no_azure_env.setenv("AUDITOR_GRAPH_TOKEN", "stale-token-value")
    with serve(3, accepted_tokens={"fresh"}) as graph, pytest.raises(PartialSourceError) as caught:
        fetch_snapshot(fast(graph))
    message = str(caught.value)
    assert "401" in message
    assert "AUDITOR_GRAPH_TOKEN" in message
    assert "stale-token-value" not in message


def test_credential_failure_is_a_source_error_before_any_request() -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class Refusing:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            raise ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.")

    with serve(3) as graph, pytest.raises(SourceError, match="AADSTS7000215") as caught:
        pull(graph, credential=Refusing())
    assert not isinstance(caught.value, PartialSourceError)
    assert graph.seen == []


def test_tenant_id_comes_from_the_token_when_not_configured(
    no_azure_env: pytest.MonkeyPatch,
) -> None:
    claims = b'{"aud":"https://graph.microsoft.com","tid":"8d2c1b7e-5a4f-4c3b-9e1d-2f6a7b8c9d0e"}'
    token = "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(claims).decode().rstrip("=") + ".sig"
    no_azure_env.setenv("AUDITOR_GRAPH_TOKEN", token)
    with serve(2, export_polls=0) as graph:
        snapshot = fetch_snapshot(fast(graph))
    assert snapshot["tenant_id"] == "8d2c1b7e-5a4f-4c3b-9e1d-2f6a7b8c9d0e"


def test_a_token_issued_for_another_tenant_is_refused_before_any_request(
    no_azure_env: pytest.MonkeyPatch,
) -> None:
    # A pre-acquired token set for the wrong tenant would file another tenant's Macs under the
    # configured one: the `tid` claim must name the configured tenant (case aside).
    claims = b'{"aud":"https://graph.microsoft.com","tid":"8d2c1b7e-5a4f-4c3b-9e1d-2f6a7b8c9d0e"}'
    token = "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(claims).decode().rstrip("=") + ".sig"
    no_azure_env.setenv("AUDITOR_GRAPH_TOKEN", token)
    other = "11111111-2222-3333-4444-555555555555"
    with serve(2, export_polls=0) as graph:
        with pytest.raises(
            SourceError, match=f"issued for tenant 8d2c1b7e.*not the configured tenant {other}"
        ) as caught:
            fetch_snapshot(fast(graph, tenant_id=other))
        assert graph.seen == []
        snapshot = fetch_snapshot(fast(graph, tenant_id="8D2C1B7E-5A4F-4C3B-9E1D-2F6A7B8C9D0E"))
    assert token not in str(caught.value)
    assert snapshot["complete"] is True


def test_token_in_the_environment_comes_first(no_azure_env: pytest.MonkeyPatch) -> None:
    no_azure_env.setenv("AUDITOR_GRAPH_TOKEN", "tok")
    no_azure_env.setenv("AZURE_CLIENT_SECRET", "s3cret")
    credential, described = make_credential("global", "t", "c")
    assert isinstance(credential, StaticTokenCredential)
    assert "AUDITOR_GRAPH_TOKEN" in described
    assert "tok" not in repr(credential)


def test_client_secret_uses_the_national_cloud_authority(no_azure_env: pytest.MonkeyPatch) -> None:
    no_azure_env.setenv("AZURE_CLIENT_SECRET", "s3cret-value")
    no_azure_env.setenv("AZURE_TENANT_ID", "8d2c1b7e-5a4f-4c3b-9e1d-2f6a7b8c9d0e")
    credential, described = make_credential("usgov", None, "11111111-2222-3333-4444-555555555555")
    assert isinstance(credential, ClientSecretCredential)
    assert "AZURE_CLIENT_SECRET" in described
    assert "s3cret-value" not in described
    assert CLOUDS["usgov"].authority == "login.microsoftonline.us"


def test_secret_without_tenant_is_a_config_error(no_azure_env: pytest.MonkeyPatch) -> None:
    no_azure_env.setenv("AZURE_CLIENT_SECRET", "s3cret-value")
    with pytest.raises(ConfigError, match="tenant id") as caught:
        make_credential("global", None, "client")
    assert "s3cret-value" not in str(caught.value)


def test_malformed_tenant_id_is_a_config_error(no_azure_env: pytest.MonkeyPatch) -> None:
    no_azure_env.setenv("AZURE_CLIENT_SECRET", "s3cret-value")
    with pytest.raises(ConfigError, match="tenant id 'not a tenant!'") as caught:
        make_credential("global", "not a tenant!", "client")
    assert "s3cret-value" not in str(caught.value)


def test_unreadable_certificate_is_a_config_error(
    no_azure_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bogus = tmp_path / "app.pem"
    bogus.write_text("not a certificate")
    no_azure_env.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(bogus))
    with pytest.raises(ConfigError, match="AZURE_CLIENT_CERTIFICATE_PATH"):
        make_credential("global", "tenant", "client")


def test_certificate_credential_is_built_from_a_pem(
    no_azure_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pem = tmp_path / "app.pem"
    pem.write_bytes(_self_signed_pem())
    no_azure_env.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(pem))
    credential, described = make_credential(
        "china", "8d2c1b7e-5a4f-4c3b-9e1d-2f6a7b8c9d0e", "client"
    )
    assert isinstance(credential, CertificateCredential)
    assert str(pem) in described


def test_without_secrets_default_azure_credential_is_used(no_azure_env: pytest.MonkeyPatch) -> None:
    credential, described = make_credential("global", None, None)
    assert isinstance(credential, DefaultAzureCredential)
    assert "DefaultAzureCredential" in described


@pytest.mark.parametrize(
    ("cloud", "v1_root"),
    [("global", "https://graph.microsoft.com/v1.0"), ("usgov", "https://graph.microsoft.us/v1.0"),
     ("usgov-dod", "https://dod-graph.microsoft.us/v1.0"), ("china", "https://microsoftgraph.chinacloudapi.cn/v1.0")],
)  # fmt: skip
def test_each_cloud_has_its_graph_host(cloud: str, v1_root: str) -> None:
    assert GraphSettings(cloud=cloud).v1_root == v1_root
    assert CLOUDS[cloud].scope == v1_root.removesuffix("/v1.0") + "/.default"


def test_invalid_settings_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        GraphSettings(cloud="mars", graph_url="http://127.0.0.1:1/beta", max_concurrency=0)
    message = str(caught.value)
    assert "mars" in message
    assert "v1.0 root" in message
    assert "max_concurrency" in message


def test_plain_http_graph_url_off_loopback_is_refused_before_any_request() -> None:
    with pytest.raises(ConfigError, match="plain http is only accepted for localhost"):
        GraphSettings(graph_url="http://graph.example.org/v1.0", progress=False)


def test_graph_settings_in_auditor_toml_are_validated_together(tmp_path: Path) -> None:
    config = tmp_path / "auditor.toml"
    config.write_text(
        '[graph]\ngraph_url = "https://svc:S3cret@gw.example/v1.0"\n'
        'proxy = "socks5://proxy.example:1080"\nexport_timeout_s = 0\nproxy_password = "x"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert "4 problem(s)" in message
    assert "graph.graph_url: must not carry a user name or password" in message
    assert "graph.proxy: 'socks5://proxy.example:1080' is not an http:// or https:// URL" in message
    assert "graph.export_timeout_s: must be between 1 and 86400 seconds, got 0" in message
    assert "'graph.proxy_password' (secrets belong in environment variables)" in message
    assert "S3cret" not in message


def test_graph_settings_from_auditor_toml_reach_the_pull(tmp_path: Path) -> None:
    config = tmp_path / "auditor.toml"
    config.write_text('[graph]\nproxy = "http://proxy.example:3128"\nexport_timeout_s = 90.5\n')
    graph = load_config(config).graph
    assert (graph.proxy, graph.export_timeout_s) == ("http://proxy.example:3128", 90.5)
    settings = settings_from_config(graph)
    assert (settings.proxy, settings.export_timeout_s) == ("http://proxy.example:3128", 90.5)


def test_half_set_proxy_credentials_are_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_GRAPH_PROXY_USER", "svc")
    with serve(2) as graph, pytest.raises(ConfigError, match="AUDITOR_GRAPH_PROXY_PASSWORD"):
        pull(graph, proxy="http://127.0.0.1:9")
    assert graph.wire == []


def test_a_proxy_that_refuses_the_credentials_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_GRAPH_PROXY_USER", "svc")
    monkeypatch.setenv("AUDITOR_GRAPH_PROXY_PASSWORD", "wrong-password")
    with (
        ForwardProxy("svc", "right-password") as proxy,
        serve(2) as graph,
        pytest.raises(PartialSourceError, match="407 Proxy Authentication Required") as caught,
    ):
        pull(graph, proxy=proxy.url)
    assert "AUDITOR_GRAPH_PROXY_USER" in str(caught.value)
    assert "wrong-password" not in str(caught.value)
    assert graph.wire == []


# -- progress and export job ---------------------------------------------------------------------


def test_progress_is_silent_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve(5) as graph:
        pull(graph, progress=True)
    assert capsys.readouterr().err == ""


def test_failed_export_job_becomes_a_gap() -> None:
    with serve(5, export_outcome="failed") as graph:
        snapshot = pull(graph)
    assert snapshot["parts"]["export_devices"]["status"] == "failed"
    assert "failed on the Intune side" in snapshot["parts"]["export_devices"]["error"]
    assert snapshot["complete"] is True


def test_export_job_timeout_becomes_a_gap_naming_the_job_and_the_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="auditor")
    with serve(5, export_polls=10_000) as graph:
        snapshot = pull(graph, export_timeout_s=0.2)
    export = snapshot["parts"]["export_devices"]
    [job] = {w.path.rsplit("/", 1)[1] for w in graph.wire if "/reports/exportJobs/" in w.path}
    assert export["status"] == "failed"
    assert (
        f"export job {job} (Devices) did not complete within the export timeout" in export["error"]
    )
    assert "graph.export_timeout_s" in export["error"]
    [gap] = snapshot["gaps"]
    assert (gap["part"], gap["status"], gap["is_core"]) == ("export_devices", "failed", False)
    assert f"export job {job} (Devices): notStarted after 0 s; next poll in" in caplog.text
    assert "Graph pull gap, export_devices (failed): export job" in caplog.text


def test_a_hanging_poll_does_not_stretch_the_export_timeout() -> None:
    slow = [Fault(r"GET /v1\.0/deviceManagement/reports/exportJobs/", 0, delay_s=3.0, times=None)]
    with serve(3, faults=slow) as graph:
        snapshot = pull(graph, export_timeout_s=1.0, request_timeout_s=10.0)
    assert "export timeout of 1 s" in snapshot["parts"]["export_devices"]["error"]


def test_snapshot_from_a_pull_round_trips_through_a_gz_file(tmp_path: Path) -> None:
    with serve(9) as graph:
        snapshot = pull(graph)
    path = tmp_path / "snapshot.json.gz"
    write_snapshot(snapshot, path)
    assert load_snapshot(path) == snapshot


def test_fetch_to_file_writes_the_snapshot_and_summarises_it(
    tmp_path: Path, no_azure_env: pytest.MonkeyPatch
) -> None:
    no_azure_env.setenv("AUDITOR_GRAPH_TOKEN", "test")
    path = tmp_path / "snapshot.json.gz"
    with serve(6, export_polls=0) as graph:
        line = fetch_to_file(GraphConfig(graph_url=graph.url), path)
    assert line == f"{path}: 6 Macs, 6 with details, 6 export rows; complete"
    assert load_snapshot(path)["complete"] is True


def test_summary_names_the_gaps_of_a_partial_snapshot(
    tmp_path: Path, no_azure_env: pytest.MonkeyPatch
) -> None:
    no_azure_env.setenv("AUDITOR_GRAPH_TOKEN", "test")
    faults = [Fault(r"GET /v1\.0/deviceManagement/managedDevices", 403, times=None)]
    with serve(3, faults=faults, export_polls=0) as graph:
        config = GraphConfig(graph_url=graph.url, allow_partial=True)
        line = fetch_to_file(config, tmp_path / "s.json")
    assert "INCOMPLETE" in line
    assert "managed_devices (denied)" in line


def _self_signed_pem() -> bytes:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auditor-test")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)
