"""Owners from Graph against the loopback server: scope tag names and the Entra lookup.

The server's role scope tags, users and managers follow Microsoft's "List roleScopeTags",
"Get user" and "List manager" pages (URLs in tests/graph_owners.py). A pull with
`[owners] entra_lookup = true` GETs each primary user by id in JSON $batches with
`$expand=manager`; the Action plan sheet (read back with openpyxl) names department, manager,
office and scope tags; `--split-by department` writes one CSV per department, with Macs
without an owner and owners Entra no longer has as groups named as such. A 403 on /users is a
recorded gap (denied, User.Read.All): the run is PARTIAL in that part only.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from cli_runner import auditor
from graph_owners import DEPARTMENTS
from graph_server import Fault, GraphServer, serve

from auditor.report.action_plan import NO_OWNER, NOT_IN_ENTRA
from auditor.sources.snapshot import load_snapshot

LOOKUP = '[owners]\nentra_lookup = true\ngroup_by = "department"\n'


# What these tests read (the workbook's Action plan, findings.json, the split CSVs): no PDF.
FORMATS = ("--format", "json,xlsx")


def _run(graph: GraphServer, out: Path, config: str, *extra: str) -> tuple[int, str]:
    toml = out.parent / f"{out.name}.toml"
    toml.write_text(config)
    done = auditor(
        "run", "--source", "graph", "--graph-url", graph.url, "--as-of", "2026-09-01",
        "--out", str(out), "--no-history", "--config", str(toml), "--allow-partial", *FORMATS,
        *extra,
    )  # fmt: skip
    return done.returncode, done.stderr


def _plan(out: Path) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    rows = list(book["Action plan"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row and row[0] == "group")
    names = [str(c) for c in rows[header]]
    return [dict(zip(names, row, strict=False)) for row in rows[header + 1 :] if any(row)]


def _findings(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "findings.json").read_text())
    return data


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_GRAPH_TOKEN", "eyJ0eXAiOiJKV1QifQ.owners.signature")


def test_action_plan_names_department_manager_office_and_scope_tags(tmp_path: Path) -> None:
    with serve(30, deleted_users=(), export_polls=0) as graph:
        code, log = _run(graph, tmp_path / "out", LOOKUP, "--split-by", "department")
        by_id = {mac["id"]: mac for mac in graph.macs}
        users = graph.users
        user_gets = graph.requests_to("/users/")
    assert code in (0, 1), log
    assert user_gets and all("$expand=manager" in seen.query for seen in user_gets)
    plan = _plan(tmp_path / "out")
    owned = [row for row in plan if row["owner_upn"]]
    assert owned
    for row in owned:
        person = users[str(row["owner_upn"]).casefold()]
        assert row["department"] == person["department"]
        assert row["office"] == person["officeLocation"]
        manager = person.get("manager")
        assert row["manager"] == (manager["displayName"] if manager else None)
        expected = person["department"] or "No department in Entra"
        assert row["group"] == expected
    ownerless = {r["group"] for r in plan if not r["owner_upn"] and r["entity_type"] == "device"}
    assert ownerless <= {NO_OWNER}
    names = {"0": "Default", "1": "Finance Macs", "2": "Lab Macs"}
    for row in plan:
        if row["entity_type"] == "device":
            tags = by_id[row["entity_id"]]["roleScopeTagIds"]
            assert row["scope_tags"] == "; ".join(names[t] for t in tags)
    # one CSV per department group, each with exactly that group's rows
    files = sorted((tmp_path / "out").glob("action-plan-*.csv"))
    departments = {d for d in DEPARTMENTS if d} & {row["department"] for row in owned}
    stems = {f.stem.removeprefix("action-plan-") for f in files}
    assert departments <= stems
    total = 0
    for path in files:
        with path.open(encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        total += len(rows)
        if path.stem.removeprefix("action-plan-") in departments:
            assert {r["department"] for r in rows} == {path.stem.removeprefix("action-plan-")}
    assert total == len(plan)
    gaps = _findings(tmp_path / "out")["run"]["gaps"]
    assert all(g["part"] not in ("entra_users", "role_scope_tags") for g in gaps)


def test_a_deleted_owner_is_its_own_group_and_a_data_quality_note(tmp_path: Path) -> None:
    with serve(30, export_polls=0) as probe:
        gone = next(m for m in probe.macs if m["userId"])
    with serve(30, deleted_users=[gone["userId"]], export_polls=0) as graph:
        code, log = _run(graph, tmp_path / "out", LOOKUP, "--split-by", "department")
    assert code in (0, 1), log
    rows = [r for r in _plan(tmp_path / "out") if r["entity_id"] == gone["id"]]
    assert rows and {r["group"] for r in rows} == {NOT_IN_ENTRA}
    notes = _findings(tmp_path / "out")["data_quality"]["notes"]
    note = next(n for n in notes if n["problem"] == "owner_not_in_entra")
    assert gone["userPrincipalName"] in note["examples"]
    assert not [g for g in _findings(tmp_path / "out")["run"]["gaps"] if g["part"] == "entra_users"]


def test_a_403_on_users_is_a_recorded_gap_and_everything_else_stays(tmp_path: Path) -> None:
    with serve(30, export_polls=0) as graph:
        code_ok, _ = _run(graph, tmp_path / "whole", LOOKUP)
    denied = Fault(r"GET /v1\.0/users/", 403, times=None)
    with serve(30, faults=[denied], export_polls=0) as graph:
        code, log = _run(graph, tmp_path / "out", LOOKUP, "--split-by", "department")
    assert code == code_ok, log
    run = _findings(tmp_path / "out")["run"]
    gap = next(g for g in run["gaps"] if g["part"] == "entra_users")
    assert gap["status"] == "denied" and "User.Read.All" in gap["reason"]
    assert [g["part"] for g in run["gaps"]] == ["entra_users"]  # PARTIAL only in that part
    assert run["complete"] is False
    whole, partial = _findings(tmp_path / "whole"), _findings(tmp_path / "out")
    assert [f["status"] for f in partial["findings"]] == [f["status"] for f in whole["findings"]]
    plan = _plan(tmp_path / "out")
    owned = [r for r in plan if r["owner_upn"]]
    assert owned and all(r["department"] is None for r in owned)
    assert {r["group"] for r in owned} == {
        "Department unknown (Entra lookup denied; the app needs User.Read.All)"
    }
    stems = {p.stem for p in (tmp_path / "out").glob("action-plan-*.csv")}
    assert "action-plan-Department-unknown-Entra-lookup-denied-the-app-needs-User.Read.All" in stems
    snapshot = load_snapshot(tmp_path / "out" / "snapshot.json.gz")
    assert snapshot["parts"]["entra_users"]["status"] == "denied"


def test_without_the_lookup_departments_are_a_group_saying_so(tmp_path: Path) -> None:
    with serve(20, export_polls=0) as graph:
        code, log = _run(graph, tmp_path / "out", '[owners]\ngroup_by = "department"\n')
        asked = graph.requests_to("/users/")
    assert code in (0, 1), log
    assert not asked
    owned = [r for r in _plan(tmp_path / "out") if r["owner_upn"]]
    assert owned and {r["group"] for r in owned} == {"Department unknown (Entra lookup not done)"}
    assert all(g["part"] != "entra_users" for g in _findings(tmp_path / "out")["run"]["gaps"])


def test_a_saved_users_batch_and_scope_tags_are_read_from_files(tmp_path: Path) -> None:
    with serve(20, export_polls=0) as graph:
        code, log = _run(graph, tmp_path / "pulled", LOOKUP)
    assert code in (0, 1), log
    snapshot = load_snapshot(tmp_path / "pulled" / "snapshot.json.gz")
    people = snapshot["parts"]["entra_users"]["records"]
    # the users as Graph's JSON $batch answers them (each body a "Get user" response)
    answers = {"responses": [{"id": str(i), "status": 200, "headers": {}, "body": p}
                             for i, p in enumerate(people)]}  # fmt: skip
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "users-batch.json").write_text(json.dumps(answers))
    tags = snapshot["parts"]["role_scope_tags"]["records"]
    (inputs / "scope-tags.json").write_text(json.dumps({"value": tags}))
    details = snapshot["parts"]["device_details"]["records"]
    (inputs / "details.json").write_text(json.dumps(details))
    listing = snapshot["parts"]["managed_devices"]["records"]
    (inputs / "devices.json").write_text(json.dumps({"value": listing}))
    toml = tmp_path / "files.toml"
    toml.write_text(LOOKUP)
    done = auditor(
        "run", "--input", str(inputs), "--as-of", "2026-09-01", "--out", str(tmp_path / "out"),
        "--no-history", "--config", str(toml), "--allow-partial", *FORMATS,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    from_files = {r["entity_id"]: r for r in _plan(tmp_path / "out")}
    pulled = {r["entity_id"]: r for r in _plan(tmp_path / "pulled")}
    assert from_files
    for key in ("department", "manager", "office", "scope_tags"):
        assert [from_files[k][key] for k in sorted(from_files)] == [
            pulled[k][key] for k in sorted(from_files)
        ]


def test_a_403_on_role_scope_tags_is_a_gap_and_the_tags_show_their_ids(tmp_path: Path) -> None:
    denied = Fault(r"GET /beta/deviceManagement/roleScopeTags", 403, times=None)
    with serve(20, faults=[denied], export_polls=0) as graph:
        code, log = _run(graph, tmp_path / "out", '[owners]\ngroup_by = "scope_tag"\n')
        by_id = {mac["id"]: mac for mac in graph.macs}
    assert code in (0, 1), log
    gap = next(g for g in _findings(tmp_path / "out")["run"]["gaps"])
    assert gap["part"] == "role_scope_tags" and gap["status"] == "denied"
    assert "DeviceManagementRBAC.Read.All" in gap["reason"]
    devices = [r for r in _plan(tmp_path / "out") if r["entity_type"] == "device"]
    assert devices
    for row in devices:
        tags = by_id[row["entity_id"]]["roleScopeTagIds"]
        assert row["scope_tags"] == "; ".join(f"tag {t}" for t in tags)
        assert row["group"] == row["scope_tags"]  # scope tags group Macs, owner or not
