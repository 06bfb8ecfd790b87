"""auditor.sources.files: every export shape recognised by content, and errors that say where."""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import orjson
import pandas.testing
import pytest

from auditor.errors import SourceError
from auditor.sources.files import ReadLimits, UnknownShapeError, read_file, read_files

FIXTURES = Path(__file__).parent / "fixtures" / "files"


def read_one(path: Path, limits: ReadLimits | None = None):
    reading = read_file(path, limits)
    return {b.kind: b for b in reading.batches}, reading.input_file


def read_inputs(paths: list[Path], limits: ReadLimits | None = None):
    readings = read_files(paths, limits)
    return readings.batches, readings.inputs


def copy_as(tmp_path: Path, fixture: str, name: str, transform=lambda data: data) -> Path:
    target = tmp_path / name
    target.write_bytes(transform((FIXTURES / fixture).read_bytes()))
    return target


def graph_pages() -> list[dict]:
    lines = (FIXTURES / "graph_devices_beta_pages.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines]


# ---------------------------------------------------------------- Graph JSON shapes


def test_graph_list_page_becomes_graph_devices_with_value_locations():
    batches, info = read_one(FIXTURES / "graph_devices_v1_page.json")
    records = batches["graph_devices"].records
    assert list(records["deviceName"]) == [
        "MAC-ADE-SUPERVISED", "MAC-BYOD-PERSONAL", "MAC-DEM-KIOSK", "WIN-LAPTOP",
    ]  # fmt: skip
    assert records["source_record"].iloc[3] == "graph_devices_v1_page.json:value[3]"
    assert batches["graph_devices"].source == "graph_devices_v1_page.json"
    assert info.kind == "graph-managed-devices"
    assert info.records == 4
    digest = hashlib.sha256((FIXTURES / "graph_devices_v1_page.json").read_bytes()).hexdigest()
    assert info.sha256 == digest


def test_graph_device_batch_keeps_the_columns_normalization_reads():
    records = read_one(FIXTURES / "graph_devices_v1_page.json")[0]["graph_devices"].records
    assert {"id", "osVersion", "isSupervised", "complianceState"} <= set(records.columns)
    assert "manufacturer" not in records.columns  # dropped: nothing reads it (memory at 500k)
    # a list returns null for every device (msgraph-metadata#664): not read from a list
    assert "enrollmentProfileName" not in records.columns


def test_json_lines_of_pages_locate_records_by_line():
    records = read_one(FIXTURES / "graph_devices_beta_pages.jsonl")[0]["graph_devices"].records
    assert len(records) == 4
    assert records["source_record"].iloc[3] == "graph_devices_beta_pages.jsonl:line 2 value[1]"
    # a list's hardwareInformation is defaults (microsoft-graph-docs-contrib#8667): not read
    assert not any(c.startswith("hardwareInformation") for c in records.columns)


def test_json_array_of_pages(tmp_path):
    path = tmp_path / "pages.json"
    path.write_bytes(orjson.dumps(graph_pages()))
    records = read_one(path)[0]["graph_devices"].records
    assert records["source_record"].tolist()[2:] == [
        "pages.json:[1].value[0]",
        "pages.json:[1].value[1]",
    ]


def test_pretty_printed_pages_one_after_another(tmp_path):
    path = tmp_path / "pages.json"
    path.write_text("\n".join(json.dumps(page, indent=2) for page in graph_pages()))
    records = read_one(path)[0]["graph_devices"].records
    assert len(records) == 4
    assert records["source_record"].iloc[2] == "pages.json:document 2 value[0]"


def test_bare_array_of_detail_records_counts_as_single_gets():
    batches, info = read_one(FIXTURES / "device_details.json")
    records = batches["graph_device_details"].records
    assert records["bootstrapTokenEscrowed"].tolist() == [True, False]
    assert records["hardwareInformation.productName"].tolist() == ["MacBookPro18,3", "Mac15,12"]
    assert records["source_record"].iloc[1] == "device_details.json:[1]"
    assert info.kind == "graph-device-details"


def test_list_page_with_only_detail_fields_is_still_a_list(tmp_path):
    page = {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/managedDevices",
        "value": [{"id": "a", "bootstrapTokenEscrowed": False}],
    }
    path = tmp_path / "list.json"
    path.write_bytes(orjson.dumps(page))
    assert set(read_one(path)[0]) == {"graph_devices"}


def test_single_object_response_is_a_single_get():
    batches, _ = read_one(FIXTURES / "device_single_get.json")
    records = batches["graph_device_details"].records
    assert records["source_record"].tolist() == ["device_single_get.json"]
    assert records["bootstrapTokenEscrowed"].tolist() == [True]


def test_single_full_device_without_context_is_a_single_get(tmp_path):
    device = orjson.loads((FIXTURES / "graph_devices_v1_page.json").read_bytes())["value"][0]
    path = tmp_path / "one.json"
    path.write_bytes(orjson.dumps(device))
    assert set(read_one(path)[0]) == {"graph_device_details"}


@pytest.mark.parametrize(
    ("fixture", "kind", "column"),
    [
        ("apns_certificate.json", "apns", "expirationDateTime"),
        ("dep_onboarding_settings.json", "ade_tokens", "tokenExpirationDateTime"),
        ("dep_enrollment_profiles.json", "ade_profiles", "displayName"),
        (
            "enrollment_configurations.json",
            "enrollment_configurations",
            "macOSRestriction.platformBlocked",
        ),
    ],
)
def test_tenant_objects_by_content(fixture, kind, column):
    batches, _ = read_one(FIXTURES / fixture)
    assert set(batches) == {kind}
    assert column in batches[kind].records.columns


def test_enrollment_profiles_take_their_token_from_the_context():
    records = read_one(FIXTURES / "dep_enrollment_profiles.json")[0]["ade_profiles"].records
    assert set(records["tokenId"]) == {"tok-1"}


def test_tenant_object_recognised_by_odata_type_alone(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"@odata.type": "#microsoft.graph.depOnboardingSetting", "id": "t"}')
    assert set(read_one(path)[0]) == {"ade_tokens"}


# ---------------------------------------------------------------- CSV and the Devices report


def test_admin_center_csv_with_bom_keeps_its_headers():
    batches, info = read_one(FIXTURES / "admin_center_devices.csv")
    records = batches["admin_center_csv"].records
    assert "Device ID" in records.columns  # the BOM is not part of the first header
    assert records["Serial number"].tolist()[:2] == ["C02ADE000001", "C02BYOD00002"]
    assert records["Device ID"].iloc[1] == ""
    assert records["source_record"].iloc[0] == "admin_center_devices.csv:line 2"
    assert info.kind == "admin-center-csv"


def test_devices_report_csv():
    batches, info = read_one(FIXTURES / "export_devices.csv")
    records = batches["export_devices"].records
    assert records["UserApprovedEnrollment"].tolist()[:2] == ["True", "False"]
    assert records["Model"].iloc[0] == "MacBookPro18,3"  # quoted comma
    assert info.kind == "export-devices"


def test_devices_report_as_json_rows_and_as_schema_values_table():
    rows = read_one(FIXTURES / "export_devices_rows.json")[0]["export_devices"].records
    table = read_one(FIXTURES / "export_devices_table.json")[0]["export_devices"].records
    assert rows["DeviceName"].tolist() == ["MAC-EXPORT-ONLY"]
    assert table["DeviceName"].tolist() == ["MAC-EXPORT-ONLY", "ANDROID-PHONE"]
    assert table["source_record"].iloc[1] == "export_devices_table.json:Values[1]"


def test_devices_report_zip_as_intune_hands_it_out(tmp_path):
    path = tmp_path / "Devices_2026.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(FIXTURES / "export_devices.csv", "Devices_05e6.csv")
    batches, info = read_one(path)
    records = batches["export_devices"].records
    assert len(records) == 5
    assert records["source_record"].iloc[0] == "Devices_2026.zip/Devices_05e6.csv:line 2"
    assert info.kind == "export-devices"
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_semicolon_separated_csv(tmp_path):
    path = tmp_path / "devices.csv"
    path.write_text("Device ID;Serial number;OS\nabc;C02X;macOS\n")
    records = read_one(path)[0]["admin_center_csv"].records
    assert records["Serial number"].tolist() == ["C02X"]


# ---------------------------------------------------------------- compression and encodings


def test_gzip_recognised_by_magic_bytes_not_name(tmp_path):
    path = copy_as(tmp_path, "graph_devices_v1_page.json", "devices.dat", gzip.compress)
    batches, info = read_one(path)
    assert len(batches["graph_devices"].records) == 4
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # the file's bytes


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: text.encode("utf-16"),  # BOM, native order
        lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        lambda text: text.encode("utf-16-le"),  # no BOM: recognised by its NUL bytes
    ],
    ids=["utf8-bom", "utf16", "utf16-le-bom", "utf16-be-bom", "utf16-le-no-bom"],
)
@pytest.mark.parametrize(
    ("fixture", "kind"),
    [("graph_devices_v1_page.json", "graph_devices"), ("export_devices.csv", "export_devices")],
)
def test_encodings(tmp_path, fixture, kind, encode):
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    path = tmp_path / fixture
    path.write_bytes(encode(text))
    records = read_one(path)[0][kind].records
    assert len(records) > 2
    assert "MAC-BYOD-PERSONAL" in set(records.iloc[:, :6].to_numpy().ravel())


