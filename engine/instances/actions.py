"""The approval actions around a task besides completing it: claim, transfer (转交), CC (抄送),
urge (催办), comments, drafts, read marks and batch approval. Each changes rows and appends its
audit event in the caller's transaction; the caller commits once. 加签 is in addsign.py and 退回
in sendback.py."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from engine.audit.service import PendingEvent
from engine.errors import BadRequest, Conflict, DomainError, Forbidden, TooManyRequests
from engine.instances import access
from engine.instances.models import (
    ADDED,
    CANCELLED,
    FINISHED_STATUSES,
    HELD,
    OPEN,
    Comment,
    HumanTask,
    InstanceCC,
    ProcessInstance,
    TaskCandidate,
    TaskDraft,
    TaskRead,
)
from engine.instances.runner import EngineContext
from engine.instances.service import (
    _append_audit,
    actionable,
    complete_task,
    flush_or_conflict,
    get_human_task,
    get_instance,
)
from engine.instances.sla import notify as notify_users
from engine.instances.sla import owners_of
from engine.org.models import User
from forms.dialects import AttachmentNotFound

URGE_INTERVAL = dt.timedelta(minutes=30)
MAX_DRAFT_BYTES = 256 * 1024
MAX_COMMENT = 4000
MAX_PEOPLE = 50


def active_users(session: Session, usernames: list[str], *, field: str) -> list[User]:
    """Users by name, each active and able to act (not an auditor); 400 names the first unknown one."""
    wanted = list(dict.fromkeys(str(u).strip() for u in usernames))
    found = {u.username: u for u in session.execute(select(User).where(User.username.in_(wanted))).scalars()}
    for name in wanted:
        user = found.get(name)
        if user is None or not user.is_active:
            raise BadRequest(f"unknown or inactive user '{name}'", {"field": field, "value": name})
        if user.has_role("auditor") and not user.has_role("admin"):
            raise BadRequest(f"'{name}' is an auditor and cannot take part in requests", {"field": field, "value": name})
    return [found[n] for n in wanted]


def _audit(session: Session, instance: ProcessInstance, actor: User, kind: str, data: dict[str, Any],
           row: HumanTask | None, now: dt.datetime) -> None:
    _append_audit(session, instance, [PendingEvent(kind, actor.username, data, task_guid=row.task_guid if row else None,
                                                   bpmn_id=row.bpmn_id if row else None)])
    instance.updated_at = now
    flush_or_conflict(session)


def _has_groups(session: Session, row: HumanTask) -> bool:
    return session.execute(select(TaskCandidate.task_id).where(
        TaskCandidate.task_id == row.id, TaskCandidate.principal.like("group:%")).limit(1)).first() is not None


def claim(session: Session, ctx: EngineContext, *, task_id: int, actor: User) -> HumanTask:
    row, instance = actionable(session, actor, task_id)
    if row.assignee_id is not None or not _has_groups(session, row):
        raise Conflict(f"task {task_id} is not waiting to be claimed")
    now = ctx.clock()
    done = session.execute(update(HumanTask).where(HumanTask.id == row.id, HumanTask.assignee_id.is_(None),
                                                   HumanTask.status == OPEN)
                           .values(assignee_id=actor.id, claimed=True).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"task {task_id} was claimed by someone else")
    session.refresh(row)
    _audit(session, instance, actor, "task_claimed", {"task": row.name}, row, now)
    return row


def unclaim(session: Session, ctx: EngineContext, *, task_id: int, actor: User) -> HumanTask:
    row, instance = actionable(session, actor, task_id)
    if not row.claimed or row.assignee_id != actor.id:
        raise Conflict(f"task {task_id} is not claimed by you")
    row.assignee_id, row.claimed = None, False
    _audit(session, instance, actor, "task_unclaimed", {"task": row.name}, row, ctx.clock())
    return row


def transfer(session: Session, ctx: EngineContext, *, task_id: int, actor: User, to: str, comment: str = "") -> HumanTask:
    """转交: the task belongs to `to` alone from now on. Admins may transfer any open task (someone left)."""
    row, instance = get_human_task(session, actor, task_id)
    if not actor.has_role("admin"):
        row, instance = actionable(session, actor, task_id)
    elif row.status != OPEN:
        raise Conflict(f"task {task_id} is {row.status}")
    (target,) = active_users(session, [to], field="to")
    if target.id == actor.id or row.assignee_id == target.id:
        raise BadRequest(f"the task already belongs to '{to}'", {"field": "to"})
    previous = [u.username for u in owners_of(session, row)]
    session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == row.id))
    session.add(TaskCandidate(task_id=row.id, principal=f"user:{target.id}", any_region=True))
    row.assignee_id, row.claimed = target.id, False
    notify_users(session, [target], kind="task_transferred", title=f"转交给您：{row.name}",
                 body=f"{actor.display_name or actor.username}：{comment}" if comment else instance.title,
                 instance_id=instance.id, task_id=row.id)
    _audit(session, instance, actor, "task_transferred",
           {"task": row.name, "from": previous, "to": target.username, "comment": comment}, row, ctx.clock())
    return row


class Involvement(NamedTuple):
    """How a user stands in a request, as `took_part`, `may_involve_others` and
    `instance_actions` need it: privileged (the initiator or an admin) or read in one query."""

    privileged: bool
    completed_a_step: bool
    has_open: bool  # the request has open tasks
    mine_open: bool  # one of them is the user's
    mine_live: bool  # an open or on-hold task is the user's

    @classmethod
    def of_tasks(cls, user: User, instance: ProcessInstance, tasks: list[Any]) -> Involvement:
        """The same from the request's task rows in hand, each with a `mine` column (`access.mine`)."""
        return cls(user.id == instance.initiator_id or user.has_role("admin"),
                   any(t.completed_by_id == user.id for t in tasks),
                   any(t.status == OPEN for t in tasks),
                   any(t.status == OPEN and t.mine for t in tasks),
                   any(t.status in (OPEN, HELD) and t.mine for t in tasks))


