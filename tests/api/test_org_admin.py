"""Administering the organisation through the API, delegation (代理) and auto-skip (自动去重)."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any


def _patch(c: Any, url: str, body: dict[str, Any]) -> Any:
    return c.client.patch(url, json=body, headers=c._h())


def test_admin_creates_updates_and_deactivates_users(login: Any) -> None:
    admin = login("admin")
    r = admin.post("/api/v1/users", json={"username": "east_new", "display_name": "新同事", "region": "EAST",
                                          "groups": ["planner"], "manager": "east_manager", "password": "s3cret-pass",
                                          "phone": "138 0000 1234", "email": "new@demo.example.com"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["manager"] == "east_manager" and r.get_json()["groups"] == ["planner"]
    assert admin.post("/api/v1/users", json={"username": "east_new", "region": "EAST", "password": "s3cret-pass"}).status_code == 409
    bad = admin.post("/api/v1/users", json={"username": "x y", "region": "MARS", "groups": ["nope"], "email": "bad",
                                            "password": "s3cret-pass"})
    assert bad.status_code == 422
    assert {e["path"] for e in bad.get_json()["errors"]} >= {"/username", "/region", "/groups/0", "/email"}
    login("east_new", "s3cret-pass")  # can sign in
    cycle = _patch(admin, "/api/v1/users/east_manager", {"manager": "east_new"})
    assert cycle.status_code == 422 and "cycle" in cycle.get_json()["error"]["message"]
    assert _patch(admin, "/api/v1/users/east_new", {"is_active": False}).status_code == 200
    r = admin.client.post("/api/v1/auth/login", json={"username": "east_new", "password": "s3cret-pass"})
    assert r.status_code == 401
    assert _patch(admin, "/api/v1/users/admin", {"is_active": False}).status_code == 403
    assert _patch(login("east_ops"), "/api/v1/users/east_ops", {"display_name": "x"}).status_code == 403
    events = [e for e in admin.get("/api/v1/users").get_json() if e["username"] == "east_new"]
    assert events and events[0]["region"] == "EAST"


def test_groups_and_regions(login: Any) -> None:
    admin = login("admin")
    assert admin.post("/api/v1/groups", json={"name": "grid_liaison", "display_name": "电力报装", "hq_wide": True}).status_code == 201
    assert admin.post("/api/v1/groups", json={"name": "grid_liaison"}).status_code == 409
    names = {g["name"]: g for g in admin.get("/api/v1/groups").get_json()}
    assert names["grid_liaison"]["hq_wide"] is True and "east_planner" in names["planner"]["members"]
    regions = {r["code"]: r["name"] for r in login("east_ops").get("/api/v1/regions").get_json()}
    assert regions["EAST"] == "华东" and regions["HQ"] == "总部"


def _deploy_two_step(login: Any, skip_value: str) -> None:
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="twice" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="区域经理"><bpmn:flowNodeRef>first</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="复核人"><bpmn:flowNodeRef>second</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="first" name="初审"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="owners" name="指定复核人"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:script>lane_owners = {{"复核人": ["east_manager", "east_finance"]}}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="second" name="复核">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="autoSkipIfApproved" value='{skip_value}' />
      </spiffworkflow:properties>
      <spiffworkflow:postScript>second_by = get_current_user()["username"]</spiffworkflow:postScript></bpmn:extensionElements>
      <bpmn:incoming>c</bpmn:incoming><bpmn:outgoing>d</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>d</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="first"/>
    <bpmn:sequenceFlow id="b" sourceRef="first" targetRef="owners"/>
    <bpmn:sequenceFlow id="c" sourceRef="owners" targetRef="second"/>
    <bpmn:sequenceFlow id="d" sourceRef="second" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
    meta = json.dumps({"display_name": "两级审批", "primary_file_name": "t.bpmn", "primary_process_id": "twice"})
    r = login("designer").post("/api/v1/process-models/t:twice/deployments", json={"files": {"t.bpmn": bpmn, "process_model.json": meta}})
    assert r.status_code == 201, r.get_json()


def test_same_approver_is_skipped_automatically(login: Any) -> None:
    _deploy_two_step(login, '{"skipped": true}')
    inst = login("east_ops").post("/api/v1/process-instances", json={"process_model_id": "t:twice"}).get_json()
    mgr = login("east_manager")
    first = [t for t in inst["tasks"] if t["bpmn_id"] == "first"][0]
    done = mgr.post(f"/api/v1/tasks/{first['id']}/complete", json={"data": {}}).get_json()
    assert done["status"] == "complete" and done["data"]["skipped"] is True
    assert done["data"]["second_by"] == "east_manager"  # the skipped step ran as its approver
    auto = [e for e in done["timeline"] if e["type"] == "task_auto_completed"]
    assert len(auto) == 1 and auto[0]["data"]["approver"] == "east_manager"
    second = [t for t in done["tasks"] if t["bpmn_id"] == "second"][0]
    assert second["status"] == "completed" and second["completed_by"] == "east_manager"


def test_new_tasks_for_someone_on_leave_go_to_their_delegate(login: Any) -> None:
    _deploy_two_step(login, "false-json")  # not valid JSON: no auto-skip
    mgr = login("east_manager")
    now = dt.datetime.now(dt.UTC)
    r = mgr.post("/api/v1/me/delegations", json={"delegate": "east_planner", "reason": "年假",
                                                 "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
                                                 "ends_at": (now + dt.timedelta(days=3)).isoformat()})
    assert r.status_code == 201, r.get_json()
    assert mgr.post("/api/v1/me/delegations", json={"delegate": "east_manager", "starts_at": now.isoformat(),
                                                    "ends_at": (now + dt.timedelta(days=1)).isoformat()}).status_code == 422
    assert mgr.post("/api/v1/me/delegations", json={"delegate": "east_planner", "starts_at": "2026-01-01T00:00:00",
                                                    "ends_at": "2026-01-02T00:00:00+08:00"}).status_code == 422
    inst = login("east_ops").post("/api/v1/process-instances", json={"process_model_id": "t:twice"}).get_json()
    first = [t for t in inst["tasks"] if t["bpmn_id"] == "first"][0]
    # The first task went to the regional-manager group: the group still covers it.
    assert mgr.post(f"/api/v1/tasks/{first['id']}/complete", json={"data": {}}).status_code == 200
    after = login("east_ops").get(f"/api/v1/process-instances/{inst['id']}").get_json()
    second = [t for t in after["tasks"] if t["bpmn_id"] == "second"][0]
    # east_manager was named directly: the task went to the delegate instead.
    assert sorted(second["candidate_users"]) == ["east_finance", "east_planner"]
    moved = [e for e in after["timeline"] if e["type"] == "task_delegated"]
    assert moved and moved[0]["data"]["from"] == "east_manager" and moved[0]["data"]["to"] == "east_planner"
    listed = mgr.get("/api/v1/me/delegations").get_json()
    assert listed[0]["delegate"] == "east_planner"
    assert mgr.client.delete(f"/api/v1/me/delegations/{listed[0]['id']}", headers=mgr._h()).status_code == 204
