"""The inbox's SLA filter (sla=on_track|due_soon|breached|none, due_from/due_to), its amount range
(metadata_min/metadata_max, as the request search) and the display names that come with people's
usernames on tasks, requests, timelines and CC items."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, select

from tests.api.process_flow import engine_clock

MODEL = "demo/simple-approval"  # 提交申请 (no due time) -> 区域经理审批 (slaDuration PT4H) -> 财务
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Asia/Shanghai; the review is due at 14:00


def _start(ops: Any) -> dict[str, Any]:
    r = ops.post("/api/v1/process-instances", json={"process_model_id": MODEL})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _start_and_apply(ops: Any, title: str = "时效测试", amount: float = 100) -> tuple[int, dict[str, Any]]:
    inst = _start(ops)
    r = ops.post(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", json={"data": {"title": title, "amount": amount}})
    assert r.status_code == 200, r.get_json()
    review = [t for t in r.get_json()["tasks"] if t["status"] == "open"]
    assert len(review) == 1
    return inst["id"], review[0]


def _items(c: Any, query: str) -> list[dict[str, Any]]:
    r = c.get(f"/api/v1/tasks?{query}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def _ids(c: Any, query: str) -> set[int]:
    return {t["id"] for t in _items(c, query)}


def _stored_sla_state(app: Any, task_id: int) -> str | None:
    from engine.instances.models import HumanTask

    s = app.extensions["db_sessions"]()
    try:
        return s.execute(select(HumanTask.sla_state).where(HumanTask.id == task_id)).scalar_one()
    finally:
        s.close()


def _scan(app: Any) -> int:
    from engine.instances.sla import scan_sla

    return scan_sla(app.extensions["db_sessions"], app.extensions["engine_ctx"])


def test_sla_filter_follows_the_engine_clock_even_before_the_scan(app: Any, login: Any) -> None:
    with engine_clock(app, T0) as clock:
        ops, mgr = login("east_ops"), login("east_manager")
        _, review = _start_and_apply(ops)
        waiting = _start(ops)["tasks"][0]  # 提交申请: no due time
        rid = review["id"]

        def states(c: Any, scope: str, status: str = "open") -> dict[str, set[int]]:
            return {v: _ids(c, f"scope={scope}&status={status}&sla={v}") for v in ("on_track", "due_soon", "breached", "none")}

        # Fresh: on track; the task without a due time is "none" only.
        assert states(mgr, "group") == {"on_track": {rid}, "due_soon": set(), "breached": set(), "none": set()}
        assert states(ops, "mine") == {"on_track": set(), "due_soon": set(), "breached": set(), "none": {waiting["id"]}}
        assert _items(mgr, "scope=group&sla=on_track")[0]["sla_state"] == "on_track"

        # The last fifth has begun (reminder at 3h12m) but the scan has not run: due soon already.
        clock["now"] = T0 + dt.timedelta(hours=3, minutes=30)
        assert _stored_sla_state(app, rid) == "on_track"
        assert states(mgr, "group") == {"on_track": set(), "due_soon": {rid}, "breached": set(), "none": set()}
        assert _items(mgr, "scope=group&sla=due_soon")[0]["sla_state"] == "due_soon"
        # After the scan (the reminder went out) it stays due soon.
        assert _scan(app) == 1 and _stored_sla_state(app, rid) == "due_soon"
        assert states(mgr, "group") == {"on_track": set(), "due_soon": {rid}, "breached": set(), "none": set()}

        # Past the due time, not scanned yet (stored: due_soon): breached, and no longer due soon.
        clock["now"] = T0 + dt.timedelta(hours=4, minutes=1)
        assert _stored_sla_state(app, rid) == "due_soon"
        assert states(mgr, "group") == {"on_track": set(), "due_soon": set(), "breached": {rid}, "none": set()}
        item = _items(mgr, "scope=group&sla=breached")[0]
        assert item["sla_state"] == "breached"
        assert mgr.get(f"/api/v1/tasks/{rid}").get_json()["sla_state"] == "breached"
        # Several values at once (comma separated); "none" still finds the task without a due time.
        assert _ids(mgr, "scope=group&sla=due_soon,breached") == {rid}
        assert _ids(ops, "scope=mine&sla=breached,none") == {waiting["id"]}
        # Every filter narrows within the other filters (here: the scope).
        assert _ids(ops, "scope=mine&sla=breached") == set()

        # The scan escalates it: still breached.
        assert _scan(app) == 1 and _stored_sla_state(app, rid) == "breached"
        assert _ids(mgr, "scope=group&sla=breached") == {rid}

        # Done late: breached in the done tab too.
        assert mgr.post(f"/api/v1/tasks/{rid}/complete", json={"data": {"decision": "approve"}}).status_code == 200
        assert states(mgr, "mine", "completed") == {"on_track": set(), "due_soon": set(), "breached": {rid}, "none": set()}


def test_a_task_done_in_time_is_on_track_in_the_done_tab(app: Any, login: Any) -> None:
    with engine_clock(app, T0) as clock:
        ops, mgr = login("east_ops"), login("east_manager")
        _, review = _start_and_apply(ops)
        clock["now"] = T0 + dt.timedelta(hours=1)
        assert mgr.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}).status_code == 200
        clock["now"] = T0 + dt.timedelta(days=2)  # long after: judged at completion, not now
        assert _ids(mgr, "scope=mine&status=completed&sla=on_track") == {review["id"]}
        assert _ids(mgr, "scope=mine&status=completed&sla=breached") == set()
        done = _items(mgr, "scope=mine&status=completed")[0]
        assert done["sla_state"] == "on_track"
        # The applicant's own step had no due time.
        assert len(_ids(ops, "scope=mine&status=completed&sla=none")) == 1


def test_due_time_range(app: Any, login: Any) -> None:
    with engine_clock(app, T0):
        ops, mgr = login("east_ops"), login("east_manager")
        _, review = _start_and_apply(ops)
        rid = review["id"]
        assert review["due_at"].startswith("2026-03-02T06:00")
        assert _ids(mgr, "scope=group&due_from=2026-03-02&due_to=2026-03-02") == {rid}  # dates: whole days, Shanghai
        assert _ids(mgr, "scope=group&due_to=2026-03-01") == set()
        assert _ids(mgr, "scope=group&due_from=2026-03-03") == set()
        assert _ids(mgr, "scope=group&due_from=2026-03-02T14:00:00") == {rid}  # no zone: Shanghai, inclusive
        assert _ids(mgr, "scope=group&due_to=2026-03-02T06:00:00Z") == set()  # exclusive
        assert _ids(mgr, "scope=group&due_to=2026-03-02T06:00:01%2B00:00") == {rid}


def test_bad_sla_or_due_values_are_400_naming_the_field(login: Any) -> None:
    mgr = login("east_manager")
    for value in ("late", "due_soon,bogus", "BREACHED", "x" * 5000, "%00"):
        r = mgr.get(f"/api/v1/tasks?scope=group&sla={value}")
        assert r.status_code == 400, (value, r.get_json())
        error = r.get_json()["error"]
        assert error["code"] == "bad_request" and error["details"]["field"] == "sla"
        assert "on_track" in error["message"] and len(error["message"]) < 200
    assert mgr.get("/api/v1/tasks?scope=group&sla=").status_code == 200  # empty: no filter
    for name in ("due_from", "due_to"):
        r = mgr.get(f"/api/v1/tasks?scope=group&{name}=soon")
        assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == name


def test_the_parameters_are_in_the_openapi_document(app: Any) -> None:
    doc = app.test_client().get("/api/openapi.json").get_json()
    params = {p["name"]: p for p in doc["paths"]["/api/v1/tasks"]["get"]["parameters"]}
    assert {"sla", "due_from", "due_to", "metadata", "metadata_min", "metadata_max"} <= set(params)
    assert "breached" in params["sla"]["description"]
    assert "key:number" in params["metadata_min"]["description"] and params["metadata_max"]["in"] == "query"
    task = doc["components"]["schemas"]["TaskOut"]["properties"]
    assert {"assignee_name", "completed_by_name", "added_by_name", "candidate_user_names"} <= set(task)
    assert "initiator_name" in doc["components"]["schemas"]["InstanceOut"]["properties"]


def _display(app: Any, *usernames: str) -> dict[str, str]:
    from engine.org.models import User

    s = app.extensions["db_sessions"]()
    try:
        return dict(s.execute(select(User.username, User.display_name).where(User.username.in_(usernames))).all())
    finally:
        s.close()


def test_people_come_with_display_names(app: Any, login: Any) -> None:
    names = _display(app, "east_ops", "east_manager", "east_quality", "east_finance")
    assert all(names[u] and names[u] != u for u in names)
    ops, mgr, quality, finance = login("east_ops"), login("east_manager"), login("east_quality"), login("east_finance")
    inst = _start(ops)
    apply_task = inst["tasks"][0]
    assert inst["initiator"] == "east_ops" and inst["initiator_name"] == names["east_ops"]
    assert apply_task["candidate_users"] == ["east_ops"] and apply_task["candidate_user_names"] == [names["east_ops"]]
    assert apply_task["assignee_name"] is None and apply_task["completed_by_name"] is None

    iid, review = _start_and_apply(ops)
    assert mgr.post(f"/api/v1/tasks/{review['id']}/claim").status_code == 200
    item = _items(mgr, f"scope=mine&process_instance_id={iid}")[0]
    assert (item["assignee"], item["assignee_name"]) == ("east_manager", names["east_manager"])
    done = _items(ops, f"scope=mine&status=completed&process_instance_id={iid}")[0]
    assert (done["completed_by"], done["completed_by_name"]) == ("east_ops", names["east_ops"])

    # 加签: the added person's task names who asked.
    r = mgr.post(f"/api/v1/tasks/{review['id']}/add-approver", json={"users": ["east_quality"], "position": "before"})
    assert r.status_code == 200, r.get_json()
    added = _items(quality, f"scope=mine&process_instance_id={iid}")[0]
    assert (added["added_by"], added["added_by_name"]) == ("east_manager", names["east_manager"])
    detail = mgr.get(f"/api/v1/tasks/{review['id']}").get_json()
    assert detail["assignee_name"] == names["east_manager"]
    asked = detail["added_approvers"][0]
    assert asked["assignee_name"] == asked["candidate_user_names"][0] == names["east_quality"]

    # Requests: list and detail (initiator, timeline actors).
    listed = ops.get("/api/v1/process-instances?initiator=east_ops").get_json()["items"]
    assert {i["initiator_name"] for i in listed} == {names["east_ops"]}
    timeline = ops.get(f"/api/v1/process-instances/{iid}").get_json()["timeline"]
    by_actor = {e["actor"]: e["actor_name"] for e in timeline}
    assert by_actor["east_ops"] == names["east_ops"] and by_actor["east_manager"] == names["east_manager"]
    assert all(e["actor_name"] == "system" for e in timeline if e["actor"] == "system")
    audit = ops.get(f"/api/v1/process-instances/{iid}/audit").get_json()
    assert {e["actor_name"] for e in audit if e["actor"] == "east_ops"} == {names["east_ops"]}

    # 抄送: who CC'd it.
    assert ops.post(f"/api/v1/process-instances/{iid}/cc", json={"users": ["east_finance"]}).status_code == 200
    cc = finance.get("/api/v1/cc").get_json()["items"][0]
    assert (cc["by"], cc["by_name"]) == ("east_ops", names["east_ops"])


def test_names_cost_no_query_per_item(app: Any, login: Any) -> None:
    """One batched lookup per page: the statements of a task page do not grow with its items."""
    ops, admin = login("east_ops"), login("admin")
    _start_and_apply(ops)
    engine = app.extensions["db_engine"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    def page_cost(query: str) -> tuple[int, int]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            n = len(_items(admin, query))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return n, len(statements)

    page_cost("scope=all&status=any&per_page=2")  # warm: cached model versions, token bookkeeping
    one, cost_one = page_cost("scope=all&status=any&per_page=2")
    for title in ("第二单", "第三单", "第四单"):
        _start_and_apply(ops, title)
    page_cost("scope=all&status=any&per_page=50")
    many, cost_many = page_cost("scope=all&status=any&per_page=50")
    assert (one, many) == (2, 8)
    assert cost_many == cost_one, "\n".join(s[:100].replace("\n", " ") for s in statements)


def test_amount_range_narrows_the_inbox_like_the_request_search(login: Any) -> None:
    ops, mgr = login("east_ops"), login("east_manager")
    small = _start_and_apply(ops, "小额", 800)[1]["id"]
    middle = _start_and_apply(ops, "中额", 5000)[1]["id"]
    big = _start_and_apply(ops, "大额", 250000.5)[1]["id"]
    group = "scope=group&process=demo:simple-approval"
    assert _ids(mgr, group) == {small, middle, big}
    assert _ids(mgr, f"{group}&metadata_min=amount:1000") == {middle, big}
    assert _ids(mgr, f"{group}&metadata_max=amount:5000") == {small, middle}  # bounds are inclusive
    assert _ids(mgr, f"{group}&metadata_min=amount:1000&metadata_max=amount:5000") == {middle}
    assert _ids(mgr, f"{group}&metadata_min=amount:250000.5&metadata_max=amount:1e6") == {big}  # decimals, 1e6
    assert _ids(mgr, f"{group}&metadata_min=amount:5001&metadata_max=amount:4999") == set()
    assert _ids(mgr, "scope=group&metadata_min=amount:-1") == {small, middle, big}  # the process is optional
    # A value that is not a number (the title) never falls in a range; other filters still narrow.
    assert _ids(mgr, f"{group}&metadata_min=title:0") == set()
    assert _ids(mgr, f"{group}&metadata_min=amount:100&q=大额") == {big}
    assert _ids(mgr, f"{group}&metadata_min=amount:100&metadata=title:小额") == {small}
    # The request search answers the same for the same range.
    found = mgr.get("/api/v1/process-instances?process=demo:simple-approval&metadata_min=amount:1000"
                    "&metadata_max=amount:5000").get_json()["items"]
    assert [i["metadata"]["title"] for i in found] == ["中额"]
    # The applicant's done tab and the completed tasks carry the request's metadata too.
    assert len(_ids(ops, "scope=mine&status=completed&metadata_max=amount:1000")) == 1


def test_bad_amount_bounds_are_400_naming_the_field(login: Any) -> None:
    mgr = login("east_manager")
    for name in ("metadata_min", "metadata_max"):
        for value in ("amount:lots", "amount:", "amount:NaN", "amount:Infinity", "amount:1e999999", "5000",
                      "amount:1,amount2:x"):
            r = mgr.get(f"/api/v1/tasks?scope=group&{name}={value}")
            assert r.status_code == 400, (name, value, r.get_json())
            error = r.get_json()["error"]
            assert error["code"] == "bad_request" and error["details"]["field"] == name, (value, error)
            assert name in error["message"]
    assert mgr.get("/api/v1/tasks?scope=group&metadata_min=&metadata_max=").status_code == 200  # empty: none
    r = mgr.get("/api/v1/tasks?scope=group&metadata=amount")
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "metadata"


def test_restricted_fields_cannot_filter_the_inbox_of_those_who_may_not_see_them(login: Any) -> None:
    # ETO restricts its cost figures to the groups working with them (一表千面).
    ops = login("east_ops")
    for name, value in (("metadata_min", "total_cost_impact:1"), ("metadata_max", "total_cost_impact:1"),
                        ("metadata", "cost_delta:1")):
        for path in ("/api/v1/tasks?scope=all&", "/api/v1/process-instances?"):
            r = ops.get(f"{path}{name}={value}")
            assert r.status_code == 400, (path, name, r.get_json())
            error = r.get_json()["error"]
            key = value.split(":")[0]
            assert key in error["message"] and error["details"] == {"field": name, "value": key}
    # Together with a visible bound, the hidden one is still refused.
    r = ops.get("/api/v1/tasks?metadata_min=amount:1&metadata_max=total_cost_impact:1")
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "metadata_max"
    planner = login("east_planner")
    assert planner.get("/api/v1/tasks?scope=all&metadata_min=total_cost_impact:1").status_code == 200
    assert login("auditor").get("/api/v1/tasks?scope=all&metadata_max=total_cost_impact:1").status_code == 200


def test_without_metadata_filters_the_inbox_query_keeps_its_shape(app: Any, login: Any) -> None:
    """No metadata filter: neither the metadata table nor the model versions (restricted fields)
    are consulted for it; with a range, one EXISTS per key carries both bounds."""
    ops, mgr = login("east_ops"), login("east_manager")
    _start_and_apply(ops, amount=2000)
    engine = app.extensions["db_engine"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    def listed(c: Any, query: str) -> list[str]:
        _ids(c, query)  # warm: cached model versions, token bookkeeping
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            _ids(c, query)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return [s for s in statements if "FROM human_task" in s and "OVER ()" in s]

    (plain,) = listed(ops, "scope=mine")
    assert "instance_metadata" not in plain
    (ranged,) = listed(mgr, "scope=group&metadata_min=amount:1000&metadata_max=amount:3000")
    assert ranged.count("FROM instance_metadata") == 1
