"""The e-mail outbox: in-app notifications are e-mailed to their users when SMTP is configured.

`send_pending` (beat: every 10 s) claims unsent notifications in one short transaction (FOR
UPDATE SKIP LOCKED on PostgreSQL; on SQLite the claim takes the write lock first, so claims
queue up), leasing each for a while with notification_email.status = "sending", then sends them
over one SMTP connection outside any transaction, recording each result at once:

- sent: notification.emailed_at is set; never sent again;
- no address / inactive user: "skipped" (emailed_at set), not retried;
- older than email_max_age_hours before it could go: "expired" (emailed_at set);
- a permanent refusal of the message (5xx for its recipient or content): "failed" (emailed_at set);
- anything else (connection, authentication, 4xx): "retry" after 1, 2, 4 ... 60 minutes, until
  it is sent or expires.

A worker that dies mid-send leaves its lease to run out, and the mail is tried again: the only
way a mail goes twice is a crash between the server's acceptance and our commit, and then both
copies carry the same Message-ID."""
from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
import re
import smtplib
from collections.abc import Callable
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from engine.db import utcnow
from engine.instances.models import Notification
from engine.notify.email import (
    SmtpConnection,
    SmtpSettings,
    build_message,
    display_address,
    is_permanent,
    message_id_for,
    smtp_configured,
)
from engine.notify.models import EXPIRED, FAILED, RETRY, SENDING, SENT, SKIPPED, NotificationEmail
from engine.org.models import User

log = logging.getLogger(__name__)

BATCH = 50
LEASE = dt.timedelta(minutes=10)
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(hours=1)
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")

KIND_EN = {
    "task_assigned": "New task",
    "task_transferred": "Task transferred to you",
    "task_sent_back": "Sent back to you",
    "approver_added": "Your approval is requested",
    "added_answered": "An added approver answered",
    "urge": "Reminder: please handle",
    "cc": "For your information (CC)",
    "comment": "New comment",
    "sla_reminder": "Due soon",
    "sla_breached": "Overdue",
    "sla_escalated": "Escalated to you (overdue)",
}
REQUEST_LINK_KINDS = {"cc", "comment"}  # about the request, not a task of the reader's


@dataclasses.dataclass
class OutboxRun:
    sent: int = 0
    skipped: int = 0
    expired: int = 0
    failed: int = 0
    retry: int = 0


class OutboxSettings(SmtpSettings, Protocol):
    """What the outbox reads of api.config.Settings."""

    base_url: str
    timezone: str
    email_max_age_hours: int


def notification_link(base_url: str, n: Notification) -> str:
    base = base_url.rstrip("/")
    if n.task_id is not None and (n.kind not in REQUEST_LINK_KINDS or n.instance_id is None):
        return f"{base}/tasks/{n.task_id}"
    if n.instance_id is not None:
        return f"{base}/requests/{n.instance_id}"
    return f"{base}/inbox"


def render(n: Notification, user: User, settings: OutboxSettings) -> tuple[str, str, str]:
    """(subject, plain text, HTML): Chinese first, English below."""
    link = notification_link(settings.base_url, n)
    en = KIND_EN.get(n.kind, "Notification")
    name = user.display_name or user.username
    try:
        zone = ZoneInfo(settings.timezone)
    except Exception:
        zone = ZoneInfo("UTC")
    when = n.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    body = (n.body or "").strip()
    subject = f"{n.title} | {en}"
    text_body = "\n".join([
        f"{name}，您好：", "", n.title, *([body] if body else []), f"时间：{when}", "", f"打开：{link}", "",
        "—— 新能源审批平台（系统自动发送，请勿回复）", "", "-" * 60,
        f"Hello {name},", "", f"{en}: {n.title}", *([body] if body else []), f"Time: {when} ({settings.timezone})",
        "", f"Open: {link}", "", "— New-energy approvals (automatic message, please do not reply)", "",
    ])
    e = html.escape
    html_body = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(n.title)}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222">
<div lang="zh-CN">
<p>{e(name)}，您好：</p>
<p><strong>{e(n.title)}</strong>{'<br>' + e(body) if body else ''}<br>时间：{e(when)}</p>
<p><a href="{e(link)}" style="display:inline-block;padding:6px 14px;background:#1677ff;color:#fff;
text-decoration:none;border-radius:4px">打开 / Open</a></p>
<p style="color:#888">—— 新能源审批平台（系统自动发送，请勿回复）</p>
</div>
<hr>
<div lang="en">
<p>Hello {e(name)},</p>
<p><strong>{e(en)}:</strong> {e(n.title)}{'<br>' + e(body) if body else ''}<br>Time: {e(when)} ({e(settings.timezone)})</p>
<p><a href="{e(link)}">{e(link)}</a></p>
<p style="color:#888">— New-energy approvals (automatic message, please do not reply)</p>
</div>
</body></html>
"""
    return subject, text_body, html_body


def _take_write_lock(session: Session) -> None:
    """SQLite has no row locks: begin the claim with a write so that claims run one at a time."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE notification_email SET status = status WHERE 0 = 1"))


def _finish(session: Session, n: Notification, row: NotificationEmail, status: str, now: dt.datetime,
            error: str = "") -> None:
    row.status, row.next_attempt_at, row.last_error, row.updated_at = status, None, error[:500], now
    n.emailed_at = now


