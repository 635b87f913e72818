from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select

from api.auth import login_required, require_user
from api.background import enqueue
from api.blueprint import Blueprint
from api.db import db
from api.schemas import (
    AddApproverIn,
    BatchApproveIn,
    BatchApproveOut,
    CcIn,
    CcOut,
    CommentIn,
    CommentOut,
    CompleteIn,
    DraftIn,
    DraftOut,
    InboxCountsOut,
    InstanceDetailOut,
    SendBackIn,
    SendBackTargetOut,
    TaskDetailOut,
    TaskListArgs,
    TaskOut,
    TransferIn,
    UrgeIn,
    UrgeOut,
    page_schema,
)
from api.views.common import (
    comment_dict,
    engine_ctx,
    metadata_args,
    model_id_from_path,
    moment_arg,
    task_rows_to_dicts,
)
from api.views.instances import detail
from engine.deploy.models import ModelVersion
from engine.instances import access, actions, addsign, sendback, service
from engine.instances.inbox import candidates_of, list_tasks
from engine.instances.models import FINISHED_STATUSES, HELD, OPEN, TASK, HumanTask, ProcessInstance

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="Human tasks: the inbox")


@blp.route("/tasks")
@login_required
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, page_schema(TaskOut, "TaskPage"))
def list_view(args: dict[str, Any]) -> dict[str, Any]:
    """scope=mine (assigned or named to me), group (claimable by my groups), all (everything I may read);
    metadata (exact), metadata_min / metadata_max (numeric ranges, as the request search);
    sla=on_track|due_soon|breached|none (comma separated for several), due_from / due_to."""
    session = db()
    page = list_tasks(
        session, require_user(), scope=args["scope"], status=args["status"],
        instance_id=args.get("process_instance_id"), q=args.get("q"), region=args.get("region"),
        model_id=model_id_from_path(args["process"]) if args.get("process") else None,
        **metadata_args(args), sort=args["sort"], page=args["page"],
        per_page=args["per_page"], sla=args.get("sla"),
        due_from=moment_arg(args.get("due_from"), "due_from", end=False),
        due_to=moment_arg(args.get("due_to"), "due_to", end=True), now=engine_ctx().clock(),
    )
    return {"items": task_rows_to_dicts(session, [tuple(r) for r in page.items]), "total": page.total,
            "page": page.page, "per_page": page.per_page}


def _allowed_actions(session: Any, user: Any, row: Any, instance: Any, task: Any) -> list[str]:
    """What the caller may do with the task now (the UI shows exactly these)."""
    from engine.instances.sendback import earlier_steps

    acts_at_all = not (user.has_role("auditor") and not user.has_role("admin"))
    candidate = row.status in (OPEN, HELD) and access.is_candidate(session, user, row)
    out: list[str] = []
    if row.status == OPEN and candidate:
        out += ["complete", "save-draft", "transfer", "cc"]
        if row.kind == TASK:
            out.append("add-approver")
            if task is not None and earlier_steps(task):
                out.append("send-back")
        if row.claimed and row.assignee_id == user.id:
            out.append("unclaim")
        if row.assignee_id is None and any(p.startswith("group:") for p in candidates_of(session, [row.id])[row.id]):
            out.append("claim")
    elif row.status == HELD and candidate:
        out.append("cc")
    if row.status == OPEN and not candidate:
        if user.has_role("admin"):
            out.append("transfer")
        if acts_at_all and instance.status not in FINISHED_STATUSES and actions.took_part(session, user, instance):
            out.append("urge")
        if user.id == instance.initiator_id or user.has_role("admin"):
            out.append("cc")
    if acts_at_all:
        out.append("comment")
    return list(dict.fromkeys(out))


