"""The approval flow through the REST API, as approvers and clients drive it."""
from __future__ import annotations

from typing import Any

MODEL = "demo/simple-approval"


def _start(c: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    r = c.post("/api/v1/process-instances", json={"process_model_id": MODEL, **({"data": data} if data else {})})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _open_task(c: Any, instance_id: int, scope: str = "mine") -> dict[str, Any]:
    r = c.get(f"/api/v1/tasks?scope={scope}&process_instance_id={instance_id}")
    assert r.status_code == 200, r.get_json()
    items = r.get_json()["items"]
    assert len(items) == 1, items
    return items[0]


def test_request_runs_end_to_end_through_the_right_people(login: Any) -> None:
    ops = login("east_ops")
    inst = _start(ops)
    assert inst["status"] == "running" and inst["region"] == "EAST"
    apply_task = _open_task(ops, inst["id"])
    assert apply_task["name"] == "提交申请" and apply_task["candidate_users"] == ["east_ops"]

    detail = ops.get(f"/api/v1/tasks/{apply_task['id']}").get_json()
    assert detail["form"]["schema"]["required"] == ["title", "amount"]
    assert detail["form"]["ui_schema"]["ui:order"][0] == "title"
    # The first step has nothing earlier to send back to, and is the initiator's own (no claim).
    assert detail["allowed_actions"] == ["complete", "save-draft", "transfer", "cc", "add-approver", "comment"]

    r = ops.post(f"/api/v1/tasks/{apply_task['id']}/complete",
                 json={"data": {"title": "华东充电桩采购", "amount": 1234567.89, "smuggled": "x"}})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["data"]["title"] == "华东充电桩采购"
    assert "smuggled" not in body["data"]  # only validated fields are merged
    assert body["metadata"]["title"] == "华东充电桩采购"

    # The regional manager of EAST gets it; the one in SOUTH does not see it at all.
    mgr = login("east_manager")
    review = _open_task(mgr, inst["id"], scope="group")
    assert review["candidate_groups"] == ["regional_manager@EAST"]
    assert review["sla_state"] == "on_track" and review["due_at"] > review["created_at"]  # slaDuration PT4H
    south = login("south_manager")
    assert south.get(f"/api/v1/tasks/{review['id']}").status_code == 404
    assert south.get(f"/api/v1/process-instances/{inst['id']}").status_code == 404
    assert south.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 404
    # Someone in the region without the role may read but not act.
    planner = login("east_planner")
    assert planner.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 403

    detail = mgr.get(f"/api/v1/tasks/{review['id']}").get_json()
    assert "华东充电桩采购" in detail["instructions"]
    assert mgr.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve", "comment": "同意"}}).status_code == 200

    fin = login("east_finance")
    ftask = _open_task(fin, inst["id"], scope="group")
    r = fin.post(f"/api/v1/tasks/{ftask['id']}/complete", json={"data": {"finance_ok": True}})
    assert r.status_code == 200
    done = r.get_json()
    assert done["status"] == "complete" and done["completed_at"]
    assert done["data"]["outcome"] == "approved" and done["data"]["approved_by"] == "east_finance"
    types = [e["type"] for e in done["timeline"]]
    assert types[0] == "instance_started" and types[-1] == "instance_completed"
    assert types.count("task_completed") == 3
    # A finished task cannot be completed again.
    again = fin.post(f"/api/v1/tasks/{ftask['id']}/complete", json={"data": {"finance_ok": True}})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"


def test_invalid_submission_is_422_naming_each_field_and_changes_nothing(login: Any) -> None:
    ops = login("east_ops")
    inst = _start(ops)
    task = _open_task(ops, inst["id"])
    r = ops.post(f"/api/v1/tasks/{task['id']}/complete",
                 json={"data": {"amount": -5, "needed_by": "2026-13-40"}})
    assert r.status_code == 422
    body = r.get_json()
    paths = {e["path"] for e in body["errors"]}
    assert {"/title", "/amount", "/needed_by"} <= paths
    assert body["error"]["code"] == "validation_error"
    assert _open_task(ops, inst["id"])["id"] == task["id"]  # still open
    inst_after = ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()
    assert [e["type"] for e in inst_after["timeline"]].count("task_completed") == 0


def test_send_back_loops_to_the_initiator(login: Any) -> None:
    ops, mgr = login("west_ops"), login("west_manager")
    inst = _start(ops)
    for i in range(3):
        t = _open_task(ops, inst["id"])
        assert ops.post(f"/api/v1/tasks/{t['id']}/complete", json={"data": {"title": f"第{i}版", "amount": 10 + i}}).status_code == 200
        r = _open_task(mgr, inst["id"], scope="group")
        assert mgr.post(f"/api/v1/tasks/{r['id']}/complete", json={"data": {"decision": "send_back"}}).status_code == 200
    t = _open_task(ops, inst["id"])
    detail = ops.get(f"/api/v1/tasks/{t['id']}").get_json()
    assert detail["data"]["title"] == "第2版"  # the previous round's data is there to edit


def test_lists_page_and_filter(login: Any) -> None:
    ops = login("north_ops")
    ids = [_start(ops)["id"] for _ in range(3)]
    r = ops.get("/api/v1/process-instances?per_page=2&page=1").get_json()
    assert r["total"] == 3 and len(r["items"]) == 2 and r["page"] == 1
    r2 = ops.get("/api/v1/process-instances?per_page=2&page=2").get_json()
    assert {i["id"] for i in r["items"] + r2["items"]} == set(ids)
    t = _open_task(ops, ids[0])
    ops.post(f"/api/v1/tasks/{t['id']}/complete", json={"data": {"title": "储能柜", "amount": 99}})
    found = ops.get("/api/v1/process-instances?metadata=title:储能柜").get_json()
    assert [i["id"] for i in found["items"]] == [ids[0]]
    assert ops.get("/api/v1/process-instances?status=running,waiting").get_json()["total"] == 3
    mine = ops.get("/api/v1/tasks?scope=mine").get_json()
    assert mine["total"] == 2
    assert ops.get("/api/v1/tasks?scope=mine&q=储能柜").get_json()["total"] == 0
    mgr = login("north_manager")
    assert mgr.get("/api/v1/tasks?scope=group&q=储能柜").get_json()["total"] == 1
    assert ops.get("/api/v1/tasks?scope=nobody").status_code == 422
    assert ops.get("/api/v1/process-instances?metadata=oops").status_code == 400


def test_withdraw_by_initiator_only(login: Any) -> None:
    ops = login("south_ops")
    inst = _start(ops)
    other = login("south_planner")
    assert other.post(f"/api/v1/process-instances/{inst['id']}/withdraw", json={}).status_code == 403
    r = ops.post(f"/api/v1/process-instances/{inst['id']}/withdraw", json={"reason": "重复提交"})
    assert r.status_code == 200 and r.get_json()["status"] == "withdrawn"
    assert ops.get("/api/v1/tasks?scope=mine").get_json()["total"] == 0
    assert ops.post(f"/api/v1/process-instances/{inst['id']}/withdraw", json={}).status_code == 409


def test_script_error_puts_instance_in_error_and_admin_can_retry(login: Any) -> None:
    ops = login("east_ops")
    r = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:script-error", "data": {"divisor": 0}})
    assert r.status_code == 201
    inst = r.get_json()
    assert inst["status"] == "error"
    assert inst["error"]["bpmn_id"] == "risky" and "division by zero" in inst["error"]["message"]
    assert ops.post(f"/api/v1/process-instances/{inst['id']}/retry").status_code == 403
    admin = login("admin")
    # Still failing: stays in error, nothing lost.
    again = admin.post(f"/api/v1/process-instances/{inst['id']}/retry", json={})
    assert again.status_code == 200 and again.get_json()["status"] == "error"
    assert admin.post(f"/api/v1/process-instances/{inst['id']}/withdraw", json={}).status_code == 403
    # Fixed by correcting the data: it runs on to the next task.
    fixed = admin.post(f"/api/v1/process-instances/{inst['id']}/retry", json={"data": {"divisor": 4}}).get_json()
    assert fixed["status"] == "running" and fixed["data"]["ratio"] == 2.5
    assert [t["bpmn_id"] for t in fixed["tasks"] if t["status"] == "open"] == ["confirm"]
    types = [e["type"] for e in fixed["timeline"]]
    assert types.count("instance_error") == 2 and types.count("instance_retried") == 2
    assert admin.post(f"/api/v1/process-instances/{inst['id']}/retry", json={}).status_code == 409


def test_retry_on_the_newest_version_after_the_script_is_fixed(login: Any) -> None:
    ops, admin, designer = login("east_ops"), login("admin"), login("designer")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:script-error", "data": {"divisor": 0}}).get_json()
    assert inst["status"] == "error"
    model = designer.get("/api/v1/process-models/demo:script-error").get_json()
    bpmn = model["files"]["script_error.bpmn"].replace("ratio = 10 / divisor", "ratio = 10 / divisor if divisor else None")
    assert designer.post("/api/v1/process-models/demo:script-error/deployments",
                         json={"files": {"script_error.bpmn": bpmn}}).status_code == 201
    # Retrying on its own version fails again; on the newest it goes on.
    assert admin.post(f"/api/v1/process-instances/{inst['id']}/retry", json={}).get_json()["status"] == "error"
    fixed = admin.post(f"/api/v1/process-instances/{inst['id']}/retry", json={"to_latest_version": True}).get_json()
    assert fixed["status"] == "running" and fixed["version"] == 2 and fixed["data"]["ratio"] is None
    assert "instance_migrated" in [e["type"] for e in fixed["timeline"]]


def test_call_activity_resolves_another_model_and_camunda_assignees(login: Any) -> None:
    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:caller"}).get_json()
    assert inst["status"] == "running", inst
    fin = login("east_finance")
    t = _open_task(fin, inst["id"], scope="group")
    assert t["bpmn_id"] == "finance_sign" and t["candidate_groups"] == ["finance@EAST"]
    # The called process's form comes from its own model.
    assert fin.get(f"/api/v1/tasks/{t['id']}").get_json()["form"]["schema"]["required"] == ["signed"]
    bad = fin.post(f"/api/v1/tasks/{t['id']}/complete", json={"data": {}})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["path"] == "/signed"
    assert fin.post(f"/api/v1/tasks/{t['id']}/complete", json={"data": {"signed": True}}).status_code == 200
    planner = login("east_planner")
    ack = _open_task(planner, inst["id"], scope="mine")
    assert ack["bpmn_id"] == "planner_ack" and ack["candidate_users"] == ["east_planner"]
    assert login("west_planner").post(f"/api/v1/tasks/{ack['id']}/complete", json={"data": {}}).status_code == 404
    done = planner.post(f"/api/v1/tasks/{ack['id']}/complete", json={"data": {}}).get_json()
    assert done["status"] == "complete" and done["data"]["chain_done"] is True


def test_timer_waits_then_the_poller_advances_it(app: Any, login: Any) -> None:
    import time

    from engine.instances.timers import poll_timers

    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:timer-wait"}).get_json()
    assert inst["status"] == "waiting" and inst["tasks"] == []
    ctx, sessions = app.extensions["engine_ctx"], app.extensions["db_sessions"]
    assert poll_timers(sessions, ctx) == 0  # not due yet
    time.sleep(1.2)
    assert poll_timers(sessions, ctx) == 1
    assert poll_timers(sessions, ctx) == 0  # fired once
    after = ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()
    assert after["status"] == "running" and [t["bpmn_id"] for t in after["tasks"]] == ["after"]
    assert [e["type"] for e in after["timeline"]].count("timer_fired") == 1


def test_sandbox_escape_in_a_model_is_an_error_naming_the_task(login: Any) -> None:
    import json as _json

    designer = login("designer")
    bpmn = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">'
            '<bpmn:process id="evil" isExecutable="true"><bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:scriptTask id="escape" name="逃逸"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>'
            '<bpmn:script>x = get_current_user.__globals__</bpmn:script></bpmn:scriptTask>'
            '<bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="a" sourceRef="s" targetRef="escape"/><bpmn:sequenceFlow id="b" sourceRef="escape" targetRef="e"/>'
            '</bpmn:process></bpmn:definitions>')
    meta = _json.dumps({"display_name": "evil", "primary_file_name": "evil.bpmn", "primary_process_id": "evil"})
    r = designer.post("/api/v1/process-models/t:evil/deployments", json={"files": {"evil.bpmn": bpmn, "process_model.json": meta}})
    assert r.status_code == 422 and r.get_json()["errors"][0]["element_id"] == "escape"
    # Passed the compiler, refused at run time: getattr with a computed name.
    bpmn2 = bpmn.replace("x = get_current_user.__globals__", "x = getattr(get_current_user, '__glo' + 'bals__')")
    r = designer.post("/api/v1/process-models/t:evil/deployments", json={"files": {"evil.bpmn": bpmn2, "process_model.json": meta}})
    assert r.status_code == 201, r.get_json()
    inst = login("east_ops").post("/api/v1/process-instances", json={"process_model_id": "t:evil"}).get_json()
    assert inst["status"] == "error" and inst["error"]["bpmn_id"] == "escape"


