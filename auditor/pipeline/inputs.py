"""Where a run's inventory comes from: the configured files, a Graph pull, or the bundled sample.

Also the catalogue the run judges against, the parts no input carried or Graph lists saved in
part leave incomplete, and how reports name an input (by file name).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.config import Config
from auditor.errors import ConfigError
from auditor.fileops import sha256_and_size
from auditor.models import (
    CORE_PARTS,
    PART_FEEDS,
    BatchKind,
    InputFile,
    InventoryPart,
    RawBatch,
    SourceGap,
)
from auditor.refdata.catalogue import Catalogue
from auditor.refdata.catalogue_file import load_catalogue
from auditor.refdata.sofa import preferred_catalogue
from auditor.sources.files import Readings, read_files

log = logging.getLogger(__name__)
SNAPSHOT_NAME = "snapshot.json.gz"


def resolve_catalogue(config: Config) -> Catalogue:
    """The configured catalogue file, else the newer of the user's imported and the bundled."""
    if config.catalogue_path is not None:
        if not config.catalogue_path.exists():
            raise ConfigError(f"catalogue.path: {config.catalogue_path} does not exist")
        return load_catalogue(config.catalogue_path)
    return preferred_catalogue()


@dataclass(frozen=True, slots=True)
class LoadedInputs:
    """The configured source, read: every file's batches, evidence, gaps and reader notes."""

    readings: Readings
    fetched: tuple[Path, ...] = ()  # files this run wrote (the Graph snapshot)


def load_batches(
    config: Config,
    *,
    progress: bool = False,
    snapshot_dir: Path | None = None,
    pulled_snapshot: Path | None = None,
) -> LoadedInputs:
    """Read the configured source into raw batches, their inputs, recorded gaps and notes.

    A Graph pull is saved first as `snapshot.json.gz` in `snapshot_dir` (the run's staging
    folder; default the output folder), the evidence of what Graph said, then read like any
    snapshot; it is returned as `fetched`. A Graph snapshot already pulled (`pulled_snapshot`,
    `run --tenants` pulls in threads and audits in processes) is moved there instead. Inputs may
    be folders: their files are read (not subfolders) and the ones of no known shape are
    listed in the data-quality notes.
    """
    if config.source == "graph":
        from auditor.sources.graph import fetch_to_file

        folder = snapshot_dir or config.out_dir
        folder.mkdir(parents=True, exist_ok=True)
        snapshot = folder / SNAPSHOT_NAME
        if pulled_snapshot is not None:
            shutil.move(pulled_snapshot, snapshot)
        else:
            log.info(fetch_to_file(config.graph, snapshot, progress=progress))
        return LoadedInputs(read_files([snapshot]), (snapshot,))
    if config.source == "files" and not config.inputs:
        raise ConfigError("source is 'files' but no input was given: pass --input FILE or DIR")
    paths = list(config.inputs) if config.source == "files" else bundled_sample_files()
    readings = with_list_gaps(read_files(paths))
    for unread in readings.unrecognised:
        log.warning("not read: %s", unread)
    return LoadedInputs(readings)


def bundled_sample_files() -> list[Path]:
    """The files of the bundled sample tenant (inside the wheel, or at the repo's top level)."""
    here = Path(__file__).resolve().parents[1]  # the auditor package
    for folder in (here / "_sample_data", here.parent / "sample_data"):
        if folder.is_dir():
            return tenant_files(folder)
    raise ConfigError("the bundled sample tenant is missing; pass --input FILE")


def tenant_files(folder: Path) -> list[Path]:
    """Inventory files of a folder written by `auditor sample`.

    `expected.json` beside them is the sample's answer key for tests, not inventory.
    """
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in (".json", ".csv", ".gz", ".zip") and p.name != "expected.json"
    )


