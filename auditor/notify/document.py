"""Read what a message needs from a run's findings.json, in one streaming pass.

findings.json (docs/findings-json.md) is the public contract, so a message built from it says
exactly what the file says. The file can hold millions of findings; this keeps `run`,
`summary`, `waivers`, `changes` (without its per-result `items`) and `tenant`, and from the
findings array only the first failing results at the severities a message names (the array is
sorted by severity, so the scan stops early). Memory stays small whatever the tenant size.

A run that just finished has the report model the file was written from: `report_document`
takes the same parts from it (through the same JSON blocks) instead of parsing the file again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import ijson

from auditor.clock import collector_paused
from auditor.errors import SourceError
from auditor.models import Severity

if TYPE_CHECKING:  # the report model needs pandas: imported only to read one
    from auditor.report import Report

_KEPT = ("run", "summary", "waivers", "changes", "tenant")


@dataclass(slots=True)
class FailingMacs:
    """Macs failing at the severities a message names: how many, and the first few by name."""

    count: int = 0
    names: list[str] = field(default_factory=list)
    new_count: int | None = None  # None without history: findings then carry no first_seen
    new_names: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunDocument:
    """The parts of one findings.json a notification and the outcome summary use."""

    run: dict[str, Any]
    summary: dict[str, Any]
    waivers: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, Any] | None = None  # without `items`
    tenant: dict[str, Any] | None = None  # absent from files written before it existed
    failing: FailingMacs = field(default_factory=FailingMacs)

    @property
    def period(self) -> str:
        """The audited period, YYYY-MM of the as-of date."""
        return str(self.run["as_of"])[:7]


def read_document(path: Path, floor: Severity = Severity.HIGH, names: int = 10) -> RunDocument:
    """Read `path` (a findings.json); Macs failing at or above `floor` are counted, `names` named.

    Raises:
        SourceError: the file is missing, is not JSON or lacks `run`/`summary`.
    """
    try:
        with path.open("rb") as stream:
            return parse_document(stream, floor, names, str(path))
    except OSError as exc:
        raise SourceError(f"{path}: cannot read findings.json ({exc.strerror})") from exc


def parse_document(
    stream: IO[bytes],
    floor: Severity,
    names: int,
    origin: str = "findings.json",
) -> RunDocument:
    """`read_document` over an open binary stream."""
    wanted = {s.value for s in Severity if s.rank <= floor.rank}
    parts: dict[str, Any] = {}
    failing = FailingMacs()
    events = ijson.parse(stream, use_float=True)
    try:
        with collector_paused():  # millions of events after a run that left millions of objects
            for prefix, event, value in events:
                if prefix != "" or event != "map_key":
                    continue
                if value in _KEPT:
                    skip = "changes.items" if value == "changes" else None
                    parts[value] = _build(events, skip=skip)
                elif value == "findings":
                    period = str(parts.get("run", {}).get("as_of", ""))[:7]
                    failing = _scan_findings(events, wanted, period, names)
    except ijson.JSONError as exc:
        raise SourceError(f"{origin}: not valid JSON ({exc})") from exc
    if not isinstance(parts.get("run"), dict) or not isinstance(parts.get("summary"), dict):
        raise SourceError(f"{origin}: not an auditor findings.json (no run/summary)")
    return RunDocument(
        run=parts["run"],
        summary=parts["summary"],
        waivers=parts.get("waivers") or [],
        changes=parts.get("changes"),
        tenant=parts.get("tenant"),
        failing=failing,
    )


def report_document(
    report: Report, floor: Severity = Severity.HIGH, names: int = 10
) -> RunDocument:
    """What `read_document` reads from the findings.json of `report`, without the file.

    The kept parts are the JSON blocks findings.json is written from, passed through orjson
    as the file is; the failing Macs are counted by `_count` over the findings the scan would
    reach, of each Mac only its first row and first row new this period (what `_count` uses).
    """
    import orjson

    from auditor.render.json import (
        changes_block,
        run_block,
        summary_block,
        tenant_block,
        waivers_block,
    )

    def as_json(value: Any) -> Any:
        return orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))

    run = as_json(run_block(report))
    wanted = {s.value for s in Severity if s.rank <= floor.rank}
    findings = report.findings
    is_wanted = findings["severity"].isin(wanted).to_numpy(dtype=bool)
    reached = findings.iloc[: int(is_wanted.argmin()) if not is_wanted.all() else len(findings)]
    members = [n for n in _READ_MEMBERS.values() if n != "first_seen" or report.changes is not None]
    failing_rows = reached.loc[
        (reached["status"] == "fail").fillna(False)
        & (reached["entity_type"] == "device").fillna(False),
        members,
    ]
    period = str(run["as_of"])[:7]
    if report.changes is not None:
        is_new = (failing_rows["first_seen"] == period).fillna(False)
        failing_rows = failing_rows.assign(_is_new=is_new)
    failing_rows = failing_rows.drop_duplicates(
        ["entity_id", "_is_new"] if report.changes is not None else ["entity_id"]
    )[members]
    columns = {
        name: failing_rows[name].astype(object).where(failing_rows[name].notna(), None).tolist()
        for name in members
    }
    failing = FailingMacs()
    macs: set[str] = set()
    new_macs: set[str] = set()
    for row in zip(*columns.values(), strict=True):
        _count(dict(zip(members, row, strict=True)), wanted, period, names, failing, macs, new_macs)
    failing.count = len(macs)
    if failing.new_count is not None:
        failing.new_count = len(new_macs)
    changes = changes_block(report, items=False)
    return RunDocument(
        run=run,
        summary=as_json(summary_block(report)),
        waivers=as_json(waivers_block(report)),
        changes=None if changes is None else as_json(changes),
        tenant=as_json(tenant_block(report)),
        failing=failing,
    )


def _build(events: Iterator[tuple[str, str, Any]], skip: str | None) -> Any:
    """The value whose first event comes next, leaving out the subtree at prefix `skip`."""
    builder = ijson.ObjectBuilder()
    depth = 0
    for prefix, event, value in events:
        if skip is not None and (prefix == skip or prefix.startswith(skip + ".")):
            continue
        if skip is not None and event == "map_key" and f"{prefix}.{value}" == skip:
            continue
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            break
    return builder.value


def _scan_findings(
    events: Iterator[tuple[str, str, Any]], wanted: set[str], period: str, names: int
) -> FailingMacs:
    """Count and name the Macs failing at the wanted severities; skip the rest of the array.

    A failure is new when its streak started this period (`first_seen`), the same test that
    makes `changes.new`; without history findings carry no `first_seen`. Of each finding only
    the members read here are kept (taken from the parser's events, never built as a whole).
    """
    failing = FailingMacs()
    macs: set[str] = set()
    new_macs: set[str] = set()
    scanning = True
    record: dict[str, Any] = {}
    for prefix, event, value in events:
        if prefix == "findings.item":
            if event == "start_map":
                record = {}
            elif event == "end_map" and scanning:
                scanning = _count(record, wanted, period, names, failing, macs, new_macs)
        elif scanning and event not in _STRUCTURE and prefix in _READ_MEMBERS:
            record[_READ_MEMBERS[prefix]] = value
        elif prefix == "findings" and event == "end_array":
            break
    failing.count = len(macs)
    if failing.new_count is not None:
        failing.new_count = len(new_macs)
    return failing


_STRUCTURE = frozenset({"start_map", "end_map", "start_array", "end_array", "map_key"})
_READ_MEMBERS = {
    f"findings.item.{name}": name
    for name in ("severity", "status", "entity_type", "entity_id", "device_name",
                 "serial_number", "first_seen")
}  # fmt: skip


def _count(
    record: dict[str, Any],
    wanted: set[str],
    period: str,
    names: int,
    failing: FailingMacs,
    macs: set[str],
    new_macs: set[str],
) -> bool:
    """Count one finding into `failing`; False once its severity is below the wanted ones."""
    if record.get("severity") not in wanted:
        return False  # sorted by severity: nothing wanted follows
    if record.get("status") != "fail" or record.get("entity_type") != "device":
        return True
    mac = str(record.get("entity_id"))
    label = record.get("device_name") or record.get("serial_number") or mac
    if mac not in macs and len(failing.names) < names:
        failing.names.append(str(label))
    macs.add(mac)
    if "first_seen" in record:
        failing.new_count = 0
        if record["first_seen"] == period:
            if mac not in new_macs and len(failing.new_names) < names:
                failing.new_names.append(str(label))
            new_macs.add(mac)
    return True
