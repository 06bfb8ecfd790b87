"""Invariants over every reader and every shape: no invented Macs, none lost, nothing half-read.

For each input (the fixture files, the published shapes, and the same data as gzip, ZIP,
UTF-16, JSON lines, arrays of pages, pretty-printed documents, Azure Monitor envelopes):

- no record without an identifier (id, serial or name) becomes a device row;
- the Mac count equals the distinct Macs among the input's records, and the records of other
  platforms are excluded and counted;
- every column the shape maps to a canonical field is used, whatever its spelling (a column
  with values gives the field values), and the columns it does not map are listed once;
- a field no input carried is missing, and the rules that need it say `unknown`, naming it.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import orjson
import pandas as pd
import pytest

from auditor.config import Config
from auditor.engine import EvaluationContext, evaluate
from auditor.models import BatchKind
from auditor.normalize import normalize
from auditor.normalize.columns import SOURCE_COLUMNS, BatchColumns, spelling_key
from auditor.normalize.values import text_column, token
from auditor.normalize.vocabulary import MACOS_NAMES
from auditor.pipeline import resolve_catalogue
from auditor.rules import ALL_RULES
from auditor.rules.phrases import field_words
from auditor.sources.files import read_files

FIXTURES = Path(__file__).parent / "fixtures" / "files"
PUBLISHED = FIXTURES / "published"
DEVICE_KINDS = set(SOURCE_COLUMNS)
# Members a record may carry that normalization blanks on purpose (unselected GET defaults).
MASKED = ("bootstrapTokenEscrowed", "hardwareInformation.")


def _gzip(data: bytes, name: str) -> tuple[bytes, str]:
    return gzip.compress(data), name + ".gz"


def _zip(data: bytes, name: str) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue(), name + ".zip"


def _utf16(data: bytes, name: str) -> tuple[bytes, str]:
    return codecs.BOM_UTF16_LE + data.decode("utf-8-sig").encode("utf-16-le"), name


def _records_envelope(data: bytes, name: str) -> tuple[bytes, str]:
    records = [json.loads(line) for line in data.splitlines() if line.strip()]
    return json.dumps({"records": records}).encode(), name


def _array_of_pages(data: bytes, name: str) -> tuple[bytes, str]:
    pages = [orjson.loads(line) for line in data.splitlines() if line.strip()]
    return orjson.dumps(pages), name


def _pretty_documents(data: bytes, name: str) -> tuple[bytes, str]:
    pages = [orjson.loads(line) for line in data.splitlines() if line.strip()]
    return b"\n".join(orjson.dumps(p, option=orjson.OPT_INDENT_2) for p in pages), name


Transform = Callable[[bytes, str], tuple[bytes, str]]
PLAIN = [p for p in sorted(FIXTURES.iterdir()) if p.is_file()] + sorted(PUBLISHED.iterdir())
CASES: list[tuple[Path, Transform | None]] = [(p, None) for p in PLAIN] + [
    (FIXTURES / "graph_devices_beta_pages.jsonl", _gzip),
    (FIXTURES / "graph_devices_beta_pages.jsonl", _array_of_pages),
    (FIXTURES / "graph_devices_beta_pages.jsonl", _pretty_documents),
    (PUBLISHED / "devices_export_display_headers.csv", _zip),
    (PUBLISHED / "devices_export_display_headers.csv", _utf16),
    (PUBLISHED / "powershell_export_csv_en_gb.csv", _utf16),
    (PUBLISHED / "intune_diagnostic_devices.json", _records_envelope),
    (PUBLISHED / "intune_diagnostic_devices.json", _gzip),
    (FIXTURES / "export_devices.csv", _zip),
]


def _case_id(case: tuple[Path, Transform | None]) -> str:
    path, transform = case
    return path.name + (f"|{transform.__name__.strip('_')}" if transform else "")


@pytest.fixture(params=CASES, ids=[_case_id(c) for c in CASES])
def read(request, tmp_path):
    path, transform = request.param
    if transform is not None:
        data, name = transform(path.read_bytes(), path.name)
        path = tmp_path / name
        path.write_bytes(data)
    readings = read_files([path])
    inventory = normalize(readings.batches, inputs=readings.inputs, notes=readings.notes)
    return readings, inventory


def _identities(readings) -> tuple[set[str], int]:
    """The distinct Macs among the raw device records (by id, else serial, else name), and
    how many records are of another platform — read with the same spellings, not merged."""
    macs: set[str] = set()
    others = 0
    for batch in readings.batches:
        if batch.kind not in DEVICE_KINDS:
            continue
        columns = BatchColumns(BatchKind(batch.kind), batch.records)
        system = text_column(columns.field("operating_system")).astype(object)
        is_mac = pd.Series(
            [pd.isna(s) or token(str(s)) in MACOS_NAMES for s in system], index=system.index
        )
        others += int((~is_mac).sum())
        ids = text_column(columns.field("device_id")).str.casefold()
        serials = "serial:" + text_column(columns.field("serial_number")).str.upper()
        names = "name:" + text_column(columns.field("device_name"))
        identity = ids.fillna(serials).fillna(names)
        macs |= set(identity[is_mac].dropna())
    return macs, others


def test_no_record_without_an_identifier_becomes_a_mac(read):
    _, inventory = read
    devices = inventory.devices
    carried = devices["serial_number"].notna() | devices["device_name"].notna()
    real_id = ~devices["device_id"].str.startswith(("serial:", "record:"))
    assert (carried | real_id).all()


def test_the_mac_count_is_the_distinct_macs_and_other_platforms_are_counted(read):
    readings, inventory = read
    macs, others = _identities(readings)
    assert len(inventory.devices) == len(macs)
    counted = sum(n.count for n in inventory.quality if n.problem == "not_macos")
    assert counted == others


def test_every_mapped_column_is_used_and_the_others_are_listed_once(read):
    readings, inventory = read
    for reading in readings.files:
        listed = [n for n in reading.notes if n.problem == "unmapped_columns"]
        assert len(listed) <= 1
    fields = {
        spellings[0].casefold(): field
        for kind in DEVICE_KINDS
        for field, candidates in SOURCE_COLUMNS[kind].items()
        for spellings in candidates
    }
    devices = inventory.devices
    for batch in readings.batches:
        if batch.kind not in DEVICE_KINDS:
            continue
        macs = batch.records
        for column in macs.columns:
            key = spelling_key(BatchKind(batch.kind), str(column))
            field = fields.get((key or "").casefold())
            if field is None or (key or "").startswith(MASKED) or field == "model_identifier":
                continue  # model_identifier: a marketing name in `model` is not one
            if text_column(macs[column]).notna().any() and field in devices.columns:
                assert devices[field].notna().any(), (batch.source, column, field)


def test_fields_no_input_carried_are_missing_and_their_rules_unknown(read):
    _, inventory = read
    if inventory.devices.empty:
        return
    context = EvaluationContext(dt.date(2026, 9, 1), resolve_catalogue(Config()), {})
    results = evaluate(ALL_RULES, inventory.frames(), context)
    by_rule = {r.id: r for r in ALL_RULES}
    devices = inventory.devices
    for result in results[results["entity_type"] == "device"].itertuples():
        rule = by_rule[result.rule_id]
        strict = [c for c in rule.requires if c not in rule.nullable]
        row = devices.iloc[result.row]
        missing = [c for c in strict if pd.isna(row[c])]
        if missing and result.status != "not_applicable":
            assert result.status == "unknown", (result.rule_id, missing)
            named = [field_words(c) for c in missing]  # in words, never the column name
            assert all(n in result.detail for n in named), (result.rule_id, result.detail)
