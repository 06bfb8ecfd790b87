"""The release catalogue's JSON form: read field by field (errors name the field), written sorted.

`macos_catalogue.json` in this package is the bundled one; `auditor refdata import` writes the
same form.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.errors import SourceError
from auditor.refdata.catalogue import Catalogue, IntuneFloor, Major, Model, Release
from auditor.refdata.versions import version_key


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read a catalogue JSON file; the bundled one when `path` is None.

    Raises:
        SourceError: the file is unreadable or not a catalogue; the message names the file
            and the field.
    """
    where = str(path) if path is not None else "bundled macos_catalogue.json"
    try:
        if path is None:
            resource = resources.files("auditor.refdata").joinpath("macos_catalogue.json")
            text = resource.read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{where}: cannot read the catalogue: {exc}") from exc
    try:
        return catalogue_from_dict(data)
    except ValueError as exc:
        raise SourceError(f"{where}: {exc}") from exc


def catalogue_from_dict(data: object) -> Catalogue:
    """Build a Catalogue from its JSON form (see `catalogue_to_dict`).

    Raises:
        ValueError: a field is missing or malformed; the message names the field's path.
    """
    root = _obj(data, "catalogue")
    majors = tuple(
        Major(
            label=_str(m, "label", f"majors[{i}]"),
            name=_str(m, "name", f"majors[{i}]"),
            released=_day(m, "released", f"majors[{i}]"),
            releases_complete=bool(m.get("releases_complete", True)),
            note=_opt_str(m, "note", f"majors[{i}]"),
        )
        for i, m in enumerate(_objs(root, "majors"))
    )
    releases = tuple(
        Release(
            version=_version(r, f"releases[{i}]"),
            released=_day(r, "released", f"releases[{i}]"),
            build=_opt_str(r, "build", f"releases[{i}]"),
            exploited_cves=tuple(_strs(r, "exploited_cves", f"releases[{i}]")),
            cve_count=_count(r, "cve_count", f"releases[{i}]"),
            security_info=_opt_str(r, "security_info", f"releases[{i}]"),
            note=_opt_str(r, "note", f"releases[{i}]"),
        )
        for i, r in enumerate(_objs(root, "releases"))
    )
    floors = tuple(
        IntuneFloor(
            major=_str(f, "major", f"intune_floors[{i}]"),
            since=_day(f, "since", f"intune_floors[{i}]"),
            source=_str(f, "source", f"intune_floors[{i}]"),
            note=_opt_str(f, "note", f"intune_floors[{i}]"),
        )
        for i, f in enumerate(_objs(root, "intune_floors"))
    )
    if not majors or not floors:
        raise ValueError("majors and intune_floors must not be empty")
    models = {
        ident: Model(
            identifier=ident,
            name=_str(m, "name", f"models.{ident}"),
            chip=_str(m, "chip", f"models.{ident}"),
            supported_majors=tuple(_strs(m, "supported_majors", f"models.{ident}")),
        )
        for ident, raw in _obj(root.get("models", {}), "models").items()
        for m in (_obj(raw, f"models.{ident}"),)
    }
    return Catalogue(
        as_of=_day(root, "as_of", "catalogue"),
        source=_str(root, "source", "catalogue"),
        majors=majors,
        releases=releases,
        intune_floors=floors,
        models=models,
        notes=tuple(_strs(root, "notes", "catalogue")),
    )


def catalogue_to_dict(catalogue: Catalogue) -> dict[str, Any]:
    """The JSON form of a catalogue (inverse of `catalogue_from_dict`), sorted and stable."""

    def compact(values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if v not in (None, (), [])}

    return {
        "as_of": catalogue.as_of.isoformat(),
        "source": catalogue.source,
        "notes": list(catalogue.notes),
        "majors": [
            compact(
                {
                    "label": m.label,
                    "name": m.name,
                    "released": m.released.isoformat(),
                    "releases_complete": None if m.releases_complete else False,
                    "note": m.note,
                }
            )
            for m in catalogue.majors
        ],
        "releases": [
            compact(
                {
                    "version": r.version,
                    "build": r.build,
                    "released": r.released.isoformat(),
                    "cve_count": r.cve_count,
                    "exploited_cves": list(r.exploited_cves),
                    "security_info": r.security_info,
                    "note": r.note,
                }
            )
            for r in sorted(catalogue.releases, key=lambda r: r.key)
        ],
        "intune_floors": [
            compact(
                {
                    "major": f.major,
                    "since": f.since.isoformat(),
                    "source": f.source,
                    "note": f.note,
                }
            )
            for f in sorted(catalogue.intune_floors, key=lambda f: f.since)
        ],
        "models": {
            ident: {"name": m.name, "chip": m.chip, "supported_majors": list(m.supported_majors)}
            for ident, m in sorted(catalogue.models.items())
        },
    }


def catalogue_text(catalogue: Catalogue) -> str:
    """The catalogue as JSON text with one release or model per line (readable diffs)."""
    data = catalogue_to_dict(catalogue)
    lines = ["{"]
    for name in ("as_of", "source"):
        lines.append(f"  {json.dumps(name)}: {json.dumps(data[name], ensure_ascii=False)},")
    for name in ("notes", "majors", "releases", "intune_floors"):
        items = [json.dumps(item, ensure_ascii=False) for item in data[name]]
        lines.append(f"  {json.dumps(name)}: [")
        lines.extend(f"    {item}," for item in items)
        if items:
            lines[-1] = lines[-1].rstrip(",")
        lines.append("  ],")
    models = [
        f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},"
        for k, v in data["models"].items()
    ]
    if models:
        models[-1] = models[-1].rstrip(",")
    lines += ['  "models": {', *models, "  }", "}"]
    return "\n".join(lines) + "\n"


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _objs(parent: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = parent.get(key)
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list")
    return [_obj(item, f"{key}[{i}]") for i, item in enumerate(value)]


def _str(parent: dict[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def _opt_str(parent: dict[str, Any], key: str, where: str) -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _strs(parent: dict[str, Any], key: str, where: str) -> list[str]:
    value = parent.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}.{key}: expected a list of strings, got {value!r}")
    return value


def _count(parent: dict[str, Any], key: str, where: str) -> int | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where}.{key}: expected a whole number, got {value!r}")
    return value


def _day(parent: dict[str, Any], key: str, where: str) -> dt.date:
    value = parent.get(key)
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"{where}.{key}: expected an ISO date, got {value!r}") from None


def _version(parent: dict[str, Any], where: str) -> str:
    text = _str(parent, "version", where)
    try:
        version_key(text)
    except ValueError:
        raise ValueError(f"{where}.version: not a macOS version: {text!r}") from None
    return text
