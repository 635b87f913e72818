"""Task and instance listings straight from the projected rows (no workflow is deserialized)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, Select, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import BadRequest
from engine.instances import access
from engine.instances.models import HELD, OPEN, HumanTask, InstanceCC, InstanceMetadata, ProcessInstance, TaskCandidate
from engine.org.models import User

TASK_SORTS = {
    "created": HumanTask.created_at.asc(), "-created": HumanTask.created_at.desc(),
    "due": HumanTask.due_at.asc(), "-due": HumanTask.due_at.desc(),
    "name": HumanTask.name.asc(), "-name": HumanTask.name.desc(),
}
INSTANCE_SORTS = {
    "created": ProcessInstance.created_at.asc(), "-created": ProcessInstance.created_at.desc(),
    "updated": ProcessInstance.updated_at.asc(), "-updated": ProcessInstance.updated_at.desc(),
}


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int


def _paged(session: Session, q: Select[Any, *tuple[Any, ...]], page: int, per_page: int, order: Any) -> Page:
    if page < 1 or not 1 <= per_page <= 200:
        raise BadRequest("page must be >= 1 and per_page between 1 and 200")
    total = session.execute(select(func.count()).select_from(q.order_by(None).subquery())).scalar_one()
    rows = session.execute(q.order_by(order).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), total, page, per_page)


def _metadata_filter(model: Any, metadata: dict[str, str]) -> list[Any]:
    return [
        exists().where(InstanceMetadata.instance_id == model, InstanceMetadata.key == k, InstanceMetadata.value == v)
        for k, v in metadata.items()
    ]


def list_tasks(
    session: Session, user: User, *, scope: str = "mine", status: str = "open", instance_id: int | None = None,
    q: str | None = None, region: str | None = None, model_id: str | None = None,
    metadata: dict[str, str] | None = None, sort: str = "-created", page: int = 1, per_page: int = 20,
) -> Page:
    if sort not in TASK_SORTS:
        raise BadRequest(f"sort must be one of {', '.join(TASK_SORTS)}")
    stmt = select(HumanTask, ProcessInstance).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    principals = access.principals_of(user)
    candidate = exists().where(TaskCandidate.task_id == HumanTask.id, TaskCandidate.principal.in_(principals))
    if scope == "mine":
        if status == "completed":
            stmt = stmt.where(HumanTask.completed_by_id == user.id)
        else:
            # Start from the user's own rows (assigned, or named as a candidate) rather than an OR
            # with a correlated EXISTS, which makes PostgreSQL scan the region's open tasks.
            own = select(HumanTask.id).where(HumanTask.assignee_id == user.id).union_all(
                select(TaskCandidate.task_id).where(TaskCandidate.principal == f"user:{user.id}"))
            stmt = stmt.where(HumanTask.id.in_(own), or_(HumanTask.assignee_id == user.id,
                                                         HumanTask.assignee_id.is_(None)))
    elif scope == "group":
        group_principals = [p for p in principals if p.startswith("group:")]
        stmt = stmt.where(HumanTask.assignee_id.is_(None), exists().where(
            TaskCandidate.task_id == HumanTask.id, TaskCandidate.principal.in_(group_principals)))
    elif scope == "all":
        scope_filter = access.instance_scope(user)
        if scope_filter is not None:
            stmt = stmt.where(or_(scope_filter, candidate))
    else:
        raise BadRequest("scope must be mine, group or all")
    if status == "open" and scope == "mine":
        # My tasks waiting for added approvers (加签) stay in my list, marked on_hold.
        stmt = stmt.where(HumanTask.status.in_((OPEN, HELD)))
    elif status in ("open", "completed", "cancelled", "on_hold"):
        stmt = stmt.where(HumanTask.status == status)
    elif status != "any":
        raise BadRequest("status must be open, on_hold, completed, cancelled or any")
    if instance_id is not None:
        stmt = stmt.where(HumanTask.instance_id == instance_id)
    if region:
        stmt = stmt.where(HumanTask.region == region)
    if model_id:
        stmt = stmt.where(HumanTask.model_id == model_id)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(HumanTask.name.ilike(like), ProcessInstance.title.ilike(like),
                              exists().where(InstanceMetadata.instance_id == HumanTask.instance_id,
                                             InstanceMetadata.value.ilike(like))))
    for cond in _metadata_filter(HumanTask.instance_id, metadata or {}):
        stmt = stmt.where(cond)
    return _paged(session, stmt, page, per_page, TASK_SORTS[sort])


@dataclass
class InstanceSearch:
    """What auditors and requesters search requests by; every field optional."""

    status: str | None = None
    model_id: str | None = None
    region: str | None = None
    initiator: str | None = None
    participant: str | None = None  # initiated it or completed one of its steps
    metadata: dict[str, str] = field(default_factory=dict)
    metadata_min: dict[str, Decimal] = field(default_factory=dict)  # numeric ranges on metadata
    metadata_max: dict[str, Decimal] = field(default_factory=dict)
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    q: str | None = None


def _numeric(value: Any) -> Any:
    """A metadata value as a number where it is one (PostgreSQL refuses to cast other text)."""
    return case((value.regexp_match(r"^-?[0-9]+(\.[0-9]+)?$"), cast(value, Numeric)), else_=None)


def search_filters(search: InstanceSearch) -> list[Any]:
    """SQL conditions on ProcessInstance for a search (the caller adds the access scope)."""
    conds: list[Any] = []
    if search.status:
        conds.append(ProcessInstance.status.in_(search.status.split(",")))
    if search.model_id:
        conds.append(ProcessInstance.model_id == search.model_id)
    if search.region:
        conds.append(ProcessInstance.region == search.region)
    if search.initiator:
        conds.append(ProcessInstance.initiator_id.in_(select(User.id).where(User.username == search.initiator)))
    if search.participant:
        who = select(User.id).where(User.username == search.participant).scalar_subquery()
        conds.append(or_(ProcessInstance.initiator_id == who, exists().where(
            HumanTask.instance_id == ProcessInstance.id, HumanTask.completed_by_id == who)))
    if search.created_from:
        conds.append(ProcessInstance.created_at >= search.created_from)
    if search.created_to:
        conds.append(ProcessInstance.created_at < search.created_to)
    conds += _metadata_filter(ProcessInstance.id, search.metadata)
    for key, low in search.metadata_min.items():
        conds.append(exists().where(InstanceMetadata.instance_id == ProcessInstance.id, InstanceMetadata.key == key,
                                    _numeric(InstanceMetadata.value) >= low))
    for key, high in search.metadata_max.items():
        conds.append(exists().where(InstanceMetadata.instance_id == ProcessInstance.id, InstanceMetadata.key == key,
                                    _numeric(InstanceMetadata.value) <= high))
    if search.q:
        like = f"%{search.q}%"
        conds.append(or_(ProcessInstance.title.ilike(like), exists().where(
            InstanceMetadata.instance_id == ProcessInstance.id, InstanceMetadata.value.ilike(like))))
    return conds


def searched_instances(user: User, search: InstanceSearch) -> Select[Any, *tuple[Any, ...]]:
    stmt = select(ProcessInstance, User.username).join(User, User.id == ProcessInstance.initiator_id)
    scope_filter = access.instance_scope(user)
    if scope_filter is not None:
        stmt = stmt.where(scope_filter)
    for cond in search_filters(search):
        stmt = stmt.where(cond)
    return stmt


def list_instances(
    session: Session, user: User, *, status: str | None = None, model_id: str | None = None,
    region: str | None = None, initiator: str | None = None, metadata: dict[str, str] | None = None,
    sort: str = "-created", page: int = 1, per_page: int = 20, search: InstanceSearch | None = None,
) -> Page:
    if sort not in INSTANCE_SORTS:
        raise BadRequest(f"sort must be one of {', '.join(INSTANCE_SORTS)}")
    search = search or InstanceSearch(status=status, model_id=model_id, region=region, initiator=initiator,
                                      metadata=metadata or {})
    return _paged(session, searched_instances(user, search), page, per_page, INSTANCE_SORTS[sort])


def list_cc(session: Session, user: User, *, unread: bool = False, page: int = 1, per_page: int = 20) -> Page:
    """Requests CC'd to the user (抄送我的): (cc row, instance, who CC'd), newest first."""
    stmt = (select(InstanceCC, ProcessInstance, User.username)
            .join(ProcessInstance, ProcessInstance.id == InstanceCC.instance_id)
            .join(User, User.id == InstanceCC.by_id).where(InstanceCC.user_id == user.id))
    if unread:
        stmt = stmt.where(InstanceCC.read_at.is_(None))
    return _paged(session, stmt, page, per_page, InstanceCC.created_at.desc())


def candidates_of(session: Session, task_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in task_ids}
    if task_ids:
        for tid, principal in session.execute(
            select(TaskCandidate.task_id, TaskCandidate.principal).where(TaskCandidate.task_id.in_(task_ids))
        ):
            out[tid].append(principal)
    return out
