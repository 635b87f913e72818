"""The timer poller: a poll drains every due timer batch after batch (not one batch per beat
tick), fires each instance once, and leaves instances in error to the administrator's retry."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from engine.audit.models import AuditEvent
from engine.instances.models import ProcessInstance, Timer
from engine.instances.timers import due_instance_ids, poll_timers


def _start(login: Any, n: int) -> list[int]:
    ops = login("east_ops")
    ids = []
    for _ in range(n):
        r = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:timer-wait"}).get_json()
        assert r["status"] == "waiting"
        ids.append(r["id"])
    return ids


def test_a_poll_fires_every_due_timer_in_batches_once_each(app: Any, login: Any) -> None:
    ctx, sessions = app.extensions["engine_ctx"], app.extensions["db_sessions"]
    ids = _start(login, 5)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    ctx.clock = lambda: later
    try:
        with sessions() as s:
            assert due_instance_ids(s, later, limit=2) == ids[:2]  # most overdue first
        assert poll_timers(sessions, ctx, limit=2) == 5  # three batches in one poll
        assert poll_timers(sessions, ctx, limit=2) == 0
        with sessions() as s:
            assert s.execute(select(func.count()).select_from(Timer)).scalar_one() == 0
            fired = s.execute(select(AuditEvent.instance_id, func.count()).where(
                AuditEvent.type == "timer_fired").group_by(AuditEvent.instance_id)).all()
            assert sorted(fired) == [(i, 1) for i in sorted(ids)]
            assert {s.get(ProcessInstance, i).status for i in ids} == {"running"}  # type: ignore[union-attr]
    finally:
        ctx.clock = lambda: dt.datetime.now(dt.UTC)


def test_budget_ends_a_poll_after_the_batch_at_hand(app: Any, login: Any) -> None:
    ctx, sessions = app.extensions["engine_ctx"], app.extensions["db_sessions"]
    _start(login, 3)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    ctx.clock = lambda: later
    try:
        assert poll_timers(sessions, ctx, limit=2, budget=0) == 2
        assert poll_timers(sessions, ctx, limit=2, budget=0) == 1
    finally:
        ctx.clock = lambda: dt.datetime.now(dt.UTC)


def test_an_instance_in_error_keeps_its_timer_for_the_retry(app: Any, login: Any) -> None:
    ctx, sessions = app.extensions["engine_ctx"], app.extensions["db_sessions"]
    broken, fine = _start(login, 2)
    with sessions() as s, s.begin():
        row = s.get(ProcessInstance, broken)
        assert row is not None
        row.status = "error"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    ctx.clock = lambda: later
    try:
        with sessions() as s:
            assert due_instance_ids(s, later) == [fine]
        assert poll_timers(sessions, ctx) == 1
        with sessions() as s:
            assert s.execute(select(Timer.instance_id)).scalars().all() == [broken]  # still there
            assert s.get(ProcessInstance, fine).status == "running"  # type: ignore[union-attr]
    finally:
        ctx.clock = lambda: dt.datetime.now(dt.UTC)
