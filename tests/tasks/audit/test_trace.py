"""`aker trace`: from a published score to the runs, targets, source bytes and vintage rows behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from aker_core.sources.location import DATASETS
from aker_tasks.audit.trace import EXIT_NOT_PUBLISHED, TraceError, restore_sources, trace
from aker_tasks.hashing import file_hash
from aker_tasks.targets import read_sidecar
from tests.tasks.audit.conftest import AS_OF, Pipeline
from tests.tasks.luigiproc import aker_env, run_luigi

MARKET = "12420"
OTHER = "12060"


def _drop_latest_supply_vintage(source: Path, market: str) -> None:
    """``market``'s latest supply vintage <= AS_OF becomes 2023-06-30, older than every other market's."""
    path = source / "market_supply.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(f'"{market}",2024-03-31')))


def _csv_row(path: Path, market: str, vintage: str) -> list[str]:
    for line in path.read_text().splitlines():
        if line.startswith(f'"{market}",{vintage}'):
            return line.split(",")[2:]
    raise AssertionError(f"no row {market} {vintage} in {path}")


def test_trace_shows_the_older_vintage_a_market_used(pipeline: Pipeline) -> None:
    """A market whose supply data is older than the others' is traced to that older row, from kept bytes."""
    _drop_latest_supply_vintage(pipeline.source, MARKET)
    pipeline.luigi()
    expected = _csv_row(pipeline.source / "market_supply.csv", MARKET, "2023-06-30")
    (pipeline.source / "market_supply.csv").unlink()  # the row must come from the retained bytes

    found = trace(AS_OF, MARKET)
    supply = next(p for p in found.pillars if p.pillar == "supply")
    jobs = next(p for p in found.pillars if p.pillar == "jobs")
    assert supply.data is not None and supply.data.row is not None and jobs.data is not None
    assert supply.data.row["data_vintage"] == "2023-06-30"
    assert jobs.data.row is not None and jobs.data.row["data_vintage"] == "2024-03-31"
    other = trace(AS_OF, OTHER).pillars[0].data
    assert other is not None and other.row is not None and other.row["data_vintage"] == "2024-03-31"
    metrics = [v for k, v in supply.data.row.items() if k not in ("msa_id", "data_vintage")]
    assert [float(v) if v else None for v in expected] == metrics
    # The row is the one the fetch kept: its target holds the same values for the market.
    fetched = pq.read_table(supply.data.fetch.path)
    kept = fetched.filter(pc.equal(fetched["msa_id"], MARKET)).to_pylist()[0]
    assert {k: (v.isoformat() if k == "data_vintage" else v) for k, v in kept.items()} == supply.data.row
    # ... and the whole chain is the recorded one: publication -> composite -> pillar -> fetch -> source.
    publish = pipeline.runs("PublishScores")[-1]
    assert found.publication.run_id == publish.run_id and found.publication_id == publish.output_hash
    assert found.composite.content_hash == read_sidecar(Path(f"{found.composite.path}.json"))["content_hash"]
    assert supply.step.run is not None and supply.step.run.task_family == "ScorePillar"
    assert supply.data.fetch.run is not None and supply.data.fetch.run.task_params["dataset"] == "market_supply"
    source = supply.data.source
    assert source is not None and source.path == str(pipeline.source / "market_supply.csv")
    assert source.retained is not None and source.bytes_at == source.retained
    assert file_hash(source.retained) == source.content_hash
    assert found.name == "Austin-Round Rock-San Marcos, TX"
    assert found.weighted_0_100 is not None and supply.score_0_5 is not None


