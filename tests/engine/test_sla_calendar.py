"""Business calendars for SLA due times: working hours, Chinese public holidays and make-up
working days (调休), year ends, the zone, and a user task that opts in with slaCalendar."""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine import sla_calendar as cal
from engine.sla_calendar import CalendarError, check_sla_properties, get_calendar, parse_calendars, sla_times

CST = ZoneInfo("Asia/Shanghai")


def cst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)  # type: ignore[misc]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


WD = "working-days"  # 09:00-18:00, 9 working hours a day
LUNCH = "working-days-lunch"  # 09:00-12:00 + 13:00-18:00, 8 working hours a day


def due(start: dt.datetime, duration: str, calendar: str | None = WD) -> dt.datetime:
    return sla_times(start, duration, calendar)[0]


# --- the shipped holiday data ------------------------------------------------------------

@pytest.mark.parametrize(("day", "working"), [
    (dt.date(2025, 1, 1), False),   # 元旦, a Wednesday
    (dt.date(2025, 1, 26), True),   # Sunday, Spring Festival make-up day
    (dt.date(2025, 1, 28), False),  # 除夕, first holiday under the revised rules
    (dt.date(2025, 2, 4), False),   # 正月初七
    (dt.date(2025, 2, 8), True),    # Saturday make-up day
    (dt.date(2025, 4, 27), True),   # Sunday make-up day for Labour Day
    (dt.date(2025, 5, 5), False),   # Monday, Labour Day (5 days)
    (dt.date(2025, 6, 2), False),   # Monday, Dragon Boat
    (dt.date(2025, 9, 28), True),   # Sunday make-up day
    (dt.date(2025, 10, 6), False),  # Monday, Mid-Autumn inside National Day
    (dt.date(2025, 10, 8), False),
    (dt.date(2025, 10, 9), True),
    (dt.date(2025, 10, 11), True),  # Saturday make-up day
    (dt.date(2025, 10, 12), False),  # a plain Sunday
    (dt.date(2026, 1, 2), False),   # Friday, New Year
    (dt.date(2026, 1, 4), True),    # Sunday make-up day
    (dt.date(2026, 2, 14), True),   # Saturday make-up day before the Spring Festival
    (dt.date(2026, 2, 16), False),
    (dt.date(2026, 2, 23), False),  # Monday, 正月初七
    (dt.date(2026, 2, 24), True),
    (dt.date(2026, 2, 28), True),   # Saturday make-up day
    (dt.date(2026, 5, 9), True),    # Saturday make-up day
    (dt.date(2026, 6, 19), False),  # Friday, Dragon Boat
    (dt.date(2026, 9, 20), True),   # Sunday make-up day
    (dt.date(2026, 9, 25), False),  # Friday, Mid-Autumn
    (dt.date(2026, 10, 7), False),
    (dt.date(2026, 10, 10), True),  # Saturday make-up day
    (dt.date(2026, 11, 23), True),  # a plain Monday
    (dt.date(2026, 11, 21), False),  # a plain Saturday
])
def test_shipped_holidays_and_make_up_days(day: dt.date, working: bool) -> None:
    assert get_calendar(WD).is_working_day(day) is working
    assert get_calendar(LUNCH).is_working_day(day) is working


def test_shipped_years_are_complete_and_documented() -> None:
    holidays = get_calendar(WD).holidays
    assert holidays is not None and holidays.covers(2025) and holidays.covers(2026)
    # Days off that fall on weekdays, and make-up days (all on a weekend).
    weekday_off = {y: sum(1 for d in holidays.years[y].off if d.weekday() < 5) for y in (2025, 2026)}
    make_up = {y: len(holidays.years[y].on) for y in (2025, 2026)}
    assert weekday_off == {2025: 18, 2026: 19} and make_up == {2025: 5, 2026: 6}
    assert all(d.weekday() >= 5 for y in (2025, 2026) for d in holidays.years[y].on)
    # Working days in the year: 261 weekdays - weekday holidays + make-up days = 248 in both years.
    for year in (2025, 2026):
        days = [dt.date(year, 1, 1) + dt.timedelta(n) for n in range(365)]
        assert sum(d.weekday() < 5 for d in days) == 261
        assert sum(get_calendar(WD).is_working_day(d) for d in days) == 248
    assert "国办发明电〔2024〕12号" in holidays.years[2025].source
    assert "2026年部分节假日安排" in holidays.years[2026].source


