import datetime as dt

import pandas as pd

from auditor.engine import RESULT_COLUMNS, EvaluationContext, evaluate
from auditor.models import Entity, Severity, Status
from auditor.refdata.catalogue_file import load_catalogue
from auditor.rules.base import Rule

AS_OF = dt.date(2026, 9, 1)


def make_rule(**overrides) -> Rule:
    fields = {
        "id": "MAC-TST-001",
        "title": "Test rule passes",
        "problem": "Test rule fails",
        "severity": Severity.MEDIUM,
        "entity": Entity.DEVICE,
        "requires": ("os_version_key", "is_supervised"),
        "rationale": "Because.",
        "remediation": "Do it.",
        "scope": lambda f, ctx: f["os_version_key"] >= 11_000_000,
        "check": lambda f, ctx: f["is_supervised"],
        "detail": lambda f, ctx: pd.Series("not supervised", index=f.index),
        "params": {"limit": 3},
    }
    return Rule(**{**fields, **overrides})


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "device_id": pd.array(["pass", "fail", "old-os", "no-os", "no-supervision"], "string"),
            "os_version_key": pd.array(
                [14_000_000, 15_000_000, 10_015_007, None, 26_000_000], "Int64"
            ),
            "is_supervised": pd.array([True, False, False, True, None], "boolean"),
        }
    )


def run(rule: Rule, data: pd.DataFrame, params=None) -> dict[str, str]:
    ctx = EvaluationContext(AS_OF, load_catalogue(), params or {})
    results = evaluate([rule], {"devices": data}, ctx)
    return dict(zip(results["entity_id"].astype(str), results["status"].astype(str), strict=True))


def test_scope_missing_inputs_and_verdicts_map_to_statuses():
    assert run(make_rule(), frame()) == {
        "pass": "pass",
        "fail": "fail",
        "old-os": "not_applicable",
        "no-os": "unknown",
        "no-supervision": "unknown",
    }


def test_details_explain_failures_and_name_missing_inputs():
    ctx = EvaluationContext(AS_OF, load_catalogue(), {})
    results = evaluate([make_rule()], {"devices": frame()}, ctx).set_index("entity_id")
    assert results.loc["fail", "detail"] == "not supervised"
    assert results.loc["no-os", "detail"] == (
        "cannot tell whether the rule applies: macOS version not reported"
    )
    assert results.loc["no-supervision", "detail"] == "supervision not reported"
    assert pd.isna(results.loc["pass", "detail"])


def test_a_column_the_source_never_collected_makes_every_row_unknown():
    data = frame().drop(columns="is_supervised")
    statuses = run(make_rule(), data)
    assert set(statuses.values()) == {Status.UNKNOWN.value}


def test_nullable_inputs_reach_the_check_and_na_answers_are_unknown():
    rule = make_rule(
        nullable=("is_supervised",),
        check=lambda f, ctx: f["is_supervised"] | (f["os_version_key"] >= 26_000_000),
    )
    assert run(rule, frame())["no-supervision"] == "pass"


def test_configured_params_overlay_defaults():
    seen = {}

    def check(f, ctx):
        seen.update(ctx.params)
        return f["is_supervised"]

    run(make_rule(check=check), frame(), {"MAC-TST-001": {"limit": 9}})
    assert seen == {"limit": 9}


def test_same_inputs_give_identical_results():
    ctx = EvaluationContext(AS_OF, load_catalogue(), {})
    first = evaluate([make_rule()], {"devices": frame()}, ctx)
    second = evaluate([make_rule()], {"devices": frame()}, ctx)
    pd.testing.assert_frame_equal(first, second)


def test_undecided_rows_name_the_values_the_check_saw():
    rule = make_rule(
        nullable=("is_supervised",),
        check=lambda f, ctx: f["is_supervised"],
    )
    ctx = EvaluationContext(AS_OF, load_catalogue(), {})
    results = evaluate([rule], {"devices": frame()}, ctx).set_index("entity_id")
    assert results.loc["no-supervision", "status"] == "unknown"
    assert results.loc["no-supervision", "detail"] == (
        "could not decide from macOS version 26.0.0; supervision not reported"
    )


def test_a_check_in_after_the_as_of_date_is_unknown_never_a_pass():
    from auditor.rules import rule_by_id

    stale = [rule_by_id("MAC-SYN-001"), rule_by_id("MAC-SYN-002")]
    data = pd.DataFrame({
        "device_id": pd.array(["synced-yesterday", "synced-in-9999", "synced-tomorrow"],
                              dtype="string"),
        "last_sync_at": pd.Series(pd.to_datetime(["2026-08-31", "9999-12-31", "2026-09-02"],
                                                 utc=True)).astype("datetime64[us, UTC]"),
    })  # fmt: skip
    ctx = EvaluationContext(AS_OF, load_catalogue(), {})
    results = evaluate(stale, {"devices": data}, ctx)
    by_id = results.groupby("entity_id", observed=True)["status"].agg(lambda s: set(s.astype(str)))
    assert by_id.to_dict() == {
        "synced-yesterday": {"pass"},
        "synced-in-9999": {"unknown"},
        "synced-tomorrow": {"unknown"},
    }
    details = set(results.loc[results["entity_id"] == "synced-in-9999", "detail"])
    assert details == {"last check-in 9999-12-31 is after the as-of date 2026-09-01"}


def test_no_rule_gives_an_empty_frame_of_the_usual_dtypes():
    from auditor.models import SEVERITIES, STATUSES

    empty = evaluate([], {}, EvaluationContext(dt.date(2026, 9, 1), load_catalogue(), {}))
    assert list(empty.columns) == list(RESULT_COLUMNS)
    assert (empty["status"].dtype, empty["severity"].dtype) == (STATUSES, SEVERITIES)


def test_every_field_a_rule_reads_has_words_for_reasons():
    """Unknown reasons name fields in words ('bootstrap token'), never as column names."""
    from auditor.rules import ALL_RULES
    from auditor.rules.phrases import FIELD_WORDS

    read = {column for rule in ALL_RULES for column in rule.requires}
    assert sorted(read - set(FIELD_WORDS)) == []
