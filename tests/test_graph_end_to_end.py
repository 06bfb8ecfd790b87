"""The Graph pull end to end through `auditor run` (in process) against loopback servers.

What a hostile or broken network can do, read back from the user's side: the outputs, the log
on stderr, the exit code and the request logs of the loopback Graph server, of a second
"catcher" server on another port and of an authenticating forward proxy.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest
from graph_server import Fault, ForwardProxy, GraphServer, serve
from outputs import pdf_pages

from auditor.cli import main

TOKEN = "eyJ0eXAiOiJKV1QifQ.e2e-token-payload.signature"
PROXY_USER, PROXY_PASSWORD = "svc-auditor", "Pr0xy-Pa55-9f31c7"
Cli = Callable[..., tuple[int, str]]
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD",
                    "AUDITOR_GRAPH_PROXY_USER", "AUDITOR_GRAPH_PROXY_PASSWORD")  # fmt: skip


@pytest.fixture
def auditor(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Iterator[Cli]:
    """`auditor ARGS` run in process with a clean environment: (exit code, stderr)."""
    for name in (*_PROXY_VARIABLES, "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("AUDITOR_GRAPH_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)  # no auditor.toml of the developer's is picked up
    root = logging.getLogger()
    saved = root.level, root.handlers[:]
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["auditor", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, capsys.readouterr().err

    yield run
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def run_args(graph: GraphServer, out: Path, *extra: str) -> list[str]:
    return ["-vv", "run", "--source", "graph", "--graph-url", graph.url, "--as-of", "2026-09-01",
            "--out", str(out), "--no-history", *extra]  # fmt: skip


def output_texts(out: Path) -> dict[str, str]:
    """Every output file as text: gzip and xlsx members unpacked, PDF text extracted too."""
    texts = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                raw = b"".join(book.read(name) for name in book.namelist())
        text = raw.decode("latin-1")
        if path.suffix == ".pdf":
            text += "".join(pdf_pages(path.parent, path.name))
        texts[path.name] = text
    return texts


# -- the bearer token's origin --------------------------------------------------------------------


def test_a_nextlink_to_another_port_never_reaches_it_and_the_pull_exits_4(
    auditor: Cli, tmp_path: Path
) -> None:
    with serve(3) as catcher:
        link = f"{catcher.url}/deviceManagement/managedDevices?$skiptoken=page1"
        page = json.dumps({"value": [], "@odata.nextLink": link}).encode()
        faults = [Fault(r"GET /v1\.0/deviceManagement/managedDevices\?", 200, body=page)]
        with serve(5, faults=faults, export_polls=0) as graph:
            code, log = auditor(*run_args(graph, tmp_path / "out", "--allow-partial"))
    assert code == 4
    assert catcher.wire == []  # not a single request, so no token either
    assert f"refusing to send the Graph token to {catcher.url}/deviceManagement" in log
    assert "Nothing was sent there" in log
    assert TOKEN not in log
    assert not (tmp_path / "out" / "findings.json").exists()


def test_a_same_origin_redirect_outside_the_graph_roots_is_refused(
    auditor: Cli, tmp_path: Path
) -> None:
    with serve(3, export_polls=0) as graph:
        elsewhere = {"Location": f"{graph.root}/admin/keys"}
        graph.faults.append(Fault(r"GET /v1\.0/deviceManagement/applePush", 307, headers=elsewhere))
        code, log = auditor(*run_args(graph, tmp_path / "out"))
    assert code == 4
    assert f"refusing to send the Graph token to {graph.root}/admin/keys" in log
    assert graph.requests_to("/admin") == []


def test_a_redirect_to_another_origin_is_followed_without_the_token(
    auditor: Cli, tmp_path: Path
) -> None:
    with serve(3) as catcher, serve(4, export_polls=0) as graph:
        moved = {"Location": f"{catcher.url}/deviceManagement/applePushNotificationCertificate"}
        graph.faults.append(Fault(r"GET /v1\.0/deviceManagement/applePush", 307, headers=moved))
        code, log = auditor(*run_args(graph, tmp_path / "out", "--format", "json"))
    assert code == 0, log
    assert [w.headers.get("authorization") for w in catcher.wire] == [None]
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert "apns" in {g["part"] for g in findings["run"]["gaps"]}


# -- proxies --------------------------------------------------------------------------------------


@pytest.mark.parametrize("configured", [False, True], ids=["HTTP_PROXY", "graph.proxy"])
def test_proxy_credentials_leave_no_trace_and_each_call_carries_only_the_bearer(
    auditor: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, configured: bool
) -> None:
    denied = [Fault(r"GET /v1\.0/deviceManagement/applePush", 403, times=None)]  # a gap with a URL
    with (
        ForwardProxy(PROXY_USER, PROXY_PASSWORD) as proxy,
        serve(7, faults=denied, export_polls=0) as graph,
    ):
        if configured:
            (tmp_path / "auditor.toml").write_text(f'[graph]\nproxy = "{proxy.url}"\n')
            monkeypatch.setenv("AUDITOR_GRAPH_PROXY_USER", PROXY_USER)
            monkeypatch.setenv("AUDITOR_GRAPH_PROXY_PASSWORD", PROXY_PASSWORD)
        else:
            host = proxy.url.removeprefix("http://")
            monkeypatch.setenv("HTTP_PROXY", f"http://{PROXY_USER}:{PROXY_PASSWORD}@{host}")
        code, log = auditor(*run_args(graph, tmp_path / "out"))
    assert code == 0, log
    assert "through the proxy http://127.0.0.1:" in log
    basic = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
    texts = output_texts(tmp_path / "out")
    assert {"findings.json", "snapshot.json.gz", "manifest.json"} <= set(texts)
    assert any("applePushNotificationCertificate" in text for text in texts.values())
    for where, text in {**texts, "the log": log}.items():
        for secret in (PROXY_PASSWORD, basic, TOKEN):
            assert secret not in text, f"{secret[:6]}… in {where}"
    # Every request went through the proxy once, signed in, and reached Graph with the bearer only.
    assert proxy.seen and all(p.proxy_authorization == f"Basic {basic}" for p in proxy.seen)
    assert len(proxy.seen) == len(graph.wire)
    calls = [(w.method, w.path, w.query) for w in graph.wire]
    assert len(calls) == len(set(calls)), "a request was sent twice"
    assert all(w.status != 401 and "proxy-authorization" not in w.headers for w in graph.wire)
    api = [w for w in graph.wire if not w.path.startswith("/_blob/")]
    assert {w.headers.get("authorization") for w in api} == {f"Bearer {TOKEN}"}
    assert [w.headers.get("authorization") for w in graph.wire if w not in api] == [None]


def test_credentials_in_the_graph_url_are_refused_without_echoing_them(
    auditor: Cli, tmp_path: Path
) -> None:
    with serve(2) as graph:
        url = graph.url.replace("http://", f"http://{PROXY_USER}:{PROXY_PASSWORD}@")
        code, log = auditor(
            "run", "--source", "graph", "--graph-url", url, "--out", str(tmp_path / "out"),
            "--no-history",
        )  # fmt: skip
    assert code == 2
    assert "must not carry a user name or password" in log
    assert "AUDITOR_GRAPH_PROXY_USER" in log and "graph.proxy" in log
    assert PROXY_PASSWORD not in log
    assert graph.wire == []
    assert not (tmp_path / "out").exists()


def test_proxy_credentials_in_auditor_toml_are_refused(auditor: Cli, tmp_path: Path) -> None:
    config = f'[graph]\nproxy = "http://{PROXY_USER}:{PROXY_PASSWORD}@proxy.example:3128"\n'
    (tmp_path / "auditor.toml").write_text(config)
    code, log = auditor("run", "--source", "graph", "--out", str(tmp_path / "out"))
    assert code == 2
    assert "graph.proxy: must not carry a user name or password" in log
    assert PROXY_PASSWORD not in log


def test_no_proxy_lets_graph_be_reached_directly(
    auditor: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: nothing answers
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    with serve(3, export_polls=0) as graph:
        code, log = auditor(*run_args(graph, tmp_path / "out", "--format", "json"))
    assert code == 0, log
    assert "directly (no proxy applies)" in log


# -- export jobs that never complete ---------------------------------------------------------------


def test_a_never_finishing_export_job_ends_at_the_configured_timeout_as_a_partial_run(
    auditor: Cli, tmp_path: Path
) -> None:
    (tmp_path / "auditor.toml").write_text("[graph]\nexport_timeout_s = 1\n")
    with serve(6, export_polls=10**9) as graph:
        code, log = auditor(*run_args(graph, tmp_path / "out", "--format", "json,xlsx"))
    assert code == 0, log
    polls = [w for w in graph.wire if "/reports/exportJobs/" in w.path]
    [job_id] = {w.path.rsplit("/", 1)[1] for w in polls}
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert findings["run"]["complete"] is False
    [gap] = [g for g in findings["run"]["gaps"] if g["part"] == "export_devices"]
    assert job_id in gap["reason"]
    assert "export timeout of 1 s (graph.export_timeout_s" in gap["reason"]
    assert gap["is_core"] is False
    assert f"export job {job_id} (Devices): inProgress after" in log  # polling progress at -v
    assert "next poll in" in log
    assert "PARTIAL" in log  # the fetch summary says so too
    assert all(w.status == 200 for w in polls)
    book = openpyxl.load_workbook(tmp_path / "out" / "report.xlsx", read_only=True)
    cells = {str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row}
    assert "PARTIAL: Devices export report failed" in cells
    assert any(job_id in cell for cell in cells)  # the gap, with its reason


# -- answers cut off mid-body ----------------------------------------------------------------------


def test_an_answer_cut_off_once_is_retried_and_the_run_completes(
    auditor: Cli, tmp_path: Path
) -> None:
    cut = [Fault(r"GET /v1\.0/deviceManagement/managedDevices\?", 0, cut_body=True)]
    with serve(12, page_size=5, faults=cut, export_polls=0) as graph:
        code, log = auditor(*run_args(graph, tmp_path / "out", "--format", "json"))
    assert code == 0, log
    assert "RemoteProtocolError" in log
    assert "retry 1 of 5" in log
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert findings["run"]["complete"] is True
    assert findings["run"]["gaps"] == []
    assert findings["summary"]["devices"] == 12
    listing = [w for w in graph.wire if w.path.endswith("/managedDevices")]
    assert len(listing) == 4  # three pages, the first sent twice: cut once, then read whole
    assert len([w for w in listing if "skiptoken" not in w.query]) == 2
