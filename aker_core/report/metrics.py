"""Per-market detail: the raw metrics behind the scores and each metric's 0-1 fraction and anchors.

Fractions are computed here by :func:`aker_core.scoring.pillars.metric_fraction` -- the very
function the pillar scores use -- from the rules table :data:`aker_core.scoring.rules.RULES`, so
the page never re-implements a rule: the browser only displays numbers computed in Python.

The ``metrics`` table the renderer takes is ``msa_id`` plus the raw metric columns the scores
were computed from, one row per market (the point-in-time rows). :func:`join_metrics` builds it
from the FetchSource outputs of a run (the exact inputs of its scores); :func:`read_metrics`
re-reads them from a source as of a date.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aker_core.report.contract import ReportError
from aker_core.scoring.arrowutil import as_float64
from aker_core.scoring.pillars import metric_fraction
from aker_core.scoring.rules import PILLAR_TABLES, RULES, MetricRule

__all__ = ["join_metrics", "metric_payload", "read_metrics", "rule_text"]

#: Significant digits of a raw value shown on the page (the fraction uses the exact value).
VALUE_DIGITS = 4
#: Fractions are embedded in thousandths (0-1000; -1 = missing): three decimals, small integers.
FRACTION_SCALE = 1000


def join_metrics(tables: Mapping[str, pa.Table]) -> pa.Table:
    """Outer-join point-in-time source tables into ``msa_id`` + every metric column of the rules.

    Args:
        tables: source table name (``market_supply``, ...) -> its rows as of the date, one per
            market (e.g. the FetchSource parquet targets). A missing table leaves its metrics null.

    Returns:
        ``msa_id`` and one column per rule metric present, sorted by ``msa_id``.

    Raises:
        ReportError: a table without ``msa_id`` or with a duplicate ``msa_id``.
    """
    parts: list[pa.Table] = []
    for name, table in tables.items():
        if "msa_id" not in table.column_names:
            raise ReportError(f"metrics table {name!r} has no 'msa_id' column")
        keep = [r.metric for r in RULES if r.metric in table.column_names]
        part = table.select(["msa_id", *keep])
        if len(pc.unique(part.column("msa_id").combine_chunks())) != part.num_rows:
            raise ReportError(f"metrics table {name!r} has more than one row per msa_id (filter it as of a date)")
        parts.append(part.set_column(0, "msa_id", pc.cast(part.column("msa_id"), pa.string())))
    if not parts:
        return pa.table({"msa_id": pa.array([], pa.string())})
    ids = pc.unique(pa.chunked_array([p.column("msa_id").combine_chunks() for p in parts]).combine_chunks())
    ids = ids.take(pc.sort_indices(ids))
    columns: dict[str, pa.Array] = {"msa_id": ids}
    for part in parts:
        position = pc.index_in(ids, value_set=part.column("msa_id").combine_chunks())
        for column in part.column_names[1:]:
            columns[column] = part.column(column).combine_chunks().take(position)
    return pa.table(columns)


def read_metrics(source_uri: str, as_of: object, database_url: str | None = None) -> pa.Table:
    """:func:`join_metrics` of the four source tables read from ``source_uri`` as of ``as_of``.

    The same readers and point-in-time rule as FetchSource, so for an unchanged source this is
    what the run scored. Prefer :func:`join_metrics` on the run's own FetchSource targets.

    Args:
        source_uri: ``sample``, a directory, a ``file://`` URL or ``database``.
        as_of: anything :func:`~aker_core.scoring.asof.parse_as_of` accepts.
        database_url: the database to read when ``source_uri`` is ``database``.

    Raises:
        DataValidationError: a source cannot be found or fails validation.
    """
    from aker_core.sources import DATABASE_SOURCE, dataset_path, read_dataset_as_of, resolve_source_dir
    from aker_core.sources.reader import table_as_of

    tables: dict[str, pa.Table] = {}
    if source_uri.strip() == DATABASE_SOURCE:
        from aker_core.sources import read_table_from_db
        from aker_data.engine import create_engine_from_url

        if not database_url:
            raise ReportError("read_metrics: source_uri 'database' needs a database_url")
        engine = create_engine_from_url(database_url)
        try:
            for table in PILLAR_TABLES.values():
                tables[table] = table_as_of(read_table_from_db(engine, table, validate=True), as_of)
        finally:
            engine.dispose()
    else:
        directory = resolve_source_dir(source_uri)
        for table in PILLAR_TABLES.values():
            tables[table] = read_dataset_as_of(table, dataset_path(directory, table), as_of).table
    return join_metrics(tables)


def _significant(values: np.ndarray, digits: int) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits, so each prints short and exact."""
    out = values.copy()
    finite = np.isfinite(values) & (values != 0)
    magnitude = np.floor(np.log10(np.abs(values[finite]))).astype(np.int64)
    shift = digits - 1 - magnitude
    small = shift >= 0
    v = values[finite]
    rounded = np.empty_like(v)
    # Multiply/divide only by exact powers of ten (integers), so the result is the double
    # nearest the decimal and prints in its shortest form.
    scale = 10.0 ** np.where(small, shift, 0)
    rounded[small] = np.round(v[small] * scale[small]) / scale[small]
    big = 10.0 ** np.where(small, 0, -shift)
    rounded[~small] = np.round(v[~small] / big[~small]) * big[~small]
    out[finite] = rounded
    return out


