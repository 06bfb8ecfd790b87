from auditor.rules import rule_by_id
from rules.frames import details, statuses

INV_001 = rule_by_id("MAC-INV-001")
INV_002 = rule_by_id("MAC-INV-002")


def test_every_record_sharing_a_serial_fails():
    rows = [
        {"device_id": "a", "serial_number": "C02SHARED001"},
        {"device_id": "b", "serial_number": "C02UNIQUE001"},
        {"device_id": "c", "serial_number": "C02SHARED001"},
        {"device_id": "d", "serial_number": None},
        {"device_id": "e", "serial_number": "C02SHARED001"},
        {"device_id": "f", "serial_number": "C02PAIR00001"},
        {"device_id": "g", "serial_number": "C02PAIR00001"},
    ]
    assert statuses(INV_001, rows) == [
        "fail",
        "pass",
        "fail",
        "not_applicable",
        "fail",
        "fail",
        "fail",
    ]
    texts = details(INV_001, rows)
    assert texts[0] == texts[2] == texts[4] == "serial C02SHARED001 is on 3 device records: a, c, e"
    assert texts[5] == "serial C02PAIR00001 is on 2 device records: f, g"


def test_long_duplicate_groups_are_summarised():
    rows = [{"device_id": f"id-{i}", "serial_number": "VM0000000001"} for i in range(8)]
    assert details(INV_001, rows)[0] == (
        "serial VM0000000001 is on 8 device records: id-0, id-1, id-2, id-3, id-4 and 3 more"
    )


def test_missing_serial_or_model_fails_with_a_reason():
    rows = [
        {"serial_number": None, "model": None},
        {"serial_number": "C02X", "model": "MacBook Pro"},
    ]
    assert statuses(INV_002, rows) == ["fail", "pass"]
    assert details(INV_002, rows)[0] == "serial number and model missing from the record"
