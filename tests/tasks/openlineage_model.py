"""A strict check of OpenLineage events against the spec's model as the client package ships it.

``openlineage-python`` carries classes generated from the spec's JSON Schemas
(``openlineage.client.generated``): one attrs class per schema definition, each naming its schema
URL (``_get_schema()``). :func:`validate_event` walks an event dict against them: the
``RunEvent`` structure, required attributes (attrs fields without a default), no unknown keys,
basic types and enums, the generated field validators (e.g. run ids parse as UUIDs), and each
facet against the generated class whose schema URL is the facet's ``_schemaURL``. aker's own
facets (``aker_tasks/openlineage/schemas``) are checked against the JSON Schemas aker ships.

Stricter than the spec in one respect: a standard facet may not carry keys its class does not
declare (the spec allows extra facet properties, but aker never adds any: such a key is a typo).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import pkgutil
import types
import typing
import uuid
from collections.abc import Callable, Iterator
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import attr
import openlineage.client.generated as generated
from jsonschema import Draft202012Validator
from openlineage.client.generated import job_type_job
from openlineage.client.generated.base import BaseEvent, BaseFacet, RunEvent
from referencing import Registry
from referencing.jsonschema import DRAFT202012

__all__ = ["AKER_SCHEMAS", "InvalidEvent", "model_classes", "validate_event"]

AKER_SCHEMAS = Path(__file__).resolve().parents[2] / "aker_tasks" / "openlineage" / "schemas"


class InvalidEvent(AssertionError):
    """An event that breaks the model; ``errors`` has one ``path: problem`` line per finding."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


def _uri(value: str) -> str | None:
    parsed = urlparse(value)
    return None if parsed.scheme and parsed.netloc else "is not an absolute URI"


def _timestamp(value: str) -> str | None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return "is not an ISO-8601 timestamp"
    return None if "T" in value and parsed.tzinfo is not None else "is not an ISO-8601 timestamp with a timezone"


def _uuid(value: str) -> str | None:
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        return "is not a UUID"
    return None if canonical == value.lower() else "is not a UUID in its canonical form"


def _processing_type(value: str) -> str | None:
    return None if value in ("BATCH", "STREAMING", "SERVICE") else "is not BATCH, STREAMING or SERVICE"


#: What the spec says that the generated classes leave to a JSON Schema ``format`` or a docstring,
#: by the class declaring the field (or a base of it) and the field's name.
SPEC_RULES: dict[tuple[type, str], Callable[[str], str | None]] = {
    (BaseEvent, "eventTime"): _timestamp,
    (BaseEvent, "producer"): _uri,
    (BaseEvent, "schemaURL"): _uri,
    (BaseFacet, "_producer"): _uri,
    (BaseFacet, "_schemaURL"): _uri,
    (job_type_job.JobTypeJobFacet, "processingType"): _processing_type,
    (object, "runId"): _uuid,  # the generated validator also takes braces, URNs, bare hex
}
#: Required by the spec; the generated classes default them only to fill them in themselves.
ALWAYS_PRESENT = frozenset({"producer", "schemaURL", "_producer", "_schemaURL"})


def _url(cls: type) -> str:
    """The schema URL a generated (or aker) class names."""
    return str(typing.cast(Any, cls)._get_schema())


@cache
def model_classes() -> dict[str, type]:
    """Every class of every generated module, by the schema URL it names."""
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{info.name}")
        for obj in vars(module).values():
            # Only a class's *own* _get_schema names its definition (subclasses inherit one).
            if isinstance(obj, type) and attr.has(obj) and "_get_schema" in vars(obj):
                found[_url(obj)] = obj
    return found


@cache
def _aker_schemas() -> dict[str, dict[str, Any]]:
    docs = (json.loads(path.read_text()) for path in sorted(AKER_SCHEMAS.glob("*.json")))
    return {doc["$id"]: doc for doc in docs}


@cache
def _registry() -> Registry:
    """aker's schemas, and the spec's base facets they extend as stand-ins.

    An aker facet's schema refers to the spec's base facet (``OpenLineage.json#/$defs/RunFacet``);
    that part of the facet is checked against the generated class instead, so here it is ``{}``.
    Any other reference into the spec stays unresolvable: it would go unchecked.
    """
    stand_ins: dict[str, dict[str, Any]] = {}
    for url, cls in model_classes().items():
        if cls.__module__ == BaseFacet.__module__ and issubclass(cls, BaseFacet):
            document, _, name = url.partition("#/$defs/")
            stand_ins.setdefault(document, {"$defs": {}})["$defs"][name] = {}
    resources = [(uri, DRAFT202012.create_resource(doc)) for uri, doc in {**stand_ins, **_aker_schemas()}.items()]
    return Registry().with_resources(resources)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield from [value] if key == "$ref" and isinstance(value, str) else _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item)


