"""A Graph list saved without its last page is never audited as the whole fleet.

Graph returns a long list in pages; every page but the last carries `@odata.nextLink`, and
"to read all results, you must continue ... until the @odata.nextLink property is no longer
returned" ("Paging Microsoft Graph data in your app", microsoftgraph/microsoft-graph-docs-contrib
concepts/paging.md, which also says a page may hold zero results and that with `$count=true`
`@odata.count` comes on the first page). The pages here are built from published shapes:

- device records: the example response of "List managedDevices" (microsoftgraph/
  microsoft-graph-docs-contrib api-reference/v1.0/api/intune-devices-manageddevice-list.md),
  its members and nesting (`deviceActionResults`, `configurationManagerClientEnabledFeatures`)
  kept, values made a Mac's;
- the page envelope: `@odata.context` as Graph v1.0 sends it for the list, and the nextLink
  of the paging page (`…?$top=N&$skiptoken=X%27…%27`);
- ADE profiles: the example of "List depMacOSEnrollmentProfiles" (api-reference/beta/api/
  intune-enrollment-depmacosenrollmentprofile-list.md) under the context that names its token,
  `depOnboardingSettings('<id>')/enrollmentProfiles`.

Runs go through `auditor run` in process and read findings.json (and once the PDF and the
workbook) back; the reader paths a CLI run cannot reach with small files (slices, two
processes) are read with lowered `ReadLimits`, as tests/test_sources_files.py does.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from cli_runner import auditor
from graph_server import Fault, GraphServer
from outputs import findings, pdf_pages, sheet_text

from auditor.pipeline.inputs import with_list_gaps
from auditor.sources.files import ReadLimits, read_files
from auditor.sources.files.json_arrow import read_device_pages

V1 = "https://graph.microsoft.com/v1.0"
DEVICES_CONTEXT = f"{V1}/$metadata#deviceManagement/managedDevices"
BETA = "https://graph.microsoft.com/beta"
TOKEN = "5f6e0c1d-7a2b-4c3d-9e8f-0a1b2c3d4e5f"
PROFILES_CONTEXT = (
    f"{BETA}/$metadata#deviceManagement/depOnboardingSettings('{TOKEN}')/enrollmentProfiles"
)
IN_SLICES = ReadLimits(sliced_from=0, slice_bytes=700)
TWO_PROCESSES = ReadLimits(two_processes_from=0)
RUN = ("--as-of", "2026-09-01", "--no-history")


def mac(number: int) -> dict[str, Any]:
    """One record of the published "List managedDevices" example, as a Mac."""
    return {
        "@odata.type": "#microsoft.graph.managedDevice",
        "id": f"705c034c-034c-705c-4c03-5c704c03{number:04d}",
        "userId": f"8a1d4c2e-0000-4000-8000-00000000{number:04d}",
        "deviceName": f"MAC-{number:04d}",
        "managedDeviceOwnerType": "company",
        "deviceActionResults": [],
        "enrolledDateTime": "2025-01-07T09:12:43.797191Z",
        "lastSyncDateTime": "2026-08-30T08:02:49.3205976Z",
        "operatingSystem": "macOS",
        "complianceState": "compliant",
        "jailBroken": "Unknown",
        "managementAgent": "mdm",
        "osVersion": "15.6 (24G84)",
        "azureADRegistered": True,
        "deviceEnrollmentType": "appleBulkWithUser",
        "emailAddress": f"user{number}@contoso.com",
        "azureADDeviceId": f"0e7f1a2b-0000-4000-8000-00000000{number:04d}",
        "deviceRegistrationState": "registered",
        "isSupervised": True,
        "isEncrypted": True,
        "userPrincipalName": f"user{number}@contoso.com",
        "model": "MacBook Pro",
        "manufacturer": "Apple",
        "serialNumber": f"C02P{number:08d}",
        "userDisplayName": f"User {number}",
        "configurationManagerClientEnabledFeatures": None,
        "totalStorageSpaceInBytes": 494384795648,
        "freeStorageSpaceInBytes": 201326592000,
        "managedDeviceName": f"user{number}_MacOS_9/1/2026_9:12 AM",
        "udid": "",
        "physicalMemoryInBytes": 0,
    }


def paged(records: list[dict[str, Any]], per_page: int, context: str, url: str):
    """A list as Graph pages it: a nextLink (`url` and a skiptoken) on every page but the last."""
    pages = []
    for start in range(0, len(records), per_page):
        page: dict[str, Any] = {"@odata.context": context}
        if start + per_page < len(records):
            page["@odata.nextLink"] = (
                f"{url}$skiptoken=X%274453707402000100{start + per_page:04d}%27"
            )
        page["value"] = records[start : start + per_page]
        pages.append(page)
    return pages


def device_pages(total: int, per_page: int) -> list[dict[str, Any]]:
    """The device list, `per_page` Macs a page."""
    url = f"{V1}/deviceManagement/managedDevices?$top={per_page}&"
    return paged([mac(n) for n in range(total)], per_page, DEVICES_CONTEXT, url)


def profile_pages(total: int, per_page: int) -> list[dict[str, Any]]:
    """One ADE token's enrollment profiles, paged."""
    profiles = [
        {
            "@odata.type": "#microsoft.graph.depMacOSEnrollmentProfile",
            "id": f"{TOKEN}_profile-{n}",
            "displayName": f"Corp ADE {n}",
            "description": "macOS ADE",
            "requiresUserAuthentication": True,
            "configurationEndpointUrl": "https://appleconfigurator2.manage.microsoft.com/",
            "enableAuthenticationViaCompanyPortal": False,
            "requireCompanyPortalOnSetupAssistantEnrolledDevices": False,
            "isDefault": n == 0,
            "supervisedModeEnabled": True,
            "isMandatory": True,
            "profileRemovalDisabled": True,
            "fileVaultDisabled": False,
        }
        for n in range(total)
    ]
    url = f"{BETA}/deviceManagement/depOnboardingSettings/{TOKEN}/enrollmentProfiles?"
    return paged(profiles, per_page, PROFILES_CONTEXT, url)


