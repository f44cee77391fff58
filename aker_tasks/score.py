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
    from aker_core.run import RunContext

__all__ = ["ComposeScores", "ScorePillar", "WeightedTask"]


class ScorePillar(AkerTask):
    """One pillar's 0-5 score per market."""

    pillar = luigi.ChoiceParameter(choices=PILLARS, description="Pillar to score.")
    as_of = AsOfParameter(description="Score as of this date (point-in-time inputs).")

    code_modules: ClassVar[tuple[str, ...]] = (
        "aker_core.scoring.rules",
        "aker_core.scoring.pillars",
        "aker_core.scoring.arrowutil",
        "aker_tasks.score",
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
        """Score the fetched rows and write the pillar parquet."""
        from aker_core.scoring import score_pillar
        from aker_tasks.io import read_parquet, schema_doc, write_parquet

        self.report(f"scoring {self.pillar}", percent=10)
        table = score_pillar(str(self.pillar), read_parquet(self.requires().target()))
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


class ComposeScores(WeightedTask):
    """The composite score of every market as of a date (parquet), from the four pillars."""

    as_of = AsOfParameter(description="Score as of this date (point-in-time inputs).")

    code_modules: ClassVar[tuple[str, ...]] = (
        "aker_core.scoring.composite",
        "aker_core.scoring.arrowutil",
        "aker_tasks.score",
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
        """Join the pillars, compose, add market names and write the composite parquet."""
        import pyarrow.compute as pc

        from aker_core.scoring import compose, join_pillars
        from aker_tasks.io import read_parquet, schema_doc, write_parquet

        self.report("composing pillar scores", percent=10)
        inputs = self.requires()
        pillars = [read_parquet(inputs[p].target()) for p in PILLARS]
        self.report(percent=40)
        table = compose(join_pillars(pillars), weights=self.weights_used())
        names = read_parquet(inputs["markets"].target())
        idx = pc.index_in(table["msa_id"], value_set=names["msa_id"])
        table = table.add_column(1, "name", pc.take(names["name"], idx))
        self.report(f"writing {table.num_rows} composite scores", percent=70)
        write_parquet(target, table)
        return {"rows": table.num_rows, "schema": schema_doc(table.schema), "weights": self.weights_used()}