def test_non_ascii_values_survive_utf16(tmp_path):
    path = tmp_path / "devices.csv"
    path.write_bytes("Device ID,Device name\nabc,Zoë’s MacBook ✓\n".encode("utf-16"))
    assert read_one(path)[0]["admin_center_csv"].records["Device name"].tolist() == [
        "Zoë’s MacBook ✓"
    ]


# ---------------------------------------------------------------- the tool's own snapshot


def test_snapshot_becomes_batches_tenant_and_gaps(tmp_path):
    pytest.importorskip("auditor.sources.snapshot", reason="the Graph helper's snapshot reader")
    device = orjson.loads((FIXTURES / "graph_devices_v1_page.json").read_bytes())["value"][0]
    snapshot = {
        "auditor_snapshot": 1,
        "tool_version": "0.1.0",
        "fetched_at": "2026-08-31T10:00:00Z",
        "tenant_id": "11111111-2222-3333-4444-555555555555",
        "complete": False,
        "parts": {
            "managed_devices": {"status": "ok", "endpoint": "/beta/…", "records": [device]},
            "apns": {"status": "denied", "endpoint": "/v1.0/…", "records": []},
        },
        "gaps": [
            {"part": "apns", "reason": "403", "fields": ["apns_expires_at"], "is_core": False}
        ],
    }
    path = tmp_path / "snapshot.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps(snapshot)))
    readings = read_files([path])
    kinds = {b.kind: b for b in readings.batches}
    assert kinds["graph_devices"].records["id"].tolist() == [device["id"]]
    assert kinds["tenant"].records["tenant_id"].tolist() == [snapshot["tenant_id"]]
    assert readings.inputs[0].kind == "snapshot"
    assert [g.part for g in readings.gaps] == ["apns"]


