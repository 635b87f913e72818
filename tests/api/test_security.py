"""Machine clients and sessions: API tokens, CSRF on cookie sessions, sign-in throttling."""
from __future__ import annotations

from typing import Any


def _cookie_client(app: Any, username: str) -> tuple[Any, str]:
    c = app.test_client()
    r = c.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert r.status_code == 200
    cookie = r.headers.getlist("Set-Cookie")
    assert any(h.startswith("nea_session=") and "HttpOnly" in h and "SameSite=Lax" in h for h in cookie), cookie
    assert any(h.startswith("csrf_token=") for h in cookie)
    return c, r.get_json()["csrf_token"]


def test_cookie_sessions_need_the_csrf_header_for_changes(app: Any, deployed: Any) -> None:
    c, csrf = _cookie_client(app, "east_ops")
    body = {"process_model_id": "demo:simple-approval"}
    assert c.get("/api/v1/me").status_code == 200  # reads need no token
    r = c.post("/api/v1/process-instances", json=body)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "csrf_failed"
    assert c.post("/api/v1/process-instances", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert c.post("/api/v1/process-instances", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_sign_in_is_throttled_after_five_failures(app: Any, org: Any) -> None:
    c = app.test_client()
    for _ in range(5):
        assert c.post("/api/v1/auth/login", json={"username": "east_ops", "password": "nope"}).status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "east_ops", "password": "demo"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["error"]["code"] == "too_many_requests"
    # Other accounts are not affected.
    assert c.post("/api/v1/auth/login", json={"username": "east_planner", "password": "demo"}).status_code == 200


def test_api_tokens_are_scoped_hashed_and_revocable(app: Any, login: Any, session: Any) -> None:
    admin = login("admin")
    r = admin.post("/api/v1/tokens", json={"username": "east_ops", "name": "充电平台集成", "scopes": ["read"]})
    assert r.status_code == 201, r.get_json()
    read = r.get_json()
    assert read["token"].startswith("nea_") and read["scopes"] == ["read"]
    from engine.org.models import ApiToken
    stored = session.get(ApiToken, read["id"])
    assert read["token"] not in (stored.secret_hash, stored.prefix)  # only a hash is kept

    c = app.test_client()
    h = {"Authorization": f"Bearer {read['token']}"}
    assert c.get("/api/v1/me", headers=h).get_json()["username"] == "east_ops"
    r = c.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}, headers=h)
    assert r.status_code == 403  # read-only
    listed = admin.get("/api/v1/tokens").get_json()
    assert listed[0]["last_used_at"] and "token" not in listed[0]

    w = admin.post("/api/v1/tokens", json={"username": "east_ops", "name": "w", "scopes": ["read", "write"]}).get_json()
    hw = {"Authorization": f"Bearer {w['token']}"}
    assert c.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}, headers=hw).status_code == 201
    assert admin.client.delete(f"/api/v1/tokens/{w['id']}", headers=admin._h()).status_code == 204
    assert c.get("/api/v1/me", headers=hw).status_code == 401
    assert c.get("/api/v1/me", headers={"Authorization": "Bearer nea_000000000000_wrong"}).status_code == 401
    assert login("east_ops").post("/api/v1/tokens", json={"username": "east_ops", "name": "x"}).status_code == 403
    assert admin.post("/api/v1/tokens", json={"username": "ghost", "name": "x"}).status_code == 422


def test_password_change_revokes_sign_in_tokens(login: Any) -> None:
    ops = login("east_ops")
    assert ops.get("/api/v1/me").status_code == 200
    r = login("admin").client.patch("/api/v1/users/east_ops", json={"password": "a-new-password"},
                                     headers=login("admin")._h())
    assert r.status_code == 200
    assert ops.get("/api/v1/me").status_code == 401
