"""Who a new human task goes to: the model's assignment (lane_owners, Camunda attributes,
lanes, the initiator), then delegations (代理), then automatic skipping (自动去重) when the
same person already approved earlier in the request."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from engine.audit.service import PendingEvent
from engine.instances.models import DONE, TASK, HumanTask, ProcessInstance
from engine.org.admin import active_delegate
from engine.org.models import Delegation, User
from engine.org.service import find_group, group_members, user_id_by_username

# Lanes that mean "whoever started the request" (the spiff-arena initiator convention).
INITIATOR_LANES = {"发起人", "申请人", "initiator", "requester", "process initiator"}
# <spiffworkflow:property name="autoSkipIfApproved" value='{"decision": "approve"}'/>: the data
# submitted on the approver's behalf when they already completed a task of this request.
AUTO_SKIP_PROPERTY = "autoSkipIfApproved"


def principals_for(session: Session, instance: ProcessInstance, task: Any, *, now: dt.datetime | None = None,
                   undelegated: set[int] | None = None) -> list[tuple[str, bool]]:
    """The task's candidates as (principal, any_region). With `now` and `undelegated`, the ids of
    named people who have no delegation running at `now` are added to `undelegated` (found by
    the query that resolves their username, so `apply_delegations` need not ask again)."""
    lane = task.task_spec.lane
    owners = task.data.get("lane_owners") if isinstance(task.data.get("lane_owners"), dict) else None
    if owners and lane in owners:
        out = []
        for entry in owners[lane] or []:
            entry = str(entry)
            if entry.startswith("group:"):
                out += _group_principals(session, instance, entry[6:])
            else:
                uid = _user_id(session, entry, now, undelegated)
                if uid is not None:
                    out.append((f"user:{uid}", True))
        return out
    camunda = _camunda_principals(session, instance, task, now, undelegated)
    if camunda:
        return camunda
    if lane is None or lane.strip().lower() in INITIATOR_LANES:
        return [(f"user:{instance.initiator_id}", True)]
    return _group_principals(session, instance, lane)


def _names(value: str | None) -> list[str]:
    # Camunda expressions (${...}) need Camunda's EL; they are not assignments we can resolve.
    return [v.strip() for v in (value or "").split(",") if v.strip() and "${" not in v and "#{" not in v]


def _user_id(session: Session, username: str, now: dt.datetime | None, undelegated: set[int] | None) -> int | None:
    if now is None or undelegated is None:
        return user_id_by_username(session, username)
    found = session.execute(select(User.id, exists().where(
        Delegation.user_id == User.id, Delegation.starts_at <= now, Delegation.ends_at > now,
    )).where(User.username == username)).first()
    if found is None:
        return None
    if not found[1]:
        undelegated.add(found[0])
    return int(found[0])


def _camunda_principals(session: Session, instance: ProcessInstance, task: Any, now: dt.datetime | None = None,
                        undelegated: set[int] | None = None) -> list[tuple[str, bool]]:
    """camunda:assignee / candidateUsers / candidateGroups from models drawn in the Camunda modeler."""
    ext = getattr(task.task_spec, "extensions", None) or {}
    out: list[tuple[str, bool]] = []
    for username in _names(ext.get("camunda:assignee")) + _names(ext.get("camunda:candidateUsers")):
        uid = _user_id(session, username, now, undelegated)
        if uid is not None:
            out.append((f"user:{uid}", True))
    for group in _names(ext.get("camunda:candidateGroups")):
        out += _group_principals(session, instance, group)
    return out


def _group_principals(session: Session, instance: ProcessInstance, name: str) -> list[tuple[str, bool]]:
    """A regional group resolves to its members in the request's region; an HQ-wide group to all
    members; a group with nobody in that region falls back to its HQ members."""
    group = find_group(session, name)
    gname = group.name if group else name
    if group is not None and group.hq_wide:
        return [(f"group:{gname}", True)]
    if group is not None and not _has_members(session, group.id, instance.region):
        return [(f"group:{gname}@HQ", False)]
    return [(f"group:{gname}@{instance.region}", False)]


def _has_members(session: Session, group_id: int, region: str) -> bool:
    """Whether the group has an active member in the region (one indexed EXISTS: loading the
    members, their groups and managers was a third of the cost of firing a timer)."""
    from engine.org.models import user_group

    return bool(session.execute(select(select(User.id).join(user_group, user_group.c.user_id == User.id).where(
        user_group.c.group_id == group_id, User.region == region, User.is_active.is_(True)).exists())).scalar())




def apply_delegations(
    session: Session, instance: ProcessInstance, principals: dict[str, bool], now: dt.datetime, row: HumanTask,
    events: list[PendingEvent], undelegated: Collection[int] = (),
) -> dict[str, bool]:
    """Direct assignments to someone on leave go to their delegate, and the audit log says so.
    The initiator's own steps (filling in or revising their request) stay with them. People in
    `undelegated` are known to have no delegation running now."""
    out: dict[str, bool] = {}
    for principal, any_region in principals.items():
        if (principal.startswith("user:") and principal != f"user:{instance.initiator_id}"
                and int(principal[5:]) not in undelegated):
            delegate = active_delegate(session, int(principal[5:]), now)
            if delegate is not None:
                absent = session.get(User, int(principal[5:]))
                events.append(PendingEvent("task_delegated", "system", {
                    "task": row.name, "from": absent.username if absent else principal, "to": delegate.username,
                }, task_guid=row.task_guid, bpmn_id=row.bpmn_id))
                out[f"user:{delegate.id}"] = True
                continue
        out[principal] = any_region
    return out


def auto_skip_data(task: Any) -> dict[str, Any] | None:
    raw = ((getattr(task.task_spec, "extensions", None) or {}).get("properties") or {}).get(AUTO_SKIP_PROPERTY)
    if raw is None:
        return None
    if raw.strip().lower() in ("", "true"):
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def earlier_approver(session: Session, instance: ProcessInstance, assigned: list[str],
                     row: HumanTask | None = None) -> User | None:
    """A person the task is assigned to (directly or via a group in the request's region) who
    already completed a task of this request in the current round: approvals given before the
    request was sent back (退回), or before this same step last ran (a loop in the model, e.g.
    a rework after a rejection), no longer count."""
    since = [session.execute(select(func.max(HumanTask.completed_at)).where(
        HumanTask.instance_id == instance.id, HumanTask.outcome == "sent_back")).scalar_one()]
    if row is not None:
        since.append(session.execute(select(func.max(HumanTask.completed_at)).where(
            HumanTask.instance_id == instance.id, HumanTask.bpmn_id == row.bpmn_id, HumanTask.id != row.id,
            HumanTask.kind == TASK)).scalar_one())
    q = select(HumanTask.completed_by_id).where(
        HumanTask.instance_id == instance.id, HumanTask.status == DONE, HumanTask.completed_by_id.is_not(None),
        HumanTask.kind == TASK, or_(HumanTask.outcome.is_(None), HumanTask.outcome == "auto_skipped"))
    cutoffs = [t for t in since if t is not None]
    if cutoffs:
        q = q.where(HumanTask.completed_at > max(cutoffs))
    done_by = set(session.execute(q).scalars())
    if not done_by:
        return None
    for principal in assigned:
        if principal.startswith("user:") and int(principal[5:]) in done_by:
            return session.get(User, int(principal[5:]))
        if principal.startswith("group:"):
            name, _, region = principal[6:].partition("@")
            for member in group_members(session, name, region or None):
                if member.id in done_by:
                    return member
    return None
