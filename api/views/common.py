from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.instances.inbox import effective_sla_state
from engine.instances.models import HumanTask, ProcessInstance
from engine.instances.runner import EngineContext
from engine.org.models import User


def engine_ctx() -> EngineContext:
    return current_app.extensions["engine_ctx"]


def model_id_from_path(raw: str) -> str:
    """Model ids are paths; in URLs '/' is written ':' (the spiff-arena convention)."""
    return raw.replace(":", "/")


def people(session: Session, ids: set[int | None]) -> dict[int, tuple[str, str]]:
    """id -> (username, display name) in one query; the display name falls back to the username."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username, User.display_name).where(User.id.in_(wanted))).all()
    return {i: (username, display or username) for i, username, display in rows}


def task_dict(row: HumanTask, instance: ProcessInstance, names: dict[int, tuple[str, str]], candidates: list[str],
              now: dt.datetime) -> dict[str, Any]:
    """A task item; people are usernames, each with a `*_name` twin carrying the display name."""
    def who(user_id: int | None) -> tuple[str | None, str | None]:
        if user_id is None:
            return None, None
        return names.get(user_id, (None, None))

    cand_ids = [p[5:] for p in candidates if p.startswith("user:")]
    cand = [names.get(int(i), (i, i)) for i in cand_ids]
    groups = [p[6:] for p in candidates if p.startswith("group:")]
    assignee, assignee_name = who(row.assignee_id)
    completed_by, completed_by_name = who(row.completed_by_id)
    added_by, added_by_name = who(row.added_by_id)
    return {
        "id": row.id, "name": row.name, "bpmn_id": row.bpmn_id, "lane": row.lane, "status": row.status,
        "instance_id": row.instance_id, "model_id": row.model_id, "region": row.region,
        "assignee": assignee, "assignee_name": assignee_name,
        "due_at": row.due_at, "created_at": row.created_at,
        "sla_state": effective_sla_state(row, now),
        "completed_at": row.completed_at, "completed_by": completed_by, "completed_by_name": completed_by_name,
        "process_title": instance.title, "metadata": instance.meta or {},
        "candidate_users": [u for u, _ in cand], "candidate_user_names": [n for _, n in cand],
        "candidate_groups": groups,
        "kind": row.kind, "outcome": row.outcome, "claimed": bool(row.claimed),
        "batch_approvable": row.status == "open" and row.kind == "task" and row.approve_data is not None,
        "parent_id": row.parent_id, "add_position": row.add_position, "add_sign": row.add_sign,
        "added_by": added_by, "added_by_name": added_by_name,
    }


def hidden_by_version(session: Session, user: User, version_ids: set[int]) -> dict[int, set[str]]:
    """Per model version, the data keys this user may not see (restricted_fields)."""
    from engine.instances.access import hidden_fields
    from engine.instances.runner import version_metas

    if not version_ids:
        return {}
    return {vid: hidden_fields(user, meta) for vid, meta in version_metas(session, engine_ctx(), version_ids).items()}


def people_ids(tasks: list[Any], cands: dict[int, list[str]]) -> set[int | None]:
    """The users a list of task items names: assignees, completers, adders and candidates."""
    ids: set[int | None] = set()
    for t in tasks:
        ids |= {t.assignee_id, t.completed_by_id, t.added_by_id}
    for principals in cands.values():
        ids |= {int(p[5:]) for p in principals if p.startswith("user:")}
    return ids


def task_rows_to_dicts(session: Session, pairs: list[tuple[Any, ProcessInstance]], *,
                       known: tuple[dict[int, list[str]], set[int]] | None = None,
                       names: dict[int, tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """Task items of (task row, request) pairs for the caller. `known` = (candidates per task,
    ids of tasks the caller has read) and `names` when the caller's query already has them
    (`task_item_columns`); otherwise each is one query."""
    from api.auth import require_user
    from engine.instances.access import redact
    from engine.instances.actions import read_task_ids
    from engine.instances.inbox import candidates_of

    user = require_user()
    hidden = hidden_by_version(session, user, {i.version_id for _, i in pairs})
    ids = [t.id for t, _ in pairs]
    cands, read = known if known is not None else (candidates_of(session, ids), read_task_ids(session, user, ids))
    if names is None:
        names = people(session, people_ids([t for t, _ in pairs], cands))
    now = engine_ctx().clock()
    out = [task_dict(t, i, names, cands[t.id], now) for t, i in pairs]
    for d, (t, inst) in zip(out, pairs, strict=True):
        d["metadata"] = redact(d["metadata"], hidden.get(inst.version_id, set()))
        d["unread"] = t.status == "open" and t.id not in read
    return out


_SEP = "\x1f"  # between a task's principals in one aggregated column (never in a principal)


def task_item_columns(user: User) -> list[Any]:
    """A task row's columns for a task item, plus what `task_rows_to_dicts` would query for:
    `candidates` (aggregated), `is_read` by the user and `mine` (theirs to act on), so one
    statement lists a request's tasks. Core columns: rows, not ORM objects, for read-only use."""
    from sqlalchemy import exists, func

    from engine.instances import access
    from engine.instances.models import TaskCandidate, TaskRead

    t, c, r = HumanTask.__table__.c, TaskCandidate.__table__.c, TaskRead.__table__.c
    cands = select(func.aggregate_strings(c.principal, _SEP)).where(c.task_id == t.id).scalar_subquery()
    return [*(col for col in t if col.key != "pending_data"), cands.label("candidates"),
            exists().where(r.task_id == t.id, r.user_id == user.id).label("is_read"),
            access.mine(user).label("mine")]