def test_lane_owners_in_task_data_override_the_lane(login: Any) -> None:
    import json as _json

    bpmn = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="owners" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="审批人"><bpmn:flowNodeRef>approve</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="pick" name="指定审批人"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:script>lane_owners = {"审批人": [manager_of(get_current_user()["username"]), "group:finance"]}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="approve" name="审批"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="pick"/>
    <bpmn:sequenceFlow id="b" sourceRef="pick" targetRef="approve"/>
    <bpmn:sequenceFlow id="c" sourceRef="approve" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
    meta = _json.dumps({"display_name": "owners", "primary_file_name": "o.bpmn", "primary_process_id": "owners"})
    assert login("designer").post("/api/v1/process-models/t:owners/deployments",
                                  json={"files": {"o.bpmn": bpmn, "process_model.json": meta}}).status_code == 201
    inst = login("south_ops").post("/api/v1/process-instances", json={"process_model_id": "t:owners"}).get_json()
    task = inst["tasks"][0]
    assert task["candidate_users"] == ["south_manager"] and task["candidate_groups"] == ["finance@SOUTH"]
    assert login("south_finance").get(f"/api/v1/tasks/{task['id']}").get_json()["allowed_actions"][0] == "complete"
    assert login("east_finance").get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert login("south_manager").post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}}).status_code == 200


