"""The base of every aker task: content-addressed outputs, sidecars, and a recorded run.

A task's output path is derived from its *cache key*: task family, significant parameters, the
code version of its logic, the content hashes of its inputs and the settings that change its
result. Until every input exists the key cannot be known, so :meth:`AkerTask.output` returns a
:class:`~aker_tasks.targets.PendingTarget` and Luigi schedules the task after its inputs;
:meth:`AkerTask.run` recomputes the key first, so an input rebuilt with identical content finds
the existing target and nothing is recomputed.

Each *executed* task is one run: a ``runs`` row (task family, parameters, git sha, config hash,
seed, status, output hash) with ``lineage`` rows for every input and output. Tasks found complete
record nothing, so a fully cached rerun adds no database rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import luigi

from aker_core.config import Settings, get_settings
from aker_tasks.cachekey import KeyParts, compute_key
from aker_tasks.hashing import code_version, file_hash, library_versions
from aker_tasks.identity import ConfigParameter, config_fingerprint
from aker_tasks.targets import PARQUET, CacheTarget, PendingTarget, remove_stale_temporaries

if TYPE_CHECKING:
    from aker_core.run import RunContext

__all__ = ["PUBLICATION_PRIORITY", "AkerTask", "all_code_modules", "preload_runtime", "report_progress"]

#: Luigi priority of publications (and, through Luigi's propagation, of everything they need):
#: above the exports' 0, so a worker with a choice publishes every date it was given before it
#: exports one -- an export's ``rank_change`` compares with the latest earlier publication, and
#: an export written before an earlier date is published is stale at once. (Luigi's own
#: ``RangeDaily``/``RangeMonthly`` rely on this; ``Backfill`` orders its dates itself.)
PUBLICATION_PRIORITY = 100

#: What executing tasks need, loaded once before workers fork (see :func:`preload_runtime`).
#: ``pyarrow.csv`` (CSV sources and exports, PostgreSQL's COPY) is here for every run: with
#: pyarrow loaded it costs ~1 ms, less than deciding per task whether it is needed.
RUNTIME_MODULES: tuple[str, ...] = (
    "pyarrow.parquet",
    "pyarrow.csv",
    # imported lazily by pa.array's masked-array check
    "numpy.ma",
    "pyarrow.compute",
    "aker_core.scoring.markets",
    "aker_core.sources.reader",
    "aker_core.markets.persist",
    "aker_core.run",
    "aker_core.logging",
    "aker_data.migrate",
    "aker_data.models",
    "sqlalchemy.orm",
    "aker_data.engine",
    "aker_tasks.io",
    "aker_tasks.database",
)


_preloaded = False


def _prepare_database() -> None:
    """Do once, before workers fork, what every worker's first database use would redo."""
    from sqlalchemy.orm import configure_mappers

    from aker_tasks.database import run_engine

    configure_mappers()  # ~13 ms per process on first ORM use
    try:
        # Engine, dialect and schema check are inherited by the workers (which open their own
        # connections); with the embedded SQLite default this is also where it gets migrated.
        with run_engine().connect():
            pass
    except Exception:  # the task that needs the database reports it, with the task's own error
        logger.debug("run database not ready before fork; tasks will report it", exc_info=True)


def preload_runtime(extra: tuple[str, ...] = ()) -> None:
    """Import :data:`RUNTIME_MODULES` (and ``extra``) and freeze them out of the garbage collector.

    Called while Luigi schedules a graph in which something will run (the
    ``DEPENDENCY_DISCOVERED`` event, :mod:`aker_tasks.events`), before it forks a process per
    task with ``--workers N``: modules loaded in the parent are shared by every worker, whereas
    each would otherwise import pyarrow and SQLAlchemy again. A fully cached run never gets here
    and stays light. Idempotent: later calls only import the ``extra`` modules not loaded yet.

    Freezing (:func:`gc.freeze`) is what the ``gc`` docs advise before ``fork()``: collections
    in the forked workers then skip the hundreds of thousands of objects these libraries
    allocate, so they neither spend time on them nor touch (and copy) the shared pages; and the
    interpreter's collections at exit skip them too (measured ~0.1 s per ``luigi`` process).
    The collector is paused while importing: module objects live for the whole process, so the
    collections their allocations trigger find nothing to free (measured ~30 ms of 0.26 s).
    """
    import gc
    import importlib
    import sys

    global _preloaded
    missing = [name for name in extra if name not in sys.modules]
    if _preloaded and not missing:
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        for name in missing if _preloaded else (*RUNTIME_MODULES, *missing):
            importlib.import_module(name)
        if not _preloaded:
            from aker_core.gitinfo import git_info

            git_info()  # runs `git` once here instead of once per forked worker
            _prepare_database()
    finally:
        # No gc.collect() first: measured, it takes ~27 ms here and finds no garbage to free.
        gc.freeze()
        if enabled:
            gc.enable()
    _preloaded = True