# --- counting working time ----------------------------------------------------------------

def test_hours_within_a_day_and_at_closing_time() -> None:
    assert due(cst(2026, 11, 23, 9), "PT8H") == cst(2026, 11, 23, 17)
    # Due exactly at closing time is closing time, not the next morning.
    assert due(cst(2026, 11, 23, 9), "PT9H") == cst(2026, 11, 23, 18)
    assert due(cst(2026, 11, 23, 9), "P1D") == cst(2026, 11, 23, 18)
    assert due(cst(2026, 11, 23, 10, 30), "P1D") == cst(2026, 11, 24, 10, 30)  # the same time next working day
    assert due(cst(2026, 11, 23, 17), "PT2H") == cst(2026, 11, 24, 10)
    assert due(cst(2026, 11, 23, 17, 59), "PT1M") == cst(2026, 11, 23, 18)
    assert due(cst(2026, 11, 23, 12), "PT30M15S") == cst(2026, 11, 23, 12, 30, 15)


def test_outside_working_hours_the_count_starts_at_the_next_opening() -> None:
    assert due(cst(2026, 11, 23, 6), "PT1H") == cst(2026, 11, 23, 10)       # early morning
    assert due(cst(2026, 11, 23, 18), "PT1H") == cst(2026, 11, 24, 10)      # at closing
    assert due(cst(2026, 11, 27, 20), "PT1H") == cst(2026, 11, 30, 10)      # Friday night -> Monday
    assert due(cst(2026, 11, 28, 11), "P1D") == cst(2026, 11, 30, 18)       # Saturday -> all of Monday


def test_weeks_are_five_working_days() -> None:
    assert due(cst(2026, 11, 23, 10), "P1W") == due(cst(2026, 11, 23, 10), "P5D") == cst(2026, 11, 30, 10)
    assert due(cst(2026, 11, 23, 10), "P2W") == cst(2026, 12, 7, 10)
    assert due(cst(2026, 11, 23, 10), "P0.5D") == cst(2026, 11, 23, 14, 30)  # half of a 9-hour day


def test_lunch_break_is_not_working_time() -> None:
    assert due(cst(2026, 11, 23, 9), "PT8H", LUNCH) == cst(2026, 11, 23, 18)
    assert due(cst(2026, 11, 23, 9), "P1D", LUNCH) == cst(2026, 11, 23, 18)
    assert due(cst(2026, 11, 23, 11), "PT2H", LUNCH) == cst(2026, 11, 23, 14)   # 11-12, 13-14
    assert due(cst(2026, 11, 23, 12, 30), "PT1H", LUNCH) == cst(2026, 11, 23, 14)  # created during lunch
    assert due(cst(2026, 11, 23, 11), "PT1H", LUNCH) == cst(2026, 11, 23, 12)  # due as lunch begins
    assert due(cst(2026, 11, 23, 10), "P3D", LUNCH) == cst(2026, 11, 26, 10)


def test_a_holiday_inside_the_period_is_skipped() -> None:
    # Tuesday 30 Sep 2025 10:00, 3 working days (27 h): 8 h on the 30th, 1-8 Oct off (National
    # Day + Mid-Autumn), 9 h on Thu 9th, 9 h on Fri 10th, 1 h on Sat 11th (make-up working day).
    assert due(cst(2025, 9, 30, 10), "P3D") == cst(2025, 10, 11, 10)
    # Qingming 2026 (Sat 4 - Mon 6 Apr): Friday afternoon + 1 day -> Tuesday afternoon.
    assert due(cst(2026, 4, 3, 14), "P1D") == cst(2026, 4, 7, 14)
    # Dragon Boat 2026 (Fri 19 - Sun 21 Jun): Thursday -> Monday.
    assert due(cst(2026, 6, 18, 16), "PT4H") == cst(2026, 6, 22, 11)
    # A task created during the Spring Festival 2026 waits until it ends (Tue 24 Feb).
    assert due(cst(2026, 2, 18, 10), "PT1H") == cst(2026, 2, 24, 10)
    # Labour Day 2025: Wed 30 Apr 17:00 + 2 working days -> 1-5 May off -> Tue 6, Wed 7 May 17:00.
    assert due(cst(2025, 4, 30, 17), "P2D") == cst(2025, 5, 7, 17)