def write(path: Path, *documents: Any, lines: bool = False) -> Path:
    if lines:
        path.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in documents))
    else:
        [document] = documents
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return path


def run(out: Path, *inputs: Path, extra: tuple[str, ...] = ("--format", "json")):
    arguments = [a for path in inputs for a in ("--input", str(path))]
    return auditor("run", *arguments, *RUN, "--out", str(out), *extra)


def part(out: Path, name: str) -> dict[str, Any]:
    return next(p for p in findings(out)["run"]["parts"] if p["part"] == name)


def gap_of(paths: list[Path], limits: ReadLimits | None = None):
    """The gaps the pipeline derives from reading `paths` (as `load_batches` does)."""
    readings = with_list_gaps(read_files(paths, limits))
    return {g.part: g for g in readings.list_gaps}, readings


# -- the device list: the run stops (exit 4) unless partial data is allowed -----------------------


def test_a_device_list_saved_as_page_1_of_2_stops_the_run_naming_the_file(tmp_path):
    first, _ = device_pages(4, 3)
    source = write(tmp_path / "managedDevices.json", first)
    done = run(tmp_path / "out", source)
    assert done.returncode == 4, done.stderr
    assert "managedDevices.json holds 1 page (3 records) of the list " in done.stderr
    assert "deviceManagement/managedDevices, and it carries @odata.nextLink" in done.stderr
    assert "auditor fetch" in done.stderr and "docs/inputs.md" in done.stderr
    assert "pass --allow-partial for a PARTIAL report" in done.stderr
    assert not (tmp_path / "out" / "findings.json").exists()


