import dataclasses
import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from auditor.errors import SourceError
from auditor.refdata.catalogue import STALE_AFTER_DAYS
from auditor.refdata.catalogue_file import catalogue_from_dict, catalogue_to_dict, load_catalogue
from auditor.refdata.hardware import chip_of_model
from auditor.refdata.sofa import (
    default_catalogue_path,
    import_command,
    import_sofa,
    preferred_catalogue,
    write_catalogue,
)
from auditor.refdata.versions import version_key

FIXTURES = Path(__file__).parent / "fixtures" / "sofa"
V1 = FIXTURES / "macos_feed_v1.json"
V2 = FIXTURES / "macos_feed_v2.json.gz"
AS_OF = dt.date(2026, 9, 1)


@pytest.fixture(scope="module")
def bundled():
    return load_catalogue()


# The bundled catalogue


def test_bundled_catalogue_holds_every_major_from_catalina_to_tahoe_in_order(bundled):
    assert [m.label for m in bundled.majors] == ["10.15", "11", "12", "13", "14", "15", "26"]
    assert bundled.as_of == dt.date(2026, 8, 22)
    assert [m.label for m in bundled.majors if not m.releases_complete] == ["10.15", "11"]
    for major in bundled.majors:
        releases = bundled.releases_of(major.label, dt.date(2100, 1, 1))
        assert releases, major.label
        assert all(r.released >= major.released for r in releases), major.label
        dates = [r.released for r in releases]  # version order is date order within a major
        assert dates == sorted(dates), major.label


def test_bundled_catalogue_carries_the_feed_facts(bundled):
    counts = {m.label: len(bundled.releases_of(m.label, AS_OF)) for m in bundled.majors}
    assert counts == {"10.15": 2, "11": 3, "12": 27, "13": 31, "14": 31, "15": 22, "26": 15}
    release = next(r for r in bundled.releases if r.version == "15.7.9")
    assert (release.build, release.released, release.exploited_cves, release.cve_count) == (
        "24G830",
        dt.date(2026, 8, 6),
        ("CVE-2026-65400",),
        1,
    )
    assert len(bundled.models) == 98
    assert bundled.model("MacBookPro16,1").chip == "intel"
    assert bundled.model_max_major("MacBookPro16,1") == "26"
    assert [(f.major, f.since) for f in bundled.intune_floors] == [
        ("11", dt.date(2022, 10, 24)),
        ("13", dt.date(2024, 9, 16)),
        ("14", dt.date(2025, 9, 15)),
    ]


def test_feed_date_artifacts_are_corrected_and_explained(bundled):
    by_version = {r.version: r for r in bundled.releases}
    assert by_version["12.0"].released == dt.date(2021, 10, 25)  # SOFA: 2021-09-20
    assert "2021-09-20" in by_version["12.0"].note
    assert by_version["12.6"].released == dt.date(2022, 12, 13)  # SOFA: 2024-06-12
    assert "upper bound" in by_version["12.6"].note
    assert by_version["12.7.6"].note is None


def test_bundled_file_is_in_canonical_form(bundled):
    text = (Path(__file__).parent.parent / "auditor/refdata/macos_catalogue.json").read_text()
    assert catalogue_from_dict(json.loads(text)) == bundled
    assert catalogue_from_dict(catalogue_to_dict(bundled)) == bundled


# Questions the rules ask


def test_supported_majors_are_counted_by_position(bundled):
    assert bundled.supported_majors(dt.date(2025, 9, 14)) == ("13", "14", "15")
    assert bundled.supported_majors(dt.date(2025, 9, 15)) == ("14", "15", "26")
    assert bundled.newest_major(AS_OF) == "26"
    assert bundled.majors_at(dt.date(2020, 1, 1)) == ("10.15",)


def test_exploited_fix_floor_and_latest_patch(bundled):
    assert bundled.exploited_fix_floor("26", AS_OF).version == "26.6.1"
    assert bundled.exploited_fix_floor("26", dt.date(2026, 8, 5)).version == "26.3"
    assert bundled.exploited_cves_after("15", version_key("15.7.2"), AS_OF) == ("CVE-2026-65400",)
    assert bundled.latest_patch("15", AS_OF, 30).version == "15.7.8"
    assert bundled.latest_patch("15", dt.date(2026, 8, 26), 30).version == "15.7.7"
    assert bundled.latest_patch("26", dt.date(2025, 9, 20), 30) is None


def test_intune_minimum_in_force(bundled):
    assert bundled.intune_minimum(dt.date(2024, 9, 15)).major == "11"
    assert bundled.intune_minimum(dt.date(2024, 9, 16)).major == "13"
    assert bundled.intune_minimum(AS_OF).major == "14"


