import pytest

from auditor.errors import ConfigError
from auditor.rules import rule_by_id
from rules.frames import details, statuses

VM_001 = rule_by_id("MAC-VM-001")
VM_002 = rule_by_id("MAC-VM-002")


def _vm(serial: str | None, name: str | None) -> dict[str, object]:
    return {"is_vm": True, "serial_number": serial, "device_name": name}


def test_test_vm_list_matches_serials_and_globs_case_insensitively():
    rows = [
        _vm("Z4K614MYR0", "anything"),
        _vm("OTHER00001", "CI-Runner-12"),
        _vm("OTHER00002", "ci-runner"),
        _vm(None, "build-7"),
    ]
    params = {
        "approved_serials": ("z4k614myr0",),
        "approved_name_patterns": ("ci-runner-*", "build-?"),
    }
    assert statuses(VM_001, rows, params=params) == ["pass", "pass", "fail", "pass"]


def test_a_single_pattern_string_is_accepted_and_a_number_is_not():
    rows = [_vm("X1", "lab-1")]
    assert statuses(VM_001, rows, params={"approved_name_patterns": "lab-*"}) == ["pass"]
    with pytest.raises(ConfigError, match="approved_serials"):
        statuses(VM_001, rows, params={"approved_serials": 5})


def test_vm_detail_shows_name_serial_and_evidence():
    row = {**_vm("Z4K614MYR0", "vm-x"), "vm_evidence": "model VirtualMac2,1"}
    assert details(VM_001, [row]) == [
        "virtual Mac 'vm-x', serial Z4K614MYR0, is not on the approved test-VM list; "
        "evidence: model VirtualMac2,1"
    ]


def _setup(serial: str | None, model: str | None, arch: str | None) -> dict[str, object]:
    return {
        "is_vm": True,
        "serial_number": serial,
        "model_identifier": model,
        "processor_arch": arch,
    }


def test_vmware_is_only_wrong_on_apple_silicon():
    rows = [
        _setup("ABC123456789", "VMware7,1", "x64"),
        _setup("ABC123456789", "VMware7,1", "arm64"),
        _setup("ABC123456789", "MacBookAir10,1", None),
        _setup("VMwFVoWLEdXS", "MacBookAir10,1", None),
        _setup("VMwFVoWLEdXS", "MacBookPro16,1", None),
    ]
    assert statuses(VM_002, rows) == ["pass", "fail", "pass", "fail", "pass"]


def test_setup_detail_lists_every_problem():
    rows = [_setup("VM/abc+defgh", None, "arm64")]
    assert statuses(VM_002, rows) == ["fail"]
    assert details(VM_002, rows) == [
        "serial 'VM/abc+defgh' is not alphanumeric; no hardware model identifier reported; "
        "VMware VM on Apple silicon (VMware Fusion runs macOS only on Intel)"
    ]
