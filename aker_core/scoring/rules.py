"""The scoring rules: one declarative table mapping every source metric to a 0-1 fraction.

Each metric is one of three kinds:

* ``lower`` (lower is better) with ``(best, worst)``: 1 at or below ``best``, 0 at or above
  ``worst``, linear in between;
* ``higher`` (higher is better) with ``(baseline, ceiling)``: 0 at or below ``baseline``, 1 at or
  above ``ceiling``, linear in between;
* ``flag``: true -> 1, false -> 0.

A pillar's 0-5 score is 5 x the mean of the fractions of its *present* metrics; see
:mod:`aker_core.scoring.pillars`. This module is data only so that a change of a threshold shows
up as a one-line diff here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aker_core.config import PILLARS

__all__ = [
    "FLAG_COLUMNS",
    "METRICS_BY_PILLAR",
    "METRIC_COLUMNS",
    "PILLARS",
    "PILLAR_TABLES",
    "RULES",
    "TABLE_PILLARS",
    "MetricRule",
]

RuleKind = Literal["lower", "higher", "flag"]


@dataclass(frozen=True, slots=True)
class MetricRule:
    """How one metric becomes a 0-1 fraction.

    Attributes:
        pillar: the pillar the metric feeds.
        metric: the source column name.
        kind: ``lower``, ``higher`` or ``flag``.
        low: ``best`` for ``lower``, ``baseline`` for ``higher``; unused for ``flag``.
        high: ``worst`` for ``lower``, ``ceiling`` for ``higher``; unused for ``flag``.
    """

    pillar: str
    metric: str
    kind: RuleKind
    low: float = 0.0
    high: float = 1.0


def _lower(pillar: str, metric: str, best: float, worst: float) -> MetricRule:
    return MetricRule(pillar, metric, "lower", best, worst)


def _higher(pillar: str, metric: str, baseline: float, ceiling: float) -> MetricRule:
    return MetricRule(pillar, metric, "higher", baseline, ceiling)


def _flag(pillar: str, metric: str) -> MetricRule:
    return MetricRule(pillar, metric, "flag")


#: Pillar -> source table holding its metrics.
PILLAR_TABLES: dict[str, str] = {
    "supply": "market_supply",
    "jobs": "market_jobs",
    "urban": "market_urban",
    "outdoor": "market_outdoors",
}

#: Source table -> pillar (inverse of :data:`PILLAR_TABLES`).
TABLE_PILLARS: dict[str, str] = {table: pillar for pillar, table in PILLAR_TABLES.items()}

#: THE scoring table. Order matters only for summation order, which is kept fixed for determinism.
RULES: tuple[MetricRule, ...] = (
    # --- supply (market_supply): constrained supply scores high ---
    _lower("supply", "permit_per_1k", 1.5, 10),
    _lower("supply", "vacancy_rate", 3, 12),
    _lower("supply", "tom_days", 20, 90),
    _lower("supply", "slope_pct", 5, 35),
    _lower("supply", "buffer_pct", 5, 40),
    _lower("supply", "parking_idx", 0, 2.5),
    _higher("supply", "height_idx", 1.5, 4),
    # --- jobs (market_jobs) ---
    _lower("jobs", "unemployment_rate", 2.5, 8),
    _higher("jobs", "tech_lq", 1, 2),
    _higher("jobs", "health_lq", 1, 2),
    _higher("jobs", "education_lq", 1, 2),
    _higher("jobs", "manufacturing_lq", 1, 2),
    _higher("jobs", "defense_lq", 1, 2),
    _higher("jobs", "biotech_lq", 1, 2),
    _higher("jobs", "tech_cagr_5yr", 0, 6),
    _higher("jobs", "health_cagr_5yr", 0, 5),
    _higher("jobs", "education_cagr_5yr", 0, 4),
    _higher("jobs", "manufacturing_cagr_5yr", -1, 4),
    _higher("jobs", "total_awards_per_100k", 0, 300),
    _higher("jobs", "bfs_applications_per_100k", 0, 150),
    _higher("jobs", "bfs_high_propensity_per_100k", 0, 120),
    _higher("jobs", "startup_density", 0, 80),
    _higher("jobs", "mig_25_44_per_1k", 0, 25),
    _higher("jobs", "expansions_total_ct", 0, 50),
    _higher("jobs", "expansions_total_jobs", 0, 5000),
    _higher("jobs", "labor_participation_rate", 55, 70),
    # --- urban (market_urban) ---
    _lower("urban", "retail_vac", 4, 18),
    _higher("urban", "walk_15_ct", 10, 60),
    _higher("urban", "bike_15_ct", 10, 60),
    _higher("urban", "k8_ct", 5, 30),
    _higher("urban", "transit_ct", 5, 40),
    _higher("urban", "urgent_ct", 2, 15),
    _higher("urban", "interx_km2", 30, 120),
    _higher("urban", "bikeway_conn_idx", 20, 90),
    _higher("urban", "retail_rent_qoq", 0, 5),
    _higher("urban", "daytime_pop_1mi", 50000, 250000),
    _flag("urban", "lastmile_flag"),
    # --- outdoor (market_outdoors) ---
    _lower("outdoor", "min_trail_min", 15, 120),
    _lower("outdoor", "min_ski_bus_min", 30, 180),
    _lower("outdoor", "min_water_min", 20, 120),
    _lower("outdoor", "park_min", 10, 90),
    _lower("outdoor", "pm25_var", 3, 10),
    _lower("outdoor", "smoke_days", 0, 20),
    _higher("outdoor", "trail_mi_pc", 0.5, 4),
    _higher("outdoor", "public_land_30min_pct", 30, 80),
    _higher("outdoor", "hw_rail_prox_idx", 30, 100),
)

#: Pillar -> its rules, in table order.
RULES_BY_PILLAR: dict[str, tuple[MetricRule, ...]] = {p: tuple(r for r in RULES if r.pillar == p) for p in PILLARS}

#: Pillar -> metric column names, in table order.
METRICS_BY_PILLAR: dict[str, tuple[str, ...]] = {
    p: tuple(r.metric for r in rules) for p, rules in RULES_BY_PILLAR.items()
}

#: Source table -> metric column names (excluding ``msa_id`` and ``data_vintage``).
METRIC_COLUMNS: dict[str, tuple[str, ...]] = {PILLAR_TABLES[p]: m for p, m in METRICS_BY_PILLAR.items()}

#: Source table -> its boolean (flag) columns; every other metric column is float64.
FLAG_COLUMNS: dict[str, tuple[str, ...]] = {
    PILLAR_TABLES[p]: tuple(r.metric for r in rules if r.kind == "flag") for p, rules in RULES_BY_PILLAR.items()
}


def _check_rules() -> None:
    # Guard against typos in the table above: every range must be increasing, names unique.
    seen: set[str] = set()
    for r in RULES:
        if r.metric in seen:
            raise AssertionError(f"duplicate scoring rule for {r.metric}")
        seen.add(r.metric)
        if r.kind != "flag" and not r.low < r.high:
            raise AssertionError(f"rule {r.metric}: low {r.low} must be below high {r.high}")


_check_rules()
