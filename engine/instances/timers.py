"""Firing due timers. The poller claims due rows (SKIP LOCKED on PostgreSQL so that several
workers share the work), advances each instance in its own transaction, and relies on the
instance's optimistic lock so that a timer's effect is applied exactly once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.audit.service import PendingEvent
from engine.deploy.models import ModelVersion
from engine.instances.jobs import run_each
from engine.instances.models import FINISHED_STATUSES, ProcessInstance, Timer
from engine.instances.runner import EngineContext, run_engine
from engine.instances.service import Step, _finish_step, load_workflow


def due_instance_ids(session: Session, now: dt.datetime, limit: int = 100) -> list[int]:
    q = select(Timer.instance_id).where(Timer.due_at <= now).order_by(Timer.due_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(dict.fromkeys(session.execute(q).scalars()))


def fire_instance_timers(session: Session, ctx: EngineContext, instance_id: int) -> Step | None:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or instance.status in FINISHED_STATUSES:
        return None
    now = ctx.clock()
    due = session.execute(select(Timer).where(Timer.instance_id == instance_id, Timer.due_at <= now)).scalars().all()
    if not due:
        return None  # another worker fired them already
    wf, _ = load_workflow(session, ctx, instance, None)
    failure = run_engine(wf)  # refresh_timers() inside fires every timer whose time has come
    events = [PendingEvent("timer_fired", "system", {"due_at": t.due_at.isoformat()}, task_guid=t.task_guid,
                           bpmn_id=t.bpmn_id) for t in due]
    version = session.get(ModelVersion, instance.version_id)
    return _finish_step(session, instance, wf, version.meta if version else {}, events, failure, "system", now=now)


def poll_timers(sessions: sessionmaker[Session], ctx: EngineContext, limit: int = 100) -> int:
    """Fire every due timer; returns how many instances advanced."""
    return run_each(sessions, lambda s: due_instance_ids(s, ctx.clock(), limit),
                    lambda s, iid: fire_instance_timers(s, ctx, iid) is not None, "timer of instance")
