"""ScorePillar and ComposeScores: the scoring steps of the graph (pure file tasks).

Publishing the composite to the database is :class:`~aker_tasks.publication.PublishScores`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import luigi

from aker_core.config import PILLARS, Settings, Weights
from aker_core.scoring.rules import PILLAR_TABLES
from aker_tasks.base import AkerTask
from aker_tasks.fetch import FetchSource
from aker_tasks.identity import AsOfParameter, WeightsParameter
from aker_tasks.targets import CacheTarget

if TYPE_CHECKING:
    import pyarrow as pa

    from aker_core.run import RunContext

__all__ = [
    "ComposeScores",
    "DateFreeTask",
    "ScorePillar",
    "WeightedTask",
    "check_market_ids",
    "check_some_composite",
    "vintage_column",
]


def vintage_column(pillar: str) -> str:
    """The composite's column holding the ``data_vintage`` a pillar read for each market."""
    return f"{pillar}_vintage"


def _same_ids(a: pa.ChunkedArray | pa.Array, b: pa.ChunkedArray | pa.Array) -> bool:
    """Whether two ``msa_id`` columns hold the same ids in the same order (a linear compare)."""
    import pyarrow as pa

    a = a if isinstance(a, pa.ChunkedArray) else pa.chunked_array([a])
    b = b if isinstance(b, pa.ChunkedArray) else pa.chunked_array([b])
    return bool(a.type == b.type and len(a) == len(b) and a.equals(b))


def _take_by_id(ids: pa.ChunkedArray | pa.Array, table: pa.Table, column: str) -> pa.ChunkedArray | pa.Array:
    """``table[column]`` for each of ``ids`` (null where ``table`` has no row for the id)."""
    import pyarrow.compute as pc

    if _same_ids(ids, table["msa_id"]):
        # The usual case -- every dataset covers the same markets, all sorted by msa_id: no hash
        # lookup (measured at 10^6 markets: ~0.15 s per column, five columns per composite).
        return table[column]
    return pc.take(table[column], pc.index_in(ids, value_set=table["msa_id"]))


def check_market_ids(markets: pa.Table, pillars: dict[str, pa.Table]) -> None:
    """Every market a pillar dataset scores must be in ``markets``: ids differing in type or padding
    (``12060`` vs ``"012060"``) would otherwise silently give nameless markets and no composites.

    Raises:
        DataValidationError: naming both datasets, how many ids and an example.
    """
    import pyarrow.compute as pc

    from aker_core.exceptions import DataValidationError

    known = markets["msa_id"]
    for pillar, table in pillars.items():
        if _same_ids(table["msa_id"], known):
            continue  # the usual case, without a hash lookup (~0.15 s per pillar at 10^6 markets)
        unknown = pc.filter(table["msa_id"], pc.invert(pc.is_in(table["msa_id"], value_set=known)))
        if len(unknown):
            examples = ", ".join(repr(v) for v in unknown.slice(0, 3).to_pylist())
            sample = ", ".join(repr(v) for v in known.slice(0, 2).to_pylist())
            raise DataValidationError(
                f"dataset {PILLAR_TABLES[pillar]!r}: {len(unknown)} msa_id(s) are not in dataset 'markets' "
                f"(e.g. {examples}; markets has e.g. {sample}): the ids must be the same in every dataset"
            )


def check_some_composite(table: pa.Table, as_of: object, pillars: dict[str, pa.Table]) -> None:
    """A composite where no market has one is a useless result: fail, saying which pillar is empty.

    Raises:
        DataValidationError: no market, or no market with all four pillars.
    """
    import pyarrow.compute as pc

    from aker_core.exceptions import DataValidationError

    if table.num_rows and pc.sum(pc.is_valid(table["weighted_0_5"])).as_py():
        return
    scored = {p: int(pc.sum(pc.is_valid(t[f"{p}_0_5"])).as_py() or 0) for p, t in pillars.items()}
    empty = [f"{p} ({PILLAR_TABLES[p]})" for p, n in scored.items() if n == 0]
    why = f"no market has a {' or '.join(empty)} score" if empty else "no market has all four pillars"
    counts = ", ".join(f"{p} {n}" for p, n in scored.items())
    raise DataValidationError(f"no market gets a composite as of {as_of}: {why} (markets scored per pillar: {counts})")


class DateFreeTask(AkerTask):
    """A task whose content depends only on its inputs' content, not on its ``as_of`` itself.

    ``as_of`` stays a parameter (it names which date's inputs to read) but not a key part, and
    targets live under ``all/``: dates whose point-in-time inputs are identical -- no vintage
    between them -- share one target, found complete instead of recomputed.
    """

    key_excludes: ClassVar[tuple[str, ...]] = ("as_of",)

    def as_of_dir(self) -> str:
        """Shared by every date (see the class docstring)."""
        return "all"