def test_trace_json_is_the_same_tree(pipeline: Pipeline) -> None:
    """`aker trace --json` prints the tree: publication, composite and per pillar run, target, source, row."""
    pipeline.luigi()
    done = pipeline.aker("trace", "--as-of", AS_OF, "--market", MARKET, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    found = trace(AS_OF, MARKET)
    assert doc["publication"]["run_id"] == found.publication.run_id
    assert [p["pillar"] for p in doc["pillars"]] == ["supply", "jobs", "urban", "outdoor"]
    for entry, pillar in zip(doc["pillars"], found.pillars, strict=True):
        assert entry["step"]["content_hash"] == pillar.step.content_hash
        assert entry["data"]["source"]["retained"] == pillar.data.source.retained  # type: ignore[union-attr]
        assert entry["data"]["row"] == pillar.data.row  # type: ignore[union-attr]
    text = pipeline.aker("trace", "--as-of", AS_OF, "--market", MARKET)
    assert text.returncode == 0 and found.publication.run_id in text.stdout and "data_vintage 2024-03-31" in text.stdout


def test_unknown_market_and_unpublished_date_are_one_line_errors(pipeline: Pipeline) -> None:
    """An unknown market or a date nothing was published for: one line on stderr, exit 1."""
    pipeline.luigi()
    unknown = pipeline.aker("trace", "--as-of", AS_OF, "--market", "99999")
    assert unknown.returncode == EXIT_NOT_PUBLISHED
    assert (
        unknown.stderr.strip() == f"aker trace: market '99999' is not among the 43 markets published for as_of {AS_OF}"
    )
    assert unknown.stdout == ""
    early = pipeline.aker("trace", "--as-of", "2024-07", "--market", MARKET)
    assert early.returncode == EXIT_NOT_PUBLISHED
    assert early.stderr.count("\n") == 1 and "nothing is published for as_of 2024-07-01" in early.stderr
    bad = pipeline.aker("trace", "--as-of", "June", "--market", MARKET)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    elsewhere = pipeline.aker("trace", "--as-of", AS_OF, "--market", MARKET, AKER_POSTGIS_DSN="sqlite:///empty.db")
    assert elsewhere.returncode == 3 and elsewhere.stderr.count("\n") == 1
    assert "does not exist" in elsewhere.stderr and not (pipeline.tmp / "empty.db").exists()
    with pytest.raises(TraceError, match="other weights"):
        trace(AS_OF, MARKET, {"supply": 1, "jobs": 0, "urban": 0, "outdoor": 0})


def test_restore_reproduces_the_published_scores_after_the_sources_changed(pipeline: Pipeline, db_url: str) -> None:
    """--restore writes the kept bytes; a fresh cache fed from them computes the same composite and publication."""
    pipeline.luigi()
    publication = pipeline.runs("PublishScores")[-1].output_hash
    composite = pipeline.runs("ComposeScores")[-1].output_hash
    supply = pipeline.source / "market_supply.csv"
    with open(supply, "r+b") as handle:  # edited in place ...
        handle.write(supply.read_bytes().replace(b"9.62", b"1.11", 1))
    (pipeline.source / "market_jobs.csv").unlink()  # ... and deleted

    restored = pipeline.tmp / "restored"
    done = pipeline.aker("trace", "--as-of", AS_OF, "--market", MARKET, "--restore", str(restored))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in restored.iterdir()) == sorted(f"{d}.csv" for d in DATASETS)
    again = trace(AS_OF, MARKET)
    assert restore_sources(again, restored) == [restored / f"{d.source.dataset}.csv" for d in again.datasets()]  # type: ignore[union-attr]

    # Another cache and database (the first one's targets could otherwise just be found).
    fresh = pipeline.tmp / "fresh"
    fresh.mkdir()
    env = aker_env(fresh, restored, f"sqlite:///{fresh / 'aker.db'}")
    rerun = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=fresh)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    from tests.tasks.audit.conftest import Pipeline as Other

    other = Other(fresh, restored, f"sqlite:///{fresh / 'aker.db'}", env)
    assert other.runs("ComposeScores")[-1].output_hash == composite
    assert other.runs("PublishScores")[-1].output_hash == publication


def test_restore_refuses_a_directory_holding_other_data(pipeline: Pipeline) -> None:
    """--restore never overwrites a different file: one line, exit 5, nothing written."""
    pipeline.luigi()
    target = pipeline.tmp / "busy"
    target.mkdir()
    (target / "market_supply.csv").write_text("msa_id,data_vintage\n")
    done = pipeline.aker("trace", "--as-of", AS_OF, "--market", MARKET, "--restore", str(target))
    assert done.returncode == 5
    assert done.stderr.count("\n") == 1 and "exists with other content" in done.stderr
    assert sorted(p.name for p in target.iterdir()) == ["market_supply.csv"]


def test_restore_into_a_path_that_is_a_file_is_one_line(pipeline: Pipeline) -> None:
    """--restore DIR where DIR is a file (or cannot be made): one line naming it, exit 5, no traceback."""
    pipeline.luigi()
    target = pipeline.tmp / "afile"
    target.write_text("not a directory\n")
    done = pipeline.aker("trace", "--as-of", AS_OF, "--market", MARKET, "--restore", str(target))
    assert done.returncode == 5, done.stderr
    assert done.stderr.startswith("aker trace: --restore: ") and done.stderr.count("\n") == 1
    assert str(target) in done.stderr and "Traceback" not in done.stderr


def test_a_lost_sqlite_database_is_not_recreated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aker trace` on a SQLite file that does not exist exits 3 saying so, and creates neither file nor folder."""
    from aker_core.config import reset_settings
    from aker_tasks.cli import main as aker

    database = tmp_path / "lost" / "aker.db"
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"sqlite:///{database}")
    reset_settings()
    assert aker(["trace", "--as-of", AS_OF, "--market", MARKET]) == 3
    assert (
        capsys.readouterr().err
        == f"aker trace: database sqlite:///{database} does not exist (nothing recorded yet, or the file was lost)\n"
    )
    assert not database.parent.exists()


def test_an_unreachable_database_is_named_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aker trace` on a server that does not answer: exit 3, one line naming the database once, no password."""
    import socket

    from aker_core.config import reset_settings
    from aker_tasks.cli import main as aker

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"postgresql://bob:s3cret@127.0.0.1:{port}/nodb")
    reset_settings()
    assert aker(["trace", "--as-of", AS_OF, "--market", MARKET]) == 3
    err = capsys.readouterr().err
    assert err.startswith("aker trace: ") and err.count("\n") == 1
    assert err.count(f"127.0.0.1:{port}/nodb") == 1 and "s3cret" not in err
