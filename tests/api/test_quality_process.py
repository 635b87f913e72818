"""Field quality issue (2485 rule), end to end through the API: the owner team chosen by fault
type and reassigned on transfer, the 2 h / 24 h / 48 h / 5 d deadlines escalating to the owner's
manager and the manager's manager (fired by the timer poller), rework loops that do not escalate
again, and a request opened by an alarm message from the SPC system."""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from tests.api.process_flow import Flow, fire_timers, load_cases, plan_of

MODEL = "quality:field-quality-issue"
CASES = load_cases("quality/field-quality-issue", "test_field_quality_issue.json")
TEAM_MEMBER = {"质量": "east_quality", "工程": "east_engineer", "运营支持": "east_ops", "安全": "east_safety"}
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _owner_team_member(inst: dict[str, Any]) -> str:
    return TEAM_MEMBER[inst["data"]["owner_team"]]


ACTORS: dict[str, Any] = {
    "report_issue": "east_ops",
    **{t: _owner_team_member for t in ("first_response", "containment", "root_cause", "implementation_verification")},
    "closure_review": "east_quality", "lessons_learned": "east_quality",
    **{f"escalate_{phase}_l1": "east_manager" for phase in ("first_response", "containment", "root_cause", "verification")},
    **{f"escalate_{phase}_l2": "gm" for phase in ("first_response", "containment", "root_cause", "verification")},
}


def _flow(login: Any) -> Flow:
    return Flow(login, ACTORS, outsider="south_quality")


def _expected(flow: Flow, case: dict[str, Any]) -> dict[str, Any]:
    """The unit test's expected data in the East region with the demo organisation: the issue
    number carries the region, the owner is whoever accepted the first response, and escalation
    goes to their manager (east_manager) and on to the GM."""
    expected = dict(case["expected_output_json"])
    expected["issue_no"] = expected["issue_no"].replace("QI-HQ-", "QI-EAST-")
    if expected.get("owner_user") == "test_user":
        expected["owner_user"] = [u for b, u in flow.acted if b == "first_response"][-1]
    expected["lane_owners"] = {**expected["lane_owners"], "一级升级": ["east_manager"], "二级升级": ["gm"]}
    return flow.mapped(expected)


def _run_case(login: Any, case_name: str) -> tuple[Flow, dict[str, Any]]:
    case = CASES[case_name]
    plan = plan_of(case)
    flow = _flow(login)
    flow.start("east_ops", MODEL)
    flow.run(plan)
    flow.assert_plan_used(plan)
    final = flow.instance("east_quality")
    assert final["status"] == "complete", final
    assert final["data"] == _expected(flow, case)
    for key in ("issue_no", "fault_type", "station", "severity", "owner_team"):
        assert final["metadata"][key] == final["data"][key]
    return flow, final


@pytest.mark.parametrize(("case_name", "owners"), [
    ("bms_issue_closed_on_time_lesson_published", ["east_quality"]),
    ("communication_fault_transferred_reworked_and_reopened", ["east_ops", "east_engineer"]),
    ("safety_incident_owned_by_safety", ["east_safety"]),
    ("cell_report_is_a_duplicate", ["east_quality"]),
    ("platform_issue_not_reproducible", ["east_ops"]),
])
def test_quality_issue_through_the_api(login: Any, case_name: str, owners: list[str]) -> None:
    flow, final = _run_case(login, case_name)
    assert [u for b, u in flow.acted if b == "first_response"] == owners  # the team of the fault type, then after transfer
    assert not [t for t in final["tasks"] if t["bpmn_id"].startswith("escalate_")]  # all on time (2099)


