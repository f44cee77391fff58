"""Read-only database questions of the audit commands: their error lines."""

from __future__ import annotations

import importlib.util

import pytest

from aker_tasks.audit.dbread import AuditError, query


@pytest.mark.postgres
def test_an_error_on_a_passwordless_dsn_names_the_database(postgres_url: str) -> None:
    """A DSN without a password is not itself masked away: the line names host and database."""
    with pytest.raises(AuditError) as error:
        query(postgres_url, "SELECT * FROM runs")  # an empty schema: no aker tables
    message = str(error.value)
    assert "***" not in message
    assert "127.0.0.1" in message and 'relation "runs" does not exist' in message


def test_a_driver_that_is_not_installed_is_one_line() -> None:
    """A DSN whose driver cannot be imported is an AuditError naming the database, not an ImportError."""
    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("MySQLdb is installed here")
    with pytest.raises(AuditError) as error:
        query("mysql://bob:s3cret@db.invalid/aker", "SELECT 1")
    assert error.value.code == 3
    message = str(error.value)
    assert message.startswith("database mysql://bob:***@db.invalid/aker: ") and "MySQLdb" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    "command",
    [
        ["gc", "--dry-run"],
        ["trace", "--as-of", "2024-06-01", "--market", "12420"],
        ["runs", "list"],
    ],
    ids=lambda c: c[0],
)
def test_audit_commands_on_a_driver_that_is_not_installed_are_one_line(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """gc, trace and runs on a DSN whose driver is not installed: exit 3, one line, no password, no traceback."""
    from aker_core.config import reset_settings
    from aker_tasks.cli import main as aker

    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("MySQLdb is installed here")
    monkeypatch.setenv("AKER_POSTGIS_DSN", "mysql://bob:s3cret@db.invalid/aker")
    reset_settings()
    assert aker(command) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"aker {command[0]}") and ": database mysql://bob" in err and err.count("\n") == 1, err
    assert "s3cret" not in err and "Traceback" not in err
