"""Organisation queries the engine needs: users, group members by region, manager chains."""
from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.org.models import HQ, Group, Region, User, user_group

_hasher = PasswordHasher()  # argon2id, RFC 9106 defaults (~0.2 s per hash on 2 cores)


def use_fast_password_hashing() -> None:
    """For test runs only: the same KDF with minimal cost, so fixtures can create many users."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    try:
        return bool(user.password_hash) and _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def user_id_by_username(session: Session, username: str) -> int | None:
    """The id alone (no groups loaded): what assigning a task to a named person needs."""
    return session.execute(select(User.id).where(User.username == username)).scalar_one_or_none()


def find_group(session: Session, name: str) -> Group | None:
    """Lanes name groups by their identifier or their (Chinese) display name."""
    return session.execute(
        select(Group).where((Group.name == name) | (Group.display_name == name)).order_by(Group.id)
    ).scalars().first()


def group_members(session: Session, name: str, region: str | None = None) -> list[User]:
    group = find_group(session, name)
    if group is None:
        return []
    q = select(User).join(user_group, user_group.c.user_id == User.id).where(
        user_group.c.group_id == group.id, User.is_active.is_(True)
    )
    if region is not None:
        q = q.where(User.region == region)
    return list(session.execute(q.order_by(User.username)).scalars())


def manager_of(session: Session, username: str, levels: int = 1) -> User | None:
    user = get_user_by_username(session, username)
    for _ in range(max(1, levels)):
        if user is None or user.manager_id is None:
            return None
        user = session.get(User, user.manager_id)
    return user


def user_dict(user: User) -> dict[str, Any]:
    """What scripts and API clients see of a user."""
    return {
        "id": user.id, "username": user.username, "display_name": user.display_name, "email": user.email,
        "region": user.region, "department": user.department, "groups": user.group_names,
        "manager": user.manager.username if user.manager else None,
    }


def ensure_region(session: Session, code: str, name: str, name_en: str = "") -> Region:
    region = session.get(Region, code)
    if region is None:
        region = Region(code=code, name=name, name_en=name_en)
        session.add(region)
        session.flush()
    return region


def ensure_group(session: Session, name: str, display_name: str = "", hq_wide: bool = False) -> Group:
    group = session.execute(select(Group).where(Group.name == name)).scalar_one_or_none()
    if group is None:
        group = Group(name=name, display_name=display_name or name, hq_wide=hq_wide)
        session.add(group)
        session.flush()
    return group


def create_user(
    session: Session, *, username: str, password: str, display_name: str = "", email: str = "",
    region: str = HQ, department: str = "", groups: list[str] | None = None, manager: User | None = None,
    password_hash: str | None = None,
) -> User:
    user = User(
        username=username, display_name=display_name or username, email=email, region=region,
        department=department, password_hash=password_hash or hash_password(password),
        manager_id=manager.id if manager else None,
    )
    user.groups = [ensure_group(session, g) for g in (groups or [])]
    session.add(user)
    session.flush()
    return user