class _Walk:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, path: str, problem: str) -> None:
        self.errors.append(f"{path or '/'}: {problem}")

    def value(self, value: Any, kind: Any, path: str) -> None:
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if kind is Any:
            return
        if origin in (typing.Union, types.UnionType):
            # The client never serialises None: an optional attribute is absent, never null.
            options = [a for a in args if a is not type(None)]
            trials = []
            for option in options:
                trial = _Walk()
                trial.value(value, option, path)
                if not trial.errors:
                    return
                trials.append(trial.errors)
            self.errors.extend(trials[0] if len(trials) == 1 else [f"{path}: matches none of {options}: {trials}"])
        elif origin is list:
            if not isinstance(value, list):
                self.fail(path, f"expected a list, got {value!r}")
                return
            for i, item in enumerate(value):
                self.value(item, args[0], f"{path}/{i}")
        elif origin is dict:
            if not isinstance(value, dict):
                self.fail(path, f"expected an object, got {value!r}")
                return
            for key, item in value.items():
                self.value(key, args[0], f"{path}/{key}")
                self.value(item, args[1], f"{path}/{key}")
        elif isinstance(kind, type) and issubclass(kind, BaseFacet):
            self.facet(value, kind, path)
        elif isinstance(kind, type) and attr.has(kind):
            self.object(value, kind, path, closed=True)
        elif isinstance(kind, type) and issubclass(kind, Enum):
            allowed = [m.value for m in kind]
            if value not in allowed:
                self.fail(path, f"{value!r} is not one of {allowed}")
        elif kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, int if kind is int else (int, float)):
                self.fail(path, f"expected {kind.__name__}, got {value!r}")
        elif kind in (str, bool):
            if not isinstance(value, kind):
                self.fail(path, f"expected {kind.__name__}, got {value!r}")
        else:
            raise TypeError(f"{path}: the model uses {kind!r}, which this checker does not know")

    def object(self, value: Any, cls: type, path: str, *, closed: bool) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"expected a {cls.__name__} object, got {value!r}")
            return
        fields = {f.name: f for f in attr.fields(cls)}
        if closed:
            for key in sorted(set(value) - set(fields)):
                self.fail(f"{path}/{key}", f"unknown key in {cls.__name__}")
        for name, field in fields.items():
            where = f"{path}/{name}"
            if name not in value:
                if field.default is attr.NOTHING or name in ALWAYS_PRESENT:
                    self.fail(where, f"required by {cls.__name__}, missing")
                continue
            before = len(self.errors)
            self.value(value[name], _hints(cls)[name], where)
            if len(self.errors) > before:
                continue
            if field.validator is not None:  # the generated checks: UUIDs, timestamps, URIs
                try:
                    field.validator(None, field, value[name])
                except (ValueError, TypeError, OverflowError) as e:
                    self.fail(where, f"{value[name]!r} rejected by {cls.__name__}: {e}")
            for (owner, field_name), rule in SPEC_RULES.items():
                problem = rule(value[name]) if issubclass(cls, owner) and name == field_name else None
                if problem:
                    self.fail(where, f"{value[name]!r} {problem}")

    def facet(self, value: Any, slot: type, path: str) -> None:
        """A facet where a ``slot`` (e.g. RunFacet) belongs: the class its _schemaURL names decides."""
        url = value.get("_schemaURL") if isinstance(value, dict) else None
        if not isinstance(url, str):
            self.fail(path, "a facet without a _schemaURL string")
            return
        document = url.partition("#")[0]
        if url in model_classes():
            cls = model_classes()[url]
            if not issubclass(cls, slot):
                self.fail(path, f"{cls.__name__} where a {slot.__name__} belongs")
            self.object(value, cls, path, closed=True)
        elif document in _aker_schemas():
            self.aker_facet(value, slot, url, path)
        else:
            self.fail(path, f"unknown facet schema {url}")

    def aker_facet(self, value: dict[str, Any], slot: type, url: str, path: str) -> None:
        """aker's facet: its base part by the generated slot class, the rest by aker's JSON Schema."""
        document, _, name = url.partition("#/$defs/")
        definition = _aker_schemas()[document].get("$defs", {}).get(name)
        if definition is None:
            self.fail(path, f"unknown facet schema {url}")
            return
        self.object(value, slot, path, closed=False)
        if _url(slot) not in set(_refs(definition)):
            self.fail(path, f"{url} does not extend {slot.__name__}")
        validator = Draft202012Validator(
            {"$ref": url}, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for error in validator.iter_errors(value):
            self.fail("/".join([path, *map(str, error.absolute_path)]), error.message)


def validate_event(event: Any) -> None:
    """Raise :class:`InvalidEvent` listing every way ``event`` breaks the spec's ``RunEvent``."""
    walk = _Walk()
    walk.object(event, RunEvent, "", closed=True)
    if isinstance(event, dict) and event.get("schemaURL") not in (None, _url(RunEvent)):
        walk.fail("/schemaURL", f"{event['schemaURL']!r} does not name a RunEvent")
    if walk.errors:
        raise InvalidEvent(walk.errors)
