"""Refresh the release catalogue from a SOFA macOS feed a user downloaded (v1 or v2 layout).

SOFA (https://sofa.macadmins.io, Apache-2.0) publishes `macos_data_feed.json` (v1) and a v2
feed. Both carry `OSVersions[]` (`OSVersion` "Tahoe 26", `SecurityReleases[]` with
`ProductVersion`, `ReleaseDate`, `SecurityInfo`, `UniqueCVEsCount`, `ActivelyExploitedCVEs`)
and `Models` (identifier → `MarketingName`, `OSVersions`). v2 adds per-release `Build`,
`LastCheck` and `SchemaVersion`; v1 has builds only for `Latest` and the installers listed in
`InstallationApps`. Intune's supported minimum is not in the feed: it is kept from the
previous catalogue, as are majors the feed no longer lists (10.15, 11).

Date artifacts: SOFA dates some releases by a later update of Apple's security page (e.g.
12.6 at 2024-06-12, after 12.7). Updates ship in version order within a major, so a release
is dated no later than the next release of its major (the date becomes an upper bound and
the release carries a note). A release dated before its major's first release that lists
security content (SOFA's 12.0 at 2021-09-20; 12.0.1 was the first public Monterey) is moved
to that date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.errors import SourceError
from auditor.fileops import write_atomic
from auditor.refdata.catalogue import Catalogue, Major, Model, Release
from auditor.refdata.catalogue_file import catalogue_text, load_catalogue
from auditor.refdata.hardware import chip_of_model
from auditor.refdata.versions import parse_macos_version, version_key

CATALOGUE_FILE = "macos_catalogue.json"
ENV_CATALOGUE = "AUDITOR_CATALOGUE"


def default_catalogue_path(env: Mapping[str, str] | None = None) -> Path:
    """Where `auditor refdata import` writes the user's catalogue and runs look for it.

    `$AUDITOR_CATALOGUE` names the file outright; otherwise it is
    `$XDG_DATA_HOME/auditor/macos_catalogue.json` (default `~/.local/share/auditor/…`).
    """
    env = os.environ if env is None else env
    if env.get(ENV_CATALOGUE):
        return Path(env[ENV_CATALOGUE]).expanduser()
    base = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else Path.home() / ".local/share"
    return base / "auditor" / CATALOGUE_FILE


def preferred_catalogue(path: Path | None = None) -> Catalogue:
    """The user's imported catalogue when it is at least as new as the bundled one."""
    bundled = load_catalogue()
    path = default_catalogue_path() if path is None else path
    if not path.exists():
        return bundled
    imported = load_catalogue(path)
    return imported if imported.as_of >= bundled.as_of else bundled


def import_sofa(
    path: Path, *, previous: Catalogue | None, as_of: dt.date | None = None
) -> Catalogue:
    """Read a SOFA macOS feed (v1 or v2, plain or gzip JSON) into a catalogue.

    Args:
        path: the downloaded feed.
        previous: the catalogue to carry Intune floors, older majors, their releases and
            models from; the bundled catalogue when None.
        as_of: the date the facts hold; default the feed's `LastCheck` (v2) or the newest
            date the feed mentions (v1, which carries no capture date).

    Raises:
        SourceError: unreadable file or malformed feed; names the file and the field.
    """
    feed = _read_json(path)
    base = previous if previous is not None else load_catalogue()
    reader = _Reader(str(path))
    try:
        return _build(feed, base, reader, as_of)
    except ValueError as exc:  # catalogue arithmetic on a value the reader let through
        raise SourceError(f"{path}: {exc}") from exc


