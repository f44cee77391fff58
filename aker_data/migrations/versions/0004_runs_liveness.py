"""runs: process identity and heartbeat, so runs of dead processes can be told apart; warnings.

A run whose process was killed (SIGKILL, power loss) stayed ``running`` forever. ``process_token``
names the process beyond its pid (``<boot id>:<start time in clock ticks>`` on Linux), so a
reused pid on the same host is not mistaken for the run's process; ``heartbeat_at`` is refreshed
while the run is alive, for runs on other hosts. Both are nullable: runs recorded before this
revision have neither and are judged by their start time. ``warnings`` keeps what a run that
completed still wants a person to see (e.g. far fewer markets than the previous as_of).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("process_token", sa.String(64), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("warnings", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("warnings")
        batch.drop_column("heartbeat_at")
        batch.drop_column("process_token")
