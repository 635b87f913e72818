"""Who may see and act on instances and tasks. Objects out of scope answer 404, not 403, so that
their existence does not leak across regions."""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from engine.instances.models import HumanTask, InstanceCC, ProcessInstance, TaskCandidate
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
    cc = select(InstanceCC.instance_id).where(InstanceCC.user_id == user.id)
    return or_(
        ProcessInstance.region == user.region,
        ProcessInstance.initiator_id == user.id,
        ProcessInstance.id.in_(involved),
        ProcessInstance.id.in_(cc),
    )


def can_read_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    if reads_everything(user) or instance.region == user.region or instance.initiator_id == user.id:
        return True
    if session.get(InstanceCC, (instance.id, user.id)) is not None:
        return True  # 抄送: read-only, they are no candidate of anything
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


def mine(user: User) -> ColumnElement[bool]:
    """SQL: the human_task row is the user's to act on (what `is_candidate` says of one row)."""
    return or_(HumanTask.assignee_id == user.id, and_(HumanTask.assignee_id.is_(None), exists().where(
        TaskCandidate.task_id == HumanTask.id, TaskCandidate.principal.in_(principals_of(user)))))


ACTING_ROLES_EXCLUDED = ("auditor",)  # auditors read everything and change nothing
SYSTEM_USERNAME = "system"  # the platform itself: scheduled starts (timer start events)


def is_system(user: User) -> bool:
    """The platform's own account; it has no password, so nobody signs in as it."""
    return user.username == SYSTEM_USERNAME and not user.password_hash


def may_start(user: User, model_meta: dict[str, object]) -> bool:
    """`start_groups` in process_model.json limits who may file a request; auditors never do.
    The platform starts what a model's own timer start event schedules, whatever its groups."""
    if is_system(user):
        return True
    if user.has_role(*ACTING_ROLES_EXCLUDED) and not user.has_role("admin"):
        return False
    groups = model_meta.get("start_groups")
    if not groups:
        return True
    return isinstance(groups, list) and user.has_role(*[str(g) for g in groups])


def restricted_fields(model_meta: dict[str, object]) -> dict[str, list[str]]:
    raw = model_meta.get("restricted_fields")
    if not isinstance(raw, dict):
        return {}
    return {str(k): [str(g) for g in v] for k, v in raw.items() if isinstance(v, list)}


def hidden_fields(user: User, model_meta: dict[str, object]) -> set[str]:
    """Data keys this user may not see (一表千面): restricted to groups they are not in.
    Admins and auditors see everything."""
    if user.has_role("admin", "auditor"):
        return set()
    return {key for key, groups in restricted_fields(model_meta).items() if not user.has_role(*groups)}


def redact(data: object, hidden: set[str]) -> object:
    """Remove hidden keys at any depth of a JSON-like value."""
    if not hidden:
        return data
    if isinstance(data, dict):
        return {k: redact(v, hidden) for k, v in data.items() if k not in hidden}
    if isinstance(data, list):
        return [redact(v, hidden) for v in data]
    return data
