from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, JSONType, UTCDateTime, utcnow

RUNNING, WAITING, COMPLETE, WITHDRAWN, TERMINATED, ERROR = (
    "running", "waiting", "complete", "withdrawn", "terminated", "error",
)
FINISHED_STATUSES = (COMPLETE, WITHDRAWN, TERMINATED)


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_instance_region_status", "region", "status"),
        Index("ix_instance_model_status", "model_id", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("process_model.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id"))
    process_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default=RUNNING)
    initiator_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    region: Mapped[str] = mapped_column(String(32))
    # SpiffWorkflow's serialization without the spec (specs live once per ModelVersion).
    state: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # The path taken in the primary process, kept as the task tree is compacted: element ids
    # reached ("done") and (source, target) steps ("steps"), for the diagram of the record.
    path: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # SQLAlchemy adds `WHERE lock_version = :seen` to every UPDATE and raises StaleDataError
    # when another writer got there first: a lost race becomes HTTP 409, never an overwrite.
    __mapper_args__ = {"version_id_col": lock_version}


class InstanceMetadata(Base):
    """Values copied from task data by `metadata_extraction_paths`, indexed for filters."""

    __tablename__ = "instance_metadata"
    __table_args__ = (Index("ix_instance_metadata_key_value", "key", "value"),)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


OPEN, DONE, CANCELLED, HELD = "open", "completed", "cancelled", "on_hold"
LIVE_STATUSES = (OPEN, HELD)  # rows of a task the workflow still waits on
TASK, ADDED = "task", "added"  # a BPMN user/manual task | an added approver's opinion (加签)


class HumanTask(Base):
    """A READY user/manual task, projected so that inboxes never deserialize workflows."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_status_region", "status", "region"),
        Index("ix_human_task_assignee_status", "assignee_id", "status"),
        Index("ix_human_task_instance_status", "instance_id", "status"),
        # Inbox pages: an index-only scan over open tasks (PostgreSQL; a plain index elsewhere).
        Index("ix_human_task_open_id", "id", postgresql_include=["assignee_id", "region", "instance_id", "created_at"],
              postgresql_where=text("status = 'open'")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_guid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(255), nullable=True)
    model_id: Mapped[str] = mapped_column(String(255))
    region: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sla_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # SLA follow-up: 0 = not escalated; the next reminder/escalation is due at next_sla_check_at.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_sla_check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    # How a closed row ended besides a plain completion: sent_back, auto_skipped, or an added
    # approver's decision (approve / reject).
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    kind: Mapped[str] = mapped_column(String(10), default=TASK, server_default=TASK)
    # 加签: an added row points at the task it was added to; `pending_data` holds the parent's
    # submission while "after" approvers decide.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), nullable=True)
    add_position: Mapped[str | None] = mapped_column(String(10), nullable=True)
    add_sign: Mapped[str | None] = mapped_column(String(10), nullable=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    pending_data: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    claimed: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Data that approves this task with no other input (its form validated with it), for batch approval.
    approve_data: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    last_urged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TaskDraft(Base):
    """A form saved without submitting, per task and user."""

    __tablename__ = "task_draft"
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskRead(Base):
    """The user has opened the task (unread marks in the inbox)."""

    __tablename__ = "task_read"
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstanceCC(Base):
    """抄送: the user may read the request (read-only) and finds it in the CC tab."""

    __tablename__ = "instance_cc"
    __table_args__ = (Index("ix_instance_cc_user_read", "user_id", "read_at"),)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Comment(Base):
    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_instance", "instance_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskCandidate(Base):
    """Who may act on a task: `user:<id>` or `group:<name>` (narrowed by the task's region)."""

    __tablename__ = "task_candidate"
    __table_args__ = (
        Index("ix_task_candidate_principal", "principal", "task_id"),
        # The inbox probes a person's rows of live tasks only (closed tasks' rows are most of the table).
        Index("ix_task_candidate_open", "principal", "task_id", postgresql_where=text("is_open"),
              sqlite_where=text("is_open")),
    )
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    # True when the group applies across regions (HQ-wide lane or group).
    any_region: Mapped[bool] = mapped_column(default=False)
    # Whether the task is live (open or on hold). Kept by a database trigger on human_task.status
    # (migration 0013), so no code path can forget it. A hint for the inbox's index: queries still
    # check the task's own status.
    is_open: Mapped[bool] = mapped_column(default=True, server_default=text("true"))


class Timer(Base):
    """Due times of an instance's waiting timer events, read from the workflow after each advance."""

    __tablename__ = "timer"
    __table_args__ = (UniqueConstraint("instance_id", "task_guid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_guid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class MessageWait(Base):
    """A message event an instance is waiting for, so that POST /messages/<name> finds it
    without deserializing workflows."""

    __tablename__ = "message_wait"
    __table_args__ = (Index("ix_message_wait_name", "message_name"),)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    task_guid: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_name: Mapped[str] = mapped_column(String(255))
    bpmn_id: Mapped[str] = mapped_column(String(255))


class MessageReceipt(Base):
    """The answer given to a message with an Idempotency-Key: a retry gets the same answer."""

    __tablename__ = "message_receipt"
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    message_name: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(100))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """An in-app notification (new task, reminder, escalation, CC); e-mail is sent besides
    when SMTP is configured."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when the e-mail outbox is done with it (sent, skipped, expired: engine/notify/outbox.py).
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Schedule(Base):
    """When a model whose process begins with a timer start event next starts a request.
    Each occurrence is a new request (not another token in one instance)."""

    __tablename__ = "schedule"
    model_id: Mapped[str] = mapped_column(ForeignKey("process_model.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)
    expression: Mapped[str] = mapped_column(String(200))
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
