"""Administering the organisation: users, groups and delegations. Every change is audited on
the system chain; validation errors name the field."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.service import append_system_event
from engine.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound
from engine.org.models import Delegation, Group, Region, User
from engine.org.service import get_user_by_username, hash_password

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,100}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{5,30}$")
USER_FIELDS = ("display_name", "email", "phone", "region", "department", "locale", "groups", "manager",
               "is_active", "password")


class OrgInvalid(DomainError):
    """Field errors in user/group data: 422 with [{path, message}]."""

    code, status = "validation_error", 422

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors), {"errors": errors})
        self.errors = errors


@dataclass
class UserInput:
    """A user as given by the API or an import row; None means 'leave unchanged'."""

    username: str
    display_name: str | None = None
    email: str | None = None
    phone: str | None = None
    region: str | None = None
    department: str | None = None
    locale: str | None = None
    groups: list[str] | None = None
    manager: str | None = None
    is_active: bool | None = None
    password: str | None = None


def validate_user_input(session: Session, inp: UserInput, *, creating: bool,
                        pending_usernames: set[str] | None = None) -> list[dict[str, str]]:
    """Problems with one user's data. `pending_usernames` lets an import refer to managers
    defined in other rows of the same file."""
    errors = []
    if creating and not USERNAME_RE.match(inp.username or ""):
        errors.append({"path": "/username", "message": "2-100 letters, digits, '_', '.' or '-'"})
    if inp.email and not EMAIL_RE.match(inp.email):
        errors.append({"path": "/email", "message": f"'{inp.email}' is not an e-mail address"})
    if inp.phone and not PHONE_RE.match(inp.phone):
        errors.append({"path": "/phone", "message": f"'{inp.phone}' is not a phone number"})
    if inp.region is not None and session.get(Region, inp.region) is None:
        known = ", ".join(session.execute(select(Region.code).order_by(Region.code)).scalars())
        errors.append({"path": "/region", "message": f"unknown region '{inp.region}' (known: {known})"})
    if creating and inp.region is None:
        errors.append({"path": "/region", "message": "required"})
    if inp.locale is not None and inp.locale not in ("zh-CN", "en"):
        errors.append({"path": "/locale", "message": "zh-CN or en"})
    for i, g in enumerate(inp.groups or []):
        if session.execute(select(Group.id).where(Group.name == g)).first() is None:
            errors.append({"path": f"/groups/{i}", "message": f"unknown group '{g}'"})
    if inp.manager:
        if inp.manager == inp.username:
            errors.append({"path": "/manager", "message": "a user cannot be their own manager"})
        elif get_user_by_username(session, inp.manager) is None and inp.manager not in (pending_usernames or set()):
            errors.append({"path": "/manager", "message": f"unknown user '{inp.manager}'"})
    if creating and not inp.password:
        errors.append({"path": "/password", "message": "required for a new user"})
    if inp.password is not None and len(inp.password) < 8 and creating:
        errors.append({"path": "/password", "message": "at least 8 characters"})
    return errors


def _manager_cycle(session: Session, user: User, manager: User) -> bool:
    seen: set[int] = {user.id}
    m: User | None = manager
    while m is not None:
        if m.id in seen:
            return True
        seen.add(m.id)
        m = session.get(User, m.manager_id) if m.manager_id else None
    return False


def apply_user(session: Session, inp: UserInput, *, actor: str, creating: bool) -> User:
    """Create or update one user (already validated). Audited."""
    user = get_user_by_username(session, inp.username)
    if creating:
        if user is not None:
            raise Conflict(f"user '{inp.username}' already exists")
        user = User(username=inp.username, display_name=inp.display_name or inp.username, region=inp.region or "HQ")
        session.add(user)
    elif user is None:
        raise NotFound(f"user '{inp.username}' not found")
    changes: dict[str, Any] = {}
    for field in ("display_name", "email", "phone", "region", "department", "locale", "is_active"):
        value = getattr(inp, field)
        if value is not None and getattr(user, field, None) != value:
            setattr(user, field, value)
            changes[field] = value
    if inp.password:
        user.password_hash = hash_password(inp.password)
        changes["password"] = "(changed)"
    if inp.groups is not None:
        user.groups = list(session.execute(select(Group).where(Group.name.in_(inp.groups))).scalars())
        changes["groups"] = sorted(inp.groups)
    session.flush()
    if inp.manager is not None:
        manager = get_user_by_username(session, inp.manager) if inp.manager else None
        if manager is not None and _manager_cycle(session, user, manager):
            raise OrgInvalid([{"path": "/manager", "message": f"'{inp.manager}' reports to '{inp.username}': a cycle"}])
        user.manager_id = manager.id if manager else None
        changes["manager"] = inp.manager or None
    append_system_event(session, type="user_created" if creating else "user_updated", actor=actor,
                        data={"username": user.username, "changes": changes})
    session.flush()
    return user


def save_user(session: Session, inp: UserInput, *, actor: str, creating: bool) -> User:
    errors = validate_user_input(session, inp, creating=creating)
    if errors:
        raise OrgInvalid(errors)
    return apply_user(session, inp, actor=actor, creating=creating)


def create_group(session: Session, *, name: str, display_name: str, hq_wide: bool, actor: str) -> Group:
    if not USERNAME_RE.match(name):
        raise OrgInvalid([{"path": "/name", "message": "2-100 letters, digits, '_', '.' or '-'"}])
    if session.execute(select(Group.id).where(Group.name == name)).first() is not None:
        raise Conflict(f"group '{name}' already exists")
    group = Group(name=name, display_name=display_name or name, hq_wide=hq_wide)
    session.add(group)
    append_system_event(session, type="group_created", actor=actor,
                        data={"name": name, "display_name": display_name, "hq_wide": hq_wide})
    session.flush()
    return group


def add_delegation(session: Session, *, user: User, delegate_username: str, starts_at: dt.datetime,
                   ends_at: dt.datetime, reason: str) -> Delegation:
    delegate = get_user_by_username(session, delegate_username)
    if delegate is None or not delegate.is_active:
        raise OrgInvalid([{"path": "/delegate", "message": f"unknown or inactive user '{delegate_username}'"}])
    if delegate.id == user.id:
        raise OrgInvalid([{"path": "/delegate", "message": "you cannot delegate to yourself"}])
    if ends_at <= starts_at:
        raise OrgInvalid([{"path": "/ends_at", "message": "must be after starts_at"}])
    row = Delegation(user_id=user.id, delegate_id=delegate.id, starts_at=starts_at, ends_at=ends_at, reason=reason)
    session.add(row)
    append_system_event(session, type="delegation_added", actor=user.username, data={
        "delegate": delegate.username, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
        "reason": reason})
    session.flush()
    return row


def remove_delegation(session: Session, *, user: User, delegation_id: int) -> None:
    row = session.get(Delegation, delegation_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"delegation {delegation_id} not found")
    session.delete(row)
    append_system_event(session, type="delegation_removed", actor=user.username, data={"id": delegation_id})
    session.flush()


def active_delegate(session: Session, user_id: int, now: dt.datetime) -> User | None:
    """The delegate standing in for a user now, following chains (A→B→C) but never looping."""
    seen = {user_id}
    current: User | None = None
    uid = user_id
    for _ in range(5):
        row = session.execute(select(Delegation).where(
            Delegation.user_id == uid, Delegation.starts_at <= now, Delegation.ends_at > now,
        ).order_by(Delegation.id.desc())).scalars().first()
        if row is None or row.delegate_id in seen:
            break
        seen.add(row.delegate_id)
        current = session.get(User, row.delegate_id)
        uid = row.delegate_id
    return current


def require_not_self_admin_change(actor: User, target: str, inp: UserInput) -> None:
    """An admin cannot lock themselves out by deactivating their own account."""
    if actor.username == target and inp.is_active is False:
        raise Forbidden("you cannot deactivate your own account")


def parse_bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "是"):
        return True
    if text in ("0", "false", "no", "n", "否", ""):
        return False
    raise BadRequest(f"{path}: '{value}' is not true/false")
