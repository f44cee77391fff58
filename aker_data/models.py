"""SQLAlchemy 2.0 typed models of the run database.

The schema itself only changes through Alembic (``migrations/``); a test checks that these
models and the migrations agree on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "SOURCE_MODELS",
    "Base",
    "Lineage",
    "Market",
    "MarketJobs",
    "MarketOutdoors",
    "MarketSupply",
    "MarketUrban",
    "PillarScore",
    "Run",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_STATUSES = ("running", "completed", "failed")


class Base(DeclarativeBase):
    """Declarative base with aker's constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON}


class Run(Base):
    """One recorded execution: who ran what code with which configuration, and how it ended."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_status_started_at", "status", "started_at"),
        Index("ix_runs_task_family_started_at", "task_family", "started_at"),
    )

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    git_sha: Mapped[str] = mapped_column(String(64))
    git_dirty: Mapped[bool | None] = mapped_column(Boolean)
    config_hash: Mapped[str] = mapped_column(String(64))
    config_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    output_hash: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    task_family: Mapped[str | None] = mapped_column(String(128))
    task_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    #: ``<boot id>:<process start ticks>`` (Linux): the process beyond its reusable pid.
    process_token: Mapped[str | None] = mapped_column(String(64))
    #: Last sign of life of a ``running`` run (refreshed by the run's process).
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: What a run that completed still wants a person to see, one per line.
    warnings: Mapped[str | None] = mapped_column(Text)
    #: The code a task run executed beyond the git sha: ``{"modules": {module: version},
    #: "libraries": {name: version}}`` (migration 0005; ``None`` for older runs).
    code_versions: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Lineage(Base):
    """One dataset a run read (``input``) or wrote (``output``), with its content hash."""

    __tablename__ = "lineage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id", ondelete="CASCADE"), index=True)
    table: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(255))
    source_url: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    hash: Mapped[str | None] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8), default="input")
    path: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int | None] = mapped_column(BigInteger)


class Market(Base):
    """A scored geography (metro area, county or tract) and its display name."""

    __tablename__ = "markets"

    msa_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class _SourceRow:
    """Columns every source table shares; (``msa_id``, ``data_vintage``) is unique."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    msa_id: Mapped[str] = mapped_column(String(32))
    data_vintage: Mapped[dt.date] = mapped_column(Date)


class MarketSupply(_SourceRow, Base):
    """Supply-constraint metrics per market and vintage."""

    __tablename__ = "market_supply"
    __table_args__ = (UniqueConstraint("msa_id", "data_vintage"),)

    permit_per_1k: Mapped[float | None] = mapped_column(Float)
    vacancy_rate: Mapped[float | None] = mapped_column(Float)
    tom_days: Mapped[float | None] = mapped_column(Float)
    slope_pct: Mapped[float | None] = mapped_column(Float)
    buffer_pct: Mapped[float | None] = mapped_column(Float)
    parking_idx: Mapped[float | None] = mapped_column(Float)
    height_idx: Mapped[float | None] = mapped_column(Float)


class MarketJobs(_SourceRow, Base):
    """Innovation-jobs metrics per market and vintage."""

    __tablename__ = "market_jobs"
    __table_args__ = (UniqueConstraint("msa_id", "data_vintage"),)

    unemployment_rate: Mapped[float | None] = mapped_column(Float)
    tech_lq: Mapped[float | None] = mapped_column(Float)
    health_lq: Mapped[float | None] = mapped_column(Float)
    education_lq: Mapped[float | None] = mapped_column(Float)
    manufacturing_lq: Mapped[float | None] = mapped_column(Float)
    defense_lq: Mapped[float | None] = mapped_column(Float)
    biotech_lq: Mapped[float | None] = mapped_column(Float)
    tech_cagr_5yr: Mapped[float | None] = mapped_column(Float)
    health_cagr_5yr: Mapped[float | None] = mapped_column(Float)
    education_cagr_5yr: Mapped[float | None] = mapped_column(Float)
    manufacturing_cagr_5yr: Mapped[float | None] = mapped_column(Float)
    total_awards_per_100k: Mapped[float | None] = mapped_column(Float)
    bfs_applications_per_100k: Mapped[float | None] = mapped_column(Float)
    bfs_high_propensity_per_100k: Mapped[float | None] = mapped_column(Float)
    startup_density: Mapped[float | None] = mapped_column(Float)
    mig_25_44_per_1k: Mapped[float | None] = mapped_column(Float)
    expansions_total_ct: Mapped[float | None] = mapped_column(Float)
    expansions_total_jobs: Mapped[float | None] = mapped_column(Float)
    labor_participation_rate: Mapped[float | None] = mapped_column(Float)


