"""messages

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 22:31:38.100101
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('message_receipt',
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('message_name', sa.String(length=255), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_message_receipt'))
    )
    op.create_table('message_wait',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_guid', sa.String(length=36), nullable=False),
    sa.Column('message_name', sa.String(length=255), nullable=False),
    sa.Column('bpmn_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_message_wait_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'task_guid', name=op.f('pk_message_wait'))
    )
    with op.batch_alter_table('message_wait', schema=None) as batch_op:
        batch_op.create_index('ix_message_wait_name', ['message_name'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('message_wait', schema=None) as batch_op:
        batch_op.drop_index('ix_message_wait_name')

    op.drop_table('message_wait')
    op.drop_table('message_receipt')