# Which raw kinds carry each part of the inventory when it comes from files, and what to add.
_CARRIERS: dict[InventoryPart, tuple[tuple[BatchKind, ...], str]] = {
    InventoryPart.MANAGED_DEVICES: (
        (BatchKind.GRAPH_DEVICES, BatchKind.ADMIN_CENTER_CSV, BatchKind.EXPORT_DEVICES,
         BatchKind.DEVICES_LOG),
        "add the Macs: a Graph managedDevices list, a Devices export or the admin-center export",
    ),
    InventoryPart.DEVICE_DETAILS: (
        (BatchKind.GRAPH_DEVICE_DETAILS,),
        "add single-device GETs with $select (`auditor fetch` collects them; docs/inputs.md)",
    ),
    InventoryPart.EXPORT_DEVICES: (
        (BatchKind.EXPORT_DEVICES,),
        "add the reports-export Devices report (docs/inputs.md)",
    ),
    InventoryPart.APNS: ((BatchKind.APNS,), "add GET applePushNotificationCertificate"),
    InventoryPart.ADE_TOKENS: ((BatchKind.ADE_TOKENS,), "add GET depOnboardingSettings"),
    InventoryPart.ADE_PROFILES: (
        (BatchKind.ADE_PROFILES,),
        "add GET depOnboardingSettings/{id}/enrollmentProfiles",
    ),
    InventoryPart.ENROLLMENT_CONFIGURATIONS: (
        (BatchKind.ENROLLMENT_CONFIGURATIONS,),
        "add GET deviceEnrollmentConfigurations",
    ),
    InventoryPart.ADE_IDENTITIES: (
        (BatchKind.ADE_IDENTITIES,),
        "add GET depOnboardingSettings/{id}/importedAppleDeviceIdentities for every token "
        "(docs/inputs.md)",
    ),
    InventoryPart.VPP_TOKENS: ((BatchKind.VPP_TOKENS,), "add GET deviceAppManagement/vppTokens"),
    InventoryPart.COMPLIANCE_SETTINGS: (
        (BatchKind.COMPLIANCE_SETTINGS,), "add GET deviceManagement (its settings)"),
    InventoryPart.COMPLIANCE_POLICIES: (
        (BatchKind.COMPLIANCE_POLICIES,), "add GET deviceManagement/deviceCompliancePolicies"),
    InventoryPart.COMPLIANCE_ASSIGNMENTS: (
        (BatchKind.COMPLIANCE_ASSIGNMENTS,),
        "add the macOS policies' assignments, or the policies with $expand=assignments",
    ),
}  # fmt: skip


def uncovered_parts(batches: Sequence[RawBatch], gaps: Sequence[SourceGap]) -> list[SourceGap]:
    """Gaps for the parts no input carried, so fewer inputs never read as a cleaner tenant.

    Each names the input that would carry the part.
    """
    kinds = {b.kind for b in batches}
    recorded = {g.part for g in gaps}
    return [
        SourceGap(part, f"no input carried it; {add}", PART_FEEDS[part], part in CORE_PARTS)
        for part, (carriers, add) in _CARRIERS.items()
        if part not in recorded and not kinds & set(carriers)
    ]


PAGING_REMEDY = (
    "save every page: `auditor fetch` collects whole lists, or follow each @odata.nextLink "
    "until a page carries none and pass every page (docs/inputs.md)"
)


def with_list_gaps(readings: Readings) -> Readings:
    """`readings` with a "partial" gap for each part a Graph list saved in part feeds.

    A list is saved in part when all its pages, across every file, carry `@odata.nextLink`
    (the last page is missing) or it holds fewer records than its `@odata.count`. Its gap goes
    to the part its kind carries first (the device list for Graph device pages), and to any
    other part it carries that no other input supplies. A part a snapshot already recorded
    a gap for keeps that gap.
    """
    recorded = {g.part for g in readings.gaps}
    read = {b.kind for b in readings.batches}
    reasons: dict[InventoryPart, list[str]] = {}
    for pages in readings.lists:
        if not pages.is_cut:
            continue
        for part, (carriers, _) in _CARRIERS.items():
            others = (set(carriers) & read) - {pages.kind}
            if pages.kind in carriers and (carriers[0] == pages.kind or not others):
                reasons.setdefault(part, []).append(pages.shortfall())
    gaps = tuple(
        SourceGap(
            part,
            f"{'; '.join(found)}; {PAGING_REMEDY}",
            PART_FEEDS[part],
            part in CORE_PARTS,
            "partial",
        )
        for part, found in reasons.items()
        if part not in recorded
    )
    return dataclasses.replace(readings, list_gaps=gaps) if gaps else readings


def input_name(path: str) -> str:
    """How reports name an input: its file name (never the folders of the auditing machine)."""
    return Path(path.split("?", 1)[0]).name or path


def is_sample_input(inputs: Sequence[InputFile]) -> bool:
    """True when an input is a file of the bundled sample tenant (audited through --input)."""
    try:
        sample = {p.name: p for p in bundled_sample_files()}
    except ConfigError:
        return False
    for item in inputs:
        twin = sample.get(input_name(item.path))
        if twin is not None and sha256_and_size(twin)[0] == item.sha256:
            return True
    return False
