"""Instance lifecycle: start, complete a task, withdraw, retry. Each function changes state,
task rows, timers and audit events together and flushes; the caller commits once."""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.audit.service import PendingEvent, build_chain
from engine.deploy.models import ModelVersion
from engine.deploy.service import get_model
from engine.errors import BadRequest, Conflict, Forbidden, FormInvalid, NotFound
from engine.instances import access
from engine.instances.assignment import auto_skip_data, earlier_approver
from engine.instances.compaction import compact
from engine.instances.models import (
    ADDED,
    CANCELLED,
    COMPLETE,
    DONE,
    ERROR,
    FINISHED_STATUSES,
    LIVE_STATUSES,
    OPEN,
    RUNNING,
    WAITING,
    WITHDRAWN,
    HumanTask,
    MessageWait,
    ProcessInstance,
    TaskDraft,
    Timer,
)
from engine.instances.runner import (
    EngineContext,
    EngineFailure,
    NewTask,
    extract_metadata,
    failure_from,
    live_rows,
    live_rows_column,
    parsed_version,
    project_human_tasks,
    ready_human_tasks,
    run_engine,
    script_engine_for,
    spec_props,
    sync_waits,
    workflow_data,
)
from engine.instances.state import dump_state, load_state
from engine.org.models import User
from forms import Form, FormValidationError, load_form, render_instructions, validate_submission


@dataclass
class Step:
    """What one state change produced, for the caller's response."""

    instance: ProcessInstance
    created_tasks: list[HumanTask]
    failure: EngineFailure | None
    data: dict[str, Any] | None = None  # the request's data after the step (saves re-reading the state)


def _status_of(wf: BpmnWorkflow, failure: EngineFailure | None) -> str:
    if failure is not None:
        return ERROR
    if wf.is_completed():
        return COMPLETE
    if ready_human_tasks(wf):
        return RUNNING
    return WAITING if wf.waiting_events() else RUNNING


