"""Properties of the readers (issue 15): one content in any layout reads the same; nothing vanishes.

Records are Graph `managedDevices` list records (members and value shapes of the v1.0/beta
managedDevice resource, microsoftgraph/microsoft-graph-docs-contrib api-reference/beta/
resources/intune-devices-manageddevice.md) and admin-center export rows (the display headers
of DevicesWithInventory, MicrosoftDocs/memdocs reports-export-graph-available-reports.md);
hypothesis varies their values, JSON types, sizes and member-name casing, and how the pages
of one list (a nextLink on all but the last: "Paging Microsoft Graph data in your app",
microsoft-graph-docs-contrib concepts/paging.md) are split over files. Each property
runs a few seconds: `max_examples` is kept small and the deadline off (the first example
pays for imports).
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pandas.testing
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.errors import SourceError
from auditor.normalize import normalize
from auditor.normalize.text import TEXT_LIMIT, capped, without_controls
from auditor.normalize.values import MISSING_TOKENS, as_text, token
from auditor.pipeline.inputs import with_list_gaps
from auditor.sources.files import ReadLimits, read_files

CONTEXT = "https://graph.microsoft.com/beta/$metadata#deviceManagement/managedDevices"
IN_SLICES = ReadLimits(sliced_from=0, slice_bytes=300)
PROPERTY = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Graph member → the canonical column that shows it as text (its `_raw` for enums).
TEXTS = {
    "deviceName": "device_name",
    "serialNumber": "serial_number",
    "userPrincipalName": "upn",
    "enrolledByUserPrincipalName": "enrolled_by_upn",
    "model": "model",
    "osVersion": "os_version_raw",
    "complianceState": "compliance_state_raw",
    "managedDeviceOwnerType": "ownership_raw",
    "deviceEnrollmentType": "enrollment_type_raw",
    "processorArchitecture": "processor_arch_raw",
}
# Graph member → the typed column a value is parsed into.
PARSED = {
    "isSupervised": "is_supervised",
    "isEncrypted": "is_encrypted",
    "enrolledDateTime": "enrolled_at",
    "lastSyncDateTime": "last_sync_at",
}
REALISTIC = {
    "deviceName": st.sampled_from(["MAC-ADA-01", "Zoë's MacBook Pro", "实验室-iMac", ""]),
    "serialNumber": st.sampled_from(["C02Z71ABMD6T", "FVFH3KQ8Q6L4", "VMwFVoWLEdXS", ""]),
    "userPrincipalName": st.sampled_from(["ada@contoso.com", "BOB@Contoso.com", ""]),
    "enrolledByUserPrincipalName": st.sampled_from(["dem@contoso.com", ""]),
    "model": st.sampled_from(["MacBookPro18,3", "MacBook Air", "VMware7,1", "Mac14,2"]),
    "osVersion": st.sampled_from(["14.5 (23F79)", "13.4.1 (c)", "15.7.9", "10.15.7", "x"]),
    "complianceState": st.sampled_from(["compliant", "noncompliant", "inGracePeriod", "odd"]),
    "managedDeviceOwnerType": st.sampled_from(["company", "personal", "unknown"]),
    "deviceEnrollmentType": st.sampled_from(
        ["appleBulkWithUser", "appleBulkWithoutUser", "userEnrollment", "unknownFuture"]
    ),
    "processorArchitecture": st.sampled_from(["arM64", "x64", "unknown"]),
    "isSupervised": st.booleans(),
    "isEncrypted": st.booleans(),
    "enrolledDateTime": st.sampled_from(
        ["2024-03-05T14:22:11.1234567Z", "0001-01-01T00:00:00Z", "2026-08-30T08:00:00Z"]
    ),
    "lastSyncDateTime": st.sampled_from(["2026-08-30T08:00:00Z", "1850-01-01T00:00:00Z"]),
}
TEXT = st.text(max_size=12)
LONG_TEXT = st.integers(TEXT_LIMIT - 2, 3 * TEXT_LIMIT).map(lambda n: "L" * n + "\u0007z")
ANY_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    LONG_TEXT,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
)


@st.composite
def graph_records(draw: st.DrawFn, *, hostile: bool) -> list[dict[str, Any]]:
    """Mac records with unique ids, members in any casing; `hostile`: any JSON type and size."""
    count = draw(st.integers(1, 6))
    ids = draw(st.lists(st.uuids(), min_size=count, max_size=count, unique=True))
    records = []
    for number, device_id in enumerate(ids):
        record: dict[str, Any] = {"id": str(device_id), "operatingSystem": "macOS"}
        for member, realistic in REALISTIC.items():
            if draw(st.booleans()) or not hostile:
                value = draw(st.one_of(realistic, ANY_JSON) if hostile else realistic)
                record[member] = value
        # member names in any casing (PowerShell writes PascalCase), and an unread member
        # big enough to push the next records out of any look-ahead window
        record = {_casing(draw, key): value for key, value in record.items()}
        record["notes"] = "n" * draw(st.sampled_from([0, 20_000]))
        record["_number"] = number
        records.append(record)
    return records


def _casing(draw: st.DrawFn, member: str) -> str:
    style = draw(st.sampled_from(["as Graph", "Pascal", "upper", "lower", "random"]))
    if style == "Pascal":
        return member[:1].upper() + member[1:]
    if style == "upper":
        return member.upper()
    if style == "lower":
        return member.lower()
    if style == "random":
        flips = draw(st.lists(st.booleans(), min_size=len(member), max_size=len(member)))
        return "".join(c.swapcase() if f else c for c, f in zip(member, flips, strict=True))
    return member


def _pages(records: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    clean = [{k: v for k, v in r.items() if k != "_number"} for r in records]
    return [
        {"@odata.context": CONTEXT, "value": clean[i : i + size]}
        for i in range(0, len(clean), size)
    ]


def _layouts(records: list[dict[str, Any]], page_size: int) -> dict[str, tuple[bytes, ReadLimits]]:
    """The same records in every layout the readers take, each with the limits to read it."""
    pages = _pages(records, page_size)
    whole = _pages(records, len(records))[0]
    lines = "".join(json.dumps(p) + "\n" for p in pages).encode()
    default = ReadLimits()
    return {
        "one document (Arrow)": (json.dumps(whole).encode(), default),
        "one document in slices": (json.dumps(whole).encode(), IN_SLICES),
        "gzip document": (gzip.compress(json.dumps(whole, indent=2).encode()), default),
        "JSON lines (Arrow)": (lines, default),
        "JSON lines, two processes": (lines, ReadLimits(two_processes_from=0)),
        "gzip JSON lines": (gzip.compress(lines), default),
        "pretty pages": ("\n".join(json.dumps(p, indent=1) for p in pages).encode(), default),
        "array of pages": (json.dumps(pages).encode(), default),
    }  # fmt: skip


def _canonical(path: Path, limits: ReadLimits) -> tuple[pd.DataFrame, Counter[tuple[str, str]]]:
    """Devices (lineage aside) and the notes' (field, problem) → count of one file."""
    readings = read_files([path], limits)
    inventory = normalize(readings.batches, inputs=readings.inputs, notes=readings.notes)
    devices = inventory.devices.drop(columns=["source", "source_record"])
    devices = devices.sort_values("device_id").reset_index(drop=True)
    notes = Counter()
    for note in inventory.quality:
        if note.problem != "unmapped_columns":  # lists the unused columns each layout carries
            notes[(note.field.casefold(), note.problem)] += note.count
    return devices, notes