def test_allow_partial_writes_reports_that_say_the_device_list_is_partial(tmp_path):
    first, _ = device_pages(4, 3)
    source = write(tmp_path / "managedDevices.json", first)
    out = tmp_path / "out"
    done = run(out, source, extra=("--allow-partial", "--format", "json,pdf,xlsx"))
    assert done.returncode == 0, done.stderr
    data = findings(out)
    assert data["run"]["complete"] is False
    devices = part(out, "managed_devices")
    assert devices["state"] == "failed"
    assert "holds 1 page (3 records)" in devices["reason"]
    [gap] = [g for g in data["run"]["gaps"] if g["part"] == "managed_devices"]
    assert (gap["status"], gap["is_core"]) == ("partial", True)
    assert data["summary"]["devices"] == 3  # what was read, never more, and never "complete"
    page_one = pdf_pages(out)[0]
    assert "PARTIAL" in page_one
    assert "device list: failed (managedDevices.json holds 1 page (3 records)" in page_one
    assert "managedDevices.json holds 1 page (3 records)" in sheet_text(out, "Data quality")


def test_pages_1_and_2_of_3_as_json_lines_are_a_partial_list(tmp_path):
    pages = device_pages(7, 3)
    source = write(tmp_path / "pages.jsonl", *pages[:2], lines=True)
    out = tmp_path / "out"
    done = run(out, source, extra=("--allow-partial", "--format", "json"))
    assert done.returncode == 0, done.stderr
    reason = part(out, "managed_devices")["reason"]
    assert reason.startswith("pages.jsonl holds 2 pages (6 records) of the list ")
    assert "every one carries @odata.nextLink" in reason
    assert findings(out)["summary"]["devices"] == 6


@pytest.mark.parametrize("last_page", [True, False], ids=["last page saved", "last page missing"])
def test_pages_split_over_files_in_a_folder_add_up(tmp_path, last_page):
    pages = device_pages(7, 3)
    folder = tmp_path / "graph"
    folder.mkdir()
    for number, page in enumerate(pages if last_page else pages[:2], start=1):
        write(folder / f"page-{number}.json", page)
    out = tmp_path / "out"
    done = run(out, folder, extra=("--allow-partial", "--format", "json"))
    assert done.returncode == 0, done.stderr
    devices = part(out, "managed_devices")
    if last_page:
        assert devices["state"] == "collected"
        assert "managed_devices" not in {g["part"] for g in findings(out)["run"]["gaps"]}
        assert findings(out)["summary"]["devices"] == 7
    else:
        assert devices["state"] == "failed"
        assert devices["reason"].startswith(
            "page-1.json, page-2.json hold 2 pages (6 records) of the list "
        )


def test_the_last_page_alone_in_another_folder_completes_the_list(tmp_path):
    pages = device_pages(5, 3)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write(tmp_path / "a" / "devices.json", pages[0])
    last = write(tmp_path / "b" / "devices.json", pages[1])
    out = tmp_path / "out"
    done = run(out, first, last)
    assert done.returncode == 0, done.stderr
    assert part(out, "managed_devices")["state"] == "collected"


def test_a_page_that_is_a_nextlink_alone_counts_as_a_page_linking_on(tmp_path):
    first, last = device_pages(5, 3)
    alone = {"@odata.nextLink": first["@odata.nextLink"]}
    cut = write(tmp_path / "cut.jsonl", first, alone, lines=True)
    gaps, readings = gap_of([cut])
    [listed] = readings.lists
    assert (listed.pages, listed.linked_pages, listed.records) == (2, 2, 3)
    assert "cut.jsonl holds 2 pages (3 records)" in gaps["managed_devices"].reason
    whole = write(tmp_path / "whole.jsonl", first, alone, last, lines=True)
    assert gap_of([whole])[0] == {}


def test_an_empty_last_page_completes_the_list(tmp_path):
    """ "A page of results may contain zero or more results" (paging.md)."""
    first, _ = device_pages(4, 3)
    empty = {"@odata.context": DEVICES_CONTEXT, "value": []}
    assert gap_of([write(tmp_path / "p.jsonl", first, empty, lines=True)])[0] == {}


