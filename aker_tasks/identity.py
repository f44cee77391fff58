"""Task identity: what makes two aker tasks the same task for Luigi and luigid.

A Luigi task id is its family plus its significant parameters, and luigid treats equal ids as
one task. Everything that can change a task's result therefore has to be a parameter:

* ``config`` (every task): a short fingerprint of the configuration *and content* the graph
  is computed from -- the result-affecting settings other than weights, the cache and database
  locations (never a password), the content hashes of the five sources, the code version
  of every task and the versions of the libraries that shape results. Two configurations never
  share a task id; the same configuration always does, so N workers of it split one graph.
  Because the sources' content is in it, an edited source gives new task ids, which luigid has
  never seen done, failed or disabled.
* ``weights`` (the tasks that compose): the normalised weights, defaulting to ``AKER_WEIGHTS``,
  so the scheduler's UI shows which weights a box was computed with.

Cache keys (target paths) are separate and stay content-addressed: they hash the inputs a task
reads, so a task whose inputs are unchanged reuses its target whatever the fingerprint says.
Database state a task reads is an input of its key, not of the fingerprint: ExportScores' key
holds the publications its file shows (see :mod:`aker_tasks.export`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import luigi
import orjson
import xxhash
from luigi.parameter import _no_value

from aker_core.config import Settings, get_settings
from aker_core.redact import strip_url_credentials

__all__ = [
    "EXIT_USAGE",
    "AsOfParameter",
    "ConfigParameter",
    "WeightsParameter",
    "config_fingerprint",
    "database_identity",
    "parse_weights",
]

#: Exit code of a command line whose value is invalid (as argparse uses for usage errors).
EXIT_USAGE = 2


def _usage_error(flag: str, message: str) -> SystemExit:
    """One line on stderr naming the option, and the exit to raise (no traceback: it is the user's value)."""
    import sys

    print(f"aker: {flag}: {message}", file=sys.stderr)
    return SystemExit(EXIT_USAGE)


class AsOfParameter(luigi.DateParameter):
    """An as-of date: ``YYYY-MM-DD`` or ``YYYY-MM`` (the first of the month), as everywhere in aker.

    On the command line a bad value ends the command with one line naming ``--as-of`` and exit
    code 2; from Python it raises :class:`~aker_core.exceptions.ScoringError`. Luigi's
    ``RangeDaily``/``RangeMonthly`` pass dates (or datetimes), which are taken as they are.
    """

    def __init__(self, *args: Any, flag: str = "--as-of", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The option a bad command-line value is reported under.
        self.flag = flag

    def parse(self, s: str) -> Any:
        """Parse a command-line (or configuration file) value."""
        from aker_core.dates import parse_as_of
        from aker_core.exceptions import ScoringError

        try:
            return parse_as_of(s)
        except ScoringError as e:
            raise _usage_error(self.flag, str(e)) from None

    def normalize(self, value: Any) -> Any:
        """A date from a date, a datetime or a string (Python callers)."""
        from aker_core.dates import parse_as_of

        return super().normalize(parse_as_of(value)) if value is not None else value


#: Hex digits of the fingerprint shown in task ids (64 bits: collisions are not a concern).
FINGERPRINT_CHARS = 16


def _source_identity(settings: Settings) -> dict[str, str]:
    """Each dataset's content hash, or why it cannot be read (the fetch reports that properly)."""
    from aker_core.exceptions import AkerError
    from aker_core.sources.location import DATASETS
    from aker_tasks.fetch import source_hash

    hashes: dict[str, str] = {}
    for dataset in DATASETS:
        try:
            hashes[dataset] = source_hash(settings, dataset)
        except (AkerError, OSError) as e:
            hashes[dataset] = f"unavailable: {type(e).__name__}"
    return hashes


def database_identity(url: str) -> str:
    """Which database ``url`` names, without any secret: no password, no secret query parameters.

    The fingerprint is a fast hash shown in task ids, so a secret must not enter it even hashed
    (it could be guessed offline), and rotating a password must not change every task id.
    """
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    from aker_core.redact import SECRET_QUERY_KEYS

    without_password, user, _password = strip_url_credentials(url)
    parts = urlsplit(without_password)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in SECRET_QUERY_KEYS]
    netloc = f"{user}@{parts.netloc}" if user else parts.netloc
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query)))


def config_fingerprint(settings: Settings | None = None) -> str:
    """The ``config`` parameter of this process's tasks (see the module docstring)."""
    from aker_tasks.base import all_code_modules
    from aker_tasks.hashing import code_version, library_versions

    settings = settings or get_settings()
    parts = {
        "settings": {k: v for k, v in settings.result_config().items() if k != "weights"},
        "cache": str(settings.cache_path),
        "database": database_identity(settings.database_url),
        "sources": _source_identity(settings),
        "code": code_version(*all_code_modules()),
        "libraries": library_versions(),
    }
    digest = xxhash.xxh3_64_hexdigest(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS))
    return digest[:FINGERPRINT_CHARS]


class ConfigParameter(luigi.Parameter):
    """The configuration fingerprint; defaults to this process's (:func:`config_fingerprint`)."""

    def __init__(self) -> None:
        super().__init__(
            positional=False,
            description="Fingerprint of the configuration, source contents and code this task is computed "
            "from (computed; do not set). Equal for every worker of one configuration.",
        )

    def _value_iterator(self, task_name: str, param_name: str) -> Any:
        # Luigi's own sources first (command line, [Task] section), then the computed default:
        # a class-level default would be frozen at import, before settings or sources change.
        for value, warning in super()._value_iterator(task_name, param_name):
            if value is not _no_value:
                yield value, warning
        yield config_fingerprint(), None


def parse_weights(value: Mapping[str, Any] | None, settings: Settings | None = None) -> dict[str, float]:
    """Normalised weights (summing to 1) of ``value``, or of ``AKER_WEIGHTS`` when it is ``None``.

    Raises:
        ScoringError: unknown or missing key, negative, non-numeric or all-zero weights.
    """
    from aker_core.config.weights import normalise_weights

    return normalise_weights(value if value is not None else (settings or get_settings()).weights, name="--weights")


class WeightsParameter(luigi.DictParameter):
    """Pillar weights, normalised to sum 1 (equal ratios are one task); default ``AKER_WEIGHTS``."""

    def __init__(self) -> None:
        super().__init__(
            positional=False,
            description='Pillar weights as JSON, e.g. {"supply":0.4,"jobs":0.3,"urban":0.2,"outdoor":0.1}; '
            "normalised to sum 1; default AKER_WEIGHTS.",
        )

    def _value_iterator(self, task_name: str, param_name: str) -> Any:
        for value, warning in super()._value_iterator(task_name, param_name):
            if value is not _no_value:
                yield value, warning
        yield None, None  # normalize() turns "not given" into the configured weights

    def parse(self, x: str) -> Any:
        """Parse and check a command-line value: bad JSON or bad weights end the command in one line."""
        from aker_core.exceptions import ScoringError

        try:
            value = orjson.loads(x)
        except orjson.JSONDecodeError as e:
            raise _usage_error("--weights", f'not JSON ({e}); e.g. \'{{"supply":0.4,"jobs":0.3,...}}\'') from None
        if not isinstance(value, dict):
            raise _usage_error("--weights", f"expected a JSON object with the four pillars, got {x!r}")
        try:
            parse_weights(value)
        except ScoringError as e:
            raise _usage_error("--weights", str(e)) from None
        return value

    def normalize(self, value: Any) -> Any:
        """Validate and normalise (``None`` = the configured weights)."""
        return super().normalize(parse_weights(value))
