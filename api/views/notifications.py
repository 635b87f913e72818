from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from sqlalchemy import func, select, update

from api.auth import login_required, require_user
from api.blueprint import Blueprint
from api.db import db
from api.schemas import PageArgs, page_schema
from engine.db import utcnow
from engine.errors import NotFound
from engine.instances.models import Notification

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="The signed-in user's notifications")


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "task_assigned, sla_reminder, sla_breached, sla_escalated, ..."})
    title = fields.String()
    body = fields.String()
    process_instance_id = fields.Integer(attribute="instance_id", allow_none=True)
    task_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationArgs(PageArgs):
    unread = fields.Boolean(load_default=False)


class NotificationPage(page_schema(NotificationOut, "NotificationPageBase")):  # type: ignore[misc]
    unread_count = fields.Integer()


@blp.route("/notifications")
@login_required
@blp.arguments(NotificationArgs, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args: dict[str, Any]) -> dict[str, Any]:
    """Newest first; `unread_count` for the badge."""
    session, user = db(), require_user()
    q = select(Notification).where(Notification.user_id == user.id)
    if args["unread"]:
        q = q.where(Notification.read_at.is_(None))
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    items = session.execute(q.order_by(Notification.id.desc()).limit(args["per_page"])
                            .offset((args["page"] - 1) * args["per_page"])).scalars().all()
    unread = session.execute(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))).scalar_one()
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"], "unread_count": unread}


@blp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
@blp.response(204)
def mark_read(notification_id: int) -> None:
    session, user = db(), require_user()
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"notification {notification_id} not found")
    row.read_at = row.read_at or utcnow()
    session.commit()


@blp.route("/notifications/read-all", methods=["POST"])
@login_required
@blp.response(204)
def mark_all_read() -> None:
    session, user = db(), require_user()
    session.execute(update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
                    .values(read_at=utcnow()))
    session.commit()