# -- every reader path: general, Arrow, sliced, two processes -------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["plain (Arrow)", "gzip (general)"])
def test_json_lines_of_pages_1_and_2_of_3_read_by_either_reader(tmp_path, compress):
    pages = device_pages(7, 3)
    data = b"".join(orjson.dumps(p) + b"\n" for p in pages[:2])
    path = tmp_path / ("pages.jsonl.gz" if compress else "pages.jsonl")
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    gaps, readings = gap_of([path])
    [listed] = readings.lists
    assert (listed.pages, listed.linked_pages, listed.records) == (2, 2, 6)
    assert gaps["managed_devices"].status == "partial"


def test_the_arrow_reader_takes_the_paging_members_as_page_columns(tmp_path):
    pages = device_pages(7, 3)
    path = write(tmp_path / "pages.jsonl", *pages, lines=True)
    reading = read_device_pages(path, "pages.jsonl", DEVICES_CONTEXT, list(mac(0)))
    assert reading is not None  # the fast path took it
    [listed] = reading.lists
    assert (listed.pages, listed.linked_pages, listed.records) == (3, 2, 7)
    assert not listed.is_cut
    cut = write(tmp_path / "cut.jsonl", *pages[:2], lines=True)
    reading = read_device_pages(cut, "cut.jsonl", DEVICES_CONTEXT, list(mac(0)))
    assert reading is not None and reading.lists[0].lacks_last_page


def test_a_nextlink_spelled_otherwise_leaves_the_arrow_reader_and_still_counts(tmp_path):
    first, _ = device_pages(4, 3)
    first["@odata.nextlink"] = first.pop("@odata.nextLink")
    path = write(tmp_path / "pages.jsonl", first, first, lines=True)
    assert read_device_pages(path, "pages.jsonl", DEVICES_CONTEXT, list(mac(0))) is None
    assert "managed_devices" in gap_of([path])[0]


@pytest.mark.parametrize("where", ["before value", "after value"])
def test_a_big_value_document_read_in_slices_keeps_its_nextlink(tmp_path, where):
    first, _ = device_pages(60, 40)
    link = first.pop("@odata.nextLink")
    document = (
        {"@odata.nextLink": link, **first}
        if where == "before value"
        else {**first, "@odata.nextLink": link}
    )
    path = tmp_path / "all.json.gz"  # gzip: Arrow does not read it, so the slices do
    path.write_bytes(gzip.compress(orjson.dumps(document, option=orjson.OPT_INDENT_2), mtime=0))
    gaps, readings = gap_of([path], IN_SLICES)
    [listed] = readings.lists
    assert (listed.pages, listed.linked_pages, listed.records) == (1, 1, 40)
    assert gaps["managed_devices"].reason.startswith("all.json.gz holds 1 page (40 records)")


def test_a_whole_value_document_read_in_slices_or_by_arrow_has_no_gap(tmp_path):
    [whole] = device_pages(40, 40)
    path = write(tmp_path / "all.json", whole)
    for limits in (IN_SLICES, None):
        gaps, readings = gap_of([path], limits)
        assert gaps == {}
        assert readings.lists[0].records == 40


def test_two_processes_add_up_their_pages(tmp_path):
    pages = device_pages(40, 3)
    path = tmp_path / "pages.jsonl"
    lines = [orjson.dumps(p) + b"\n" for p in pages[:-1]]
    path.write_bytes(b"".join([lines[0], b"\n", *lines[1:]]))  # a blank line keeps Arrow out
    gaps, readings = gap_of([path], TWO_PROCESSES)
    [listed] = readings.lists
    assert (listed.pages, listed.linked_pages, listed.records) == (13, 13, 39)
    assert "managed_devices" in gaps


# -- child lists and stated counts ----------------------------------------------------------------


def test_a_cut_ade_profile_list_is_a_partial_part_naming_its_token(tmp_path):
    devices = write(tmp_path / "devices.json", device_pages(3, 3)[0])
    profiles = write(tmp_path / "profiles.json", profile_pages(3, 2)[0])
    out = tmp_path / "out"
    done = run(out, devices, profiles)
    assert done.returncode == 0, done.stderr  # not the core part: a PARTIAL report, exit 0
    data = findings(out)
    assert data["run"]["complete"] is False
    ade = part(out, "ade_profiles")
    assert ade["state"] == "failed"
    assert (
        f"profiles.json holds 1 page (2 records) of the list deviceManagement/"
        f"depOnboardingSettings('{TOKEN}')/enrollmentProfiles" in ade["reason"]
    )
    assert part(out, "managed_devices")["state"] == "collected"


