from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, JSONType, UTCDateTime


class AuditEvent(Base):
    """One action. `hash = sha256(prev_hash || canonical_json(event))`, chained per `chain`
    (`instance:<id>` for a request, `system` for deployments, logins and admin changes)."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("chain", "seq"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chain: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(50))
    task_guid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    bpmn_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """Head of chains that have no instance row to carry it (the `system` chain)."""

    __tablename__ = "audit_head"
    chain: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")


class RecordFile(Base):
    """A signed PDF record, stored content-addressed (records/<sha256>.pdf under the instance
    folder): asking again for the same chain head serves the same bytes."""

    __tablename__ = "record_file"
    __table_args__ = (UniqueConstraint("instance_id", "chain_head"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    chain_head: Mapped[str] = mapped_column(String(64))
    event_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    interim: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Last renewal of the archive time-stamp (PAdES-LTA), done yearly by the worker.
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RecordExport(Base):
    """Many records as one ZIP, built by a worker job for the user who asked (progress in
    `done`/`total`); the filters are the request search it was made from."""

    __tablename__ = "record_export"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    instance_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
