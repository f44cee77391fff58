"""Settings: precedence, provenance, masking, hashing, validation and the --show-effective CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from aker_core.config import Settings, get_settings, reset_settings
from aker_core.config.__main__ import main
from aker_core.exceptions import ConfigError
from aker_core.redact import mask_dsn

SECRET = "s3cr3t-pa55"


def test_defaults_are_documented_values() -> None:
    """Without any configuration the documented defaults apply."""
    s = Settings()
    assert s.weights.model_dump() == {"supply": 0.3, "jobs": 0.3, "urban": 0.2, "outdoor": 0.2}
    assert s.metrics_addr == "127.0.0.1"
    assert s.metrics_port == 9000
    assert s.source_uri == "sample"


def test_default_dsn_is_sqlite_inside_cache(tmp_path: Path) -> None:
    """The default database is an embedded SQLite file inside the cache directory."""
    s = Settings()
    assert s.database_url == f"sqlite:///{tmp_path / 'cache' / 'aker.db'}"


def test_dotenv_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Values in ./.env are applied."""
    Path(".env").write_text("AKER_METRICS_PORT=9100\nAKER_WEIGHTS__URBAN=0.5\n")
    s = Settings()
    assert s.metrics_port == 9100
    assert s.weights.urban == 0.5


def test_env_beats_dotenv_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment wins over .env, which wins over defaults."""
    Path(".env").write_text("AKER_METRICS_PORT=9100\nAKER_LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("AKER_METRICS_PORT", "9200")
    s = Settings()
    assert (s.metrics_port, s.log_level, s.log_format) == (9200, "DEBUG", "console")


def test_sources_map_names_each_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings.sources says init, env, dotenv or default for every field."""
    Path(".env").write_text("AKER_LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("AKER_WEIGHTS__JOBS", "0.4")
    s = Settings(metrics_port=9300)
    sources = s.sources
    assert sources["metrics_port"] == "init"
    assert sources["weights"] == "env"
    assert sources["log_level"] == "dotenv"
    assert sources["log_format"] == "default"
    assert set(sources) == set(Settings.model_fields)


def test_sources_follow_the_env_file_aker_env_file_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only AKER_ENV_FILE's file counts as dotenv; a value split over env and file is env (env wins)."""
    Path(".env").write_text("AKER_LOG_LEVEL=DEBUG\n")  # not the named file: ignored
    named = tmp_path / "other.env"
    named.write_text("AKER_WEIGHTS__URBAN=0.5\naker_log_format=json\n")
    monkeypatch.setenv("AKER_ENV_FILE", str(named))
    monkeypatch.setenv("AKER_WEIGHTS__JOBS", "0.4")
    s = Settings()
    assert (s.weights.jobs, s.weights.urban, s.log_format, s.log_level) == (0.4, 0.5, "json", "INFO")
    assert (s.sources["weights"], s.sources["log_format"], s.sources["log_level"]) == ("env", "dotenv", "default")


def test_argument_beats_environment_in_value_and_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """A constructor argument wins over the environment, and is reported as init."""
    monkeypatch.setenv("AKER_METRICS_PORT", "9200")
    s = Settings(metrics_port=9300)
    assert (s.metrics_port, s.sources["metrics_port"]) == (9300, "init")
    assert Settings().sources["metrics_port"] == "env"


def test_weights_from_nested_env_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights are settable per key with __ or as one JSON object."""
    monkeypatch.setenv("AKER_WEIGHTS__JOBS", "0.4")
    assert Settings().weights.jobs == 0.4
    monkeypatch.delenv("AKER_WEIGHTS__JOBS")
    monkeypatch.setenv("AKER_WEIGHTS", '{"supply": 1, "jobs": 0, "urban": 0, "outdoor": 0}')
    assert Settings().weights.normalised() == {"supply": 1.0, "jobs": 0.0, "urban": 0.0, "outdoor": 0.0}


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("AKER_WEIGHTS__SUPPLY", "-0.1", "AKER_WEIGHTS__SUPPLY"),
        ("AKER_WEIGHTS__FOO", "1", "AKER_WEIGHTS__FOO"),
        ("AKER_WEIGHTS", '{"supply":0,"jobs":0,"urban":0,"outdoor":0}', "all are 0"),
        ("AKER_WEIGHTS__JOBS", "nan", "AKER_WEIGHTS__JOBS"),
        ("AKER_METRICS_PORT", "70000", "AKER_METRICS_PORT"),
    ],
)
def test_invalid_settings_raise_config_error_naming_field(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, expected: str
) -> None:
    """An invalid value is a ConfigError that names the variable, never silently a default."""
    monkeypatch.setenv(var, value)
    reset_settings()
    with pytest.raises(ConfigError, match=expected):
        get_settings()


def test_get_settings_is_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """get_settings reads once; reset_settings makes it read again."""
    first = get_settings()
    monkeypatch.setenv("AKER_METRICS_PORT", "9999")
    assert get_settings() is first
    reset_settings()
    assert get_settings().metrics_port == 9999


def test_mask_dsn_hides_password_keeps_host_and_database() -> None:
    """A masked DSN shows scheme, host and database but not the password."""
    masked = mask_dsn(f"postgresql://aker:{SECRET}@db.example:5432/aker")
    assert SECRET not in masked
    assert masked.startswith("postgresql://aker:***@db.example:5432/aker")


def test_snapshot_has_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """snapshot() is JSON-safe and contains neither the DSN password nor API keys."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"postgresql://aker:{SECRET}@db/aker")
    monkeypatch.setenv("AKER_BLS_API_KEY", SECRET + "-key")
    dumped = orjson.dumps(Settings().snapshot()).decode()
    assert SECRET not in dumped
    assert '"bls_api_key":"set"' in dumped


def test_config_hash_stable_and_sensitive_to_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal settings hash equally; weights change the hash, operational fields do not."""
    base = Settings().config_hash
    assert Settings().config_hash == base
    monkeypatch.setenv("AKER_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("AKER_METRICS_PORT", "9100")
    monkeypatch.setenv("AKER_CACHE_PATH", "/elsewhere")
    assert Settings().config_hash == base
    monkeypatch.setenv("AKER_WEIGHTS__JOBS", "0.5")
    assert Settings().config_hash != base


def test_optional_secret_does_not_change_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Setting an API key or a DSN password leaves the config hash unchanged."""
    base = Settings().config_hash
    monkeypatch.setenv("AKER_CENSUS_API_KEY", SECRET)
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"postgresql://aker:{SECRET}@db/aker")
    assert Settings().config_hash == base