LAYOUTS = tuple(_layouts([{"id": "x", "_number": 0}], 1))
REFERENCE = "gzip JSON lines"  # the general reader, one process


@PROPERTY
@given(
    graph_records(hostile=False),
    st.integers(1, 4),
    st.lists(
        st.sampled_from([n for n in LAYOUTS if n != REFERENCE]), min_size=2, max_size=2, unique=True
    ),
)
def test_one_content_reads_the_same_in_every_layout(tmp_path_factory, records, page_size, chosen):
    """Against the general reader, two other layouts per example (all are drawn over a run)."""
    folder = tmp_path_factory.mktemp("layouts")
    layouts = _layouts(records, page_size)
    results = {}
    for layout in (REFERENCE, *chosen):
        data, limits = layouts[layout]
        path = folder / f"{len(results)}.json"
        path.write_bytes(data)
        results[layout] = _canonical(path, limits)
    devices, notes = results.pop(REFERENCE)
    assert len(devices) == len(records)
    for layout, (other_devices, other_notes) in results.items():
        pandas.testing.assert_frame_equal(other_devices, devices, obj=f"{layout} vs {REFERENCE}")
        assert other_notes == notes, f"{layout} vs {REFERENCE}"


# Found by this test: text that says "no value" in a flag (read as missing, as designed)
NULL_FLAG = [
    {"id": "e3e70682-c209-4cac-629f-6fbed82c07cd", "operatingSystem": "macOS", "_number": 0},
    {
        "id": "f728b4fa-4248-5e3a-0a5d-2f346baa9455",
        "operatingSystem": "macOS",
        "isEncrypted": "NULL",
        "_number": 1,
    },
]


