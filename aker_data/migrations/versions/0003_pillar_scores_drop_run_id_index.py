"""pillar_scores: drop the run_id index.

Every pillar_scores row carries the run that wrote it, and that run writes one whole as-of
date, so "the rows of run X" are "the rows of X's date" and the (score_as_of, msa_id) key
serves them; the audit direction, from a number to its run, reads run_id off the row. The
separate run_id index was one more B-tree to update for each of up to a million rows per
run: measured at 10^6 markets on SQLite it cost 0.6-0.9 s of a 5-6 s ScoreMarkets, and about
a fifth of the table's bytes. Runs are never deleted (they are the audit trail), so the
foreign key's ON DELETE SET NULL does not need it either.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pillar_scores") as batch:
        batch.drop_index("ix_pillar_scores_run_id")


def downgrade() -> None:
    with op.batch_alter_table("pillar_scores") as batch:
        batch.create_index("ix_pillar_scores_run_id", ["run_id"])