def rule_text(rule: MetricRule) -> str:
    """The rule's anchors as a person reads them, in the rules table's terms.

    ``lower``: ``best 1.5 -> 1, worst 10 -> 0``; ``higher``: ``baseline 1 -> 0, ceiling 2 -> 1``;
    ``flag``: ``yes -> 1, no -> 0`` (linear between the anchors, clamped beyond them).
    """
    if rule.kind == "flag":
        return "yes \u2192 1, no \u2192 0"
    low, high = f"{rule.low:g}", f"{rule.high:g}"
    if rule.kind == "lower":
        return f"best {low} \u2192 1, worst {high} \u2192 0"
    return f"baseline {low} \u2192 0, ceiling {high} \u2192 1"


def metric_payload(ids: pa.Array | pa.ChunkedArray, metrics: pa.Table | None) -> dict[str, Any]:
    """The detail data for markets ``ids`` (in the page's row order): rules, values and fractions.

    Returns:
        ``{"rules": [{pillar, metric, kind, low, high, text}], "values": {metric: [float|None]},
        "fractions": {metric: [thousandths | -1]}}``; ``values``/``fractions`` hold every rule
        metric present in ``metrics`` (none when ``metrics`` is ``None``).

    Raises:
        ReportError: ``metrics`` has no ``msa_id``, duplicates or a non-numeric metric column.
    """
    rules = [
        {"pillar": r.pillar, "metric": r.metric, "kind": r.kind, "low": r.low, "high": r.high, "text": rule_text(r)}
        for r in RULES
    ]
    payload: dict[str, Any] = {"rules": rules, "values": {}, "fractions": {}}
    if metrics is None:
        return payload
    if "msa_id" not in metrics.column_names:
        raise ReportError("metrics table has no 'msa_id' column")
    keys = pc.cast(metrics.column("msa_id"), pa.string()).combine_chunks()
    if len(pc.unique(keys)) != len(keys):
        raise ReportError("metrics table has more than one row per msa_id")
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    position = pc.index_in(pc.cast(ids, pa.string()), value_set=keys)
    for rule in RULES:
        if rule.metric not in metrics.column_names:
            continue
        try:
            values = as_float64(metrics.column(rule.metric).combine_chunks().take(position))
        except Exception as e:  # ScoringError (not numeric) or an Arrow cast error
            raise ReportError(f"metrics column {rule.metric!r}: {e}") from e
        fraction = metric_fraction(rule, values)
        thousandths = np.where(np.isnan(fraction), -1, np.round(fraction * FRACTION_SCALE)).astype(np.int16)
        payload["values"][rule.metric] = _significant(values, VALUE_DIGITS)
        payload["fractions"][rule.metric] = thousandths
    return payload
