"""pillar_scores: run_id is checked once per write instead of by a per-row foreign key.

A publication writes up to 10^6 pillar_scores rows, all naming the same run, and the foreign key
to runs was checked once per row: PostgreSQL fires its RI trigger for every row even under COPY,
SQLite (foreign_keys=ON) looks the run up for every row. Measured at 10^6 rows (replace_pillar_scores,
best of 3): PostgreSQL 7.5 s with the key, 4.7 s with the check below; SQLite 2.8 -> 2.6 s inserting,
3.2 -> 2.7 s rewriting a date in place. aker now checks the run once per write, in
the writing transaction (:mod:`aker_core.markets.persist`; PostgreSQL locks the run row ``FOR KEY
SHARE`` until commit, as the key's own check does), and the key goes.

What ON DELETE SET NULL did is kept by a trigger on runs: deleting a run (aker never does; runs
are the audit trail, but a person may) sets the run_id of its scores to NULL, so no score names a
missing run. PostgreSQL: one statement-level trigger with a transition table, so deleting many
runs scans pillar_scores (no run_id index, see 0003) once, not once per run; SQLite has only
row-level triggers.

For later revisions on SQLite: rebuilding runs in batch mode drops this trigger with the old table
(recreate it), and rebuilding pillar_scores fails while the trigger exists ("error in trigger ...:
no such table") -- drop it first and recreate it after, as the downgrade here does.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_pillar_scores_run_id_runs"
TRIGGER = "tr_runs_delete_unlinks_pillar_scores"
FUNCTION = "aker_runs_delete_unlinks_pillar_scores"

SQLITE_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER DELETE ON runs FOR EACH ROW
BEGIN
    UPDATE pillar_scores SET run_id = NULL WHERE run_id = OLD.run_id;
END
"""

# pillar_scores is looked up in the schema of the runs table the trigger fires on, not through the
# deleting session's search_path.
POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'UPDATE %I.pillar_scores SET run_id = NULL WHERE run_id IN (SELECT run_id FROM deleted_runs)',
        TG_TABLE_SCHEMA
    );
    RETURN NULL;
END
$$
"""

POSTGRESQL_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER DELETE ON runs
REFERENCING OLD TABLE AS deleted_runs
FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()
"""


def upgrade() -> None:
    with op.batch_alter_table("pillar_scores") as batch:
        batch.drop_constraint(FOREIGN_KEY, type_="foreignkey")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TRIGGER} ON runs")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER}")
    # Validates every row: a run_id naming no run (only a hand-made row can) makes the downgrade fail.
    with op.batch_alter_table("pillar_scores") as batch:
        batch.create_foreign_key(FOREIGN_KEY, "runs", ["run_id"], ["run_id"], ondelete="SET NULL")
