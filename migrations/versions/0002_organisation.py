"""organisation: delegation, api tokens, login failures, phone

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:19:04.363233
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_username_at', ['username', 'at'], unique=False)

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_api_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_token_prefix'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('delegate_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delegate_id'], ['app_user.id'], name=op.f('fk_delegation_delegate_id_app_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_delegation_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegation'))
    )
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delegation_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=False, server_default=''))




def downgrade() -> None:

    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('phone')

    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delegation_user_id'))

    op.drop_table('delegation')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_username_at')

    op.drop_table('login_failure')

