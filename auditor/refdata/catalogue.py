"""The macOS release catalogue: dated facts about majors, releases, fixes and models."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from auditor.refdata.versions import major_label_of_key, version_key

STALE_AFTER_DAYS = 45


@dataclass(frozen=True, slots=True)
class Release:
    """One macOS release: version, build, publication date, actively exploited CVEs it fixed."""

    version: str
    released: dt.date
    build: str | None = None
    exploited_cves: tuple[str, ...] = ()
    cve_count: int = 0

    @property
    def key(self) -> int:
        """Sortable version key."""
        return version_key(self.version)

    @property
    def major(self) -> str:
        """Marketing major label (`10.15`, `14`, `26`)."""
        return major_label_of_key(self.key)


@dataclass(frozen=True, slots=True)
class Major:
    """One macOS major in release order."""

    label: str
    name: str
    released: dt.date


@dataclass(frozen=True, slots=True)
class IntuneFloor:
    """Intune's supported macOS minimum from a date on, with its source."""

    major: str
    since: dt.date
    source: str


@dataclass(frozen=True, slots=True)
class Model:
    """A Mac model identifier: marketing name, chip, and the majors it can run."""

    identifier: str
    name: str
    chip: str
    supported_majors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Reference data as of one date. Every question takes the audit's as-of date."""

    as_of: dt.date
    source: str
    majors: tuple[Major, ...]
    releases: tuple[Release, ...]
    intune_floors: tuple[IntuneFloor, ...]
    models: dict[str, Model] = field(default_factory=dict)

    def majors_at(self, as_of: dt.date) -> tuple[str, ...]:
        """Major labels released by `as_of`, oldest first (position, never subtraction)."""
        return tuple(m.label for m in self.majors if m.released <= as_of)

    def supported_majors(self, as_of: dt.date) -> tuple[str, ...]:
        """The three newest majors at `as_of`: the ones Apple still patches (N, N-1, N-2)."""
        return self.majors_at(as_of)[-3:]

    def newest_major(self, as_of: dt.date) -> str:
        """The newest major released by `as_of`."""
        return self.majors_at(as_of)[-1]

    def releases_of(self, major: str, as_of: dt.date) -> tuple[Release, ...]:
        """Releases of one major published by `as_of`, oldest first."""
        return tuple(
            sorted(
                (r for r in self.releases if r.major == major and r.released <= as_of),
                key=lambda r: r.key,
            )
        )

    def exploited_fix_floor(self, major: str, as_of: dt.date) -> Release | None:
        """Lowest release of `major` that fixes every actively exploited CVE known at `as_of`."""
        fixing = [r for r in self.releases_of(major, as_of) if r.exploited_cves]
        return fixing[-1] if fixing else None

    def latest_patch(self, major: str, as_of: dt.date, grace_days: int) -> Release | None:
        """Newest release of `major` published more than `grace_days` before `as_of`."""
        cutoff = as_of - dt.timedelta(days=grace_days)
        older = [r for r in self.releases_of(major, as_of) if r.released < cutoff]
        return older[-1] if older else None

    def intune_minimum(self, as_of: dt.date) -> IntuneFloor:
        """Intune's supported minimum major in force at `as_of`."""
        in_force = [f for f in self.intune_floors if f.since <= as_of]
        return (in_force or list(self.intune_floors[:1]))[-1]

    def age_days(self, as_of: dt.date) -> int:
        """How old the catalogue is at `as_of`; reports warn past STALE_AFTER_DAYS."""
        return (as_of - self.as_of).days

    def is_stale(self, as_of: dt.date) -> bool:
        """True when the catalogue is older than STALE_AFTER_DAYS at `as_of`."""
        return self.age_days(as_of) > STALE_AFTER_DAYS


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read a catalogue JSON file; the bundled one when `path` is None."""
    if path is None:
        text = resources.files("auditor.refdata").joinpath("macos_catalogue.json").read_text()
    else:
        text = path.read_text(encoding="utf-8")
    return catalogue_from_dict(json.loads(text))


def catalogue_from_dict(data: dict[str, object]) -> Catalogue:
    """Build a Catalogue from its JSON form (see `catalogue_to_dict`)."""
    day = dt.date.fromisoformat
    majors = tuple(
        Major(label=m["label"], name=m["name"], released=day(m["released"]))
        for m in data["majors"]  # type: ignore[attr-defined]
    )
    releases = tuple(
        Release(
            version=r["version"],
            released=day(r["released"]),
            build=r.get("build"),
            exploited_cves=tuple(r.get("exploited_cves", ())),
            cve_count=int(r.get("cve_count", 0)),
        )
        for r in data["releases"]  # type: ignore[attr-defined]
    )
    floors = tuple(
        IntuneFloor(major=f["major"], since=day(f["since"]), source=f["source"])
        for f in data["intune_floors"]  # type: ignore[attr-defined]
    )
    models = {
        ident: Model(
            identifier=ident,
            name=m["name"],
            chip=m["chip"],
            supported_majors=tuple(m["supported_majors"]),
        )
        for ident, m in data.get("models", {}).items()  # type: ignore[attr-defined]
    }
    return Catalogue(
        as_of=day(str(data["as_of"])),
        source=str(data["source"]),
        majors=majors,
        releases=releases,
        intune_floors=floors,
        models=models,
    )