def flush_or_conflict(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict("the request was changed by someone else at the same time; reload and retry") from exc


def _append_audit(session: Session, instance: ProcessInstance, events: list[PendingEvent]) -> None:
    rows, instance.audit_seq, instance.audit_head = build_chain(
        chain=f"instance:{instance.id}", instance_id=instance.id,
        head_seq=instance.audit_seq, head_hash=instance.audit_head, events=events,
    )
    session.add_all(rows)


MAX_AUTO_SKIPS = 50  # a model that skips forever is a model bug, not a reason to hang


def _auto_skip(session: Session, instance: ProcessInstance, new: list[NewTask], events: list[PendingEvent],
               now: Any) -> EngineFailure | None | bool:
    """Complete new tasks whose approver already approved earlier in this request (自动去重).
    Returns False when nothing was skipped, else the failure (or None) of running them."""
    skipped = False
    for nt in new:
        data = auto_skip_data(nt.task)
        if data is None:
            continue
        approver = earlier_approver(session, instance, nt.assigned, nt.row)
        if approver is None:
            continue
        nt.task.data.update(data)
        acting = getattr(nt.task.workflow.script_engine, "acting", None)
        previous = acting["user"] if acting is not None else None
        if acting is not None:
            acting["user"] = approver  # post-scripts see the approver this step stands for
        try:
            nt.task.run()
        except SpiffWorkflowException as exc:
            return failure_from(exc)
        finally:
            if acting is not None:
                acting["user"] = previous
        nt.row.status, nt.row.completed_at, nt.row.completed_by_id = DONE, now, approver.id
        nt.row.outcome = "auto_skipped"
        events.append(PendingEvent("task_auto_completed", "system", {
            "task": nt.row.name, "approver": approver.username, "data": data,
            "reason": "the same approver already approved earlier in this request",
        }, task_guid=nt.row.task_guid, bpmn_id=nt.row.bpmn_id))
        skipped = True
    return None if skipped else False


# The parsed version of each loaded workflow, for reading forms of newly READY tasks.
_PARSED: weakref.WeakKeyDictionary[BpmnWorkflow, Any] = weakref.WeakKeyDictionary()
APPROVE_WORDS = ("approve", "approved", "agree", "accept", "pass", "yes", "同意", "通过")


def _approve_data(parsed: Any, task: Any) -> dict[str, Any] | None:
    """What approves this task with no other input (批量同意), if its form allows that: nothing
    at all, or its required choices each set to their "approve" option."""
    try:
        form = form_of(parsed, task)
    except Exception:  # a form that fails to load is reported when the task is opened
        return None
    if form is None:
        return {}
    candidate: dict[str, Any] = {}
    props = form.schema.get("properties") or {}
    for name in form.schema.get("required") or []:
        prop = props.get(name) or {}
        options = [o.get("const") for o in prop.get("oneOf") or [] if isinstance(o, dict)] + list(prop.get("enum") or [])
        choice = next((o for o in options if isinstance(o, str) and o.lower() in APPROVE_WORDS), None)
        if choice is None:
            return None
        candidate[name] = choice
    try:
        validate_submission(form, candidate)
    except FormValidationError:
        return None
    return candidate


def version_meta(session: Session, instance: ProcessInstance, wf: BpmnWorkflow) -> dict[str, Any]:
    """The instance's version's process_model.json: from the cached parsed version when the
    workflow came through it (versions are immutable), else read."""
    parsed = _PARSED.get(wf)
    if parsed is not None and parsed.meta is not None:
        return dict(parsed.meta)
    version = session.get(ModelVersion, instance.version_id)
    return dict(version.meta or {}) if version else {}


def path_taken(wf: BpmnWorkflow, known: dict[str, Any] | None) -> dict[str, Any]:
    """What the primary process has run so far, merged with what was recorded before the tree
    was compacted: reached element ids and (source, target) steps between them."""
    done = set((known or {}).get("done") or [])
    steps = {tuple(x) for x in (known or {}).get("steps") or []}
    for task in list(wf.tasks.values()):  # the primary process only (subprocesses have their own)
        if not task.has_state(TaskState.COMPLETED):
            continue
        spec_id = getattr(task.task_spec, "bpmn_id", None)
        if not spec_id:
            continue  # start/end plumbing of SpiffWorkflow, not a BPMN element
        done.add(spec_id)
        parent_id = getattr(task.parent.task_spec, "bpmn_id", None) if task.parent is not None else None
        if parent_id:
            steps.add((parent_id, spec_id))
    return {"done": sorted(done), "steps": sorted([list(x) for x in steps])}


def _finish_step(
    session: Session, instance: ProcessInstance, wf: BpmnWorkflow, model_meta: dict[str, Any],
    events: list[PendingEvent], failure: EngineFailure | None, actor: str, *,
    completed_guid: str | None = None, now: Any, reindex_waits: bool = False, live: dict[int, str] | None = None,
) -> Step:
    """Persist one advance: state, status, metadata, task rows, timers and audit, in one flush.
    `live`: the request's live task rows as the caller read them in this transaction (see
    `project_human_tasks`; {} for a request this step created)."""
    created: list[HumanTask] = []
    parsed = _PARSED.get(wf)

    def prepare(row: HumanTask, task: Any) -> None:
        row.approve_data = _approve_data(parsed, task) if parsed is not None else None

    for _ in range(MAX_AUTO_SKIPS):
        new = project_human_tasks(session, instance, wf, now=now, completed_guid=completed_guid, events=events,
                                  prepare=prepare, live=None if created else live)
        for nt in new:
            events.append(PendingEvent("task_created", "system", {"task": nt.row.name, "lane": nt.row.lane},
                                       task_guid=nt.row.task_guid, bpmn_id=nt.row.bpmn_id))
        created += [nt.row for nt in new]
        if failure is not None:
            break
        outcome = _auto_skip(session, instance, new, events, now)
        if outcome is False:
            break
        failure = outcome if isinstance(outcome, EngineFailure) else run_engine(wf)
    instance.path = path_taken(wf, instance.path)
    compact(wf)
    status = _status_of(wf, failure)
    data = workflow_data(wf)
    with session.no_autoflush:  # one UPDATE of the instance per step (each also bumps lock_version)
        extract_metadata(session, instance, data, model_meta.get("metadata_extraction_paths") or [])
        sync_waits(session, instance, wf, None if reindex_waits or parsed is None else parsed.event_kinds)
    from engine.attachments.service import record_written

    record_written(session, instance.id, data)  # files its service tasks wrote: recorded, linked to it
    if failure is not None:
        events.append(PendingEvent("instance_error", "system", failure.to_dict(), bpmn_id=failure.bpmn_id))
    elif status == COMPLETE and instance.status != COMPLETE:
        events.append(PendingEvent("instance_completed", actor, {}))
    _append_audit(session, instance, events)
    instance.state = dump_state(wf)
    instance.status = status
    instance.updated_at = now
    instance.error = failure.to_dict() if failure else None
    instance.completed_at = now if status == COMPLETE else None
    flush_or_conflict(session)
    return Step(instance, [r for r in created if r.status == OPEN], failure, data)


def start_instance(
    session: Session, ctx: EngineContext, *, model_id: str, actor: User, data: dict[str, Any] | None = None,
    message: str | None = None, region: str | None = None, fire_start_timer: bool = False,
) -> Step:
    """Start a request on the newest version. With `message`, the process's message start event
    of that name receives `data` as the message payload; with `fire_start_timer` (the scheduler)
    a timer start event fires once, now. `region` overrides the initiator's (scheduled runs)."""
    model = get_model(session, model_id)
    if model.latest_version_id is None:
        raise NotFound(f"process model '{model_id}' has no deployed version")
    parsed = parsed_version(session, ctx, model.latest_version_id)  # versions never change: cached
    if not access.may_start(actor, parsed.meta or {}):
        raise Forbidden(f"you may not start '{model.display_name}'")
    if data is not None and not isinstance(data, dict):
        raise BadRequest("data must be a JSON object")
    now = ctx.clock()
    instance = ProcessInstance(
        model_id=model.id, version_id=model.latest_version_id, process_id=parsed.primary_process_id,
        title=model.display_name, status=RUNNING, initiator_id=actor.id, region=region or actor.region,
        state="", lock_version=1, meta={}, created_at=now, updated_at=now, audit_seq=0, audit_head="",
    )
    session.add(instance)
    session.flush()
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=script_engine_for(session, ctx, instance, actor))
    _PARSED[wf] = parsed
    if data:
        wf.task_tree.data.update(data)
        for t in wf.get_tasks(state=TaskState.READY):
            t.data.update(data)
    if fire_start_timer:
        _fire_start_timer_now(wf)
    if message is not None:
        failure = _catch_start_message(wf, message, data or {})
    else:
        failure = run_engine(wf)
    events = [PendingEvent("instance_started", actor.username, {
        "model_id": model.id, "version": parsed.number, "content_hash": parsed.content_hash, "data": data or {},
    })]
    return _finish_step(session, instance, wf, parsed.meta or {}, events, failure, actor.username, now=now,
                        live={})


