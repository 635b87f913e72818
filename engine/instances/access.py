"""Who may see and act on instances and tasks. Objects out of scope answer 404, not 403, so that
their existence does not leak across regions."""
from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from engine.instances.models import HumanTask, ProcessInstance, TaskCandidate
from engine.org.models import User

READ_ALL_ROLES = ("admin", "auditor")


def reads_everything(user: User) -> bool:
    return user.is_hq or user.has_role(*READ_ALL_ROLES)


def principals_of(user: User) -> list[str]:
    """The candidate principals that match this user (see runner._group_principals)."""
    out = [f"user:{user.id}"]
    for g in user.group_names:
        out += [f"group:{g}", f"group:{g}@{user.region}"]
    return out


def instance_scope(user: User) -> ColumnElement[bool] | None:
    """SQL filter of the instances a user may read; None means no restriction."""
    if reads_everything(user):
        return None
    involved = select(HumanTask.instance_id).join(TaskCandidate, TaskCandidate.task_id == HumanTask.id).where(
        TaskCandidate.principal.in_(principals_of(user))
    )
    return or_(
        ProcessInstance.region == user.region,
        ProcessInstance.initiator_id == user.id,
        ProcessInstance.id.in_(involved),
    )


def can_read_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    if reads_everything(user) or instance.region == user.region or instance.initiator_id == user.id:
        return True
    return session.execute(
        select(HumanTask.id).join(TaskCandidate, TaskCandidate.task_id == HumanTask.id).where(
            HumanTask.instance_id == instance.id, TaskCandidate.principal.in_(principals_of(user))
        ).limit(1)
    ).first() is not None


def is_candidate(session: Session, user: User, task: HumanTask) -> bool:
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    return session.execute(
        select(TaskCandidate.task_id).where(
            TaskCandidate.task_id == task.id, TaskCandidate.principal.in_(principals_of(user))
        ).limit(1)
    ).first() is not None
