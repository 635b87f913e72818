"""Subsidy claim, end to end through the API: DMN eligibility, the real `subsidy/compute`
operator, finance and legal countersign (plus the GM above CNY 1,000,000), the government's
decision as a message from outside, the appeal loop, and the 60-day follow-up fired by moving
the engine clock."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.api.process_flow import Flow, engine_clock, fire_timers, load_cases, plan_of

MODEL = "subsidy:subsidy-claim"
CASES = load_cases("subsidy/subsidy-claim", "test_subsidy_claim.json")
ACTORS = {
    "prepare_claim": "east_ops", "evidence_package": "east_ops", "decide_appeal": "east_ops",
    "finance_review": "east_finance", "record_receipt": "east_finance", "legal_review": "legal",
    "gm_approval": "gm", "submit_to_government": "east_ops", "follow_up": "east_ops", "file_appeal": "east_ops",
}
MESSAGES = {"wait_decision": ("subsidy_decision", "filing_no")}


def _flow(login: Any) -> Flow:
    return Flow(login, ACTORS, outsider="north_finance")


def _plan(case: dict[str, Any]) -> dict[str, list[Any]]:
    plan = plan_of(case)
    plan.pop("compute_subsidy", None)  # the real operator computes the amount here
    return plan


@pytest.mark.parametrize("case_name", [
    "construction_approved_in_full", "large_tiered_claim_returned_gm_partial_appeal_approved",
    "operation_rejected_and_accepted", "rejected_by_legal", "rejected_by_gm",
    "construction_below_60kw_is_ineligible", "eligible_but_nothing_to_claim",
])
def test_subsidy_claim_through_the_api(login: Any, case_name: str) -> None:
    case = CASES[case_name]
    plan = _plan(case)
    flow = _flow(login)
    flow.start("east_ops", MODEL)
    flow.run(plan, messages=MESSAGES)
    flow.assert_plan_used(plan)
    expected = flow.mapped(case["expected_output_json"])
    final = flow.instance("east_finance")
    assert final["status"] == "complete", final
    assert final["data"] == expected
    for key in ("station_name", "subsidy_type", "claim_amount", "filing_no", "decision_result"):
        if isinstance(expected.get(key), Decimal):
            assert Decimal(final["metadata"][key]) == expected[key]
        elif expected.get(key) is not None:
            assert final["metadata"][key] == expected[key]
    # The amount is the operator's, computed from the policy and the station's data.
    if "compute_subsidy" in case["tasks"]:
        assert final["data"]["subsidy_calc"] == case["tasks"]["compute_subsidy"]["data"][0]["subsidy_calc"]
    received = [e for e in final["timeline"] if e["type"] == "message_received"]
    assert len(received) == len(case["tasks"].get("wait_decision", {}).get("data", []))


def test_no_decision_in_60_days_opens_a_follow_up(app: Any, login: Any) -> None:
    """The interrupting 60-day timer ends the wait: operations support follows up. "Still under
    review" waits another 60 days; a decision received offline is recorded like the message."""
    case = CASES["construction_approved_in_full"]
    plan = _plan(case)
    flow = _flow(login)
    with engine_clock(app) as clock:
        flow.start("east_ops", MODEL)
        waiting = flow.run(plan, until=lambda i: i["status"] == "waiting")
        filing_no = waiting["metadata"]["filing_no"]
        clock["now"] += dt.timedelta(days=59)
        assert fire_timers(app) == 0
        clock["now"] += dt.timedelta(days=1, minutes=1)
        assert fire_timers(app) == 1
        flow.complete("follow_up", {"follow_up_status": "pending", "follow_up_note": "发改委称仍在审核",
                                    "expected_decision_date": "2026-10-15"})
        assert flow.instance()["status"] == "waiting"
        clock["now"] += dt.timedelta(days=60, minutes=1)
        assert fire_timers(app) == 1
        assert fire_timers(app) == 0
        decision = plan["wait_decision"].pop(0)
        # The message would no longer reach it: the wait was interrupted.
        r = flow.client("admin").post("/api/v1/messages/subsidy_decision",
                                      json={"correlation": {"filing_no": filing_no}, "payload": decision})
        assert r.status_code == 404
        flow.complete("follow_up", {
            "follow_up_status": "decided", "follow_up_note": "已领取批复文件", "offline_result": decision["result"],
            "offline_amount_received": decision.get("amount_received", case["expected_output_json"]["claim_amount"]),
            "offline_decision_no": decision["decision_no"], "offline_decision_file": ["sha256:" + "d" * 64]})
        flow.run(plan, messages=MESSAGES)
    flow.assert_plan_used(plan)
    done = flow.instance("east_finance")
    assert done["status"] == "complete"
    expected = case["expected_output_json"]
    for key in ("outcome", "decision_result", "decision_no", "total_received", "claim_amount", "filing_no"):
        assert done["data"][key] == expected[key], key
    assert done["data"]["subsidy_decision"]["source"] == "follow_up"
    fired = [e["bpmn_id"] for e in done["timeline"] if e["type"] == "timer_fired"]
    assert fired == ["follow_up_timer", "follow_up_timer"]
    assert [b for b, _ in flow.acted].count("follow_up") == 2