_LONG_AGO = "2000-01-01T00:00:00+00:00"


def _fire_start_timer_now(wf: BpmnWorkflow) -> None:
    """One token from the timer start event, now (no replay of past cycles). The event time is
    set in the past: SpiffWorkflow compares it with the real clock, whatever the caller's is."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
    from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

    for t in wf.get_tasks():
        ed = getattr(t.task_spec, "event_definition", None)
        if isinstance(t.task_spec, StartEvent) and isinstance(ed, TimerEventDefinition):
            if isinstance(ed, CycleTimerEventDefinition):
                t._set_internal_data(event_value={"cycles": 1, "next": _LONG_AGO, "duration": 0.0})
            else:
                t._set_internal_data(event_value=_LONG_AGO)


def _catch_start_message(wf: BpmnWorkflow, name: str, payload: dict[str, Any]) -> EngineFailure | None:
    """Start through the message start event even when the process also has a none start:
    run only the start plumbing, deliver the message, run its start event first (SpiffWorkflow
    then cancels the other starts), and only then the rest."""
    from SpiffWorkflow.bpmn import BpmnEvent
    from SpiffWorkflow.bpmn.specs.control import BpmnStartTask, StartEventSplit
    from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition

    try:
        for _ in range(10):
            plumbing = [t for t in wf.get_tasks(state=TaskState.READY)
                        if isinstance(t.task_spec, (BpmnStartTask, StartEventSplit))]
            if not plumbing:
                break
            for t in plumbing:
                t.run()
        starts = [t for t in wf.get_tasks(state=TaskState.WAITING | TaskState.FUTURE)
                  if isinstance(getattr(t.task_spec, "event_definition", None), MessageEventDefinition)
                  and t.task_spec.event_definition.name == name]
        if starts:
            wf.send_event(BpmnEvent(starts[0].task_spec.event_definition, payload=payload))
            if starts[0].has_state(TaskState.READY):
                starts[0].run()
    except SpiffWorkflowException as exc:
        return failure_from(exc)
    return run_engine(wf)


def get_instance(session: Session, user: User, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not access.can_read_instance(session, user, instance):
        raise NotFound(f"process instance {instance_id} not found")
    return instance


def _task_for(session: Session, user: User, task_id: int, *extra: Any) -> tuple[HumanTask, ProcessInstance, bool, list[Any]]:
    """The task, its request, whether it is the user's to act on (`access.is_candidate`) and the
    values of `extra` columns, in one query; 404 unless the user may see it."""
    found = session.execute(select(HumanTask, ProcessInstance, access.mine(user), *extra)
                            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                            .where(HumanTask.id == task_id)).first()
    if found is None:
        raise NotFound(f"task {task_id} not found")
    row, instance, mine, *more = found
    if not (mine or access.can_read_instance(session, user, instance)):
        raise NotFound(f"task {task_id} not found")
    return row, instance, bool(mine), more


def get_human_task(session: Session, user: User, task_id: int) -> tuple[HumanTask, ProcessInstance]:
    row, instance, _, _ = _task_for(session, user, task_id)
    return row, instance


def load_workflow(session: Session, ctx: EngineContext, instance: ProcessInstance, actor: User | None) -> tuple[BpmnWorkflow, Any]:
    parsed = parsed_version(session, ctx, instance.version_id)
    wf = load_state(instance.state, parsed, script_engine_for(session, ctx, instance, actor))
    _PARSED[wf] = parsed
    return wf, parsed


def task_form(session: Session, ctx: EngineContext, row: HumanTask, instance: ProcessInstance, wf: BpmnWorkflow,
              parsed: Any, hidden: set[str] | None = None) -> dict[str, Any]:
    """Schema and UI schema of a task's form, Jinja-filled from its data; instructions too.
    Instructions are filled from the data the caller may see (restricted fields left out).
    An added approver's row (加签) gets the built-in opinion form."""
    task = wf.get_task_from_id(UUID(row.task_guid)) if row.status in LIVE_STATUSES else None
    out: dict[str, Any] = {"schema": None, "ui_schema": None, "instructions": None, "data": {}}
    if task is None:
        return out
    out["data"] = task.data
    if row.kind == ADDED:
        from engine.instances.addsign import OPINION_FORM

        out["schema"], out["ui_schema"] = OPINION_FORM.schema, OPINION_FORM.ui_schema
        return out
    ext = getattr(task.task_spec, "extensions", None) or {}
    instructions = ext.get("instructionsForEndUser")
    if instructions:
        visible = access.redact(task.data, hidden) if hidden else task.data
        out["instructions"] = render_instructions(instructions, visible)  # type: ignore[arg-type]
    form = form_of(parsed, task)
    if form is not None:
        out["schema"], out["ui_schema"] = form.schema, form.ui_schema
    return out


