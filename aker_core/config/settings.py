"""The :class:`Settings` model: every knob aker reads from ``AKER_*`` variables and ``.env``.

Precedence (highest first): constructor arguments, environment, the env file, defaults -- as
pydantic-settings applies it; each instance records which of them gave each field
(:attr:`Settings.sources`, shown by ``--show-effective``).

Nothing depends on the working directory. The defaults come from where aker is installed: run
from a source checkout (``pip install -e .``), the cache is ``<checkout>/.aker-cache`` and the
env file ``<checkout>/.env``; installed as a package, ``$XDG_CACHE_HOME/aker`` (``~/.cache/aker``)
and ``$XDG_CONFIG_HOME/aker/aker.env`` (``~/.config/aker/aker.env``). ``AKER_ENV_FILE`` names
another env file.
Fields are split in two groups: *result-affecting* fields (listed in :data:`RESULT_FIELDS`)
feed :attr:`Settings.config_hash` because changing them can change a score; every other field
is *operational* (where things live, how they are logged or served) and never changes a result.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import orjson
import xxhash
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from aker_core.config.weights import Weights

__all__ = ["RESULT_FIELDS", "SECRET_FIELDS", "Settings", "get_settings", "reset_settings"]

#: Fields whose value can change a computed result; only these enter ``config_hash``.
RESULT_FIELDS: tuple[str, ...] = ("source_uri", "weights", "seed", "features")

#: Fields holding secrets (all :class:`~pydantic.SecretStr`): never stored or printed in clear.
SECRET_FIELDS: tuple[str, ...] = ("postgis_dsn", "pushgateway_url", "bls_api_key", "census_api_key")

#: The source checkout aker runs from (holding ``pyproject.toml`` beside the packages), if any.
_CHECKOUT = Path(__file__).resolve().parents[2]
PROJECT_ROOT: Path | None = (
    _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "aker_tasks").is_dir() else None
)


def _xdg(variable: str, fallback: str) -> Path:
    return Path(os.environ.get(variable) or fallback).expanduser() / "aker"


def default_cache_path() -> Path:
    """``<checkout>/.aker-cache`` in a source checkout, else ``$XDG_CACHE_HOME/aker``."""
    return PROJECT_ROOT / ".aker-cache" if PROJECT_ROOT else _xdg("XDG_CACHE_HOME", "~/.cache")


def default_env_file() -> Path:
    """``$AKER_ENV_FILE``, else ``<checkout>/.env`` in a source checkout, else ``$XDG_CONFIG_HOME/aker/aker.env``."""
    named = os.environ.get("AKER_ENV_FILE")
    if named:
        return Path(named).expanduser()
    return PROJECT_ROOT / ".env" if PROJECT_ROOT else _xdg("XDG_CONFIG_HOME", "~/.config") / "aker.env"


#: ``source_uri`` value meaning "the sample data bundled with the package".
SAMPLE_SOURCE = "sample"


#: Field -> source of the :class:`Settings` being built in this context (see ``_Recorded``).
_provided: ContextVar[dict[str, str] | None] = ContextVar("aker_settings_provided", default=None)


class _Recorded(PydanticBaseSettingsSource):
    """A pydantic-settings source that notes, for the instance being built, the fields it provides.

    pydantic-settings calls the sources in priority order and the first to provide a field wins,
    so the first source to note a field is where its value came from.
    """

    def __init__(self, inner: PydanticBaseSettingsSource, name: str) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner
        self.name = name
        # pydantic-settings keys each source's data by its name: keep the wrapped source's.
        self.__name__ = type(inner).__name__

    def _set_current_state(self, state: dict[str, Any]) -> None:
        self.inner._set_current_state(state)

    def _set_settings_sources_data(self, states: dict[str, dict[str, Any]]) -> None:
        self.inner._set_settings_sources_data(states)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The wrapped source's answer."""
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        """The wrapped source's values, noting their fields."""
        values = self.inner()
        provided = _provided.get()
        if provided is not None:
            for field in values:
                provided.setdefault(field, self.name)
        return values


