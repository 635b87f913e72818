from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from api.auth import login_required, require_user, roles_required
from api.blueprint import Blueprint
from api.db import db
from api.schemas import (
    AdminUserOut,
    DelegationIn,
    DelegationOut,
    GroupIn,
    GroupOut,
    PageArgs,
    RegionOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserPatchIn,
    page_schema,
)
from engine.audit.service import append_system_event
from engine.db import utcnow
from engine.errors import NotFound
from engine.org import admin
from engine.org.directory import search_directory
from engine.org.models import ApiToken, Delegation, Group, Region, User
from engine.org.security import create_token, revoke_token
from engine.org.service import get_user_by_username

blp = Blueprint("organisation", __name__, url_prefix="/api/v1", description="Organisation: users, groups, delegations, API tokens")


@blp.route("/users", methods=["POST"])
@roles_required("admin")
@blp.arguments(UserIn)
@blp.response(201, AdminUserOut)
def create_user(body: dict[str, Any]) -> User:
    """Create a user (administrators). Audited."""
    session = db()
    user = admin.save_user(session, admin.UserInput(**body), actor=require_user().username, creating=True)
    session.commit()
    return user


@blp.route("/users/<string:username>")
@roles_required("admin")
@blp.response(200, AdminUserOut)
def get_user(username: str) -> User:
    user = get_user_by_username(db(), username)
    if user is None:
        raise NotFound(f"user '{username}' not found")
    return user


@blp.route("/users/<string:username>", methods=["PATCH"])
@roles_required("admin")
@blp.arguments(UserPatchIn)
@blp.response(200, AdminUserOut)
def update_user(body: dict[str, Any], username: str) -> User:
    """Update or deactivate (is_active: false) a user. Audited."""
    session = db()
    inp = admin.UserInput(username=username, **body)
    admin.require_not_self_admin_change(require_user(), username, inp)
    user = admin.save_user(session, inp, actor=require_user().username, creating=False)
    session.commit()
    return user


@blp.route("/groups")
@roles_required("admin")
@blp.response(200, GroupOut(many=True))
def list_groups() -> list[Group]:
    return list(db().execute(select(Group).order_by(Group.name)).scalars())


@blp.route("/groups", methods=["POST"])
@roles_required("admin")
@blp.arguments(GroupIn)
@blp.response(201, GroupOut)
def create_group(body: dict[str, Any]) -> Group:
    session = db()
    group = admin.create_group(session, actor=require_user().username, **body)
    session.commit()
    return group


@blp.route("/regions")
@login_required
@blp.response(200, RegionOut(many=True))
def list_regions() -> list[Region]:
    """HQ and the regions (for filters and forms)."""
    return list(db().execute(select(Region).order_by(Region.code)).scalars())


class DirectoryArgs(PageArgs):
    q = fields.String(load_default="", validate=validate.Length(max=100),
                      metadata={"description": "part of a username, display name or department (Chinese too)"})
    region = fields.String(load_default=None)
    group = fields.String(load_default=None, metadata={"description": "a group's name or display name"})


class DirectoryEntry(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    region = fields.String()
    department = fields.String()
    groups = fields.List(fields.String(), attribute="group_names")


DirectoryPage = page_schema(DirectoryEntry, "DirectoryPage")


@blp.route("/directory")
@login_required
@blp.arguments(DirectoryArgs, location="query")
@blp.response(200, DirectoryPage)
def directory(args: dict[str, Any]) -> dict[str, Any]:
    """Active users for picking people (transfer, add approver, CC): any signed-in user; no
    contact details."""
    items, total = search_directory(db(), q=args["q"], region=args["region"], group=args["group"],
                                    page=args["page"], per_page=args["per_page"])
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


def _delegation_dict(row: Delegation) -> dict[str, Any]:
    delegate = db().get(User, row.delegate_id)
    return {"id": row.id, "delegate": delegate.username if delegate else None, "starts_at": row.starts_at,
            "ends_at": row.ends_at, "reason": row.reason}


@blp.route("/me/delegations")
@login_required
@blp.response(200, DelegationOut(many=True))
def my_delegations() -> list[dict[str, Any]]:
    """Who stands in for me (代理) and when."""
    rows = db().execute(select(Delegation).where(Delegation.user_id == require_user().id)
                        .order_by(Delegation.starts_at)).scalars()
    return [_delegation_dict(r) for r in rows]


@blp.route("/me/delegations", methods=["POST"])
@login_required
@blp.arguments(DelegationIn)
@blp.response(201, DelegationOut)
def add_delegation(body: dict[str, Any]) -> dict[str, Any]:
    """While I am away, new tasks for me go to my delegate (recorded in each request's audit log)."""
    session = db()
    row = admin.add_delegation(session, user=require_user(), delegate_username=body["delegate"],
                               starts_at=body["starts_at"], ends_at=body["ends_at"], reason=body["reason"])
    session.commit()
    return _delegation_dict(row)


@blp.route("/me/delegations/<int:delegation_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def remove_delegation(delegation_id: int) -> None:
    session = db()
    admin.remove_delegation(session, user=require_user(), delegation_id=delegation_id)
    session.commit()


def _token_dict(row: ApiToken, plaintext: str | None = None) -> dict[str, Any]:
    user = db().get(User, row.user_id)
    out = {c: getattr(row, c) for c in ("id", "name", "prefix", "scopes", "created_by", "created_at",
                                        "expires_at", "last_used_at", "revoked_at")}
    out["username"] = user.username if user else None
    if plaintext:
        out["token"] = plaintext
    return out


@blp.route("/tokens")
@roles_required("admin")
@blp.response(200, TokenOut(many=True))
def list_tokens() -> list[Any]:
    """API tokens of machine clients (never their secrets)."""
    rows = db().execute(select(ApiToken).order_by(ApiToken.id)).scalars()
    return [_token_dict(r) for r in rows]


@blp.route("/tokens", methods=["POST"])
@roles_required("admin")
@blp.arguments(TokenIn)
@blp.response(201, TokenOut)
def create_token_view(body: dict[str, Any]) -> Any:
    """Create a scoped token for a (service) user; the secret is in this response only."""
    session = db()
    user = get_user_by_username(session, body["username"])
    if user is None:
        raise admin.OrgInvalid([{"path": "/username", "message": f"unknown user '{body['username']}'"}])
    actor = require_user().username
    issued = create_token(session, user=user, name=body["name"], scopes=body["scopes"], created_by=actor,
                          expires_at=body["expires_at"])
    append_system_event(session, type="api_token_created", actor=actor, data={
        "id": issued.row.id, "username": user.username, "name": body["name"], "scopes": body["scopes"]})
    session.commit()
    return _token_dict(issued.row, issued.plaintext)


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@roles_required("admin")
@blp.response(204)
def revoke_token_view(token_id: int) -> None:
    session = db()
    revoke_token(session, token_id, utcnow())
    append_system_event(session, type="api_token_revoked", actor=require_user().username, data={"id": token_id})
    session.commit()
