"""Authentication, resolved once per request into g.user:
- a bearer API token (`nea_...`, created by an admin, scoped read/write, revocable);
- a bearer sign-in token (returned by POST /auth/login, signed, revoked by a password change);
- the session cookie, for the browser; unsafe methods then need the X-CSRF-Token header."""
from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import joinedload

from api.db import db
from engine.db import utcnow
from engine.errors import DomainError, Forbidden
from engine.org.models import User
from engine.org.security import TOKEN_PREFIX, authenticate_token

F = TypeVar("F", bound=Callable[..., Any])
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "X-CSRF-Token"
CSRF_COOKIE = "csrf_token"


class Unauthorized(DomainError):
    code, status = "unauthorized", 401


class CsrfFailed(DomainError):
    code, status = "csrf_failed", 403


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-token")


def issue_token(user: User) -> str:
    # The password hash's tail is part of the token: changing the password revokes old tokens.
    return _serializer().dumps({"uid": user.id, "pw": user.password_hash[-12:]})


def new_csrf_token() -> str:
    token = secrets.token_urlsafe(24)
    session["csrf"] = token
    return token


def _load_user(uid: Any) -> User | None:
    """The signed-in user with their groups in one query (every request needs both)."""
    if not isinstance(uid, int):
        return None
    return db().get(User, uid, options=[joinedload(User.groups)])


def _user_from_signed_token(token: str) -> User | None:
    try:
        payload = _serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    user = _load_user(payload.get("uid"))
    if user is None or not user.is_active or user.password_hash[-12:] != payload.get("pw"):
        return None
    return user


def _resolve() -> tuple[User | None, str, set[str]]:
    """(user, how they authenticated, scopes)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        if token.startswith(TOKEN_PREFIX):
            found = authenticate_token(db(), token, utcnow())
            if found is not None:
                db().commit()  # last_used_at
                return found[0], "api_token", found[1]
            return None, "api_token", set()
        return _user_from_signed_token(token), "bearer", {"read", "write"}
    if "uid" in session:
        user = _load_user(session["uid"])
        return (user if user is not None and user.is_active else None), "cookie", {"read", "write"}
    return None, "none", set()


def current_user() -> User | None:
    if "user" not in g:
        g.user, g.auth_via, g.scopes = _resolve()
    return g.user


def require_user() -> User:
    user = current_user()
    if user is None:
        raise Unauthorized("sign in first (session cookie or Authorization: Bearer <token>)")
    unsafe = request.method not in SAFE_METHODS
    if unsafe and "write" not in g.scopes:
        raise Forbidden("this API token is read-only")
    if unsafe and g.auth_via == "cookie":
        sent, expected = request.headers.get(CSRF_HEADER, ""), session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent, expected):
            raise CsrfFailed(f"missing or wrong {CSRF_HEADER} header (read it from the {CSRF_COOKIE} cookie)")
    return user


def login_required(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_user()
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = require_user()
            if not user.has_role(*roles):
                raise Forbidden(f"requires role: {' or '.join(roles)}")
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco
