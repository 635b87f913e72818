"""退回 (send back): move the token back to an earlier user step on the path that led to a task.

SpiffWorkflow resets the tree below the target (`reset_from_task_id`); the target opens again
for the person who completed it, with the request's current data (so the reviewer's remarks are
there to read). History stays in the audit log; compaction keeps the latest occurrence of every
user step on the path (see compaction.py), so every earlier step remains a valid target."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine.audit.service import PendingEvent
from engine.errors import BadRequest, Conflict
from engine.instances.models import ADDED, DONE, OPEN, HumanTask, Notification, TaskCandidate
from engine.instances.runner import EngineContext, run_engine
from engine.instances.service import Step, _finish_step, actionable, load_workflow, ready_task, version_meta
from engine.org.models import User


def path_to(task: Any) -> Iterator[Any]:
    """The tasks that led to `task`, nearest first, continuing into the calling process when the
    task runs in a call activity or subprocess."""
    node = task
    while node is not None:
        t = node.parent
        last = node
        while t is not None:
            yield t
            last, t = t, t.parent
        parent_id = getattr(last.workflow, "parent_task_id", None)
        if parent_id is None:
            return
        node = last.workflow.top_workflow.get_task_from_id(parent_id)
        if node is not None:
            yield node


def _is_user_step(task: Any) -> bool:
    return bool(getattr(task.task_spec, "manual", False)) and task.has_state(TaskState.COMPLETED)


def earlier_steps(task: Any) -> list[Any]:
    seen: set[str] = {task.task_spec.bpmn_id or task.task_spec.name}
    out = []
    for t in path_to(task):
        bpmn_id = t.task_spec.bpmn_id or t.task_spec.name
        if _is_user_step(t) and bpmn_id not in seen:
            seen.add(bpmn_id)
            out.append(t)
    return out


def _forget_removed_events(wf: Any) -> None:
    """SpiffWorkflow's reset drops tasks but leaves their waiting events (e.g. a boundary timer
    of a step that is gone) registered; refreshing timers would then touch orphans."""
    for task_id, task in list(wf.event_manager.tasks.items()):
        if task.workflow.tasks.get(task_id) is not task:
            wf.event_manager.remove_task(task)


def _done_rows(session: Session, instance_id: int, guids: list[str]) -> dict[str, HumanTask]:
    rows = session.execute(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.task_guid.in_(guids), HumanTask.status == DONE,
        HumanTask.kind != ADDED).order_by(HumanTask.id)).scalars()
    return {r.task_guid: r for r in rows}  # the latest completion of each


def targets(session: Session, ctx: EngineContext, *, task_id: int, actor: User) -> list[dict[str, Any]]:
    row, instance = actionable(session, actor, task_id)
    if row.kind == ADDED:
        return []
    wf, _ = load_workflow(session, ctx, instance, actor)
    steps = earlier_steps(ready_task(wf, row))
    done = _done_rows(session, instance.id, [str(t.id) for t in steps])
    names = dict(session.execute(select(User.id, User.username).where(
        User.id.in_({r.completed_by_id for r in done.values() if r.completed_by_id}))).all())
    out = []
    for t in steps:
        r = done.get(str(t.id))
        out.append({"bpmn_id": t.task_spec.bpmn_id or t.task_spec.name,
                    "name": t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                    "completed_by": names.get(r.completed_by_id) if r and r.completed_by_id else None,
                    "completed_at": r.completed_at if r else None})
    return out


def send_back(session: Session, ctx: EngineContext, *, task_id: int, actor: User, to: str, comment: str) -> Step:
    row, instance = actionable(session, actor, task_id)
    if row.kind == ADDED:
        raise BadRequest("an added approver gives an opinion; only the task's owner can send it back", {"field": "to"})
    comment = (comment or "").strip()
    if not comment:
        raise BadRequest("say why the request goes back (comment)", {"field": "comment"})
    wf, _ = load_workflow(session, ctx, instance, actor)
    task = ready_task(wf, row)
    target = next((t for t in earlier_steps(task) if (t.task_spec.bpmn_id or t.task_spec.name) == to), None)
    if target is None:
        raise BadRequest(f"'{to}' is not an earlier step on this task's path", {"field": "to", "value": to})
    previous = _done_rows(session, instance.id, [str(target.id)]).get(str(target.id))
    now = ctx.clock()
    closed = session.execute(update(HumanTask).where(HumanTask.id == row.id, HumanTask.status == OPEN).values(
        status=DONE, outcome="sent_back", completed_at=now, completed_by_id=actor.id,
    ).execution_options(synchronize_session=False))
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"task {task_id} was completed by someone else")
    current = copy.deepcopy(task.data)
    wf.reset_from_task_id(target.id, data=current)
    target.data = current  # the reset re-inherits the older parent data; the step sees today's
    _forget_removed_events(wf)
    failure = run_engine(wf)
    to_name = target.task_spec.bpmn_name or to
    events = [PendingEvent("task_sent_back", actor.username, {"task": row.name, "to": to, "to_name": to_name,
                                                              "comment": comment},
                           task_guid=row.task_guid, bpmn_id=row.bpmn_id)]
    step = _finish_step(session, instance, wf, version_meta(session, instance, wf), events, failure, actor.username,
                        completed_guid=row.task_guid, now=now)
    reopened = next((r for r in step.created_tasks if r.task_guid == str(target.id)), None)
    person = session.get(User, previous.completed_by_id) if previous and previous.completed_by_id else None
    if reopened is not None and person is not None and person.is_active:
        _give_to(session, reopened, person)
    return step


def _give_to(session: Session, row: HumanTask, person: User) -> None:
    """The reopened step goes back to whoever did it (its lane applies only if they left); the
    lane's "new task" notices, created a moment ago in this transaction, are replaced."""
    session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == row.id))
    session.execute(delete(Notification).where(Notification.task_id == row.id))
    session.add(TaskCandidate(task_id=row.id, principal=f"user:{person.id}", any_region=True))
    session.add(Notification(user_id=person.id, kind="task_sent_back", title=f"退回待办：{row.name}",
                             instance_id=row.instance_id, task_id=row.id))
    row.assignee_id = person.id
    session.flush()