def involvement(session: Session, user: User, instance: ProcessInstance) -> Involvement:
    ht, mine = HumanTask, access.mine(user)
    of = ht.instance_id == instance.id
    row = session.execute(select(
        exists().where(of, ht.completed_by_id == user.id),
        exists().where(of, ht.status == OPEN),
        exists().where(of, ht.status == OPEN, mine),
        exists().where(of, ht.status.in_((OPEN, HELD)), mine),
    )).one()
    privileged = user.id == instance.initiator_id or user.has_role("admin")
    return Involvement(privileged, *(bool(v) for v in row))


def may_involve_others(session: Session, actor: User, instance: ProcessInstance) -> bool:
    """The initiator, an admin, or someone who may act on an open task of the request."""
    if actor.id == instance.initiator_id or actor.has_role("admin"):
        return True
    return involvement(session, actor, instance).mine_live


def took_part(session: Session, user: User, instance: ProcessInstance) -> bool:
    """The initiator, an admin, or someone who completed a step: who may urge (催办). People CC'd
    or merely able to read the request follow it; they do not push it."""
    if user.id == instance.initiator_id or user.has_role("admin"):
        return True
    return involvement(session, user, instance).completed_a_step


def instance_actions(session: Session, user: User, instance: ProcessInstance,
                     known: Involvement | None = None) -> list[str]:
    """What the user may do with the request as a whole (the task page lists a task's own).
    `known`: the user's involvement when the caller has the request's tasks in hand."""
    if user.has_role("auditor") and not user.has_role("admin"):
        return []
    running = instance.status not in FINISHED_STATUSES
    if not running and (user.id == instance.initiator_id or user.has_role("admin")):
        return ["cc", "comment"]  # nothing to withdraw or urge; no query needed
    i = known or involvement(session, user, instance)
    out = []
    if running and user.id == instance.initiator_id:
        out.append("withdraw")
    if running and (i.privileged or i.completed_a_step) and i.has_open and not i.mine_open:
        out.append("urge")
    if i.privileged or i.mine_live:
        out.append("cc")
    return [*out, "comment"]


def cc(session: Session, ctx: EngineContext, *, instance_id: int, actor: User, usernames: list[str],
       comment: str = "", task_id: int | None = None) -> list[str]:
    """抄送: the people may read the request from now on (read-only) and find it in their CC tab."""
    instance = get_instance(session, actor, instance_id)
    if not may_involve_others(session, actor, instance):
        raise Forbidden("only the initiator or a current approver may CC others")
    if not usernames or len(usernames) > MAX_PEOPLE:
        raise BadRequest(f"name 1 to {MAX_PEOPLE} people", {"field": "users"})
    people = active_users(session, usernames, field="users")
    now = ctx.clock()
    existing = set(session.execute(select(InstanceCC.user_id).where(InstanceCC.instance_id == instance.id)).scalars())
    added = [u for u in people if u.id not in existing]
    for u in added:
        session.add(InstanceCC(instance_id=instance.id, user_id=u.id, by_id=actor.id, task_id=task_id,
                               comment=comment, created_at=now))
    notify_users(session, added, kind="cc", title=f"抄送：{instance.title}",
                 body=f"{actor.display_name or actor.username}：{comment}" if comment else "", instance_id=instance.id)
    row = session.get(HumanTask, task_id) if task_id else None
    _audit(session, instance, actor, "instance_cc", {"users": [u.username for u in people], "comment": comment},
           row, now)
    return [u.username for u in people]


