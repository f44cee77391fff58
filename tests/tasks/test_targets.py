"""Sidecars, content hashes, cache keys and atomic writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from aker_tasks import ComposeScores, ExportScores, FetchSource, PublishScores, ScoreMarkets, ScorePillar
from aker_tasks.hashing import code_version, file_hash
from aker_tasks.targets import PARQUET, CacheTarget
from tests.tasks.conftest import BuildFailed, build, db_counts, runs_by_family

AS_OF = dt.date(2024, 6, 1)


def _target(task: object) -> CacheTarget:
    out = task.output()  # type: ignore[attr-defined]
    assert isinstance(out, CacheTarget) and out.exists()
    return out


def test_sidecar_describes_the_target(source_dir: Path, run_db: str) -> None:
    """The sidecar records content type, schema, rows, hash, task, inputs and provenance."""
    build(ScoreMarkets(as_of=AS_OF))
    target = _target(ScorePillar(pillar="jobs", as_of=AS_OF))
    meta = orjson.loads(target.sidecar_path.read_bytes())
    assert meta["content_type"] == PARQUET
    assert meta["content_hash"] == file_hash(target.path)
    assert meta["rows"] == pq.read_metadata(target.path).num_rows
    assert [c["name"] for c in meta["schema"]] == ["msa_id", "jobs_0_5", "data_vintage"]
    # as_of is no key part of a pillar (its content depends only on the fetch's): not in the key's params
    assert meta["task"] == {"family": "ScorePillar", "params": {"pillar": "jobs"}}
    fetch = _target(FetchSource(dataset="market_jobs", as_of=AS_OF))
    assert meta["inputs"] == {"0": fetch.content_hash()}
    assert meta["git_sha"] == "0123456789abcdef0123456789abcdef01234567"
    for key in ("run_id", "config_hash", "code_version", "created_at", "cache_key"):
        assert meta[key]
    assert meta["cache_key"].startswith(Path(target.path).stem.split("-", 1)[1])


def test_fetch_sidecar_records_source(source_dir: Path, run_db: str) -> None:
    """A fetch sidecar names the source URI, file and the source's own content hash."""
    build(FetchSource(dataset="market_urban", as_of=AS_OF))
    meta = _target(FetchSource(dataset="market_urban", as_of=AS_OF)).sidecar()
    src = source_dir / "market_urban.csv"
    assert meta["source"]["uri"] == str(source_dir)
    assert meta["source"]["location"] == src.as_uri()
    assert meta["source"]["content_hash"] == file_hash(src)
    assert meta["inputs"] == {"source": file_hash(src)}


def test_export_sidecar_content_type(source_dir: Path, run_db: str) -> None:
    """Exports carry their own content type."""
    build(ExportScores(as_of=AS_OF, format="csv"))
    assert _target(ExportScores(as_of=AS_OF, format="csv")).sidecar()["content_type"] == "text/csv"


def test_outputs_live_under_cache_path(source_dir: Path, run_db: str, tmp_path: Path) -> None:
    """Every target is a file under AKER_CACHE_PATH."""
    build(ScoreMarkets(as_of=AS_OF))
    assert Path(_target(ComposeScores(as_of=AS_OF)).path).is_relative_to(tmp_path / "cache")
    assert Path(_target(ExportScores(as_of=AS_OF)).path).is_relative_to(tmp_path / "cache")


def test_failed_write_leaves_no_target(source_dir: Path, run_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A task that fails mid-write leaves neither a target nor a half-written file that looks complete."""
    import aker_tasks.io as io

    real = io.pq.write_table

    def crash(table: object, where: str, **kwargs: object) -> None:
        real(table, where, **kwargs)
        Path(where).write_bytes(Path(where).read_bytes()[:100])
        raise OSError("disk full")

    monkeypatch.setattr(io.pq, "write_table", crash)
    with pytest.raises(BuildFailed):
        build(FetchSource(dataset="market_jobs", as_of=AS_OF))
    target = FetchSource(dataset="market_jobs", as_of=AS_OF).output()
    assert isinstance(target, CacheTarget)
    assert not target.exists()
    assert not Path(target.path).exists()
    leftovers = list(Path(target.path).parent.glob("*")) if Path(target.path).parent.exists() else []
    assert leftovers == []


def test_code_version_tracks_file_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing a module's source changes its code version."""
    pkg = tmp_path / "codepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "rules.py").write_text("A = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = code_version("codepkg.rules")
    (pkg / "rules.py").write_text("A = 2\n")
    code_version.cache_clear()
    assert code_version("codepkg.rules") != first


def test_concurrent_writer_of_same_target_keeps_first_file(tmp_path: Path) -> None:
    """When another worker already renamed the target into place, writing again keeps it and succeeds."""
    from aker_tasks.targets import atomic_path

    target = CacheTarget(tmp_path / "t" / "x.parquet")
    Path(target.path).parent.mkdir(parents=True)
    Path(target.path).write_bytes(b"first")
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(b"second")
    assert Path(target.path).read_bytes() == b"first"
    assert sorted(p.name for p in Path(target.path).parent.iterdir()) == ["x.parquet"]


@pytest.mark.parametrize("bad", [{"supply": "0.3"}, {"supply": True}])
def test_weights_parameter_rejects_non_numbers(bad: dict[str, object]) -> None:
    """--weights values must be numbers, not numeric strings or booleans."""
    from aker_core.exceptions import ScoringError
    from aker_tasks.identity import parse_weights

    weights = {"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2} | bad
    with pytest.raises(ScoringError, match="supply"):
        parse_weights(weights)
    with pytest.raises(ScoringError, match="supply"):
        ScoreMarkets(as_of=AS_OF, weights=weights)


def test_failed_composite_write_persists_nothing(
    source_dir: Path, run_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the composite parquet fails to write, there is no composite and nothing is published."""
    inputs = ComposeScores(as_of=AS_OF).requires()
    build(list(inputs.values()))
    import aker_tasks.io as io

    def crash(table: object, where: str, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(io.pq, "write_table", crash)
    with pytest.raises(BuildFailed):
        build(ScoreMarkets(as_of=AS_OF))
    assert not ComposeScores(as_of=AS_OF).target().exists()
    assert db_counts(run_db)["pillar_scores"] == 0
    runs = runs_by_family(run_db)
    assert ("ComposeScores", "failed") in runs
    assert not [family for family, _ in runs if family in ("PublishScores", "ExportScores")]


def test_failed_publication_persists_nothing(source_dir: Path, run_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the database load fails after writing rows, they are rolled back and its run is 'failed'."""
    build(ComposeScores(as_of=AS_OF))
    import aker_core.markets.persist as persist

    real = persist.replace_pillar_scores

    def crash(*args: object, **kwargs: object) -> int:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise OSError("connection lost")

    monkeypatch.setattr(persist, "replace_pillar_scores", crash)
    with pytest.raises(BuildFailed):
        build(ScoreMarkets(as_of=AS_OF))
    assert db_counts(run_db)["pillar_scores"] == 0
    assert ("PublishScores", "failed") in runs_by_family(run_db)
    assert not PublishScores(as_of=AS_OF).complete()
    assert not ExportScores(as_of=AS_OF).complete()
