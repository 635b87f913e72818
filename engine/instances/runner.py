"""Advancing a workflow and projecting what it is waiting for: human tasks, timers, metadata."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import String, cast, func, select, update
from sqlalchemy.orm import Session

from engine import sla_calendar
from engine.audit.service import PendingEvent
from engine.deploy.models import ModelVersion
from engine.deploy.service import db_resolver
from engine.deploy.specs import ParsedVersion, SpecCache, parse_version
from engine.instances.assignment import apply_delegations, principals_for
from engine.instances.clock import bind_clock
from engine.instances.models import (
    CANCELLED,
    LIVE_STATUSES,
    OPEN,
    HumanTask,
    InstanceMetadata,
    MessageWait,
    Notification,
    ProcessInstance,
    TaskCandidate,
    Timer,
)
from engine.org.models import User
from engine.org.service import get_user_by_username, group_members, manager_of, user_dict
from engine.sandbox import SandboxedScriptEngine
from engine.services import load_builtin_operators

log = logging.getLogger(__name__)


def configure_timezone(name: str) -> None:
    """Timer dates written without a zone mean this zone (Asia/Shanghai by default), not the
    server's. SpiffWorkflow reads its module-level LOCALTZ for that, so it is set per process."""
    from zoneinfo import ZoneInfo

    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.LOCALTZ = ZoneInfo(name)


@dataclass
class EngineContext:
    """What the engine needs from its host, passed down instead of read from globals."""

    spec_cache: SpecCache = field(default_factory=SpecCache)
    script_time_limit: float = 1.0
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)


def parsed_version(session: Session, ctx: EngineContext, version_id: int) -> ParsedVersion:
    def build() -> ParsedVersion:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        # Already validated at deploy time; skip the XSD pass for speed.
        parsed = parse_version(version.files, version.primary_process_id, db_resolver(session), validate=False)
        parsed.meta, parsed.number = version.meta or {}, version.number
        parsed.content_hash, parsed.primary_process_id = version.content_hash, version.primary_process_id
        return parsed

    return ctx.spec_cache.get(version_id, build)


def version_metas(session: Session, ctx: EngineContext, version_ids: set[int]) -> dict[int, dict[str, Any]]:
    """process_model.json per version id, read once per process (versions are immutable)."""
    def load(ids: set[int]) -> dict[int, dict[str, Any]]:
        rows = session.execute(select(ModelVersion.id, ModelVersion.meta).where(ModelVersion.id.in_(ids))).all()
        return {vid: meta or {} for vid, meta in rows}

    return ctx.spec_cache.metas(version_ids, load)


def script_engine_for(
    session: Session, ctx: EngineContext, instance: ProcessInstance, actor: User | None
) -> SandboxedScriptEngine:
    """A sandbox whose helpers answer for this instance and this acting user. `engine.acting`
    can be switched (an auto-skipped task runs as the approver it stands for). Binds the
    context's clock for the workflow's timers (see `clock.py`)."""
    bind_clock(lambda: ctx.clock())
    initiator_cache: dict[str, Any] = {}
    acting: dict[str, User | None] = {"user": actor}

    def initiator() -> dict[str, Any]:
        if not initiator_cache:
            u = session.get(User, instance.initiator_id)
            initiator_cache.update(user_dict(u) if u else {})
        return dict(initiator_cache)

    def current() -> dict[str, Any]:
        user = acting["user"]
        return user_dict(user) if user else {"username": "system", "display_name": "系统", "region": instance.region}

    def members(name: str, region: str | None = None) -> list[str]:
        return [u.username for u in group_members(session, name, region)]

    def manager(username: str, levels: int = 1) -> str | None:
        m = manager_of(session, username, levels)
        return m.username if m else None

    def region(username: str) -> str | None:
        u = get_user_by_username(session, username)
        return u.region if u else None

    helpers = {
        "get_current_user": current,
        "get_process_initiator_user": initiator,
        "get_user_properties": current,
        "get_group_members": members,
        "manager_of": manager,
        "region_of": region,
        "get_instance_region": lambda: instance.region,
    }
    engine = SandboxedScriptEngine(helpers_factory=lambda _task: helpers, time_limit=ctx.script_time_limit,
                                   operators=load_builtin_operators())
    engine.acting = acting
    return engine


@dataclass
class EngineFailure:
    bpmn_id: str | None
    task_name: str | None
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"bpmn_id": self.bpmn_id, "task_name": self.task_name, "message": self.message, "line": self.line}


def failure_from(exc: Exception) -> EngineFailure:
    spec = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
    bpmn_id = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    name = getattr(spec, "bpmn_name", None) or getattr(spec, "description", None)
    msg = str(getattr(exc, "error_msg", None) or exc)
    notes = getattr(exc, "__notes__", None) or getattr(exc, "notes", None)
    if notes:
        msg = f"{msg} ({'; '.join(str(n) for n in notes)})"
    return EngineFailure(bpmn_id, name, msg, getattr(exc, "line_number", None) or None)


