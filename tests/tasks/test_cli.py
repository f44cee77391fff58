"""The real `luigi` command: exit codes, and a run under a real luigid on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from aker_tasks.luigi_setup import CONFIG_PATH

ROOT = Path(__file__).resolve().parents[2]
LUIGI = str(Path(sys.executable).parent / "luigi")
#: Every task of the graph, as the scheduler lists them (sorted).
ALL_FAMILIES = sorted(
    ["ComposeScores", "ExportScores", *["FetchSource"] * 5, "PublishScores", "ScoreMarkets", *["ScorePillar"] * 4]
    + ["SourceVintages"] * 5
)


def _env(tmp_path: Path, source_dir: Path, **extra: str) -> dict[str, str]:
    # No LUIGI_CONFIG_PATH: `import aker_tasks` loads aker's packaged luigi.cfg (exit codes etc.).
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKER_") and k != "LUIGI_CONFIG_PATH"}
    env.update(
        AKER_CACHE_PATH=str(tmp_path / "cache"),
        AKER_SOURCE_URI=str(source_dir),
        AKER_ENV_FILE=str(tmp_path / "no.env"),
        **extra,
    )
    return env


def _luigi(env: dict[str, str], *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LUIGI, "--module", "aker_tasks", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
def test_luigi_command_succeeds_then_is_cached(source_dir: Path, tmp_path: Path) -> None:
    """`luigi ... ScoreMarkets --local-scheduler` exits 0, and a rerun runs nothing."""
    env = _env(tmp_path, source_dir)
    first = _luigi(env, "ScoreMarkets", "--as-of", "2024-06-01", "--local-scheduler")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "ran successfully" in first.stderr or ":)" in first.stderr
    second = _luigi(env, "ScoreMarkets", "--as-of", "2024-06-01", "--local-scheduler")
    assert second.returncode == 0
    assert "were already done" in second.stderr or "complete ones were encountered" in second.stderr
    assert "ran successfully" not in second.stderr


def test_luigi_command_exits_nonzero_on_bad_input(source_dir: Path, tmp_path: Path) -> None:
    """A source with text in a metric column makes the command exit with task_failed (30)."""
    path = source_dir / "market_supply.csv"
    lines = path.read_text().splitlines()
    header = [c.strip('"') for c in lines[0].split(",")]
    col = header.index("vacancy_rate")
    cells = lines[1].split(",")
    cells[col] = "n/a%"
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    proc = _luigi(_env(tmp_path, source_dir), "ScoreMarkets", "--as-of", "2024-06-01", "--local-scheduler")
    assert proc.returncode == 30, proc.stderr[-3000:]
    assert "market_supply" in proc.stderr and "vacancy_rate" in proc.stderr


def test_luigi_command_rejects_bad_weights(source_dir: Path, tmp_path: Path) -> None:
    """Invalid --weights fail scheduling with a non-zero exit naming the problem."""
    proc = _luigi(
        _env(tmp_path, source_dir),
        "ScoreMarkets",
        "--as-of",
        "2024-06-01",
        "--local-scheduler",
        "--weights",
        '{"supply": -1, "jobs": 1, "urban": 1, "outdoor": 1}',
    )
    assert proc.returncode != 0
    assert "supply" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


@pytest.mark.slow
def test_graph_under_real_luigid(source_dir: Path, tmp_path: Path) -> None:
    """Under a luigid on a loopback port every task ends DONE in the scheduler's API."""
    port = _free_port()
    state = tmp_path / "luigid"
    state.mkdir()
    # luigid with aker's scheduler settings (what `aker luigid` starts).
    luigid_env = {k: v for k, v in os.environ.items() if not k.startswith("AKER_")}
    luigid_env["LUIGI_CONFIG_PATH"] = str(CONFIG_PATH)
    luigid = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "luigid"),
            "--address",
            "127.0.0.1",
            "--port",
            str(port),
            "--state-path",
            str(state / "state.pickle"),
            "--logdir",
            str(state),
        ],
        cwd=state,
        env=luigid_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/graph", time.monotonic() + 30)
        proc = _luigi(
            _env(tmp_path, source_dir),
            "ScoreMarkets",
            "--as-of",
            "2024-06-01",
            "--scheduler-host",
            "127.0.0.1",
            "--scheduler-port",
            str(port),
            "--workers",
            "2",
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        query = urllib.request.quote(json.dumps({"status": "DONE"}))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/task_list?data={query}", timeout=5) as r:
            done = json.loads(r.read())["response"]
        fams = sorted(t["name"] for t in done.values())
        assert fams == ALL_FAMILIES
    finally:
        luigid.terminate()
        luigid.wait(timeout=10)


def test_a_reader_that_stops_reading_gets_no_traceback(source_dir: Path, tmp_path: Path) -> None:
    """`aker ... | head`: a closed output pipe ends aker quietly, exit 141 (as SIGPIPE would), nothing on stderr."""
    aker = subprocess.Popen(
        [str(Path(sys.executable).parent / "aker"), "config"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp_path, source_dir),
    )
    assert aker.stdout is not None
    aker.stdout.close()  # the reader is gone before aker writes its first line
    _, err = aker.communicate(timeout=60)
    assert (aker.returncode, err.decode()) == (141, "")
