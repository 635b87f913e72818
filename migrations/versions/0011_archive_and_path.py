"""record_file.archived_at (archive time-stamp renewals) and process_instance.path (path taken)

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("record_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", engine.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("path", engine.db.JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_column("path")
    with op.batch_alter_table("record_file", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