def test_every_deadline_missed_escalates_once_per_level(login: Any) -> None:
    """Reported long ago: each phase is late on arrival. Each opens one escalation to the owner's
    manager and one to the GM; the phases re-entered after rework do not escalate again."""
    case = CASES["all_deadlines_missed_levels_recorded"]
    plan = plan_of(case)
    flow = _flow(login)
    flow.start("east_ops", MODEL)
    flow.run(plan, until=lambda i: any(t["bpmn_id"] == "first_response" for t in i["tasks"]))
    l1, l2 = flow.task("escalate_first_response_l1"), flow.task("escalate_first_response_l2")
    assert (l1["candidate_users"], l2["candidate_users"]) == (["east_manager"], ["gm"])
    flow.complete("escalate_first_response_l1", {"escalation_action": "urge", "escalation_comment": "立即响应"})
    flow.complete("escalate_first_response_l2", {"escalation_action": "add_resources", "escalation_comment": "调派华东工程支援"})
    flow.run(plan)
    flow.assert_plan_used(plan)
    final = flow.instance("east_quality")
    assert final["status"] == "complete"
    assert final["data"] == _expected(flow, case)
    escalations = sorted(t["bpmn_id"] for t in final["tasks"] if t["bpmn_id"].startswith("escalate_"))
    assert escalations == sorted(f"escalate_{p}_l{n}" for p in ("first_response", "containment", "root_cause",
                                                                "verification") for n in (1, 2))
    # Those not handled were ended with the issue (terminate end event).
    states = {t["bpmn_id"]: t["status"] for t in final["tasks"] if t["bpmn_id"].startswith("escalate_")}
    assert states["escalate_first_response_l1"] == "completed" and states["escalate_verification_l2"] == "cancelled"


def test_a_missed_first_response_is_escalated_by_the_poller(app: Any, login: Any) -> None:
    """Reported 2 h minus a few seconds ago: on time when opened, late moments later. The timer
    poller opens the escalation for the team's manager; the response, late, records level 1."""
    case = CASES["bms_issue_closed_on_time_lesson_published"]
    plan = plan_of(case)
    reported = dt.datetime.now(BEIJING) - dt.timedelta(hours=2) + dt.timedelta(seconds=3)
    plan["report_issue"][0]["reported_at"] = reported.isoformat(timespec="seconds")
    flow = _flow(login)
    flow.start("east_ops", MODEL)
    flow.run(plan, until=lambda i: any(t["bpmn_id"] == "first_response" for t in i["tasks"]))
    assert not [t for t in flow.open_tasks() if t["bpmn_id"].startswith("escalate_")]
    time.sleep(max(0.0, (reported + dt.timedelta(hours=2) - dt.datetime.now(BEIJING)).total_seconds()) + 1.1)
    assert fire_timers(app) == 1
    assert fire_timers(app) == 0
    escalation = flow.task("escalate_first_response_l1")
    assert escalation["candidate_users"] == ["east_manager"]
    flow.complete("escalate_first_response_l1", {"escalation_action": "urge", "escalation_comment": "请马上联系站长"})
    flow.run(plan)
    flow.assert_plan_used(plan)
    final = flow.instance("east_quality")
    assert final["status"] == "complete"
    assert final["data"]["escalation_level"] == {"first_response": 1, "containment": 0, "root_cause": 0, "verification": 0}
    assert [e["bpmn_id"] for e in final["timeline"] if e["type"] == "timer_fired"] == ["timer_first_response_l1"]


def test_an_alarm_from_the_spc_system_opens_an_issue(login: Any) -> None:
    """The message start: an integration account posts the alarm; the request is opened in the
    alarm's region and goes to the team of its fault type like a reported issue."""
    alarm = {"alarm_id": "SPC-20990501-0007", "source": "SPC", "station": "苏州工业园区重卡换电与超充中心",
             "fault_type": "cell", "severity": "critical", "description": "电芯温升速率超限",
             "alarm_code": "T-RISE-03", "alarm_time": "2099-05-01T10:00:00", "device_sn": "BAT-88-1021",
             "region": "EAST"}
    flow = _flow(login)
    r = flow.client("admin").post("/api/v1/messages/quality_alarm", json={"payload": alarm})
    assert r.status_code == 201, r.get_json()
    [flow.id] = r.get_json()["started"]
    inst = flow.instance("east_quality")
    assert inst["region"] == "EAST" and inst["status"] == "running"
    data = inst["data"]
    assert (data["report_channel"], data["owner_team"], data["opened_at"], data["issue_no"]) == (
        "webhook", "质量", "2099-05-01T10:00:00+08:00", "QI-EAST-20990501-100000")
    assert [t["bpmn_id"] for t in flow.open_tasks()] == ["first_response"]
    plan = plan_of(CASES["bms_issue_closed_on_time_lesson_published"])
    plan.pop("report_issue")
    flow.run(plan)
    flow.assert_plan_used(plan)
    final = flow.instance("east_quality")
    assert final["status"] == "complete"
    assert (final["data"]["outcome"], final["data"]["owner_user"], final["data"]["alarm_id"]) == (
        "closed", "east_quality", "SPC-20990501-0007")
