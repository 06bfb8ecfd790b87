"""MAC-INV: each Mac has one device record, and records carry serial number and model."""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, per_row, per_value, rule

_LISTED_IDS = 5


def _has_serial(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["serial_number"].notna().astype("boolean")


def _unique_serial(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    # The engine hands this check every row that has a serial (the only strict input), so
    # duplicates are counted over the whole inventory, not over a subset.
    return ~devices["serial_number"].duplicated(keep=False)


def _duplicate_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    # Every row of a duplicate group fails, so the failing rows hold each group whole.
    groups = devices.groupby("serial_number", sort=False, observed=True)["device_id"]
    members = groups.agg(list).to_dict()

    def describe(serial: str) -> str:
        ids = sorted(str(i) for i in members[serial])
        shown = ", ".join(ids[:_LISTED_IDS])
        more = f" and {len(ids) - _LISTED_IDS} more" if len(ids) > _LISTED_IDS else ""
        return f"serial {serial} is on {len(ids)} device records: {shown}{more}"

    return per_value(devices["serial_number"], describe, "string")


@rule(
    id="MAC-INV-001",
    problem="Macs whose serial number is on more than one device record",
    title="Serial number belongs to one device record",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=("serial_number", "device_id"),
    scope=_has_serial,
    scope_text="Macs with a serial number",
    fails_when="another device record has the same serial number",
    detail=_duplicate_detail,
    rationale=(
        "Two records for one serial mean a stale record left behind by a re-enrollment, a "
        "Mac restored with Migration Assistant, or cloned virtual machines sharing an "
        "identity. Every count in the audit is then off, and one of the records may be a Mac "
        "nobody manages any more."
    ),
    remediation=(
        "Search the serial in Devices > All devices; keep the record with the latest check-in "
        "and delete the others (Delete removes the record only, it does not wipe). Device "
        "clean-up rules (Devices > Device clean-up rules) remove such leftovers automatically. "
        "For cloned VMs, give each VM its own serial."
    ),
    references=(ref.MS_ENR, ref.MS_ADE_OVERVIEW),
    sources=("MS-ENR", "MS-CLEAN", "MS-ADE"),
    controls={
        "NIST 800-53": ("CM-8",),
        "CIS Controls v8": ("1.1",),
        "ISO/IEC 27001:2022": ("A.5.9",),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022"),
    # Examples are evaluated together as one inventory: the two duplicates share a serial.
    examples=(
        Example("pass-unique-serial", {"serial_number": "C02XK1JZJGH5"}, Status.PASS),
        Example("fail-duplicate-first", {"serial_number": "C02DUPL1CATE"}, Status.FAIL),
        Example("fail-duplicate-second", {"serial_number": "C02DUPL1CATE"}, Status.FAIL),
        Example(
            "unknown-record-id-missing",
            {"serial_number": "C02NO1DRECRD", "device_id": None},
            Status.UNKNOWN,
        ),
        Example("na-no-serial", {"serial_number": None}, Status.NOT_APPLICABLE),
    ),
)
def serial_on_one_record(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _unique_serial(devices, ctx)


def _missing_identity_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    def describe(no_serial: bool, no_model: bool) -> str:
        pairs = (("serial number", no_serial), ("model", no_model))
        return " and ".join(name for name, gone in pairs if gone) + " missing from the record"

    absent = pd.DataFrame(
        {"serial": devices["serial_number"].isna(), "model": devices["model"].isna()}
    ).astype("boolean")
    return per_row(absent, describe, "string")


@rule(
    id="MAC-INV-002",
    problem="Device records without a serial number or model",
    title="Device record carries a serial number and model",
    severity=Severity.LOW,
    entity=Entity.DEVICE,
    requires=("serial_number", "model"),
    nullable=("serial_number", "model"),
    fails_when="the serial number or the model is missing",
    detail=_missing_identity_detail,
    rationale=(
        "Without a serial a Mac cannot be matched to Apple Business Manager, warranty or asset "
        "records, and without a model the hardware rules cannot judge it; Intune itself needs "
        "both to enroll a virtual Mac. A record missing either usually comes from a partial "
        "enrollment or a hand-made VM."
    ),
    remediation=(
        "Open the record in Devices > macOS and check Hardware; a Mac that checks in again "
        "reports both. Records that never fill in are stale or broken enrollments: retire and "
        "re-enroll the Mac, or delete the record."
    ),
    references=(ref.MS_ENR, ref.MS_GRAPH_DEVICE),
    sources=("MS-ENR", "MS-GRAPH"),
    controls={"NIST 800-53": ("CM-8",), "ISO/IEC 27001:2022": ("A.5.9",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-both", {"serial_number": "C02XK1JZJGH5", "model": "MacBookPro18,3"}, Status.PASS
        ),
        Example("fail-no-serial", {"serial_number": None, "model": "MacBookPro18,3"}, Status.FAIL),
        Example("fail-no-model", {"serial_number": "C02XK1JZJGH5", "model": None}, Status.FAIL),
    ),
)
def serial_and_model_present(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["serial_number"].notna() & devices["model"].notna()
