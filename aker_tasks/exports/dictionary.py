"""The data dictionary of the exports: every column's meaning, unit and source, in one place.

Generated, not written by hand: the pillar columns list their metrics and anchors from the
scoring rules table (:data:`aker_core.scoring.rules.RULES`), so a changed threshold changes the
dictionary, and :data:`aker_tasks.exports.table.EXPORT_SCHEMA` gives the columns and types (a test
checks that both name the same columns). ``aker export --describe`` prints it (``--json``,
``--markdown``); the README's "Exports" section holds the markdown between marker comments and a
test fails when that copy is out of date (regenerate with ``aker export --describe --markdown``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aker_core.config import PILLARS
from aker_core.scoring.rules import PILLAR_TABLES, RULES_BY_PILLAR, MetricRule

__all__ = ["PILLAR_TITLES", "Column", "data_dictionary", "metric_rows", "render_markdown", "render_text"]

#: What each pillar measures, as the README names it.
PILLAR_TITLES: dict[str, str] = {
    "supply": "supply constraints",
    "jobs": "innovation jobs",
    "urban": "urban convenience",
    "outdoor": "outdoor access",
}

#: Decimals of the CSV copy, as :data:`aker_tasks.exports.table.CSV_DECIMALS` (kept light to import).
_ROUNDING = {"0_5": "CSV: 3 decimals", "0_100": "CSV: 1 decimal"}


@dataclass(frozen=True, slots=True)
class Column:
    """One export column.

    Attributes:
        name: the column name (the same in every format).
        type: its Arrow type (``date32``: ISO ``YYYY-MM-DD`` in CSV and JSON lines).
        unit: unit or value range.
        meaning: what it says.
        source: where it comes from.
    """

    name: str
    type: str
    unit: str
    meaning: str
    source: str


def _rule_text(rule: MetricRule) -> str:
    if rule.kind == "flag":
        return f"{rule.metric} (flag: true 1, false 0)"
    if rule.kind == "lower":
        return f"{rule.metric} (lower is better: 1 at or below {rule.low:g}, 0 at or above {rule.high:g})"
    return f"{rule.metric} (higher is better: 0 at or below {rule.low:g}, 1 at or above {rule.high:g})"


def _pillar_column(pillar: str) -> Column:
    rules = RULES_BY_PILLAR[pillar]
    return Column(
        f"{pillar}_0_5",
        "float64",
        f"0-5 ({_ROUNDING['0_5']})",
        f"{PILLAR_TITLES[pillar]} pillar: 5 x the mean of the 0-1 fractions of those of its {len(rules)} metrics "
        "that are present (linear between the anchors, clamped); empty when none is",
        f"{PILLAR_TABLES[pillar]}: " + ", ".join(_rule_text(r) for r in rules),
    )


def _vintage_column(pillar: str) -> Column:
    table = PILLAR_TABLES[pillar]
    return Column(
        f"{pillar}_vintage",
        "date32",
        "date",
        f"data_vintage of the {table} row the {pillar} pillar used: the market's latest vintage on or before "
        "as_of; empty when the dataset has no row for the market by then",
        f"{table}.data_vintage",
    )


def data_dictionary() -> list[Column]:
    """Every export column, in export order."""
    weights_example = "supply=0.3;jobs=0.3;urban=0.2;outdoor=0.2"
    return [
        Column("as_of", "date32", "date", "the date the scores are as of (point in time)", "the run's --as-of"),
        Column("msa_id", "string", "id", "market id (metro area, county or tract)", "markets.msa_id"),
        Column("name", "string", "text", "the market's name; empty when the markets dataset has none", "markets.name"),
        Column(
            "rank",
            "int32",
            "1 = best",
            "position by weighted_0_5, best first; equal composites share a rank and the next rank skips "
            "(1, 2, 2, 4); empty for markets without a composite, which come last",
            "computed from weighted_0_5",
        ),
        Column(
            "rank_change",
            "int32",
            "ranks (+ = moved up)",
            "previous rank minus rank, against the latest earlier as_of the database publishes with the same "
            "weights; empty when there is none, or the market had no rank there or has none now",
            "pillar_scores of the previous as_of",
        ),
        *(_pillar_column(p) for p in PILLARS),
        Column(
            "weighted_0_5",
            "float64",
            f"0-5 ({_ROUNDING['0_5']})",
            "composite: sum of weight x pillar score (weights normalised to sum 1); empty unless all four "
            "pillars are present",
            "the four pillar columns and weights",
        ),
        Column(
            "weighted_0_100",
            "float64",
            f"0-100 ({_ROUNDING['0_100']})",
            "the composite on a 0-100 scale: 20 x weighted_0_5",
            "weighted_0_5",
        ),
        Column(
            "missing_pillars",
            "string",
            "pillar names",
            'pillars without a score, joined by ";" (e.g. "jobs;urban"); empty when all four are present',
            "the four pillar columns",
        ),
        *(_vintage_column(p) for p in PILLARS),
        Column(
            "weights",
            "string",
            "fractions summing to 1",
            f'the normalised composite weights, e.g. "{weights_example}"',
            "AKER_WEIGHTS or --weights",
        ),
        Column(
            "run_id",
            "string",
            "uuid",
            "the run that published these scores to the database (runs.run_id; its lineage names every input)",
            "pillar_scores.run_id",
        ),
    ]


def metric_rows() -> list[dict[str, Any]]:
    """One row per scoring rule: pillar, source table, metric, direction and anchors."""
    return [
        {
            "pillar": p,
            "table": PILLAR_TABLES[p],
            "metric": r.metric,
            "kind": r.kind,
            "low": None if r.kind == "flag" else r.low,
            "high": None if r.kind == "flag" else r.high,
        }
        for p in PILLARS
        for r in RULES_BY_PILLAR[p]
    ]


def as_json() -> dict[str, Any]:
    """The dictionary and the metric rules as one JSON-safe document."""
    return {"columns": [asdict(c) for c in data_dictionary()], "metrics": metric_rows()}


def render_text(width: int = 100) -> str:
    """The dictionary as a person-readable table (wrapped to ``width`` characters)."""
    import textwrap

    columns = data_dictionary()
    name_w = max(len(c.name) for c in columns)
    type_w = max(len(c.type) for c in columns)
    indent = " " * (name_w + type_w + 4)
    lines = []
    for c in columns:
        body = f"{c.meaning}. Unit: {c.unit}. Source: {c.source}."
        wrapped = textwrap.wrap(body, width=max(40, width - len(indent))) or [""]
        lines.append(f"{c.name:<{name_w}}  {c.type:<{type_w}}  {wrapped[0]}")
        lines.extend(indent + more for more in wrapped[1:])
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown() -> str:
    """The dictionary as a markdown table (the README copy)."""
    rows = ["| column | type | unit | meaning | source |", "|---|---|---|---|---|"]
    rows += [
        f"| `{c.name}` | {c.type} | {_cell(c.unit)} | {_cell(c.meaning)} | {_cell(c.source)} |"
        for c in data_dictionary()
    ]
    return "\n".join(rows)
