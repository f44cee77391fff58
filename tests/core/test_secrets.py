"""Secrets are never stored or printed in clear (issue #11, item 9).

Every secret-bearing setting (the database DSN, the Pushgateway URL with ``user:password@``, the
API keys) is a ``SecretStr``; the config snapshot stored in ``runs.config_json``,
``--show-effective`` (table and JSON) and the logs mask them. The end-to-end test runs the
pipeline once with every secret set to a distinctive value and searches everything it leaves
behind -- its output, the database (file bytes or rows), sidecars, targets and exports.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from aker_core.config import Settings
from aker_core.config.settings import SECRET_FIELDS
from aker_core.redact import redact, secret_values
from aker_data.engine import create_engine_from_url
from tests.tasks.luigiproc import aker_env, copy_sample, free_port, run_luigi

DSN_PASSWORD = "Dsn-Pa55-7q1x"
PUSH_PASSWORD = "Push-Pa55-9k2w"
BLS_KEY = "bls-key-4f8e2a"
CENSUS_KEY = "census-key-6d1c0b"


def _secret_env(dsn: str, push_port: int) -> dict[str, str]:
    return {
        "AKER_POSTGIS_DSN": dsn,
        "AKER_PUSHGATEWAY_URL": f"http://pushuser:{PUSH_PASSWORD}@127.0.0.1:{push_port}",
        "AKER_BLS_API_KEY": BLS_KEY,
        "AKER_CENSUS_API_KEY": CENSUS_KEY,
    }


def _secrets(dsn_password: str | None = DSN_PASSWORD) -> list[str]:
    return [s for s in (dsn_password, PUSH_PASSWORD, BLS_KEY, CENSUS_KEY) if s]


def test_secret_fields_are_exactly_the_secret_typed_ones() -> None:
    """SECRET_FIELDS lists every SecretStr field, and every field whose name says secret is one."""
    typed = {
        name
        for name, field in Settings.model_fields.items()
        if SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
    }
    assert typed == set(SECRET_FIELDS)
    suspicious = {
        name
        for name in Settings.model_fields
        if name.endswith(("_dsn", "_url", "_key", "_password", "_token", "_secret"))
    }
    assert suspicious <= set(SECRET_FIELDS)


def test_snapshot_masks_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """runs.config_json's snapshot keeps what is useful (user, host) and drops every secret."""
    for key, value in _secret_env(f"postgresql://aker:{DSN_PASSWORD}@db.example/aker", 9091).items():
        monkeypatch.setenv(key, value)
    snapshot = Settings().snapshot()
    dumped = orjson.dumps(snapshot).decode()
    for secret in _secrets():
        assert secret not in dumped
    assert snapshot["pushgateway_url"] == "http://pushuser:***@127.0.0.1:9091"
    assert snapshot["postgis_dsn"] == "postgresql://aker:***@db.example/aker"
    assert (snapshot["bls_api_key"], snapshot["census_api_key"]) == ("set", "set")
    assert list(snapshot) == list(Settings.model_fields)