# ---------------------------------------------------------------- errors name the file and place


def error_of(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SourceError) as caught:
        read_inputs([path])
    return str(caught.value)


def test_truncated_json_says_where_it_ends(tmp_path):
    data = (FIXTURES / "graph_devices_v1_page.json").read_bytes()
    data = data.replace(b"\n", b" ")[:1500]
    message = error_of(tmp_path, "devices.json", data)
    assert message == "devices.json: line 1 column 1501: JSON ends early (truncated?)"


def test_truncated_last_page_of_json_lines_names_its_line(tmp_path):
    data = (FIXTURES / "graph_devices_beta_pages.jsonl").read_bytes()[:-200]
    message = error_of(tmp_path, "pages.jsonl", data)
    assert message.startswith("pages.jsonl: line 2 column ")
    assert message.endswith("JSON ends early (truncated?)")


def test_invalid_json_token(tmp_path):
    message = error_of(tmp_path, "bad.json", b'{"value": [{"id": nope}]}')
    assert message == "bad.json: line 1 column 19: invalid JSON (invalid literal, expected 'null')"


def test_csv_without_id_and_serial_names_the_missing_column(tmp_path):
    message = error_of(tmp_path, "export.csv", b"Device name,OS version,Last check-in\nMAC,14.5,\n")
    assert message == (
        "export.csv: missing required column 'Device ID' or 'Serial number' "
        "(have: Device name, OS version, Last check-in)"
    )


def test_devices_report_without_id_names_its_column(tmp_path):
    message = error_of(
        tmp_path, "report.csv", b"DeviceName,OSVersion,UserApprovedEnrollment\nM,14,True\n"
    )
    assert "report.csv: missing required column 'DeviceId'" in message


def test_csv_of_another_kind_is_not_a_known_shape(tmp_path):
    message = error_of(tmp_path, "users.csv", b"User,Email\nada,ada@contoso.com\n")
    assert message.startswith("users.csv: not a known shape")
    assert "(have: User, Email)" in message


def test_json_records_of_another_kind_name_their_fields(tmp_path):
    message = error_of(tmp_path, "groups.json", b'{"value": [{"id": "g", "mailNickname": "x"}]}')
    assert message.startswith("groups.json:value: not a known shape (fields: id, mailNickname)")


def test_array_of_non_objects(tmp_path):
    message = error_of(tmp_path, "ids.json", b'[{"DeviceId": "a"}, 7]')
    assert message == "ids.json:[1]: expected an object (a record), found the number 7"


@pytest.mark.parametrize(
    ("data", "holds"),
    [
        (b"null", "the file is JSON holding null"),
        (b"  null\n", "the file is JSON holding null"),
        (b"42", "the file is JSON holding the number 42"),
        (b'"x"', 'the file is JSON holding the string "x"'),
        (b"false", "the file is JSON holding the boolean false"),
        (b"[]", "an empty array"),
        (b"{}", "an empty JSON object"),
        (b"[null, null]", "an array of nulls, not of records"),
        (b'[1, "a"]', "an array of numbers, strings, not of records"),
        (b"null\nnull\n", "line 1: not a known shape: expected a JSON object or array, found null"),
        (gzip.compress(b"42", mtime=0), "the file is JSON holding the number 42"),
    ],
)
def test_json_that_holds_no_records_is_described_as_json(tmp_path, data, holds):
    """Issue 15: a JSON `null` file was described as a CSV whose header is `null`."""
    path = tmp_path / "x.json"
    path.write_bytes(data)
    with pytest.raises(UnknownShapeError) as caught:
        read_files([path])
    message = str(caught.value)
    assert message.startswith("x.json") and "not a known shape" in message
    assert holds in message
    assert "header" not in message and "CSV" not in message


def test_ragged_csv_row(tmp_path):
    message = error_of(tmp_path, "a.csv", b"Device ID,Serial number\nx,y\nx,y,z\n")
    assert message == "a.csv: line 3: expected 2 fields (as in the header), found 3"