def test_make_up_working_days_count() -> None:
    # Friday 13 Feb 2026 15:00 + 8 h: 3 h on Friday, 5 h on Saturday 14th (make-up day).
    assert due(cst(2026, 2, 13, 15), "PT8H") == cst(2026, 2, 14, 14)
    # Sunday 26 Jan 2025 is a working day: a task created that morning is due that afternoon.
    assert due(cst(2025, 1, 26, 9), "PT4H") == cst(2025, 1, 26, 13)
    # Spring Festival 2025: Friday 24 Jan 16:00 + 2 days: Fri 2 h, Sun 26th 9 h, Mon 27th 7 h.
    assert due(cst(2025, 1, 24, 16), "P2D") == cst(2025, 1, 27, 16)


def test_crossing_the_year_end() -> None:
    # Wed 31 Dec 2025 17:00 + 1 day: 1 h, then 1-3 Jan 2026 off, Sunday 4 Jan is a make-up day.
    assert due(cst(2025, 12, 31, 17), "P1D") == cst(2026, 1, 4, 17)
    # Spring Festival 2025 reached from late December 2024 (a year not in the file: Mon-Fri).
    assert due(cst(2024, 12, 31, 10), "P1D") == cst(2025, 1, 2, 10)  # 1 Jan 2025 is off


def test_a_year_not_in_the_file_is_plain_monday_to_friday_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    holidays = get_calendar(WD).holidays
    assert holidays is not None
    holidays._warned.discard(2027)
    with caplog.at_level(logging.WARNING, logger="engine.sla_calendar"):
        # Thursday 31 Dec 2026 17:00 + 1 day: Friday 1 Jan 2027 counts (no data for 2027).
        assert due(cst(2026, 12, 31, 17), "P1D") == cst(2027, 1, 1, 17)
        assert due(cst(2027, 1, 8, 17), "P1D") == cst(2027, 1, 11, 17)  # weekends still skipped
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1 and "Monday-Friday" in warnings[0].getMessage()  # logged once


def test_due_times_are_utc_and_asia_shanghai_has_no_dst() -> None:
    for month in range(1, 13):
        assert cst(2026, month, 15, 12).utcoffset() == dt.timedelta(hours=8)
    d = due(utc(2026, 7, 6, 1), "PT1H")  # Monday 09:00 in Shanghai, summer
    assert d.tzinfo is dt.UTC and d == utc(2026, 7, 6, 2)
    d = due(utc(2026, 1, 5, 1), "PT1H")  # Monday 09:00 in Shanghai, winter: same offset
    assert d.tzinfo is dt.UTC and d == utc(2026, 1, 5, 2)
    # A UTC start on Sunday evening is already Monday morning in Shanghai.
    assert due(utc(2026, 11, 22, 23, 30), "PT1H") == utc(2026, 11, 23, 2)
    # Any zone of the start gives the same instant.
    start = cst(2026, 11, 23, 10)
    assert due(start, "P2D") == due(start.astimezone(ZoneInfo("America/New_York")), "P2D")
    with pytest.raises(ValueError):
        get_calendar(WD).add(dt.datetime(2026, 11, 23, 10), dt.timedelta(hours=1))


def test_a_calendar_in_a_zone_with_dst_keeps_local_hours() -> None:
    berlin = parse_calendars({"calendars": {"office": {"timezone": "Europe/Berlin", "hours": ["09:00-17:00"]}}})["office"]
    # Friday 27 Mar 2026 16:00 CET + 2 h: 1 h Friday, DST starts Sunday, 1 h Monday from 09:00 CEST.
    start = dt.datetime(2026, 3, 27, 16, tzinfo=ZoneInfo("Europe/Berlin"))
    assert berlin.add(start, dt.timedelta(hours=2)) == dt.datetime(2026, 3, 30, 10, tzinfo=ZoneInfo("Europe/Berlin"))


def test_counting_and_measuring_agree() -> None:
    rng = random.Random(2485)
    for name in (WD, LUNCH):
        c = get_calendar(name)
        for _ in range(300):
            start = utc(2025, 1, 1) + dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
            work = dt.timedelta(minutes=rng.randrange(0, 30 * 9 * 60))
            end = c.add(start, work)
            assert end >= start
            assert c.working_time(start, end) == work
            if work:  # and it is the earliest such instant
                assert c.working_time(start, end - dt.timedelta(seconds=1)) < work


