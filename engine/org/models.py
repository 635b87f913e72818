from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, utcnow

HQ = "HQ"

user_group = Table(
    "user_group",
    Base.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("app_group.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Region(Base):
    __tablename__ = "region"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")


class Group(Base):
    """A role or team. Lane names in BPMN resolve to groups by `name` or `display_name`."""

    __tablename__ = "app_group"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # HQ-wide groups (e.g. CFO, GM) are not narrowed to the request's region.
    hq_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    members: Mapped[list[User]] = relationship(secondary=user_group, back_populates="groups")


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    region: Mapped[str] = mapped_column(ForeignKey("region.code"), default=HQ, index=True)
    department: Mapped[str] = mapped_column(String(100), default="")
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh-CN")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    groups: Mapped[list[Group]] = relationship(secondary=user_group, back_populates="members", lazy="selectin")
    manager: Mapped[User | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)

    @property
    def group_names(self) -> list[str]:
        return sorted(g.name for g in self.groups)

    def has_role(self, *roles: str) -> bool:
        names = {g.name for g in self.groups}
        return any(r in names for r in roles)

    @property
    def is_hq(self) -> bool:
        return self.region == HQ