@PROPERTY
@given(graph_records(hostile=True), st.integers(1, 4), st.sampled_from(["plain", "lines", "gzip"]))
@example(records=NULL_FLAG, page_size=1, layout="plain")
def test_no_device_and_no_value_vanishes_whatever_the_types_sizes_and_casing(
    tmp_path_factory, records, page_size, layout
):
    """Each record is a Mac; each value it carries is shown as read, or noted as not read."""
    data = {
        "plain": json.dumps(_pages(records, len(records))[0]).encode(),
        "lines": "".join(json.dumps(p) + "\n" for p in _pages(records, page_size)).encode(),
    }
    data["gzip"] = gzip.compress(data["lines"])
    path = tmp_path_factory.mktemp("hostile") / "devices.json"
    path.write_bytes(data[layout])
    try:
        readings = read_files([path])
    except SourceError as exc:  # refused as a whole, naming the place, is never silent
        assert "devices.json" in str(exc)
        return
    inventory = normalize(readings.batches, inputs=readings.inputs, notes=readings.notes)
    devices = inventory.devices.set_index(inventory.devices["device_id"].str.casefold())
    assert len(devices) == len(records)  # every record a Mac with its own id: none vanishes
    noted = {(n.field.casefold(), n.problem) for n in inventory.quality}
    reasons = {"not_a_value", "unparseable", "control_characters", "unknown_value"}
    for record in records:
        values = {k.casefold(): v for k, v in record.items()}
        device = devices.loc[values["id"].casefold()]
        for member, column in {**TEXTS, **PARSED}.items():
            value = values.get(member.casefold())
            if _absent(value) or (member in PARSED and _is_never(value)):
                continue
            shown = device[column]
            if member in PARSED and _says_no_value(value):
                assert pd.isna(shown), (member, value, shown)  # "NULL", "n/a": never a default
                continue
            if pd.isna(shown):
                fields = (member.casefold(), column, column.removesuffix("_raw"))
                assert any((f, p) in noted for f in fields for p in reasons), (
                    f"{member}={value!r} of record {record['_number']} vanished without a note"
                )
            elif column in TEXTS.values():
                assert shown == _expected_text(value), (member, value, shown)
            elif isinstance(value, bool):
                assert bool(shown) is value, (member, value, shown)


def _is_never(value: Any) -> bool:
    """Intune's "never" date (.NET DateTime.MinValue, year 1): NA by design, not a lost value.

    normalize/dates.py `datetime_column` documents it; Graph writes 0001-01-01T00:00:00Z for a
    device that never synced, and exports write 1/1/0001 12:00:00 AM.
    """
    text = (as_text(value) or "").strip()
    return text.startswith(("0001-01-01", "1/1/0001"))


def _says_no_value(value: Any) -> bool:
    """Text that says "no value" ("NULL", "n/a", "unknown" …): a flag or date read as missing.

    normalize/values.py `MISSING_TOKENS` lists them (exports write them for an empty field).
    """
    text = as_text(value)
    return text is not None and token(text) in MISSING_TOKENS


def _absent(value: Any) -> bool:
    if isinstance(value, dict | list):
        return False  # not a value: must be noted when it replaces one
    text = as_text(value)
    return text is None or text.strip() == ""


def _expected_text(value: Any) -> str:
    text = without_controls(as_text(value) or "").strip()
    return capped(text)


# -------------------------------------------------------- paging: split any way, one decision

PAGE_LAYOUTS = ("JSON lines", "gzip JSON lines", "array of pages", "pretty pages")


def _page_file(pages: list[dict[str, Any]], layout: str) -> bytes:
    if len(pages) == 1 and layout == "pretty pages":
        return json.dumps(pages[0], indent=2).encode()  # one page: a plain Graph response
    if layout == "array of pages":
        return json.dumps(pages).encode()
    if layout == "pretty pages":
        return "\n".join(json.dumps(p, indent=1) for p in pages).encode()
    lines = "".join(json.dumps(p) + "\n" for p in pages).encode()
    return gzip.compress(lines, mtime=0) if layout == "gzip JSON lines" else lines


