"""One exception root: every error class aker defines derives from AkerError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from aker_core.exceptions import AkerError

PACKAGES = ("aker_core", "aker_data", "aker_tasks")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            # __main__ modules run a command on import; migrations run under Alembic only.
            if info.name.endswith("__main__") or ".migrations" in info.name:
                continue
            names.append(info.name)
    return names


@pytest.mark.parametrize("module", _modules())
def test_every_error_class_is_an_aker_error(module: str) -> None:
    """No module defines an exception class outside the AkerError family."""
    loaded = importlib.import_module(module)
    own = [
        obj
        for _, obj in inspect.getmembers(loaded, inspect.isclass)
        if obj.__module__ == module and issubclass(obj, BaseException)
    ]
    assert [cls.__qualname__ for cls in own if not issubclass(cls, AkerError)] == []


def test_data_error_is_an_aker_error() -> None:
    """aker_data's DataError (and so every database error aker raises) is an AkerError."""
    from aker_data import DataError
    from aker_data.exceptions import DatabaseTimeoutError, SchemaOutOfDateError

    assert issubclass(DataError, AkerError)
    assert issubclass(DatabaseTimeoutError, DataError) and issubclass(SchemaOutOfDateError, DataError)
