"""OpenLineage events of real `luigi` runs, captured by a real HTTP receiver on loopback (SQLite and PostgreSQL).

Every captured event is validated against the OpenLineage schema via the client package (the
classes ``openlineage-python`` generates from the spec, see ``openlineage_model.py``) and every
facet against the schema its ``_schemaURL`` names -- aker's own facets against the schemas aker ships.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from aker_data.engine import create_engine_from_url
from aker_data.migrate import upgrade
from aker_data.models import Run
from tests.tasks.luigiproc import aker_env, copy_sample, free_port, luigid, run_luigi, start_luigi
from tests.tasks.openlineage_model import AKER_SCHEMAS, InvalidEvent, validate_event

pytestmark = pytest.mark.slow

AS_OF = "2024-06-01"
GIT_SHA = "0123456789abcdef0123456789abcdef01234567"
#: The executed tasks of a cold graph, by job name (the ScoreMarkets wrapper runs nothing).
COLD_JOBS = sorted(
    [f"FetchSource.{d}" for d in ("markets", "market_supply", "market_jobs", "market_urban", "market_outdoors")]
    + [f"SourceVintages.{d}" for d in ("markets", "market_supply", "market_jobs", "market_urban", "market_outdoors")]
    + [f"ScorePillar.{p}" for p in ("supply", "jobs", "urban", "outdoor")]
    + ["ComposeScores", "PublishScores", "ExportScores.csv"]
)
PASSWORD = "pw-never-shown-4711"


# --- the receiver and the schema ---------------------------------------------------------------
class Receiver:
    """An OpenLineage HTTP endpoint on a loopback port that keeps every event it is sent."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.paths.append(self.path)
                receiver.events.append(json.loads(body))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver; every event it got is valid by the client's model at the end of the test."""
    with Receiver() as r:
        yield r
    for event in r.events:
        validate_event(event)
    assert all(p == "/api/v1/lineage" for p in r.paths)


# --- running the graph -------------------------------------------------------------------------
@pytest.fixture
def migrated(db_url: str) -> str:
    """The test database at head (the tasks never migrate PostgreSQL), with a password in its DSN."""
    engine = create_engine_from_url(db_url)
    upgrade(engine)
    engine.dispose()
    url = make_url(db_url)
    # PostgreSQL here trusts local connections: the password is ignored, but must never be shown.
    return url.set(password=PASSWORD).render_as_string(hide_password=False) if url.drivername != "sqlite" else db_url


def _env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = aker_env(tmp_path, tmp_path / "source", db_url, HOME=str(tmp_path / "home"), **extra)
    for key in [k for k in env if k.startswith("OPENLINEAGE") and k not in extra]:
        del env[key]
    return env