def test_show_effective_prints_values_sources_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--show-effective lists every field with value and source, secrets masked."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"postgresql://aker:{SECRET}@db.example/aker")
    monkeypatch.setenv("AKER_CENSUS_API_KEY", SECRET)
    assert main(["--show-effective"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    assert "postgresql://aker:***@db.example/aker  [env]" in out
    assert re.search(r"^census_api_key +\*{10}  \[env\]$", out, re.MULTILINE)
    for field in Settings.model_fields:
        assert field in out


def test_show_effective_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the same information as a JSON document with the config hash."""
    monkeypatch.setenv("AKER_WEIGHTS__JOBS", "0.4")
    assert main(["--show-effective", "--json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["settings"]["weights"] == {
        "env": "AKER_WEIGHTS",
        "value": {"supply": 0.3, "jobs": 0.4, "urban": 0.2, "outdoor": 0.2},
        "source": "env",
        "affects_results": True,
    }
    assert doc["config_hash"] == Settings().config_hash


def test_invalid_config_cli_exits_nonzero_without_traceback(tmp_path: Path) -> None:
    """The CLI names the bad field, hides the secret and exits 2 without a traceback."""
    env = {"PATH": "/usr/bin:/bin", "AKER_WEIGHTS__SUPPLY": "-1", "AKER_CACHE_PATH": str(tmp_path)}
    env["AKER_POSTGIS_DSN"] = f"postgresql://aker:{SECRET}@db/aker"
    proc = subprocess.run(
        [sys.executable, "-m", "aker_core.config", "--show-effective"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert "AKER_WEIGHTS__SUPPLY" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout


def test_invalid_dsn_message_hides_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed DSN is rejected without echoing it."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"not a url {SECRET}")
    with pytest.raises(ConfigError) as info:
        get_settings()
    assert "AKER_POSTGIS_DSN" in str(info.value)
    assert SECRET not in str(info.value)


def test_password_in_dsn_query_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A password passed as ?password= is masked in the snapshot and --show-effective too."""
    monkeypatch.setenv("AKER_POSTGIS_DSN", f"postgresql://aker@db/aker?password={SECRET}&sslmode=require")
    snapshot = orjson.dumps(Settings().snapshot()).decode()
    assert SECRET not in snapshot
    assert "sslmode=require" in snapshot