def run_engine(wf: BpmnWorkflow) -> EngineFailure | None:
    """Run engine steps; a model error is captured (the instance goes to `error`), never raised."""
    try:
        wf.refresh_timers()
        wf.do_engine_steps()
    except SpiffWorkflowException as exc:
        return failure_from(exc)
    except Exception as exc:  # a bug in a helper or an unexpected engine state: still an incident
        return EngineFailure(None, None, f"{type(exc).__name__}: {exc}")
    return None


def ready_human_tasks(wf: BpmnWorkflow) -> list[Any]:
    return [t for t in wf.get_tasks(state=TaskState.READY, manual=True)]


def spec_props(task: Any) -> dict[str, Any]:
    return (getattr(task.task_spec, "extensions", None) or {}).get("properties") or {}


ON_TRACK, DUE_SOON, BREACHED = "on_track", "due_soon", "breached"


def sla_times(task: Any, now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """(due time, reminder time) from the task's `slaDuration` property (ISO 8601 duration, e.g.
    PT2H, P5D), counted on the business calendar named by `slaCalendar` when there is one
    (engine/sla_calendar.py), else on calendar time."""
    props = spec_props(task)
    raw = props.get("slaDuration")
    if not raw:
        return None
    try:
        return sla_calendar.sla_times(now, str(raw), props.get("slaCalendar"))
    except Exception:  # validated at deploy time; a bad value must not block the task
        log.exception("SLA of task %s not computed", getattr(task.task_spec, "bpmn_id", None))
        return None


def sla_due_at(task: Any, now: dt.datetime) -> dt.datetime | None:
    times = sla_times(task, now)
    return times[0] if times else None


def sla_state(created_at: dt.datetime, due_at: dt.datetime | None, now: dt.datetime) -> str | None:
    """on_track, due_soon (the last fifth of the allowed time) or breached."""
    if due_at is None:
        return None
    if now >= due_at:
        return BREACHED
    return DUE_SOON if (due_at - now) <= (due_at - created_at) / 5 else ON_TRACK


@dataclass
class NewTask:
    row: HumanTask
    task: Any
    assigned: list[str]  # principals the model assigns, before delegation


def project_human_tasks(
    session: Session, instance: ProcessInstance, wf: BpmnWorkflow, *, now: dt.datetime,
    completed_guid: str | None = None, events: list[PendingEvent] | None = None,
    prepare: Callable[[HumanTask, Any], None] | None = None, live: dict[int, str] | None = None,
) -> list[NewTask]:
    """Make the open human_task rows equal the READY user/manual tasks; new rows get their
    candidates (delegations applied, each recorded in `events`). `prepare(row, task)` fills
    derived columns of a new row before it is inserted (one INSERT, no UPDATE after). `live`:
    the request's live rows (id -> task guid) when the caller read them in this transaction
    (`live_rows_column`; {} for a request created in it), else they are read here."""
    ready = {str(t.id): t for t in ready_human_tasks(wf)}
    if live is None:
        live = {i: guid for i, guid in session.execute(select(HumanTask.id, HumanTask.task_guid).where(
            HumanTask.instance_id == instance.id, HumanTask.status.in_(LIVE_STATUSES)))}
    open_guids = set(live.values())
    gone = [i for i, guid in live.items() if guid not in ready and guid != completed_guid]
    if gone:
        session.execute(update(HumanTask).where(HumanTask.id.in_(gone), HumanTask.status.in_(LIVE_STATUSES))
                        .values(status=CANCELLED, completed_at=now).execution_options(synchronize_session="fetch"))
    created: list[NewTask] = []
    for guid, task in ready.items():
        if guid in open_guids:
            continue
        spec = task.task_spec
        due, remind = sla_times(task, now) or (None, None)
        row = HumanTask(
            instance_id=instance.id, task_guid=guid, bpmn_id=spec.bpmn_id or spec.name,
            name=spec.bpmn_name or spec.bpmn_id or spec.name, lane=spec.lane, model_id=instance.model_id,
            region=instance.region, status=OPEN, created_at=now, due_at=due, sla_state=ON_TRACK if due else None,
            next_sla_check_at=remind,
        )
        if prepare is not None:
            prepare(row, task)
        session.add(row)
        created.append(NewTask(row, task, []))
    if created:
        session.flush()
        for nt in created:
            undelegated: set[int] = set()
            principals = dict(principals_for(session, instance, nt.task, now=now, undelegated=undelegated))
            nt.assigned = list(principals)
            final = apply_delegations(session, instance, principals, now, nt.row, events if events is not None else [],
                                      undelegated)
            for principal, any_region in final.items():
                session.add(TaskCandidate(task_id=nt.row.id, principal=principal, any_region=any_region))
                if principal.startswith("user:"):
                    session.add(Notification(user_id=int(principal[5:]), kind="task_assigned",
                                             title=f"新待办：{nt.row.name}", body=instance.title,
                                             instance_id=instance.id, task_id=nt.row.id))
    return created


_SEP = "\x1f"


def live_rows_column() -> Any:
    """SQL column of a query on human_task: the live rows of the row's request as "id:guid"
    items, so the query that loads a task also tells `project_human_tasks` (`live_rows`) what
    the request has open."""
    other = HumanTask.__table__.alias("live")
    item = cast(other.c.id, String) + ":" + other.c.task_guid
    return (select(func.aggregate_strings(item, _SEP))
            .where(other.c.instance_id == HumanTask.instance_id, other.c.status.in_(LIVE_STATUSES))
            .scalar_subquery())


def live_rows(value: str | None, *, besides: int | None = None) -> dict[int, str]:
    """The value of `live_rows_column` as id -> guid, without the row `besides` (the one the
    caller is closing)."""
    out = {}
    for item in (value or "").split(_SEP) if value else []:
        row_id, _, guid = item.partition(":")
        if int(row_id) != besides:
            out[int(row_id)] = guid
    return out


def sync_message_waits(session: Session, instance: ProcessInstance, wf: BpmnWorkflow) -> None:
    """Index the message events this instance waits for (name -> task)."""
    wanted: dict[str, tuple[str, str]] = {}
    for task in list(wf.event_manager.tasks.values()):
        ed = task.task_spec.event_definition
        if isinstance(ed, MessageEventDefinition) and task.has_state(TaskState.WAITING):
            wanted[str(task.id)] = (ed.name, task.task_spec.bpmn_id or task.task_spec.name)
    existing = {w.task_guid: w for w in session.execute(
        select(MessageWait).where(MessageWait.instance_id == instance.id)).scalars()}
    for guid, row in existing.items():
        if guid not in wanted:
            session.delete(row)
    for guid, (name, bpmn_id) in wanted.items():
        if guid not in existing:
            session.add(MessageWait(instance_id=instance.id, task_guid=guid, message_name=name, bpmn_id=bpmn_id))


def sync_waits(session: Session, instance: ProcessInstance, wf: BpmnWorkflow,
               kinds: frozenset[str] | None = None) -> None:
    """Index what the instance now waits for outside the inbox: timers and messages. `kinds`
    (the version's `event_kinds`) skips an index the version can never need; None checks both
    (e.g. after moving an instance to another version, whose old rows must go)."""
    if kinds is None or "timer" in kinds:
        sync_timers(session, instance, wf)
    if kinds is None or "message" in kinds:
        sync_message_waits(session, instance, wf)


def sync_timers(session: Session, instance: ProcessInstance, wf: BpmnWorkflow) -> None:
    """Store the due time of every waiting timer event; drop timers no longer waiting."""
    wanted: dict[str, tuple[str, dt.datetime]] = {}
    for task in list(wf.event_manager.tasks.values()):
        ed = task.task_spec.event_definition
        if not isinstance(ed, TimerEventDefinition) or not task.has_state(TaskState.WAITING):
            continue
        value = ed.details(task).value
        if isinstance(value, dict):
            value = value.get("next")
        if not value:
            continue
        due = TimerEventDefinition.get_datetime(value) if isinstance(value, str) else value
        if due.tzinfo is None:
            due = due.replace(tzinfo=dt.UTC)
        wanted[str(task.id)] = (task.task_spec.bpmn_id or task.task_spec.name, due)
    existing = {t.task_guid: t for t in session.execute(
        select(Timer).where(Timer.instance_id == instance.id)).scalars()}
    for guid, timer in existing.items():
        if guid not in wanted:
            session.delete(timer)
        elif timer.due_at != wanted[guid][1]:
            timer.due_at = wanted[guid][1]
    for guid, (bpmn_id, due) in wanted.items():
        if guid not in existing:
            session.add(Timer(instance_id=instance.id, task_guid=guid, bpmn_id=bpmn_id, due_at=due))


def _lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


def extract_metadata(
    session: Session, instance: ProcessInstance, data: dict[str, Any], paths: list[dict[str, str]]
) -> None:
    """Copy `metadata_extraction_paths` values into indexed rows (strings, 500 chars max)."""
    meta = dict(instance.meta or {})
    for p in paths:
        value = _lookup(data, p["path"])
        if value is None or isinstance(value, (dict, list)):
            continue
        text = str(value)[:500]
        if meta.get(p["key"]) != text:
            # `instance.meta` mirrors the rows, so a key it lacks has no row yet: no SELECT needed.
            if p["key"] not in meta:
                session.add(InstanceMetadata(instance_id=instance.id, key=p["key"], value=text))
            else:
                session.execute(update(InstanceMetadata).where(
                    InstanceMetadata.instance_id == instance.id, InstanceMetadata.key == p["key"]).values(value=text))
            meta[p["key"]] = text
    instance.meta = meta


def workflow_data(wf: BpmnWorkflow) -> dict[str, Any]:
    """The request's current data: the last completed task's, or the newest READY task's."""
    ready = wf.get_tasks(state=TaskState.READY)
    if ready:
        return ready[-1].data
    if wf.last_task is not None:
        return wf.last_task.data
    return wf.data
