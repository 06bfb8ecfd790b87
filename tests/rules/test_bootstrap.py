from auditor.rules import rule_by_id
from rules.frames import details, statuses

BST_001 = rule_by_id("MAC-BST-001")
SWU_001 = rule_by_id("MAC-SWU-001")
KXT_001 = rule_by_id("MAC-KXT-001")


def _silicon(version: str, method: str, supervised: bool | None) -> dict[str, object]:
    return {
        "chip": "apple_silicon",
        "bootstrap_escrowed": True,
        "enrollment_method": method,
        "is_supervised": supervised,
        "os_version": version,
    }


def test_software_update_authorization_starts_at_11_1_for_ade_and_11_2_when_supervised():
    rows = [
        _silicon("11.0.1", "ade", True),
        _silicon("11.1", "ade", None),
        _silicon("11.1", "byod", True),
        _silicon("11.2", "byod", True),
        _silicon("11.2", "byod", False),
        _silicon("26.0", "ade", False),
    ]
    assert statuses(SWU_001, rows) == ["fail", "pass", "fail", "pass", "fail", "pass"]


def test_software_update_detail_names_every_reason():
    row = {**_silicon("11.1", "byod", True), "bootstrap_escrowed": False}
    assert details(SWU_001, [row]) == [
        "bootstrap token not escrowed; neither ADE on macOS 11.1+ nor supervised on macOS "
        "11.2+ (macOS 11.1, Company Portal (BYOD), supervised)"
    ]


def test_bootstrap_scope_starts_at_catalina_for_supervised_or_ade_macs():
    def row(version: str, method: str, supervised: bool | None) -> dict[str, object]:
        return {
            "os_version": version,
            "enrollment_method": method,
            "is_supervised": supervised,
            "bootstrap_escrowed": False,
        }

    rows = [
        row("10.14.6", "ade", True),
        row("10.15", "ade", None),
        row("10.15.7", "byod", True),
        row("15.7.9", "byod", False),
        row("15.7.9", "byod", None),
    ]
    assert statuses(BST_001, rows) == [
        "not_applicable",
        "fail",
        "fail",
        "not_applicable",
        "unknown",
    ]


def test_bootstrap_detail_describes_the_mac():
    row = {
        "os_version": "14.8.9",
        "enrollment_method": "ade",
        "is_supervised": True,
        "bootstrap_escrowed": False,
    }
    assert details(BST_001, [row]) == [
        "bootstrap token not escrowed (macOS 14.8.9, supervised, ADE)"
    ]


def test_kernel_extension_management_needs_ade_on_11_or_later():
    rows = [
        {"chip": "apple_silicon", "enrollment_method": "ade", "os_version": "11.0"},
        {"chip": "apple_silicon", "enrollment_method": "ade", "os_version": "10.15.7"},
        {"chip": "apple_silicon", "enrollment_method": "dem", "os_version": None},
        {"chip": "virtual", "enrollment_method": "ade", "os_version": "15.7.9"},
    ]
    assert statuses(KXT_001, rows) == ["pass", "fail", "fail", "not_applicable"]