def _luigi(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    if not (tmp_path / "source").exists():
        copy_sample(tmp_path / "source")
    return run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", *args, cwd=tmp_path)


def _by_run(events: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    runs: dict[str, dict[str, dict[str, Any]]] = {}
    for event in events:
        runs.setdefault(event["run"]["runId"], {})[event["eventType"]] = event
    return runs


def _completed(events: list[dict[str, Any]], job: str) -> dict[str, Any]:
    [found] = [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == job]
    return found


def _aker_runs(db_url: str) -> dict[str, str]:
    engine = create_engine_from_url(db_url)
    with Session(engine) as s:
        rows = s.execute(select(Run.run_id, Run.task_family).where(Run.status == "completed")).all()
    engine.dispose()
    return {str(r): str(f) for r, f in rows}


# --- tests -------------------------------------------------------------------------------------
def test_each_executed_task_sends_start_then_complete(tmp_path: Path, migrated: str, receiver: Receiver) -> None:
    """With --workers 2, each executed task sends START and COMPLETE under aker's run id, linked to one invocation."""
    proc = _luigi(tmp_path, _env(tmp_path, migrated, OPENLINEAGE_URL=receiver.url), "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = _by_run(receiver.events)
    assert all(sorted(kinds) == ["COMPLETE", "START"] for kinds in runs.values())
    assert sorted(r["START"]["job"]["name"] for r in runs.values()) == COLD_JOBS
    for pair in runs.values():
        assert pair["START"]["eventTime"] <= pair["COMPLETE"]["eventTime"]
    assert set(runs) == set(_aker_runs(migrated))  # OpenLineage runId = aker's run id (a UUID)
    parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in receiver.events}
    assert len(parents) == 1 and uuid.UUID(parents.pop())
    assert {e["job"]["namespace"] for e in receiver.events} == {"aker"}
    assert PASSWORD not in json.dumps(receiver.events)


def test_datasets_are_named_by_location_with_schema_rows_hash_and_vintage(
    tmp_path: Path, migrated: str, receiver: Receiver
) -> None:
    """Inputs and outputs are files and the published table, with schema, row counts, content hashes, vintages."""
    proc = _luigi(tmp_path, _env(tmp_path, migrated, OPENLINEAGE_URL=receiver.url, OPENLINEAGE_NAMESPACE="desk"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = receiver.events
    assert {e["job"]["namespace"] for e in events} == {"desk"}

    fetch = _completed(events, "FetchSource.market_supply")
    [source] = fetch["inputs"]
    assert (source["namespace"], source["name"]) == ("file", str(tmp_path / "source" / "market_supply.csv"))
    [fetched] = fetch["outputs"]
    sidecar = json.loads(Path(fetched["name"] + ".json").read_text())
    assert fetched["namespace"] == "file" and Path(fetched["name"]).is_absolute()
    assert fetched["facets"]["aker_contentHash"]["contentHash"] == sidecar["content_hash"]
    assert [f["name"] for f in fetched["facets"]["schema"]["fields"]] == [c["name"] for c in sidecar["schema"]]
    assert fetched["outputFacets"]["outputStatistics"]["rowCount"] == sidecar["rows"]
    assert source["facets"]["aker_contentHash"]["contentHash"] == sidecar["source"]["content_hash"]
    assert source["inputFacets"]["inputStatistics"]["rowCount"] == sidecar["rows_in"]
    vintages = pc.min_max(pq.read_table(fetched["name"], columns=["data_vintage"])["data_vintage"]).as_py()
    assert source["inputFacets"]["aker_dataVintage"] == {
        **source["inputFacets"]["aker_dataVintage"],
        "minDataVintage": vintages["min"].isoformat(),
        "maxDataVintage": vintages["max"].isoformat(),
    }
    pillar = _completed(events, "ScorePillar.supply")
    assert pillar["inputs"][0]["name"] == fetched["name"]
    assert pillar["inputs"][0]["inputFacets"]["aker_dataVintage"] == source["inputFacets"]["aker_dataVintage"]

    publish = _completed(events, "PublishScores")
    [table] = publish["outputs"]
    url = make_url(migrated)
    if url.drivername == "sqlite":
        assert (table["namespace"], table["name"]) == (f"sqlite://{url.database}", "pillar_scores")
    else:
        schema = str(url.query["options"]).split("search_path=")[1]
        assert (table["namespace"], table["name"]) == (
            f"postgres://{url.host}:{url.port or 5432}",
            f"{url.database}.{schema}.pillar_scores",
        )
    assert "weighted_0_100" in [f["name"] for f in table["facets"]["schema"]["fields"]]
    assert table["facets"]["aker_contentHash"]["where"] == f"score_as_of = {AS_OF}"
    assert table["outputFacets"]["outputStatistics"]["rowCount"] == sidecar["rows"]
    export = _completed(events, "ExportScores.csv")
    assert (table["namespace"], table["name"]) in {(i["namespace"], i["name"]) for i in export["inputs"]}

    code = fetch["job"]["facets"]["aker_sourceCode"]
    assert code["gitSha"] == GIT_SHA and code["codeVersion"] == sidecar["code_version"]
    aker_run = fetch["run"]["facets"]["aker_run"]
    assert aker_run["akerRunId"] == sidecar["run_id"] == fetch["run"]["runId"]
    assert aker_run["params"] == {"as_of": AS_OF, "dataset": "market_supply"}
    assert PASSWORD not in json.dumps(events)


def test_failing_task_sends_fail_with_the_error(tmp_path: Path, migrated: str, receiver: Receiver) -> None:
    """A bad source file gives START then FAIL for its read, with aker's one-line error; nothing after it runs."""
    copy_sample(tmp_path / "source")
    path = tmp_path / "source" / "market_supply.csv"
    lines = path.read_text().splitlines()
    col = [c.strip('"') for c in lines[0].split(",")].index("vacancy_rate")
    cells = lines[1].split(",")
    cells[col] = "n/a%"
    path.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    proc = _luigi(tmp_path, _env(tmp_path, migrated, OPENLINEAGE_URL=receiver.url))
    assert proc.returncode == 30, proc.stderr[-3000:]
    failed = [e for e in receiver.events if e["eventType"] == "FAIL"]
    assert [e["job"]["name"] for e in failed] == ["SourceVintages.market_supply"]
    pair = _by_run(receiver.events)[failed[0]["run"]["runId"]]
    assert sorted(pair) == ["FAIL", "START"]
    error = failed[0]["run"]["facets"]["errorMessage"]
    assert error["programmingLanguage"] == "python"
    assert "DataValidationError" in error["message"] and "vacancy_rate" in error["message"]
    assert "stackTrace" not in error  # aker's own errors are one line, as on stderr
    jobs = {e["job"]["name"] for e in receiver.events}
    assert not jobs & {"FetchSource.market_supply", "ScorePillar.supply", "ComposeScores", "PublishScores"}
    assert PASSWORD not in json.dumps(receiver.events)


def test_task_failing_before_its_run_is_recorded_sends_its_own_start_and_fail(
    tmp_path: Path, sqlite_url: str, receiver: Receiver
) -> None:
    """A missing source file fails the read before aker records a run: a START/FAIL pair under a new run id."""
    copy_sample(tmp_path / "source")
    (tmp_path / "source" / "market_jobs.csv").unlink()
    proc = _luigi(tmp_path, _env(tmp_path, sqlite_url, OPENLINEAGE_URL=receiver.url))
    assert proc.returncode == 30, proc.stderr[-3000:]
    [failed] = [e for e in receiver.events if e["eventType"] == "FAIL"]
    assert failed["job"]["name"] == "SourceVintages.market_jobs"
    assert sorted(_by_run(receiver.events)[failed["run"]["runId"]]) == ["FAIL", "START"]
    assert "market_jobs" in failed["run"]["facets"]["errorMessage"]["message"]
    assert "aker_run" not in failed["run"]["facets"]  # aker recorded no run to point at
    assert failed["run"]["runId"] not in _aker_runs(sqlite_url)


def test_under_luigid_each_luigi_command_is_an_invocation(tmp_path: Path, sqlite_url: str, receiver: Receiver) -> None:
    """Two `luigi` commands (--workers 2 each) under one luigid: each task once, parented by the command that ran it."""
    copy_sample(tmp_path / "source")
    env = _env(tmp_path, sqlite_url, OPENLINEAGE_URL=receiver.url)
    with luigid(tmp_path / "luigid") as port:
        scheduler = ("--scheduler-host", "127.0.0.1", "--scheduler-port", str(port))
        procs = [
            start_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--workers", "2", *scheduler, cwd=tmp_path)
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n=====\n".join(o[-2500:] for o in outputs)
    runs = _by_run(receiver.events)
    assert all(sorted(kinds) == ["COMPLETE", "START"] for kinds in runs.values())
    assert sorted(r["START"]["job"]["name"] for r in runs.values()) == COLD_JOBS
    # Which command ran a task: its worker's pid appears in that command's own log.
    parent_of_command: dict[int, set[str]] = {0: set(), 1: set()}
    for pair in runs.values():
        start, complete = pair["START"], pair["COMPLETE"]
        parent = start["run"]["facets"]["parent"]["run"]["runId"]
        assert complete["run"]["facets"]["parent"]["run"]["runId"] == parent
        pid = start["run"]["facets"]["aker_run"]["pid"]
        [command] = [i for i, out in enumerate(outputs) if f"[pid {pid}] Worker" in out]
        parent_of_command[command].add(parent)
    assert all(len(ids) <= 1 for ids in parent_of_command.values())
    assert not parent_of_command[0] & parent_of_command[1]


def test_unreachable_database_fails_with_the_dsn_password_masked(tmp_path: Path, receiver: Receiver) -> None:
    """No database at the DSN: the tasks FAIL with errors naming the database, never its password."""
    dsn = f"postgresql+psycopg://analyst:{PASSWORD}@127.0.0.1:{free_port()}/aker"
    env = _env(tmp_path, dsn, OPENLINEAGE_URL=receiver.url, AKER_DB_CONNECT_TIMEOUT="2")
    proc = _luigi(tmp_path, env)
    assert proc.returncode == 30, proc.stderr[-3000:]
    failed = [e for e in receiver.events if e["eventType"] == "FAIL"]
    assert failed and all("127.0.0.1" in e["run"]["facets"]["errorMessage"]["message"] for e in failed)
    assert PASSWORD not in json.dumps(receiver.events)


def test_fully_cached_rerun_sends_nothing(tmp_path: Path, sqlite_url: str, receiver: Receiver) -> None:
    """A rerun that finds everything complete sends no event."""
    env = _env(tmp_path, sqlite_url, OPENLINEAGE_URL=receiver.url)
    assert _luigi(tmp_path, env).returncode == 0
    sent = len(receiver.events)
    assert sent == 2 * len(COLD_JOBS)
    second = _luigi(tmp_path, env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert len(receiver.events) == sent


def test_receiver_down_warns_once_and_the_run_succeeds(tmp_path: Path, sqlite_url: str) -> None:
    """Nothing listening on OPENLINEAGE_URL: the run succeeds, with one warning line and no long wait."""
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    proc = _luigi(tmp_path, _env(tmp_path, sqlite_url, OPENLINEAGE_URL=url))
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if "OpenLineage" in line]
    assert len(warnings) == 1, warnings
    assert url in warnings[0] and "WARNING" in warnings[0]
    assert elapsed < 30  # the HTTP transport alone would retry ~9 s for each of 24 events


def test_receiver_that_never_answers_costs_one_bounded_wait(tmp_path: Path, sqlite_url: str) -> None:
    """A receiver that accepts connections but never answers delays the run once, by the flush bound."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        proc = _luigi(tmp_path, _env(tmp_path, sqlite_url, OPENLINEAGE_URL=url))
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if "OpenLineage" in line]
    assert len(warnings) == 1 and "not delivered within 3 s" in warnings[0], warnings


def test_client_that_cannot_be_loaded_warns_once_and_the_run_succeeds(tmp_path: Path, sqlite_url: str) -> None:
    """OpenLineage configured but its client broken (an `openlineage` that fails to import): one warning, exit 0."""
    broken = tmp_path / "broken" / "openlineage"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('broken on purpose')\n")
    env = _env(tmp_path, sqlite_url, OPENLINEAGE_URL="http://127.0.0.1:9", PYTHONPATH=str(broken.parent))
    proc = _luigi(tmp_path, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if "OpenLineage" in line]
    assert len(warnings) == 1 and "broken on purpose" in warnings[0], warnings


def test_file_transport_from_openlineage_yml(tmp_path: Path, sqlite_url: str) -> None:
    """An openlineage.yml in the working directory (the client's own configuration) writes events to a file."""
    out = tmp_path / "events.jsonl"
    (tmp_path / "openlineage.yml").write_text(
        f"transport:\n  type: file\n  log_file_path: {out}\n  append: true\n", encoding="utf-8"
    )
    proc = _luigi(tmp_path, _env(tmp_path, sqlite_url))
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line) for line in out.read_text().splitlines()]
    for event in events:
        validate_event(event)
    assert sorted(e["job"]["name"] for e in events if e["eventType"] == "COMPLETE") == COLD_JOBS


LIGHT_RUN = """
import sys, luigi
from aker_tasks import ScoreMarkets
ok = luigi.build([ScoreMarkets(as_of="{as_of}")], local_scheduler=True, log_level="WARNING")
print(ok, sorted({{m for m in sys.modules if m.startswith("openlineage")}}))
"""


def test_nothing_configured_never_imports_the_client(tmp_path: Path, sqlite_url: str) -> None:
    """Without any OpenLineage configuration a run imports no part of the client (and sends nothing)."""
    copy_sample(tmp_path / "source")
    code = LIGHT_RUN.format(as_of=AS_OF)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(tmp_path, sqlite_url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-2:] == ["True", "[]"], proc.stdout


def test_cached_run_with_lineage_configured_imports_no_client(
    tmp_path: Path, sqlite_url: str, receiver: Receiver
) -> None:
    """With OPENLINEAGE_URL set, a fully cached run stays light: no task runs, so the client is not loaded."""
    env = _env(tmp_path, sqlite_url, OPENLINEAGE_URL=receiver.url)
    assert _luigi(tmp_path, env).returncode == 0
    code = LIGHT_RUN.format(as_of=AS_OF)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-2:] == ["True", "[]"], proc.stdout
    assert len(receiver.events) == 2 * len(COLD_JOBS)


# --- pure functions ---------------------------------------------------------------------------
def test_aker_facet_schemas_ship_with_the_package() -> None:
    """Each aker facet's _schemaURL names a schema file declared as package data, with that $id."""
    import tomllib

    from aker_tasks.openlineage import facets

    pyproject = tomllib.loads((AKER_SCHEMAS.parents[2] / "pyproject.toml").read_text())
    assert "schemas/*.json" in pyproject["tool"]["setuptools"]["package-data"]["aker_tasks.openlineage"]
    classes = [getattr(facets, name) for name in facets.__all__ if name.startswith("Aker")]
    for cls in classes:
        url = cls._get_schema()
        doc = json.loads((AKER_SCHEMAS / url.split("#")[0].split("/")[-1]).read_text())
        assert url.split("#")[0] == doc["$id"] and url.split("#/$defs/")[1] in doc["$defs"]


def test_non_uuid_run_id_maps_to_a_stable_uuid() -> None:
    """An aker run id that is not a UUID gives the same derived UUID every time; a UUID stays itself."""
    from aker_tasks.openlineage.emit import ol_run_id

    same = str(uuid.uuid4())
    assert ol_run_id(same) == same
    assert ol_run_id("run-42") == ol_run_id("run-42") != ol_run_id("run-43")
    assert uuid.UUID(ol_run_id("run-42"))


def test_error_facet_masks_secrets_in_message_and_stack_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error quoting the DSN or its password shows neither, in the message nor in the stack trace."""
    from aker_core.config import reset_settings
    from aker_tasks.openlineage.emit import _error_facet

    dsn = f"postgresql+psycopg://analyst:{PASSWORD}@db.example:5432/aker"
    monkeypatch.setenv("AKER_POSTGIS_DSN", dsn)
    reset_settings()
    try:
        raise RuntimeError(f"driver said: could not use {dsn} (password {PASSWORD})")
    except RuntimeError as e:
        facet = _error_facet(e)
    assert facet.message.startswith("RuntimeError: driver said") and facet.stackTrace
    assert PASSWORD not in facet.message and PASSWORD not in facet.stackTrace
    assert "***" in facet.message


def test_table_location_never_contains_credentials() -> None:
    """A PostgreSQL DSN with user and password names the table by host, port, database and schema only."""
    from aker_tasks.openlineage.datasets import table_location

    dsn = f"postgresql+psycopg://analyst:{PASSWORD}@db.example:6543/aker?options=-csearch_path%3Dscores"
    assert table_location(dsn, "pillar_scores") == ("postgres://db.example:6543", "aker.scores.pillar_scores")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, False),
        ({"OPENLINEAGE_URL": "http://127.0.0.1:5000"}, True),
        ({"OPENLINEAGE__TRANSPORT__TYPE": "console"}, True),
        ({"OPENLINEAGE_URL": "http://127.0.0.1:5000", "OPENLINEAGE_DISABLED": "true"}, False),
    ],
)
def test_configured_follows_the_client_configuration(
    variables: dict[str, str], expected: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`configured()` is true exactly where the client would find a transport."""
    from aker_tasks.openlineage import configured

    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    assert configured() is expected


# --- the validator itself ---------------------------------------------------------------------
def _sample_event() -> dict[str, Any]:
    """A valid event made of the client's classes and aker's facets, serialised by the client."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, RunEvent, RunState
    from openlineage.client.event_v2 import Run as OLRun
    from openlineage.client.facet_v2 import job_type_job, output_statistics_output_dataset, parent_run, schema_dataset
    from openlineage.client.serde import Serde

    from aker_tasks.openlineage import facets

    run_id, producer = str(uuid.uuid4()), facets.PRODUCER
    content_hash = facets.AkerContentHashDatasetFacet(contentHash="xxh3_128:0", producer=producer)
    event = RunEvent(
        eventType=RunState.START,
        eventTime="2024-06-01T10:00:00.123456+00:00",
        run=OLRun(
            runId=run_id,
            facets={
                "parent": parent_run.ParentRunFacet(
                    run=parent_run.Run(runId=str(uuid.uuid4())),
                    job=parent_run.Job(namespace="aker", name="luigi"),
                    producer=producer,
                ),
                "aker_run": facets.AkerRunFacet(
                    akerRunId=run_id, taskFamily="ComposeScores", taskId="ComposeScores_x", params={}, producer=producer
                ),
            },
        ),
        job=Job(
            namespace="aker",
            name="ComposeScores",
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration="LUIGI", jobType="TASK", producer=producer
                ),
                "aker_sourceCode": facets.AkerSourceCodeJobFacet(gitSha=GIT_SHA, producer=producer),
            },
        ),
        inputs=[
            InputDataset(
                namespace="file",
                name="/cache/in.parquet",
                facets={"aker_contentHash": content_hash},
                inputFacets={
                    "aker_dataVintage": facets.AkerDataVintageInputDatasetFacet(
                        minDataVintage="2024-01-01", maxDataVintage="2024-05-01", producer=producer
                    )
                },
            )
        ],
        outputs=[
            OutputDataset(
                namespace="file",
                name="/cache/out.parquet",
                facets={
                    "schema": schema_dataset.SchemaDatasetFacet(
                        fields=[schema_dataset.SchemaDatasetFacetFields(name="score", type="double")], producer=producer
                    )
                },
                outputFacets={
                    "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                        rowCount=3, producer=producer
                    )
                },
            )
        ],
        producer=producer,
    )
    return json.loads(Serde.to_json(event))


def _move_vintage_to_dataset_facets(event: dict[str, Any]) -> None:
    dataset = event["inputs"][0]
    dataset["facets"]["aker_dataVintage"] = dataset["inputFacets"].pop("aker_dataVintage")


BROKEN: list[Any] = [
    pytest.param(lambda e: e["job"].pop("name"), "/job/name: required by Job", id="missing-required-key"),
    pytest.param(lambda e: e.update(eventType="DONE"), "/eventType: 'DONE' is not one of", id="wrong-eventType"),
    pytest.param(
        lambda e: e["job"]["facets"]["jobType"].update(
            _schemaURL="https://openlineage.io/spec/facets/9-9-9/NoSuchJobFacet.json#/$defs/NoSuchJobFacet"
        ),
        "/job/facets/jobType: unknown facet schema",
        id="unknown-standard-facet-url",
    ),
    pytest.param(
        lambda e: e["job"]["facets"]["jobType"].pop("processingType"),
        "/job/facets/jobType/processingType: required by JobTypeJobFacet",
        id="standard-facet-missing-a-required-field",
    ),
    pytest.param(
        lambda e: e["run"]["facets"]["aker_run"].pop("akerRunId"),
        "/run/facets/aker_run: 'akerRunId' is a required property",
        id="aker-facet-missing-a-required-field",
    ),
    pytest.param(
        lambda e: e["run"]["facets"]["aker_run"].pop("_producer"),
        "/run/facets/aker_run/_producer: required by RunFacet",
        id="aker-facet-missing-its-producer",
    ),
    pytest.param(lambda e: e["run"].update(state="done"), "/run/state: unknown key in Run", id="unknown-key"),
    pytest.param(
        lambda e: e["outputs"][0]["outputFacets"]["outputStatistics"].update(rowCount="3"),
        "rowCount: expected int",
        id="wrong-type",
    ),
    pytest.param(
        lambda e: e["job"]["facets"]["jobType"].update(processingType="NIGHTLY"),
        "processingType: 'NIGHTLY' is not BATCH, STREAMING or SERVICE",
        id="wrong-job-type",
    ),
    pytest.param(lambda e: e.update(eventTime="2024-06-01T10:00:00"), "timestamp with a timezone", id="no-timezone"),
    pytest.param(
        lambda e: e["run"]["facets"]["parent"]["run"].update(runId="run-42"),
        "/run/facets/parent/run/runId: 'run-42' is not a UUID",
        id="run-id-not-a-uuid",
    ),
    pytest.param(
        _move_vintage_to_dataset_facets,
        "AkerDataVintageInputDatasetFacet does not extend DatasetFacet",
        id="input-facet-among-dataset-facets",
    ),
]


def test_validator_accepts_a_valid_event() -> None:
    """An event built from the client's classes and aker's facets passes (so each rejection below is for its cause)."""
    validate_event(_sample_event())


@pytest.mark.parametrize(("breakage", "expected"), BROKEN)
def test_validator_rejects_an_event_breaking_the_model(
    breakage: Callable[[dict[str, Any]], object], expected: str
) -> None:
    """One broken rule (missing key, wrong enum or type, unknown facet schema, ...) fails validation, naming it."""
    event = copy.deepcopy(_sample_event())
    breakage(event)
    with pytest.raises(InvalidEvent) as caught:
        validate_event(event)
    assert any(expected in error for error in caught.value.errors), caught.value.errors
