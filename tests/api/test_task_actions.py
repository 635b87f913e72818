"""The Chinese approval actions through the API: claim, transfer (转交), add approver (加签),
send back (退回), CC (抄送), urge (催办), comments, drafts, unread marks and batch approval."""
from __future__ import annotations

import io
import json
from typing import Any

MODEL = "demo/simple-approval"


def _start_and_apply(ops: Any, title: str = "华东充电桩采购", amount: float = 1200) -> tuple[int, dict[str, Any]]:
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": MODEL}).get_json()
    apply_task = inst["tasks"][0]
    r = ops.post(f"/api/v1/tasks/{apply_task['id']}/complete", json={"data": {"title": title, "amount": amount}})
    assert r.status_code == 200, r.get_json()
    return inst["id"], _open(r.get_json())


def _open(instance: dict[str, Any]) -> dict[str, Any]:
    open_tasks = [t for t in instance["tasks"] if t["status"] == "open"]
    assert len(open_tasks) == 1, instance["tasks"]
    return open_tasks[0]


def _instance(c: Any, instance_id: int) -> dict[str, Any]:
    r = c.get(f"/api/v1/process-instances/{instance_id}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _events(c: Any, instance_id: int, kind: str) -> list[dict[str, Any]]:
    return [e for e in _instance(c, instance_id)["timeline"] if e["type"] == kind]


def _inbox_ids(c: Any, scope: str, instance_id: int, status: str = "open") -> set[int]:
    r = c.get(f"/api/v1/tasks?scope={scope}&status={status}&process_instance_id={instance_id}")
    assert r.status_code == 200, r.get_json()
    return {t["id"] for t in r.get_json()["items"]}


def test_claim_makes_a_group_task_mine_and_unclaim_gives_it_back(login: Any) -> None:
    ops, mgr = login("east_ops"), login("east_manager")
    iid, review = _start_and_apply(ops)
    assert review["candidate_groups"] == ["regional_manager@EAST"] and review["assignee"] is None
    assert "claim" in mgr.get(f"/api/v1/tasks/{review['id']}").get_json()["allowed_actions"]
    r = mgr.post(f"/api/v1/tasks/{review['id']}/claim")
    assert r.status_code == 200 and r.get_json()["assignee"] == "east_manager" and r.get_json()["claimed"]
    assert review["id"] in _inbox_ids(mgr, "mine", iid) and review["id"] not in _inbox_ids(mgr, "group", iid)
    assert mgr.post(f"/api/v1/tasks/{review['id']}/claim").status_code == 409
    assert ops.post(f"/api/v1/tasks/{review['id']}/unclaim").status_code == 403  # not an approver at all
    r = mgr.post(f"/api/v1/tasks/{review['id']}/unclaim")
    assert r.status_code == 200 and r.get_json()["assignee"] is None
    assert review["id"] in _inbox_ids(mgr, "group", iid)
    assert [e["type"] for e in _instance(ops, iid)["timeline"] if e["type"].startswith("task_")][-2:] == \
        ["task_claimed", "task_unclaimed"]


def test_transfer_hands_the_task_to_one_person(login: Any) -> None:
    ops, mgr, eng = login("east_ops"), login("east_manager"), login("east_engineer")
    iid, review = _start_and_apply(ops)
    bad = mgr.post(f"/api/v1/tasks/{review['id']}/transfer", json={"to": "nobody"})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "to"
    auditor = mgr.post(f"/api/v1/tasks/{review['id']}/transfer", json={"to": "auditor"})
    assert auditor.status_code == 400 and "auditor" in auditor.get_json()["error"]["message"]
    assert eng.post(f"/api/v1/tasks/{review['id']}/transfer", json={"to": "east_engineer"}).status_code == 403

    r = mgr.post(f"/api/v1/tasks/{review['id']}/transfer", json={"to": "east_engineer", "comment": "请工程部把关"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["assignee"] == "east_engineer" and r.get_json()["candidate_users"] == ["east_engineer"]
    assert review["id"] in _inbox_ids(eng, "mine", iid)
    assert mgr.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 403
    notes = eng.get("/api/v1/notifications").get_json()["items"]
    assert any(n["kind"] == "task_transferred" and n["task_id"] == review["id"] for n in notes)
    (event,) = _events(ops, iid, "task_transferred")
    assert event["actor"] == "east_manager" and event["data"]["to"] == "east_engineer"
    assert event["data"]["from"] == ["east_manager"] and event["data"]["comment"] == "请工程部把关"
    assert eng.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 200
    # An admin may move any open task (its owner left); others may not.
    finance = _open(_instance(ops, iid))
    assert login("admin").post(f"/api/v1/tasks/{finance['id']}/transfer", json={"to": "east_manager"}).status_code == 200


def test_send_back_reopens_the_earlier_step_for_its_author_and_keeps_history(login: Any) -> None:
    ops, mgr, fin = login("east_ops"), login("east_manager"), login("east_finance")
    iid, review = _start_and_apply(ops)
    assert mgr.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 200
    finance = _open(_instance(ops, iid))
    targets = fin.get(f"/api/v1/tasks/{finance['id']}/send-back-targets").get_json()
    assert [t["bpmn_id"] for t in targets] == ["manager_review", "apply"]  # nearest first
    assert targets[0]["completed_by"] == "east_manager" and targets[1]["completed_by"] == "east_ops"

    no_reason = fin.post(f"/api/v1/tasks/{finance['id']}/send-back", json={"to": "apply", "comment": ""})
    assert no_reason.status_code == 422 and no_reason.get_json()["errors"][0]["path"] == "/comment"
    nowhere = fin.post(f"/api/v1/tasks/{finance['id']}/send-back", json={"to": "finance_review", "comment": "x"})
    assert nowhere.status_code == 400 and nowhere.get_json()["error"]["details"]["field"] == "to"

    r = fin.post(f"/api/v1/tasks/{finance['id']}/send-back", json={"to": "apply", "comment": "金额与合同不符，请更正"})
    assert r.status_code == 200, r.get_json()
    reopened = _open(r.get_json())
    assert reopened["bpmn_id"] == "apply" and reopened["candidate_users"] == ["east_ops"]
    assert reopened["id"] in _inbox_ids(ops, "mine", iid)
    task = ops.get(f"/api/v1/tasks/{reopened['id']}").get_json()
    assert task["data"]["title"] == "华东充电桩采购" and task["data"]["decision"] == "approve"  # today's data
    done = fin.get(f"/api/v1/tasks?scope=mine&status=completed&process_instance_id={iid}").get_json()["items"]
    assert [t["outcome"] for t in done] == ["sent_back"]
    (event,) = _events(ops, iid, "task_sent_back")
    assert event["data"]["to"] == "apply" and event["data"]["comment"] == "金额与合同不符，请更正"
    assert len(_events(ops, iid, "task_completed")) == 2  # what the later steps did stays in the history

    r = ops.post(f"/api/v1/tasks/{reopened['id']}/complete", json={"data": {"title": "华东充电桩采购", "amount": 1000}})
    review2 = _open(r.get_json())
    assert review2["bpmn_id"] == "manager_review" and review2["candidate_groups"] == ["regional_manager@EAST"]
    assert mgr.post(f"/api/v1/tasks/{review2['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 200
    finance2 = _open(_instance(ops, iid))
    assert fin.post(f"/api/v1/tasks/{finance2['id']}/complete", json={"data": {"finance_ok": True}}).status_code == 200
    final = _instance(ops, iid)
    assert final["status"] == "complete" and final["data"]["amount"] == 1000


def test_add_approver_before_asks_opinions_first(login: Any) -> None:
    ops, mgr, eng, safety = login("east_ops"), login("east_manager"), login("east_engineer"), login("east_safety")
    iid, review = _start_and_apply(ops)
    r = mgr.post(f"/api/v1/tasks/{review['id']}/add-approver",
                 json={"users": ["east_engineer", "east_safety"], "position": "before", "sign": "all",
                       "comment": "请先看技术方案"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "on_hold"
    assert review["id"] not in _inbox_ids(mgr, "group", iid) | _inbox_ids(mgr, "mine", iid)
    assert mgr.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 409
    (added_eng,) = eng.get(f"/api/v1/tasks?scope=mine&process_instance_id={iid}").get_json()["items"]
    assert added_eng["kind"] == "added" and added_eng["parent_id"] == review["id"]
    assert added_eng["added_by"] == "east_manager" and added_eng["add_position"] == "before"
    form = eng.get(f"/api/v1/tasks/{added_eng['id']}").get_json()
    assert form["form"]["schema"]["required"] == ["decision"]
    assert "add-approver" not in form["allowed_actions"] and "send-back" not in form["allowed_actions"]
    bad = eng.post(f"/api/v1/tasks/{added_eng['id']}/complete", json={"data": {"decision": "reject"}})
    assert bad.status_code == 422 and {e["path"] for e in bad.get_json()["errors"]} == {"/comment"}
    assert eng.post(f"/api/v1/tasks/{added_eng['id']}/complete",
                    json={"data": {"decision": "approve", "comment": "方案可行"}}).status_code == 200
    assert _instance(ops, iid)["tasks"][1]["status"] == "on_hold"  # all must answer (会签)
    (added_safety,) = safety.get(f"/api/v1/tasks?scope=mine&process_instance_id={iid}").get_json()["items"]
    assert safety.post(f"/api/v1/tasks/{added_safety['id']}/complete",
                       json={"data": {"decision": "reject", "comment": "缺少消防验收"}}).status_code == 200
    detail = mgr.get(f"/api/v1/tasks/{review['id']}").get_json()
    assert detail["status"] == "open" and [a["outcome"] for a in detail["added_approvers"]] == ["approve", "reject"]
    answers = _events(ops, iid, "added_approver_answered")
    assert [(e["actor"], e["data"]["decision"]) for e in answers] == [("east_engineer", "approve"), ("east_safety", "reject")]
    assert mgr.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 200


def test_add_approver_after_applies_my_decision_once_they_agree(login: Any) -> None:
    ops, mgr, eng, safety = login("east_ops"), login("east_manager"), login("east_engineer"), login("east_safety")
    iid, review = _start_and_apply(ops)
    invalid = mgr.post(f"/api/v1/tasks/{review['id']}/add-approver",
                       json={"users": ["east_engineer"], "position": "after", "data": {"decision": "maybe"}})
    assert invalid.status_code == 422 and invalid.get_json()["errors"][0]["path"] == "/decision"
    assert _open(_instance(ops, iid))["id"] == review["id"]  # nothing changed
    myself = mgr.post(f"/api/v1/tasks/{review['id']}/add-approver", json={"users": ["east_manager"], "position": "after"})
    assert myself.status_code == 400 and myself.get_json()["error"]["details"]["field"] == "users"

    r = mgr.post(f"/api/v1/tasks/{review['id']}/add-approver",
                 json={"users": ["east_engineer", "east_safety"], "position": "after", "sign": "any",
                       "data": {"decision": "approve", "comment": "同意，请工程或安全任一确认"}})
    assert r.status_code == 200, r.get_json()
    added = {t["assignee"]: t for t in _instance(ops, iid)["tasks"] if t["kind"] == "added"}
    assert set(added) == {"east_engineer", "east_safety"}
    assert eng.post(f"/api/v1/tasks/{added['east_engineer']['id']}/complete",
                    json={"data": {"decision": "approve"}}).status_code == 200
    inst = _instance(ops, iid)
    by_id = {t["id"]: t for t in inst["tasks"]}
    assert by_id[review["id"]]["status"] == "completed" and by_id[review["id"]]["completed_by"] == "east_manager"
    assert by_id[added["east_safety"]["id"]]["status"] == "cancelled"  # 或签: the first answer decides
    assert _open(inst)["bpmn_id"] == "finance_review" and inst["data"]["comment"] == "同意，请工程或安全任一确认"
    assert safety.post(f"/api/v1/tasks/{added['east_safety']['id']}/complete",
                       json={"data": {"decision": "approve"}}).status_code == 409


def test_add_approver_after_rejected_returns_the_task_with_my_draft(login: Any) -> None:
    ops, mgr, eng = login("east_ops"), login("east_manager"), login("east_engineer")
    iid, review = _start_and_apply(ops)
    assert mgr.post(f"/api/v1/tasks/{review['id']}/add-approver",
                    json={"users": ["east_engineer"], "position": "after", "data": {"decision": "approve"}}
                    ).status_code == 200
    (added,) = eng.get(f"/api/v1/tasks?scope=mine&process_instance_id={iid}").get_json()["items"]
    assert eng.post(f"/api/v1/tasks/{added['id']}/complete",
                    json={"data": {"decision": "reject", "comment": "预算超标"}}).status_code == 200
    detail = mgr.get(f"/api/v1/tasks/{review['id']}").get_json()
    assert detail["status"] == "open" and detail["draft"]["data"] == {"decision": "approve"}
    assert any(n["kind"] == "added_answered" for n in mgr.get("/api/v1/notifications").get_json()["items"])


def test_cc_gives_read_only_access_and_a_cc_tab(login: Any) -> None:
    ops, mgr, south = login("east_ops"), login("east_manager"), login("south_planner")
    iid, review = _start_and_apply(ops)
    assert south.get(f"/api/v1/process-instances/{iid}").status_code == 404
    assert south.post(f"/api/v1/process-instances/{iid}/cc", json={"users": ["south_planner"]}).status_code == 404
    assert login("east_planner").post(f"/api/v1/process-instances/{iid}/cc",
                                      json={"users": ["south_planner"]}).status_code == 403
    r = ops.post(f"/api/v1/process-instances/{iid}/cc", json={"users": ["south_planner"], "comment": "供参考"})
    assert r.status_code == 200 and r.get_json()["users"] == ["south_planner"]
    assert mgr.post(f"/api/v1/tasks/{review['id']}/cc", json={"users": ["cfo", "ghost"]}).status_code == 400
    cc = south.get("/api/v1/cc?unread=true").get_json()
    assert cc["total"] == 1 and cc["items"][0]["instance_id"] == iid and cc["items"][0]["by"] == "east_ops"
    assert south.get("/api/v1/inbox/counts").get_json()["cc_unread"] == 1
    assert south.get(f"/api/v1/process-instances/{iid}").status_code == 200  # read-only access, marks read
    assert south.get("/api/v1/cc?unread=true").get_json()["total"] == 0
    assert south.get(f"/api/v1/tasks/{review['id']}").get_json()["allowed_actions"] == ["comment"]  # follows only
    assert south.post(f"/api/v1/tasks/{review['id']}/urge", json={}).status_code == 403
    assert south.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 403
    (event,) = _events(ops, iid, "instance_cc")
    assert event["data"] == {"users": ["south_planner"], "comment": "供参考"}


def test_urge_notifies_the_approvers_at_most_every_half_hour(login: Any) -> None:
    ops, mgr = login("east_ops"), login("east_manager")
    iid, review = _start_and_apply(ops)
    assert mgr.post(f"/api/v1/process-instances/{iid}/urge", json={}).status_code == 403  # not yourself
    assert login("auditor").post(f"/api/v1/process-instances/{iid}/urge", json={}).status_code == 403
    r = ops.post(f"/api/v1/process-instances/{iid}/urge", json={"comment": "客户催得急"})
    assert r.status_code == 200 and r.get_json() == {"notified": ["east_manager"], "tasks": [review["id"]]}
    again = ops.post(f"/api/v1/tasks/{review['id']}/urge", json={})
    assert again.status_code == 429 and 1700 < int(again.headers["Retry-After"]) <= 1801
    notes = [n for n in mgr.get("/api/v1/notifications").get_json()["items"] if n["kind"] == "urge"]
    assert len(notes) == 1 and "客户催得急" in notes[0]["body"]
    assert _events(ops, iid, "task_urged")[0]["data"]["notified"] == ["east_manager"]


def test_comments_with_attachments_drafts_and_unread_marks(login: Any, session: Any) -> None:
    ops, mgr = login("east_ops"), login("east_manager")
    iid, review = _start_and_apply(ops)
    items = mgr.get(f"/api/v1/tasks?scope=group&process_instance_id={iid}").get_json()["items"]
    assert items[0]["unread"] is True
    up = ops.post("/api/v1/attachments", data={"file": (io.BytesIO(b"%PDF-1.4\n%test\n"), "合同.pdf")},
                  content_type="multipart/form-data")
    assert up.status_code == 201, up.get_json()
    ref = up.get_json()["ref"]
    assert mgr.get(f"/api/v1/attachments/{ref[7:]}").status_code == 404  # not linked to anything yet
    r = ops.post(f"/api/v1/process-instances/{iid}/comments", json={"body": "合同见附件", "attachments": [ref]})
    assert r.status_code == 201 and r.get_json()["attachments"] == [ref]
    assert mgr.get(f"/api/v1/attachments/{ref[7:]}").status_code == 200  # a reader of the request may fetch it
    stolen = mgr.post(f"/api/v1/tasks/{review['id']}/comment", json={"body": "x", "attachments": ["sha256:" + "0" * 64]})
    assert stolen.status_code == 400 and stolen.get_json()["error"]["details"]["field"] == "attachments"
    assert login("auditor").post(f"/api/v1/process-instances/{iid}/comments", json={"body": "审计"}).status_code == 403
    assert mgr.post(f"/api/v1/tasks/{review['id']}/comment", json={"body": "收到"}).status_code == 201
    comments = ops.get(f"/api/v1/process-instances/{iid}/comments").get_json()
    assert [(c["author"], c["body"], c["task_name"]) for c in comments] == [
        ("east_ops", "合同见附件", None), ("east_manager", "收到", "区域经理审批")]
    assert [e["data"]["body"] for e in _events(ops, iid, "comment_added")] == ["合同见附件", "收到"]

    saved = mgr.put(f"/api/v1/tasks/{review['id']}/draft", json={"data": {"comment": "还在核对"}})
    assert saved.status_code == 200 and saved.get_json()["data"] == {"comment": "还在核对"}
    assert ops.put(f"/api/v1/tasks/{review['id']}/draft", json={"data": {}}).status_code == 403
    huge = mgr.put(f"/api/v1/tasks/{review['id']}/draft", json={"data": {"x": "字" * 100_000}})
    assert huge.status_code == 400
    detail = mgr.get(f"/api/v1/tasks/{review['id']}").get_json()
    assert detail["draft"]["data"] == {"comment": "还在核对"}
    items = mgr.get(f"/api/v1/tasks?scope=group&process_instance_id={iid}").get_json()["items"]
    assert items[0]["unread"] is False
    assert mgr.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 200
    from engine.instances.models import TaskDraft

    assert session.query(TaskDraft).filter_by(task_id=review["id"]).count() == 0  # gone with the task


def test_batch_approve_each_task_on_its_own(login: Any) -> None:
    ops, mgr = login("east_ops"), login("east_manager")
    first, r1 = _start_and_apply(ops, "一号站")
    second, r2 = _start_and_apply(ops, "二号站")
    items = {t["id"]: t for t in mgr.get("/api/v1/tasks?scope=group").get_json()["items"]}
    assert items[r1["id"]]["batch_approvable"] and items[r2["id"]]["batch_approvable"]
    assert mgr.post(f"/api/v1/tasks/{r2['id']}/claim").status_code == 200
    r = mgr.post("/api/v1/tasks/batch-approve", json={"task_ids": [r1["id"], r2["id"], 999999], "comment": "批量同意"})
    assert r.status_code == 200, r.get_json()
    results = {x["task_id"]: x for x in r.get_json()["results"]}
    assert results[r1["id"]]["ok"] and results[r2["id"]]["ok"]
    assert results[999999] == {"task_id": 999999, "ok": False, "status": 404,
                               "error": {"code": "not_found", "message": "task 999999 not found"}}
    for iid in (first, second):
        inst = _instance(ops, iid)
        assert _open(inst)["bpmn_id"] == "finance_review" and inst["data"]["decision"] == "approve"
    # Finance's form needs input (a confirmation): never batch-approvable.
    fin = login("east_finance")
    items = fin.get("/api/v1/tasks?scope=group").get_json()["items"]
    assert items and not any(t["batch_approvable"] for t in items)
    bad = fin.post("/api/v1/tasks/batch-approve", json={"task_ids": [items[0]["id"]]}).get_json()
    assert bad["results"][0]["status"] == 409


def test_inbox_counts(login: Any) -> None:
    ops, mgr = login("east_ops"), login("east_manager")
    _start_and_apply(ops)
    _start_and_apply(ops)
    assert mgr.get("/api/v1/inbox/counts").get_json() == {
        "mine": 0, "group": 2, "cc_unread": 0, "started_open": 0, "notifications_unread": 0}
    counts = ops.get("/api/v1/inbox/counts").get_json()
    assert counts["started_open"] == 2 and counts["mine"] == 0


LOOP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="loop" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="file" name="填报"/>
    <bpmn:userTask id="check" name="检查"/>
    <bpmn:scriptTask id="count"><bpmn:script>rounds = rounds + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="done"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="file"/>
    <bpmn:sequenceFlow id="b" sourceRef="file" targetRef="check"/>
    <bpmn:sequenceFlow id="c" sourceRef="check" targetRef="count"/>
    <bpmn:sequenceFlow id="c2" sourceRef="count" targetRef="again"/>
    <bpmn:sequenceFlow id="loopback" sourceRef="again" targetRef="check">
      <bpmn:conditionExpression>rounds &lt; 40</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="again" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_send_back_reaches_a_step_long_before_compaction_cut_the_history(login: Any, session: Any) -> None:
    """40 rounds make the tree compact; the first step stays a valid 退回 target, and the path
    taken (for the record's diagram) still has the start of the request."""
    meta = json.dumps({"display_name": "loop", "primary_file_name": "loop.bpmn", "primary_process_id": "loop"})
    assert login("designer").post("/api/v1/process-models/t:loop/deployments",
                                  json={"files": {"loop.bpmn": LOOP_BPMN, "process_model.json": meta}}).status_code == 201
    ops = login("east_ops")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "t:loop", "data": {"rounds": 0}}).get_json()
    task = _open(inst)
    assert ops.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}}).status_code == 200
    for _ in range(39):
        task = _open(_instance(ops, inst["id"]))
        assert task["bpmn_id"] == "check"
        assert ops.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}}).status_code == 200
    task = _open(_instance(ops, inst["id"]))
    targets = ops.get(f"/api/v1/tasks/{task['id']}/send-back-targets").get_json()
    assert [t["bpmn_id"] for t in targets] == ["file"]
    r = ops.post(f"/api/v1/tasks/{task['id']}/send-back", json={"to": "file", "comment": "从头再来"})
    assert r.status_code == 200, r.get_json()
    assert _open(r.get_json())["bpmn_id"] == "file"
    from engine.instances.models import ProcessInstance

    instance = session.get(ProcessInstance, inst["id"])
    assert len(instance.state) < 10_000  # compacted (3.4 KB): 40 rounds do not pile up
    steps = {tuple(x) for x in instance.path["steps"]}
    assert {("s", "file"), ("file", "check"), ("again", "check"), ("count", "again")} <= steps
    assert ("again", "e") not in steps  # never ended