@PROPERTY
@given(
    graph_records(hostile=False),
    st.integers(1, 3),
    st.booleans(),
    st.lists(st.integers(0, 8), max_size=4),
    st.lists(st.sampled_from(PAGE_LAYOUTS), min_size=5, max_size=5),
)
def test_the_same_pages_split_differently_across_files_give_the_same_gap(
    tmp_path_factory, records, page_size, last_saved, cuts, layouts
):
    """Pages of one list (a nextLink on all but the last, Graph's paging) written over any
    number of files in any layout: the list is whole exactly when its last page was saved,
    and the gap counts every page and record that was read, whichever file held them."""
    pages = _pages(records, page_size)
    for number, page in enumerate(pages[:-1]):
        page["@odata.nextLink"] = f"{CONTEXT.replace('$metadata#', '')}?$skiptoken=p{number + 1}"
    saved = pages if last_saved or len(pages) == 1 else pages[:-1]
    if not last_saved and len(pages) == 1:
        saved[0]["@odata.nextLink"] = f"{CONTEXT.replace('$metadata#', '')}?$skiptoken=p1"
    bounds = sorted({0, len(saved), *(c for c in cuts if c < len(saved))})
    folder = tmp_path_factory.mktemp("split")
    for number, (start, stop) in enumerate(itertools.pairwise(bounds)):
        data = _page_file(saved[start:stop], layouts[number])
        (folder / f"page-{number:02d}.json").write_bytes(data)
    readings = with_list_gaps(read_files([folder]))
    [listed] = readings.lists
    assert (listed.pages, listed.records) == (len(saved), sum(len(p["value"]) for p in saved))
    gaps = {g.part: g for g in readings.gaps}
    assert ("managed_devices" in gaps) is not last_saved
    if not last_saved:
        files = len(bounds) - 1
        assert (
            f"hold{'s' if files == 1 else ''} {len(saved)} page" in gaps["managed_devices"].reason
        )


# ---------------------------------------------------------------- CSV: both readers, lines

HEADERS = ("Device ID", "Device name", "Serial number", "OS version", "Primary user UPN")
CELL = st.text(alphabet=st.sampled_from([*'ab ,;"\n\r\téü-=', "\u2028"]), max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(CELL, min_size=len(HEADERS), max_size=len(HEADERS)), min_size=1, max_size=8),
    st.lists(st.integers(0, 2), min_size=8, max_size=8),
    st.sampled_from(["\n", "\r\n"]),
    st.lists(
        st.sampled_from(["as given", "upper", "lower"]),
        min_size=len(HEADERS),
        max_size=len(HEADERS),
    ),
    st.booleans(),
)
def test_csv_rows_keep_their_values_and_physical_lines(
    tmp_path_factory, rows, blanks, end, casing, odd_quote
):
    """Values come back as written; each row cites the line it starts on (lines end at CRLF,
    LF or CR, as the csv module counts them), blank lines and line breaks in values included,
    whichever reader (Arrow, or the csv module) takes the file."""
    header = [
        {"upper": h.upper(), "lower": h.lower()}.get(style, h)
        for h, style in zip(HEADERS, casing, strict=True)
    ]
    rows = [[f"id-{i}", *row[1:]] for i, row in enumerate(rows)]  # every row names a Mac
    # an unread column whose first value holds one bare quote sends the file to the csv module
    text = _csv_line([*header, "Notes"]) + end
    starts = []
    for number, (row, blank) in enumerate(zip(rows, blanks, strict=False)):
        text += end * blank
        starts.append(text.count("\n") + text.count("\r") - text.count("\r\n") + 1)
        note = '5" screen' if odd_quote and number == 0 else ""
        text += _csv_line(row) + "," + note + end  # the bare quote as written: unquoted
    path = tmp_path_factory.mktemp("csv") / "devices.csv"
    path.write_bytes(text.encode())
    [batch] = read_files([path]).batches
    records = batch.records
    assert records["source_record"].tolist() == [f"devices.csv:line {s}" for s in starts]
    for position, name in enumerate(header):
        assert records[name].tolist() == [row[position] for row in rows], name


def _csv_line(values: list[str]) -> str:
    """One CSV record as Excel writes it: a value holding a delimiter, quote or break quoted."""
    return ",".join(
        '"' + v.replace('"', '""') + '"' if any(c in v for c in ',;"\r\n\t') else v for v in values
    )
