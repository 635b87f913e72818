"""SLA due times and states of human tasks."""
from __future__ import annotations

import datetime as dt

from engine.instances.runner import BREACHED, DUE_SOON, ON_TRACK, sla_state

T0 = dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC)


def test_sla_state_moves_from_on_track_to_due_soon_to_breached() -> None:
    due = T0 + dt.timedelta(hours=10)
    assert sla_state(T0, None, T0) is None
    assert sla_state(T0, due, T0 + dt.timedelta(hours=7)) == ON_TRACK
    assert sla_state(T0, due, T0 + dt.timedelta(hours=8)) == DUE_SOON  # the last fifth
    assert sla_state(T0, due, due) == BREACHED
    assert sla_state(T0, due, due + dt.timedelta(days=3)) == BREACHED


def test_reminder_then_escalation_up_the_management_chain(app, login) -> None:  # type: ignore[no-untyped-def]
    from engine.instances.sla import scan_sla

    ctx, sessions = app.extensions["engine_ctx"], app.extensions["db_sessions"]
    clock = {"now": T0}
    ctx.clock = lambda: clock["now"]
    try:
        ops = login("east_ops")
        inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}).get_json()
        ops.post(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", json={"data": {"title": "超时测试", "amount": 5}})
        review = [t for t in ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()["tasks"] if t["status"] == "open"][0]
        assert review["due_at"].startswith("2026-11-21T05:00")  # PT4H after T0

        clock["now"] = T0 + dt.timedelta(hours=3)
        assert scan_sla(sessions, ctx) == 0  # nothing due yet
        clock["now"] = T0 + dt.timedelta(hours=3, minutes=20)
        assert scan_sla(sessions, ctx) == 1  # the last fifth: a reminder to the owners
        mgr = login("east_manager")
        notes = mgr.get("/api/v1/notifications?unread=true").get_json()
        assert notes["unread_count"] >= 1 and notes["items"][0]["kind"] == "sla_reminder"

        clock["now"] = T0 + dt.timedelta(hours=4, minutes=1)
        assert scan_sla(sessions, ctx) == 1  # breached: escalated to the owner's manager
        assert scan_sla(sessions, ctx) == 0  # and only once
        gm = login("gm")
        task = gm.get(f"/api/v1/tasks/{review['id']}").get_json()
        assert "gm" in task["candidate_users"] and task["allowed_actions"][0] == "complete"
        assert gm.get("/api/v1/notifications").get_json()["items"][0]["kind"] == "sla_escalated"

        clock["now"] = T0 + dt.timedelta(hours=8, minutes=2)
        assert scan_sla(sessions, ctx) == 1  # next level: nobody above the GM, recorded
        timeline = [e for e in ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()["timeline"]]
        kinds = [e["type"] for e in timeline]
        assert kinds.count("sla_reminder") == 1 and kinds.count("sla_escalated") == 1 and kinds.count("sla_breached") == 1
        escalated = [e for e in timeline if e["type"] == "sla_escalated"][0]
        assert escalated["data"]["to"] == ["gm"] and escalated["data"]["level"] == 1
        # The GM acts on it.
        assert gm.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 200
        assert gm.post("/api/v1/notifications/read-all").status_code == 204
        assert gm.get("/api/v1/notifications?unread=true").get_json()["unread_count"] == 0
    finally:
        ctx.clock = lambda: dt.datetime.now(dt.UTC)
