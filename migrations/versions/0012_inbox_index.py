"""ix_human_task_open_id: index-only inbox pages over open tasks (measured in bench/scale.py)

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_human_task_open_id", "human_task", ["id"],
                    postgresql_include=["assignee_id", "region", "instance_id", "created_at"],
                    postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index("ix_human_task_open_id", table_name="human_task")
