from __future__ import annotations

from typing import Any

from api.auth import login_required, require_user
from api.background import enqueue
from api.blueprint import Blueprint
from api.db import db
from api.schemas import (
    CompleteIn,
    InstanceDetailOut,
    TaskDetailOut,
    TaskListArgs,
    TaskOut,
    page_schema,
    parse_metadata_filter,
)
from api.views.common import engine_ctx, model_id_from_path, task_rows_to_dicts
from api.views.instances import detail
from engine.deploy.models import ModelVersion
from engine.instances import access, service
from engine.instances.inbox import list_tasks
from engine.instances.models import OPEN

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="Human tasks: the inbox")


@blp.route("/tasks")
@login_required
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, page_schema(TaskOut, "TaskPage"))
def list_view(args: dict[str, Any]) -> dict[str, Any]:
    """scope=mine (assigned or named to me), group (claimable by my groups), all (everything I may read)."""
    session = db()
    page = list_tasks(
        session, require_user(), scope=args["scope"], status=args["status"],
        instance_id=args.get("process_instance_id"), q=args.get("q"), region=args.get("region"),
        model_id=model_id_from_path(args["process"]) if args.get("process") else None,
        metadata=parse_metadata_filter(args.get("metadata")), sort=args["sort"], page=args["page"],
        per_page=args["per_page"],
    )
    return {"items": task_rows_to_dicts(session, [tuple(r) for r in page.items]), "total": page.total,
            "page": page.page, "per_page": page.per_page}


@blp.route("/tasks/<int:task_id>")
@login_required
@blp.response(200, TaskDetailOut)
def get_one(task_id: int) -> dict[str, Any]:
    """A task with its form (schema, UI schema), data, instructions and what the caller may do."""
    session = db()
    user = require_user()
    row, instance = service.get_human_task(session, user, task_id)
    out = task_rows_to_dicts(session, [(row, instance)])[0]
    wf, parsed = service.load_workflow(session, engine_ctx(), instance, user)
    version = session.get(ModelVersion, instance.version_id)
    hidden = access.hidden_fields(user, version.meta if version else {})
    form = service.task_form(session, engine_ctx(), row, instance, wf, parsed, hidden)
    out["form"] = {"schema": form["schema"], "ui_schema": form["ui_schema"]}
    out["data"] = access.redact(form["data"], hidden)
    out["instructions"] = form["instructions"]
    can_act = row.status == OPEN and access.is_candidate(session, user, row)
    out["allowed_actions"] = ["complete"] if can_act else []
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
    return detail(step.instance)