def test_pushgateway_url_is_secret_but_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL is a SecretStr (repr and dumps hide it); .pushgateway gives it to the code that pushes."""
    url = f"http://pushuser:{PUSH_PASSWORD}@gw.example:9091"
    monkeypatch.setenv("AKER_PUSHGATEWAY_URL", url)
    settings = Settings()
    assert isinstance(settings.pushgateway_url, SecretStr)
    assert settings.pushgateway == url
    assert PUSH_PASSWORD not in repr(settings) + str(settings.model_dump())
    # The log redactor knows it: the password and the whole URL are masked.
    masked = redact(f"pushing to {url} failed", secret_values(settings))
    assert PUSH_PASSWORD not in masked and "***" in masked


def test_empty_secret_settings_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """`AKER_PUSHGATEWAY_URL=` (as in .env.example) is no Pushgateway, not an empty one."""
    for name in ("AKER_PUSHGATEWAY_URL", "AKER_BLS_API_KEY", "AKER_CENSUS_API_KEY"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert (settings.pushgateway_url, settings.bls_api_key, settings.census_api_key) == (None, None, None)
    assert settings.pushgateway is None


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_show_effective_masks_every_secret(tmp_path: Path, as_json: bool) -> None:
    """`python -m aker_core.config --show-effective [--json]` in a real process: no secret printed."""
    env = aker_env(tmp_path, tmp_path, f"postgresql://aker:{DSN_PASSWORD}@db.example/aker")
    env.update(_secret_env(env["AKER_POSTGIS_DSN"], 9091))
    args = [sys.executable, "-m", "aker_core.config", "--show-effective", *(["--json"] if as_json else [])]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    for secret in _secrets():
        assert secret not in proc.stdout + proc.stderr
    assert "http://pushuser:***@127.0.0.1:9091" in proc.stdout
    if as_json:
        shown = orjson.loads(proc.stdout)["settings"]
        assert shown["pushgateway_url"]["value"] == "http://pushuser:***@127.0.0.1:9091"
        assert shown["bls_api_key"]["value"] == "**********"


def _files_holding(root: Path, secrets: list[str]) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {s}" for s in secrets if s.encode() in data]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_pipeline_run_leaves_no_secret_anywhere(tmp_path: Path, request: pytest.FixtureRequest, backend: str) -> None:
    """One pipeline run with every secret set (DEBUG logging, a Pushgateway that refuses, so its
    failures are logged): no secret in its output, the database, the sidecars, targets or export."""
    push_port = free_port()  # nothing listens: every push fails and is logged
    if backend == "sqlite":
        dsn, dsn_password = f"sqlite:///{tmp_path / 'cache' / 'aker.db'}", None  # SQLite has no password
    else:
        url = make_url(request.getfixturevalue("postgres_url"))
        # Trust authentication ignores a password; a server that needs one already has it in the URL.
        dsn_password = url.password or DSN_PASSWORD
        dsn = url.set(password=dsn_password).render_as_string(hide_password=False)
    secrets = _secrets(str(dsn_password) if dsn_password else None)
    source = copy_sample(tmp_path / "source")
    env = aker_env(tmp_path, source, dsn, AKER_LOG_LEVEL="DEBUG", **_secret_env(dsn, push_port))
    env["AKER_POSTGIS_DSN"] = dsn
    if backend == "postgresql":
        upgrade = subprocess.run(
            [str(Path(sys.executable).parent / "aker"), "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert upgrade.returncode == 0, upgrade.stderr
        assert not [s for s in secrets if s in upgrade.stdout + upgrade.stderr]
    proc = run_luigi(env, "ScoreMarkets", "--as-of", "2024-06-01", "--local-scheduler", cwd=tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "could not push metrics" in output  # the Pushgateway's failures were logged ...
    assert "http://127.0.0.1:" in output  # ... naming it without its credentials
    assert [s for s in secrets if s in output] == []
    # Every file the run left: database (and its WAL), targets, sidecars, the export.
    assert _files_holding(tmp_path / "cache", secrets) == []
    engine = create_engine_from_url(dsn)
    with engine.connect() as conn:
        stored = [
            *conn.execute(text("SELECT config_json, task_params, error FROM runs")).all(),
            *conn.execute(text("SELECT source_url, path, hash FROM lineage")).all(),
        ]
        snapshot = conn.execute(text("SELECT config_json FROM runs")).scalars().first()
    engine.dispose()
    assert stored
    text_stored = repr(stored)
    assert [s for s in secrets if s in text_stored] == []
    config = orjson.loads(snapshot) if isinstance(snapshot, str | bytes) else snapshot
    assert config["pushgateway_url"] == f"http://pushuser:***@127.0.0.1:{push_port}"
    assert config["bls_api_key"] == "set"


def test_env_example_names_every_setting_and_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """.env.example lists every setting, and uncommenting all of it gives valid settings."""
    example = Path(__file__).resolve().parents[2] / ".env.example"
    lines = [line.removeprefix("# ") for line in example.read_text().splitlines() if line.startswith("# AKER_")]
    named = {line.split("=", 1)[0].split("__", 1)[0] for line in lines}
    assert named == {f"AKER_{field.upper()}" for field in Settings.model_fields}
    env_file = tmp_path / "uncommented.env"
    env_file.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("AKER_ENV_FILE", str(env_file))
    monkeypatch.delenv("AKER_CACHE_PATH")
    settings = Settings()
    assert (settings.db_connect_timeout, settings.db_statement_timeout) == (10, 300)
    assert settings.pushgateway_url is None