def form_of(parsed: Any, task: Any) -> Form | None:
    """The task's form (Jinja-filled from its data), or None when it has none."""
    props = spec_props(task)
    if not props.get("formJsonSchemaFilename"):
        return None
    return load_form(parsed.files_for(task.workflow.spec.name), props["formJsonSchemaFilename"],
                     props.get("formUiSchemaFilename"), task.data)


def validate_form(session: Session, actor: User, form: Form | None, data: Any) -> dict[str, Any]:
    """A submission checked against the form: 422 with each field named, else the validated fields."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest("data must be a JSON object", {"field": "data"})
    if form is None:
        return {}
    from engine.attachments.service import attachment_checker

    try:
        return validate_submission(form, data, attachment_exists=attachment_checker(session, actor))
    except FormValidationError as exc:
        raise FormInvalid([{"path": e.path, "message": e.message, "message_zh": e.message_zh}
                           for e in exc.errors]) from exc


def ready_task(wf: BpmnWorkflow, row: HumanTask) -> Any:
    task = wf.get_task_from_id(UUID(row.task_guid))
    if task is None or not task.has_state(TaskState.READY):
        raise Conflict(f"task {row.id} is no longer waiting for input")
    return task


def actionable(session: Session, actor: User, task_id: int, *statuses: str) -> tuple[HumanTask, ProcessInstance]:
    """A task the actor may act on now: visible, in one of `statuses` (default open), theirs."""
    row, instance, mine, _ = _task_for(session, actor, task_id)
    _check_actionable(row, mine, statuses)
    return row, instance


def _check_actionable(row: HumanTask, mine: bool, statuses: tuple[str, ...] = ()) -> None:
    if row.status not in (statuses or (OPEN,)):
        raise Conflict(f"task {row.id} is {row.status}")
    if not mine:
        raise Forbidden(f"you are not an approver of task {row.id}")


def complete_task(
    session: Session, ctx: EngineContext, *, task_id: int, actor: User, data: Any
) -> Step:
    row, instance, mine, (drafts, live) = _task_for(session, actor, task_id,
                                                    exists().where(TaskDraft.task_id == HumanTask.id), live_rows_column())
    _check_actionable(row, mine)
    if row.kind == ADDED:
        from engine.instances.addsign import answer

        return answer(session, ctx, row, instance, actor, data)
    wf, parsed = load_workflow(session, ctx, instance, actor)
    task = ready_task(wf, row)
    submitted = validate_form(session, actor, form_of(parsed, task), data)
    return apply_submission(session, ctx, instance, wf, row, task, actor, submitted, drafts=bool(drafts),
                            live=live_rows(live, besides=row.id))


def apply_submission(
    session: Session, ctx: EngineContext, instance: ProcessInstance, wf: BpmnWorkflow, row: HumanTask, task: Any,
    actor: User, submitted: dict[str, Any], *, from_status: str = OPEN, events: list[PendingEvent] | None = None,
    drafts: bool = True, live: dict[int, str] | None = None,
) -> Step:
    """Run the READY task with validated data as `actor`, close its row and advance the request.
    `drafts=False`: the caller knows the task has no saved drafts (nothing to delete); `live`: the
    request's other live rows, read with the task (see `project_human_tasks`)."""
    task.data.update(submitted)
    now = ctx.clock()
    failure: EngineFailure | None = None
    try:
        task.run()
    except SpiffWorkflowException as exc:
        failure = failure_from(exc)
    if failure is None:
        failure = run_engine(wf)
    closed = session.execute(
        update(HumanTask).where(HumanTask.id == row.id, HumanTask.status == from_status)
        .values(status=DONE, completed_at=now, completed_by_id=actor.id).execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"task {row.id} was completed by someone else")
    if drafts:
        session.execute(delete(TaskDraft).where(TaskDraft.task_id == row.id))
    from engine.attachments.service import link_attachments, refs_in

    link_attachments(session, instance.id, refs_in(submitted))
    events = [*(events or []), PendingEvent("task_completed", actor.username, {"task": row.name, "data": submitted},
                                            task_guid=row.task_guid, bpmn_id=row.bpmn_id)]
    return _finish_step(session, instance, wf, version_meta(session, instance, wf), events, failure, actor.username,
                        completed_guid=row.task_guid, now=now, live=live)


