"""The monthly cockpit report, e-mailed to COCKPIT_RECIPIENTS once per month.

A daily beat job asks "was last month's report sent?" and sends it if not, so a worker that was
down on the 1st catches up the next day. "Sent" is an event on the system audit chain
(`cockpit_mailed`), which also records who got it and the PDF's hash."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.audit.models import AuditEvent
from engine.audit.service import SYSTEM_CHAIN, append_system_event

EVENT = "cockpit_mailed"


def already_mailed(session: Session, month: str) -> bool:
    rows = session.execute(select(AuditEvent.data).where(AuditEvent.chain == SYSTEM_CHAIN, AuditEvent.type == EVENT))
    return any((data or {}).get("month") == month for data in rows.scalars())


def mail_cockpit(sessions: sessionmaker[Session], settings: Any, *, now: dt.datetime | None = None,
                 month: str | None = None) -> str | None:
    """Send last month's report (or `month`'s) unless it went out already. Returns the month
    sent, or None (nothing to do: no recipients, no SMTP, or already sent)."""
    from engine.notify.email import send_mail
    from reports.cockpit import previous_month, render_cockpit

    recipients = [r for r in getattr(settings, "cockpit_recipients", ()) if r]
    if not recipients or not settings.smtp_host:
        return None
    zone = settings.timezone
    today = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(zone)).date()
    month = month or previous_month(today, zone)
    with sessions() as session:
        if already_mailed(session, month):
            return None
        pdf = render_cockpit(session, month, zone)
    text = (f"{month} 管理驾驶舱月报见附件：各区域、各流程的发起与办结数量、平均与 P90 周期、超时与升级、"
            f"2485 达标率和在办积压。\n\nThe management cockpit report for {month} is attached: requests "
            f"started and finished, average and P90 cycle times, SLA breaches and escalations, 2485 compliance "
            f"and open backlog, per region and process.\n\n{settings.base_url}/")
    message_id = send_mail(settings, recipients, f"管理驾驶舱月报 {month} / Cockpit report {month}", text,
                           attachments=[(f"cockpit-{month}.pdf", pdf, "application/pdf")])
    with sessions() as session:
        append_system_event(session, type=EVENT, actor="system", data={
            "month": month, "to": recipients, "sha256": hashlib.sha256(pdf).hexdigest(), "message_id": message_id})
        session.commit()
    return month
