from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow
from engine.instances.models import Notification

# notification_email.status
SENDING = "sending"  # claimed by a worker until next_attempt_at (a lease)
RETRY = "retry"  # a transient failure: tried again at next_attempt_at
SENT = "sent"
SKIPPED = "skipped"  # the user has no e-mail address or is inactive
EXPIRED = "expired"  # older than email_max_age_hours before it could be sent
FAILED = "failed"  # refused for good by the server (e.g. 550 no such mailbox)
DONE = (SENT, SKIPPED, EXPIRED, FAILED)


class NotificationEmail(Base):
    """The e-mail state of one notification. notification.emailed_at is set when it reaches a
    final state; until then this row holds the attempts and the lease."""

    __tablename__ = "notification_email"
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), default="", server_default="")
    message_id: Mapped[str] = mapped_column(String(200), default="", server_default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# The outbox scan's index, declared here so that notification's model stays as it is.
Index("ix_notification_emailed_at", Notification.emailed_at, Notification.id)
