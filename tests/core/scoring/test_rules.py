"""The declarative rules table agrees with the database models and the spec's shape."""

from __future__ import annotations

from aker_core.scoring import rules
from aker_data.models import SOURCE_MODELS


def test_every_metric_column_exists_in_its_model():
    """Each rule's metric is a column of its pillar's source table model."""
    for table, metrics in rules.METRIC_COLUMNS.items():
        model_columns = set(SOURCE_MODELS[table].__table__.columns.keys())  # type: ignore[attr-defined]
        assert set(metrics) <= model_columns, table


def test_every_model_metric_has_a_rule():
    """No source-table column is left unscored."""
    for table, model in SOURCE_MODELS.items():
        columns = set(model.__table__.columns.keys()) - {"id", "msa_id", "data_vintage"}  # type: ignore[attr-defined]
        assert columns == set(rules.METRIC_COLUMNS[table]), table


def test_pillar_tables_mapping():
    """PILLAR_TABLES maps the four pillars to their source tables."""
    assert rules.PILLAR_TABLES == {
        "supply": "market_supply",
        "jobs": "market_jobs",
        "urban": "market_urban",
        "outdoor": "market_outdoors",
    }


def test_metric_counts_per_pillar():
    """The table holds 7 supply, 19 jobs, 11 urban and 9 outdoor metrics."""
    counts = {p: len(m) for p, m in rules.METRICS_BY_PILLAR.items()}
    assert counts == {"supply": 7, "jobs": 19, "urban": 11, "outdoor": 9}


def test_only_lastmile_is_a_flag():
    """lastmile_flag is the only flag metric."""
    assert [r.metric for r in rules.RULES if r.kind == "flag"] == ["lastmile_flag"]
