"""attachments and the e-mail outbox

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["app_user.id"],
                                name=op.f("fk_attachment_uploaded_by_id_app_user"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index("ix_attachment_sha256_uploader", ["sha256", "uploaded_by_id"], unique=False)

    op.create_table(
        "attachment_link",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("created_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name=op.f("fk_attachment_link_instance_id_process_instance"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sha256", "instance_id", name=op.f("pk_attachment_link")),
    )
    with op.batch_alter_table("attachment_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_link_instance_id"), ["instance_id"], unique=False)

    # E-mail outbox: notification.emailed_at is set once a notification is done with (sent,
    # skipped or expired); notification_email keeps the attempts of those not yet done.
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emailed_at", engine.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_notification_emailed_at", ["emailed_at", "id"], unique=False)

    op.create_table(
        "notification_email",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), server_default="", nullable=False),
        sa.Column("message_id", sa.String(length=200), server_default="", nullable=False),
        sa.Column("updated_at", engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"],
                                name=op.f("fk_notification_email_notification_id_notification"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_notification_email")),
    )


def downgrade() -> None:
    op.drop_table("notification_email")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_emailed_at")
        batch_op.drop_column("emailed_at")
    with op.batch_alter_table("attachment_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_link_instance_id"))
    op.drop_table("attachment_link")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_attachment_sha256_uploader")
    op.drop_table("attachment")
