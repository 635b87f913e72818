"""Messages from other systems: correlated delivery, start by message, idempotency."""
from __future__ import annotations

from typing import Any


def _waiting_request(login: Any, application_no: str) -> tuple[Any, int]:
    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:message-wait"}).get_json()
    t = inst["tasks"][0]
    done = ops.post(f"/api/v1/tasks/{t['id']}/complete", json={"data": {}}).get_json()
    assert done["status"] == "running"  # the apply form has no schema: nothing merged
    return ops, inst["id"]


def test_message_is_delivered_by_correlation_once(login: Any, app: Any) -> None:
    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:message-wait",
                                                       "data": {"application_no": "SGCC-2026-077"}}).get_json()
    t = inst["tasks"][0]
    waiting = ops.post(f"/api/v1/tasks/{t['id']}/complete", json={"data": {}}).get_json()
    assert waiting["status"] == "waiting" and waiting["metadata"]["application_no"] == "SGCC-2026-077"
    other = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:message-wait",
                                                        "data": {"application_no": "SGCC-2026-078"}}).get_json()
    ops.post(f"/api/v1/tasks/{other['tasks'][0]['id']}/complete", json={"data": {}})

    grid = login("admin")  # an HQ integration account
    body = {"correlation": {"application_no": "SGCC-2026-077"}, "payload": {"approved": True, "capacity_kva": 1250}}
    h = {"Idempotency-Key": "sgcc-reply-77"}
    r = grid.client.post("/api/v1/messages/grid_reply", json=body, headers={**grid._h(), **h})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"delivered_to": [inst["id"]], "started": []}
    done = ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()
    assert done["status"] == "complete" and done["data"]["grid_reply"]["capacity_kva"] == 1250
    assert "message_received" in [e["type"] for e in done["timeline"]]
    # The same delivery again: the same answer, nothing applied twice.
    again = grid.client.post("/api/v1/messages/grid_reply", json=body, headers={**grid._h(), **h})
    assert again.status_code == 200 and again.get_json() == r.get_json()
    assert ops.get(f"/api/v1/process-instances/{other['id']}").get_json()["status"] == "waiting"
    # Without the key a second delivery finds nobody waiting under that correlation.
    assert grid.post("/api/v1/messages/grid_reply", json=body).status_code == 404
    assert grid.post("/api/v1/messages/no_such_message", json={"payload": {}}).status_code == 404


def test_messages_respect_region_scope(login: Any) -> None:
    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:message-wait",
                                                       "data": {"application_no": "X-1"}}).get_json()
    ops.post(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", json={"data": {}})
    south = login("south_ops")
    r = south.post("/api/v1/messages/grid_reply", json={"process_instance_id": inst["id"], "payload": {"approved": True}})
    assert r.status_code == 404
    r = ops.post("/api/v1/messages/grid_reply", json={"process_instance_id": inst["id"], "payload": {"approved": False}})
    assert r.status_code == 200 and r.get_json()["delivered_to"] == [inst["id"]]


def test_a_message_starts_a_request(login: Any) -> None:
    spc = login("east_ops")
    r = spc.post("/api/v1/messages/fault_alarm", json={"payload": {"alarm_id": "A-9", "station": "苏州工业园站"}})
    assert r.status_code == 201, r.get_json()
    [iid] = r.get_json()["started"]
    inst = spc.get(f"/api/v1/process-instances/{iid}").get_json()
    assert inst["metadata"]["alarm_id"] == "A-9" and inst["tasks"][0]["bpmn_id"] == "handle"
