"""Composite arithmetic and weight rules: hand-computed examples, errors, dates, determinism."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from aker_core.config import Weights, reset_settings
from aker_core.config.weights import normalise_weights
from aker_core.exceptions import ScoringError
from aker_core.scoring import compose, join_pillars
from tests.determinism import table_from_fresh_process


def _pillars(rows: dict[str, tuple[float | None, ...]]) -> pa.Table:
    ids = list(rows)
    cols = list(zip(*rows.values(), strict=True))
    return pa.table(
        {
            "msa_id": pa.array(ids, pa.string()),
            **{
                f"{p}_0_5": pa.array(c, pa.float64())
                for p, c in zip(("supply", "jobs", "urban", "outdoor"), cols, strict=True)
            },
        }
    )


def test_default_weights_hand_computed():
    """Default weights 0.3/0.3/0.2/0.2: 0.3*4 + 0.3*2 + 0.2*3 + 0.2*1 = 2.6 -> 52."""
    out = compose(_pillars({"A": (4.0, 2.0, 3.0, 1.0)})).to_pylist()[0]
    assert out["weighted_0_5"] == pytest.approx(2.6, abs=1e-12)
    assert out["weighted_0_100"] == pytest.approx(52.0, abs=1e-10)
    assert out["missing_pillars"] is None


def test_override_weights_are_normalised():
    """Weights 1/1/1/1 become 0.25 each: mean of 4, 2, 3, 1 = 2.5 -> 50."""
    out = compose(_pillars({"A": (4.0, 2.0, 3.0, 1.0)}), {"supply": 1, "jobs": 1, "urban": 1, "outdoor": 1})
    assert out.column("weighted_0_5")[0].as_py() == pytest.approx(2.5)
    assert out.column("weighted_0_100")[0].as_py() == pytest.approx(50.0)


def test_zero_weight_pillar_still_required():
    """A pillar with weight 0 must still be present for a composite (completeness rule)."""
    weights = {"supply": 1.0, "jobs": 0.0, "urban": 0.0, "outdoor": 0.0}
    out = compose(_pillars({"A": (4.0, None, 3.0, 1.0), "B": (4.0, 0.0, 3.0, 1.0)}), weights).to_pylist()
    assert out[0]["weighted_0_5"] is None
    assert out[1]["weighted_0_5"] == 4.0


def test_weights_instance_accepted():
    """A Weights instance is used as given (normalised)."""
    out = compose(_pillars({"A": (5.0, 0.0, 0.0, 0.0)}), Weights(supply=2, jobs=2, urban=0, outdoor=0))
    assert out.column("weighted_0_100")[0].as_py() == pytest.approx(50.0)


def test_settings_weights_used_by_default(monkeypatch):
    """Without an override the AKER_WEIGHTS__* settings apply."""
    monkeypatch.setenv("AKER_WEIGHTS__SUPPLY", "1")
    monkeypatch.setenv("AKER_WEIGHTS__JOBS", "0")
    monkeypatch.setenv("AKER_WEIGHTS__URBAN", "0")
    monkeypatch.setenv("AKER_WEIGHTS__OUTDOOR", "0")
    reset_settings()
    assert normalise_weights() == {"supply": 1.0, "jobs": 0.0, "urban": 0.0, "outdoor": 0.0}


def test_missing_pillars_listed_in_canonical_order():
    """Incomplete markets get a null composite and the missing pillars, comma-separated."""
    out = compose(_pillars({"A": (None, 1.0, None, 2.0), "B": (1.0, 1.0, 1.0, None)})).to_pylist()
    assert [r["missing_pillars"] for r in out] == ["supply,urban", "outdoor"]
    assert [r["weighted_0_5"] for r in out] == [None, None]
    assert [r["weighted_0_100"] for r in out] == [None, None]


def test_incomplete_market_does_not_stop_batch():
    """Other markets still get their composite when one is incomplete."""
    out = compose(_pillars({"A": (None, None, None, None), "B": (5.0, 5.0, 5.0, 5.0)})).to_pylist()
    assert out[0]["missing_pillars"] == "supply,jobs,urban,outdoor"
    assert out[1]["weighted_0_100"] == pytest.approx(100.0)


def test_nan_pillar_counts_as_missing():
    """A NaN pillar value is missing, like null."""
    out = compose(_pillars({"A": (math.nan, 1.0, 1.0, 1.0)})).to_pylist()[0]
    assert out["missing_pillars"] == "supply"
    assert out["supply_0_5"] is None


def test_output_schema_and_order():
    """Output columns and types are fixed and rows are sorted by msa_id."""
    out = compose(_pillars({"b": (1.0, 1.0, 1.0, 1.0), "a": (2.0, 2.0, 2.0, 2.0)}))
    assert out.schema == pa.schema(
        [("msa_id", pa.string())]
        + [(f"{p}_0_5", pa.float64()) for p in ("supply", "jobs", "urban", "outdoor")]
        + [("weighted_0_5", pa.float64()), ("weighted_0_100", pa.float64()), ("missing_pillars", pa.string())]
    )
    assert out.column("msa_id").to_pylist() == ["a", "b"]


def test_deterministic_across_processes_and_row_order():
    """Another process (other hash seed) and reversed input rows compose to the identical table."""
    code = (
        "from tests.test_market_score_composer import _deterministic_input\n"
        "from aker_core.scoring import compose\n"
        "result = compose(_deterministic_input())"
    )
    here = compose(_deterministic_input())
    assert here.num_rows == 50 and here.column("weighted_0_5").null_count == 5
    assert table_from_fresh_process(code, hash_seed="12345").equals(here)
    reversed_rows = _deterministic_input().take(pa.array(range(49, -1, -1)))
    assert compose(reversed_rows).equals(here)


def _deterministic_input() -> pa.Table:
    # Ids whose string order differs from their numeric order; every 10th market incomplete.
    return _pillars({str(i): (i / 7, i / 11, None if i % 10 == 3 else i / 13, math.sqrt(i) % 5) for i in range(50)})


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"supply": 1, "jobs": 1, "urban": 1, "outdoor": 1, "housing": 1}, "unknown weight key.*housing"),
        ({"supply": 1, "jobs": 1, "urban": 1}, "missing weight key.*outdoor"),
        ({"supply": -1, "jobs": 1, "urban": 1, "outdoor": 1}, "supply.*greater than or equal to 0"),
        ({"supply": math.inf, "jobs": 1, "urban": 1, "outdoor": 1}, "supply.*finite"),
        ({"supply": math.nan, "jobs": 1, "urban": 1, "outdoor": 1}, "supply.*finite"),
        ({"supply": 0, "jobs": 0, "urban": 0, "outdoor": 0}, "all are 0"),
        ({"supply": "1", "jobs": 1, "urban": 1, "outdoor": 1}, "supply.*number"),
        ([0.25, 0.25, 0.25, 0.25], "mapping"),
    ],
)
def test_invalid_weights_raise(weights, message):
    """Bad weights raise ScoringError with a message saying what is wrong."""
    with pytest.raises(ScoringError, match=message):
        normalise_weights(weights)


def test_pydantic_error_is_chained():
    """The ScoringError keeps pydantic's ValidationError as its cause."""
    with pytest.raises(ScoringError) as info:
        normalise_weights({"supply": -1, "jobs": 1, "urban": 1, "outdoor": 1})
    assert type(info.value.__cause__).__name__ == "ValidationError"


