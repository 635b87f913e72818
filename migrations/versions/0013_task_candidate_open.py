"""task_candidate.is_open, kept by a trigger on human_task.status, and a partial index of the
live rows: the inbox probes a person's candidate rows of live tasks only (bench/scale.py)

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LIVE = "('open', 'on_hold')"  # engine.instances.models.LIVE_STATUSES

PG_FUNCTION = f"""
CREATE FUNCTION task_candidate_follow_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE task_candidate SET is_open = (NEW.status IN {LIVE})
   WHERE task_id = NEW.id AND is_open IS DISTINCT FROM (NEW.status IN {LIVE});
  RETURN NULL;
END $$"""
PG_TRIGGER = """
CREATE TRIGGER trg_human_task_status AFTER UPDATE OF status ON human_task
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION task_candidate_follow_status()"""
SQLITE_TRIGGER = f"""
CREATE TRIGGER trg_human_task_status AFTER UPDATE OF status ON human_task
FOR EACH ROW WHEN OLD.status IS NOT NEW.status
BEGIN
  UPDATE task_candidate SET is_open = (NEW.status IN {LIVE}) WHERE task_id = NEW.id;
END"""


def upgrade() -> None:
    with op.batch_alter_table("task_candidate") as batch:
        batch.add_column(sa.Column("is_open", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute(f"UPDATE task_candidate SET is_open = false WHERE task_id IN "
               f"(SELECT id FROM human_task WHERE status NOT IN {LIVE})")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    op.create_index("ix_task_candidate_open", "task_candidate", ["principal", "task_id"],
                    postgresql_where=sa.text("is_open"), sqlite_where=sa.text("is_open"))


def downgrade() -> None:
    op.drop_index("ix_task_candidate_open", table_name="task_candidate")
    op.execute("DROP TRIGGER IF EXISTS trg_human_task_status" +
               (" ON human_task" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS task_candidate_follow_status()")
    with op.batch_alter_table("task_candidate") as batch:
        batch.drop_column("is_open")
