"""The people picker: active users, searchable by username, display name or department, for every
signed-in user (transfer, add approver, CC). No contact details."""
from __future__ import annotations

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from engine.org.models import Group, User, user_group


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_directory(session: Session, *, q: str = "", region: str | None = None, group: str | None = None,
                     page: int = 1, per_page: int = 20) -> tuple[list[User], int]:
    """(one page of users, how many match). `q` is part of a username, display name or
    department; `group` is a group's name or display name."""
    query = select(User).where(User.is_active.is_(True))
    q = q.strip()
    if q:
        pattern = _like(q)
        query = query.where(or_(User.username.ilike(pattern, escape="\\"),
                                User.display_name.ilike(pattern, escape="\\"),
                                User.department.ilike(pattern, escape="\\")))
    if region:
        query = query.where(User.region == region)
    if group:
        query = query.where(exists(
            select(user_group.c.user_id).join(Group, Group.id == user_group.c.group_id)
            .where(user_group.c.user_id == User.id, or_(Group.name == group, Group.display_name == group))))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    items = list(session.execute(query.order_by(User.username).limit(per_page)
                                 .offset((page - 1) * per_page)).scalars())
    return items, total
