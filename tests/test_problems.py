"""Data-quality notes speak one vocabulary (models.Problem), as findings.json publishes it."""

import datetime as dt
from pathlib import Path

from auditor.config import Config
from auditor.models import Problem
from auditor.pipeline import RunOptions, run_audit, tenant_files

REPO = Path(__file__).resolve().parents[1]


def test_every_quality_note_of_the_sample_and_the_fixtures_names_a_problem(tmp_path):
    inputs = {
        "sample": tenant_files(REPO / "sample_data"),
        "fixtures": sorted((REPO / "tests" / "fixtures" / "files").iterdir()),
    }
    seen: set[str] = set()
    for name, paths in inputs.items():
        config = Config(source="files", inputs=tuple(paths), out_dir=tmp_path / name,
                        formats=("json",))  # fmt: skip
        options = RunOptions(dt.date(2026, 9, 1), dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
        notes = run_audit(config, options).report.quality.notes
        assert notes, name
        seen |= {n.problem for n in notes}
    assert seen <= set(Problem), seen - set(Problem)
