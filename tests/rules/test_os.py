import datetime as dt

import pytest

from auditor.errors import ConfigError
from auditor.rules import rule_by_id
from rules.frames import details, statuses

OS = {n: rule_by_id(f"MAC-OS-00{n}") for n in range(1, 6)}


def _versions(*versions: str | None) -> list[dict[str, object]]:
    return [{"os_version": v} for v in versions]


def test_intune_floor_follows_its_history():
    rows = _versions("13.7.8", "14.0")
    assert statuses(OS[1], rows, as_of=dt.date(2025, 9, 14)) == ["pass", "pass"]
    assert statuses(OS[1], rows, as_of=dt.date(2025, 9, 15)) == ["fail", "pass"]


def test_intune_floor_parameter_overrides_the_catalogue_and_compares_numerically():
    rows = _versions("14.8.9", "15.0", "26.0")
    assert statuses(OS[1], rows, params={"intune_min_major": "15"}) == ["fail", "pass", "pass"]
    assert details(OS[1], rows, params={"intune_min_major": "15"})[0] == (
        "macOS 14.8.9 is below Intune's supported minimum, macOS 15 (configured)"
    )


def test_a_nonsense_intune_floor_is_a_configuration_error():
    with pytest.raises(ConfigError, match="intune_min_major"):
        statuses(OS[1], _versions("14.8.9"), params={"intune_min_major": "fifteen"})


def test_supported_majors_are_counted_by_position_around_the_macos_26_release():
    rows = [{"os_major": m} for m in ("12", "13", "15", "26")]
    before = dt.date(2025, 9, 14)
    assert statuses(OS[2], rows, as_of=before) == ["fail", "pass", "pass", "unknown"]
    assert statuses(OS[2], rows, as_of=dt.date(2025, 9, 15)) == ["fail", "fail", "pass", "pass"]


def test_newest_major_moves_with_the_as_of_date():
    rows = _versions("15.7.9", "26.0")
    assert statuses(OS[5], rows, as_of=dt.date(2025, 9, 14)) == ["pass", "unknown"]
    assert statuses(OS[5], rows) == ["fail", "pass"]


def test_exploited_fix_floor_is_per_major_and_numeric():
    rows = _versions("26.0", "15.7.9", "26.6.1", "26.10", "14.8.8")
    assert statuses(OS[3], rows) == ["fail", "pass", "pass", "pass", "fail"]


def test_exploited_fix_floor_counts_only_fixes_published_by_the_as_of_date():
    rows = _versions("15.7.8")
    assert statuses(OS[3], rows, as_of=dt.date(2026, 8, 5)) == ["pass"]
    assert statuses(OS[3], rows, as_of=dt.date(2026, 8, 6)) == ["fail"]


def test_exploited_detail_lists_the_missing_cves():
    assert details(OS[3], _versions("15.7.8", "14.7.2")) == [
        "macOS 15.7.8 < 15.7.9 (fixes CVE-2026-65400, actively exploited)",
        "macOS 14.7.2 < 14.8.9 (fixes 6 actively exploited CVEs: CVE-2025-43200, "
        "CVE-2025-24085, CVE-2025-43300 and 3 more)",
    ]


def test_latest_patch_is_due_only_after_the_grace_period():
    # 15.7.8 was published 2026-07-27: due once more than 30 days have passed.
    rows = _versions("15.7.7", "15.7.8")
    assert statuses(OS[4], rows, as_of=dt.date(2026, 8, 26)) == ["pass", "pass"]
    assert statuses(OS[4], rows, as_of=dt.date(2026, 8, 27)) == ["fail", "pass"]
    # Without grace, 15.7.9 (2026-08-06) is due too.
    assert statuses(OS[4], rows, as_of=dt.date(2026, 8, 26), params={"grace_days": 0}) == [
        "fail",
        "fail",
    ]


def test_unpatched_majors_are_out_of_scope_of_the_patch_rules():
    rows = _versions("13.7.8", "12.7.6", "11.7.10", "10.15.7")
    for n in (3, 4):
        assert statuses(OS[n], rows) == ["not_applicable"] * 4


def test_partial_release_history_makes_patch_rules_unknown():
    # In 2022 macOS 11 still received updates, but the catalogue keeps only two of its releases.
    rows = _versions("11.0.1", "12.4")
    as_of = dt.date(2022, 6, 1)
    assert statuses(OS[3], rows, as_of=as_of) == ["unknown", "pass"]
    assert statuses(OS[4], rows, as_of=as_of) == ["unknown", "pass"]


@pytest.mark.parametrize("as_of", [dt.date(2000, 1, 1), dt.date(2019, 6, 1)])
def test_before_the_catalogues_first_major_the_os_rules_cannot_judge(as_of):
    # Catalina (10.15), the catalogue's first major, shipped 2019-10-07: nothing before it.
    rows = _versions("26.6.2", "10.15.7")
    for n in (2, 3, 4, 5):
        assert statuses(OS[n], rows, as_of=as_of) == ["unknown", "unknown"], n


def test_a_major_released_after_the_as_of_date_is_unknown_never_patched():
    rows = _versions("26.6.2", "15.7.9")
    assert statuses(OS[3], rows, as_of=dt.date(2025, 9, 1)) == ["unknown", "pass"]