def test_the_record_lists_the_actions_and_named_attachments(login: Any, app: Any, session: Any) -> None:
    from engine.instances.models import ProcessInstance
    from reports.service import record_data

    ops, mgr = login("east_ops"), login("east_manager")
    iid, review = _start_and_apply(ops)
    up = ops.post("/api/v1/attachments", data={"file": (io.BytesIO(b"%PDF-1.4\n%plan\n"), "施工方案.pdf")},
                  content_type="multipart/form-data").get_json()
    assert ops.post(f"/api/v1/process-instances/{iid}/comments", json={"body": "方案见附件",
                                                                       "attachments": [up["ref"]]}).status_code == 201
    assert mgr.post(f"/api/v1/tasks/{review['id']}/send-back", json={"to": "apply", "comment": "请补充预算"}).status_code == 200
    data = record_data(session, app.extensions["engine_ctx"], session.get(ProcessInstance, iid))
    steps = {s.type: s for s in data.steps}
    assert steps["task_sent_back"].comment == "请补充预算" and steps["task_sent_back"].actor == "east_manager"
    assert steps["comment_added"].comment == "方案见附件"
    assert [(a.name, a.sha256) for a in data.attachments] == [("施工方案.pdf", up["sha256"])]


def test_the_request_says_what_the_caller_may_do_and_on_hold_tasks_stay_in_my_list(login: Any) -> None:
    ops, mgr, auditor = login("east_ops"), login("east_manager"), login("auditor")
    iid, review = _start_and_apply(ops)
    assert _instance(ops, iid)["allowed_actions"] == ["withdraw", "urge", "cc", "comment"]
    assert _instance(mgr, iid)["allowed_actions"] == ["cc", "comment"]  # its approver: nobody to urge
    assert _instance(login("east_planner"), iid)["allowed_actions"] == ["comment"]  # may read, took no part
    assert _instance(auditor, iid)["allowed_actions"] == []
    assert mgr.post(f"/api/v1/tasks/{review['id']}/claim").status_code == 200
    assert mgr.post(f"/api/v1/tasks/{review['id']}/add-approver",
                    json={"users": ["east_engineer"], "position": "before"}).status_code == 200
    mine = mgr.get(f"/api/v1/tasks?scope=mine&process_instance_id={iid}").get_json()["items"]
    assert [(t["id"], t["status"]) for t in mine] == [(review["id"], "on_hold")]