def known_of(rows: list[Any]) -> tuple[dict[int, list[str]], set[int]]:
    """(candidates per task, ids the user has read) from rows of `task_item_columns`."""
    cands = {r.id: sorted(r.candidates.split(_SEP)) if r.candidates else [] for r in rows}
    return cands, {r.id for r in rows if r.is_read}


def comment_dict(c: Any, author: User, task: HumanTask | None) -> dict[str, Any]:
    return {"id": c.id, "author": author.username, "author_name": author.display_name or author.username,
            "body": c.body, "attachments": c.attachments or [], "task_id": c.task_id,
            "task_name": task.name if task else None, "created_at": c.created_at}


def _numbers(raw: str | None, name: str) -> dict[str, Any]:
    """`key:number,...` -> {key: Decimal}; anything else is a 400 naming the parameter."""
    from decimal import Decimal, InvalidOperation

    from api.schemas import parse_metadata_filter
    from engine.errors import BadRequest

    out: dict[str, Any] = {}
    for key, value in parse_metadata_filter(raw, name).items():
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        # NaN and Infinity are no bounds; nor is 1e999999 (beyond what PostgreSQL's numeric holds)
        if number is None or not number.is_finite() or abs(number.adjusted()) > 1000:
            raise BadRequest(f"{name}: '{value[:100]}' is not a number", {"field": name, "key": key[:100]})
        out[key] = number
    return out


def moment_arg(raw: str | None, name: str, *, end: bool) -> Any:
    """A date (whole day in the configured zone; `end` means up to the end of that day) or an
    ISO 8601 time (no zone: the configured zone), as UTC."""
    from zoneinfo import ZoneInfo

    from engine.errors import BadRequest

    if not raw:
        return None
    zone = ZoneInfo(current_app.extensions["settings"].timezone)
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw) + dt.timedelta(days=1 if end else 0)
            return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequest(f"{name}: '{raw}' is not a date (YYYY-MM-DD) or ISO 8601 time", {"field": name}) from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(dt.UTC)


def metadata_args(args: dict[str, Any]) -> dict[str, Any]:
    """`metadata` (key:value,...), `metadata_min` / `metadata_max` (key:number,...) of a list's query
    as the keyword arguments of `list_tasks` / `InstanceSearch` (the same names): a number that is
    not one, or a key the caller may not see, is a 400 naming the parameter."""
    from api.schemas import parse_metadata_filter

    out = {"metadata": parse_metadata_filter(args.get("metadata")),
           "metadata_min": _numbers(args.get("metadata_min"), "metadata_min"),
           "metadata_max": _numbers(args.get("metadata_max"), "metadata_max")}
    _refuse_hidden_keys(out)
    return out


def search_from_args(args: dict[str, Any]) -> Any:
    """The request search of GET /process-instances and record exports, from query/body args."""
    from engine.instances.inbox import InstanceSearch

    return InstanceSearch(
        status=args.get("status"), model_id=model_id_from_path(args["process"]) if args.get("process") else None,
        region=args.get("region"), initiator=args.get("initiator"), participant=args.get("participant"),
        **metadata_args(args),
        created_from=moment_arg(args.get("created_from"), "created_from", end=False),
        created_to=moment_arg(args.get("created_to"), "created_to", end=True), q=args.get("q"),
    )


def _refuse_hidden_keys(filters: dict[str, dict[str, Any]]) -> None:
    """Filtering on a field the caller may not see would reveal it: 400 naming the parameter
    (`metadata`, `metadata_min` or `metadata_max`) and the key."""
    from api.auth import require_user
    from api.db import db
    from engine.deploy.models import ModelVersion
    from engine.errors import BadRequest
    from engine.instances.access import hidden_fields

    if not any(filters.values()):
        return
    user = require_user()
    hidden: set[str] = set()
    for meta in db().execute(select(ModelVersion.meta)).scalars():
        hidden |= hidden_fields(user, meta or {})
    for name, values in filters.items():
        for key in sorted(set(values) & hidden):
            raise BadRequest(f"you may not filter on '{key}'", {"field": name, "value": key})