def test_the_whole_ade_profile_list_in_an_array_of_pages_is_collected(tmp_path):
    devices = write(tmp_path / "devices.json", device_pages(3, 3)[0])
    profiles = tmp_path / "profiles.json"
    profiles.write_text(json.dumps(profile_pages(3, 2)), encoding="utf-8")
    out = tmp_path / "out"
    done = run(out, devices, profiles)
    assert done.returncode == 0, done.stderr
    assert part(out, "ade_profiles")["state"] == "collected"


def test_an_odata_count_above_the_records_read_is_a_partial_list(tmp_path):
    [page] = device_pages(3, 3)
    page = {"@odata.context": DEVICES_CONTEXT, "@odata.count": 5, "value": page["value"]}
    source = write(tmp_path / "devices.json", page)
    out = tmp_path / "out"
    done = run(out, source, extra=("--allow-partial", "--format", "json"))
    assert done.returncode == 0, done.stderr
    assert part(out, "managed_devices")["reason"].startswith(
        "devices.json holds 1 page (3 records) of the list deviceManagement/managedDevices, "
        "but its @odata.count says the list holds 5"
    )
    page["@odata.count"] = 3
    assert gap_of([write(tmp_path / "whole.json", page)])[0] == {}


def test_an_odata_count_on_the_first_page_is_checked_against_every_page(tmp_path):
    first, last = device_pages(5, 3)
    first["@odata.count"] = 5  # only the first page states it (paging.md)
    assert gap_of([write(tmp_path / "p.jsonl", first, last, lines=True)])[0] == {}
    first["@odata.count"] = 9
    gaps, _ = gap_of([write(tmp_path / "q.jsonl", first, last, lines=True)])
    assert "its @odata.count says the list holds 9" in gaps["managed_devices"].reason


# -- auditor fetch says PARTIAL when any part is missing ------------------------------------------


def test_fetch_says_partial_when_a_part_is_denied_as_the_run_from_it_does(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITOR_GRAPH_TOKEN", "eyJ0eXAiOiJKV1QifQ.fetch.signature")
    denied = Fault(r"GET /v1\.0/deviceManagement/applePushNotificationCertificate", 403, times=None)
    snapshot = tmp_path / "snapshot.json.gz"
    with GraphServer(5, faults=[denied], export_polls=0) as graph:
        done = auditor("fetch", "--graph-url", graph.url, "--out", str(snapshot), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert "; PARTIAL: 1 part not collected whole: apns (denied)" in line, line
    assert "complete" not in line
    out = tmp_path / "out"
    assert run(out, snapshot).returncode == 0
    assert findings(out)["run"]["complete"] is False
    assert part(out, "apns")["state"] == "denied"


def test_pages_in_a_zip_add_up_with_pages_outside_it(tmp_path):
    first, second, last = device_pages(8, 3)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("page-1.json", orjson.dumps(first))
        bundle.writestr("page-2.json", orjson.dumps(second))
    gaps, _ = gap_of([archive])
    assert gaps["managed_devices"].reason.startswith(
        "export.zip/page-1.json, export.zip/page-2.json hold 2 pages (6 records)"
    )
    assert gap_of([archive, write(tmp_path / "page-3.json", last)])[0] == {}


def test_a_nextlink_alone_naming_no_known_list_joins_the_list_before_it(tmp_path):
    first, last = device_pages(5, 3)
    alone = {"@odata.nextLink": "https://graph.microsoft.com/beta/$batch?$skiptoken=odd"}
    gaps, readings = gap_of([write(tmp_path / "p.jsonl", first, last, alone, lines=True)])
    [listed] = readings.lists
    assert (listed.pages, listed.linked_pages) == (3, 2)
    assert gaps == {}  # the last page (no nextLink) was read
