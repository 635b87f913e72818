from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, JSONType, UTCDateTime, utcnow


class ProcessModel(Base):
    """A model folder under processes/ (id = its path, e.g. `eto/eto-change-order`)."""

    __tablename__ = "process_model"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    group_path: Mapped[str] = mapped_column(String(255), default="")
    latest_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelVersion(Base):
    """An immutable deployment: every file of the model as it was, and a hash of them."""

    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("model_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("process_model.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict[str, str]] = mapped_column(JSONType)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType)  # process_model.json as deployed
    primary_process_id: Mapped[str] = mapped_column(String(255))
    deployed_by: Mapped[str] = mapped_column(String(100), default="")
    deployed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessDefinition(Base):
    """Which deployed version defines a BPMN process id, so call activities resolve across models."""

    __tablename__ = "process_definition"
    process_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id"))
