"""pillar_scores: unique key led by score_as_of, replacing the separate score_as_of index.

The unique constraint on (msa_id, score_as_of) becomes one on (score_as_of, msa_id): the same
uniqueness, but it also serves every lookup by as-of date (delete/replace of a date, the
metrics exporter's latest date), so the extra ``ix_pillar_scores_score_as_of`` index -- one
more B-tree to update for each of up to a million rows per run -- can go.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pillar_scores") as batch:
        batch.drop_index("ix_pillar_scores_score_as_of")
        batch.drop_constraint("uq_pillar_scores_msa_id_score_as_of", type_="unique")
        batch.create_unique_constraint("uq_pillar_scores_score_as_of_msa_id", ["score_as_of", "msa_id"])


def downgrade() -> None:
    with op.batch_alter_table("pillar_scores") as batch:
        batch.drop_constraint("uq_pillar_scores_score_as_of_msa_id", type_="unique")
        batch.create_unique_constraint("uq_pillar_scores_msa_id_score_as_of", ["msa_id", "score_as_of"])
        batch.create_index("ix_pillar_scores_score_as_of", ["score_as_of"])