def test_normalised_weights_sum_to_one():
    """Normalised weights keep ratios and sum to 1."""
    w = normalise_weights({"supply": 3, "jobs": 3, "urban": 2, "outdoor": 2})
    assert w == pytest.approx({"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2})
    assert math.fsum(w.values()) == pytest.approx(1.0)


def test_compose_missing_column_raises():
    """A pillar table without outdoor_0_5 is a ScoringError naming it."""
    with pytest.raises(ScoringError, match="outdoor_0_5"):
        compose(_pillars({"A": (1.0, 1.0, 1.0, 1.0)}).drop_columns(["outdoor_0_5"]))


def test_join_pillars_outer_join():
    """join_pillars outer-joins on msa_id, nulls where a pillar lacks a market, sorted."""
    supply = pa.table({"msa_id": ["b", "a"], "supply_0_5": [1.0, 2.0]})
    jobs = pa.table({"msa_id": ["c", "a"], "jobs_0_5": [3.0, 4.0]})
    out = join_pillars([supply, jobs])
    assert out.to_pydict() == {
        "msa_id": ["a", "b", "c"],
        "supply_0_5": [2.0, 1.0, None],
        "jobs_0_5": [4.0, None, 3.0],
        "urban_0_5": [None, None, None],
        "outdoor_0_5": [None, None, None],
    }


def test_join_pillars_same_ids_fast_path():
    """Tables sharing one unsorted msa_id column are aligned and sorted together."""
    ids = ["b", "a"]
    parts = [pa.table({"msa_id": ids, f"{p}_0_5": [1.0, 2.0]}) for p in ("supply", "jobs", "urban", "outdoor")]
    out = join_pillars(parts)
    assert out.column("msa_id").to_pylist() == ["a", "b"]
    assert out.column("urban_0_5").to_pylist() == [2.0, 1.0]


def test_join_pillars_rejects_duplicates():
    """A pillar given twice is a ScoringError."""
    part = pa.table({"msa_id": ["a"], "supply_0_5": [1.0]})
    with pytest.raises(ScoringError, match="twice"):
        join_pillars([part, part])


def test_end_to_end_hand_market():
    """The hand-scored market: 0.3*3 + 0.3*2.25 + 0.2*2.25 + 0.2*8/3 = 2.558333 -> 51.1667."""
    from aker_core.scoring import METRICS_BY_PILLAR, score_pillar
    from tests.core.scoring.handmarket import BY_PILLAR

    parts = []
    for pillar, values in BY_PILLAR.items():
        table = pa.table({"msa_id": ["A"], **{m: [values[m]] for m in METRICS_BY_PILLAR[pillar]}})
        parts.append(score_pillar(pillar, table))
    out = compose(join_pillars(parts)).to_pylist()[0]
    expected = 0.3 * 3.0 + 0.3 * 2.25 + 0.2 * 2.25 + 0.2 * 8.0 / 3.0
    assert out["weighted_0_5"] == pytest.approx(expected, abs=1e-12)
    assert out["weighted_0_100"] == pytest.approx(20 * expected, abs=1e-10)


@pytest.mark.parametrize("value", ["2024-06-31", "yesterday", 2024])
def test_bad_as_of_names_value(value):
    """parse_as_of rejects a bad date with a ScoringError naming the value."""
    from aker_core.scoring import parse_as_of

    with pytest.raises(ScoringError, match=repr(value).replace("(", r"\(")):
        parse_as_of(value)
