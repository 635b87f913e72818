from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.instances.models import HumanTask, ProcessInstance
from engine.instances.runner import EngineContext, sla_state
from engine.org.models import User


def engine_ctx() -> EngineContext:
    return current_app.extensions["engine_ctx"]


def model_id_from_path(raw: str) -> str:
    """Model ids are paths; in URLs '/' is written ':' (the spiff-arena convention)."""
    return raw.replace(":", "/")


def usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def task_dict(row: HumanTask, instance: ProcessInstance, names: dict[int, str], candidates: list[str]) -> dict[str, Any]:
    users = [names.get(int(p[5:]), p[5:]) for p in candidates if p.startswith("user:")]
    groups = [p[6:] for p in candidates if p.startswith("group:")]
    return {
        "id": row.id, "name": row.name, "bpmn_id": row.bpmn_id, "lane": row.lane, "status": row.status,
        "instance_id": row.instance_id, "model_id": row.model_id, "region": row.region,
        "assignee": names.get(row.assignee_id) if row.assignee_id else None,
        "due_at": row.due_at, "created_at": row.created_at,
        "sla_state": sla_state(row.created_at, row.due_at, utcnow()) if row.status == "open" else row.sla_state,
        "completed_at": row.completed_at,
        "completed_by": names.get(row.completed_by_id) if row.completed_by_id else None,
        "process_title": instance.title, "metadata": instance.meta or {},
        "candidate_users": users, "candidate_groups": groups,
        "kind": row.kind, "outcome": row.outcome, "claimed": bool(row.claimed),
        "batch_approvable": row.status == "open" and row.kind == "task" and row.approve_data is not None,
        "parent_id": row.parent_id, "add_position": row.add_position, "add_sign": row.add_sign,
        "added_by": names.get(row.added_by_id) if row.added_by_id else None,
    }


def hidden_by_version(session: Session, user: User, version_ids: set[int]) -> dict[int, set[str]]:
    """Per model version, the data keys this user may not see (restricted_fields)."""
    from engine.deploy.models import ModelVersion
    from engine.instances.access import hidden_fields

    if not version_ids:
        return {}
    rows = session.execute(select(ModelVersion.id, ModelVersion.meta).where(ModelVersion.id.in_(version_ids))).all()
    return {vid: hidden_fields(user, meta or {}) for vid, meta in rows}


def task_rows_to_dicts(session: Session, pairs: list[tuple[HumanTask, ProcessInstance]]) -> list[dict[str, Any]]:
    from api.auth import require_user
    from engine.instances.access import redact
    from engine.instances.actions import read_task_ids
    from engine.instances.inbox import candidates_of

    user = require_user()
    hidden = hidden_by_version(session, user, {i.version_id for _, i in pairs})
    read = read_task_ids(session, user, [t.id for t, _ in pairs])
    cands = candidates_of(session, [t.id for t, _ in pairs])
    ids: set[int | None] = set()
    for t, _ in pairs:
        ids |= {t.assignee_id, t.completed_by_id, t.added_by_id}
    for principals in cands.values():
        ids |= {int(p[5:]) for p in principals if p.startswith("user:")}
    names = usernames(session, ids)
    out = [task_dict(t, i, names, cands[t.id]) for t, i in pairs]
    for d, (t, inst) in zip(out, pairs, strict=True):
        d["metadata"] = redact(d["metadata"], hidden.get(inst.version_id, set()))
        d["unread"] = t.status == "open" and t.id not in read
    return out


def comment_dict(c: Any, author: User, task: HumanTask | None) -> dict[str, Any]:
    return {"id": c.id, "author": author.username, "author_name": author.display_name or author.username,
            "body": c.body, "attachments": c.attachments or [], "task_id": c.task_id,
            "task_name": task.name if task else None, "created_at": c.created_at}