class Settings(BaseSettings):
    """aker's configuration, read from ``AKER_*`` environment variables and ``./.env``.

    Example:
        ``AKER_WEIGHTS__JOBS=0.4 AKER_CACHE_PATH=/data/aker python -m aker_core.config --show-effective``
    """

    model_config = SettingsConfigDict(
        env_prefix="AKER_",
        env_nested_delimiter="__",
        env_file=None,  # set per instance: see default_env_file()
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # --- where things live (operational) ---
    cache_path: Path = Field(
        default_factory=default_cache_path,
        description="Directory of parquet targets, sidecars and the default SQLite database.",
    )
    export_dir: Path | None = Field(
        default=None,
        description="Directory of the stable export files (<as_of>/scores.<ext>); empty means <cache_path>/exports.",
    )
    postgis_dsn: SecretStr = Field(
        default=SecretStr(""),
        description="SQLAlchemy URL of the run database; empty means <cache_path>/aker.db (SQLite).",
    )
    db_connect_timeout: int = Field(
        default=10,
        ge=1,
        description="Seconds a PostgreSQL connection attempt may take (libpq connect_timeout; at least 2 there).",
    )
    db_statement_timeout: float = Field(
        default=300,
        ge=0,
        allow_inf_nan=False,
        description="Seconds a PostgreSQL statement may run, lock waits included; 0 sets none.",
    )
    run_abandoned_after: float = Field(
        default=300,
        gt=0,
        allow_inf_nan=False,
        description="Seconds without a heartbeat after which a running run of another host is marked abandoned.",
    )
    retain_sources: bool = Field(
        default=True,
        description="Keep the exact bytes of each source file a fetch reads under <cache_path>/sources "
        "(for aker trace and --restore); false keeps none.",
    )
    gc_keep_days: float = Field(
        default=30,
        ge=0,
        allow_inf_nan=False,
        description="aker gc keeps every target, export and retained source younger than this many days.",
    )
    # --- what is computed (result-affecting) ---
    source_uri: str = Field(
        default=SAMPLE_SOURCE,
        description="Source datasets: 'sample' (bundled), a directory or file:// URL, or 'database'.",
    )
    weights: Weights = Field(default_factory=Weights, description="Pillar weights of the composite.")
    seed: int | None = Field(
        default=None, ge=0, lt=2**32, description="Run seed; empty derives it from the config hash."
    )
    features: dict[str, bool] = Field(default_factory=dict, description="Feature flags (name -> on/off).")
    # --- how it is observed (operational) ---
    environment: Literal["development", "test", "staging", "production"] = Field(
        default="development", description="Deployment environment label."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="Minimum level of aker's log records."
    )
    log_format: Literal["json", "console"] = Field(
        default="console", description="'json' (one object per line) or 'console' (human readable)."
    )
    metrics_addr: str = Field(default="127.0.0.1", description="Address the metrics exporter binds.")
    metrics_port: int = Field(default=9000, ge=0, le=65535, description="Port of the metrics exporter.")
    pushgateway_url: SecretStr | None = Field(
        default=None,
        description="Prometheus Pushgateway for batch metrics; user:password@ in it is basic auth (secret).",
    )
    metrics_textfile: Path | None = Field(
        default=None, description="node-exporter textfile the pipeline writes its metrics to."
    )
    # --- credentials (operational, never printed) ---
    bls_api_key: SecretStr | None = Field(default=None, description="BLS API key (optional).")
    census_api_key: SecretStr | None = Field(default=None, description="Census API key (optional).")

    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        values.setdefault("_env_file", default_env_file())
        provided: dict[str, str] = {}
        token = _provided.set(provided)
        try:
            super().__init__(**values)
        finally:
            _provided.reset(token)
        self._sources = {field: provided.get(field, "default") for field in type(self).model_fields}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """pydantic-settings' own sources and precedence, each noting the fields it provides."""
        return (
            _Recorded(init_settings, "init"),
            _Recorded(env_settings, "env"),
            _Recorded(dotenv_settings, "dotenv"),
            _Recorded(file_secret_settings, "secrets"),
        )

    @property
    def sources(self) -> dict[str, str]:
        """Where each field's value came from: ``init``, ``env``, ``dotenv`` or ``default``.

        As pydantic-settings decides it: the first source (in the order above) that provides a
        field wins; nested values (``AKER_WEIGHTS__JOBS``) name the first source giving any part.
        """
        return dict(self._sources)

    @field_validator("cache_path")
    @classmethod
    def _absolute_cache(cls, value: Path) -> Path:
        # Absolute, so workers started elsewhere and the default DSN agree on one location.
        return value.expanduser().resolve()

    @field_validator("export_dir", mode="before")
    @classmethod
    def _empty_export_dir_is_default(cls, value: Any) -> Any:
        # ``AKER_EXPORT_DIR=`` (as .env.example has it) means the default, not the current directory.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("export_dir")
    @classmethod
    def _absolute_export_dir(cls, value: Path | None) -> Path | None:
        # Absolute for the same reason as the cache.
        return value.expanduser().resolve() if value is not None else None

    @field_validator("source_uri")
    @classmethod
    def _non_empty_source(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty (use 'sample', a directory, a file:// URL or 'database')")
        return value.strip()

    @field_validator("postgis_dsn")
    @classmethod
    def _valid_dsn(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if raw and not re.fullmatch(r"sqlite:///[^?]+", raw):
            # Imported here: a plain SQLite file URL (as the embedded default) needs no parsing, and
            # importing SQLAlchemy would cost a cached run more than the rest of it.
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(raw)
            except (ArgumentError, ValueError):
                # No chained cause and no echo: the value may carry a password.
                raise ValueError("not a valid SQLAlchemy URL (value hidden)") from None
        return SecretStr(raw)

    @field_validator("seed", mode="before")
    @classmethod
    def _empty_seed_is_derived(cls, value: Any) -> Any:
        # ``AKER_SEED=`` (as .env.example has it) means "derive it", as the description says.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("pushgateway_url", "bls_api_key", "census_api_key")
    @classmethod
    def _empty_secret_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # ``AKER_PUSHGATEWAY_URL=`` (as .env.example has it) means "not set", not "set to ''".
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _default_export_dir(self) -> Settings:
        if self.export_dir is None:
            self.export_dir = self.cache_path / "exports"
        return self

    @model_validator(mode="after")
    def _default_dsn(self) -> Settings:
        if not self.postgis_dsn.get_secret_value():
            self.postgis_dsn = SecretStr(f"sqlite:///{self.cache_path / 'aker.db'}")
        return self

    @property
    def database_url(self) -> str:
        """The run database URL (secret: do not log it; use :func:`mask_dsn`)."""
        return self.postgis_dsn.get_secret_value()

    def result_config(self) -> dict[str, Any]:
        """The JSON-safe result-affecting settings that :attr:`config_hash` covers."""
        data = self.model_dump(mode="json", include=set(RESULT_FIELDS))
        return {k: data[k] for k in RESULT_FIELDS}

    @property
    def config_hash(self) -> str:
        """Stable hash (xxh3-128, hex) of :meth:`result_config`; equal settings give equal hashes."""
        return xxhash.xxh3_128_hexdigest(orjson.dumps(self.result_config(), option=orjson.OPT_SORT_KEYS))

    @property
    def pushgateway(self) -> str | None:
        """The Pushgateway URL with its credentials (secret: do not log it; use :func:`mask_url`)."""
        return self.pushgateway_url.get_secret_value() if self.pushgateway_url else None

    def snapshot(self) -> dict[str, Any]:
        """All settings as a JSON-safe dict (what ``runs.config_json`` stores): no secret in it.

        URLs keep everything but their password (the DSN also loses ``?password=``); API keys
        become ``"set"`` or ``None``.
        """
        from aker_core.redact import mask_dsn, mask_url

        data = self.model_dump(mode="json", exclude=set(SECRET_FIELDS))
        data["postgis_dsn"] = mask_dsn(self.database_url)
        pushgateway = self.pushgateway
        data["pushgateway_url"] = mask_url(pushgateway) if pushgateway else None
        data["bls_api_key"] = "set" if self.bls_api_key else None
        data["census_api_key"] = "set" if self.census_api_key else None
        return {field: data[field] for field in type(self).model_fields}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide :class:`Settings`, read once.

    Raises:
        ConfigError: the environment or ``.env`` holds an invalid value.
    """
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from aker_core.config.errors import describe_validation_error
    from aker_core.exceptions import ConfigError

    try:
        return Settings()
    except (ValidationError, SettingsError) as e:
        raise ConfigError(describe_validation_error(e)) from e


def reset_settings() -> None:
    """Forget the cached :func:`get_settings` result (tests, or after changing the environment)."""
    get_settings.cache_clear()
