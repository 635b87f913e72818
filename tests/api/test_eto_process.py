"""The ETO change order, end to end through the API, acted by the people the organisation assigns."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from forms import json_loads
from tests.api.process_flow import Flow

CASES = json_loads((Path(__file__).resolve().parents[2] / "processes/eto/eto-change-order/test_eto_change_order.json")
                   .read_text(encoding="utf-8"))
ACTORS = {
    "submit_request": "east_ops", "planner_triage": "east_planner", "planner_close": "east_planner",
    "warehouse_assessment": "east_warehouse", "purchasing_assessment": "east_purchasing",
    "supplier_confirmation": "east_purchasing", "production_assessment": "east_production",
    "sales_director_approval": "east_sales", "customer_confirmation": "east_sales",
}


@pytest.mark.parametrize("case_name", ["high_impact_sales_approved_customer_confirmed",
                                       "need_info_then_accepted_low_impact", "rejected_at_triage"])
def test_eto_change_order_through_the_api(login: Any, case_name: str) -> None:
    case = CASES[case_name]
    plan = {k.split(":")[-1]: list(v["data"]) for k, v in case["tasks"].items()}
    flow = Flow(login, ACTORS, outsider="south_planner")
    clients = {u: flow.client(u) for u in set(ACTORS.values())}
    outsider = login("south_planner")
    inst = clients["east_ops"].post("/api/v1/process-instances", json={"process_model_id": "eto:eto-change-order"}).get_json()
    for _ in range(40):
        current = clients["east_ops"].get(f"/api/v1/process-instances/{inst['id']}").get_json()
        if current["status"] != "running":
            break
        open_tasks = [t for t in current["tasks"] if t["status"] == "open"]
        assert open_tasks, current
        task = open_tasks[0]
        actor = clients[ACTORS[task["bpmn_id"]]]
        mine = actor.get(f"/api/v1/tasks?scope=mine&process_instance_id={inst['id']}").get_json()["items"]
        group = actor.get(f"/api/v1/tasks?scope=group&process_instance_id={inst['id']}").get_json()["items"]
        assert task["id"] in {t["id"] for t in mine + group}, f"{actor.username} does not see {task['bpmn_id']}"
        assert outsider.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}}).status_code == 404
        data = flow.upload(ACTORS[task["bpmn_id"]], plan[task["bpmn_id"]].pop(0))  # files first, then the form
        r = actor.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
        assert r.status_code == 200, r.get_json()
    assert current["status"] == "complete", current
    expected = flow.mapped(case["expected_output_json"])
    # 一表千面: cost figures are restricted to the groups that work with them.
    planner_view = clients["east_planner"].get(f"/api/v1/process-instances/{inst['id']}").get_json()
    assert planner_view["data"] == expected
    restricted = {"cost_delta", "wip_scrap_cost", "total_cost_impact"}
    assert current["data"] == {k: v for k, v in expected.items() if k not in restricted}
    assert not restricted & set(current["metadata"])
    for event in current["timeline"]:
        assert not restricted & set(event["data"].get("data") or {})
    if "order_no" in expected:
        assert current["metadata"]["order_no"] == expected["order_no"]
    if "total_cost_impact" in expected:
        assert planner_view["metadata"]["total_cost_impact"] == str(expected["total_cost_impact"])
