"""Every rule: its examples hold, missing data never passes, metadata is complete and documented.

`pytest -k MAC-BST-001` selects one rule's tests.
"""

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from rules.frames import context, frame_from_rows, statuses

from auditor.engine import evaluate_rule
from auditor.models import Param, Status
from auditor.render.catalogue import catalogue_json, catalogue_markdown, catalogue_table
from auditor.rules import ALL_RULES, FAMILIES, rule_by_id
from auditor.rules.base import Rule

REPO = Path(__file__).resolve().parent.parent

SOURCE_KEYS = {  # the research notes' source keys (macos.md)
    *("MS-ENR", "MS-ADE", "MS-DEM", "MS-DIRECT", "MS-RESTR", "MS-APNS", "MS-SUPP"),
    *("MS-NOTICE", "MS-COMPL", "MS-CLEAN", "MS-FV", "MS-PSSO", "MS-LAPS", "MS-RLOCK"),
    *("MS-DDM", "MS-FILTER", "MS-GRAPH", "MS-EXPORT", "AP-TOKEN", "AP-SUPV", "AP-UAMDM"),
    *("AP-DEV", "SOFA", "MSCP"),
}
OURS_ALWAYS = ("ISO/IEC 27001:2022", "SOC 2")  # no published mapping exists for these
OUTCOME_PREFIX = {
    Status.PASS: "pass-",
    Status.FAIL: "fail-",
    Status.UNKNOWN: "unknown-",
    Status.NOT_APPLICABLE: "na-",
}

each_rule = pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)


def _example_groups(rule: Rule) -> Iterator[tuple[Mapping[str, Param], list[Any]]]:
    """Examples sharing parameters run together, as one inventory (duplicates need that)."""
    groups: dict[tuple[tuple[str, Any], ...], list[Any]] = {}
    for example in rule.examples:
        groups.setdefault(tuple(sorted(example.params.items())), []).append(example)
    for params, examples in groups.items():
        yield dict(params), examples


@each_rule
def test_examples_get_their_expected_status(rule: Rule) -> None:
    for params, examples in _example_groups(rule):
        got = statuses(rule, [e.row for e in examples], params=params)
        expected = [e.expect.value for e in examples]
        wrong = [
            f"{e.name}: expected {want}, got {have}"
            for e, want, have in zip(examples, expected, got, strict=True)
            if want != have
        ]
        assert not wrong, "; ".join(wrong)


@each_rule
def test_missing_data_is_never_a_pass(rule: Rule) -> None:
    (status,) = statuses(rule, [{column: None for column in rule.requires}])
    assert status != Status.PASS.value
    if set(rule.nullable) != set(rule.requires):  # a rule about absence may fail on it
        assert status in {Status.UNKNOWN.value, Status.NOT_APPLICABLE.value}


@each_rule
def test_a_column_never_collected_makes_the_rule_unknown(rule: Rule) -> None:
    frame = frame_from_rows([{rule.entity.id_column: "only"}], rule.entity)
    frame = frame.drop(columns=list(rule.requires))
    result = evaluate_rule(rule, frame, pd.Categorical(["only"]), context(rule))
    assert list(result["status"].astype(str)) == [Status.UNKNOWN.value]


@each_rule
def test_examples_cover_every_outcome(rule: Rule) -> None:
    outcomes = {e.expect for e in rule.examples}
    assert {Status.PASS, Status.FAIL} <= outcomes
    if set(rule.nullable) != set(rule.requires):
        assert Status.UNKNOWN in outcomes
    if rule.scope is not None:
        assert Status.NOT_APPLICABLE in outcomes
    for example in rule.examples:
        assert example.name.startswith(OUTCOME_PREFIX[example.expect]), example.name
        assert set(example.row) <= {*rule.requires, rule.entity.id_column, "os_version"}
        assert set(example.params) <= set(rule.params)
    assert len({e.name for e in rule.examples}) == len(rule.examples)


@each_rule
def test_a_title_names_its_parameters_instead_of_their_defaults(rule: Rule) -> None:
    # "within {max_days} days": a configured limit must not leave a stale default in the title
    for name, value in rule.params.items():
        if isinstance(value, int) and not isinstance(value, bool):
            assert not re.search(rf"\b{value}\b", rule.title), f"{name}={value} in the title"
            assert not re.search(rf"\b{value}\b", rule.problem), f"{name}={value} in the problem"


