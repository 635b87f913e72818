"""Demo requests for seed-demo: for every deployed model with BPMN unit tests, requests in
each region driven part of the way with the test cases' data, so that every screen has
something real to show (just filed, waiting at each kind of step, sent back, finished,
withdrawn). Requests further along were filed days ago (the engine runs them on a clock set
back that far, so their audit times, due dates and timers agree): some steps are due soon or
overdue, and the SLA scan and timers take them up as they would in real life."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.deploy.models import ModelVersion, ProcessModel
from engine.errors import DomainError
from engine.instances import access, service
from engine.instances.models import OPEN, HumanTask, ProcessInstance, TaskCandidate
from engine.instances.runner import EngineContext
from engine.org.models import User
from engine.org.service import get_user_by_username, group_members
from forms import json_loads

REGIONS = ["EAST", "SOUTH", "NORTH", "WEST"]
# How long ago each region's requests were filed, by how far they are driven (just filed,
# part way, to the end): part-way requests of later regions wait long enough to be overdue.
AGE_DAYS = {0: (0, 0, 0, 0), 1: (1, 3, 6, 10), 2: (20, 25, 30, 35)}


def _aged(ctx: EngineContext, days: int) -> EngineContext:
    if not days:
        return ctx
    back = dt.timedelta(days=days)
    return dataclasses.replace(ctx, clock=lambda: ctx.clock() - back)


def _actor_for(session: Session, row: HumanTask) -> User | None:
    if row.assignee_id:
        return session.get(User, row.assignee_id)
    for p in session.execute(select(TaskCandidate.principal).where(TaskCandidate.task_id == row.id)).scalars():
        if p.startswith("user:"):
            return session.get(User, int(p[5:]))
        name, _, region = p[6:].partition("@")
        members = group_members(session, name, region or None)
        if members:
            return members[0]
    return None


def _starter(session: Session, meta: dict[str, Any], region: str) -> User | None:
    prefix = region.lower()
    for key in ("ops", "engineer", "finance", "manager", "quality", "sales", "production"):
        user = get_user_by_username(session, f"{prefix}_{key}")
        if user is not None and access.may_start(user, meta):
            return user
    return None


def _drive(session: Session, ctx: EngineContext, instance_id: int, plan: dict[str, list[Any]], steps: int) -> None:
    for _ in range(steps):
        row = session.execute(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == OPEN)
                              .order_by(HumanTask.id)).scalars().first()
        if row is None:
            return
        entries = plan.get(row.bpmn_id)
        actor = _actor_for(session, row)
        if not entries or actor is None:
            return
        try:
            with session.begin_nested():
                service.complete_task(session, ctx, task_id=row.id, actor=actor, data=entries[0])
        except DomainError:
            return
        entries.pop(0)


def seed_requests(session: Session, ctx: EngineContext, processes_dir: Path,
                  progress: Callable[[str], None] = lambda _m: None) -> int:
    """Idempotent: does nothing when requests exist already. Returns how many were made."""
    if session.execute(select(func.count()).select_from(ProcessInstance)).scalar_one():
        return 0
    made = 0
    for model in session.execute(select(ProcessModel).order_by(ProcessModel.id)).scalars().all():
        version = session.get(ModelVersion, model.latest_version_id) if model.latest_version_id else None
        tests = sorted((processes_dir / model.id).glob("test_*.json")) if version else []
        if not tests:
            continue
        cases = list(json_loads(tests[0].read_text(encoding="utf-8")).values())
        for r_i, region in enumerate(REGIONS):
            starter = _starter(session, version.meta or {}, region)  # type: ignore[union-attr]
            if starter is None:
                continue
            for depth in range(3):
                case = cases[(r_i + depth) % len(cases)]
                plan = {k.split(":")[-1]: list(v.get("data") or []) for k, v in (case.get("tasks") or {}).items()}
                then = _aged(ctx, AGE_DAYS[depth][r_i])
                try:
                    with session.begin_nested():
                        step = service.start_instance(session, then, model_id=model.id, actor=starter,
                                                      data=case.get("data"))
                except DomainError:
                    continue
                # 0: just filed; 1..: waiting further along; the last one of a region runs to the end.
                _drive(session, then, step.instance.id, plan, [0, 2 + r_i, 40][depth])
                made += 1
            if r_i == 1:  # one withdrawn request per model
                with session.begin_nested():
                    inst = service.start_instance(session, ctx, model_id=model.id, actor=starter).instance
                    service.withdraw(session, ctx, instance_id=inst.id, actor=starter, reason="演示：重复提交 / duplicate")
                made += 1
        progress(f"{model.id}: demo requests")
    session.flush()
    return made


def summary(session: Session) -> dict[str, int]:
    return dict(session.execute(select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)).all())



