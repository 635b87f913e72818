from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from api.auth import login_required, require_user
from api.background import enqueue
from api.blueprint import Blueprint
from api.db import db
from api.schemas import (
    AuditEventOut,
    CcIn,
    CcItemOut,
    CcListArgs,
    CcOut,
    CommentIn,
    CommentOut,
    InstanceDetailOut,
    InstanceListArgs,
    InstanceOut,
    RetryIn,
    StartIn,
    UrgeIn,
    UrgeOut,
    WithdrawIn,
    page_schema,
)
from api.views.common import (
    comment_dict,
    engine_ctx,
    hidden_by_version,
    known_of,
    model_id_from_path,
    people_ids,
    search_from_args,
    task_item_columns,
    task_rows_to_dicts,
)
from engine.audit.models import AuditEvent
from engine.deploy.models import ModelVersion
from engine.instances import actions, service
from engine.instances.access import hidden_fields, redact
from engine.instances.inbox import list_cc, list_instances
from engine.instances.models import HumanTask, ProcessInstance
from engine.instances.runner import workflow_data
from engine.instances.state import load_state
from engine.org.models import User

blp = Blueprint("process_instances", __name__, url_prefix="/api/v1", description="Requests (process instances)")


def instance_dict(instance: ProcessInstance, initiator: str, version: int | None = None,
                  initiator_name: str | None = None) -> dict[str, Any]:
    return {
        "id": instance.id, "model_id": instance.model_id, "process_id": instance.process_id,
        "version": version, "title": instance.title, "status": instance.status, "initiator": initiator,
        "initiator_name": initiator_name or initiator,
        "region": instance.region, "meta": instance.meta or {}, "error": instance.error,
        "created_at": instance.created_at, "updated_at": instance.updated_at, "completed_at": instance.completed_at,
    }


def _events(instance: ProcessInstance) -> list[Any]:
    a = AuditEvent.__table__.c
    return list(db().execute(select(a.seq, a.at, a.actor, a.type, a.task_guid, a.bpmn_id, a.data, a.prev_hash, a.hash)
                             .where(a.chain == f"instance:{instance.id}").order_by(a.seq)).all())


def _names(ids: set[int | None], usernames: set[str]) -> tuple[dict[int, tuple[str, str]], dict[str, str]]:
    """(id -> (username, display name), username -> display name) of the people named, in one query."""
    u = User.__table__.c
    wanted = {i for i in ids if i is not None}
    if not wanted and not usernames:
        return {}, {}
    rows = db().execute(select(u.id, u.username, u.display_name)
                        .where(or_(u.id.in_(wanted), u.username.in_(usernames)))).all()
    return ({i: (name, display or name) for i, name, display in rows},
            {name: display or name for _, name, display in rows})


def _timeline(events: list[Any], names: dict[str, str], hidden: set[str]) -> list[dict[str, Any]]:
    """The request's audit events with the actors' names. Data keys the caller may not see are
    left out (the stored events are untouched: their hashes cover the full data)."""
    return [{"seq": e.seq, "at": e.at, "actor": e.actor, "actor_name": names.get(e.actor, e.actor),
             "type": e.type, "task_guid": e.task_guid,
             "bpmn_id": e.bpmn_id, "data": redact(e.data, hidden), "prev_hash": e.prev_hash, "hash": e.hash}
            for e in events]