@pytest.mark.parametrize("data", [b"", b"  \n\t\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE])
def test_empty_file(tmp_path, data):
    assert error_of(tmp_path, "empty.csv", data) == "empty.csv: the file is empty"


def test_undecodable_byte_in_csv_names_line_and_column(tmp_path):
    data = b"Device ID,Device name\nabc,MAC-1\ndef,Zo\xff\n"
    message = error_of(tmp_path, "latin1.csv", data)
    assert message == (
        "latin1.csv: line 3 column 7: byte 0xff is not valid UTF-8 "
        "(save the file as UTF-8 or UTF-16)"
    )


def test_undecodable_byte_in_json_names_line_and_column(tmp_path):
    message = error_of(tmp_path, "d.json", b'{"value": [\n{"id": "a", "deviceName": "\xe9"}]}')
    assert message.startswith("d.json: line 2 column 28: byte 0xe9 is not valid UTF-8")


def test_cut_gzip(tmp_path):
    data = gzip.compress((FIXTURES / "graph_devices_v1_page.json").read_bytes())[:-30]
    assert error_of(tmp_path, "d.json.gz", data).startswith(
        "d.json.gz: gzip data is damaged or cut short"
    )


def test_damaged_zip(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Devices.csv", "DeviceId\nx\n")
    message = error_of(tmp_path, "Devices.zip", buffer.getvalue()[:40])
    assert message.startswith("Devices.zip: the ZIP archive is damaged or cut short")


def test_missing_file_names_it(tmp_path):
    with pytest.raises(SourceError, match=r"nope\.json: cannot read the file"):
        read_inputs([tmp_path / "nope.json"])


def test_gzip_json_lines_stream_with_the_digest_of_the_file(tmp_path):
    path = copy_as(tmp_path, "graph_devices_beta_pages.jsonl", "pages.jsonl.gz", gzip.compress)
    batches, info = read_one(path)
    assert (
        batches["graph_devices"].records["source_record"].iloc[3]
        == "pages.jsonl.gz:line 2 value[1]"
    )
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_json_lines_with_bom_and_blank_lines(tmp_path):
    lines = (FIXTURES / "graph_devices_beta_pages.jsonl").read_bytes().splitlines()
    path = tmp_path / "pages.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + lines[0] + b"\n\n" + lines[1] + b"\n")
    records = read_one(path)[0]["graph_devices"].records
    assert records["source_record"].tolist()[2:] == [
        "pages.jsonl:line 3 value[0]",
        "pages.jsonl:line 3 value[1]",
    ]


def test_undecodable_byte_in_a_later_json_line(tmp_path):
    lines = (FIXTURES / "graph_devices_beta_pages.jsonl").read_bytes().splitlines()
    data = lines[0] + b"\n" + lines[1].replace(b"MAC-DEM-LAB", b"MAC-\xff") + b"\n"
    message = error_of(tmp_path, "pages.jsonl", data)
    assert message.startswith("pages.jsonl: line 2 column ")
    assert "byte 0xff is not valid UTF-8" in message


TWO_PROCESSES = ReadLimits(two_processes_from=0)
"""Split even small JSON-lines files between two processes (the 500k-device path)."""


def many_pages(tmp_path: Path, pages: int) -> Path:
    lines = (FIXTURES / "graph_devices_beta_pages.jsonl").read_bytes().splitlines()
    path = tmp_path / "pages.jsonl"
    path.write_bytes(b"".join(lines[i % 2] + b"\n" for i in range(pages)))
    return path


def test_two_processes_read_what_one_reads(tmp_path):
    path = many_pages(tmp_path, 40)
    batches, info = read_one(path, TWO_PROCESSES)
    records = batches["graph_devices"].records
    assert len(records) == 80
    assert records["source_record"].tolist()[-1] == "pages.jsonl:line 40 value[1]"
    assert records["source_record"].is_unique
    assert records["deviceName"].tolist()[:4] == records["deviceName"].tolist()[-4:]
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_long_first_line_is_not_read_by_both_processes(tmp_path):
    """The child's lines may start right after line 1: the parent then reads no more lines.

    (Found by tests/test_reader_properties.py: line 2 was read twice, its Mac "listed twice".)
    """
    lines = (FIXTURES / "graph_devices_beta_pages.jsonl").read_bytes().splitlines()
    first = orjson.loads(lines[0])
    first["value"][0]["notes"] = "n" * 20_000  # most of the file: the split falls after it
    first["value"][0]["isSupervised"] = "yes"  # a string: Arrow declines, the general reader reads
    path = tmp_path / "pages.jsonl"
    path.write_bytes(orjson.dumps(first) + b"\n" + lines[1] + b"\n" + lines[0] + b"\n")
    records = read_one(path, TWO_PROCESSES)[0]["graph_devices"].records
    assert records["source_record"].is_unique
    assert len(records) == 2 * len(first["value"]) + len(orjson.loads(lines[1])["value"])


def test_error_in_the_second_process_names_its_line(tmp_path):
    path = many_pages(tmp_path, 40)
    path.write_bytes(path.read_bytes()[:-100] + b"\n")
    with pytest.raises(SourceError, match=r"^pages\.jsonl: line 40 column \d+: JSON ends early"):
        read_file(path, TWO_PROCESSES)


IN_SLICES = ReadLimits(sliced_from=0, slice_bytes=700)
"""Read even small `value` documents slice by slice (the 500k-device path)."""


def big_page(tmp_path: Path, devices: int, **extra) -> Path:
    page = orjson.loads((FIXTURES / "graph_devices_v1_page.json").read_bytes())
    template = page["value"][0]
    page["value"] = [
        {**template, "id": f"id-{i}", "deviceName": f"MAC-{i}", **extra} for i in range(devices)
    ]
    page["@odata.nextLink"] = (
        "https://graph.microsoft.com/v1.0/deviceManagement/managedDevices?$skiptoken=x"
    )
    path = tmp_path / "all.json"
    path.write_bytes(orjson.dumps(page, option=orjson.OPT_INDENT_2))
    return path


def test_value_document_in_slices_reads_what_a_whole_read_reads(tmp_path):
    path = big_page(tmp_path, 60, usersLoggedOn=[{"userId": "u1"}, {"userId": "u2"}])
    batches, info = read_one(path, IN_SLICES)
    records = batches["graph_devices"].records
    assert records["deviceName"].tolist() == [f"MAC-{i}" for i in range(60)]
    assert records["source_record"].tolist()[59] == "all.json:value[59]"
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_truncated_value_document_read_in_slices_still_says_where(tmp_path):
    path = big_page(tmp_path, 60)
    path.write_bytes(path.read_bytes()[:-400])
    with pytest.raises(SourceError, match=r"^all\.json: line \d+ column \d+: JSON ends early"):
        read_file(path, IN_SLICES)


def test_arrow_and_csv_module_readers_agree():
    """Big CSVs are read by Arrow; odd ones by the csv module (its errors name the line)."""
    from auditor.sources.files.csv_exports import _read_with_arrow, _read_with_csv

    text = (
        'a1,C02X,"Zoë\'s ""Mac"", 2",zoe@contoso.com,=1+1\r\n'
        "\r\n"
        'a2,,"  padded  ",,x\r\n'
        'a3,C02Z,"two\nlines",名前@contoso.com,\r\n'
    ).encode()
    names = [f"c{i}" for i in range(5)]
    arrow = _read_with_arrow(text, 0, ",", names, [0, 1, 2, 3])
    assert arrow is not None
    module = _read_with_csv(text, 0, "x.csv", ",", names, [0, 1, 2, 3], first=2)
    assert list(arrow.columns) == list(module.columns) == names[:4]
    assert arrow.astype(object).values.tolist() == module.astype(object).values.tolist()
    assert arrow["c2"].tolist() == ['Zoë\'s "Mac", 2', "  padded  ", "two\nlines"]


@pytest.mark.parametrize(
    "data",
    [b"a,b\na,b,c\n", b"a,b\na\n", b'a,b\na,"b\n', b"\xff,a\n"],
    ids=["long row", "short row", "quote never closed", "not UTF-8"],
)
def test_csv_arrow_cannot_read_exactly_goes_to_the_csv_module(data):
    from auditor.sources.files.csv_exports import _read_with_arrow

    assert _read_with_arrow(data, 0, ",", ["x", "y"], [0, 1]) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Device ID,Serial number\nx,y\nx\n", "line 3: expected 2 fields (as in the header), "
         "found 1 (the file may be cut short)"),
        (b'Device ID,Serial number\nx,y\nx,"C02', "line 3: a quoted value is never closed "
         "(the file may be cut short)"),
    ],
    ids=["short row", "cut inside quotes"],
)  # fmt: skip
def test_short_or_cut_csv_rows_are_refused_naming_the_line(tmp_path, data, message):
    assert error_of(tmp_path, "a.csv", data) == f"a.csv: {message}"


