"""The cache-key rule, in one pure function: a target's key from its *named* parts.

A task's output is content-addressed: its path ends in a hash of everything that determines its
content. That rule lives here and only here (in the spirit of Dagster's ``data_version.py``):
:func:`compute_key` takes :class:`KeyParts` -- task family, significant parameters, the code
version of every module of the task's logic, the versions of the libraries that shape results,
the content hashes of its inputs and the settings that change the result -- and returns the key
together with the parts, so that :func:`key_changes` can later say *which* part differs between
two keys (``aker status``). No I/O: the caller gathers the parts (see
:meth:`aker_tasks.base.AkerTask.key_parts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import xxhash

__all__ = ["CacheKey", "KeyChange", "KeyParts", "compute_key", "flatten", "key_changes"]


def _digest(value: Any) -> str:
    return xxhash.xxh3_128_hexdigest(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


@dataclass(frozen=True)
class KeyParts:
    """Everything a target's content depends on, by name.

    Attributes:
        family: the Luigi task family.
        params: significant parameters, minus those another part already represents.
        code: module (or package) name -> hash of its source: the task's logic.
        libraries: distribution name (and ``python``) -> version, for the libraries that shape results.
        inputs: input name -> content hash (``source`` for a fetch; upstream targets otherwise).
        settings: the settings that change this result (feature flags; weights for the composite).
        recorded_code_version: only for parts read from an older sidecar, which kept one code version.
    """

    family: str
    params: Mapping[str, str]
    code: Mapping[str, str] = field(default_factory=dict)
    libraries: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: The one code version a sidecar written before per-module versions were kept recorded.
    recorded_code_version: str = ""

    @property
    def code_version(self) -> str:
        """One hash of the code and library versions ("" for a task that declares no code)."""
        if not self.code and not self.libraries:
            return self.recorded_code_version
        return _digest({"modules": dict(self.code), "libraries": dict(self.libraries)})[:16]

    def sidecar_fields(self) -> dict[str, Any]:
        """The parts as a sidecar records them (:meth:`from_sidecar` reads them back)."""
        return {
            "task": {"family": self.family, "params": dict(self.params)},
            "inputs": dict(self.inputs),
            "code_version": self.code_version,
            "code_versions": {"modules": dict(self.code), "libraries": dict(self.libraries)},
            "result_settings": dict(self.settings),
        }

    @classmethod
    def from_sidecar(cls, meta: Mapping[str, Any]) -> KeyParts:
        """The parts a sidecar recorded (a sidecar older than per-module versions has empty ``code``)."""
        task = meta.get("task") or {}
        versions = meta.get("code_versions") or {}
        return cls(
            family=str(task.get("family", "")),
            params=dict(task.get("params") or {}),
            code=dict(versions.get("modules") or {}),
            libraries=dict(versions.get("libraries") or {}),
            inputs=dict(meta.get("inputs") or {}),
            settings=dict(meta.get("result_settings") or {}),
            recorded_code_version="" if versions else str(meta.get("code_version") or ""),
        )


@dataclass(frozen=True)
class CacheKey:
    """A target's key and the parts it was computed from."""

    key: str
    parts: KeyParts


def compute_key(parts: KeyParts) -> CacheKey:
    """The cache key of ``parts``: the hash of every part (code and libraries as one code version).

    Pure: equal parts give equal keys in every process and on every host.
    """
    key = _digest(
        {
            "family": parts.family,
            "params": dict(parts.params),
            "code_version": parts.code_version,
            "inputs": dict(parts.inputs),
            "settings": dict(parts.settings),
        }
    )
    return CacheKey(key, parts)


@dataclass(frozen=True)
class KeyChange:
    """One part that differs between two keys' parts.

    Attributes:
        part: ``family``, ``param``, ``code``, ``library``, ``input``, ``setting`` (or ``code_version``
            when the older parts recorded no per-module versions).
        name: which one: a parameter, module, library, input name or dotted setting (``weights.jobs``).
        old: its value in the older parts (``None``: absent there).
        new: its value in the newer parts (``None``: absent there).
    """

    part: str
    name: str
    old: Any
    new: Any


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted names (``{"weights": {"jobs": 0.3}}`` -> ``weights.jobs``)."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value} if prefix else {}


def _mapping_changes(part: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[KeyChange]:
    return [
        KeyChange(part, name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def key_changes(old: KeyParts, new: KeyParts) -> list[KeyChange]:
    """Every named part that differs from ``old`` to ``new`` (empty: the keys are equal).

    Code is compared module by module and library by library when ``old`` recorded them; an
    ``old`` without them (a target written before they were kept) yields one ``code_version``
    change when the versions differ.
    """
    changes: list[KeyChange] = []
    if old.family != new.family:
        changes.append(KeyChange("family", "family", old.family, new.family))
    changes += _mapping_changes("param", old.params, new.params)
    if old.code or old.libraries:
        changes += _mapping_changes("code", old.code, new.code)
        changes += _mapping_changes("library", old.libraries, new.libraries)
    elif old.code_version != new.code_version:
        changes.append(KeyChange("code_version", "code_version", old.code_version or None, new.code_version))
    changes += _mapping_changes("input", old.inputs, new.inputs)
    changes += _mapping_changes("setting", flatten(dict(old.settings)), flatten(dict(new.settings)))
    return changes
