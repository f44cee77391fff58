"""Initial schema: runs, lineage, markets, the four source tables and pillar_scores.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the metric columns as of this revision (later changes need a new revision).
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "market_supply": (
        "permit_per_1k",
        "vacancy_rate",
        "tom_days",
        "slope_pct",
        "buffer_pct",
        "parking_idx",
        "height_idx",
    ),
    "market_jobs": (
        "unemployment_rate",
        "tech_lq",
        "health_lq",
        "education_lq",
        "manufacturing_lq",
        "defense_lq",
        "biotech_lq",
        "tech_cagr_5yr",
        "health_cagr_5yr",
        "education_cagr_5yr",
        "manufacturing_cagr_5yr",
        "total_awards_per_100k",
        "bfs_applications_per_100k",
        "bfs_high_propensity_per_100k",
        "startup_density",
        "mig_25_44_per_1k",
        "expansions_total_ct",
        "expansions_total_jobs",
        "labor_participation_rate",
    ),
    "market_urban": (
        "retail_vac",
        "walk_15_ct",
        "bike_15_ct",
        "k8_ct",
        "transit_ct",
        "urgent_ct",
        "interx_km2",
        "bikeway_conn_idx",
        "retail_rent_qoq",
        "daytime_pop_1mi",
    ),
    "market_outdoors": (
        "min_trail_min",
        "min_ski_bus_min",
        "min_water_min",
        "park_min",
        "pm25_var",
        "smoke_days",
        "trail_mi_pc",
        "public_land_30min_pct",
        "hw_rail_prox_idx",
    ),
}
BOOLEAN_COLUMNS: dict[str, tuple[str, ...]] = {"market_urban": ("lastmile_flag",)}


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("git_sha", sa.String(64), nullable=False),
        sa.Column("git_dirty", sa.Boolean(), nullable=True),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("config_json", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("output_hash", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("task_family", sa.String(128), nullable=True),
        sa.Column("task_params", sa.JSON(), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_runs")),
    )
    op.create_index("ix_runs_status_started_at", "runs", ["status", "started_at"])
    op.create_index("ix_runs_task_family_started_at", "runs", ["task_family", "started_at"])
    op.create_table(
        "lineage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("table", sa.String(128), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hash", sa.String(64), nullable=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_lineage_run_id_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage")),
    )
    op.create_index(op.f("ix_lineage_run_id"), "lineage", ["run_id"])
    op.create_table(
        "markets",
        sa.Column("msa_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("msa_id", name=op.f("pk_markets")),
    )
    for table, metrics in SOURCE_COLUMNS.items():
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("msa_id", sa.String(32), nullable=False),
            sa.Column("data_vintage", sa.Date(), nullable=False),
            *(sa.Column(name, sa.Float(), nullable=True) for name in metrics),
            *(sa.Column(name, sa.Boolean(), nullable=True) for name in BOOLEAN_COLUMNS.get(table, ())),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("msa_id", "data_vintage", name=op.f(f"uq_{table}_msa_id_data_vintage")),
        )
    op.create_table(
        "pillar_scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("msa_id", sa.String(32), nullable=False),
        sa.Column("score_as_of", sa.Date(), nullable=False),
        *(sa.Column(f"{p}_0_5", sa.Float(), nullable=True) for p in ("supply", "jobs", "urban", "outdoor")),
        sa.Column("weighted_0_5", sa.Float(), nullable=True),
        sa.Column("weighted_0_100", sa.Float(), nullable=True),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("missing_pillars", sa.String(64), nullable=True),
        sa.Column("run_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name=op.f("fk_pillar_scores_run_id_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pillar_scores")),
        sa.UniqueConstraint("msa_id", "score_as_of", name=op.f("uq_pillar_scores_msa_id_score_as_of")),
    )
    op.create_index(op.f("ix_pillar_scores_score_as_of"), "pillar_scores", ["score_as_of"])
    op.create_index(op.f("ix_pillar_scores_run_id"), "pillar_scores", ["run_id"])


def downgrade() -> None:
    op.drop_table("pillar_scores")
    for table in reversed(SOURCE_COLUMNS):
        op.drop_table(table)
    op.drop_table("markets")
    op.drop_table("lineage")
    op.drop_table("runs")
