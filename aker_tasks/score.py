"""ScorePillar and ScoreMarkets: the scoring steps of the graph.

``ScoreMarkets`` writes the composite parquet *and* replaces the ``pillar_scores`` rows of its
as_of in the run database, in the run's transaction. It is complete only when both hold, so a
rerun against a database that lost the scores persists them again from the cached result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import luigi
from pydantic import ValidationError

from aker_core.config import PILLARS, Weights
from aker_core.exceptions import ScoringError
from aker_core.scoring.rules import PILLAR_TABLES
from aker_tasks.base import AkerTask
from aker_tasks.fetch import FetchSource
from aker_tasks.targets import CacheTarget

if TYPE_CHECKING:
    from aker_core.run import RunContext

__all__ = ["ScoreMarkets", "ScorePillar", "effective_weights"]


def effective_weights(override: Mapping[str, Any] | None, default: Weights) -> dict[str, float]:
    """Normalised weights: the ``--weights`` override if given (all four keys), else settings.

    Raises:
        ScoringError: unknown or missing key, negative, non-numeric, or all-zero weights.
    """
    if override is None:
        return default.normalised()
    given = dict(override)
    missing = [p for p in PILLARS if p not in given]
    if missing:
        raise ScoringError(f"--weights is missing {', '.join(missing)}; give all of {', '.join(PILLARS)}")
    try:
        # strict: "0.3" or true are not weights (as aker_core.scoring.normalise_weights agrees)
        return Weights.model_validate(given, strict=True).normalised()
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'weights'}: {err['msg']}" for err in e.errors())
        raise ScoringError(f"invalid --weights: {problems}") from e


class ScorePillar(AkerTask):
    """One pillar's 0-5 score per market."""

    pillar = luigi.ChoiceParameter(choices=PILLARS, description="Pillar to score.")
    as_of = luigi.DateParameter(description="Score as of this date (point-in-time inputs).")

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
        return FetchSource(dataset=PILLAR_TABLES[str(self.pillar)], as_of=self.as_of).priority

    def requires(self) -> FetchSource:
        """The pillar's source dataset."""
        return FetchSource(dataset=PILLAR_TABLES[str(self.pillar)], as_of=self.as_of)

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Score the fetched rows and write the pillar parquet."""
        from aker_core.scoring import score_pillar
        from aker_tasks.io import read_parquet, schema_doc, write_parquet

        source = self.requires().output()
        assert isinstance(source, CacheTarget)
        self.report(f"scoring {self.pillar}")
        table = score_pillar(str(self.pillar), read_parquet(source))
        write_parquet(target, table)
        return {"rows": table.num_rows, "schema": schema_doc(table.schema)}


class ScoreMarkets(AkerTask):
    """Composite scores of every market as of a date, persisted to ``pillar_scores``."""

    as_of = luigi.DateParameter(description="Score as of this date (point-in-time inputs).")
    weights = luigi.OptionalDictParameter(
        default=None,
        description='Pillar weights as JSON, e.g. {"supply":0.4,"jobs":0.3,"urban":0.2,"outdoor":0.1}; '
        "default AKER_WEIGHTS.",
    )

    key_excludes: ClassVar[tuple[str, ...]] = ("weights",)
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
        reqs: dict[str, AkerTask] = {"markets": FetchSource(dataset="markets", as_of=self.as_of)}
        reqs.update({p: ScorePillar(pillar=p, as_of=self.as_of) for p in PILLARS})
        return reqs

    def weights_used(self) -> dict[str, float]:
        """The normalised weights this task composes with."""
        return effective_weights(self.weights, self.settings.weights)

    def result_settings(self) -> dict[str, Any]:
        """Weights (normalised, so equal ratios share a target) and feature flags."""
        return {**super().result_settings(), "weights": self.weights_used()}

    def runtime_modules(self) -> tuple[str, ...]:
        """``pyarrow.csv`` when persisting to PostgreSQL, whose ``COPY`` is fed CSV written by Arrow."""
        from aker_data.engine import normalise_url  # only asked when a run follows: SQLAlchemy loads anyway

        return ("pyarrow.csv",) if normalise_url(self.settings.database_url).get_backend_name() == "postgresql" else ()

    def is_built(self) -> bool:
        """Built when the composite target exists and the database holds exactly it."""
        from aker_tasks.database import scores_persisted

        out = self.output()
        if not isinstance(out, CacheTarget) or not out.exists():
            return False
        meta = out.sidecar()
        return scores_persisted(self.as_of, str(meta["content_hash"]), int(meta["rows"]))

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Compose (or reuse the cached composite) and replace the as_of's pillar_scores."""
        from concurrent.futures import ThreadPoolExecutor

        import pyarrow.compute as pc

        from aker_core.markets.persist import replace_pillar_scores
        from aker_core.scoring import compose, join_pillars
        from aker_tasks.hashing import file_hash
        from aker_tasks.io import read_parquet, schema_doc, write_parquet

        weights = self.weights_used()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aker-write") as pool:
            written = None
            if target.exists():
                # Only the database lost the scores: persist the cached result, do not recompute.
                self.report("composite cached; persisting to the database")
                table = read_parquet(target)
            else:
                self.report("composing pillar scores")
                inputs = self.requires()
                pillars = [read_parquet(inputs[p].target()) for p in PILLARS]
                self.report(percent=40)
                table = compose(join_pillars(pillars), weights=weights)
                names = read_parquet(inputs["markets"].target())
                idx = pc.index_in(table["msa_id"], value_set=names["msa_id"])
                table = table.add_column(1, "name", pc.take(names["name"], idx))
                composite = table

                def write_and_hash() -> str:
                    write_parquet(target, composite)
                    return file_hash(target.file)  # memoised: run() asks for it next

                # Written and hashed on another thread while this one persists: Arrow and the
                # database drivers release the GIL, so the two overlap on two cores.
                written = pool.submit(write_and_hash)
            self.report(percent=70)
            self.report(f"persisting {table.num_rows} markets to pillar_scores")
            # Replace, not merge: markets that left the source must not keep an old score.
            replace_pillar_scores(run.session, table, as_of=self.as_of, run_id=run.id, weights=weights)
            run.session.flush()
            if written is not None:
                written.result()  # re-raises a failed write here, failing the run
        return {"rows": table.num_rows, "schema": schema_doc(table.schema), "weights": weights}
