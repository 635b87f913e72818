"""SLA follow-up of human tasks with a due time (slaDuration): a reminder when the last fifth
of the allowed time begins, and on a breach an escalation to the owners' managers, then to the
next level each further period, each notified and audited. The beat-driven scan claims rows
with SKIP LOCKED on PostgreSQL, so several workers never escalate the same task twice."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.audit.service import PendingEvent
from engine.instances.jobs import run_each
from engine.instances.models import OPEN, HumanTask, Notification, ProcessInstance, TaskCandidate
from engine.instances.runner import BREACHED, DUE_SOON, EngineContext
from engine.instances.service import _append_audit, flush_or_conflict
from engine.org.models import User
from engine.org.service import group_members, manager_of

MAX_LEVEL = 3


def owners_of(session: Session, row: HumanTask) -> list[User]:
    """Who is answerable for the task: its assignee, else the people and group members named."""
    if row.assignee_id is not None:
        u = session.get(User, row.assignee_id)
        return [u] if u else []
    principals = session.execute(select(TaskCandidate.principal).where(TaskCandidate.task_id == row.id)).scalars().all()
    out: dict[int, User] = {}
    for p in principals:
        if p.startswith("user:"):
            u = session.get(User, int(p[5:]))
            if u is not None:
                out[u.id] = u
        elif p.startswith("group:"):
            name, _, region = p[6:].partition("@")
            for u in group_members(session, name, region or None):
                out[u.id] = u
    return list(out.values())


def notify(session: Session, users: list[User], *, kind: str, title: str, body: str = "",
           instance_id: int | None = None, task_id: int | None = None) -> None:
    for u in {u.id: u for u in users}.values():
        session.add(Notification(user_id=u.id, kind=kind, title=title, body=body, instance_id=instance_id, task_id=task_id))


def _follow_up(session: Session, row: HumanTask, now: dt.datetime) -> None:
    instance = session.get(ProcessInstance, row.instance_id)
    if instance is None or row.due_at is None:
        return
    owners = owners_of(session, row)
    period = row.due_at - row.created_at
    if now < row.due_at and row.escalation_level == 0 and row.sla_state != DUE_SOON:
        notify(session, owners, kind="sla_reminder", title=f"即将超时：{row.name}",
               body=f"{instance.title} · 截止 {row.due_at.isoformat()}", instance_id=instance.id, task_id=row.id)
        _append_audit(session, instance, [PendingEvent("sla_reminder", "system", {
            "task": row.name, "due_at": row.due_at.isoformat(), "to": sorted(u.username for u in owners)},
            task_guid=row.task_guid, bpmn_id=row.bpmn_id)])
        row.sla_state, row.next_sla_check_at = DUE_SOON, row.due_at
        return
    level = row.escalation_level + 1
    managers = {m.id: m for u in owners if (m := manager_of(session, u.username, level)) is not None}
    if not managers:  # nobody above: stop escalating, but record it
        row.sla_state, row.next_sla_check_at = BREACHED, None
        _append_audit(session, instance, [PendingEvent("sla_breached", "system", {
            "task": row.name, "level": level, "note": "no manager above the owners"},
            task_guid=row.task_guid, bpmn_id=row.bpmn_id)])
        return
    existing = set(session.execute(select(TaskCandidate.principal).where(TaskCandidate.task_id == row.id)).scalars())
    for m in managers.values():
        if f"user:{m.id}" not in existing:
            session.add(TaskCandidate(task_id=row.id, principal=f"user:{m.id}", any_region=True))
    notify(session, list(managers.values()), kind="sla_escalated", title=f"超时升级（第{level}级）：{row.name}",
           body=f"{instance.title} · 应于 {row.due_at.isoformat()} 完成", instance_id=instance.id, task_id=row.id)
    notify(session, owners, kind="sla_breached", title=f"已超时：{row.name}", instance_id=instance.id, task_id=row.id)
    _append_audit(session, instance, [PendingEvent("sla_escalated", "system", {
        "task": row.name, "level": level, "due_at": row.due_at.isoformat(),
        "to": sorted(m.username for m in managers.values()), "owners": sorted(u.username for u in owners)},
        task_guid=row.task_guid, bpmn_id=row.bpmn_id)])
    row.sla_state, row.escalation_level = BREACHED, level
    row.next_sla_check_at = (now + period) if level < MAX_LEVEL else None


def due_checks(session: Session, now: dt.datetime, limit: int) -> list[int]:
    q = (select(HumanTask.id).where(HumanTask.status == OPEN, HumanTask.next_sla_check_at <= now)
         .order_by(HumanTask.next_sla_check_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(session.execute(q).scalars())


def scan_sla(sessions: sessionmaker[Session], ctx: EngineContext, limit: int = 200) -> int:
    """Run every due reminder/escalation, each in its own transaction. Returns how many."""

    def follow_up(session: Session, task_id: int) -> bool:
        now = ctx.clock()
        row = session.get(HumanTask, task_id)
        if row is None or row.status != OPEN or row.next_sla_check_at is None or row.next_sla_check_at > now:
            return False  # done, or handled by another worker meanwhile
        _follow_up(session, row, now)
        flush_or_conflict(session)
        return True

    return run_each(sessions, lambda s: due_checks(s, ctx.clock(), limit), follow_up, "SLA follow-up of task")


def unread_count(session: Session, user: User) -> Any:
    from sqlalchemy import func

    return session.execute(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))).scalar_one()