def cc_task(session: Session, ctx: EngineContext, *, task_id: int, actor: User, usernames: list[str],
            comment: str = "") -> list[str]:
    row, instance = get_human_task(session, actor, task_id)
    return cc(session, ctx, instance_id=instance.id, actor=actor, usernames=usernames, comment=comment, task_id=row.id)


@dataclass
class Urged:
    notified: list[str]
    tasks: list[int]


def urge(session: Session, ctx: EngineContext, *, actor: User, instance_id: int, task_id: int | None = None,
         comment: str = "") -> Urged:
    """催办: notify the current approvers of one open task (or of all of the request's); at most
    once per task per URGE_INTERVAL, else 429 with the seconds to wait."""
    if actor.has_role("auditor") and not actor.has_role("admin"):
        raise Forbidden("auditors do not take part in requests")
    instance = get_instance(session, actor, instance_id)
    if instance.status in FINISHED_STATUSES:
        raise Conflict(f"the request is already {instance.status}")
    q = select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == OPEN)
    if task_id is not None:
        q = q.where(HumanTask.id == task_id)
    rows = list(session.execute(q.order_by(HumanTask.id)).scalars())
    if not rows:
        raise Conflict("nobody to urge: no open task")
    if any(access.is_candidate(session, actor, r) for r in rows):
        raise Forbidden("you cannot urge yourself")
    if not took_part(session, actor, instance):
        raise Forbidden("only the initiator or someone who took part in the request may urge")
    now = ctx.clock()
    waits = [r.last_urged_at + URGE_INTERVAL - now for r in rows
             if r.last_urged_at is not None and r.last_urged_at + URGE_INTERVAL > now]
    if waits:
        seconds = int(max(waits).total_seconds()) + 1
        raise TooManyRequests(f"already urged; try again in {seconds // 60 + 1} minutes", retry_after=seconds)
    notified: dict[int, User] = {}
    for r in rows:
        owners = owners_of(session, r)
        notified.update({u.id: u for u in owners})
        notify_users(session, owners, kind="urge", title=f"催办：{r.name}",
                     body=f"{actor.display_name or actor.username}：{comment or instance.title}",
                     instance_id=instance.id, task_id=r.id)
        r.last_urged_at = now
    names = sorted(u.username for u in notified.values())
    _append_audit(session, instance, [PendingEvent("task_urged", actor.username, {
        "task": ", ".join(r.name for r in rows), "comment": comment, "notified": names})])
    instance.updated_at = now
    flush_or_conflict(session)
    return Urged(names, [r.id for r in rows])


def add_comment(session: Session, ctx: EngineContext, *, instance_id: int, actor: User, body: str,
                attachments: list[str] | None = None, task_id: int | None = None) -> Comment:
    from engine.attachments.service import attachment_checker, link_attachments

    if actor.has_role("auditor") and not actor.has_role("admin"):
        raise Forbidden("auditors do not take part in requests")
    instance = get_instance(session, actor, instance_id)
    body = (body or "").strip()
    if not body or len(body) > MAX_COMMENT:
        raise BadRequest(f"a comment needs 1 to {MAX_COMMENT} characters", {"field": "body"})
    refs = list(dict.fromkeys(attachments or []))
    may_use = attachment_checker(session, actor)
    for ref in refs:
        try:
            usable = may_use(ref)
        except AttachmentNotFound:
            usable = False
        if not usable:
            raise BadRequest(f"attachment '{ref}' does not exist or is not yours", {"field": "attachments", "value": ref})
    now = ctx.clock()
    row = session.get(HumanTask, task_id) if task_id else None
    comment = Comment(instance_id=instance.id, task_id=task_id, author_id=actor.id, body=body, attachments=refs,
                      created_at=now)
    session.add(comment)
    link_attachments(session, instance.id, set(refs))
    initiator = session.get(User, instance.initiator_id)
    if initiator is not None and initiator.id != actor.id:
        notify_users(session, [initiator], kind="comment", title=f"新评论：{instance.title}", body=body[:200],
                     instance_id=instance.id, task_id=task_id)
    _audit(session, instance, actor, "comment_added",
           {"body": body, "attachments": refs, "task": row.name if row else None}, row, now)
    return comment


def comment_on_task(session: Session, ctx: EngineContext, *, task_id: int, actor: User, body: str,
                    attachments: list[str] | None = None) -> Comment:
    row, instance = get_human_task(session, actor, task_id)
    return add_comment(session, ctx, instance_id=instance.id, actor=actor, body=body, attachments=attachments,
                       task_id=row.id)


def list_comments(session: Session, actor: User, instance_id: int) -> list[tuple[Comment, User, str | None]]:
    instance = get_instance(session, actor, instance_id)
    return [(c, u, name) for c, u, name in session.execute(
        select(Comment, User, HumanTask.name).join(User, User.id == Comment.author_id)
        .outerjoin(HumanTask, HumanTask.id == Comment.task_id)
        .where(Comment.instance_id == instance.id).order_by(Comment.id)).all()]


