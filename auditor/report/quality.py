"""What the data could not tell: normalization notes, unknowns per rule, the fleet's makeup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from auditor.models import Inventory, Problem, QualityNote, SourceGap, Status
from auditor.report.frames import column, equals, major_shares, shares
from auditor.report.model import DataQuality, Distribution, UnknownRow
from auditor.rules.phrases import field_words

PROBLEM_WORDS = {
    Problem.NOT_MACOS.value: "not macOS (left out)",
    Problem.IGNORED_KIND.value: "record kind not used (left out)",
    Problem.AFTER_AS_OF.value: "after the as-of date",
    Problem.UNKNOWN_VALUE.value: "unknown value",
    Problem.ABSENT_FROM_INPUT.value: "absent from an input",
}


def data_quality(
    inventory: Inventory,
    results: pd.DataFrame,
    titles: Mapping[str, str],
    more_notes: Sequence[QualityNote] = (),
) -> DataQuality:
    """The notes (normalization's and `more_notes`); per rule, its unknowns and their reason."""
    notes = tuple(
        sorted((*inventory.quality, *more_notes), key=lambda q: (q.field, q.problem, q.source))
    )
    unknown = results.loc[
        equals(results["status"], Status.UNKNOWN.value), ["rule_id", "detail"]
    ].astype("string")
    rows: list[UnknownRow] = []
    if len(unknown):
        reasons = unknown.fillna({"detail": ""}).value_counts(["rule_id", "detail"], sort=False)
        frame = reasons.rename("n").reset_index().sort_values(["rule_id", "n", "detail"])
        totals = frame.groupby("rule_id", sort=True)["n"].sum()
        top = frame.sort_values(["n", "detail"], ascending=[False, True], kind="stable")
        top = top.drop_duplicates("rule_id").set_index("rule_id")
        top_reason = top["detail"].to_dict()
        top_count = top["n"].to_dict()
        for rule_id, count in totals.items():
            rows.append(
                UnknownRow(
                    rule_id=str(rule_id),
                    title=titles.get(str(rule_id), ""),
                    count=int(count),
                    top_reason=str(top_reason[rule_id]),
                    top_reason_count=int(top_count[rule_id]),
                )
            )
    never = int(column(inventory.devices, "last_sync_at", "datetime64[us, UTC]").isna().sum())
    words = {
        **{n.field: field_words(n.field) for n in notes},
        **{n.problem: PROBLEM_WORDS.get(n.problem, n.problem.replace("_", " ")) for n in notes},
    }
    return DataQuality(
        notes=notes,
        unknowns=tuple(rows),
        never_synced=never,
        words=words,
        note_rows=note_rows(notes),
    )


def note_rows(notes: Sequence[QualityNote]) -> tuple[QualityNote, ...]:
    """One row per field, problem and examples, whichever files the notes are about.

    The same note about many files — the columns each of 100 Graph pages leaves unused — is
    one row: its records added up, its source `first.json and 99 more files`. Every note of
    every file stays in the workbook's Data quality sheet and in findings.json.
    """
    groups: dict[tuple[str, str, tuple[str, ...]], list[QualityNote]] = {}
    for note in notes:
        groups.setdefault((note.field, note.problem, note.examples), []).append(note)
    rows = []
    for (field, problem, examples), members in groups.items():
        sources = list(dict.fromkeys(m.source for m in members))
        if len(sources) < 2 or "" in sources:  # one file, or a note not about a file: as it is
            rows += members
            continue
        more = len(sources) - 1
        source = f"{sources[0]} and {more} more file{'s' if more > 1 else ''}"
        rows.append(QualityNote(field, problem, sum(m.count for m in members), examples, source))
    return tuple(rows)


def ordered_gaps(gaps: list[SourceGap]) -> tuple[SourceGap, ...]:
    """The collection gaps, core ones first, then by part."""
    return tuple(sorted(gaps, key=lambda g: (not g.is_core, g.part)))


def distribution(devices: pd.DataFrame) -> Distribution:
    """Counts of the fleet's OS majors and versions, chips, models, enrollment, ownership."""
    total = len(devices)
    return Distribution(
        os_majors=major_shares(column(devices, "os_major"), total),
        os_versions=shares(column(devices, "os_version"), total),
        chips=shares(column(devices, "chip"), total, top=None),
        models=shares(column(devices, "model"), total),
        enrollment_methods=shares(column(devices, "enrollment_method"), total, top=None),
        ownership=shares(column(devices, "ownership"), total, top=None),
        compliance_states=shares(column(devices, "compliance_state"), total, top=None),
    )
