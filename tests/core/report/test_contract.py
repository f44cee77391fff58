"""The scores table the scorecard accepts: the export's columns, one as_of/run/weights, unique markets."""

from __future__ import annotations

import pyarrow as pa
import pytest

from aker_core.report.contract import ReportError, check_scores, parse_weights


def test_sample_scores_pass_and_keep_their_numbers(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """A table in the contract checks clean; the numeric view holds its as_of, weights, ranks and nulls."""
    scores, _ = sample_scores
    checked = check_scores(scores)
    assert checked.as_of.isoformat() == "2024-06-01"
    assert checked.weights == pytest.approx({"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2})
    assert checked.count == scores.num_rows
    assert list(checked.rank) == [r or 0 for r in scores.column("rank").to_pylist()]
    assert list(checked.has_change) == [c is not None for c in scores.column("rank_change").to_pylist()]


def test_missing_column_is_named(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """A table without a contract column fails naming it."""
    scores, _ = sample_scores
    with pytest.raises(ReportError, match="lacks column\\(s\\) jobs_vintage"):
        check_scores(scores.drop_columns(["jobs_vintage"]))


def test_mistyped_column_is_named(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """A text rank fails naming the column and the type it has."""
    scores, _ = sample_scores
    bad = scores.set_column(
        scores.column_names.index("rank"), "rank", pa.compute.cast(scores.column("rank"), pa.string())
    )
    with pytest.raises(ReportError, match="'rank' must be integer, got string"):
        check_scores(bad)


def test_two_as_of_dates_are_refused(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """One page shows one as_of: a table mixing two fails naming the column."""
    scores, _ = sample_scores
    days = scores.column("as_of").to_pylist()
    days[0] = days[0].replace(year=2023)
    bad = scores.set_column(0, "as_of", pa.array(days, pa.date32()))
    with pytest.raises(ReportError, match="'as_of' must hold one value"):
        check_scores(bad)


def test_duplicate_market_is_refused(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """A market listed twice fails."""
    scores, _ = sample_scores
    with pytest.raises(ReportError, match="duplicate"):
        check_scores(pa.concat_tables([scores, scores.slice(0, 1)]))


def test_empty_table_is_refused(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """No rows: nothing to report, said so."""
    scores, _ = sample_scores
    with pytest.raises(ReportError, match="no rows"):
        check_scores(scores.slice(0, 0))


def test_weights_text_is_parsed_and_normalised() -> None:
    """The weights column's text gives weights summing to 1; a malformed one fails quoting it."""
    assert parse_weights("supply=3;jobs=3;urban=2;outdoor=2") == pytest.approx(
        {"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2}
    )
    with pytest.raises(ReportError, match=r"'supply=0\.3;jobs=x'"):
        parse_weights("supply=0.3;jobs=x")
