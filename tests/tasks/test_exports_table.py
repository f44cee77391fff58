"""The export table, its formats, stable names and data dictionary (pure; no database)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from aker_core.exceptions import ScoringError
from aker_tasks.exports.dictionary import data_dictionary, metric_rows, render_markdown
from aker_tasks.exports.formats import TABLE_FORMATS, write_export
from aker_tasks.exports.stable import stable_path, variant_name
from aker_tasks.exports.table import EXPORT_SCHEMA, competition_rank, export_table, weights_text

AS_OF = dt.date(2024, 6, 1)
WEIGHTS = {"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2}
README = Path(__file__).resolve().parents[2] / "README.md"


def _composite(scores: dict[str, float | None]) -> pa.Table:
    """A composite as ComposeScores writes it, for markets -> weighted_0_5 (pillars equal to it)."""
    ids = sorted(scores)
    weighted = [scores[m] for m in ids]
    vintage = dt.date(2024, 3, 31)
    return pa.table(
        {
            "msa_id": ids,
            "name": [f"Market {m}" if m != "99999" else None for m in ids],
            **{f"{p}_0_5": weighted for p in ("supply", "jobs", "urban", "outdoor")},
            "weighted_0_5": weighted,
            "weighted_0_100": [None if w is None else 20 * w for w in weighted],
            "missing_pillars": [None if w is not None else "jobs,urban" for w in weighted],
            **{f"{p}_vintage": pa.array([vintage] * len(ids), pa.date32()) for p in ("supply", "jobs", "urban")},
            "outdoor_vintage": pa.array([None] * len(ids), pa.date32()),
        }
    )


def _rows(table: pa.Table) -> dict[str, dict[str, object]]:
    return {r["msa_id"]: r for r in table.to_pylist()}


def test_competition_rank_shares_ties_and_skips() -> None:
    """Equal composites share a rank and the next rank skips (1, 2, 2, 4); null stays unranked."""
    ranks = competition_rank(pa.array([3.0, 2.0, None, 2.0, 1.0]))
    assert ranks.type == pa.int32()
    assert ranks.to_pylist() == [1, 2, None, 2, 4]


def test_export_table_has_the_contract_schema_and_order() -> None:
    """Columns and types are EXPORT_SCHEMA; rows by rank then msa_id, unranked markets last."""
    table = export_table(
        _composite({"30": 2.0, "10": 4.0, "20": 2.0, "40": None}), as_of=AS_OF, weights=WEIGHTS, run_id="run-1"
    )
    assert table.schema == EXPORT_SCHEMA
    assert table.column_names == [
        "as_of", "msa_id", "name", "rank", "rank_change",
        "supply_0_5", "jobs_0_5", "urban_0_5", "outdoor_0_5", "weighted_0_5", "weighted_0_100",
        "missing_pillars", "supply_vintage", "jobs_vintage", "urban_vintage", "outdoor_vintage",
        "weights", "run_id",
    ]  # fmt: skip
    assert table["msa_id"].to_pylist() == ["10", "20", "30", "40"]
    assert table["rank"].to_pylist() == [1, 2, 2, None]
    assert table["missing_pillars"].to_pylist() == ["", "", "", "jobs;urban"]
    assert set(table["weights"].to_pylist()) == {"supply=0.3;jobs=0.3;urban=0.2;outdoor=0.2"}
    assert set(table["run_id"].to_pylist()) == {"run-1"}
    assert set(table["as_of"].to_pylist()) == {AS_OF}
    assert table["outdoor_vintage"].null_count == 4


def test_rank_change_against_previous_ranks() -> None:
    """rank_change = previous rank - rank; null for a new market, one unranked now, or no previous."""
    previous = pa.table({"msa_id": ["10", "20", "30", "50"], "rank": pa.array([3, 1, 2, 4], pa.int32())})
    current = _composite({"10": 4.0, "20": 3.0, "30": None, "60": 1.0})
    rows = _rows(export_table(current, as_of=AS_OF, weights=WEIGHTS, run_id="r", previous_ranks=previous))
    assert rows["10"]["rank_change"] == 3 - 1  # moved up two places
    assert rows["20"]["rank_change"] == 1 - 2  # moved down one
    assert rows["30"]["rank_change"] is None  # no composite now
    assert rows["60"]["rank_change"] is None  # new market
    assert "50" not in rows  # a dropped market is not exported
    first = export_table(current, as_of=AS_OF, weights=WEIGHTS, run_id="r", previous_ranks=None)
    assert first["rank_change"].null_count == first.num_rows


def test_export_table_names_a_missing_composite_column() -> None:
    """A composite without the vintage columns (an old target) is refused with the columns named."""
    with pytest.raises(ScoringError, match="supply_vintage"):
        export_table(_composite({"10": 1.0}).drop_columns(["supply_vintage"]), as_of=AS_OF, weights=WEIGHTS, run_id="r")


def test_weights_text_is_exact() -> None:
    """Weights are written in shortest exact decimals, in pillar order."""
    third = 1 / 3
    assert weights_text({"outdoor": 0.0, "urban": third, "jobs": third, "supply": third}) == (
        f"supply={third!r};jobs={third!r};urban={third!r};outdoor=0.0"
    )


def _write_all(table: pa.Table, tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for fmt in TABLE_FORMATS:
        paths[fmt] = tmp_path / f"scores.{fmt}"
        write_export(table, fmt, str(paths[fmt]))
    return paths


def test_csv_rounds_scores_and_other_formats_keep_full_precision(tmp_path: Path) -> None:
    """CSV: 3 decimals on 0-5, 1 on 0-100; parquet and jsonl keep every bit."""
    table = export_table(_composite({"10": 2.123456789, "20": 1.0}), as_of=AS_OF, weights=WEIGHTS, run_id="r")
    paths = _write_all(table, tmp_path)
    text = paths["csv"].read_text()
    assert ",2.123,2.123,2.123,2.123,2.123,42.5," in text
    assert "2.1234" not in text
    assert pq.read_table(paths["parquet"])["weighted_0_5"][0].as_py() == 2.123456789
    first = orjson.loads(paths["jsonl"].read_bytes().splitlines()[0])
    assert first["weighted_0_100"] == 20 * 2.123456789


def test_every_format_holds_the_same_rows_and_columns(tmp_path: Path) -> None:
    """CSV, parquet and JSON lines give the same columns and rows (CSV with rounded scores)."""
    table = export_table(
        _composite({"10": 4.0, "20": 2.5, "30": None, "99999": 2.5}), as_of=AS_OF, weights=WEIGHTS, run_id="r"
    )
    paths = _write_all(table, tmp_path)
    from_parquet = pq.read_table(paths["parquet"])
    assert from_parquet.equals(table)
    lines = [orjson.loads(line) for line in paths["jsonl"].read_bytes().splitlines()]
    assert [list(line) for line in lines] == [table.column_names] * table.num_rows
    assert [line["msa_id"] for line in lines] == table["msa_id"].to_pylist()
    assert lines[0]["as_of"] == "2024-06-01" and lines[-1]["rank"] is None and lines[-1]["rank_change"] is None
    types = {f.name: f.type for f in EXPORT_SCHEMA}
    # An empty field is null, a quoted "" an empty string: as Arrow writes them.
    options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False)
    from_csv = pacsv.read_csv(paths["csv"], convert_options=options)
    assert from_csv.schema.names == table.column_names
    assert from_csv.cast(pa.schema([f.with_nullable(True) for f in EXPORT_SCHEMA])).equals(
        table.cast(pa.schema([f.with_nullable(True) for f in EXPORT_SCHEMA]))
    )
    assert from_csv["name"].to_pylist()[2] is None  # 99999 has no name: an empty field


def test_stable_path_names_default_and_variant_weights(tmp_path: Path) -> None:
    """Default weights give scores.<ext>; others a readable variant; inexact percentages add a hash."""
    default = WEIGHTS
    assert stable_path(tmp_path, AS_OF, WEIGHTS, default, "csv") == tmp_path / "2024-06-01" / "scores.csv"
    other = {"supply": 0.4, "jobs": 0.3, "urban": 0.2, "outdoor": 0.1}
    assert stable_path(tmp_path, AS_OF, other, default, "parquet").name == (
        "scores.supply-40_jobs-30_urban-20_outdoor-10.parquet"
    )
    thirds = {"supply": 1 / 3, "jobs": 1 / 3, "urban": 1 / 3, "outdoor": 0.0}
    name = variant_name(thirds)
    assert re.fullmatch(r"supply-33\.33_jobs-33\.33_urban-33\.33_outdoor-0_[0-9a-f]{8}", name)
    near = {"supply": 0.3333, "jobs": 0.3333, "urban": 0.3334, "outdoor": 0.0}
    assert variant_name(near) != name


def test_dictionary_covers_every_export_column_and_rule() -> None:
    """The data dictionary names exactly the export columns, in order, and every scoring rule."""
    from aker_core.scoring.rules import RULES

    assert [c.name for c in data_dictionary()] == EXPORT_SCHEMA.names
    assert [c.type for c in data_dictionary()] == [
        {"date32[day]": "date32", "double": "float64"}.get(str(f.type), str(f.type)) for f in EXPORT_SCHEMA
    ]
    assert sorted(m["metric"] for m in metric_rows()) == sorted(r.metric for r in RULES)
    jobs = next(c for c in data_dictionary() if c.name == "jobs_0_5")
    assert "unemployment_rate (lower is better: 1 at or below 2.5, 0 at or above 8)" in jobs.source


def test_readme_dictionary_is_current() -> None:
    """README's Exports section holds the generated dictionary (regenerate: aker export --describe --markdown)."""
    text = README.read_text()
    match = re.search(r"<!-- export-dictionary:start -->\n(.*?)\n<!-- export-dictionary:end -->", text, re.S)
    assert match, "README.md lacks the export-dictionary markers"
    assert match.group(1).strip() == render_markdown().strip(), (
        "README.md's export dictionary is out of date: paste `aker export --describe --markdown` between the markers"
    )
