"""Authentication: session cookie or bearer token, resolved once per request into g.user."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from api.db import db
from engine.errors import DomainError, Forbidden
from engine.org.models import User

F = TypeVar("F", bound=Callable[..., Any])


class Unauthorized(DomainError):
    code, status = "unauthorized", 401


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-token")


def issue_token(user: User) -> str:
    # The password hash's tail is part of the token: changing the password revokes old tokens.
    return _serializer().dumps({"uid": user.id, "pw": user.password_hash[-12:]})


def _user_from_token(token: str) -> User | None:
    try:
        payload = _serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    user = db().get(User, payload.get("uid"))
    if user is None or not user.is_active or user.password_hash[-12:] != payload.get("pw"):
        return None
    return user


def current_user() -> User | None:
    if "user" in g:
        return g.user
    user = None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user = _user_from_token(header[7:].strip())
    elif "uid" in session:
        candidate = db().get(User, session["uid"])
        user = candidate if candidate is not None and candidate.is_active else None
    g.user = user
    return user


def require_user() -> User:
    user = current_user()
    if user is None:
        raise Unauthorized("sign in first (session cookie or Authorization: Bearer <token>)")
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