@each_rule
def test_metadata_is_complete(rule: Rule) -> None:
    assert 0 < len(rule.title) <= 100 and not rule.title.endswith(".")
    # the problem a failure means, as page one and "needs attention" state it
    assert 0 < len(rule.problem) <= 100 and not rule.problem.endswith(".")
    assert rule.problem != rule.title
    assert rule.rationale.endswith(".") and rule.remediation.endswith(".")
    assert rule.fails_when and rule.scope_text
    assert rule.references and all(url.startswith("https://") for url in rule.references)
    assert rule.sources and set(rule.sources) <= SOURCE_KEYS
    assert rule.controls and all(rule.controls.values())
    assert set(rule.own_mappings) <= set(rule.controls)
    assert {f for f in OURS_ALWAYS if f in rule.controls} <= set(rule.own_mappings)


class _Recording(dict[str, Param]):
    """Parameters that remember which ones a rule read."""

    def __init__(self, values: Mapping[str, Param]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Param:
        self.read.add(key)
        return super().__getitem__(key)


@each_rule
def test_every_parameter_is_read(rule: Rule) -> None:
    read: set[str] = set()
    for params, examples in _example_groups(rule):
        recording = _Recording({**rule.params, **params})
        ctx = context(rule)
        ctx = type(ctx)(ctx.as_of, recording, ctx.catalogue, rule.id)
        frame = frame_from_rows(
            [{rule.entity.id_column: e.name, **e.row} for e in examples], rule.entity
        )
        evaluate_rule(rule, frame, frame[rule.entity.id_column].astype("category"), ctx)
        read |= recording.read
    assert read == set(rule.params)


def test_catalogue_golden(golden) -> None:
    # Rule ids, titles, severities, entities, groups, parameter defaults and the problem each
    # states are a public contract: a change shows here as a diff to review (`make golden`).
    catalogue = [
        {k: d[k] for k in ("id", "title", "severity", "entity", "groups", "params", "problem")}
        for d in catalogue_json(ALL_RULES)
    ]
    golden("catalogue.json", json.dumps(catalogue, indent=2, ensure_ascii=False) + "\n")


def test_rules_are_found_by_id_and_unknown_ids_raise() -> None:
    assert rule_by_id("MAC-BST-001").title == "Bootstrap token is escrowed to Intune"
    with pytest.raises(KeyError):
        rule_by_id("MAC-XXX-999")


def test_every_family_contributes_rules() -> None:
    for family in FAMILIES:
        assert any(r.check.__module__ == family.__name__ for r in ALL_RULES), family.__name__


def test_docs_rules_md_golden(golden) -> None:
    # docs/rules.md is generated from the catalogue (`make golden` or `make docs` writes it).
    golden("rules.md", catalogue_markdown(ALL_RULES), where=REPO / "docs")


def test_catalogue_json_and_table_list_every_rule() -> None:
    data = catalogue_json(ALL_RULES)
    assert [d["id"] for d in data] == sorted(r.id for r in ALL_RULES)
    vm = next(d for d in data if d["id"] == "MAC-VM-001")
    assert vm["params"] == {"approved_serials": [], "approved_name_patterns": []}
    assert vm["examples"][0]["params"] == {"approved_serials": ["z4k614myr0"]}
    syn = next(d for d in data if d["id"] == "MAC-SYN-001")
    assert syn["examples"][0]["row"]["last_sync_at"] == "2026-08-31T00:00:00+00:00"
    table = catalogue_table(ALL_RULES).splitlines()
    assert table[0].split() == ["ID", "SEVERITY", "ENTITY", "TITLE"]
    assert len(table) == len(ALL_RULES) + 1


ENUMERATED = (
    *("chip", "processor_arch", "ownership", "enrollment_method", "compliance_state"),
    *("os_major", "os_version", "model", "model_identifier", "serial_number", "device_name"),
)


@each_rule
def test_examples_hold_when_text_columns_are_categorical(rule: Rule) -> None:
    # Normalization may hand low-cardinality text as `category` (cheaper at 500k devices).
    for params, examples in _example_groups(rule):
        named = [{rule.entity.id_column: e.name, **e.row} for e in examples]
        frame = frame_from_rows(named, rule.entity)
        for column in ENUMERATED:
            if column in frame.columns:
                frame[column] = frame[column].astype("category")
        ids = pd.Categorical(frame[rule.entity.id_column].fillna("(none)"))
        result = evaluate_rule(rule, frame, ids, context(rule, params=params))
        assert list(result["status"].astype(str)) == [e.expect.value for e in examples]