def detail(instance: ProcessInstance, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request as the caller may see it; `data` when the caller has it in hand (a step just
    made), else read from the saved state. Three queries: its tasks (with candidates, read marks
    and whether each is the caller's), its audit events, and the names of everyone they mention."""
    session, user = db(), require_user()
    parsed = service.parsed_version(session, engine_ctx(), instance.version_id)  # cached: versions never change
    hidden = hidden_fields(user, parsed.meta or {})
    tasks = list(session.execute(select(*task_item_columns(user)).where(HumanTask.__table__.c.instance_id == instance.id)
                                 .order_by(HumanTask.__table__.c.id)).all())
    events = _events(instance)
    known = known_of(tasks)
    by_id, by_username = _names(people_ids(tasks, known[0]) | {instance.initiator_id},
                                {e.actor for e in events if e.actor})
    initiator, initiator_name = by_id.get(instance.initiator_id, ("", ""))
    out = instance_dict(instance, initiator, parsed.number, initiator_name)
    out["meta"] = redact(out["meta"], hidden)
    out["tasks"] = task_rows_to_dicts(session, [(t, instance) for t in tasks], known=known, names=by_id)
    if data is None:
        data = workflow_data(load_state(instance.state, parsed, None))
    out["data"] = redact(data, hidden)
    out["timeline"] = _timeline(events, by_username, hidden)
    out["allowed_actions"] = actions.instance_actions(session, user, instance,
                                                      actions.Involvement.of_tasks(user, instance, tasks))
    return out


@blp.route("/process-instances", methods=["POST"])
@login_required
@blp.arguments(StartIn)
@blp.response(201, InstanceDetailOut)
def start(body: dict[str, Any]) -> dict[str, Any]:
    """Start a request on the newest version of a model; `data` is optional initial data."""
    session = db()
    step = service.start_instance(session, engine_ctx(), model_id=model_id_from_path(body["process_model_id"]),
                                  actor=require_user(), data=body.get("data"))
    session.commit()
    return detail(step.instance, step.data)


@blp.route("/process-instances")
@login_required
@blp.arguments(InstanceListArgs, location="query")
@blp.response(200, page_schema(InstanceOut, "InstancePage"))
def list_view(args: dict[str, Any]) -> dict[str, Any]:
    """Requests the caller may see, searched by status (comma list), process, region, initiator,
    participant, metadata (exact or numeric ranges), creation dates and text."""
    page = list_instances(db(), require_user(), search=search_from_args(args), sort=args["sort"], page=args["page"],
                          per_page=args["per_page"])
    hidden = hidden_by_version(db(), require_user(), {i.version_id for i, _, _ in page.items})
    items = [instance_dict(i, u, initiator_name=name) for i, u, name in page.items]
    for item, (inst, _, _) in zip(items, page.items, strict=True):
        item["meta"] = redact(item["meta"], hidden.get(inst.version_id, set()))
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page}


@blp.route("/process-instances/<int:instance_id>")
@login_required
@blp.response(200, InstanceDetailOut)
def get_one(instance_id: int) -> dict[str, Any]:
    """Status, data, tasks and timeline of one request (opening it clears its CC unread mark)."""
    session = db()
    instance = service.get_instance(session, require_user(), instance_id)
    actions.mark_cc_read(session, instance.id, require_user(), engine_ctx().clock())
    session.commit()
    return detail(instance)


@blp.route("/process-instances/<int:instance_id>/withdraw", methods=["POST"])
@login_required
@blp.arguments(WithdrawIn)
@blp.response(200, InstanceDetailOut)
def withdraw(body: dict[str, Any], instance_id: int) -> dict[str, Any]:
    """The initiator withdraws (撤回) a request that is not finished."""
    session = db()
    step = service.withdraw(session, engine_ctx(), instance_id=instance_id, actor=require_user(), reason=body["reason"])
    session.commit()
    enqueue("worker.render_record", step.instance.id)
    return detail(step.instance, step.data)


@blp.route("/process-instances/<int:instance_id>/retry", methods=["POST"])
@login_required
@blp.arguments(RetryIn)
@blp.response(200, InstanceDetailOut)
def retry(body: dict[str, Any], instance_id: int) -> dict[str, Any]:
    """An administrator re-runs a request in `error` after fixing its cause: optionally with
    corrected data, or moved onto the newest version of its model."""
    session = db()
    step = service.retry(session, engine_ctx(), instance_id=instance_id, actor=require_user(),
                         data=body["data"], to_latest_version=body["to_latest_version"])
    session.commit()
    return detail(step.instance, step.data)


@blp.route("/process-instances/<int:instance_id>/audit")
@login_required
@blp.response(200, AuditEventOut(many=True))
def audit(instance_id: int) -> list[dict[str, Any]]:
    """The request's hash-chained audit events, oldest first."""
    instance = service.get_instance(db(), require_user(), instance_id)
    version = db().get(ModelVersion, instance.version_id)
    events = _events(instance)
    names = _names(set(), {e.actor for e in events if e.actor})[1]
    return _timeline(events, names, hidden_fields(require_user(), version.meta if version else {}))


@blp.route("/process-instances/<int:instance_id>/cc", methods=["POST"])
@login_required
@blp.arguments(CcIn)
@blp.response(200, CcOut)
def cc(body: dict[str, Any], instance_id: int) -> dict[str, Any]:
    """抄送 by the initiator, a current approver or an admin: read-only access for the people named."""
    users = actions.cc(db(), engine_ctx(), instance_id=instance_id, actor=require_user(), usernames=body["users"],
                       comment=body["comment"])
    db().commit()
    return {"users": users}


@blp.route("/process-instances/<int:instance_id>/urge", methods=["POST"])
@login_required
@blp.arguments(UrgeIn)
@blp.response(200, UrgeOut)
def urge(body: dict[str, Any], instance_id: int) -> dict[str, Any]:
    """催办 every open task of the request; once per task per 30 minutes (429 with Retry-After)."""
    urged = actions.urge(db(), engine_ctx(), actor=require_user(), instance_id=instance_id, comment=body["comment"])
    db().commit()
    return {"notified": urged.notified, "tasks": urged.tasks}


@blp.route("/process-instances/<int:instance_id>/comments", methods=["POST"])
@login_required
@blp.arguments(CommentIn)
@blp.response(201, CommentOut)
def add_comment(body: dict[str, Any], instance_id: int) -> dict[str, Any]:
    """A comment on the request, with optional attachments (sha256 refs from POST /attachments)."""
    user = require_user()
    c = actions.add_comment(db(), engine_ctx(), instance_id=instance_id, actor=user, body=body["body"],
                            attachments=body["attachments"])
    db().commit()
    return comment_dict(c, user, None)


@blp.route("/process-instances/<int:instance_id>/comments")
@login_required
@blp.response(200, CommentOut(many=True))
def comments(instance_id: int) -> list[dict[str, Any]]:
    """The request's comments, oldest first."""
    return [comment_dict(c, u, None) | {"task_name": name}
            for c, u, name in actions.list_comments(db(), require_user(), instance_id)]


@blp.route("/cc")
@login_required
@blp.arguments(CcListArgs, location="query")
@blp.response(200, page_schema(CcItemOut, "CcPage"))
def cc_list(args: dict[str, Any]) -> dict[str, Any]:
    """Requests CC'd to me (抄送我的), newest first."""
    session = db()
    page = list_cc(session, require_user(), unread=args["unread"], page=args["page"], per_page=args["per_page"])
    hidden = hidden_by_version(session, require_user(), {i.version_id for _, i, _, _ in page.items})
    items = [{"instance_id": i.id, "title": i.title, "model_id": i.model_id, "status": i.status, "region": i.region,
              "by": by, "by_name": by_name or by, "comment": c.comment, "created_at": c.created_at,
              "read_at": c.read_at, "metadata": redact(i.meta or {}, hidden.get(i.version_id, set()))}
             for c, i, by, by_name in page.items]
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page}