def claim(session: Session, settings: OutboxSettings, now: dt.datetime, limit: int,
          result: OutboxRun) -> list[tuple[int, int]]:
    """Lease the notifications to send now; settle those that need no sending (skipped, expired).
    The caller commits."""
    _take_write_lock(session)
    E = NotificationEmail
    q = (select(Notification.id).outerjoin(E, E.notification_id == Notification.id)
         .where(Notification.emailed_at.is_(None),
                or_(E.notification_id.is_(None), and_(E.status.in_((RETRY, SENDING)), E.next_attempt_at <= now)))
         .order_by(Notification.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=Notification)
    ids = list(session.execute(q).scalars())
    if not ids:
        return []
    rows = session.execute(select(Notification, User).join(User, User.id == Notification.user_id)
                           .where(Notification.id.in_(ids)).order_by(Notification.id)).all()
    emails = {e.notification_id: e for e in session.execute(select(E).where(E.notification_id.in_(ids))).scalars()}
    oldest = now - dt.timedelta(hours=settings.email_max_age_hours)
    claimed: list[tuple[int, int]] = []
    for n, user in rows:
        row = emails.get(n.id)
        if row is None:
            row = E(notification_id=n.id, status=SENDING, attempts=0, last_error="", message_id="", updated_at=now)
            session.add(row)
        if n.created_at < oldest:
            _finish(session, n, row, EXPIRED, now, row.last_error or "too old to e-mail")
            result.expired += 1
        elif not user.is_active or not _ADDRESS.fullmatch((user.email or "").strip()):
            _finish(session, n, row, SKIPPED, now, "inactive user" if not user.is_active else "no e-mail address")
            result.skipped += 1
        else:
            row.status, row.next_attempt_at, row.updated_at = SENDING, now + LEASE, now
            row.attempts += 1  # counts claims: a lease taken over after it ran out is told apart by it
            claimed.append((n.id, row.attempts))
    session.flush()
    return claimed


def _record(sessions: sessionmaker[Session], nid: int, attempt: int, now: dt.datetime, *, status: str,
            error: str = "", message_id: str = "") -> bool:
    """Record one attempt's outcome, if this worker still holds the lease (compare-and-set on
    the claim count). A final status sets notification.emailed_at in the same transaction."""
    E = NotificationEmail
    values: dict[str, Any] = {"status": status, "last_error": error[:500], "updated_at": now,
                              "next_attempt_at": None}
    if message_id:
        values["message_id"] = message_id
    if status == RETRY:
        values["next_attempt_at"] = now + min(FIRST_RETRY * (2 ** (attempt - 1)), MAX_RETRY)
    with sessions() as session:
        taken = session.execute(update(E).where(E.notification_id == nid, E.status == SENDING, E.attempts == attempt)
                                .values(**values)).rowcount  # type: ignore[attr-defined]
        if not taken:
            session.rollback()
            return False
        if status != RETRY:
            session.execute(update(Notification).where(Notification.id == nid, Notification.emailed_at.is_(None))
                            .values(emailed_at=now))
        session.commit()
        return True


def _release(sessions: sessionmaker[Session], claims: list[tuple[int, int]], until: dt.datetime) -> None:
    """Give back leases not tried (the server is unreachable): tried again later, no attempt counted."""
    if not claims:
        return
    E = NotificationEmail
    with sessions() as session:
        for nid, attempt in claims:
            session.execute(update(E).where(E.notification_id == nid, E.status == SENDING, E.attempts == attempt)
                            .values(status=RETRY, next_attempt_at=until, attempts=attempt - 1, updated_at=utcnow()))
        session.commit()


def _connection_failure(exc: BaseException) -> bool:
    """The server or our credentials, not this message: stop the batch."""
    return not isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError))


def send_pending(sessions: sessionmaker[Session], settings: OutboxSettings, *, limit: int = BATCH,
                 clock: Callable[[], dt.datetime] = utcnow,
                 connection: Callable[[Any], SmtpConnection] = SmtpConnection) -> OutboxRun:
    """E-mail unsent notifications (one batch). Does nothing while SMTP is not configured."""
    result = OutboxRun()
    if not smtp_configured(settings):
        return result
    with sessions() as session:
        claims = claim(session, settings, clock(), limit, result)
        session.commit()
    if not claims:
        return result
    with connection(settings) as smtp:
        for i, (nid, attempt) in enumerate(claims):
            with sessions() as session:
                found = session.execute(select(Notification, User).join(User, User.id == Notification.user_id)
                                        .where(Notification.id == nid)).first()
                if found is None:
                    session.rollback()
                    continue  # deleted meanwhile (the user was removed)
                n, user = found
                subject, text_body, html_body = render(n, user, settings)
                local = f"notification-{n.id}.{int(n.created_at.timestamp())}"
                msg = build_message(settings, display_address(user.display_name, user.email.strip()), subject,
                                    text_body, html_body, message_id=message_id_for(settings, local),
                                    headers={"X-Notification-Kind": n.kind})
                session.rollback()
            try:
                smtp.send(msg)
            except Exception as exc:
                smtp.reset()
                error = f"{type(exc).__name__}: {exc}"
                if is_permanent(exc):
                    log.warning("e-mail of notification %s refused for good: %s", nid, error)
                    if _record(sessions, nid, attempt, clock(), status=FAILED, error=error):
                        result.failed += 1
                    continue
                log.warning("e-mail of notification %s failed, will retry: %s", nid, error)
                if _record(sessions, nid, attempt, clock(), status=RETRY, error=error):
                    result.retry += 1
                if _connection_failure(exc):
                    _release(sessions, claims[i + 1:], clock() + FIRST_RETRY)
                    break
                continue
            if _record(sessions, nid, attempt, clock(), status=SENT, message_id=str(msg["Message-ID"])):
                result.sent += 1
            else:
                log.warning("notification %s was e-mailed after its lease ran out", nid)
    return result
