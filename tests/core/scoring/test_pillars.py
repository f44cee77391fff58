"""Pillar scoring: hand-computed values, missing values, flags, clamping and ordering."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from aker_core.exceptions import ScoringError
from aker_core.scoring import METRICS_BY_PILLAR, score_pillar
from tests.core.scoring.handmarket import BY_PILLAR, SCORES
from tests.determinism import table_from_fresh_process


def _table(pillar: str, rows: dict[str, dict[str, object]]) -> pa.Table:
    columns: dict[str, list[object]] = {"msa_id": list(rows)}
    for metric in METRICS_BY_PILLAR[pillar]:
        columns[metric] = [row.get(metric) for row in rows.values()]
    schema = [("msa_id", pa.string())] + [
        (m, pa.bool_() if m == "lastmile_flag" else pa.float64()) for m in METRICS_BY_PILLAR[pillar]
    ]
    return pa.table(columns, schema=pa.schema(schema))


def _score(pillar: str, values: dict[str, object]) -> float | None:
    return score_pillar(pillar, _table(pillar, {"A": values})).column(f"{pillar}_0_5")[0].as_py()


@pytest.mark.parametrize("pillar", ["supply", "jobs", "urban", "outdoor"])
def test_hand_computed_market(pillar):
    """The hand-scored market gets exactly the worked-out pillar score."""
    assert _score(pillar, BY_PILLAR[pillar]) == pytest.approx(SCORES[pillar], abs=1e-12)


def test_output_schema():
    """Output is msa_id (string) and {pillar}_0_5 (float64)."""
    out = score_pillar("supply", _table("supply", {"A": BY_PILLAR["supply"]}))
    assert out.schema == pa.schema([("msa_id", pa.string()), ("supply_0_5", pa.float64())])


def test_nan_and_null_are_skipped_not_zero():
    """A NaN and a null metric are both left out of the mean."""
    only_best = {"permit_per_1k": 0.0, "vacancy_rate": math.nan}
    assert _score("supply", only_best) == pytest.approx(5.0)


def test_no_present_metric_gives_null():
    """A market with every metric missing has a null pillar score."""
    assert _score("outdoor", {"smoke_days": math.nan}) is None


def test_flag_true_and_false():
    """lastmile_flag true counts 1, false counts 0, null is skipped."""
    assert _score("urban", {"lastmile_flag": True}) == 5.0
    assert _score("urban", {"lastmile_flag": False}) == 0.0
    assert _score("urban", {"lastmile_flag": None, "walk_15_ct": 60.0}) == 5.0


def test_lower_is_better_is_clamped():
    """Values beyond best/worst clamp to 1/0 instead of leaving [0, 1]."""
    assert _score("supply", {"vacancy_rate": -50.0}) == 5.0
    assert _score("supply", {"vacancy_rate": 500.0}) == 0.0


def test_higher_is_better_is_clamped():
    """Values beyond baseline/ceiling clamp to 0/1."""
    assert _score("jobs", {"tech_lq": 99.0}) == 5.0
    assert _score("jobs", {"manufacturing_cagr_5yr": -30.0}) == 0.0


def test_infinite_values_clamp():
    """An infinite value clamps like any out-of-range value."""
    assert _score("jobs", {"startup_density": math.inf}) == 5.0


def test_rows_sorted_by_msa_id():
    """Output rows are sorted by msa_id whatever the input order."""
    out = score_pillar("supply", _table("supply", {"b": {}, "a": {}, "c": {}}))
    assert out.column("msa_id").to_pylist() == ["a", "b", "c"]


def test_integer_columns_accepted():
    """Integer metric columns are scored like floats."""
    table = pa.table({"msa_id": ["A"], **{m: pa.array([0], pa.int64()) for m in METRICS_BY_PILLAR["supply"]}})
    assert score_pillar("supply", table).column("supply_0_5")[0].as_py() == pytest.approx(5 * 6 / 7)


def test_unknown_pillar_raises():
    """An unknown pillar name is a ScoringError naming it."""
    with pytest.raises(ScoringError, match="housing"):
        score_pillar("housing", _table("supply", {"A": {}}))


def test_missing_metric_column_raises():
    """A table without one of the pillar's columns is a ScoringError naming the column."""
    table = _table("supply", {"A": {}}).drop_columns(["tom_days"])
    with pytest.raises(ScoringError, match="tom_days"):
        score_pillar("supply", table)


def test_duplicate_msa_id_raises():
    """Two rows for one market (not point-in-time filtered) is a ScoringError."""
    table = pa.concat_tables([_table("supply", {"A": {}}), _table("supply", {"A": {}})])
    with pytest.raises(ScoringError, match="unique"):
        score_pillar("supply", table)


def test_text_metric_column_raises():
    """A string metric column is a ScoringError naming the column."""
    table = _table("supply", {"A": {}})
    table = table.set_column(table.column_names.index("tom_days"), "tom_days", pa.array(["x"]))
    with pytest.raises(ScoringError, match="tom_days"):
        score_pillar("supply", table)


def test_deterministic_across_processes_and_row_order():
    """Another process (other hash seed) and reversed input rows score to the identical table."""
    code = (
        "from tests.core.scoring.test_pillars import _deterministic_input\n"
        "from aker_core.scoring import score_pillar\n"
        "result = score_pillar('jobs', _deterministic_input())"
    )
    here = score_pillar("jobs", _deterministic_input())
    assert here.column("msa_id").to_pylist() == ["A", "B", "C"]
    assert here.column("jobs_0_5")[0].as_py() == pytest.approx(SCORES["jobs"], abs=1e-12)
    assert table_from_fresh_process(code, hash_seed="54321").equals(here)
    assert score_pillar("jobs", _deterministic_input().take(pa.array([2, 1, 0]))).equals(here)


def _deterministic_input() -> pa.Table:
    return _table("jobs", {"A": BY_PILLAR["jobs"], "B": {"tech_lq": 1.3}, "C": {"unemployment_rate": 4.2}})