def test_csv_header_with_a_quoted_line_break_keeps_the_columns_after_it(tmp_path):
    path = tmp_path / "devices.csv"
    path.write_bytes(b'"Device\nname",Device ID,Serial number\nMAC-1,id-1,C02X\nMAC-2,id-2,C02Y\n')
    records = read_one(path)[0]["admin_center_csv"].records
    assert records["Serial number"].tolist() == ["C02X", "C02Y"]
    assert records["Device ID"].tolist() == ["id-1", "id-2"]
    assert records["source_record"].tolist() == ["devices.csv:line 3", "devices.csv:line 4"]


def test_csv_rows_name_their_first_line_across_blank_lines_and_line_breaks(tmp_path):
    path = tmp_path / "devices.csv"
    path.write_bytes(b'Device ID,Device name\nid-1,"two\nlines"\n\nid-2,MAC-2\n')
    records = read_one(path)[0]["admin_center_csv"].records
    assert records["source_record"].tolist() == ["devices.csv:line 2", "devices.csv:line 5"]


_PHYSICAL = b'Device ID,Device name\n\nid-1,"two\nlines"\n\n\nid-2,"three\n\nlines"\nid-3,MAC-3%s\n'


@pytest.mark.parametrize(
    "tail", [b"", b'"'], ids=["Arrow reads it", "odd quotes: the csv module reads it"]
)
@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_csv_rows_cite_physical_lines_on_every_path(tmp_path, tail, line_end):
    """Quoted line breaks and blank lines count as lines, whichever reader takes the file.

    CR alone is how Excel's "CSV (Macintosh)" ends lines: such a file has no LF at all.
    """
    path = tmp_path / "devices.csv"
    path.write_bytes((_PHYSICAL % tail).replace(b"\n", line_end))
    records = read_one(path)[0]["admin_center_csv"].records
    assert records["Device ID"].tolist() == ["id-1", "id-2", "id-3"]
    lines = ["devices.csv:line 3", "devices.csv:line 7", "devices.csv:line 10"]
    assert records["source_record"].tolist() == lines


@pytest.mark.parametrize("tail", [b"", b'"'], ids=["Arrow first", "csv module"])
def test_csv_errors_cite_physical_lines_after_line_breaks_and_blanks(tmp_path, tail):
    data = _PHYSICAL % tail + b"\nid-4,MAC-4,extra\n"
    message = error_of(tmp_path, "a.csv", data)
    assert message == "a.csv: line 12: expected 2 fields (as in the header), found 3"


def test_powershell_type_line_counts_as_a_line(tmp_path):
    """Windows PowerShell's `#TYPE` line is line 1: the header is line 2."""
    head = (
        b'#TYPE Microsoft.Graph.PowerShell.Models.MicrosoftGraphManagedDevice\n"Id","DeviceName"\n'
    )
    path = tmp_path / "devices.csv"
    path.write_bytes(head + b'"id-1","MAC-1"\n\n"id-2","MAC-2"\n')
    records = read_one(path)[0]["graph_devices"].records
    assert records["source_record"].tolist() == ["devices.csv:line 3", "devices.csv:line 5"]
    message = error_of(tmp_path, "b.csv", head + b'"id-1","MAC-1"\n"id-2"\n')
    assert message.startswith("b.csv: line 4: expected 2 fields")


def test_a_column_present_twice_is_read_from_the_filled_copy(tmp_path):
    path = tmp_path / "devices.csv"
    path.write_bytes(b"Device ID,Serial number,Serial number\nid-1,,C02X\nid-2,C02Y,C02Y\n")
    batches, _ = read_one(path)
    assert batches["admin_center_csv"].records["Serial number"].tolist() == ["C02X", "C02Y"]


