"""The Intune reports export job `Devices`: create, poll, download the ZIP (no token), read the CSV.

It is the only Graph-reachable source of UserApprovedEnrollment and SupervisedStatus, and the
second device count used to reconcile the managedDevices list (which is known to skip devices).
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
import zipfile
from collections.abc import Callable

from msgraph.generated.models.device_management_export_job import DeviceManagementExportJob
from msgraph.generated.models.device_management_report_file_format import (
    DeviceManagementReportFileFormat,
)

from auditor.models import BatchKind
from auditor.normalize.columns import SOURCE_COLUMNS
from auditor.sources.graph_auth import GraphFault
from auditor.sources.graph_transport import GraphSession

REPORT = "Devices"
# Requested explicitly: Microsoft warns not to rely on a report's default columns.
COLUMNS = (
    "DeviceId", "DeviceName", "SerialNumber", "OS", "OSVersion", "DeviceType", "EnrollmentType",
    "OwnerType", "UserApprovedEnrollment", "SupervisedStatus", "SupervisedStatusString",
    "EnrolledByUser", "UPN", "CreatedDate", "LastContact", "ManagementAgents", "Model",
    "Manufacturer",
)  # fmt: skip
_MAC_OS = frozenset({"macos", "mac os", "mac", "macmdm", "os x"})
_MAC_DEVICE_TYPES = frozenset({"mac", "macmdm", "5", "14"})  # Data Warehouse ids: 5 Mac, 14 MacMDM
_QUIET_POLLS_S = 60.0  # an unchanged status is logged (at -v) at most this often
log = logging.getLogger(__name__)


async def export_devices(
    session: GraphSession,
    poll_s: float,
    timeout_s: float,
    on_status: Callable[[str], None] = lambda status: None,
) -> list[dict[str, str]]:
    """Run the `Devices` export job and return its CSV rows (every platform, as exported).

    Args:
        session: The pull's Graph session.
        poll_s: Longest wait between status polls (they start at 0.5 s and double).
        timeout_s: Give up when the job is not completed this long after it was created.
        on_status: Called with each job status seen (for the progress display).

    Returns:
        One dict per CSV row, keyed by the CSV header.

    Raises:
        GraphFault: The job failed, did not complete within `timeout_s` (the message names the
            job id and the graph.export_timeout_s setting), or its file is unreadable. APIError
            and httpx errors from the calls propagate for the caller to classify.
    """
    jobs = session.client.device_management.reports.export_jobs
    body = DeviceManagementExportJob(
        report_name=REPORT, format=DeviceManagementReportFileFormat.Csv, select=list(COLUMNS)
    )
    # Built by the SDK, read as raw JSON: deserialising SDK entity models imports ~1,200 modules.
    job = await session.call_json(jobs.to_post_request_information(body))
    job_id = job.get("id")
    if not isinstance(job_id, str) or not job_id:
        raise GraphFault(
            f"POST {session.v1}/deviceManagement/reports/exportJobs: no job id returned"
        )
    poll = jobs.by_device_management_export_job_id(job_id)
    started = time.monotonic()
    status = str(job.get("status") or "unknown")
    try:
        async with asyncio.timeout(timeout_s):  # a hanging poll counts against it too
            wait_s, logged_at, logged = min(poll_s, 0.5), started, ""
            while True:
                on_status(status)
                if status == "completed":
                    break
                if status == "failed":
                    raise GraphFault(f"export job {job_id} ({REPORT}) failed on the Intune side")
                now = time.monotonic()
                quiet = status == logged and now - logged_at < _QUIET_POLLS_S
                log.log(
                    logging.DEBUG if quiet else logging.INFO,
                    "export job %s (%s): %s after %.0f s; next poll in %.1f s (gives up after "
                    "%.0f s, graph.export_timeout_s)", job_id, REPORT, status, now - started,
                    wait_s, timeout_s,
                )  # fmt: skip
                if not quiet:
                    logged_at, logged = now, status
                await asyncio.sleep(wait_s)
                wait_s = min(poll_s, wait_s * 2)  # small jobs finish in seconds, big in minutes
                job = await session.call_json(poll.to_get_request_information())
                status = str(job.get("status") or "unknown")
    except TimeoutError as exc:
        raise GraphFault(
            f"export job {job_id} ({REPORT}) did not complete within the export timeout of "
            f"{timeout_s:g} s (graph.export_timeout_s; last status {status}); the export report "
            "was not collected. Rerun later, or raise graph.export_timeout_s for a large tenant"
        ) from exc
    elapsed_s = time.monotonic() - started
    log.info("export job %s (%s) completed after %.0f s", job_id, REPORT, elapsed_s)
    url = job.get("url")
    if not isinstance(url, str) or not url:
        raise GraphFault(f"export job {job_id} completed without a download URL")
    return read_export_zip(await session.download(url), job_id)


def read_export_zip(content: bytes, job_id: str) -> list[dict[str, str]]:
    """The rows of the one CSV inside an export ZIP, keyed by the headers as received.

    The job may answer with display headers ("Device ID" for `DeviceId`); rows are kept as
    they came and read by every spelling later. Every row's field count is checked; a column
    present twice is kept once when its copies agree.

    Raises:
        GraphFault: Not a ZIP, no CSV inside, not UTF-8 CSV, a short or long row, or copies
            of a column that disagree.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise GraphFault(
                    f"export job {job_id}: the ZIP holds no CSV ({archive.namelist()})"
                )
            text = archive.read(names[0]).decode("utf-8-sig")
        rows = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = [h.strip() for h in next(rows, [])]
        records, line = [], rows.line_num + 1  # the line a row starts on (values may span lines)
        for row in rows:
            if row:
                records.append(_row(header, row, job_id, line))
            line = rows.line_num + 1
        return records
    except (zipfile.BadZipFile, UnicodeDecodeError, csv.Error) as exc:
        raise GraphFault(
            f"export job {job_id}: unreadable report file ({type(exc).__name__}: {exc})"
        ) from exc


def _row(header: list[str], values: list[str], job_id: str, line: int) -> dict[str, str]:
    if len(values) != len(header):
        raise GraphFault(
            f"export job {job_id}: line {line} of the report has {len(values)} fields, the "
            f"header {len(header)} (cut short?)"
        )
    row: dict[str, str] = {}
    for name, value in zip(header, values, strict=True):
        if name in row and row[name].strip() and value.strip() and row[name] != value:
            raise GraphFault(
                f"export job {job_id}: line {line}: column '{name}' appears twice with "
                f"different values ({row[name]!r} vs {value!r})"
            )
        if not row.get(name, "").strip():
            row[name] = value
    return row


def export_value(row: dict[str, str], field: str) -> str:
    """A canonical field of an export row, whatever header spelling the job used (or "")."""
    folded = {k.strip().casefold(): v for k, v in row.items()}
    for spellings in SOURCE_COLUMNS[BatchKind.EXPORT_DEVICES][field]:
        for spelling in spellings:
            value = (folded.get(spelling.casefold()) or "").strip()
            if value:
                return value
    return ""


def is_mac_row(row: dict[str, str]) -> bool:
    """Whether an export row is a Mac, by its OS or DeviceType column (encodings vary)."""
    system = export_value(row, "operating_system").lower()
    return system in _MAC_OS or system.startswith("macos") or system in _MAC_DEVICE_TYPES
