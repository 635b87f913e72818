"""Timer start events as schedules: a model whose process begins with a timer (a date, a
duration after deployment, or a cycle such as `R/2026-01-01T09:00:00+08:00/P1M`) gets a
`schedule` row; the beat-driven runner starts ONE new request per occurrence (one per region
when process_model.json says `"schedule_per_region": true`) and moves to the next occurrence.
SpiffWorkflow on its own would add tokens to a single instance and replay missed cycles."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.deploy.models import ModelVersion, ProcessModel
from engine.instances.access import SYSTEM_USERNAME
from engine.instances.models import Schedule
from engine.instances.runner import EngineContext, parsed_version
from engine.org.models import HQ, Region, User
from engine.sandbox import SandboxedScriptEngine

log = logging.getLogger(__name__)
SYSTEM_USER = SYSTEM_USERNAME


def start_timer(parsed: Any) -> TimerEventDefinition | None:
    for ts in parsed.spec.task_specs.values():
        ed = getattr(ts, "event_definition", None)
        if isinstance(ts, StartEvent) and isinstance(ed, TimerEventDefinition):
            return ed
    return None


def _expression_value(ed: TimerEventDefinition) -> str:
    value = SandboxedScriptEngine().environment.evaluate(ed.expression, {})
    return str(value).strip()


def _add(start: dt.datetime, duration_text: str) -> dt.datetime:
    parsed = TimerEventDefinition.parse_iso_duration(duration_text)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def _local(value: dt.datetime | str) -> dt.datetime:
    """A time in its own UTC offset, or in the configured zone (Asia/Shanghai by default) when it
    has none or is the deployment time. Calendar steps are taken there: 02:00 Beijing on the 1st
    is 18:00 UTC on the last day of the month before, and adding "one month" to that in UTC adds
    the length of the wrong month (1 Feb 02:00 + P1M would become 4 March)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timer.LOCALTZ)
    return value.astimezone(timer.LOCALTZ)


def next_occurrence(ed: TimerEventDefinition, value: str, *, after: dt.datetime, deployed_at: dt.datetime,
                    runs: int) -> dt.datetime | None:
    """The first occurrence strictly after `after` (None when the schedule is exhausted), in UTC.
    Calendar months stay calendar months: each step adds the duration to the previous time, on
    the local calendar of the cycle's start."""
    if isinstance(ed, CycleTimerEventDefinition):
        parts = value.upper().lstrip("R").split("/")
        cycles = int(parts[0]) if parts[0] else -1
        start = _local(value.split("/")[1] if len(parts) == 3 else deployed_at)
        duration = parts[-1]
        t, n = start, 0
        while t <= after:
            t, n = _add(t, duration), n + 1
            if n > 100_000:
                return None
        return None if 0 <= cycles <= runs else t.astimezone(dt.UTC)
    if runs:
        return None  # dates and durations start one request
    if isinstance(ed, TimeDateEventDefinition):
        when = TimerEventDefinition.get_datetime(value)
        return when
    if isinstance(ed, DurationTimerEventDefinition):
        return _add(deployed_at, value)
    return None


def system_user(session: Session) -> User:
    user = session.execute(select(User).where(User.username == SYSTEM_USER)).scalar_one_or_none()
    if user is None:
        user = User(username=SYSTEM_USER, display_name="系统 / System", region=HQ, password_hash="", is_active=True)
        session.add(user)
        session.flush()
    return user


def sync_schedules(session: Session, ctx: EngineContext) -> None:
    """One schedule row per model whose newest version starts with a timer."""
    now = ctx.clock()
    rows = {s.model_id: s for s in session.execute(select(Schedule)).scalars()}
    for model in session.execute(select(ProcessModel).where(ProcessModel.latest_version_id.is_not(None))).scalars():
        assert model.latest_version_id is not None
        ed = start_timer(parsed_version(session, ctx, model.latest_version_id))
        row = rows.get(model.id)
        if ed is None:
            if row is not None:
                session.delete(row)
            continue
        if row is not None and row.version_id == model.latest_version_id:
            continue
        version = session.get(ModelVersion, model.latest_version_id)
        assert version is not None
        value = _expression_value(ed)
        if row is None:
            row = Schedule(model_id=model.id, runs=0)
            session.add(row)
        row.version_id, row.expression = version.id, value
        row.next_run_at = next_occurrence(ed, value, after=row.last_run_at or (now - dt.timedelta(seconds=1)),
                                          deployed_at=version.deployed_at, runs=row.runs or 0)
    session.flush()


def run_schedules(sessions: sessionmaker[Session], ctx: EngineContext) -> int:
    """Start the requests whose time has come. Returns how many were started."""
    from engine.instances.service import start_instance

    started = 0
    with sessions() as session:
        sync_schedules(session, ctx)
        session.commit()
        due = [s.model_id for s in session.execute(select(Schedule).where(Schedule.next_run_at <= ctx.clock())).scalars()]
    for model_id in due:
        with sessions() as session:
            q = select(Schedule).where(Schedule.model_id == model_id)
            if session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            row = session.execute(q).scalar_one_or_none()
            now = ctx.clock()
            if row is None or row.next_run_at is None or row.next_run_at > now:
                continue  # another worker took it
            version = session.get(ModelVersion, row.version_id)
            meta = (version.meta if version else {}) or {}
            regions = [r.code for r in session.execute(select(Region).where(Region.code != HQ).order_by(Region.code)).scalars()] \
                if meta.get("schedule_per_region") else [HQ]
            actor = system_user(session)
            try:
                for region in regions:
                    start_instance(session, ctx, model_id=model_id, actor=actor, region=region, fire_start_timer=True,
                                   data={"scheduled_for": row.next_run_at.isoformat(), "region": region})
                    started += 1
                ed = start_timer(parsed_version(session, ctx, row.version_id))
                row.runs += 1
                row.last_run_at = row.next_run_at
                row.next_run_at = next_occurrence(ed, row.expression, after=max(now, row.next_run_at),
                                                  deployed_at=version.deployed_at if version else now,
                                                  runs=row.runs) if ed else None
                session.commit()
            except Exception:
                session.rollback()
                log.exception("scheduled start of %s failed", model_id)
    return started
