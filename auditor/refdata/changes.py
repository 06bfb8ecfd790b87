"""What the catalogue said at a date, what it says new since, and each exploited CVE's fixes.

Change attribution (`history.causes`) judges a Mac again against what the catalogue said at the
previous period's as-of date (`view_at`); `catalogue_changes` names what is new since, so the
report can say "macOS 26.6.1/15.7.9/14.8.9, released 2026-08-06, fix CVE-2026-65400, which is
actively exploited"; `exploited_fixes` is the exposure clock's list of CVEs and fixing releases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from auditor.refdata.catalogue import Catalogue, Release
from auditor.refdata.versions import version_key


@dataclass(frozen=True, slots=True)
class ReleaseGroup:
    """Releases published on one day, with the actively exploited CVEs they newly fix."""

    versions: tuple[str, ...]  # newest major first, e.g. ("26.6.1", "15.7.9", "14.8.9")
    released: dt.date
    exploited_cves: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CatalogueChanges:
    """What the catalogue knows at the current as-of date that it did not at the previous one.

    `releases`: releases published (or first catalogued) since, grouped by day; their
    `exploited_cves` are every actively exploited CVE they fix. `newly_exploited`: releases
    known before whose fixes have since been marked actively exploited (those CVEs only).
    """

    releases: tuple[ReleaseGroup, ...] = ()
    newly_exploited: tuple[ReleaseGroup, ...] = ()
    majors: tuple[str, ...] = ()  # majors released since, e.g. ("27",)
    intune_minimum: str | None = None  # Intune's supported minimum major, when it changed

    @property
    def is_empty(self) -> bool:
        """True when nothing changed."""
        return not (self.releases or self.newly_exploited or self.majors or self.intune_minimum)

    @property
    def exploited(self) -> tuple[ReleaseGroup, ...]:
        """The groups that bring actively exploited CVEs: new fixes, or old fixes newly marked."""
        return tuple(g for g in (*self.releases, *self.newly_exploited) if g.exploited_cves)


def view_at(catalogue: Catalogue, as_of: dt.date) -> Catalogue:
    """The catalogue as it stood at `as_of`: only the majors, releases and Intune floors dated then.

    Models (hardware facts) are kept whole. Judged at a later date, this view answers "what if
    nothing had been published since `as_of`".
    """
    floors = tuple(f for f in catalogue.intune_floors if f.since <= as_of)
    return dataclasses.replace(
        catalogue,
        majors=tuple(m for m in catalogue.majors if m.released <= as_of),
        releases=tuple(r for r in catalogue.releases if r.released <= as_of),
        intune_floors=floors or catalogue.intune_floors[:1],
    )


def catalogue_changes(
    before: Catalogue, before_as_of: dt.date, after: Catalogue, after_as_of: dt.date
) -> CatalogueChanges:
    """What `after` knows at `after_as_of` that `before` did not know at `before_as_of`."""
    old, new = view_at(before, before_as_of), view_at(after, after_as_of)
    known = {r.version: r for r in old.releases}
    added = [r for r in new.releases if r.version not in known]
    marked = []
    for release in new.releases:
        was = known.get(release.version)
        fresh = tuple(c for c in release.exploited_cves if was and c not in was.exploited_cves)
        if fresh:
            marked.append(dataclasses.replace(release, exploited_cves=fresh))
    old_majors = {m.label for m in old.majors}
    floor_before = old.intune_minimum(before_as_of).major if old.intune_floors else None
    floor_after = new.intune_minimum(after_as_of).major if new.intune_floors else None
    return CatalogueChanges(
        releases=_grouped(added),
        newly_exploited=_grouped(marked),
        majors=tuple(m.label for m in new.majors if m.label not in old_majors),
        intune_minimum=floor_after if floor_after != floor_before else None,
    )


def _grouped(releases: list[Release]) -> tuple[ReleaseGroup, ...]:
    """Releases grouped by day (and exploited CVEs), newest day first, newest major first."""
    by_day: dict[tuple[dt.date, tuple[str, ...]], list[Release]] = {}
    for release in releases:
        by_day.setdefault((release.released, release.exploited_cves), []).append(release)
    return tuple(
        ReleaseGroup(tuple(r.version for r in sorted(group, key=lambda r: -r.key)), day, cves)
        for (day, cves), group in sorted(by_day.items(), key=lambda kv: kv[0][0], reverse=True)
    )


@dataclass(frozen=True, slots=True)
class ExploitedFix:
    """One actively exploited CVE and the releases that fix it, per major."""

    cve: str
    fixes: tuple[Release, ...]  # the first fixing release of each major, newest major first

    @property
    def fixed_on(self) -> dt.date:
        """When the first fix shipped: the exposure clock starts here."""
        return min(r.released for r in self.fixes)


def exploited_fixes(catalogue: Catalogue, as_of: dt.date) -> tuple[ExploitedFix, ...]:
    """Every actively exploited CVE the catalogue knows at `as_of`, with its first fix per major.

    Sorted by the day the first fix shipped, newest first, then by CVE id.
    """
    first: dict[str, dict[str, Release]] = {}
    for release in sorted(catalogue.releases, key=lambda r: r.key):
        if release.released > as_of:
            continue
        for cve in release.exploited_cves:
            first.setdefault(cve, {}).setdefault(release.major, release)
    fixes = [
        ExploitedFix(cve, tuple(sorted(per_major.values(), key=lambda r: -version_key(r.major))))
        for cve, per_major in first.items()
    ]
    return tuple(sorted(fixes, key=lambda f: (-f.fixed_on.toordinal(), f.cve)))
