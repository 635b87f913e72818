"""Monthly settlement reconciliation, end to end through the API: the real reconciliation and
statement operators on the model's sample CSV files (uploaded as attachments), the shared amount
approval chain, partner confirmations as messages from outside, the 3-day reminder and the 7-day
escalation fired by moving the engine clock, and the monthly timer start: one request per region."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.api.process_flow import REF, Flow, engine_clock, fire_timers, load_cases, plan_of

MODEL = "settlement:monthly-reconciliation"
CASES = load_cases("settlement/monthly-reconciliation", "test_monthly_reconciliation.json")
MESSAGES = {"wait_partner_confirmation": ("partner_confirmation", "settlement_no")}
BEIJING = dt.timezone(dt.timedelta(hours=8))
OUTSIDER = {"EAST": "south_manager", "WEST": "north_manager", "NORTH": "west_manager", "SOUTH": "east_manager"}
SERVICE_TASKS = ("reconcile", "export_workbook", "issue_statements")  # the real operators run here
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _actors(region: str) -> dict[str, str]:
    r = region.lower()
    return {
        "upload_data": f"{r}_ops", "explain_flagged": f"{r}_ops", "handle_dispute": f"{r}_ops",
        "review_explanations": f"{r}_manager", "escalation_followup": f"{r}_manager",
        "chain_rm_approval": f"{r}_manager", "chain_cfo_approval": "cfo", "chain_gm_approval": "gm",
        "finance_review": f"{r}_finance", "payment_request": f"{r}_finance",
    }


def _region(case: dict[str, Any]) -> str:
    return case["tasks"]["upload_data"]["data"][0]["region"]


def _flow(login: Any, region: str) -> Flow:
    return Flow(login, _actors(region), outsider=OUTSIDER[region])


def _with_uploads(flow: Flow, case: dict[str, Any]) -> None:
    """The sample files' refs are the SHA-256 of their CSV text: upload that text as the file."""
    for upload in case["tasks"]["upload_data"]["data"]:
        for ref_key, text_key in (("grid_bill", "bill_csv_text"), ("order_export", "orders_csv_text"),
                                  ("contract_register", "contracts_csv_text")):
            for ref in upload.get(ref_key) or []:
                flow.contents[ref] = upload[text_key].encode("utf-8")


def _live_plan(case: dict[str, Any]) -> dict[str, list[Any]]:
    plan = plan_of(case)
    for service_task in SERVICE_TASKS:
        plan.pop(service_task)
    return plan


def _with_workbook(flow: Flow, case: dict[str, Any], inst: dict[str, Any]) -> None:
    """The workbook the service task wrote in this run stands for the unit test's ref of it."""
    ref = inst["data"]["reconciliation_xlsx"]
    assert REF.fullmatch(ref), ref
    flow.refs[case["expected_output_json"]["reconciliation_xlsx"]] = ref


def _expected(case: dict[str, Any], region: str, *, skipped: bool) -> dict[str, Any]:
    """The unit test's expected data with what differs in a live run: the approver, the regional
    manager's automatic skip when they already reviewed the explanations (自动去重), and the
    statements' issue date (today, Beijing time) and confirmation deadline (+7 days)."""
    expected = dict(case["expected_output_json"])
    approvals = []
    for a in expected["chain_approvals"]:
        if a["role"] == "regional_manager" and skipped:
            a = {**a, "approver": None, "auto_skipped": True, "comment": ""}
        elif a["approver"] == "test_user":
            a = {**a, "approver": _actors(region)[f"chain_{'rm' if a['role'] == 'regional_manager' else a['role']}_approval"]}
        approvals.append(a)
    expected["chain_approvals"] = approvals
    today = dt.datetime.now(BEIJING).date()
    statements = dict(expected["statements"])
    statements["statements"] = [{**s, "issue_date": today.isoformat(),
                                 "confirm_by": (today + dt.timedelta(days=7)).isoformat()}
                                for s in statements["statements"]]
    expected["statements"] = statements
    return expected