@blp.route("/tasks/<int:task_id>")
@login_required
@blp.response(200, TaskDetailOut)
def get_one(task_id: int) -> dict[str, Any]:
    """A task with its form (schema, UI schema), data, instructions, the caller's draft and what
    the caller may do (`allowed_actions`). Opening it clears its unread mark."""
    session = db()
    user = require_user()
    row, instance = service.get_human_task(session, user, task_id)
    wf, parsed = service.load_workflow(session, engine_ctx(), instance, user)
    version = session.get(ModelVersion, instance.version_id)
    hidden = access.hidden_fields(user, version.meta if version else {})
    form = service.task_form(session, engine_ctx(), row, instance, wf, parsed, hidden)
    task = wf.get_task_from_id(UUID(row.task_guid)) if row.status == OPEN and row.kind == TASK else None
    allowed = _allowed_actions(session, user, row, instance, task)
    actions.mark_read(session, row.id, user, engine_ctx().clock())
    session.commit()
    out = task_rows_to_dicts(session, [(row, instance)])[0]
    out["form"] = {"schema": form["schema"], "ui_schema": form["ui_schema"]}
    out["data"] = access.redact(form["data"], hidden)
    out["instructions"] = form["instructions"]
    out["allowed_actions"] = allowed
    draft = actions.draft_of(session, row.id, user)
    out["draft"] = {"data": draft.data, "saved_at": draft.saved_at} if draft else None
    added = session.execute(select(HumanTask, ProcessInstance).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                            .where(HumanTask.parent_id == row.id).order_by(HumanTask.id)).all()
    out["added_approvers"] = task_rows_to_dicts(session, [(t, i) for t, i in added])
    return out


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@login_required
@blp.arguments(CompleteIn)
@blp.response(200, InstanceDetailOut)
def complete(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    """Submit the task's form. 422 names each invalid field; 409 if already done or a lost race."""
    session = db()
    step = service.complete_task(session, engine_ctx(), task_id=task_id, actor=require_user(), data=body["data"])
    session.commit()
    if step.instance.status == "complete":
        enqueue("worker.render_record", step.instance.id)
    return detail(step.instance, step.data)


def _task_out(task_id: int) -> dict[str, Any]:
    session = db()
    row, instance = service.get_human_task(session, require_user(), task_id)
    return task_rows_to_dicts(session, [(row, instance)])[0]


@blp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
@blp.response(200, TaskOut)
def claim(task_id: int) -> dict[str, Any]:
    """认领: a task offered to my groups becomes mine; 409 if someone claimed it first."""
    actions.claim(db(), engine_ctx(), task_id=task_id, actor=require_user())
    db().commit()
    return _task_out(task_id)


@blp.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
@login_required
@blp.response(200, TaskOut)
def unclaim(task_id: int) -> dict[str, Any]:
    """释放: give a claimed task back to its groups."""
    actions.unclaim(db(), engine_ctx(), task_id=task_id, actor=require_user())
    db().commit()
    return _task_out(task_id)


@blp.route("/tasks/<int:task_id>/transfer", methods=["POST"])
@login_required
@blp.arguments(TransferIn)
@blp.response(200, TaskOut)
def transfer(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    """转交: the task belongs to `to` alone from now on (admins may transfer any open task)."""
    actions.transfer(db(), engine_ctx(), task_id=task_id, actor=require_user(), to=body["to"], comment=body["comment"])
    db().commit()
    return _task_out(task_id)


@blp.route("/tasks/<int:task_id>/add-approver", methods=["POST"])
@login_required
@blp.arguments(AddApproverIn)
@blp.response(200, TaskOut)
def add_approver(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    """加签: before me (their opinions first) or after me (`data` is my submission, applied once
    they agree), all of them (会签) or any one (或签). See docs/task-actions.md."""
    addsign.add_approvers(db(), engine_ctx(), task_id=task_id, actor=require_user(), usernames=body["users"],
                          position=body["position"], sign=body["sign"], comment=body["comment"], data=body["data"])
    db().commit()
    return _task_out(task_id)


@blp.route("/tasks/<int:task_id>/send-back-targets")
@login_required
@blp.response(200, SendBackTargetOut(many=True))
def send_back_targets(task_id: int) -> list[dict[str, Any]]:
    """The earlier user steps on the path to this task, nearest first: where 退回 may send it."""
    return sendback.targets(db(), engine_ctx(), task_id=task_id, actor=require_user())


@blp.route("/tasks/<int:task_id>/send-back", methods=["POST"])
@login_required
@blp.arguments(SendBackIn)
@blp.response(200, InstanceDetailOut)
def send_back(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    """退回: the token moves back to an earlier step, which opens again for whoever did it."""
    step = sendback.send_back(db(), engine_ctx(), task_id=task_id, actor=require_user(), to=body["to"],
                              comment=body["comment"])
    db().commit()
    return detail(step.instance, step.data)


@blp.route("/tasks/<int:task_id>/cc", methods=["POST"])
@login_required
@blp.arguments(CcIn)
@blp.response(200, CcOut)
def cc(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    """抄送: the people may read the request (read-only) and find it in their CC tab."""
    users = actions.cc_task(db(), engine_ctx(), task_id=task_id, actor=require_user(), usernames=body["users"],
                            comment=body["comment"])
    db().commit()
    return {"users": users}


@blp.route("/tasks/<int:task_id>/urge", methods=["POST"])
@login_required
@blp.arguments(UrgeIn)
@blp.response(200, UrgeOut)
def urge(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    """催办: remind the task's approvers; once per task per 30 minutes (429 with Retry-After)."""
    session = db()
    row, instance = service.get_human_task(session, require_user(), task_id)
    urged = actions.urge(session, engine_ctx(), actor=require_user(), instance_id=instance.id, task_id=row.id,
                         comment=body["comment"])
    session.commit()
    return {"notified": urged.notified, "tasks": urged.tasks}


@blp.route("/tasks/<int:task_id>/comment", methods=["POST"])
@login_required
@blp.arguments(CommentIn)
@blp.response(201, CommentOut)
def comment(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    """A comment on the request from this task, with optional attachments (sha256 refs)."""
    user = require_user()
    c = actions.comment_on_task(db(), engine_ctx(), task_id=task_id, actor=user, body=body["body"],
                                attachments=body["attachments"])
    db().commit()
    return comment_dict(c, user, db().get(HumanTask, task_id))


@blp.route("/tasks/<int:task_id>/draft", methods=["PUT"])
@login_required
@blp.arguments(DraftIn)
@blp.response(200, DraftOut)
def save_draft(body: dict[str, Any], task_id: int) -> dict[str, Any]:
    """保存草稿: keep the form without submitting it (not validated; per user)."""
    draft = actions.save_draft(db(), engine_ctx(), task_id=task_id, actor=require_user(), data=body["data"])
    db().commit()
    return {"data": draft.data, "saved_at": draft.saved_at}


@blp.route("/tasks/batch-approve", methods=["POST"])
@login_required
@blp.arguments(BatchApproveIn)
@blp.response(200, BatchApproveOut)
def batch_approve(body: dict[str, Any]) -> dict[str, Any]:
    """批量同意: approve every listed task whose form needs no input; each succeeds or fails alone."""
    session = db()
    results = actions.batch_approve(session, engine_ctx(), actor=require_user(), task_ids=body["task_ids"],
                                    comment=body["comment"])
    session.commit()
    finished = {i.id for i in session.execute(select(ProcessInstance).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
                                              .where(HumanTask.id.in_([r.task_id for r in results if r.ok]),
                                                     ProcessInstance.status == "complete")).scalars()}
    for instance_id in finished:
        enqueue("worker.render_record", instance_id)
    return {"results": [vars(r) for r in results]}


@blp.route("/inbox/counts")
@login_required
@blp.response(200, InboxCountsOut)
def counts() -> dict[str, int]:
    """The numbers on the inbox tabs and the notification bell."""
    return actions.counts(db(), require_user())
