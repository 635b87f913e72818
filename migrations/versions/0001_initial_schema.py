"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 21:53:17.696786
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import engine.db

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('app_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('hq_wide', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_group')),
    sa.UniqueConstraint('name', name=op.f('uq_app_group_name'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chain', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('task_guid', sa.String(length=36), nullable=True),
    sa.Column('bpmn_id', sa.String(length=255), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('chain', 'seq', name=op.f('uq_audit_event_chain'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_instance_id'), ['instance_id'], unique=False)

    op.create_table('audit_head',
    sa.Column('chain', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_head'))
    )
    op.create_table('process_model',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('group_path', sa.String(length=255), nullable=False),
    sa.Column('latest_version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_model'))
    )
    op.create_table('region',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_region'))
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['app_user.id'], name=op.f('fk_app_user_manager_id_app_user')),
    sa.ForeignKeyConstraint(['region'], ['region.code'], name=op.f('fk_app_user_region_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_user_region'), ['region'], unique=False)

    op.create_table('model_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.String(length=255), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('files', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('primary_process_id', sa.String(length=255), nullable=False),
    sa.Column('deployed_by', sa.String(length=100), nullable=False),
    sa.Column('deployed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['process_model.id'], name=op.f('fk_model_version_model_id_process_model')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_version')),
    sa.UniqueConstraint('model_id', 'number', name=op.f('uq_model_version_model_id'))
    )
    with op.batch_alter_table('model_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_version_model_id'), ['model_id'], unique=False)

    op.create_table('process_definition',
    sa.Column('process_id', sa.String(length=255), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['model_version.id'], name=op.f('fk_process_definition_version_id_model_version')),
    sa.PrimaryKeyConstraint('process_id', name=op.f('pk_process_definition'))
    )
    op.create_table('process_instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.String(length=255), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('initiator_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.Column('audit_head', sa.String(length=64), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['initiator_id'], ['app_user.id'], name=op.f('fk_process_instance_initiator_id_app_user')),
    sa.ForeignKeyConstraint(['model_id'], ['process_model.id'], name=op.f('fk_process_instance_model_id_process_model')),
    sa.ForeignKeyConstraint(['version_id'], ['model_version.id'], name=op.f('fk_process_instance_version_id_model_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_instance'))
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_instance_model_status', ['model_id', 'status'], unique=False)
        batch_op.create_index('ix_instance_region_status', ['region', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_initiator_id'), ['initiator_id'], unique=False)

    op.create_table('user_group',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['app_group.id'], name=op.f('fk_user_group_group_id_app_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_group_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'group_id', name=op.f('pk_user_group'))
    )
    with op.batch_alter_table('user_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_group_group_id'), ['group_id'], unique=False)

    op.create_table('human_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_guid', sa.String(length=36), nullable=False),
    sa.Column('bpmn_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('lane', sa.String(length=255), nullable=True),
    sa.Column('model_id', sa.String(length=255), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('due_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sla_state', sa.String(length=20), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_human_task_assignee_id_app_user')),
    sa.ForeignKeyConstraint(['completed_by_id'], ['app_user.id'], name=op.f('fk_human_task_completed_by_id_app_user')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_human_task_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_human_task'))
    )
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_assignee_status', ['assignee_id', 'status'], unique=False)
        batch_op.create_index('ix_human_task_instance_status', ['instance_id', 'status'], unique=False)
        batch_op.create_index('ix_human_task_status_region', ['status', 'region'], unique=False)

    op.create_table('instance_metadata',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_instance_metadata_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'key', name=op.f('pk_instance_metadata'))
    )
    with op.batch_alter_table('instance_metadata', schema=None) as batch_op:
        batch_op.create_index('ix_instance_metadata_key_value', ['key', 'value'], unique=False)

    op.create_table('timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_guid', sa.String(length=36), nullable=False),
    sa.Column('bpmn_id', sa.String(length=255), nullable=False),
    sa.Column('due_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_timer_instance_id_process_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timer')),
    sa.UniqueConstraint('instance_id', 'task_guid', name=op.f('uq_timer_instance_id'))
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timer_due_at'), ['due_at'], unique=False)

    op.create_table('task_candidate',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('principal', sa.String(length=200), nullable=False),
    sa.Column('any_region', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], name=op.f('fk_task_candidate_task_id_human_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'principal', name=op.f('pk_task_candidate'))
    )
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.create_index('ix_task_candidate_principal', ['principal', 'task_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_principal')

    op.drop_table('task_candidate')
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timer_due_at'))

    op.drop_table('timer')
    with op.batch_alter_table('instance_metadata', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_metadata_key_value')

    op.drop_table('instance_metadata')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_status_region')
        batch_op.drop_index('ix_human_task_instance_status')
        batch_op.drop_index('ix_human_task_assignee_status')

    op.drop_table('human_task')
    with op.batch_alter_table('user_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_group_group_id'))

    op.drop_table('user_group')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instance_initiator_id'))
        batch_op.drop_index('ix_instance_region_status')
        batch_op.drop_index('ix_instance_model_status')

    op.drop_table('process_instance')
    op.drop_table('process_definition')
    with op.batch_alter_table('model_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_version_model_id'))

    op.drop_table('model_version')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_user_region'))

    op.drop_table('app_user')
    op.drop_table('region')
    op.drop_table('process_model')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_instance_id'))

    op.drop_table('audit_event')
    op.drop_table('app_group')