def test_copies_of_a_column_that_disagree_are_refused_naming_both(tmp_path):
    data = b"DeviceId,SerialNumber,Serial number\nid-1,C02X,C02X\nid-2,C02Y,C02Z\n"
    assert error_of(tmp_path, "export.csv", data) == (
        "export.csv:line 3: column 2 'SerialNumber' and column 3 'Serial number' hold the same "
        "field but disagree ('C02Y' vs 'C02Z'); remove one of them"
    )


def _device_pages(tmp_path, devices=1_500, *, extra_line=b""):
    """A generated fleet as Graph list pages, one per line (the Arrow reader's input)."""
    from auditor.sample import generate_tenant, write_tenant

    out = tmp_path / "tenant"
    write_tenant(generate_tenant(devices, 3, dt.date(2026, 9, 1)), out, pretty=False)
    pages = [orjson.loads(p.read_bytes()) for p in sorted(out.glob("managed_devices*.json"))]
    page = {"@odata.context": pages[0]["@odata.context"], "value": []}
    values = [device for p in pages for device in p["value"]]
    lines = [
        orjson.dumps({**page, "value": values[i : i + 400]}) for i in range(0, len(values), 400)
    ]
    return b"\n".join(lines) + b"\n" + extra_line


def _normalized_devices(path: Path):
    from auditor.normalize import normalize

    batches, inputs = read_inputs([path])
    devices = normalize(batches, inputs=inputs).devices
    return devices.assign(
        source="f", source_record=devices["source_record"].str.replace(path.name, "f")
    )


def test_arrow_and_general_json_lines_readers_give_the_same_devices(tmp_path):
    """Plain JSON lines of device pages go through Arrow; gzip through the general reader."""

    data = _device_pages(tmp_path)
    plain, zipped = tmp_path / "pages.jsonl", tmp_path / "pages.jsonl.gz"
    plain.write_bytes(data)
    zipped.write_bytes(gzip.compress(data))
    arrow, general = _normalized_devices(plain), _normalized_devices(zipped)
    assert len(arrow) == 1_500
    pandas.testing.assert_frame_equal(arrow, general)
    assert read_inputs([plain])[1][0].sha256 == hashlib.sha256(data).hexdigest()


def _pascal_case(data: bytes) -> bytes:
    """Every member of every record PascalCase (as the PowerShell SDK names them)."""
    pages = [orjson.loads(line) for line in data.splitlines() if line.strip()]
    for page in pages:
        page["value"] = [
            {k[:1].upper() + k[1:]: v for k, v in record.items()} for record in page["value"]
        ]
    return b"".join(orjson.dumps(page) + b"\n" for page in pages)


def _some_pascal_case(data: bytes) -> bytes:
    """The last page's serial numbers and supervision under PascalCase members."""
    head, last = data.rstrip(b"\n").rsplit(b"\n", 1)
    last = last.replace(b'"serialNumber"', b'"SerialNumber"').replace(
        b'"isSupervised"', b'"IsSupervised"'
    )
    return head + b"\n" + last + b"\n"


@pytest.mark.parametrize("change", [_pascal_case, _some_pascal_case], ids=["all", "last page"])
def test_arrow_and_general_readers_match_member_names_alike(tmp_path, change):
    """Names match case-insensitively on both paths: plain and gzip give the same Macs."""
    original = _device_pages(tmp_path, 900)
    plain, zipped, camel = (tmp_path / n for n in ("pages.jsonl", "pages.jsonl.gz", "c.jsonl"))
    plain.write_bytes(change(original))
    zipped.write_bytes(gzip.compress(change(original)))
    camel.write_bytes(original)
    arrow, general = _normalized_devices(plain), _normalized_devices(zipped)
    pandas.testing.assert_frame_equal(arrow, general)
    as_graph_wrote_it = _normalized_devices(camel)
    for field in ("serial_number", "is_supervised"):
        pandas.testing.assert_series_equal(arrow[field], as_graph_wrote_it[field])


@pytest.mark.parametrize("layout", ["JSON lines", "one document"])
def test_a_member_respelled_deep_in_a_page_is_read_not_skipped(tmp_path, layout):
    """Arrow skips a member it does not expect: a later record's PascalCase member must send
    the file to the general reader. (Found by tests/test_reader_properties.py: the name came
    out "missing" when the record sat beyond the first record of its page.)"""
    data = _device_pages(tmp_path, 900)
    pages = [orjson.loads(line) for line in data.splitlines()]
    record = pages[1]["value"][300]
    record["DeviceName"] = record.pop("deviceName")
    path = tmp_path / "pages.json"
    if layout == "JSON lines":
        path.write_bytes(b"".join(orjson.dumps(page) + b"\n" for page in pages))
    else:
        values = [device for page in pages for device in page["value"]]
        path.write_bytes(orjson.dumps({**pages[0], "value": values}))
    devices = _normalized_devices(path).set_index("device_id")
    assert devices.loc[record["id"], "device_name"] == record["DeviceName"]


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.replace(b'"isSupervised":true', b'"isSupervised":"yes"', 1),  # a string
        lambda d: d.replace(b"\n", b"\n\n", 1),  # a blank line: record numbers would shift
        lambda d: (
            d + b'{"@odata.context":"https://x/$metadata#deviceManagement/'
            b'applePushNotificationCertificate","value":[]}\n'
        ),
        lambda d: d.replace(b"\n", b"", 1) + b"\n",  # two pages on one line, one more line
        _some_pascal_case,
    ],
    ids=["unexpected type", "blank line", "another collection", "two pages on a line", "case"],
)
def test_device_pages_arrow_cannot_read_exactly_go_to_the_general_reader(tmp_path, change):
    from auditor.sources.files.json_arrow import read_device_pages

    original = _device_pages(tmp_path, 900)
    path = tmp_path / "pages.jsonl"
    path.write_bytes(change(original))
    first = orjson.loads(original.split(b"\n", 1)[0])
    keys = [k for record in first["value"] for k in record]
    assert read_device_pages(path, "pages.jsonl", first["@odata.context"], keys) is None


