from __future__ import annotations

from typing import Any

from flask import session as cookie
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import Unauthorized, issue_token, login_required, require_user, roles_required
from api.db import db
from api.schemas import LoginIn, LoginOut, UserOut
from engine.audit.service import append_system_event
from engine.org.models import User
from engine.org.service import get_user_by_username, verify_password

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in and the current user")


@blp.route("/auth/login", methods=["POST"])
@blp.arguments(LoginIn)
@blp.response(200, LoginOut)
def login(body: dict[str, Any]) -> dict[str, Any]:
    """Sign in: sets the session cookie and returns a bearer token for API clients."""
    session = db()
    user = get_user_by_username(session, body["username"])
    if user is None or not user.is_active or not verify_password(user, body["password"]):
        raise Unauthorized("wrong username or password")
    append_system_event(session, type="user_login", actor=user.username, data={})
    session.commit()
    cookie.clear()
    cookie["uid"] = user.id
    cookie.permanent = True
    return {"token": issue_token(user), "user": user}


@blp.route("/auth/logout", methods=["POST"])
@blp.response(204)
def logout() -> None:
    cookie.clear()


@blp.route("/me")
@login_required
@blp.response(200, UserOut)
def me() -> User:
    """The signed-in user, with region, department, groups and manager."""
    return require_user()


class Users(MethodView):
    @roles_required("admin")
    @blp.response(200, UserOut(many=True))
    def get(self) -> list[User]:
        """Every user of the organisation (administrators only)."""
        from sqlalchemy import select

        return list(db().execute(select(User).order_by(User.username)).scalars())


blp.add_url_rule("/users", view_func=Users.as_view("users"))