def test_model_ceiling_bounds_models_older_than_the_catalogue(bundled):
    assert bundled.model_ceiling("MacBookPro14,1") == "13"
    assert bundled.model_ceiling("MacBookPro11,1") == "11"  # older than MacBookPro11,4
    assert bundled.model_ceiling("iMac14,2") == "11"
    assert bundled.model_ceiling("Mac18,1") is None  # newer than the catalogue
    assert bundled.model_ceiling("VirtualMac1,1") is None
    assert bundled.model_ceiling("Xserve3,1") is None


def test_catalogue_goes_stale_after_45_days(bundled):
    fresh = bundled.as_of + dt.timedelta(days=STALE_AFTER_DAYS)
    assert not bundled.is_stale(fresh) and bundled.staleness_warning(fresh) is None
    stale = fresh + dt.timedelta(days=1)
    assert bundled.is_stale(stale) and bundled.age_days(stale) == 46
    assert "46 days old" in bundled.staleness_warning(stale)
    assert "auditor refdata import" in bundled.staleness_warning(stale)


@pytest.mark.parametrize(
    ("identifier", "chip"),
    [
        ("Mac13,1", "apple_silicon"),
        ("Mac17,5", "apple_silicon"),
        ("Mac14,8", "apple_silicon"),
        ("MacBookAir10,1", "apple_silicon"),
        ("MacBookAir9,1", "intel"),
        ("MacBookPro17,1", "apple_silicon"),
        ("MacBookPro16,4", "intel"),
        ("Macmini9,1", "apple_silicon"),
        ("Macmini8,1", "intel"),
        ("iMac21,2", "apple_silicon"),
        ("iMac20,1", "intel"),
        ("iMacPro1,1", "intel"),
        ("MacPro7,1", "intel"),
        ("MacPro7,1-Rack", "intel"),
        ("MacBook10,1", "intel"),
        ("VirtualMac2,1", "virtual"),
        ("VMware7,1", "virtual"),
        ("Parallels16,1", "virtual"),
        ("VMM-x86_64", "virtual"),
        ("Mac12,1", "unknown"),
        ("MacBook Pro", "unknown"),
    ],
)
def test_chip_of_model_identifier(identifier, chip):
    assert chip_of_model(identifier) == chip


def test_every_bundled_model_has_a_known_chip(bundled):
    assert {m.chip for m in bundled.models.values()} == {"apple_silicon", "intel", "virtual"}


# Importing SOFA feeds


def test_import_v1_keeps_older_majors_and_intune_floors(bundled):
    catalogue = import_sofa(V1, previous=bundled)
    # v1 carries no capture date: the newest date in it (XProtect, 2025-11-05) dates the feed;
    # the result is never dated before the catalogue it was merged into.
    assert "as of 2025-11-05" in catalogue.source and "v1" in catalogue.source
    assert catalogue.as_of == bundled.as_of
    assert [m.label for m in catalogue.majors] == ["10.15", "11", "12", "13", "14", "15", "26"]
    assert catalogue.intune_floors == bundled.intune_floors
    assert catalogue.releases_of("14", AS_OF) == bundled.releases_of("14", AS_OF)
    by_version = {r.version: r for r in catalogue.releases}
    assert by_version["26.1"].cve_count == 3  # the feed wins for the versions it lists
    assert by_version["26.1"].build == "25B78"  # from Latest
    assert by_version["26.0.1"].build == "25A362"  # from the installer list
    assert by_version["26.0"].build is None
    assert by_version["15.7.1"].released == dt.date(2025, 11, 3)  # dated after 15.7.2
    assert "2025-12-30" in by_version["15.7.1"].note
    assert catalogue.model("MacBookAir9,1").supported_majors == ("15",)
    assert catalogue.model("MacBookAir9,1").chip == "intel"
    assert catalogue.model("MacBookPro14,1") == bundled.model("MacBookPro14,1")  # kept


def test_an_older_feed_never_removes_known_releases(bundled):
    catalogue = import_sofa(V1, previous=bundled)
    known = {r.version for r in bundled.releases}
    assert known <= {r.version for r in catalogue.releases}
    assert catalogue.exploited_fix_floor("26", AS_OF).version == "26.6.1"


def test_feed_date_can_be_given(bundled):
    catalogue = import_sofa(V2, previous=bundled, as_of=dt.date(2026, 12, 1))
    assert catalogue.as_of == dt.date(2026, 12, 1)


def test_import_v2_gzip_adds_a_new_major_and_shifts_support(bundled):
    catalogue = import_sofa(V2, previous=bundled)
    assert catalogue.as_of == dt.date(2026, 10, 1)
    assert catalogue.major("27").name == "Fixture"
    assert catalogue.major("27").released == dt.date(2026, 9, 14)
    assert catalogue.supported_majors(dt.date(2026, 9, 14)) == ("15", "26", "27")
    assert catalogue.exploited_fix_floor("26", dt.date(2026, 10, 1)).version == "26.7"
    assert next(r for r in catalogue.releases if r.version == "27.0").build == "26A90"
    assert catalogue.model_max_major("Mac17,2") == "27"
    assert "v2" in catalogue.source and "as of 2026-10-01" in catalogue.source


def test_import_without_previous_uses_the_bundled_catalogue(bundled):
    assert import_sofa(V1, previous=None).intune_floors == bundled.intune_floors


def _feed_file(tmp_path: Path, mutate) -> Path:
    data = json.loads(V1.read_text())
    mutate(data)
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("OSVersions"), "OSVersions"),
        (lambda d: d["OSVersions"].__setitem__(0, "x"), "OSVersions[0]"),
        (
            lambda d: d["OSVersions"][0]["SecurityReleases"][1].__setitem__("ReleaseDate", "soon"),
            "OSVersions[0].SecurityReleases[1].ReleaseDate",
        ),
        (
            lambda d: d["OSVersions"][1]["SecurityReleases"][0].__setitem__(
                "ProductVersion", "sixteen"
            ),
            "OSVersions[1].SecurityReleases[0].ProductVersion",
        ),
        (
            lambda d: d["OSVersions"][1]["SecurityReleases"][0].__setitem__(
                "ProductVersion", "26.2"
            ),
            "OSVersions[1].SecurityReleases",
        ),
        (lambda d: d["OSVersions"][0].__setitem__("OSVersion", "Tahoe"), "OSVersions[0].OSVersion"),
        (
            lambda d: d["OSVersions"][0]["SecurityReleases"][0].__setitem__(
                "ActivelyExploitedCVEs", "CVE-1"
            ),
            "OSVersions[0].SecurityReleases[0].ActivelyExploitedCVEs",
        ),
        (
            lambda d: d["OSVersions"][0]["SecurityReleases"][0].__setitem__("UniqueCVEsCount", -1),
            "OSVersions[0].SecurityReleases[0].UniqueCVEsCount",
        ),
        (lambda d: d["Models"]["VirtualMac2,1"].__setitem__("OSVersions", ["x"]), "Models."),
    ],
)
def test_malformed_feed_names_the_file_and_the_field(tmp_path, bundled, mutate, field):
    path = _feed_file(tmp_path, mutate)
    with pytest.raises(SourceError) as raised:
        import_sofa(path, previous=bundled)
    assert str(path) in str(raised.value)
    assert field in str(raised.value)


@pytest.mark.parametrize("content", [b"not json", b"\x1f\x8b\x08broken gzip", b""])
def test_unreadable_feed_is_a_source_error(tmp_path, bundled, content):
    path = tmp_path / "feed.json"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=r"feed\.json"):
        import_sofa(path, previous=bundled)


def test_written_catalogue_round_trips_atomically(tmp_path, bundled):
    catalogue = import_sofa(V2, previous=bundled)
    target = tmp_path / "nested" / "macos_catalogue.json"
    write_catalogue(catalogue, target)
    assert load_catalogue(target) == catalogue
    assert [p.name for p in target.parent.iterdir()] == ["macos_catalogue.json"]


def test_a_broken_catalogue_file_names_the_file_and_field(tmp_path, bundled):
    data = catalogue_to_dict(bundled)
    data["releases"][3]["released"] = "someday"
    path = tmp_path / "cat.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SourceError, match=r"cat\.json: releases\[3\]\.released"):
        load_catalogue(path)


def test_default_catalogue_path_honours_the_environment(tmp_path):
    assert default_catalogue_path({"AUDITOR_CATALOGUE": "/x/cat.json"}) == Path("/x/cat.json")
    assert default_catalogue_path({"XDG_DATA_HOME": str(tmp_path)}) == (
        tmp_path / "auditor" / "macos_catalogue.json"
    )
    assert default_catalogue_path({}).parts[-4:] == (
        ".local",
        "share",
        "auditor",
        "macos_catalogue.json",
    )


def test_preferred_catalogue_is_the_newer_of_imported_and_bundled(tmp_path, bundled):
    path = tmp_path / "cat.json"
    assert preferred_catalogue(path) == bundled  # nothing imported yet
    write_catalogue(dataclasses.replace(bundled, as_of=dt.date(2026, 1, 1)), path)
    assert preferred_catalogue(path) == bundled  # older import loses
    newer = import_sofa(V2, previous=bundled)
    write_catalogue(newer, path)
    assert preferred_catalogue(path) == newer


def test_import_command_writes_and_summarises(tmp_path):
    target = tmp_path / "cat.json"
    summary = import_command(V2, target)
    assert summary == (
        f"{target}: catalogue as of 2026-10-01: 8 majors (10.15 to 27), 134 releases, 98 models"
    )
    assert load_catalogue(target).major("27") is not None


def test_gzip_is_detected_by_content_not_name(tmp_path, bundled):
    path = tmp_path / "feed.json"
    path.write_bytes(gzip.compress(V1.read_bytes()))
    assert import_sofa(path, previous=bundled) == import_sofa(V1, previous=bundled)
