"""Packaging: a wheel carries its migrations, Luigi defaults and typing markers, and works installed.

The slow tests build a wheel from a clean copy of the source tree, install it into a fresh
virtual environment (dependencies from the package index) and run aker from an empty directory
with no repository, no ``alembic.ini``, no ``luigi.cfg`` and no ``PYTHONPATH`` around.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aker_data.migrate import HEAD, MIGRATIONS_DIR, alembic_config

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("aker_core", "aker_data", "aker_tasks")
AS_OF = "2024-06-01"
#: Luigi's exit code for a failed task, set by the packaged aker_tasks/luigi.cfg.
TASK_FAILED = 30


def _package_data() -> dict[str, list[str]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return dict(tomllib.load(f)["tool"]["setuptools"]["package-data"])


def _declared(path: Path) -> bool:
    """Whether ``path`` (under ROOT) matches a package-data glob of its package."""
    for package, globs in _package_data().items():
        base = ROOT / package.replace(".", "/")
        if path.is_relative_to(base) and any(fnmatch.fnmatch(str(path.relative_to(base)), g) for g in globs):
            return True
    return False


def test_alembic_config_needs_no_ini() -> None:
    """alembic_config() is built in code and points at the migrations inside aker_data."""
    cfg = alembic_config()
    assert cfg.config_file_name is None
    assert Path(cfg.get_main_option("script_location") or "") == MIGRATIONS_DIR
    assert MIGRATIONS_DIR.parent == ROOT / "aker_data"


def test_package_data_declares_every_migration() -> None:
    """env.py, script.py.mako and every revision are declared as package data."""
    files = [MIGRATIONS_DIR / "env.py", MIGRATIONS_DIR / "script.py.mako", *MIGRATIONS_DIR.glob("versions/*.py")]
    assert len(files) >= 5
    assert [f for f in files if not _declared(f)] == []


def test_package_data_declares_luigi_cfg_and_typing_markers() -> None:
    """aker_tasks/luigi.cfg and each package's py.typed exist and are declared as package data."""
    files = [ROOT / "aker_tasks" / "luigi.cfg", *(ROOT / p / "py.typed" for p in PACKAGES)]
    assert [f for f in files if not (f.is_file() and _declared(f))] == []


def test_console_script_is_declared() -> None:
    """pyproject.toml declares the `aker` console script."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert tomllib.load(f)["project"]["scripts"] == {"aker": "aker_tasks.cli:main"}


# --- an installed wheel -----------------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    """A wheel of this tree and a fresh virtual environment it is installed in."""

    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        """The venv's scripts directory."""
        return self.venv / "bin"


def _ignore(directory: str, names: list[str]) -> set[str]:
    """What a clean checkout would not have (plus the git history, which a build does not need)."""
    junk = {".git", ".venv", "build", "dist", "__pycache__", ".aker-cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
    if Path(directory) == ROOT / "benchmarks":
        junk.add("out")
    return {n for n in names if n in junk or n.endswith(".egg-info")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """Build a wheel from a clean copy of the tree and install it into a new venv."""
    base = tmp_path_factory.mktemp("packaging")
    # A copy: building in place would reuse (and could ship stale files from) ./build.
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=_ignore)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LUIGI_CONFIG_PATH")}
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", dist, source], env=env, check=True, timeout=600)
    (wheel,) = dist.glob("aker-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], env=env, check=True, timeout=300)
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "install", "-q", wheel],
        env=env,
        check=True,
        timeout=900,
    )
    yield Installed(wheel=wheel, venv=venv)


def _run(installed: Installed, tmp_path: Path, *cmd: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run a venv command from an empty directory with only the given AKER_* settings."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    env = {
        "PATH": f"{installed.bin}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "AKER_CACHE_PATH": str(tmp_path / "cache"),
        **extra,
    }
    return subprocess.run(
        [str(installed.bin / cmd[0]), *cmd[1:]],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _score(installed: Installed, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    args = ("luigi", "--module", "aker_tasks", "ScoreMarkets", "--as-of", AS_OF, "--local-scheduler")
    return _run(installed, tmp_path, *args, **extra)


@pytest.mark.slow
def test_wheel_ships_migrations_luigi_cfg_and_markers(installed: Installed) -> None:
    """The wheel holds the Alembic script directory, luigi.cfg, py.typed and the entry point."""
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    revisions = {f"aker_data/migrations/versions/{p.name}" for p in MIGRATIONS_DIR.glob("versions/*.py")}
    expected = {
        "aker_data/migrations/env.py",
        "aker_data/migrations/script.py.mako",
        "aker_tasks/luigi.cfg",
        *(f"{p}/py.typed" for p in PACKAGES),
        *revisions,
    }
    assert expected - names == set()
    assert not [n for n in names if "__pycache__" in n or n.startswith("migrations/")]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "aker = aker_tasks.cli:main" in zipfile.ZipFile(installed.wheel).read(entry_points).decode()


@pytest.mark.slow
def test_installed_packages_come_from_the_venv(installed: Installed, tmp_path: Path) -> None:
    """From an empty directory the venv imports aker from its site-packages, not from this tree."""
    code = "import aker_core, aker_data, aker_tasks; print(aker_core.__file__, aker_data.__file__, aker_tasks.__file__)"
    proc = _run(installed, tmp_path, "python", "-c", code)
    assert proc.returncode == 0, proc.stderr
    files = [Path(f) for f in proc.stdout.split()]
    assert all(f.is_relative_to(installed.venv) and "site-packages" in f.parts for f in files), files


@pytest.mark.slow
def test_installed_db_upgrade_from_empty_directory(installed: Installed, tmp_path: Path) -> None:
    """`aker db upgrade` of an installed wheel migrates the embedded database to head."""
    proc = _run(installed, tmp_path, "aker", "db", "upgrade")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"database sqlite:///{tmp_path / 'cache' / 'aker.db'} at revision {HEAD}\n"


@pytest.mark.slow
def test_installed_score_markets_and_show(installed: Installed, tmp_path: Path) -> None:
    """An installed wheel scores the bundled sample with luigi and `aker show` lists the markets."""
    assert _run(installed, tmp_path, "aker", "db", "upgrade").returncode == 0
    scored = _score(installed, tmp_path)
    assert scored.returncode == 0, scored.stdout + scored.stderr
    shown = _run(installed, tmp_path, "aker", "show", "--as-of", AS_OF)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "markets with a composite" in shown.stdout


@pytest.mark.slow
def test_installed_failing_run_exits_task_failed(installed: Installed, tmp_path: Path) -> None:
    """A run whose source fails validation exits 30, the packaged luigi.cfg's task_failed code."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "aker_core" / "sample" / "data", source)
    supply = source / "market_supply.csv"
    header, first, *rest = supply.read_text().splitlines()
    cells = first.split(",")
    cells[header.split(",").index('"vacancy_rate"')] = "n/a%"
    supply.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")
    assert _run(installed, tmp_path, "aker", "db", "upgrade").returncode == 0
    proc = _score(installed, tmp_path, AKER_SOURCE_URI=str(source))
    assert proc.returncode == TASK_FAILED, proc.stdout + proc.stderr
