"""退回 in every product model: a few steps in (parallel countersigns, call activities, DMN
branches), the approver sends the request back to its first step; it reopens for the person who
filled it, and resubmitting the same data carries the request forward again."""
from __future__ import annotations

from typing import Any

import pytest

from tests.api import test_eto_process as eto
from tests.api import test_quality_process as quality
from tests.api import test_settlement_process as settlement
from tests.api import test_station_process as station
from tests.api import test_subsidy_process as subsidy
from tests.api.process_flow import Flow, load_cases, plan_of

ETO_CASES = load_cases("eto/eto-change-order", "test_eto_change_order.json")

# model id, a case of its own unit tests, how to build the flow, messages, steps to take first
SCENARIOS: dict[str, tuple[str, dict[str, Any], Any, dict[str, Any], int]] = {
    "station": (station.MODEL, station.CASES["small_station_completed"],
                lambda login: Flow(login, station.ACTORS, outsider="south_manager"), station.MESSAGES, 3),
    "settlement": (settlement.MODEL, settlement.CASES["clean_month_all_partners_confirm"],
                   lambda login: settlement._flow(login, "EAST"), settlement.MESSAGES, 2),
    "subsidy": (subsidy.MODEL, subsidy.CASES["construction_approved_in_full"], subsidy._flow, subsidy.MESSAGES, 2),
    "quality": (quality.MODEL, quality.CASES["bms_issue_closed_on_time_lesson_published"], quality._flow, {}, 2),
    "eto": ("eto:eto-change-order", ETO_CASES["high_impact_sales_approved_customer_confirmed"],
            lambda login: Flow(login, eto.ACTORS, outsider="south_planner"), {}, 3),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_send_back_to_the_first_step_and_resubmit(login: Any, name: str) -> None:
    model, case, make_flow, messages, steps = SCENARIOS[name]
    plan = plan_of(case)
    plan.pop("compute_subsidy", None)
    first_data = {k: list(v) for k, v in plan_of(case).items()}
    flow = make_flow(login)
    if name == "settlement":
        settlement._with_uploads(flow, case)
    starter = flow.actors[next(iter(case["tasks"])).split(":")[-1]]
    flow.start(starter if isinstance(starter, str) else "east_ops", model)
    inst = flow.run(plan, messages=messages, until=lambda i: len(flow.acted) >= steps and any(
        t["status"] == "open" for t in i["tasks"]))
    task = next(t for t in inst["tasks"] if t["status"] == "open")
    approver = flow.client(_actor_of(flow, task["bpmn_id"]))
    targets = approver.get(f"/api/v1/tasks/{task['id']}/send-back-targets").get_json()
    first_step, first_actor = flow.acted[0]
    assert targets and targets[-1]["bpmn_id"] == first_step, targets  # the earliest step is offered last
    assert targets[-1]["completed_by"] == first_actor

    r = approver.post(f"/api/v1/tasks/{task['id']}/send-back", json={"to": first_step, "comment": "请核对后重新提交"})
    assert r.status_code == 200, r.get_json()
    back = r.get_json()
    assert back["status"] == "running"
    reopened = [t for t in back["tasks"] if t["status"] == "open"]
    assert [t["bpmn_id"] for t in reopened] == [first_step]  # every later open step was cancelled
    assert reopened[0]["candidate_users"] == [first_actor]

    again = flow.client(first_actor).post(f"/api/v1/tasks/{reopened[0]['id']}/complete",
                                          json={"data": flow.mapped(first_data[first_step][0])})
    assert again.status_code == 200, again.get_json()
    after = again.get_json()
    assert after["status"] in ("running", "waiting") and after["error"] is None
    assert [t for t in after["tasks"] if t["status"] == "open" and t["bpmn_id"] != first_step] or \
        after["status"] == "waiting"
    chain = login("auditor").get(f"/api/v1/process-instances/{flow.id}/audit").get_json()
    assert [e["type"] for e in chain].count("task_sent_back") == 1


def _actor_of(flow: Flow, bpmn_id: str) -> str:
    who = flow.actors[bpmn_id]
    return who(flow.instance()) if callable(who) else str(who)