def test_two_pages_on_one_line_are_read_as_documents_in_order(tmp_path):
    data = _device_pages(tmp_path, 900)
    path = tmp_path / "pages.jsonl"
    path.write_bytes(data.replace(b"\n", b"", 1) + b"\n")  # pages 1 and 2 on line 1, a blank
    records = read_one(path)[0]["graph_devices"].records
    assert len(records) == 900
    assert records["source_record"].iloc[[0, 400, 899]].tolist() == [
        "pages.jsonl:document 1 value[0]",
        "pages.jsonl:document 2 value[0]",
        "pages.jsonl:document 3 value[99]",
    ]


def test_one_big_value_document_read_by_arrow_matches_the_general_reader(tmp_path):
    """Documents over 64 MB go to Arrow whole; a small pretty-printed one shows the same."""
    from auditor.models import RawBatch
    from auditor.normalize import normalize
    from auditor.sources.files.json_arrow import read_device_pages

    lines = _device_pages(tmp_path, 700).splitlines()
    pages = [orjson.loads(line) for line in lines]
    document = {**pages[0], "value": [d for p in pages for d in p["value"]]}
    path = tmp_path / "all.json"
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    keys = list(document["value"][0])
    fast = read_device_pages(path, "all.json", document["@odata.context"], keys, one_document=True)
    assert fast is not None
    assert fast.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    batches = fast.batches
    assert batches[0].records["source_record"].iloc[699] == "all.json:value[699]"
    general, _ = read_inputs([path])
    as_read = [RawBatch(b.kind, b.source, b.records) for b in batches]
    pandas.testing.assert_frame_equal(normalize(as_read).devices, normalize(general).devices)


# ---------------------------------------------------------------- records that are not devices


@pytest.mark.parametrize(
    "line",
    [
        b'{"@odata.context": "https://graph.microsoft.com/beta/$metadata#deviceManagement/'
        b'managedDevices", "value": null}',
        b'{"@odata.nextLink": "https://graph.microsoft.com/beta/deviceManagement/'
        b'managedDevices?$skiptoken=page9"}',
    ],
    ids=["value null", "nextLink alone"],
)
def test_a_line_without_a_value_list_adds_no_device(tmp_path, line):
    lines = (FIXTURES / "graph_devices_beta_pages.jsonl").read_bytes().splitlines()
    path = tmp_path / "pages.jsonl"
    path.write_bytes(lines[0] + b"\n" + line + b"\n" + lines[1] + b"\n")
    records = read_one(path)[0]["graph_devices"].records
    assert len(records) == 4
    assert records["id"].notna().all()
    assert records["source_record"].tolist()[2:] == [
        "pages.jsonl:line 3 value[0]",
        "pages.jsonl:line 3 value[1]",
    ]


def test_each_value_decides_whether_it_is_nested(tmp_path):
    """An object under a member in one record neither erases the others' values nor hides
    the members of objects past the first records."""
    records = [
        {"id": f"id-{i}", "serialNumber": f"C02X{i:08d}", "bootstrapTokenEscrowed": True,
         "hardwareInformation": None}
        for i in range(80)
    ]  # fmt: skip
    records[0]["serialNumber"] = {"value": "C02X00000000"}  # an object where a value belongs
    records[70]["hardwareInformation"] = {"productName": "Mac15,12", "serialNumber": "C02H70"}
    path = tmp_path / "details.json"
    path.write_bytes(orjson.dumps(records))  # a bare array of detail records: single GETs
    batches, _ = read_one(path)
    read = batches["graph_device_details"].records
    assert read["serialNumber"].isna().tolist()[:3] == [True, False, False]  # not read: missing
    assert read["serialNumber"].tolist()[1:3] == ["C02X00000001", "C02X00000002"]
    assert read["hardwareInformation.productName"].iloc[70] == "Mac15,12"
    notes = read_file(path).notes
    [odd] = [n for n in notes if n.problem == "not_a_value"]
    assert (odd.field, odd.count, odd.examples) == (
        "serialNumber",
        1,
        ("details.json:[0]: an object or array where a value belongs; not read",),
    )


def test_text_is_arrow_backed_and_a_column_mixing_types_keeps_each_value_as_read(tmp_path):
    """Text chunks become Arrow strings as they are read; a column that is text in one chunk
    and a boolean in another comes back as the values themselves (None where absent)."""
    records = [
        {"id": f"id-{i}", "serialNumber": f"C02X{i:08d}", "bootstrapTokenEscrowed": True,
         "hardwareInformation": None, "udid": None if i == 3 else f"U{i}"}
        for i in range(6_000)  # two chunks of the reader
    ]  # fmt: skip
    records[5_500]["serialNumber"] = True
    records[5_501]["serialNumber"] = None
    path = tmp_path / "details.json"
    path.write_bytes(orjson.dumps(records))
    read = read_one(path)[0]["graph_device_details"].records
    assert read["udid"].dtype == "string"
    assert read["udid"].isna().tolist()[2:5] == [False, True, False]
    assert read["serialNumber"].dtype == object
    serials = read["serialNumber"].tolist()
    assert serials[5_500] is True
    assert serials[5_501] is None
    assert serials[:2] == ["C02X00000000", "C02X00000001"]
    assert serials[5_999] == "C02X00005999"