logger = logging.getLogger("aker_tasks")


def report_progress(task: luigi.Task, message: str | None = None, percent: int | None = None) -> None:
    """Show ``task``'s progress in the central scheduler's UI (a no-op outside a Luigi worker).

    Progress is for watching, never a reason to fail: an unreachable luigid is one warning, and
    the task stops reporting for the rest of its run.
    """
    # Luigi installs these callbacks only when a worker runs the task; they are None otherwise.
    status: Any = task.set_status_message
    progress: Any = task.set_progress_percentage
    if getattr(task, "_reporting_failed", False):
        return
    try:
        if message is not None and callable(status):
            status(message)
        if percent is not None and callable(progress):
            progress(percent)
    except Exception:
        logger.warning("%s: cannot report progress to the scheduler; carrying on without", task.task_id)
        task._reporting_failed = True  # type: ignore[attr-defined]


class AkerTask(luigi.Task):
    """Base class: subclasses implement :meth:`execute` and declare :attr:`code_modules`."""

    config = ConfigParameter()

    #: Modules (or packages) whose source is this task's logic; their hash is the code version.
    code_modules: ClassVar[tuple[str, ...]] = ()
    #: Significant parameters already represented by another key part (e.g. weights, which
    #: enter the key normalised), left out so that equivalent values share one target.
    key_excludes: ClassVar[tuple[str, ...]] = ()
    #: Content type of the output file.
    content_type: ClassVar[str] = PARQUET
    #: File extension of the output file.
    extension: ClassVar[str] = "parquet"

    # --- identity -------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The process's settings (read once per process)."""
        return get_settings()

    def run_settings(self) -> Settings:
        """The settings a run of this task records (tasks with ``weights`` record those)."""
        return self.settings

    def label(self) -> str:
        """Readable part of the output file name (the key makes it unique)."""
        return self.get_task_family().lower()

    def as_of_dir(self) -> str:
        """Subdirectory grouping outputs by as-of date."""
        as_of = getattr(self, "as_of", None)
        return as_of.isoformat() if isinstance(as_of, dt.date) else "all"

    def result_settings(self) -> dict[str, Any]:
        """Settings that change this task's result (feature flags by default)."""
        return {"features": dict(sorted(self.settings.features.items()))}

    def input_hashes(self) -> dict[str, str] | None:
        """Content hashes of the upstream file targets by name, or ``None`` while one is not built.

        Upstream targets that are not files (a database publication) carry no content hash and
        do not enter the key.
        """
        hashes: dict[str, str] = {}
        for name, target in self._named_inputs().items():
            if isinstance(target, PendingTarget):
                return None
            if isinstance(target, CacheTarget):
                if not target.exists():
                    return None
                hashes[name] = target.content_hash()
        return hashes

    def _named_inputs(self) -> dict[str, luigi.Target]:
        reqs = self.requires()
        if isinstance(reqs, dict):
            items = list(reqs.items())
        elif isinstance(reqs, list | tuple):
            items = [(str(i), r) for i, r in enumerate(reqs)]
        else:
            items = [] if reqs is None else [("0", reqs)]
        return {name: task.output() for name, task in items}

    def key_parts(self) -> KeyParts | None:
        """Everything the output depends on, by name, or ``None`` while inputs are missing.

        Gathers the parts :func:`~aker_tasks.cachekey.compute_key` turns into the key (the one
        place the rule lives). ``config`` is left out: it fingerprints the whole graph's inputs,
        whereas the key names exactly this task's, so an unchanged branch keeps its targets when
        another source changes.
        """
        inputs = self.input_hashes()
        if inputs is None:
            return None
        return self.parts_for(inputs)

    def parts_for(self, inputs: Mapping[str, str]) -> KeyParts:
        """The key parts of this task with the given input content hashes (``aker status`` also
        asks while an upstream target is not built, leaving that input out)."""
        excluded = {"config", *self.key_excludes}
        return KeyParts(
            family=self.get_task_family(),
            params={k: v for k, v in self.to_str_params(only_significant=True).items() if k not in excluded},
            code=self.code_versions(),
            libraries=library_versions() if self.code_modules else {},
            inputs=dict(inputs),
            settings=self.result_settings(),
        )

    def code_versions(self) -> dict[str, str]:
        """Module -> code version of each of :attr:`code_modules`."""
        return {module: code_version(module) for module in self.code_modules}

    def target_for(self, parts: KeyParts) -> CacheTarget:
        """The target named by ``parts`` (see :func:`~aker_tasks.cachekey.compute_key`)."""
        key = compute_key(parts).key
        path = (
            self.settings.cache_path
            / "targets"
            / self.get_task_family()
            / self.as_of_dir()
            / f"{self.label()}-{key[:20]}.{self.extension}"
        )
        return CacheTarget(path, self.content_type)

    def output(self) -> luigi.Target:
        """The content-addressed target, or a pending one while inputs are missing.

        Recomputed on every call (not cached on the instance): Luigi reuses task instances, and
        a key remembered from before an input changed would point at a stale result.
        """
        parts = self.key_parts()
        if parts is None:
            return PendingTarget(f"{self.task_id}: inputs not built yet")
        return self.target_for(parts)

    def target(self) -> CacheTarget:
        """The resolved output target (only valid once inputs exist, e.g. inside run())."""
        out = self.output()
        if not isinstance(out, CacheTarget):
            raise RuntimeError(f"{self.task_id}: output requested before its inputs were built")
        return out

    def complete(self) -> bool:
        """Luigi's check: the target of the current key exists (a pure question; a check that
        fails, e.g. on a missing source file, is "no", and run() then reports the error)."""
        try:
            return self.output_complete()
        except Exception:
            # One line, exit 30 from run() -- raising here would be a scheduling error, which
            # keep-alive workers would wait on forever.
            logger.debug("%s: completeness check failed; the task will run and report it", self.task_id, exc_info=True)
            return False

    def output_complete(self) -> bool:
        """The question :meth:`complete` asks (Luigi's: the output exists); may raise."""
        return bool(super().complete())

    # --- execution ------------------------------------------------------------------------
    def report(self, message: str | None = None, percent: int | None = None) -> None:
        """Show progress in the central scheduler's UI (see :func:`report_progress`)."""
        report_progress(self, message, percent)

    def check_identity(self) -> None:
        """Refuse to run a task scheduled for other sources, settings or code than this process has.

        Raises:
            ConfigError: the ``config`` fingerprint differs (e.g. a source file was edited
                between scheduling and running, or ``--config`` was given by hand).
        """
        from aker_core.exceptions import ConfigError

        current = config_fingerprint(self.settings)
        if self.config != current:
            raise ConfigError(
                f"{self.task_id} was scheduled for configuration {self.config}, but this worker's sources, "
                f"settings or code now give {current} (was a source file changed during the run?); run it again"
            )

    @contextmanager
    def recorded_run(self) -> Iterator[RunContext]:
        """One ``runs`` row around the block, with aker's log context; commits on success."""
        from sqlalchemy.orm import sessionmaker

        from aker_core.logging import log_context
        from aker_core.run import RunContext
        from aker_tasks.database import run_engine
        from aker_tasks.openlineage import run_started

        with (
            RunContext(
                sessionmaker(bind=run_engine()),
                settings=self.run_settings(),
                task_family=self.get_task_family(),
                task_params=self.to_str_params(only_significant=True),
                code_versions={"modules": self.code_versions(), "libraries": library_versions()},
            ) as run,
            log_context(run_id=run.id, task=self.get_task_family(), as_of=getattr(self, "as_of", None)),
        ):
            run_started(self, run)  # OpenLineage START (a no-op unless configured)
            yield run

    def execute(self, run: RunContext, target: CacheTarget) -> dict[str, Any]:
        """Compute and write :meth:`target`; return extra sidecar fields (e.g. rows, schema)."""
        raise NotImplementedError

    def provenance(self, run: RunContext, parts: KeyParts) -> dict[str, Any]:
        """Sidecar fields every target carries, from the key parts the target was named by."""
        return {
            **parts.sidecar_fields(),
            "cache_key": compute_key(parts).key,
            "run_id": run.id,
            "git_sha": run.git_sha,
            "config_hash": run.config_hash,
        }

    def log_inputs(self, run: RunContext) -> None:
        """Record every upstream file target this task reads as an input lineage row."""
        for name, target in self._named_inputs().items():
            if not isinstance(target, CacheTarget):
                continue
            meta = target.sidecar()
            run.log_lineage(
                table=str(meta.get("task", {}).get("family", name)),
                source=f"target:{name}",
                url=target.file.as_uri(),
                fetched_at=None,
                hash=str(meta["content_hash"]),
                path=target.path,
                rows=meta.get("rows"),
            )

    def run(self) -> None:
        """Run :meth:`execute` inside a recorded run, then write the sidecar and lineage."""
        from aker_core.logging import log_context

        self.check_identity()
        parts = self.key_parts()
        if parts is None:
            raise RuntimeError(f"{self.task_id}: run before its inputs were built")
        target = self.target_for(parts)
        if target.exists():
            # Scheduled while its inputs were missing; they turned out identical to ones seen
            # before (or another worker just built it), so this exact result already exists.
            logger.info("%s: %s already built from identical inputs", self.task_id, target.path)
            self.run_stats = {}
            return
        if target.discard_invalid():
            logger.warning("%s: %s was damaged or incomplete; rebuilding it", self.task_id, target.path)
        remove_stale_temporaries(target.file.parent)
        started = time.perf_counter()
        self.report(f"running {self.get_task_family()} {self.to_str_params(only_significant=True)}", percent=0)
        with self.recorded_run() as run:
            self.log_inputs(run)
            extra = self.execute(run, target)
            # The sidecar is written only after the run has committed as completed, so a
            # published target always has its run and lineage.
            content_hash = file_hash(target.file)
            run.set_output_hash(content_hash)
            run.log_lineage(
                table=self.get_task_family(),
                source="target",
                url=target.file.as_uri(),
                fetched_at=None,
                hash=content_hash,
                direction="output",
                path=target.path,
                rows=extra.get("rows"),
            )
        # Another worker may have finished the same content-addressed target first: its sidecar
        # stays (atomic_path keeps the file already in place); the data is the same either way.
        meta = target.write_sidecar(self.provenance(run, parts) | extra)
        with log_context(run_id=run.id, task=self.get_task_family(), as_of=getattr(self, "as_of", None)):
            logger.info("%s wrote %s (%s rows)", self.task_id, target.path, meta.get("rows"))
        self.run_stats = {
            "duration_seconds": time.perf_counter() - started,
            "bytes_written": int(meta["bytes"]),
            "rows_in": int(extra.get("rows_in", 0)),
            "rows_out": int(meta.get("rows") or 0),
        }
        self.report(f"done: {Path(target.path).name} ({meta.get('rows')} rows)", percent=100)


def all_code_modules() -> tuple[str, ...]:
    """Every module any aker task names as its logic (the code part of the ``config`` fingerprint)."""
    found: set[str] = set()
    pending: list[type[AkerTask]] = [AkerTask]
    while pending:
        cls = pending.pop()
        found.update(cls.code_modules)
        pending.extend(cls.__subclasses__())
    return tuple(sorted(found))
