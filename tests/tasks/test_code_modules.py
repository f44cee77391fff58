"""Each task's ``code_modules`` covers every aker module its logic actually uses.

A task's code version hashes only the modules it lists, so a module its computation uses but
that is missing from the list could change the result without rerunning it. This walks each
task's methods the way Python resolves them -- names, lazily imported names, ``self.`` methods
-- into every aker function and class they reach (transitively, into ``aker_core``), and checks
that the modules found are listed (or are infrastructure that cannot change a result).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from aker_tasks import ComposeScores, ExportScores, FetchSource, PublishScores, ScorePillar
from aker_tasks.base import AkerTask

#: Modules a task uses that cannot change what it computes, with the reason.
INFRASTRUCTURE: dict[str, str] = {
    "aker_core.exceptions": "error classes and messages",
    "aker_core.config": "settings enter the key as values (result_settings, weights), not as code",
    "aker_core.config.settings": "as aker_core.config",
    "aker_core.config.effective": "how settings are shown and validated",
    "aker_core.config.errors": "how invalid settings are worded",
    "aker_core.redact": "secrets masked in messages",
    "aker_core.dates": "parses --as-of; the parsed date is a key part (a parameter)",
    "aker_core.logging": "log records",
    "aker_core.run": "the runs/lineage record of an execution",
    "aker_data.engine": "database connections",
    "aker_data.exceptions": "error classes",
    "aker_data.readonly": "how the run database is asked (the questions are the task modules' SQL)",
    "aker_tasks.base": "the task framework: key, sidecar, run record",
    "aker_tasks.cachekey": "the key rule itself",
    "aker_tasks.hashing": "content hashes of inputs (already part of the key)",
    "aker_tasks.identity": "parameters and task identity",
    "aker_tasks.targets": "atomic files and sidecars",
    "aker_tasks.database": "the run database's engine",
    "aker_tasks.exceptions": "error classes",
    "aker_tasks.luigi_setup": "Luigi configuration",
    "aker_tasks.openlineage": "lineage events sent about a run, never read back",
    "aker_tasks.openlineage.emit": "as aker_tasks.openlineage",
}

TASKS: list[type[AkerTask]] = [FetchSource, ScorePillar, ComposeScores, PublishScores, ExportScores]


def _aker(name: str | None) -> bool:
    return bool(name) and str(name).split(".")[0] in ("aker_core", "aker_data", "aker_tasks")


class _Walker:
    """Collects the aker modules reached from a set of functions."""

    def __init__(self) -> None:
        self.modules: set[str] = set()
        self._seen: set[int] = set()

    def function(self, func: Any, owner: type | None = None) -> None:
        """Visit ``func``'s body: what its names and lazy imports refer to."""
        func = inspect.unwrap(getattr(func, "fget", func))
        if not inspect.isfunction(func) or id(func) in self._seen or not _aker(func.__module__):
            return
        self._seen.add(id(func))
        module = sys.modules[func.__module__]
        namespace: dict[str, Any] = dict(vars(module))
        origins = _import_origins(module)
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
        except (OSError, TypeError):  # generated code (dataclass, pydantic): no source to follow
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and _aker(node.module):
                for alias in node.names:
                    namespace[alias.asname or alias.name] = _import_name(str(node.module), alias.name)
                    origins[alias.asname or alias.name] = _origin(str(node.module), alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _aker(alias.name):
                        self.modules.add(alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in namespace:
                self.value(namespace[node.id], origins.get(node.id))
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in ("self", "cls") and owner is not None:
                    self.function(inspect.getattr_static(owner, node.attr, None), owner)
                elif isinstance(namespace.get(node.value.id), types.ModuleType):
                    target = namespace[node.value.id]
                    if _aker(target.__name__):
                        self.value(getattr(target, node.attr, None), target.__name__)

    def value(self, obj: Any, origin: str | None) -> None:
        """Count what a name refers to: its module, and for functions and classes their bodies."""
        if isinstance(obj, types.ModuleType):
            if _aker(obj.__name__):
                self.modules.add(obj.__name__)
            return
        if inspect.isclass(obj) and issubclass(obj, AkerTask):
            return  # another task: its result enters this one's key as an input content hash
        defined = getattr(obj, "__module__", None) if inspect.isfunction(obj) or inspect.isclass(obj) else None
        if _aker(defined):
            self.modules.add(str(defined))
            if defined in INFRASTRUCTURE:
                return  # what infrastructure uses is not the task's logic either
            if inspect.isfunction(obj):
                self.function(obj)
            else:
                for member in vars(obj).values():
                    self.function(member, obj)
        elif _aker(origin) and not inspect.isfunction(obj) and not inspect.isclass(obj):
            self.modules.add(str(origin))  # a constant (e.g. a rules table) of that module


def _import_name(module: str, name: str) -> Any:
    mod = importlib.import_module(module)
    if hasattr(mod, name):
        return getattr(mod, name)
    return importlib.import_module(f"{module}.{name}")


def _origin(module: str, name: str) -> str:
    """The module defining ``name`` imported from ``module`` (a package's lazy export: its submodule)."""
    exports = getattr(importlib.import_module(module), "_EXPORTS", {})
    return str(exports.get(name) or module)


def _import_origins(module: types.ModuleType) -> dict[str, str]:
    """Module-level ``from X import name`` bindings of ``module``: name -> the module defining it."""
    tree = ast.parse(inspect.getsource(module))
    return {
        alias.asname or alias.name: _origin(str(node.module), alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _aker(node.module)
        for alias in node.names
    }


def modules_used(task: type[AkerTask]) -> set[str]:
    """The aker modules the methods of ``task`` (and of its bases up to AkerTask) reach."""
    walker = _Walker()
    walker.modules.add(task.__module__)
    for cls in task.__mro__:
        if cls is AkerTask or not issubclass(cls, AkerTask):
            break
        for member in vars(cls).values():
            walker.function(member, task)
    return walker.modules


def _covered(module: str, listed: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in listed)


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.__name__)
def test_code_modules_cover_the_modules_the_task_uses(task: type[AkerTask]) -> None:
    """Every aker module a task's logic reaches is in its code_modules (or is infrastructure)."""
    missing = sorted(m for m in modules_used(task) if m not in INFRASTRUCTURE and not _covered(m, task.code_modules))
    assert missing == [], f"{task.__name__}.code_modules misses {missing}"


def test_the_check_finds_a_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dropping the pillar scoring module from ScorePillar's list is caught."""
    listed = tuple(m for m in ScorePillar.code_modules if m != "aker_core.scoring.pillars")
    monkeypatch.setattr(ScorePillar, "code_modules", listed)
    assert "aker_core.scoring.pillars" in modules_used(ScorePillar)
    assert not _covered("aker_core.scoring.pillars", ScorePillar.code_modules)


def test_only_html_exports_version_the_page_modules(source_dir: Path) -> None:
    """A renderer or rules change reruns the html export, not a csv one (its code version skips them)."""
    import datetime as dt

    from aker_tasks.export import HTML_MODULES

    csv = ExportScores(as_of=dt.date(2024, 6, 1), format="csv").code_versions()
    html = ExportScores(as_of=dt.date(2024, 6, 1), format="html").code_versions()
    assert set(html) - set(csv) == set(HTML_MODULES)
    assert {k: v for k, v in html.items() if k in csv} == csv