def test_calendar_time_is_unchanged_without_a_calendar() -> None:
    start = utc(2025, 9, 30, 2)
    for name in (None, "", "calendar"):
        assert sla_times(start, "P3D", name) == (utc(2025, 10, 3, 2), utc(2025, 10, 2, 11, 36))
        assert sla_times(start, "PT2H", name) == (utc(2025, 9, 30, 4), utc(2025, 9, 30, 3, 36))
    assert sla_times(start, "P1M", None)[0] == utc(2025, 10, 30, 2)  # months are calendar months


def test_reminder_comes_at_four_fifths_of_the_working_time() -> None:
    # 27 working hours from Tue 30 Sep 2025 10:00; 4/5 = 21.6 h: 8 h + 9 h (9 Oct) + 4.6 h -> 10 Oct 13:36.
    due_at, remind = sla_times(cst(2025, 9, 30, 10), "P3D", WD)
    assert due_at == cst(2025, 10, 11, 10) and remind == cst(2025, 10, 10, 13, 36)
    # Never at night: Friday 17:00 + PT2H -> due Monday 10:00, reminder Monday 09:36.
    assert sla_times(cst(2026, 11, 27, 17), "PT2H", WD) == (cst(2026, 11, 30, 10), cst(2026, 11, 30, 9, 36))


# --- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("props", "problem"), [
    ({"slaDuration": "P3D", "slaCalendar": "working-days"}, None),
    ({"slaDuration": "PT8H", "slaCalendar": "working-days-lunch"}, None),
    ({"slaDuration": "P2W", "slaCalendar": "working-days"}, None),
    ({"slaDuration": "P1M"}, None),
    ({"slaDuration": "P3D", "slaCalendar": "calendar"}, None),
    ({"slaDuration": "3 days"}, "not an ISO 8601 duration"),
    ({"slaDuration": "P3D", "slaCalendar": "workdays"}, "not a known business calendar (known: calendar, working-days"),
    ({"slaCalendar": "working-days"}, "has no effect without slaDuration"),
    ({"slaDuration": "P1M", "slaCalendar": "working-days"}, "years and months cannot be counted in working time"),
    ({"slaDuration": "P1Y2D", "slaCalendar": "working-days"}, "years and months"),
])
def test_sla_properties_are_checked(props: dict[str, str], problem: str | None) -> None:
    found = check_sla_properties(props)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0], found


@pytest.mark.parametrize(("data", "message"), [
    ({"calendars": {"x": {"hours": ["09:00-18:00", "12:00-19:00"]}}}, "not overlap"),
    ({"calendars": {"x": {"hours": ["18:00-09:00"]}}}, "ends before it starts"),
    ({"calendars": {"x": {"hours": ["9 to 5"]}}}, "is not like '09:00-18:00'"),
    ({"calendars": {"x": {"timezone": "Mars/Olympus"}}}, "unknown time zone"),
    ({"calendars": {"x": {"holidays": "jp"}}}, "unknown holiday set 'jp'"),
    ({"calendars": {"calendar": {}}}, "reserved"),
    ({"calendars": {}, "holiday_sets": {"cn": {2027: {False: [], True: []}}}}, "unknown keys False, True"),
    ({"calendars": {}, "holiday_sets": {"cn": {2027: {"days_off": [["2026-12-31", "2027-01-01", "元旦"]]}}}},
     "2026-12-31 is not in 2027"),
    ({"calendars": {}, "holiday_sets": {"cn": {2027: {"days_off": [["2027-01-01", "2027-01-01"]],
                                                      "make_up_days": [["2027-01-01", "x"]]}}}},
     "both a day off and a make-up day"),
    ({"calendars": {}, "holiday_sets": {"cn": {2027: {"days_off": [["2027-01-05", "2027-01-03", "x"]]}}}},
     "ends before it starts"),
    ({"calendars": {}, "holiday_sets": {"cn": {2027: {"days_off": [["2027-13-01", "2027-13-01", "x"]]}}}},
     "is not a date"),
    ({"holiday_sets": {}}, "expected a mapping with 'calendars'"),
])
def test_a_bad_calendar_file_is_refused_with_a_reason(data: Any, message: str) -> None:
    with pytest.raises(CalendarError, match=None) as exc:
        parse_calendars(data)
    assert message in str(exc.value)


