"""runs: the code versions a run executed (task modules and result-shaping library versions).

The git sha says which commit ran, but not which version of pyarrow or numpy computed the
result, nor -- with a dirty work tree -- which module's source. ``code_versions`` keeps
``{"modules": {module: version}, "libraries": {name: version}}`` so that ``aker runs diff`` can
name what differs between two runs. Nullable: runs recorded before this revision have none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("code_versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("code_versions")
