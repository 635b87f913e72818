"""Timer start events start one new request per occurrence (per region when asked)."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from engine.deploy.service import deploy
from engine.instances.models import HumanTask, ProcessInstance, Schedule
from engine.instances.schedules import run_schedules

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="t">
  <bpmn:process id="monthly" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="财务"><bpmn:flowNodeRef>close</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle>"R/2026-01-01T09:00:00+08:00/P1M"</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:userTask id="close" name="月度结算"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="close"/><bpmn:sequenceFlow id="b" sourceRef="close" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_monthly_cycle_starts_one_request_per_region_each_month(app: Any, org: Any) -> None:
    ctx, sessions = app.extensions["engine_ctx"], app.extensions["db_sessions"]
    clock = {"now": dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)}
    ctx.clock = lambda: clock["now"]
    try:
        with sessions() as s:
            deploy(s, model_id="t/monthly", actor="t", files={"m.bpmn": BPMN, "process_model.json": json.dumps({
                "display_name": "月结", "primary_file_name": "m.bpmn", "primary_process_id": "monthly",
                "schedule_per_region": True})})
            s.commit()
        assert run_schedules(sessions, ctx) == 0  # next: 1 December 09:00 Beijing time
        with sessions() as s:
            row = s.get(Schedule, "t/monthly")
            assert row.next_run_at == dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
        clock["now"] = dt.datetime(2026, 12, 1, 1, 0, 5, tzinfo=dt.UTC)
        assert run_schedules(sessions, ctx) == 4  # EAST, NORTH, SOUTH, WEST
        assert run_schedules(sessions, ctx) == 0  # once per occurrence
        with sessions() as s:
            regions = sorted(s.execute(select(ProcessInstance.region)).scalars())
            assert regions == ["EAST", "NORTH", "SOUTH", "WEST"]
            assert s.execute(select(HumanTask.bpmn_id).distinct()).scalars().all() == ["close"]
            assert s.get(Schedule, "t/monthly").next_run_at == dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)
        # A scheduled request completes like any other.
        from engine.instances import service
        from engine.org.service import get_user_by_username
        with sessions() as s:
            task = s.execute(select(HumanTask).where(HumanTask.region == "EAST")).scalars().first()
            step = service.complete_task(s, ctx, task_id=task.id, actor=get_user_by_username(s, "east_finance"), data={})
            s.commit()
            assert step.instance.status == "complete"
        # A worker down for two months starts only the current occurrence, not a backlog.
        clock["now"] = dt.datetime(2027, 3, 2, 0, 0, tzinfo=dt.UTC)
        assert run_schedules(sessions, ctx) == 4
        with sessions() as s:
            assert s.get(Schedule, "t/monthly").next_run_at == dt.datetime(2027, 4, 1, 1, 0, tzinfo=dt.UTC)
    finally:
        ctx.clock = lambda: dt.datetime.now(dt.UTC)


def test_monthly_cycle_keeps_local_wall_clock_time_before_8am_beijing() -> None:
    """02:00 Beijing on the 1st is 18:00 UTC on the last day of the month before: the months are
    counted on the cycle's own calendar, not in UTC (which drifted to 4 March, 4 April, ...)."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition

    from engine.instances.schedules import next_occurrence

    ed = CycleTimerEventDefinition("monthly", '"R/2026-01-01T02:00:00+08:00/P1M"')
    beijing = dt.timezone(dt.timedelta(hours=8))
    t, seen = dt.datetime(2026, 1, 5, tzinfo=dt.UTC), []
    for _ in range(14):
        t = next_occurrence(ed, "R/2026-01-01T02:00:00+08:00/P1M", after=t, deployed_at=t, runs=0)
        assert t is not None and t.tzinfo is not None
        seen.append(t.astimezone(beijing))
    assert {(d.day, d.hour, d.minute) for d in seen} == {(1, 2, 0)}
    assert [d.month for d in seen] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
