from __future__ import annotations

from typing import Any

from flask import current_app, make_response, request
from flask import session as cookie

from api.auth import (
    CSRF_COOKIE,
    Unauthorized,
    issue_token,
    login_required,
    new_csrf_token,
    require_user,
    roles_required,
)
from api.blueprint import Blueprint
from api.db import db
from api.schemas import LoginIn, LoginOut, UserOut
from engine.audit.service import append_system_event
from engine.db import utcnow
from engine.org.models import User
from engine.org.security import check_login_allowed, clear_login_failures, record_login_failure
from engine.org.service import get_user_by_username, verify_password

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in and the current user")


@blp.route("/auth/login", methods=["POST"])
@blp.arguments(LoginIn)
@blp.response(200, LoginOut)
@blp.alt_response(401, description="wrong username or password")
@blp.alt_response(429, description="too many failed sign-ins")
def login(body: dict[str, Any]) -> Any:
    """Sign in: sets the session cookie (send the `csrf_token` cookie back as the X-CSRF-Token
    header on unsafe requests) and returns a bearer token for API clients. Five failures in 15
    minutes lock the username for 15 minutes (429)."""
    session = db()
    now = utcnow()
    check_login_allowed(session, body["username"], now)
    user = get_user_by_username(session, body["username"])
    if user is None or not user.is_active or not verify_password(user, body["password"]):
        record_login_failure(session, body["username"], request.remote_addr or "", now)
        session.commit()
        raise Unauthorized("wrong username or password")
    clear_login_failures(session, user.username)
    append_system_event(session, type="user_login", actor=user.username, data={"ip": request.remote_addr or ""})
    session.commit()
    cookie.clear()
    cookie["uid"] = user.id
    cookie.permanent = True
    csrf = new_csrf_token()
    resp = make_response(LoginOut().dump({"token": issue_token(user), "csrf_token": csrf, "user": user}))
    # As long-lived as the session: a browser that kept one but dropped the other could not submit.
    resp.set_cookie(CSRF_COOKIE, csrf, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"],
                    max_age=int(current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()))
    return resp


@blp.route("/auth/logout", methods=["POST"])
@blp.response(204)
def logout() -> Any:
    cookie.clear()
    resp = make_response("", 204)
    resp.delete_cookie(CSRF_COOKIE)
    return resp


@blp.route("/me")
@login_required
@blp.response(200, UserOut)
def me() -> User:
    """The signed-in user, with region, department, groups and manager."""
    return require_user()


@blp.route("/users")
@roles_required("admin")
@blp.response(200, UserOut(many=True))
def users() -> list[User]:
    """Every user of the organisation (administrators only)."""
    # A plain route, not a MethodView: flask-smorest lost the MethodView's 200 response from the
    # OpenAPI document (POST /users, another blueprint, shares the path).
    from sqlalchemy import select

    return list(db().execute(select(User).order_by(User.username)).scalars())
