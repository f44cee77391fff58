"""RunContext: run rows, lifecycle, failure paths, lineage and determinism (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aker_core.config import Settings
from aker_core.exceptions import RunContextError
from aker_core.run import RunContext, derive_seed
from aker_data.models import Lineage, Market, Run

GIT = "0123456789abcdef0123456789abcdef01234567"


def _run_row(factory: sessionmaker[Session], run_id: str) -> Run:
    with factory() as s:
        row = s.get(Run, run_id)
        assert row is not None
        s.expunge(row)
        return row


def test_enter_writes_running_row(session_factory: sessionmaker[Session]) -> None:
    """On enter a `running` row with git sha, config hash, snapshot and seed exists."""
    with RunContext(session_factory) as run:
        row = _run_row(session_factory, run.id)
        assert row.status == "running"
        assert row.git_sha == GIT
        assert row.config_hash == Settings().config_hash == run.config_hash
        assert row.config_json["weights"]["supply"] == 0.3
        assert row.seed == run.seed == derive_seed(run.config_hash)
        assert row.finished_at is None


def test_success_commits_data_and_completes(session_factory: sessionmaker[Session]) -> None:
    """A clean exit commits the data session and marks the run completed."""
    with RunContext(session_factory) as run:
        run.session.add(Market(msa_id="12420", name="Austin"))
        run.set_output_hash("feedface")
    row = _run_row(session_factory, run.id)
    assert (row.status, row.output_hash, row.error) == ("completed", "feedface", None)
    assert row.finished_at is not None and row.finished_at >= row.started_at
    with session_factory() as s:
        assert s.get(Market, "12420") is not None


def test_exception_rolls_back_and_fails(session_factory: sessionmaker[Session]) -> None:
    """An exception rolls the data back, records `failed` with the error and propagates."""
    with pytest.raises(ValueError, match="boom"), RunContext(session_factory) as run:
        run.session.add(Market(msa_id="12420", name="Austin"))
        run.session.flush()
        raise ValueError("boom")
    row = _run_row(session_factory, run.id)
    assert row.status == "failed"
    assert row.error == "ValueError: boom"
    with session_factory() as s:
        assert s.get(Market, "12420") is None


def test_failed_commit_marks_run_failed(session_factory: sessionmaker[Session]) -> None:
    """When the data commit itself fails the run ends `failed`, never stuck in `running`."""
    with session_factory() as s, s.begin():
        s.add(Market(msa_id="12420", name="Austin"))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), RunContext(session_factory) as run:
        run.session.add(Market(msa_id="12420", name="Austin again"))
    row = _run_row(session_factory, run.id)
    assert row.status == "failed"
    assert row.error is not None


def test_lineage_rows_tied_to_run(session_factory: sessionmaker[Session]) -> None:
    """log_lineage records rows with the runbook's keyword names, tied to the run."""
    import datetime as dt

    fetched = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
    with RunContext(session_factory) as run:
        run.log_lineage(
            table="market_jobs", source="bls_qcew", url="https://api.bls.gov/", fetched_at=fetched, hash="abc123"
        )
    with session_factory() as s:
        rows = s.scalars(select(Lineage).where(Lineage.run_id == run.id)).all()
    assert [(r.table, r.source, r.source_url, r.hash, r.direction) for r in rows] == [
        ("market_jobs", "bls_qcew", "https://api.bls.gov/", "abc123", "input")
    ]
    assert rows[0].fetched_at is not None
    assert rows[0].fetched_at.replace(tzinfo=None) == fetched.replace(tzinfo=None)


def test_lineage_kept_for_failed_run(session_factory: sessionmaker[Session]) -> None:
    """Inputs read before a failure stay recorded against the failed run."""
    with pytest.raises(RuntimeError), RunContext(session_factory) as run:
        run.log_lineage(table="market_jobs", source="file", url=None, fetched_at=None, hash="h")
        raise RuntimeError("late failure")
    with session_factory() as s:
        assert s.scalars(select(Lineage.hash).where(Lineage.run_id == run.id)).all() == ["h"]


def test_log_lineage_outside_context_raises(session_factory: sessionmaker[Session]) -> None:
    """log_lineage outside an active context is a clear error."""
    run = RunContext(session_factory)
    with pytest.raises(RunContextError, match="inside `with RunContext"):
        run.log_lineage(table="t", source="s", url=None, fetched_at=None, hash=None)


def test_entering_twice_is_an_error(session_factory: sessionmaker[Session]) -> None:
    """The same RunContext instance cannot be entered twice."""
    run = RunContext(session_factory)
    with run:
        pass
    with pytest.raises(RunContextError, match="already entered"), run:
        pass


def test_explicit_seed_and_git_sha(session_factory: sessionmaker[Session]) -> None:
    """An explicit seed (full 32-bit range) and git sha are recorded as given."""
    with RunContext(session_factory, seed=2**32 - 1, git_sha="cafebabe") as run:
        pass
    row = _run_row(session_factory, run.id)
    assert (row.seed, row.git_sha) == (2**32 - 1, "cafebabe")


def test_rng_is_deterministic_for_same_config(session_factory: sessionmaker[Session]) -> None:
    """Two runs with the same settings draw the same random numbers and get distinct ids."""
    with RunContext(session_factory) as a:
        draws_a = [a.rng.random() for _ in range(3)]
    with RunContext(session_factory) as b:
        draws_b = [b.rng.random() for _ in range(3)]
    assert draws_a == draws_b
    assert a.id != b.id


def test_out_of_range_seed_rejected(session_factory: sessionmaker[Session]) -> None:
    """A seed outside 32-bit unsigned range is rejected before anything is written."""
    with pytest.raises(RunContextError, match="32-bit"):
        RunContext(session_factory, seed=2**32)


def test_error_with_nul_is_recorded(session_factory: sessionmaker[Session]) -> None:
    """An error message containing NUL is still recorded (escaped), on both backends."""
    from aker_data.models import Run

    with pytest.raises(ValueError), RunContext(session_factory) as run:
        raise ValueError("bad\x00byte")
    with session_factory() as s:
        row = s.get(Run, run.id)
        assert row is not None and row.status == "failed" and row.error is not None and "\\x00" in row.error