class MarketUrban(_SourceRow, Base):
    """Urban-convenience metrics per market and vintage."""

    __tablename__ = "market_urban"
    __table_args__ = (UniqueConstraint("msa_id", "data_vintage"),)

    retail_vac: Mapped[float | None] = mapped_column(Float)
    walk_15_ct: Mapped[float | None] = mapped_column(Float)
    bike_15_ct: Mapped[float | None] = mapped_column(Float)
    k8_ct: Mapped[float | None] = mapped_column(Float)
    transit_ct: Mapped[float | None] = mapped_column(Float)
    urgent_ct: Mapped[float | None] = mapped_column(Float)
    interx_km2: Mapped[float | None] = mapped_column(Float)
    bikeway_conn_idx: Mapped[float | None] = mapped_column(Float)
    retail_rent_qoq: Mapped[float | None] = mapped_column(Float)
    daytime_pop_1mi: Mapped[float | None] = mapped_column(Float)
    lastmile_flag: Mapped[bool | None] = mapped_column(Boolean)


class MarketOutdoors(_SourceRow, Base):
    """Outdoor-access metrics per market and vintage."""

    __tablename__ = "market_outdoors"
    __table_args__ = (UniqueConstraint("msa_id", "data_vintage"),)

    min_trail_min: Mapped[float | None] = mapped_column(Float)
    min_ski_bus_min: Mapped[float | None] = mapped_column(Float)
    min_water_min: Mapped[float | None] = mapped_column(Float)
    park_min: Mapped[float | None] = mapped_column(Float)
    pm25_var: Mapped[float | None] = mapped_column(Float)
    smoke_days: Mapped[float | None] = mapped_column(Float)
    trail_mi_pc: Mapped[float | None] = mapped_column(Float)
    public_land_30min_pct: Mapped[float | None] = mapped_column(Float)
    hw_rail_prox_idx: Mapped[float | None] = mapped_column(Float)


class PillarScore(Base):
    """Scores of one market as of one date, with the weights and run that produced them."""

    __tablename__ = "pillar_scores"
    # Led by score_as_of so the one index also serves lookups by date (migration 0002).
    __table_args__ = (UniqueConstraint("score_as_of", "msa_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    msa_id: Mapped[str] = mapped_column(String(32))
    score_as_of: Mapped[dt.date] = mapped_column(Date)
    supply_0_5: Mapped[float | None] = mapped_column(Float)
    jobs_0_5: Mapped[float | None] = mapped_column(Float)
    urban_0_5: Mapped[float | None] = mapped_column(Float)
    outdoor_0_5: Mapped[float | None] = mapped_column(Float)
    weighted_0_5: Mapped[float | None] = mapped_column(Float)
    weighted_0_100: Mapped[float | None] = mapped_column(Float)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    missing_pillars: Mapped[str | None] = mapped_column(String(64))
    # The run that wrote the row (runs.run_id). Not a foreign key (migration 0006): all rows of a
    # write name one run, so aker_core.markets.persist checks it once per write in the writing
    # transaction instead of the database once per row; a trigger on runs sets it to NULL when its
    # run is deleted, as ON DELETE SET NULL did. Not indexed: a run writes one whole date, which
    # the (score_as_of, msa_id) key serves (migration 0003).
    run_id: Mapped[str | None] = mapped_column(String(36))


#: Source table name -> model, in pillar order (supply, jobs, urban, outdoor).
SOURCE_MODELS: dict[str, type[_SourceRow]] = {
    "market_supply": MarketSupply,
    "market_jobs": MarketJobs,
    "market_urban": MarketUrban,
    "market_outdoors": MarketOutdoors,
}