def test_unused_columns_are_listed_once_per_file():
    for fixture, listed in [
        (  # list defaults are not read from a list
            "graph_devices_v1_page.json",
            "columns not used: manufacturer, enrollmentProfileName, udid, bootstrapTokenEscrowed",
        ),
        ("admin_center_devices.csv", None),
    ]:
        notes = [n for n in read_file(FIXTURES / fixture).notes if n.problem == "unmapped_columns"]
        assert [n.examples[0] for n in notes] == ([listed] if listed else [])


def test_one_column_quoted_csv_is_still_a_csv(tmp_path):
    """Its lines parse as JSON strings: it must not be mistaken for JSON lines."""
    path = tmp_path / "ids.csv"
    path.write_bytes(b'"DeviceId"\n"abc"\n"def"\n')
    reading = read_file(path)
    assert reading.kind == "export-devices"
    assert reading.batches[0].records["DeviceId"].tolist() == ["abc", "def"]


def _surrogate_page() -> dict:
    page = orjson.loads((FIXTURES / "graph_devices_v1_page.json").read_bytes())
    page["value"][1]["deviceName"] = "Ada\ud83d's Mac"  # an emoji's UTF-16 cut in half
    return page


@pytest.mark.parametrize(
    "layout",
    ["one document", "pretty documents", "JSON lines", "gzip JSON lines"],
)
def test_a_lone_surrogate_is_removed_and_noted_not_the_file_refused(tmp_path, layout):
    """`"\\ud83d"` is valid JSON syntax orjson refuses; the device and its name stay, noted."""
    page = _surrogate_page()
    text = json.dumps(page)  # ensure_ascii: the lone surrogate is written as an escape
    data = {
        "one document": text,
        "pretty documents": json.dumps(page, indent=2) + "\n" + json.dumps(page, indent=2),
        "JSON lines": text + "\n" + text + "\n",
        "gzip JSON lines": text + "\n" + text + "\n",
    }[layout].encode()
    path = tmp_path / "devices.json"
    path.write_bytes(gzip.compress(data) if layout.startswith("gzip") else data)
    reading = read_file(path)
    records = reading.batches[0].records
    copies = 1 if layout == "one document" else 2
    assert len(records) == copies * len(page["value"])
    assert records["deviceName"].tolist().count("Ada's Mac") == copies
    [note] = [n for n in reading.notes if n.problem == "control_characters"]
    assert (note.field, note.count, note.source) == ("deviceName", copies, "devices.json")
    assert note.examples[0].startswith("devices.json:")
    assert note.examples[0].endswith(
        "value[1].deviceName: a lone UTF-16 surrogate (text no UTF-8 can hold) removed"
    )


@pytest.mark.parametrize(
    "data",
    [b'{"value": [{"id": NaN}]}', b'{"value": [{"id": "a\\ud800", "x": NaN}]}'],
    ids=["orjson", "json module after a surrogate"],
)
def test_nan_is_not_json_on_any_path(tmp_path, data):
    message = error_of(tmp_path, "n.json", data)
    assert message.startswith("n.json: line 1 column") and "invalid JSON" in message


# Reading a folder on two cores (ReadLimits.shared_from): a child process reads a share of the
# files. The bundled sample tenant (its shapes cite their sources in test_published_shapes.py)
# read shared must equal it read one by one, and failures must come out in file order.
SHARED = [
    ReadLimits(shared_from=0, kept_from=10**12),  # every file may go to the child
    ReadLimits(shared_from=0, kept_from=2**16),  # the bigger ones stay here
]
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.mark.parametrize("limits", SHARED)
def test_a_folder_read_on_two_cores_equals_it_read_one_by_one(limits):
    alone, shared = read_files([SAMPLE]), read_files([SAMPLE], limits)
    assert shared.unrecognised == alone.unrecognised
    assert len(shared.files) == len(alone.files) > 5
    for one, two in zip(alone.files, shared.files, strict=True):
        assert (two.path, two.kind, two.sha256) == (one.path, one.kind, one.sha256)
        assert (two.notes, two.gaps, two.lists) == (one.notes, one.gaps, one.lists)
        assert [b.kind for b in two.batches] == [b.kind for b in one.batches]
        for a, b in zip(one.batches, two.batches, strict=True):
            pandas.testing.assert_frame_equal(b.records, a.records)


@pytest.mark.parametrize("limits", [ReadLimits(), *SHARED])
def test_the_first_damaged_file_in_order_stops_the_run_however_the_files_are_shared(
    tmp_path, limits
):
    for source in SAMPLE.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "a-broken.json").write_text('{"value": [{"id": "1"', encoding="utf-8")
    (tmp_path / "zz-broken.json").write_text('{"value": 3', encoding="utf-8")
    with pytest.raises(SourceError, match=r"^a-broken\.json: line 1 column 22: JSON ends early"):
        read_files([tmp_path], limits)


@pytest.mark.parametrize("limits", SHARED)
def test_a_file_given_by_name_fails_in_its_turn_and_a_folders_unknown_file_is_listed(
    tmp_path, limits
):
    (tmp_path / "notes.txt").write_text("just some notes\n", encoding="utf-8")
    (tmp_path / "devices.json").write_bytes((SAMPLE / "managed_devices.json").read_bytes())
    readings = read_files([tmp_path, SAMPLE / "export_devices.csv"], limits)
    assert [r.path.name for r in readings.files] == ["devices.json", "export_devices.csv"]
    assert (
        len(readings.unrecognised) == 1 and "notes.txt: not inventory" in readings.unrecognised[0]
    )
    with pytest.raises(UnknownShapeError, match=r"notes\.txt"):
        read_files([SAMPLE / "managed_devices.json", tmp_path / "notes.txt", tmp_path], limits)
