"""record files

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 23:19:35.259648
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('record_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('chain_head', sa.String(length=64), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('interim', sa.Boolean(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_file')),
    sa.UniqueConstraint('instance_id', 'chain_head', name=op.f('uq_record_file_instance_id'))
    )
    with op.batch_alter_table('record_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_file_instance_id'), ['instance_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('record_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_file_instance_id'))

    op.drop_table('record_file')