def test_an_administrator_can_extend_the_years_with_their_own_file(tmp_path: Path, monkeypatch: Any) -> None:
    text = cal.DEFAULT_FILE.read_text(encoding="utf-8") + """    2027:
      source: test
      days_off:
        - [2027-01-01, 2027-01-03, 元旦 New Year's Day]
      make_up_days: []
"""
    path = tmp_path / "calendars.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv(cal.ENV_FILE, str(path))
    try:
        cal.configure_calendars()
        assert get_calendar(WD).holidays.covers(2027)  # type: ignore[union-attr]
        assert due(cst(2026, 12, 31, 17), "P1D") == cst(2027, 1, 4, 17)
        monkeypatch.setenv(cal.ENV_FILE, str(tmp_path / "missing.yaml"))
        with pytest.raises(CalendarError, match="cannot read calendar file"):
            cal.configure_calendars()
    finally:
        monkeypatch.delenv(cal.ENV_FILE)
        cal.configure_calendars()
    assert not get_calendar(WD).holidays.covers(2027)  # type: ignore[union-attr]


# --- in the engine ------------------------------------------------------------------------------

SLA_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="sla_cal" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="审核（3 个工作日）">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="slaDuration" value="P3D" />
        <spiffworkflow:property name="slaCalendar" value="{calendar}" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="respond" name="响应（2 小时，日历时间）">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="slaDuration" value="PT2H" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="respond" />
    <bpmn:sequenceFlow id="f3" sourceRef="respond" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def _files(calendar: str) -> dict[str, str]:
    return {"sla_cal.bpmn": SLA_BPMN.replace("{calendar}", calendar), "process_model.json": json.dumps(
        {"display_name": "SLA calendar", "primary_file_name": "sla_cal.bpmn", "primary_process_id": "sla_cal"})}


def test_deploy_names_the_element_with_a_bad_sla_calendar(app: Any, org: Any) -> None:
    from engine.deploy.service import deploy
    from engine.errors import ModelInvalid

    with app.extensions["db_sessions"]() as s:
        with pytest.raises(ModelInvalid) as exc:
            deploy(s, model_id="test/sla-cal", files=_files("weekdays"), actor="test")
        errors = exc.value.details["errors"]
        assert [(e["element_id"], e["file"]) for e in errors] == [("review", "sla_cal.bpmn")]
        assert "slaCalendar 'weekdays' is not a known business calendar" in errors[0]["message"]
        assert "element review" in exc.value.message


def test_a_user_task_on_the_working_calendar_gets_its_due_time(app: Any, org: Any) -> None:
    from engine.deploy.service import deploy
    from engine.instances import service
    from engine.instances.models import HumanTask
    from engine.org.service import get_user_by_username

    ctx = app.extensions["engine_ctx"]
    clock = {"now": utc(2025, 9, 30, 2)}  # Tuesday 30 Sep 2025 10:00 in Shanghai, before National Day
    ctx.clock = lambda: clock["now"]
    try:
        with app.extensions["db_sessions"]() as s:
            deploy(s, model_id="test/sla-cal", files=_files("working-days"), actor="test")
            user = get_user_by_username(s, "east_ops")
            assert user is not None
            step = service.start_instance(s, ctx, model_id="test/sla-cal", actor=user)
            s.commit()
            [row] = step.created_tasks
            assert row.bpmn_id == "review"
            # 3 working days: 8 h on 30 Sep, 1-8 Oct off, 9 + 9 h, 1 h on Sat 11 Oct (make-up day).
            assert row.due_at == utc(2025, 10, 11, 2)
            assert row.next_sla_check_at == utc(2025, 10, 10, 5, 36)  # reminder at 4/5 of the working time
            assert row.sla_state == "on_track"

            clock["now"] = utc(2025, 10, 11, 3)  # the next task, on calendar time, created on the make-up Saturday
            step = service.complete_task(s, ctx, task_id=row.id, actor=user, data={})
            s.commit()
            [nxt] = [t for t in step.created_tasks if t.bpmn_id == "respond"]
            assert nxt.due_at == utc(2025, 10, 11, 5) and nxt.next_sla_check_at == utc(2025, 10, 11, 4, 36)
            stored = s.get(HumanTask, row.id)
            assert stored is not None and stored.due_at is not None and stored.due_at.tzinfo is not None
    finally:
        ctx.clock = lambda: dt.datetime.now(dt.UTC)