@pytest.mark.parametrize("case_name", [
    "clean_month_all_partners_confirm", "bad_upload_then_flagged_stations_explained",
    "manager_rework_then_finance_return", "company_operated_stations_only",
    "chain_rejected_then_dispute_rework",
])
def test_settlement_through_the_api(login: Any, case_name: str) -> None:
    case = CASES[case_name]
    region = _region(case)
    plan = _live_plan(case)
    skipped = "review_explanations" in plan  # the manager reviewed: the chain's first level is theirs already
    if skipped:
        plan.pop("chain_rm_approval")
    flow = _flow(login, region)
    _with_uploads(flow, case)
    flow.start(f"{region.lower()}_finance", MODEL)
    flow.run(plan, messages=MESSAGES)
    flow.assert_plan_used(plan)
    final = flow.instance(f"{region.lower()}_manager")
    _with_workbook(flow, case, final)
    expected = flow.mapped(_expected(case, region, skipped=skipped))
    assert final["status"] == "complete", final
    assert final["data"] == expected
    meta = final["metadata"]
    assert meta["settlement_no"] == expected["settlement_no"] and meta["settlement_status"] == "completed"
    assert meta["total_amount"] == str(expected["total_amount"]) and meta["region"] == region
    received = [e for e in final["timeline"] if e["type"] == "message_received"]
    assert len(received) == len(case["tasks"].get("wait_partner_confirmation", {}).get("data", []))


