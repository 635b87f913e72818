"""schedules

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 22:46:02.661589
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('schedule',
    sa.Column('model_id', sa.String(length=255), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('expression', sa.String(length=200), nullable=False),
    sa.Column('next_run_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['process_model.id'], name=op.f('fk_schedule_model_id_process_model'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', name=op.f('pk_schedule'))
    )
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_next_run_at'), ['next_run_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_next_run_at'))

    op.drop_table('schedule')

