"""Credentials beyond passwords: API tokens for machine clients and sign-in throttling."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.errors import BadRequest, NotFound, TooManyRequests
from engine.org.models import ApiToken, LoginFailure, User

TOKEN_PREFIX = "nea_"
SCOPES = ("read", "write")
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # don't write on every request


class TooManyAttempts(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after // 60 + 1} minutes", retry_after)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class IssuedToken:
    row: ApiToken
    plaintext: str  # shown once; only its hash is stored


def create_token(
    session: Session, *, user: User, name: str, scopes: list[str], created_by: str,
    expires_at: dt.datetime | None = None,
) -> IssuedToken:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise BadRequest(f"scopes must be a non-empty subset of {', '.join(SCOPES)}", {"scopes": bad})
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, prefix=prefix, secret_hash=_digest(secret),
                   scopes=" ".join(sorted(set(scopes))), created_by=created_by, expires_at=expires_at)
    session.add(row)
    session.flush()
    return IssuedToken(row, f"{TOKEN_PREFIX}{prefix}_{secret}")


def authenticate_token(session: Session, plaintext: str, now: dt.datetime) -> tuple[User, set[str]] | None:
    if not plaintext.startswith(TOKEN_PREFIX) or plaintext.count("_") < 2:
        return None
    prefix, _, secret = plaintext[len(TOKEN_PREFIX):].partition("_")
    row = session.execute(select(ApiToken).where(ApiToken.prefix == prefix)).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(secret)):
        return None
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.flush()
    return user, set(row.scopes.split())


def revoke_token(session: Session, token_id: int, now: dt.datetime) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = now
    session.flush()
    return row


def check_login_allowed(session: Session, username: str, now: dt.datetime) -> None:
    since = now - LOCKOUT
    count, last = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(LoginFailure.username == username, LoginFailure.at > since)
    ).one()
    if count >= MAX_FAILURES and last is not None:
        if last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        raise TooManyAttempts(max(1, int((last + LOCKOUT - now).total_seconds())))


def record_login_failure(session: Session, username: str, ip: str, now: dt.datetime) -> None:
    session.add(LoginFailure(username=username[:100], ip=ip[:64], at=now))
    session.flush()


def clear_login_failures(session: Session, username: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
