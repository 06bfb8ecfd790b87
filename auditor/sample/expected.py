"""What the sample intends each rule to find: named cases for end-to-end tests (expected.json)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from auditor.sample.compliance import (
    CONTRACTORS_POLICY,
    DRAFT_POLICY,
    FILEVAULT_POLICY,
    LAB_POLICY,
)
from auditor.sample.population import Identities
from auditor.sample.scenarios import DEM_EVENTS, DEM_LABS, PINNED
from auditor.sample.tenant import ENGINEERING_TOKEN_DAYS_LEFT

Json = dict[str, Any]
VM_NAME_PATTERN = "QA-VM-*"


# The compliance generated the other way round: MAC-POL-001 passes and MAC-POL-002 fails.
STRICT_COMPLIANCE = {"secure_by_default": True, "filevault_assigned": False}


@dataclass(frozen=True, slots=True)
class Population:
    """The population and policy objects the cases name (serials, tokens, policies)."""

    identities: Identities
    vpp: Json
    policies: Json


def _case(status: str, entity: Json, **conditions: Any) -> Json:
    return {"status": status, **entity, **{k: v for k, v in conditions.items() if v}}


def expected_outcomes(
    devices: pd.DataFrame,
    tenant_id: str,
    apns: Json,
    tokens: Json,
    as_of: dt.date,
    seed: int,
    population: Population,
) -> Json:
    """Cases per rule id: entity, intended status, and any config or generation it needs.

    Device cases come from the placed Macs (`scenarios.PINNED`); generated Macs are not
    listed, so a rule may find more failures than the cases name. A case with `config`
    holds only when the audit runs with that configuration; one with `generate` only for a
    tenant generated with those keyword arguments.
    """
    placed = devices[devices["_key"].notna()].set_index("_key")
    handles = {
        key: {"device_id": placed.loc[key, "id"], "device_name": placed.loc[key, "deviceName"]}
        for key in placed.index
    }
    vm_config = {
        "approved_vm_name_patterns": [VM_NAME_PATTERN],
        "approved_vm_serials": [placed.loc["vm-approved", "serialNumber"]],
    }
    rules: dict[str, list[Json]] = {}
    for spec in PINNED:
        for rule_id, status in spec.expect.items():
            config = vm_config if rule_id == "MAC-VM-001" else None
            rules.setdefault(rule_id, []).append(
                _case(
                    status,
                    {"entity": "device", "key": spec.key, **handles[spec.key]},
                    config=config,
                )
            )

    dem_counts = devices.loc[
        devices["deviceEnrollmentType"] == "deviceEnrollmentManager", "enrolledByUserPrincipalName"
    ]
    counts = dem_counts.value_counts()
    warn_at = {"params": {"MAC-DEM-001": {"warn_at": int(counts[DEM_LABS])}}}
    rules["MAC-DEM-001"] = [
        _case(
            "fail",
            {"entity": "dem_account", "dem_upn": DEM_LABS, "device_count": int(counts[DEM_LABS])},
            config=warn_at,
        ),
        _case(
            "pass",
            {
                "entity": "dem_account",
                "dem_upn": DEM_EVENTS,
                "device_count": int(counts[DEM_EVENTS]),
            },
            config=warn_at,
        ),
        _case(
            "pass",
            {"entity": "dem_account", "dem_upn": DEM_LABS, "device_count": int(counts[DEM_LABS])},
        ),
    ]

    tenant = {"entity": "tenant", "tenant_id": tenant_id}
    rules["MAC-TEN-001"] = [
        _case("pass", tenant),
        _case("fail", tenant, generate={"apns_valid_days": -3}),
    ]
    rules["MAC-TEN-002"] = [
        _case("fail", tenant),
        _case("pass", tenant, generate={"apns_valid_days": 212}),
        # an expired certificate is MAC-TEN-001's failure only
        _case("not_applicable", tenant, generate={"apns_valid_days": -3}),
    ]
    rules["MAC-TEN-006"] = [
        _case("pass", tenant, config={"personal_macs_allowed": True}),
        _case("fail", tenant, config={"personal_macs_allowed": False}),
    ]
    healthy, expiring, lapsed = (
        {"entity": "ade_token", "token_id": t["id"], "token_name": t["tokenName"]}
        for t in tokens["value"]
    )
    rules["MAC-TEN-003"] = [_case("pass", healthy), _case("pass", expiring), _case("fail", lapsed)]
    rules["MAC-TEN-004"] = [  # an expired token is MAC-TEN-003's failure only
        _case("pass", healthy),
        _case("fail", expiring),
        _case("not_applicable", lapsed),
    ]
    rules["MAC-TEN-005"] = [_case("pass", healthy), _case("pass", expiring), _case("fail", lapsed)]
    rules |= _population_cases(placed, tenant, population)

    return {
        "about": (
            "Intended outcomes of the sample tenant, per rule id. Device cases name the Macs "
            "placed on purpose (generated Macs may add more failures). 'config' = the outcome "
            "needs that auditor configuration; 'generate' = needs a tenant generated with those "
            "arguments. Assumes the bundled release catalogue holds every SOFA release of "
            "macOS 14, 15 and 26 up to the as-of date."
        ),
        "seed": seed,
        "as_of": as_of.isoformat(),
        "apns_expires": apns["expirationDateTime"],
        "ade_token_expiring_in_days": ENGINEERING_TOKEN_DAYS_LEFT,
        "config_for_full_coverage": {**vm_config, **warn_at},
        "devices": handles,
        "rules": {rule_id: rules[rule_id] for rule_id in sorted(rules)},
    }


def _population_cases(placed: pd.DataFrame, tenant: Json, population: Population) -> dict[str, Any]:
    """MAC-ADE-001 per serial, MAC-TEN-007/008 per VPP token, MAC-POL-001/002/003."""
    identities = population.identities

    def serial(value: str) -> Json:
        return {"entity": "ade_identity", "identity_id": value.upper(), "serial_number": value}

    vpp = [
        {"entity": "vpp_token", "vpp_token_id": t["id"], "vpp_token_name": t["organizationName"]}
        for t in population.vpp["value"]
    ]
    macs = [p for p in population.policies["value"] if "macOS" in p["@odata.type"]]
    policy = {
        p["displayName"]: {
            "entity": "compliance_policy", "policy_id": p["id"], "policy_name": p["displayName"]
        }
        for p in macs
    }  # fmt: skip
    return {
        "MAC-ADE-001": [
            _case("pass", serial(str(placed.loc["healthy-ade", "serialNumber"]))),
            _case("pass", serial(str(placed.loc["direct", "serialNumber"]))),
            _case("fail", serial(identities.never_enrolled)),
            _case("not_applicable", serial(identities.recent)),
            _case("not_applicable", serial(identities.deleted)),
        ],
        "MAC-TEN-007": [_case("pass", vpp[0]), _case("pass", vpp[1]), _case("fail", vpp[2])],
        "MAC-TEN-008": [  # the expired token is MAC-TEN-007's failure only
            _case("pass", vpp[0]),
            _case("fail", vpp[1]),
            _case("not_applicable", vpp[2]),
        ],
        "MAC-POL-001": [
            _case("fail", tenant),
            _case("pass", tenant, generate=STRICT_COMPLIANCE),
        ],
        "MAC-POL-002": [
            _case("pass", tenant),
            _case("fail", tenant, generate=STRICT_COMPLIANCE),
        ],
        "MAC-POL-003": [
            _case("pass", policy[FILEVAULT_POLICY]),
            _case("fail", policy[CONTRACTORS_POLICY]),
            _case("fail", policy[LAB_POLICY]),
            _case("not_applicable", policy[DRAFT_POLICY]),
        ],
    }
