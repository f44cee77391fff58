"""Point-in-time selection: latest vintage on or before as_of, never a later one."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from aker_core.exceptions import ScoringError
from aker_core.scoring import latest_as_of, parse_as_of

D = dt.date


def _vintages() -> pa.Table:
    return pa.table(
        {
            "msa_id": ["B", "A", "A", "A", "B", "C"],
            "data_vintage": pa.array(
                [D(2023, 6, 30), D(2024, 3, 31), D(2023, 6, 30), D(2024, 9, 30), D(2024, 9, 30), D(2024, 9, 30)],
                pa.date32(),
            ),
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )


def test_latest_vintage_not_after_as_of():
    """Each market gets its latest vintage <= as_of; later vintages are ignored."""
    out = latest_as_of(_vintages(), "2024-06-01")
    assert out.to_pydict() == {
        "msa_id": ["A", "B"],
        "data_vintage": [D(2024, 3, 31), D(2023, 6, 30)],
        "x": [2.0, 1.0],
    }


def test_market_with_only_future_vintages_is_dropped():
    """A market whose data all comes after as_of has no row."""
    assert "C" not in latest_as_of(_vintages(), "2024-06-01").column("msa_id").to_pylist()


def test_vintage_on_as_of_is_included():
    """A vintage dated exactly as_of is used."""
    out = latest_as_of(_vintages(), D(2024, 9, 30))
    assert out.column("x").to_pylist() == [4.0, 5.0, 6.0]


def test_before_everything_is_empty():
    """as_of before every vintage gives an empty table with the same columns."""
    out = latest_as_of(_vintages(), "2020-01")
    assert out.num_rows == 0
    assert out.column_names == ["msa_id", "data_vintage", "x"]


def test_missing_vintage_column_raises():
    """A table without data_vintage is a ScoringError."""
    with pytest.raises(ScoringError, match="data_vintage"):
        latest_as_of(pa.table({"msa_id": ["A"]}), "2024-01-01")


def test_deterministic_regardless_of_input_order():
    """Shuffled input rows give the same output."""
    table = _vintages()
    shuffled = table.take(pa.array([5, 3, 1, 0, 4, 2]))
    assert latest_as_of(table, "2024-06-01").equals(latest_as_of(shuffled, "2024-06-01"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D(2024, 6, 1), D(2024, 6, 1)),
        (dt.datetime(2024, 6, 1, 23, 59), D(2024, 6, 1)),
        ("2024-06-01", D(2024, 6, 1)),
        ("2024-06", D(2024, 6, 1)),
        (" 2024-02-29 ", D(2024, 2, 29)),
    ],
)
def test_parse_as_of_accepts(value, expected):
    """Dates, datetimes, 'YYYY-MM-DD' and 'YYYY-MM' parse to the expected date."""
    assert parse_as_of(value) == expected


@pytest.mark.parametrize("value", ["2024-13", "2023-02-29", "June 2024", "2024/06/01", "", 20240601, None])
def test_parse_as_of_rejects(value):
    """Anything else is a ScoringError naming the value."""
    with pytest.raises(ScoringError, match="as_of") as info:
        parse_as_of(value)
    assert repr(value) in str(info.value)