def write_catalogue(catalogue: Catalogue, path: Path) -> None:
    """Write a catalogue atomically (temp file in the same folder, then rename).

    Raises:
        SourceError: the folder cannot be created or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, catalogue_text(catalogue).encode("utf-8"))
    except OSError as exc:
        raise SourceError(f"{path}: cannot write the catalogue: {exc}") from exc


def import_command(feed: Path, target: Path | None = None) -> str:
    """`auditor refdata import FEED`: import over the current catalogue, write it, summarise."""
    target = default_catalogue_path() if target is None else target
    catalogue = import_sofa(feed, previous=preferred_catalogue(target))
    write_catalogue(catalogue, target)
    majors = [m.label for m in catalogue.majors]
    return (
        f"{target}: catalogue as of {catalogue.as_of}: {len(majors)} majors "
        f"({majors[0]} to {majors[-1]}), {len(catalogue.releases)} releases, "
        f"{len(catalogue.models)} models"
    )


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return json.loads(raw)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path}: not a readable SOFA feed (JSON or gzip JSON): {exc}") from exc


class _Reader:
    """Typed access to feed fields; every failure names the file and the field's path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, expected: str, value: object) -> SourceError:
        shown = repr(value) if len(repr(value)) < 80 else repr(value)[:77] + "..."
        return SourceError(f"{self.source}: {where}: expected {expected}, got {shown}")

    def obj(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "an object", value)
        return value

    def items(self, parent: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
        value = parent.get(key)
        if not isinstance(value, list):
            raise self.fail(f"{where}{key}", "a list", value)
        return [self.obj(v, f"{where}{key}[{i}]") for i, v in enumerate(value)]

    def text(self, parent: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str:
        value = parent.get(key)
        if optional and value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}", "a string", value)
        return value.strip()

    def day(self, parent: dict[str, Any], key: str, where: str) -> dt.date:
        value = parent.get(key)
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            raise self.fail(f"{where}.{key}", "an ISO date", value) from None

    def count(self, parent: dict[str, Any], key: str, where: str) -> int:
        value = parent.get(key, 0)
        if value is None:
            return 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"{where}.{key}", "a whole number", value)
        return value

    def strings(self, parent: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = parent.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{key}", "a list of CVE ids", value)
        return tuple(value)


def _build(feed: Any, base: Catalogue, rd: _Reader, as_of: dt.date | None) -> Catalogue:
    root = rd.obj(feed, "feed")
    builds = _installer_builds(root, rd)
    majors: list[Major] = []
    releases: list[Release] = []
    feed_dates: list[dt.date] = []
    for i, entry in enumerate(rd.items(root, "OSVersions", "")):
        where = f"OSVersions[{i}]"
        name, label = _major_name(rd.text(entry, "OSVersion", where), rd, where)
        latest = rd.obj(entry.get("Latest", {}), f"{where}.Latest")
        if latest.get("ProductVersion") and latest.get("Build"):
            builds.setdefault(str(latest["ProductVersion"]), str(latest["Build"]))
        found = [
            _release(r, rd, f"{where}.SecurityReleases[{j}]", builds)
            for j, r in enumerate(rd.items(entry, "SecurityReleases", f"{where}."))
        ]
        wrong = [r.version for r in found if r.major != label]
        if wrong:
            raise rd.fail(f"{where}.SecurityReleases", f"versions of macOS {label}", wrong)
        # An older or partial feed never removes a known release: the feed wins per version.
        merged = {r.version: r for r in base.releases_of(label, dt.date.max)}
        merged.update({r.version: r for r in found})
        fixed, public = _correct_dates(list(merged.values()))
        listed = {r.version for r in found}
        feed_dates += [r.released for r in fixed if r.version in listed]  # artifacts corrected
        known = base.major(label)
        released, note = (known.released, known.note) if known else (public, None)
        majors.append(Major(label, name, released, note=note))
        releases += fixed
    if not majors:
        raise rd.fail("OSVersions", "at least one macOS major", [])
    fed = {m.label for m in majors}
    majors += [m for m in base.majors if m.label not in fed]
    releases += [r for r in base.releases if r.major not in fed]
    feed_as_of = as_of or _feed_date(root, feed_dates, rd)
    layout = "v2" if "SchemaVersion" in root else "v1"
    return Catalogue(
        as_of=max(feed_as_of, base.as_of),
        source=(
            f"SOFA macOS data feed {layout} (macadmins/sofa, Apache-2.0) as of {feed_as_of} "
            f"for macOS {', '.join(sorted(fed, key=version_key))} and models, over the "
            f"catalogue as of {base.as_of} (older majors, Intune floors)"
        ),
        majors=tuple(majors),
        releases=tuple(releases),
        intune_floors=base.intune_floors,
        models={**base.models, **_models(root, rd)},
        notes=base.notes,
    )


def _major_name(text: str, rd: _Reader, where: str) -> tuple[str, str]:
    """`Tahoe 26` → (`Tahoe`, `26`); `Catalina 10.15` → (`Catalina`, `10.15`)."""
    name, _, number = text.rpartition(" ")
    parsed = parse_macos_version(number)
    if not name or parsed is None:
        raise rd.fail(f"{where}.OSVersion", "a name and a major such as 'Tahoe 26'", text)
    return name, parsed.major_label


def _release(raw: dict[str, Any], rd: _Reader, where: str, builds: dict[str, str]) -> Release:
    version_text = rd.text(raw, "ProductVersion", where)
    parsed = parse_macos_version(version_text)
    if parsed is None:
        raise rd.fail(f"{where}.ProductVersion", "a macOS version", version_text)
    exploited = rd.strings(raw, "ActivelyExploitedCVEs", where)
    build = rd.text(raw, "Build", where, optional=True) or builds.get(version_text)
    return Release(
        version=version_text,
        released=rd.day(raw, "ReleaseDate", where),
        build=build or None,
        exploited_cves=exploited,
        cve_count=rd.count(raw, "UniqueCVEsCount", where),
        security_info=rd.text(raw, "SecurityInfo", where, optional=True) or None,
    )


def _correct_dates(found: list[Release]) -> tuple[list[Release], dt.date]:
    """Apply the date rules of the module docstring; returns releases and the public date."""
    ordered = sorted(found, key=lambda r: r.key)
    with_content = [r.released for r in ordered if r.cve_count]
    public = min(with_content) if with_content else min(r.released for r in ordered)
    fixed: list[Release] = []
    cap: dt.date | None = None
    for release in reversed(ordered):
        day, note = release.released, release.note
        if cap is not None and day > cap:
            day = cap
            note = (
                f"SOFA dates it {release.released}, after a later release of its major; "
                f"dated {cap} (page-update artifact, the date is an upper bound)"
            )
        if day < public:
            day = public
            note = (
                f"SOFA dates it {release.released}, before the major's first release with "
                f"security content; dated {public} (not a public release date)"
            )
        cap = day if cap is None else min(cap, day)
        fixed.append(dataclasses.replace(release, released=day, note=note))
    return fixed[::-1], public


def _installer_builds(root: dict[str, Any], rd: _Reader) -> dict[str, str]:
    """Version → build from `InstallationApps` (full installers), which both layouts carry."""
    apps = rd.obj(root.get("InstallationApps", {}), "InstallationApps")
    listed = [apps.get("LatestUMA") or {}, *(apps.get("AllPreviousUMA") or [])]
    builds: dict[str, str] = {}
    for app in listed:
        if isinstance(app, dict):  # v1 spells the keys `version`/`build`, v2 `Version`/`Build`
            version = app.get("version") or app.get("Version")
            build = app.get("build") or app.get("Build")
            if isinstance(version, str) and isinstance(build, str) and version and build:
                builds[version] = build
    return builds


def _models(root: dict[str, Any], rd: _Reader) -> dict[str, Model]:
    models: dict[str, Model] = {}
    for ident, raw in rd.obj(root.get("Models", {}), "Models").items():
        entry = rd.obj(raw, f"Models.{ident}")
        numbers = entry.get("OSVersions") or []
        if not isinstance(numbers, list) or not all(
            isinstance(n, int | float | str) for n in numbers
        ):
            raise rd.fail(f"Models.{ident}.OSVersions", "a list of majors", numbers)
        labels = []
        for n in numbers:
            parsed = parse_macos_version(str(n))
            if parsed is None:
                raise rd.fail(f"Models.{ident}.OSVersions", "majors such as 26 or 15", n)
            labels.append(parsed.major_label)
        models[ident] = Model(
            identifier=ident,
            name=rd.text(entry, "MarketingName", f"Models.{ident}", optional=True) or ident,
            chip=chip_of_model(ident),
            supported_majors=tuple(sorted(set(labels), key=version_key, reverse=True)),
        )
    return models


def _feed_date(root: dict[str, Any], dates: list[dt.date], rd: _Reader) -> dt.date:
    if root.get("LastCheck"):
        return rd.day(root, "LastCheck", "feed")
    xprotect = root.get("XProtectPlistConfigData")
    if isinstance(xprotect, dict) and xprotect.get("ReleaseDate"):
        dates = [*dates, rd.day(xprotect, "ReleaseDate", "XProtectPlistConfigData")]
    return max(dates)
