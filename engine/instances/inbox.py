"""Task and instance listings straight from the projected rows (no workflow is deserialized)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, Select, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session, defer

from engine.errors import BadRequest
from engine.instances import access
from engine.instances.models import (
    HELD,
    LIVE_STATUSES,
    OPEN,
    HumanTask,
    InstanceCC,
    InstanceMetadata,
    ProcessInstance,
    TaskCandidate,
)
from engine.instances.runner import BREACHED, DUE_SOON, ON_TRACK
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


# The inbox's SLA filter (`sla=`): the three states a task with a due time shows, and `none`.
NO_DEADLINE = "none"
SLA_FILTERS = (ON_TRACK, DUE_SOON, BREACHED, NO_DEADLINE)


def effective_sla_state(row: HumanTask, now: dt.datetime) -> str | None:
    """The SLA state a task shows: the stored one (kept by the periodic scan, engine/instances/sla.py)
    brought up to date from its times, so a task past its due time (or reminder time) that the scan
    has not reached yet already shows breached (due soon). A closed task is judged at its close.
    Mirrors `sla_state_sql` (the inbox filter), which must stay in step with it."""
    if row.due_at is None:
        return None
    at = now if row.status in LIVE_STATUSES else row.completed_at
    if row.sla_state == BREACHED or (at is not None and at >= row.due_at):
        return BREACHED
    reminder = row.next_sla_check_at  # until the reminder has been sent: when the last fifth begins
    if row.sla_state == DUE_SOON or (at is not None and reminder is not None and at >= reminder):
        return DUE_SOON
    return ON_TRACK


def sla_state_sql(now: dt.datetime) -> Any:
    """`effective_sla_state` as a SQL expression (`none` for a task without a due time)."""
    ht = HumanTask
    live = ht.status.in_(LIVE_STATUSES)
    # A NULL condition (no completed_at, no reminder time) counts as false, as in the Python twin.
    return case(
        (ht.due_at.is_(None), NO_DEADLINE),
        (or_(ht.sla_state == BREACHED, and_(live, ht.due_at <= now), and_(~live, ht.completed_at >= ht.due_at)),
         BREACHED),
        (or_(ht.sla_state == DUE_SOON, and_(live, ht.next_sla_check_at <= now),
             and_(~live, ht.completed_at >= ht.next_sla_check_at)), DUE_SOON),
        else_=ON_TRACK,
    )


def sla_filter(raw: str, now: dt.datetime) -> list[Any]:
    """Conditions for `sla=` (one value or several, comma separated); an unknown value is a 400."""
    wanted = [v.strip() for v in raw.split(",") if v.strip()]
    for value in wanted:
        if value not in SLA_FILTERS:
            raise BadRequest(f"sla must be one or several (comma separated) of {', '.join(SLA_FILTERS)}; "
                             f"got '{value[:40]}'", {"field": "sla", "value": value[:100]})
    if not wanted:
        return []
    if wanted == [NO_DEADLINE]:
        return [HumanTask.due_at.is_(None)]
    conds = [sla_state_sql(now).in_(wanted)]
    if NO_DEADLINE not in wanted:
        conds.insert(0, HumanTask.due_at.is_not(None))
    return conds


# What lists never show: the serialized workflow (kilobytes per row) and the path taken.
# Deferred, so a caller that needs them after all loads them on access.
NOT_LISTED = (defer(ProcessInstance.state), defer(ProcessInstance.path))


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int


def _paged(session: Session, q: Select[Any, *tuple[Any, ...]], page: int, per_page: int, order: Any) -> Page:
    if page < 1 or not 1 <= per_page <= 200:
        raise BadRequest("page must be >= 1 and per_page between 1 and 200")
    # The total rides along with the page (a window count): one pass over the matching rows
    # instead of a second COUNT query that finds them all again.
    rows = session.execute(q.add_columns(func.count().over().label("_total")).order_by(order)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    if rows:
        return Page([tuple(r)[:-1] for r in rows], int(rows[0][-1]), page, per_page)
    total = 0 if page == 1 else session.execute(
        select(func.count()).select_from(q.order_by(None).subquery())).scalar_one()  # past the last page
    return Page([], total, page, per_page)


def _numeric(value: Any) -> Any:
    """A metadata value as a number where it is one (PostgreSQL refuses to cast other text)."""
    return case((value.regexp_match(r"^-?[0-9]+(\.[0-9]+)?$"), cast(value, Numeric)), else_=None)


def metadata_filters(instance_id: Any, metadata: dict[str, str] | None = None,
                     metadata_min: dict[str, Decimal] | None = None,
                     metadata_max: dict[str, Decimal] | None = None) -> list[Any]:
    """Conditions on a request's extracted metadata (`instance_id`: the column holding the request's
    id): exact values (`metadata`), and numeric ranges (`metadata_min` / `metadata_max`, inclusive).
    A value that is not a number never matches a range. Shared by the inbox and the request search."""
    im = InstanceMetadata
    conds = [exists().where(im.instance_id == instance_id, im.key == k, im.value == v)
             for k, v in (metadata or {}).items()]
    low, high = metadata_min or {}, metadata_max or {}
    for key in dict.fromkeys([*low, *high]):  # one row per (request, key): both bounds in one EXISTS
        number = _numeric(im.value)
        bounds = ([number >= low[key]] if key in low else []) + ([number <= high[key]] if key in high else [])
        conds.append(exists().where(im.instance_id == instance_id, im.key == key, *bounds))
    return conds


def list_tasks(
    session: Session, user: User, *, scope: str = "mine", status: str = "open", instance_id: int | None = None,
    q: str | None = None, region: str | None = None, model_id: str | None = None,
    metadata: dict[str, str] | None = None, metadata_min: dict[str, Decimal] | None = None,
    metadata_max: dict[str, Decimal] | None = None, sort: str = "-created", page: int = 1, per_page: int = 20,
    sla: str | None = None, due_from: dt.datetime | None = None, due_to: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Page:
    """`metadata` filters by exact metadata values, `metadata_min` / `metadata_max` by numeric ranges
    (as the request search, `metadata_filters`); `sla` by the state the tasks show
    (`effective_sla_state` at `now`, the engine's clock); `due_from` (inclusive) and `due_to`
    (exclusive) by due time."""
    if sort not in TASK_SORTS:
        raise BadRequest(f"sort must be one of {', '.join(TASK_SORTS)}")
    stmt = (select(HumanTask, ProcessInstance).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .options(*NOT_LISTED))
    principals = access.principals_of(user)
    candidate = exists().where(TaskCandidate.task_id == HumanTask.id, TaskCandidate.principal.in_(principals))
    if scope == "mine":
        if status == "completed":
            stmt = stmt.where(HumanTask.completed_by_id == user.id)
        else:
            # Start from the user's own rows (assigned, or named as a candidate) rather than an OR
            # with a correlated EXISTS, which makes PostgreSQL scan the region's open tasks.
            named = select(TaskCandidate.task_id).where(TaskCandidate.principal == f"user:{user.id}")
            if status in ("open", "on_hold"):  # only live tasks' rows: ix_task_candidate_open
                named = named.where(TaskCandidate.is_open)
            own = select(HumanTask.id).where(HumanTask.assignee_id == user.id).union_all(named)
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
    for cond in metadata_filters(HumanTask.instance_id, metadata, metadata_min, metadata_max):
        stmt = stmt.where(cond)
    if sla:
        for cond in sla_filter(sla, now or dt.datetime.now(dt.UTC)):
            stmt = stmt.where(cond)
    if due_from is not None:
        stmt = stmt.where(HumanTask.due_at >= due_from)
    if due_to is not None:
        stmt = stmt.where(HumanTask.due_at < due_to)
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
    conds += metadata_filters(ProcessInstance.id, search.metadata, search.metadata_min, search.metadata_max)
    if search.q:
        like = f"%{search.q}%"
        conds.append(or_(ProcessInstance.title.ilike(like), exists().where(
            InstanceMetadata.instance_id == ProcessInstance.id, InstanceMetadata.value.ilike(like))))
    return conds


def searched_instances(user: User, search: InstanceSearch) -> Select[Any, *tuple[Any, ...]]:
    """(instance, initiator's username, initiator's display name) rows."""
    stmt = (select(ProcessInstance, User.username, User.display_name).options(*NOT_LISTED)
            .join(User, User.id == ProcessInstance.initiator_id))
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
    """Requests CC'd to the user (抄送我的): (cc row, instance, who CC'd, their display name), newest first."""
    stmt = (select(InstanceCC, ProcessInstance, User.username, User.display_name).options(*NOT_LISTED)
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
