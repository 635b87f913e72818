"""Firing due timers. The poller claims due rows, advances each instance in its own transaction,
and relies on the instance's optimistic lock so that a timer's effect is applied exactly once.

Several pollers share the work (beat sends one tick a second; a tick that finds the workers busy
waits for the next free one): on PostgreSQL each instance's due timer rows are locked
`FOR UPDATE SKIP LOCKED` in the transaction that fires them, so a second poller passes over an
instance another one is firing instead of firing it again and losing the race at the commit.
A poll goes on claiming batches while it finds work (up to `budget` seconds), so the firing rate
is not capped at one batch per beat tick (bench/README.md: 100,000 timers)."""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.audit.service import PendingEvent
from engine.instances.jobs import run_each
from engine.instances.models import ERROR, FINISHED_STATUSES, ProcessInstance, Timer
from engine.instances.runner import EngineContext, run_engine
from engine.instances.service import Step, _finish_step, load_workflow, version_meta

# Instances whose timers wait: an instance in error waits for an administrator's retry (which
# runs the engine and so catches up its timers), a finished one has nothing to fire.
NOT_FIRING = (*FINISHED_STATUSES, ERROR)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def due_instance_ids(session: Session, now: dt.datetime, limit: int = 100, skip: set[int] | None = None) -> list[int]:
    """Instances with a due timer, most overdue first; rows another poller is firing are skipped."""
    q = (select(Timer.instance_id).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
         .where(Timer.due_at <= now, ProcessInstance.status.not_in(NOT_FIRING))
         .order_by(Timer.due_at).limit(limit))
    if skip:
        q = q.where(Timer.instance_id.not_in(skip))
    if _postgres(session):
        q = q.with_for_update(of=Timer, skip_locked=True)
    return list(dict.fromkeys(session.execute(q).scalars()))


def fire_instance_timers(session: Session, ctx: EngineContext, instance_id: int) -> Step | None:
    now = ctx.clock()
    q = select(Timer).where(Timer.instance_id == instance_id, Timer.due_at <= now)
    if _postgres(session):
        q = q.with_for_update(skip_locked=True)  # held until this transaction ends
    due = session.execute(q).scalars().all()
    if not due:
        return None  # fired already, or being fired by another poller right now
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or instance.status in NOT_FIRING:
        return None
    wf, _ = load_workflow(session, ctx, instance, None)
    failure = run_engine(wf)  # refresh_timers() inside fires every timer whose time has come
    events = [PendingEvent("timer_fired", "system", {"due_at": t.due_at.isoformat()}, task_guid=t.task_guid,
                           bpmn_id=t.bpmn_id) for t in due]
    return _finish_step(session, instance, wf, version_meta(session, instance, wf), events, failure, "system", now=now)


def poll_timers(sessions: sessionmaker[Session], ctx: EngineContext, limit: int = 100, budget: float = 30.0) -> int:
    """Fire every due timer, batch after batch while a batch comes back full and `budget`
    seconds have not passed; returns how many instances advanced. An instance that did not
    advance (lost race, error) is not claimed again in the same poll."""
    deadline = time.monotonic() + budget
    tried: set[int] = set()
    claimed: list[int] = []
    fired: set[int] = set()

    def claim(s: Session) -> list[int]:
        claimed[:] = due_instance_ids(s, ctx.clock(), limit, tried)
        return claimed

    def work(s: Session, iid: int) -> bool:
        if fire_instance_timers(s, ctx, iid) is None:
            return False
        fired.add(iid)
        return True

    done = 0
    while True:
        fired.clear()
        done += run_each(sessions, claim, work, "timer of instance")
        tried.update(set(claimed) - fired)
        if len(claimed) < limit or time.monotonic() >= deadline:
            return done
