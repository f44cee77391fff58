"""configure_logging / log_context: JSON and console lines, context fields, secrets, idempotence."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from aker_core.config import Settings
from aker_core.logging import AKER_LOGGERS, configure_logging, current_log_context, log_context

PASSWORD = "Sup3rSecretPw"
DSN = f"postgresql+psycopg://aker:{PASSWORD}@db.example:5432/aker"


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    """Put the aker and root loggers back as they were (handlers, level, propagation)."""
    names = (*AKER_LOGGERS, "")
    saved = {
        n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level, logging.getLogger(n).propagate)
        for n in names
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_context() -> None:
    """Each JSON line parses and carries timestamp, level, logger, message, run_id, task, as_of."""
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    with log_context(run_id="run-123", task="ScoreMarkets", as_of=dt.date(2024, 6, 1)):
        logging.getLogger("aker_tasks.score").info("scored %d markets", 3)
    (line,) = _json_lines(out)
    assert line["message"] == "scored 3 markets"
    assert line["level"] == "INFO"
    assert line["logger"] == "aker_tasks.score"
    assert (line["run_id"], line["task"], line["as_of"]) == ("run-123", "ScoreMarkets", "2024-06-01")
    assert str(line["timestamp"]).endswith("Z")


def test_context_is_removed_after_block() -> None:
    """Lines logged after the log_context block have no run_id."""
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    with log_context(run_id="run-1"):
        pass
    logging.getLogger("aker_core.x").warning("outside")
    assert "run_id" not in _json_lines(out)[0]
    assert current_log_context() == {}


def test_nested_contexts_merge() -> None:
    """An inner log_context adds fields and overrides the outer ones."""
    with log_context(run_id="outer", task="A"), log_context(task="B"):
        assert current_log_context() == {"run_id": "outer", "task": "B"}


def test_extra_fields_and_exception_in_json() -> None:
    """``extra=`` fields and the traceback appear in the JSON object."""
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    try:
        raise ValueError("bad input")
    except ValueError:
        logging.getLogger("aker_data.x").exception("failed", extra={"rows": 7, "run_id": "from-extra"})
    (line,) = _json_lines(out)
    assert line["rows"] == 7
    assert line["run_id"] == "from-extra"
    assert "ValueError: bad input" in str(line["exception"])


def test_console_line_is_readable() -> None:
    """The console format shows level, logger, context and message on one line."""
    out = io.StringIO()
    configure_logging(Settings(log_format="console"), stream=out)
    with log_context(run_id="run-9", task="T"):
        logging.getLogger("aker_core.y").info("hello")
    text = out.getvalue()
    assert text.count("\n") == 1
    assert "INFO" in text and "aker_core.y" in text and "[run=run-9 task=T] hello" in text


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_dsn_password_never_logged(fmt: str) -> None:
    """The DSN password from the settings is masked in messages, arguments and tracebacks."""
    out = io.StringIO()
    configure_logging(Settings(log_format=fmt, postgis_dsn=DSN), stream=out)
    log = logging.getLogger("aker_data.engine")
    log.info("connecting to %s", DSN)
    log.info("raw password %s", PASSWORD)
    try:
        raise ConnectionError(f"could not connect: password={PASSWORD}")
    except ConnectionError:
        log.exception("boom")
    text = out.getvalue()
    assert PASSWORD not in text
    assert "***" in text


def test_unknown_url_credentials_masked() -> None:
    """Inline ``user:password@`` credentials of any URL are masked even if not from settings."""
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    logging.getLogger("aker_core.z").info("push to https://bob:hunter22@gw.example:9091")
    assert "hunter22" not in out.getvalue()
    assert "https://bob:***@gw.example:9091" in str(_json_lines(out)[0]["message"])


def test_configure_twice_keeps_one_handler_and_foreign_ones() -> None:
    """A second call replaces aker's handler; handlers others added stay."""
    foreign = logging.NullHandler()
    logging.getLogger("aker_core").addHandler(foreign)
    root_handlers = list(logging.getLogger().handlers)
    first, second = io.StringIO(), io.StringIO()
    configure_logging(Settings(log_format="json"), stream=first)
    configure_logging(Settings(log_format="console"), stream=second)
    logging.getLogger("aker_core.a").warning("once")
    assert foreign in logging.getLogger("aker_core").handlers
    assert logging.getLogger().handlers == root_handlers
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1


def test_level_is_applied() -> None:
    """Records below AKER_LOG_LEVEL are dropped."""
    out = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="WARNING"), stream=out)
    logging.getLogger("aker_tasks.t").info("quiet")
    logging.getLogger("aker_tasks.t").warning("loud")
    assert [line["message"] for line in _json_lines(out)] == ["loud"]


def test_luigi_logger_untouched() -> None:
    """luigi's loggers keep their handlers and propagation."""
    luigi_logger = logging.getLogger("luigi-interface")
    before = (list(luigi_logger.handlers), luigi_logger.propagate, luigi_logger.level)
    configure_logging(Settings(log_format="json"), stream=io.StringIO())
    assert (list(luigi_logger.handlers), luigi_logger.propagate, luigi_logger.level) == before