def test_finance_downloads_the_reconciliation_workbook(login: Any) -> None:
    """After a successful reconciliation the service task 生成对账表 stores the workbook as a file
    of the request: the finance review form shows it read-only, finance downloads it through the
    attachments API and Excel opens it; people of another region do not even see it exists."""
    import openpyxl

    case = CASES["clean_month_all_partners_confirm"]
    plan = _live_plan(case)
    flow = _flow(login, "EAST")
    _with_uploads(flow, case)
    flow.start("east_finance", MODEL)
    flow.run(plan, until=lambda i: any(t["bpmn_id"] == "finance_review" for t in i["tasks"] if t["status"] == "open"))
    finance = flow.client("east_finance")
    inst = flow.instance("east_finance")
    ref, result = inst["data"]["reconciliation_xlsx"], inst["data"]["reconciliation"]
    assert REF.fullmatch(ref), ref
    sha = ref.removeprefix("sha256:")

    task = flow.task("finance_review")
    form = finance.get(f"/api/v1/tasks/{task['id']}").get_json()["form"]
    field = form["schema"]["properties"]["reconciliation_xlsx"]
    assert field["format"] == "attachment" and field["readOnly"] is True
    assert field["default"] == field["const"] == ref
    assert form["ui_schema"]["ui:order"][0] == "reconciliation_xlsx"

    meta = finance.get(f"/api/v1/attachments/{sha}/meta")
    assert meta.status_code == 200, meta.get_json()
    assert meta.get_json()["filename"] == "电费结算对账表-JS-EAST-202603.xlsx"
    assert meta.get_json()["content_type"] == XLSX_TYPE
    r = finance.get(f"/api/v1/attachments/{ref}")
    assert r.status_code == 200 and r.mimetype == XLSX_TYPE
    assert "filename*=UTF-8''%E7%94%B5%E8%B4%B9" in r.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["汇总 Summary", "站点对账 Stations", "合作方结算 Partners"]
    rows = [row for row in wb["站点对账 Stations"].iter_rows(min_row=2, values_only=True) if row[0]]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        (s["station"], s["station_name"], "EAST") for s in result["stations"]]
    assert len(rows) == result["totals"]["station_count"] > 0
    for row, station in zip(rows, result["stations"], strict=True):
        assert Decimal(str(row[8])) == Decimal(str(station["bill_amount"]))  # 账单电费
        assert Decimal(str(row[5])) == Decimal(str(station["sold_kwh"]))  # 售电 kWh
    summary = {row[0]: row[1] for row in wb["汇总 Summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary["结算月份 / Period"] == "2026-03" and summary["区域 / Region"] == "EAST"
    assert Decimal(str(summary["合作方分成 / Partner share"])) == Decimal(str(result["totals"]["partner_share"]))

    # The request's readers may download it (the region's operations too); another region may not.
    assert flow.client("east_ops").get(f"/api/v1/attachments/{sha}").status_code == 200
    for outsider in ("south_manager", "south_finance", "west_ops"):
        client = flow.client(outsider)
        assert client.get(f"/api/v1/attachments/{sha}").status_code == 404, outsider
        assert client.get(f"/api/v1/attachments/{sha}/meta").status_code == 404, outsider

    # The field is read-only on the server too: another file (even one finance may read) or a
    # malformed ref is a 422, the workbook itself (as the browser sends it back) is accepted.
    decision = plan["finance_review"][0]
    bill_ref = flow.refs[case["tasks"]["upload_data"]["data"][0]["grid_bill"][0]]
    for bad in (bill_ref, "not-a-ref", 42):
        r = finance.post(f"/api/v1/tasks/{task['id']}/complete",
                         json={"data": {**decision, "reconciliation_xlsx": bad}})
        assert r.status_code == 422, (bad, r.status_code, r.get_json())
    flow.refs[ref] = ref
    flow.complete("finance_review", {**decision, "reconciliation_xlsx": ref})
    after = flow.instance("east_finance")
    assert after["data"]["reconciliation_xlsx"] == ref and after["error"] is None
    assert [t["bpmn_id"] for t in after["tasks"] if t["status"] == "open"] == ["chain_rm_approval"]


def test_unconfirmed_statements_remind_then_escalate(app: Any, login: Any) -> None:
    """One partner confirms; after 3 quiet days the partners still pending get reminders (the
    wait goes on); after 7 the regional manager follows up and records the offline confirmation."""
    case = CASES["clean_month_all_partners_confirm"]
    plan = _live_plan(case)
    flow = _flow(login, "EAST")
    _with_uploads(flow, case)
    with engine_clock(app) as clock:
        flow.start("east_finance", MODEL)
        waiting = flow.run(plan, until=lambda i: i["status"] == "waiting")
        assert waiting["metadata"]["settlement_status"] == "awaiting_confirmation"
        flow.message("partner_confirmation", plan["wait_partner_confirmation"][0],
                     {"settlement_no": "JS-EAST-202603"})
        clock["now"] += dt.timedelta(days=3, minutes=1)
        assert fire_timers(app) == 1
        reminded = flow.instance()
        assert reminded["status"] == "waiting" and not [t for t in reminded["tasks"] if t["status"] == "open"]
        notices = reminded["data"]["reminder_notices"]
        assert sorted(n["partner"] for n in notices["notices"]) == ["P-JDWY", "P-LHTZ"]
        assert fire_timers(app) == 0
        clock["now"] += dt.timedelta(days=4)
        assert fire_timers(app) == 1
        followup = flow.task("escalation_followup")
        assert followup["candidate_groups"] == ["regional_manager@EAST"]
        flow.complete("escalation_followup", {"followup_decision": "confirmed_offline",
                                              "followup_comment": "两家合作方已盖章回传确认函",
                                              "offline_evidence": ["sha256:" + "e" * 64]})
        flow.complete("payment_request", plan["payment_request"][0])
    done = flow.instance("east_finance")
    assert done["status"] == "complete"
    confirmations = {c["partner"]: c for c in done["data"]["confirmations"]}
    assert confirmations["P-SJBUS"]["channel"] == "message"
    assert {p: c["channel"] for p, c in confirmations.items() if p != "P-SJBUS"} == {
        "P-JDWY": "offline", "P-LHTZ": "offline"}
    assert confirmations["P-JDWY"]["confirmed_by"] == "east_manager"
    assert done["data"]["pending_partners"] == [] and done["metadata"]["settlement_status"] == "completed"
    fired = [e["bpmn_id"] for e in done["timeline"] if e["type"] == "timer_fired"]
    assert fired == ["timer_reminder", "timer_escalation"]


def test_the_monthly_timer_starts_one_request_per_region_once(app: Any, login: Any) -> None:
    """Deployed with its timer start event, the model is scheduled for 02:00 Beijing time on the
    1st; at that time the scheduler starts one request per region (the system as initiator, the
    region's operations support at the upload), for the month just ended, and only once."""
    from engine.instances.models import ProcessInstance, Schedule
    from engine.instances.schedules import run_schedules

    ctx, sessions = app.extensions["engine_ctx"], app.extensions["db_sessions"]
    with engine_clock(app, dt.datetime(2026, 11, 22, 4, 0, tzinfo=dt.UTC)) as clock:
        assert run_schedules(sessions, ctx) == 0
        with sessions() as s:
            row = s.get(Schedule, "settlement/monthly-reconciliation")
            assert row.next_run_at == dt.datetime(2026, 11, 30, 18, 0, tzinfo=dt.UTC)  # 1 Dec 02:00 Beijing
        clock["now"] = dt.datetime(2026, 11, 30, 17, 59, tzinfo=dt.UTC)
        assert run_schedules(sessions, ctx) == 0
        clock["now"] = dt.datetime(2026, 11, 30, 18, 0, 30, tzinfo=dt.UTC)
        assert run_schedules(sessions, ctx) == 4
        assert run_schedules(sessions, ctx) == 0  # not twice for the same occurrence
        with sessions() as s:
            started = s.execute(select(ProcessInstance).where(
                ProcessInstance.model_id == "settlement/monthly-reconciliation")).scalars().all()
            assert sorted(i.region for i in started) == ["EAST", "NORTH", "SOUTH", "WEST"]
            assert s.get(Schedule, "settlement/monthly-reconciliation").next_run_at == dt.datetime(
                2026, 12, 31, 18, 0, tzinfo=dt.UTC)  # 1 Jan 02:00 Beijing, not a month of UTC days later
            north = next(i.id for i in started if i.region == "NORTH")
    flow = _flow(login, "NORTH")
    flow.id = north
    inst = flow.instance("north_finance")
    assert inst["initiator"] == "system" and inst["status"] == "running"
    assert inst["data"]["period"] == "2026-11" and inst["data"]["region"] == "NORTH"
    upload = flow.task("upload_data")
    assert upload["candidate_groups"] == ["operations@NORTH"]
    form = flow.client("north_ops").get(f"/api/v1/tasks/{upload['id']}").get_json()["form"]["schema"]
    assert form["properties"]["period"]["default"] == "2026-11"
    # The region's people carry it on like a request filed by hand (here with the sample month's files).
    case = CASES["company_operated_stations_only"]
    plan = _live_plan(case)
    _with_uploads(flow, case)
    flow.run(plan, messages=MESSAGES)
    flow.assert_plan_used(plan)
    done = flow.instance("north_finance")
    assert done["status"] == "complete"
    _with_workbook(flow, case, done)
    assert done["data"] == {**flow.mapped(_expected(case, "NORTH", skipped=False)), "scheduled_for": "2026-11-30T18:00:00+00:00"}


def test_xlsx_files_alone_are_reconciled(login: Any) -> None:
    """Operations upload the bill, the order export and the contract register as Excel files and
    paste nothing: the service reads the files from the attachment store."""
    import csv
    import io

    import openpyxl

    upload = dict(CASES["clean_month_all_partners_confirm"]["tasks"]["upload_data"]["data"][0])
    ops = login("east_ops")
    refs = {}
    for ref_key, text_key in (("grid_bill", "bill_csv_text"), ("order_export", "orders_csv_text"),
                              ("contract_register", "contracts_csv_text")):
        wb = openpyxl.Workbook()
        for row in csv.reader(io.StringIO(upload.pop(text_key))):
            wb.active.append(row)
        buf = io.BytesIO()
        wb.save(buf)
        r = ops.client.post("/api/v1/attachments", headers=ops._h(), content_type="multipart/form-data",
                            data={"file": (io.BytesIO(buf.getvalue()), f"{ref_key}.xlsx")})
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["content_type"].endswith("spreadsheetml.sheet")
        refs[ref_key] = [r.get_json()["ref"]]
    inst = login("east_finance").post("/api/v1/process-instances", json={"process_model_id": MODEL}).get_json()
    task = next(t for t in inst["tasks"] if t["status"] == "open")
    assert task["bpmn_id"] == "upload_data"
    r = ops.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {**upload, **refs}})
    assert r.status_code == 200, r.get_json()
    data = login("east_manager").get(f"/api/v1/process-instances/{inst['id']}").get_json()
    assert data["status"] == "running" and data["error"] is None, data["error"]
    result = data["data"]["reconciliation"]
    assert result["ok"] is True and result["sources"]["bill"]["attachment"] == refs["grid_bill"][0]
    assert data["metadata"]["settlement_status"] == "reconciled"
    assert [t["bpmn_id"] for t in data["tasks"] if t["status"] == "open"] == ["finance_review"]