def test_service_task_calls_a_registered_operator_with_exact_decimals(login: Any) -> None:
    import json as _json

    bpmn = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="svc" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="call" name="调用服务">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="OPERATOR" resultVariable="echoed">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="amount" type="any" value="amount * 3" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:userTask id="look" name="查看"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="call"/>
    <bpmn:sequenceFlow id="b" sourceRef="call" targetRef="look"/>
    <bpmn:sequenceFlow id="c" sourceRef="look" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
    meta = _json.dumps({"display_name": "svc", "primary_file_name": "svc.bpmn", "primary_process_id": "svc"})
    designer = login("designer")
    bad = designer.post("/api/v1/process-models/t:svc/deployments",
                        json={"files": {"svc.bpmn": bpmn.replace("OPERATOR", "no/such"), "process_model.json": meta}})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["element_id"] == "call"
    ok = designer.post("/api/v1/process-models/t:svc/deployments",
                       json={"files": {"svc.bpmn": bpmn.replace("OPERATOR", "echo"), "process_model.json": meta}})
    assert ok.status_code == 201, ok.get_json()
    inst = login("east_ops").post("/api/v1/process-instances", json={"process_model_id": "t:svc", "data": {"amount": 0.1}})
    body = inst.get_json()
    assert body["status"] == "running", body
    from decimal import Decimal
    assert body["data"]["echoed"] == {"amount": Decimal("0.3")}  # 0.1 * 3, exactly
