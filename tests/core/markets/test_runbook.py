"""The README runbook block works verbatim against a migrated database with the sample loaded."""

from __future__ import annotations

import contextlib
import io
import re

from sqlalchemy import func, select

from aker_core.sample.__main__ import main as sample_main
from aker_data.engine import create_engine_from_url
from aker_data.models import PillarScore, Run

RUNBOOK = """
from sqlalchemy.orm import sessionmaker
from aker_core.config import Settings
from aker_core.run import RunContext
from aker_core.markets.service import PillarScoreService
from aker_data.engine import create_engine_from_url
settings = Settings()
engine = create_engine_from_url(settings.postgis_dsn.get_secret_value())
Session = sessionmaker(bind=engine)
with RunContext(Session) as run:
    service = PillarScoreService(run.session)
    service.refresh_many(as_of="2024-06-01", run_id=run.id)
    print(f"run_id={run.id}", run.git_sha, run.config_hash)
"""


def test_runbook_block(engine, db_url, monkeypatch):
    """Loading the sample then running the runbook stores 43 scores tied to a completed run."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", db_url)
    assert sample_main(["load"]) == 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(RUNBOOK, "runbook", "exec"), {})
    run_id = re.search(r"run_id=(\S+)", out.getvalue()).group(1)  # type: ignore[union-attr]
    check = create_engine_from_url(db_url)
    try:
        with check.connect() as conn:
            assert conn.scalar(select(Run.status).where(Run.run_id == run_id)) == "completed"
            stored = conn.scalar(select(func.count()).select_from(PillarScore).where(PillarScore.run_id == run_id))
            assert stored == 43
    finally:
        check.dispose()
