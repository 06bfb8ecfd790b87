"""The macOS release catalogue: dated facts about majors, releases, fixes and models."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from auditor.refdata.hardware import chip_of_model, model_parts
from auditor.refdata.versions import major_label_of_key, version_key

STALE_AFTER_DAYS = 45


@dataclass(frozen=True, slots=True)
class Release:
    """One macOS release: version, build, publication date, actively exploited CVEs it fixed."""

    version: str
    released: dt.date
    build: str | None = None
    exploited_cves: tuple[str, ...] = ()
    cve_count: int | None = None  # None: not recorded
    security_info: str | None = None  # Apple's security-content page for the release
    note: str | None = None  # e.g. how a feed's date artifact was corrected

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
    releases_complete: bool = True  # False: only some releases are known (no per-patch answers)
    note: str | None = None

    @property
    def key(self) -> int:
        """Sortable key of the major's first version (`10.15` → 10_015_000)."""
        return version_key(self.label)


@dataclass(frozen=True, slots=True)
class IntuneFloor:
    """Intune's supported macOS minimum from a date on, with its source."""

    major: str
    since: dt.date
    source: str
    note: str | None = None


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
    notes: tuple[str, ...] = ()
    _by_major: dict[str, tuple[Release, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "majors", tuple(sorted(self.majors, key=lambda m: m.key)))
        object.__setattr__(self, "releases", tuple(sorted(self.releases, key=lambda r: r.key)))
        grouped: dict[str, list[Release]] = {}
        for release in self.releases:
            grouped.setdefault(release.major, []).append(release)
        object.__setattr__(self, "_by_major", {k: tuple(v) for k, v in grouped.items()})

    def major(self, label: str) -> Major | None:
        """The major with this label, if the catalogue knows it."""
        return next((m for m in self.majors if m.label == label), None)

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
        return tuple(r for r in self._by_major.get(major, ()) if r.released <= as_of)

    def exploited_fix_floor(self, major: str, as_of: dt.date) -> Release | None:
        """Lowest release of `major` that fixes every actively exploited CVE known at `as_of`.

        Updates are cumulative, so that is the newest release of the major that fixed one.
        """
        fixing = [r for r in self.releases_of(major, as_of) if r.exploited_cves]
        return fixing[-1] if fixing else None

    def exploited_cves_after(self, major: str, key: int, as_of: dt.date) -> tuple[str, ...]:
        """Actively exploited CVEs fixed in releases of `major` newer than version `key`."""
        seen: dict[str, None] = {}
        for release in self.releases_of(major, as_of):
            if release.key > key:
                seen.update(dict.fromkeys(release.exploited_cves))
        return tuple(seen)

    def latest_patch(self, major: str, as_of: dt.date, grace_days: int) -> Release | None:
        """Newest release of `major` published more than `grace_days` before `as_of`."""
        cutoff = as_of - dt.timedelta(days=grace_days)
        older = [r for r in self.releases_of(major, as_of) if r.released < cutoff]
        return older[-1] if older else None

    def intune_minimum(self, as_of: dt.date) -> IntuneFloor:
        """Intune's supported minimum major in force at `as_of`."""
        in_force = [f for f in self.intune_floors if f.since <= as_of]
        return (in_force or list(self.intune_floors[:1]))[-1]

    def model(self, identifier: str) -> Model | None:
        """The catalogue's entry for a model identifier, if any."""
        return self.models.get(identifier)

    def model_max_major(self, identifier: str) -> str | None:
        """The newest major a catalogued model can run; None for identifiers not listed."""
        model = self.models.get(identifier)
        if model is None or not model.supported_majors:
            return None
        return max(model.supported_majors, key=version_key)

    def model_ceiling(self, identifier: str) -> str | None:
        """An upper bound of the newest major a model can run; None when nothing is known.

        Catalogued models give their exact newest major. A physical Mac identifier that is
        older than every catalogued model of its family (`MacBookPro11,1` when the oldest
        listed is `MacBookPro11,4`) predates the models the feed lists, so it runs at most the
        major before the oldest one the catalogue's models cover (SOFA lists macOS 12+).
        """
        exact = self.model_max_major(identifier)
        if exact is not None:
            return exact
        parts = model_parts(identifier)
        if parts is None or chip_of_model(identifier) == "virtual":
            return None
        family = [
            p
            for p in (model_parts(i) for i in self.models)
            if p is not None and p.family == parts.family
        ]
        if not family or (parts.generation, parts.variant) >= min(
            (p.generation, p.variant) for p in family
        ):
            return None
        covered = {m for model in self.models.values() for m in model.supported_majors}
        labels = [m.label for m in self.majors]
        oldest = min((labels.index(m) for m in covered if m in labels), default=0)
        return labels[oldest - 1] if oldest > 0 else None

    def age_days(self, as_of: dt.date) -> int:
        """How old the catalogue is at `as_of`; reports warn past STALE_AFTER_DAYS."""
        return (as_of - self.as_of).days

    def is_stale(self, as_of: dt.date) -> bool:
        """True when the catalogue is older than STALE_AFTER_DAYS at `as_of`."""
        return self.age_days(as_of) > STALE_AFTER_DAYS

    def staleness_warning(self, as_of: dt.date) -> str | None:
        """The sentence every report shows when the catalogue is stale, else None."""
        if not self.is_stale(as_of):
            return None
        return (
            f"The macOS release catalogue is {self.age_days(as_of)} days old at the as-of date "
            f"(facts as of {self.as_of}; limit {STALE_AFTER_DAYS} days): newer macOS releases "
            "and actively exploited CVEs may be missing. Download a current SOFA feed "
            "(https://sofa.macadmins.io) and run `auditor refdata import FILE`."
        )