def save_draft_for(session: Session, task_id: int, user_id: int, data: dict[str, Any], now: dt.datetime) -> TaskDraft:
    draft = session.get(TaskDraft, (task_id, user_id))
    if draft is None:
        draft = TaskDraft(task_id=task_id, user_id=user_id, data=data, saved_at=now)
        session.add(draft)
    else:
        draft.data, draft.saved_at = data, now
    return draft


def save_draft(session: Session, ctx: EngineContext, *, task_id: int, actor: User, data: Any) -> TaskDraft:
    """Keep a form without submitting it (not validated; the submission will be)."""
    from forms import json_dumps

    actionable(session, actor, task_id)
    if not isinstance(data, dict):
        raise BadRequest("data must be a JSON object", {"field": "data"})
    if len(json_dumps(data).encode()) > MAX_DRAFT_BYTES:
        raise BadRequest(f"a draft may hold at most {MAX_DRAFT_BYTES // 1024} KB", {"field": "data"})
    draft = save_draft_for(session, task_id, actor.id, data, ctx.clock())
    session.flush()
    return draft


def draft_of(session: Session, task_id: int, user: User) -> TaskDraft | None:
    return session.get(TaskDraft, (task_id, user.id))


def mark_read(session: Session, task_id: int, user: User, now: dt.datetime) -> None:
    if session.get(TaskRead, (task_id, user.id)) is None:
        session.add(TaskRead(task_id=task_id, user_id=user.id, read_at=now))
        session.flush()


def read_task_ids(session: Session, user: User, task_ids: list[int]) -> set[int]:
    if not task_ids:
        return set()
    return set(session.execute(select(TaskRead.task_id).where(TaskRead.user_id == user.id,
                                                              TaskRead.task_id.in_(task_ids))).scalars())


def mark_cc_read(session: Session, instance_id: int, user: User, now: dt.datetime) -> None:
    session.execute(update(InstanceCC).where(InstanceCC.instance_id == instance_id, InstanceCC.user_id == user.id,
                                             InstanceCC.read_at.is_(None)).values(read_at=now))


def close_open_siblings(session: Session, parent_id: int, now: dt.datetime) -> None:
    session.execute(update(HumanTask).where(HumanTask.parent_id == parent_id, HumanTask.status == OPEN)
                    .values(status=CANCELLED, completed_at=now).execution_options(synchronize_session=False))


@dataclass
class BatchResult:
    task_id: int
    ok: bool
    status: int
    error: dict[str, Any] | None = None


def batch_approve(session: Session, ctx: EngineContext, *, actor: User, task_ids: list[int],
                  comment: str = "") -> list[BatchResult]:
    """批量同意: each task whose form needs no input beyond "approve", each in its own savepoint:
    one failure does not undo the others."""
    if actor.has_role("auditor") and not actor.has_role("admin"):
        raise Forbidden("auditors do not take part in requests")
    if not task_ids or len(task_ids) > 100:
        raise BadRequest("name 1 to 100 tasks", {"field": "task_ids"})
    results: list[BatchResult] = []
    for tid in dict.fromkeys(task_ids):
        try:
            with session.begin_nested():
                row, _ = actionable(session, actor, tid)
                if row.approve_data is None or row.kind == ADDED:
                    raise Conflict(f"task {tid} needs input: open it to decide")
                complete_task(session, ctx, task_id=tid, actor=actor, data=dict(row.approve_data))
            results.append(BatchResult(tid, True, 200))
        except DomainError as exc:
            results.append(BatchResult(tid, False, exc.status, {"code": exc.code, "message": str(exc)}))
    if comment:
        done = [r.task_id for r in results if r.ok]
        for tid in done:
            closed = session.get(HumanTask, tid)
            if closed is not None:
                add_comment(session, ctx, instance_id=closed.instance_id, actor=actor, body=comment, task_id=tid)
    return results


def counts(session: Session, user: User) -> dict[str, int]:
    from engine.instances.inbox import list_tasks
    from engine.instances.sla import unread_count

    started = session.execute(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.initiator_id == user.id, ProcessInstance.status.not_in(FINISHED_STATUSES))).scalar_one()
    cc_unread = session.execute(select(func.count()).select_from(InstanceCC).where(
        InstanceCC.user_id == user.id, InstanceCC.read_at.is_(None))).scalar_one()
    return {
        "mine": list_tasks(session, user, scope="mine", per_page=1).total,
        "group": list_tasks(session, user, scope="group", per_page=1).total,
        "cc_unread": cc_unread, "started_open": started, "notifications_unread": unread_count(session, user),
    }
