"""加签 (add approver): people asked for their opinion before the task's owner decides
("before"), or who must agree before the owner's decision takes effect ("after"); all of them
(会签) or the first one (或签). Added approvers are task rows of kind `added` beside the BPMN task,
which stays READY in the workflow while its own row is `on_hold`."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.audit.service import PendingEvent
from engine.errors import BadRequest, Conflict
from engine.instances.actions import active_users, close_open_siblings, save_draft_for
from engine.instances.models import ADDED, DONE, HELD, OPEN, HumanTask, ProcessInstance, TaskCandidate
from engine.instances.runner import EngineContext
from engine.instances.service import (
    Step,
    _append_audit,
    actionable,
    apply_submission,
    flush_or_conflict,
    form_of,
    load_workflow,
    ready_task,
    validate_form,
)
from engine.instances.sla import notify as notify_users
from engine.instances.sla import owners_of
from engine.org.models import User
from forms import Form

POSITIONS, SIGNS = ("before", "after"), ("all", "any")
MAX_ADDED = 10

OPINION_FORM = Form(
    schema={
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "加签意见", "x-title-en": "Opinion (added approver)",
        "type": "object", "required": ["decision"],
        "properties": {
            "decision": {"type": "string", "title": "意见", "x-title-en": "Decision", "oneOf": [
                {"const": "approve", "title": "同意 / Approve"}, {"const": "reject", "title": "不同意 / Reject"}]},
            "comment": {"type": "string", "title": "说明", "x-title-en": "Comment", "maxLength": 2000,
                        "description": "不同意时必填 / Required when rejecting"},
        },
        "if": {"properties": {"decision": {"const": "reject"}}, "required": ["decision"]},
        "then": {"required": ["comment"], "properties": {"comment": {"minLength": 1}}},
    },
    ui_schema={"decision": {"ui:widget": "radio"}, "comment": {"ui:widget": "textarea"}},
    schema_filename="<opinion>",
)


def add_approvers(
    session: Session, ctx: EngineContext, *, task_id: int, actor: User, usernames: list[str], position: str,
    sign: str, comment: str = "", data: Any = None,
) -> HumanTask:
    row, instance = actionable(session, actor, task_id)
    if row.kind == ADDED:
        raise BadRequest("an added approver cannot add further approvers", {"field": "users"})
    if position not in POSITIONS:
        raise BadRequest("position must be 'before' or 'after'", {"field": "position"})
    if sign not in SIGNS:
        raise BadRequest("sign must be 'all' or 'any'", {"field": "sign"})
    if not usernames or len(usernames) > MAX_ADDED:
        raise BadRequest(f"name 1 to {MAX_ADDED} people to add", {"field": "users"})
    people = active_users(session, usernames, field="users")
    if any(u.id == actor.id for u in people):
        raise BadRequest("you cannot add yourself", {"field": "users"})
    wf, parsed = load_workflow(session, ctx, instance, actor)
    task = ready_task(wf, row)
    pending = validate_form(session, actor, form_of(parsed, task), data) if position == "after" else None
    now = ctx.clock()
    held = session.execute(update(HumanTask).where(HumanTask.id == row.id, HumanTask.status == OPEN)
                           .values(status=HELD, pending_data=pending).execution_options(synchronize_session=False))
    if held.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"task {task_id} was changed by someone else")
    session.refresh(row)
    for person in people:
        child = HumanTask(
            instance_id=instance.id, task_guid=row.task_guid, bpmn_id=row.bpmn_id, name=f"{row.name}（加签）",
            lane=row.lane, model_id=row.model_id, region=row.region, status=OPEN, kind=ADDED, parent_id=row.id,
            add_position=position, add_sign=sign, added_by_id=actor.id, assignee_id=person.id, created_at=now,
            # The step's SLA goes on with the people it now waits for: reminders and escalation.
            due_at=row.due_at, sla_state=row.sla_state, next_sla_check_at=row.next_sla_check_at,
        )
        session.add(child)
        session.flush()
        session.add(TaskCandidate(task_id=child.id, principal=f"user:{person.id}", any_region=True))
        notify_users(session, [person], kind="approver_added", title=f"加签：{row.name}",
                     body=f"{actor.display_name or actor.username}：{comment}" if comment else instance.title,
                     instance_id=instance.id, task_id=child.id)
    event: dict[str, Any] = {"task": row.name, "users": [u.username for u in people], "position": position,
                             "sign": sign, "comment": comment}
    if pending is not None:
        event["data"] = pending
    _append_audit(session, instance, [PendingEvent("approver_added", actor.username, event,
                                                   task_guid=row.task_guid, bpmn_id=row.bpmn_id)])
    instance.updated_at = now
    flush_or_conflict(session)
    return row


def answer(session: Session, ctx: EngineContext, row: HumanTask, instance: ProcessInstance, actor: User,
           data: Any) -> Step:
    """An added approver's opinion; decides the parent task once all (or the first) answered."""
    opinion = validate_form(session, actor, OPINION_FORM, data)
    now = ctx.clock()
    closed = session.execute(update(HumanTask).where(HumanTask.id == row.id, HumanTask.status == OPEN).values(
        status=DONE, outcome=opinion["decision"], completed_at=now, completed_by_id=actor.id,
    ).execution_options(synchronize_session=False))
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"task {row.id} was completed by someone else")
    parent = session.get(HumanTask, row.parent_id)
    if parent is None or parent.status != HELD:
        raise Conflict("the task this opinion was asked for is no longer waiting")
    events = [PendingEvent("added_approver_answered", actor.username, {
        "task": parent.name, "decision": opinion["decision"], "comment": opinion.get("comment", "")},
        task_guid=row.task_guid, bpmn_id=row.bpmn_id)]
    still_open = session.execute(select(HumanTask.id).where(
        HumanTask.parent_id == parent.id, HumanTask.status == OPEN, HumanTask.id != row.id)).scalars().all()
    decides = row.add_sign == "any" or not still_open
    rejected = row.add_position == "after" and opinion["decision"] == "reject"
    if not (decides or rejected):
        _append_audit(session, instance, events)
        instance.updated_at = now
        flush_or_conflict(session)
        return Step(instance, [], None)
    close_open_siblings(session, parent.id, now)
    adder = session.get(User, row.added_by_id) if row.added_by_id else None
    if row.add_position == "after" and not rejected and adder is not None:
        wf, _ = load_workflow(session, ctx, instance, adder)
        events.append(PendingEvent("added_approvers_agreed", "system", {"task": parent.name},
                                   task_guid=parent.task_guid, bpmn_id=parent.bpmn_id))
        return apply_submission(session, ctx, instance, wf, parent, ready_task(wf, parent), adder,
                                parent.pending_data or {}, from_status=HELD, events=events)
    # The owner decides again: before-opinions are in, or an after-approver disagreed.
    if rejected and adder is not None and parent.pending_data:
        save_draft_for(session, parent.id, adder.id, parent.pending_data, now)
    parent.status, parent.pending_data = OPEN, None
    notify_users(session, owners_of(session, parent), kind="added_answered",
                 title=f"加签意见已返回：{parent.name}", body=opinion.get("comment", "") or instance.title,
                 instance_id=instance.id, task_id=parent.id)
    _append_audit(session, instance, events)
    instance.updated_at = now
    flush_or_conflict(session)
    return Step(instance, [], None)