class ScorePillar(DateFreeTask):
    """One pillar's 0-5 score per market."""

    pillar = luigi.ChoiceParameter(choices=PILLARS, description="Pillar to score.")
    as_of = AsOfParameter(description="Score as of this date (point-in-time inputs).")

    code_modules: ClassVar[tuple[str, ...]] = (
        "aker_core.scoring.rules",
        "aker_core.scoring.pillars",
        "aker_core.scoring.arrowutil",
        "aker_tasks.score",
        "aker_tasks.io",
    )

    def label(self) -> str:
        """File names start with the pillar."""
        return str(self.pillar)

    @property
    def priority(self) -> int:  # type: ignore[override]
        """Its source's priority: the widest pillar's chain runs first (see FetchSource)."""
        return self.requires().priority

    def requires(self) -> FetchSource:
        """The pillar's source dataset."""
        return FetchSource(dataset=PILLAR_TABLES[str(self.pillar)], as_of=self.as_of, config=self.config)

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Score the fetched rows and write the pillar parquet, with each market's ``data_vintage``.

        The vintage is the one of the row the point-in-time fetch kept (one dataset per pillar);
        it travels with the score so the composite and the exports can say which data fed it.
        """
        from aker_core.scoring import score_pillar
        from aker_tasks.io import read_parquet, schema_doc, write_parquet

        self.report(f"scoring {self.pillar}", percent=10)
        fetched = read_parquet(self.requires().target())
        table = score_pillar(str(self.pillar), fetched)
        table = table.append_column("data_vintage", _take_by_id(table["msa_id"], fetched, "data_vintage"))
        self.report(percent=70)
        write_parquet(target, table)
        return {"rows": table.num_rows, "schema": schema_doc(table.schema)}


class WeightedTask(AkerTask):
    """A task whose result depends on the composite weights (a ``weights`` parameter)."""

    weights = WeightsParameter()

    #: Weights enter the key through their effect: the composite's settings or content hash.
    key_excludes: ClassVar[tuple[str, ...]] = ("weights",)

    def weights_used(self) -> dict[str, float]:
        """The normalised weights this task works with."""
        return {str(k): float(v) for k, v in self.weights.items()}

    def run_settings(self) -> Settings:
        """The settings with these weights, so a run's ``config_json``/``config_hash`` record them."""
        return self.settings.model_copy(update={"weights": Weights(**self.weights_used())})


class ComposeScores(WeightedTask, DateFreeTask):
    """The composite score of every market as of a date (parquet), from the four pillars.

    Its content does not depend on the date (see :class:`DateFreeTask`).
    """

    key_excludes: ClassVar[tuple[str, ...]] = ("weights", "as_of")

    as_of = AsOfParameter(description="Score as of this date (point-in-time inputs).")

    # rules: which dataset each pillar comes from (named in the checks' messages)
    code_modules: ClassVar[tuple[str, ...]] = (
        "aker_core.config.weights",
        "aker_core.scoring.composite",
        "aker_core.scoring.arrowutil",
        "aker_core.scoring.rules",
        "aker_tasks.score",
        "aker_tasks.io",
    )

    def label(self) -> str:
        """File names start with ``scores``."""
        return "scores"

    def requires(self) -> dict[str, AkerTask]:
        """Market names and the four pillars."""
        reqs: dict[str, AkerTask] = {"markets": FetchSource(dataset="markets", as_of=self.as_of, config=self.config)}
        reqs.update({p: ScorePillar(pillar=p, as_of=self.as_of, config=self.config) for p in PILLARS})
        return reqs

    def result_settings(self) -> dict[str, Any]:
        """Weights (normalised, so equal ratios share a target) and feature flags."""
        return {**super().result_settings(), "weights": self.weights_used()}

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Join the pillars, compose, add market names and each pillar's vintage, write the composite."""
        from aker_core.scoring import compose, join_pillars
        from aker_tasks.io import read_parquet, schema_doc, write_parquet

        self.report("composing pillar scores", percent=10)
        inputs = self.requires()
        pillars = [read_parquet(inputs[p].target()) for p in PILLARS]
        names = read_parquet(inputs["markets"].target())
        check_market_ids(names, dict(zip(PILLARS, pillars, strict=True)))
        self.report(percent=40)
        scores = [t.select(["msa_id", f"{p}_0_5"]) for p, t in zip(PILLARS, pillars, strict=True)]
        table = compose(join_pillars(scores), weights=self.weights_used())
        check_some_composite(table, self.as_of, dict(zip(PILLARS, pillars, strict=True)))
        table = table.add_column(1, "name", _take_by_id(table["msa_id"], names, "name"))
        for pillar, scored in zip(PILLARS, pillars, strict=True):
            table = table.append_column(vintage_column(pillar), _take_by_id(table["msa_id"], scored, "data_vintage"))
        self.report(f"writing {table.num_rows} composite scores", percent=70)
        write_parquet(target, table)
        return {"rows": table.num_rows, "schema": schema_doc(table.schema), "weights": self.weights_used()}
