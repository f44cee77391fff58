"""One way errors reach a user: one line naming the problem, no traceback, a documented exit code."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from aker_core.exceptions import DataValidationError
from aker_tasks.luigi_setup import OneLineErrors
from tests.tasks.luigiproc import aker_env, copy_sample, run_luigi

AS_OF = "2024-06-01"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A configuration on a copy of the sample with its own cache and SQLite database."""
    return aker_env(tmp_path, copy_sample(tmp_path / "source"), f"sqlite:///{tmp_path / 'db.sqlite'}")


def _local(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_luigi(env, "ScoreMarkets", *args, "--local-scheduler", cwd=cwd)


def test_bad_cell_is_one_error_line_without_traceback(env: dict[str, str], tmp_path: Path) -> None:
    """A bad CSV cell fails with exit 30 and one ERROR line naming dataset, column and row; no traceback."""
    supply = Path(env["AKER_SOURCE_URI"]) / "market_supply.csv"
    lines = supply.read_text().splitlines()
    col = [c.strip('"') for c in lines[0].split(",")].index("vacancy_rate")
    cells = lines[1].split(",")
    cells[col] = "n/a%"
    lines[1] = ",".join(cells)
    supply.write_text("\n".join(lines) + "\n")
    proc = _local(env, tmp_path, "--as-of", AS_OF)
    assert proc.returncode == 30
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1
    assert "market_supply" in errors[0] and "vacancy_rate" in errors[0] and "row 1" in errors[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--as-of", "2024-13-01"], "--as-of"),
        (["--as-of", "last tuesday"], "--as-of"),
        (["--as-of", AS_OF, "--weights", "notjson"], "--weights"),
        (["--as-of", AS_OF, "--weights", "[1, 2]"], "--weights"),
        (["--as-of", AS_OF, "--weights", '{"supply": -1, "jobs": 1, "urban": 1, "outdoor": 1}'], "supply"),
        (["--as-of", AS_OF, "--weights", '{"supply": 1}'], "jobs"),
    ],
)
def test_bad_command_line_value_exits_2_in_one_line(
    env: dict[str, str], tmp_path: Path, args: list[str], named: str
) -> None:
    """An invalid --as-of or --weights exits 2 with one line naming it, before anything runs."""
    proc = _local(env, tmp_path, *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("aker: ") and named in last
    assert not (tmp_path / "cache" / "targets").exists()


def test_as_of_accepts_year_month(env: dict[str, str], tmp_path: Path) -> None:
    """--as-of 2024-06 means the first of June, as the README promises."""
    proc = _local(env, tmp_path, "--as-of", "2024-06")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "cache" / "targets" / "FetchSource" / "2024-06-01").is_dir()


def test_unparseable_setting_exits_2_naming_the_variable(env: dict[str, str], tmp_path: Path) -> None:
    """AKER_WEIGHTS that is not JSON: exit 2 and one line naming AKER_WEIGHTS, for luigi and `aker config`."""
    env["AKER_WEIGHTS"] = '{"supply":'
    proc = _local(env, tmp_path, "--as-of", AS_OF)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout and "AKER_WEIGHTS" in proc.stderr
    config = subprocess.run(
        [sys.executable, "-m", "aker_core.config", "--show-effective"], env=env, capture_output=True, text=True
    )
    assert config.returncode == 2 and "AKER_WEIGHTS" in config.stderr and "Traceback" not in config.stderr


def _record(error: BaseException, message: str = "failed task") -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        return logging.getLogger("luigi-interface").makeRecord(
            "luigi-interface", logging.ERROR, __file__, 1, message, (), sys.exc_info()
        )


def test_filter_keeps_tracebacks_of_unexpected_errors() -> None:
    """Only aker's own errors lose their traceback; a bug keeps it."""
    record = _record(KeyError("boom"))
    assert OneLineErrors().filter(record) and record.exc_info is not None


def test_filter_makes_aker_errors_one_line() -> None:
    """An aker error becomes one line carrying its message."""
    record = _record(DataValidationError("dataset 'markets': column 'name' missing"))
    assert OneLineErrors().filter(record)
    assert record.exc_info is None and "column 'name' missing" in record.getMessage()
