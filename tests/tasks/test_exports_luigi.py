"""Stable exports from real `luigi` and `aker export` processes (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pyarrow.csv as pacsv
import pytest

from aker_data.engine import create_engine_from_url
from aker_data.migrate import upgrade
from aker_tasks.exports.dictionary import render_markdown
from aker_tasks.exports.stable import replace_atomically
from tests.tasks.luigiproc import aker_env, copy_sample, run_luigi

AS_OF = "2024-06-01"
AKER = str(Path(sys.executable).parent / "aker")


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    """A migrated database and a copy of the sample for one aker configuration."""
    engine = create_engine_from_url(db_url)
    upgrade(engine)
    engine.dispose()
    return aker_env(tmp_path, copy_sample(tmp_path / "source"), db_url)


def _aker(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AKER, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180, check=False)


def _bump(source: Path, step: float) -> None:
    """Change every market's unemployment rate, so the next run publishes other scores."""
    import pyarrow.compute as pc

    path = source / "market_jobs.csv"
    table = pacsv.read_csv(path)
    i = table.column_names.index("unemployment_rate")
    pacsv.write_csv(table.set_column(i, "unemployment_rate", pc.add(table["unemployment_rate"], step)), path)


def test_aker_export_prints_the_stable_path(env: dict[str, str], tmp_path: Path) -> None:
    """`aker export` builds the graph, prints the stable path, and a second call reuses it."""
    done = _aker(env, tmp_path, "export", "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr[-3000:]
    path = Path(done.stdout.strip())
    assert path == tmp_path / "cache" / "exports" / AS_OF / "scores.csv"
    assert pacsv.read_csv(path).num_rows == 43
    again = _aker(env, tmp_path, "export", "--as-of", AS_OF, "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    doc = orjson.loads(again.stdout)
    assert doc["path"] == str(path) and doc["ran"] == [] and doc["rows"] == 43
    assert Path(doc["target"]).read_bytes() == path.read_bytes()
    shown = _aker(env, tmp_path, "show", "--as-of", AS_OF)
    assert shown.returncode == 0, shown.stderr
    assert f"export     {path}\n" in shown.stdout


def test_aker_show_marks_an_export_of_other_scores(env: dict[str, str], tmp_path: Path) -> None:
    """After the date is republished with other weights, `aker show` says the default export is not current."""
    assert _aker(env, tmp_path, "export", "--as-of", AS_OF).returncode == 0
    other = '{"supply": 0.4, "jobs": 0.3, "urban": 0.2, "outdoor": 0.1}'
    assert _aker(env, tmp_path, "export", "--as-of", AS_OF, "--weights", other).returncode == 0
    shown = _aker(env, tmp_path, "show", "--as-of", AS_OF)
    stable = tmp_path / "cache" / "exports" / AS_OF / "scores.csv"
    assert f"export     {stable}  (not these scores" in shown.stdout
    variant = _aker(env, tmp_path, "show", "--as-of", AS_OF, "--weights", other)
    assert f"export     {stable.with_name('scores.supply-40_jobs-30_urban-20_outdoor-10.csv')}\n" in variant.stdout


def test_aker_export_rejects_a_bad_date_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    """A bad --as-of is one line on stderr naming it, exit 2, nothing written."""
    done = _aker(env, tmp_path, "export", "--as-of", "2024-13-01")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "2024-13-01" in done.stderr
    assert not (tmp_path / "cache" / "exports").exists()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_aker_export_describe_prints_the_dictionary(tmp_path: Path, db_url: str) -> None:
    """--describe prints every column; --markdown is the README copy; --json is machine-readable."""
    env = aker_env(tmp_path, tmp_path, db_url)
    text = _aker(env, tmp_path, "export", "--describe")
    assert text.returncode == 0 and "rank_change" in text.stdout and "unemployment_rate" in text.stdout
    markdown = _aker(env, tmp_path, "export", "--describe", "--markdown")
    assert markdown.stdout.strip() == render_markdown().strip()
    doc = orjson.loads(_aker(env, tmp_path, "export", "--describe", "--json").stdout)
    assert doc["columns"][0]["name"] == "as_of" and len(doc["metrics"]) > 40


def test_reruns_replace_the_stable_file_atomically(env: dict[str, str], tmp_path: Path) -> None:
    """While luigi reruns replace scores.csv, a reader never sees a partial file; the variant stays."""
    source = Path(env["AKER_SOURCE_URI"])
    other = '{"supply": 0.4, "jobs": 0.3, "urban": 0.2, "outdoor": 0.1}'
    done = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--weights", other, "--local-scheduler", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    variant = tmp_path / "cache" / "exports" / AS_OF / "scores.supply-40_jobs-30_urban-20_outdoor-10.csv"
    variant_bytes, variant_mtime = variant.read_bytes(), variant.stat().st_mtime_ns
    stable = tmp_path / "cache" / "exports" / AS_OF / "scores.csv"
    seen: set[str] = set()
    bad: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                data = stable.read_bytes()
            except FileNotFoundError:
                continue  # before the first run
            lines = data.splitlines()
            if len(lines) != 44 or not data.endswith(b"\n"):
                bad.append(f"{len(data)} bytes, {len(lines)} lines")
            seen.add(hashlib.sha256(data).hexdigest())

    reader = threading.Thread(target=read)
    reader.start()
    versions = set()
    try:
        for step in (0.5, 0.5, 0.5):
            done = run_luigi(env, "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler", cwd=tmp_path)
            assert done.returncode == 0, done.stdout[-3000:]
            versions.add(hashlib.sha256(stable.read_bytes()).hexdigest())
            _bump(source, step)
    finally:
        stop.set()
        reader.join()
    assert not bad, bad[:5]
    assert len(versions) == 3 and seen <= versions
    assert variant.read_bytes() == variant_bytes and variant.stat().st_mtime_ns == variant_mtime
    assert not [p.name for p in stable.parent.iterdir() if p.name.startswith(".")]  # no temporary left


def test_replace_atomically_under_a_busy_reader(tmp_path: Path) -> None:
    """Hundreds of replacements of a 2 MB file: every read is one complete version, never a mix."""
    sources = []
    for i, size in enumerate((2_000_000, 1_000_000)):
        path = tmp_path / f"v{i}"
        path.write_bytes(bytes([65 + i]) * size)
        sources.append(path)
    dest = tmp_path / "out" / "scores.csv"
    replace_atomically(sources[0], dest)
    wanted = {p.read_bytes() for p in sources}
    bad: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            data = dest.read_bytes()
            if data not in wanted:
                bad.append(len(data))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(200):
            replace_atomically(sources[i % 2], dest)
    finally:
        stop.set()
        reader.join()
    assert not bad, bad[:5]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["scores.csv"]
