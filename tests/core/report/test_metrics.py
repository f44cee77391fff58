"""Per-market detail data: metrics joined per market, fractions from the scoring function, rule anchors."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sqlalchemy.engine import Engine

from aker_core.report.metrics import join_metrics, metric_payload, read_metrics, rule_text
from aker_core.scoring import PILLAR_TABLES, latest_as_of
from aker_core.scoring.pillars import metric_fraction
from aker_core.scoring.rules import RULES, MetricRule
from tests.core.report.conftest import AS_OF


def test_read_metrics_is_the_point_in_time_sources_joined(sample_tables: dict[str, pa.Table]) -> None:
    """read_metrics('sample', D) has one row per market with each table's latest vintage on or before D."""
    metrics = read_metrics("sample", AS_OF)
    expected = join_metrics({t: latest_as_of(sample_tables[t], AS_OF) for t in PILLAR_TABLES.values()})
    assert metrics.equals(expected)
    assert set(metrics.column_names) == {"msa_id", *(r.metric for r in RULES)}
    assert len(set(metrics.column("msa_id").to_pylist())) == metrics.num_rows


def test_fractions_are_the_scoring_functions(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """Every embedded fraction equals metric_fraction of the market's value, in thousandths; -1 = missing."""
    scores, metrics = sample_scores
    payload = metric_payload(scores.column("msa_id"), metrics)
    order = pa.compute.index_in(scores.column("msa_id"), value_set=metrics.column("msa_id"))
    aligned = metrics.take(order)
    for rule in RULES:
        values = np.array([np.nan if v is None else float(v) for v in aligned.column(rule.metric).to_pylist()])
        expected = metric_fraction(rule, values)
        got = np.asarray(payload["fractions"][rule.metric], dtype=float)
        assert np.array_equal(got < 0, np.isnan(expected)), rule.metric
        ok = ~np.isnan(expected)
        assert np.allclose(got[ok] / 1000, expected[ok], atol=5e-4 + 1e-12), rule.metric


def test_a_market_without_metrics_shows_them_missing(sample_scores: tuple[pa.Table, pa.Table]) -> None:
    """A scored market absent from the metrics table gets missing values, not another market's."""
    scores, metrics = sample_scores
    first = scores.column("msa_id")[0].as_py()
    fewer = metrics.filter(pa.compute.not_equal(metrics.column("msa_id"), first))
    payload = metric_payload(scores.column("msa_id"), fewer)
    assert all(payload["fractions"][r.metric][0] == -1 for r in RULES)
    assert all(np.isnan(payload["values"][r.metric][0]) for r in RULES)


def test_values_keep_four_significant_digits() -> None:
    """Raw values are shown to 4 significant digits, so large and small numbers print short and exact."""
    table = pa.table({"msa_id": ["a", "b", "c"], "daytime_pop_1mi": [215_123.9, 12.34567, 0.000123456]})
    values = metric_payload(pa.array(["a", "b", "c"]), table)["values"]["daytime_pop_1mi"]
    assert [repr(float(v)) for v in values] == ["215100.0", "12.35", "0.0001235"]


def test_rule_text_names_the_anchors() -> None:
    """Anchors read in the rules table's own terms for each kind."""
    assert rule_text(MetricRule("supply", "x", "lower", 1.5, 10)) == "best 1.5 \u2192 1, worst 10 \u2192 0"
    assert rule_text(MetricRule("jobs", "y", "higher", 0, 300)) == "baseline 0 \u2192 0, ceiling 300 \u2192 1"
    assert rule_text(MetricRule("urban", "z", "flag")) == "yes \u2192 1, no \u2192 0"


def test_read_metrics_from_the_database_equals_the_files(engine: Engine, db_url: str) -> None:
    """With source_uri 'database' the market_* tables give the same metrics as the sample files."""
    from aker_core.sample import load_source_dir

    with engine.begin() as conn:
        load_source_dir(conn, "sample")
    from_db = read_metrics("database", AS_OF, database_url=db_url)
    assert from_db.equals(read_metrics("sample", AS_OF))