def withdraw(session: Session, ctx: EngineContext, *, instance_id: int, actor: User, reason: str = "") -> Step:
    instance = get_instance(session, actor, instance_id)
    if instance.initiator_id != actor.id:
        raise Forbidden("only the initiator may withdraw a request")
    if instance.status in FINISHED_STATUSES:
        raise Conflict(f"the request is already {instance.status}")
    wf, _ = load_workflow(session, ctx, instance, actor)
    wf.cancel()
    now = ctx.clock()
    for row in session.execute(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                       HumanTask.status.in_(LIVE_STATUSES))).scalars():
        row.status, row.completed_at = CANCELLED, now
    for t in session.execute(select(Timer).where(Timer.instance_id == instance.id)).scalars():
        session.delete(t)
    for w in session.execute(select(MessageWait).where(MessageWait.instance_id == instance.id)).scalars():
        session.delete(w)
    _append_audit(session, instance, [PendingEvent("instance_withdrawn", actor.username, {"reason": reason})])
    instance.state = dump_state(wf)
    instance.status = WITHDRAWN
    instance.updated_at = instance.completed_at = now
    flush_or_conflict(session)
    return Step(instance, [], None)


def _missing_specs(state: str, parsed: Any) -> list[str]:
    """Task spec names the saved state uses that the target version does not define."""
    import json

    dct = json.loads(state)
    specs = [parsed.spec, *parsed.subprocess_specs.values()]
    known = {name for spec in specs for name in spec.task_specs}
    used = {t["task_spec"] for t in dct["tasks"].values()}
    for sp in dct.get("subprocesses", {}).values():
        used |= {t["task_spec"] for t in sp["tasks"].values()}
    return sorted(used - known)


