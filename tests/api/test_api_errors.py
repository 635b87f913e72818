"""Unhappy paths: every error is JSON with the contract's shape and the right status."""
from __future__ import annotations

from typing import Any


def _err(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    body = r.get_json()
    assert set(body["error"]) >= {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code
    return body


def test_unauthenticated_calls_are_401(app: Any) -> None:
    c = app.test_client()
    for url in ("/api/v1/me", "/api/v1/tasks", "/api/v1/process-instances", "/api/v1/process-models", "/api/v1/users"):
        _err(c.get(url), 401, "unauthorized")
    _err(c.get("/api/v1/me", headers={"Authorization": "Bearer forged.token.value"}), 401)


def test_login_failures(app: Any, org: Any) -> None:
    c = app.test_client()
    _err(c.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong"}), 401)
    _err(c.post("/api/v1/auth/login", json={"username": "nobody", "password": "demo"}), 401)
    body = _err(c.post("/api/v1/auth/login", json={"username": "admin"}), 422)
    assert body["errors"][0]["path"] == "/password"
    _err(c.post("/api/v1/auth/login", data="{not json", headers={"Content-Type": "application/json"}), 400)


def test_session_cookie_login_works(app: Any, org: Any) -> None:
    c = app.test_client()
    r = c.post("/api/v1/auth/login", json={"username": "east_ops", "password": "demo"})
    assert r.status_code == 200 and r.get_json()["token"]
    me = c.get("/api/v1/me").get_json()
    assert me["username"] == "east_ops" and me["region"] == "EAST" and me["manager"] == "east_manager"
    assert "operations" in me["groups"]


def test_users_is_admin_only(login: Any) -> None:
    _err(login("east_ops").get("/api/v1/users"), 403, "forbidden")
    users = login("admin").get("/api/v1/users").get_json()
    assert {"admin", "designer", "auditor", "east_planner"} <= {u["username"] for u in users}


def test_not_found_and_bad_ids(login: Any) -> None:
    c = login("east_ops")
    _err(c.get("/api/v1/tasks/999999"), 404, "not_found")
    _err(c.get("/api/v1/process-instances/999999"), 404)
    _err(c.get("/api/v1/process-models/no:such"), 404)
    _err(c.post("/api/v1/process-instances", json={"process_model_id": "no/such"}), 404)
    _err(c.get("/api/v1/no-such-endpoint"), 404)
    body = _err(c.post("/api/v1/process-instances", json={"data": {}}), 422)
    assert body["errors"][0]["path"] == "/process_model_id"
    _err(c.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval", "data": [1]}), 422)
    _err(c.post("/api/v1/tasks/1/complete", json={"data": "text"}), 422)


def test_openapi_document_describes_the_contract(app: Any) -> None:
    doc = app.test_client().get("/api/openapi.json").get_json()
    paths = doc["paths"]
    for p in ("/api/v1/auth/login", "/api/v1/me", "/api/v1/tasks", "/api/v1/tasks/{task_id}/complete",
              "/api/v1/process-instances", "/api/v1/process-models/{model_id}/deployments"):
        assert p in paths, p
    assert app.test_client().get("/healthz").get_json() == {"status": "ok"}