def retry(
    session: Session, ctx: EngineContext, *, instance_id: int, actor: User,
    data: dict[str, Any] | None = None, to_latest_version: bool = False,
) -> Step:
    """Re-run an instance in `error` after its cause was fixed: errored tasks become READY again.
    `data` corrects the failed task's data; `to_latest_version` moves the instance onto the
    newest deployed version (e.g. a fixed script) if every task it has is still in that model.
    Both are recorded in the audit log."""
    if not actor.has_role("admin"):
        raise Forbidden("only an administrator may retry a failed request")
    instance = get_instance(session, actor, instance_id)
    if instance.status != ERROR:
        raise Conflict(f"the request is {instance.status}, not in error")
    events = [PendingEvent("instance_retried", actor.username, {"previous_error": instance.error, "data": data or {}})]
    if to_latest_version:
        model = get_model(session, instance.model_id)
        if model.latest_version_id and model.latest_version_id != instance.version_id:
            target = parsed_version(session, ctx, model.latest_version_id)
            missing = _missing_specs(instance.state, target)
            if missing:
                raise Conflict("the newest version lacks elements this request is at: " + ", ".join(missing),
                               {"missing_elements": missing})
            old = session.get(ModelVersion, instance.version_id)
            new = session.get(ModelVersion, model.latest_version_id)
            events.append(PendingEvent("instance_migrated", actor.username, {
                "from_version": old.number if old else None, "to_version": new.number if new else None,
                "content_hash": new.content_hash if new else None}))
            instance.version_id = model.latest_version_id
    wf, _ = load_workflow(session, ctx, instance, actor)
    for task in wf.get_tasks(state=TaskState.ERROR):
        if data:
            task.data.update(data)
        task._set_state(TaskState.READY)
    failure = run_engine(wf)
    return _finish_step(session, instance, wf, version_meta(session, instance, wf), events, failure, actor.username,
                        now=ctx.clock(), reindex_waits=to_latest_version)
