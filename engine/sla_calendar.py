"""Business calendars for SLA due times: working days, working hours, public holidays and
make-up working days (调休), read from a data file (engine/holidays_cn.yaml by default, or
the file named by SLA_CALENDAR_FILE, see docs/sla.md).

A user task opts in with the extension property ``slaCalendar`` = a calendar name; its
``slaDuration`` then counts working time. One working day is the length of the calendar's
working periods (09:00-18:00: 9 h; with a lunch break 09:00-12:00 + 13:00-18:00: 8 h), so
P3D = 3 working days and PT8H = 8 working hours; PnW = 5n working days. Years and months
are refused with a working calendar (a "working month" has no agreed meaning).

The due time is the earliest instant at which that much working time has passed since the
task was created: created outside working hours, the count starts at the next opening; a
task due exactly at closing time is due at closing time (not at the next opening). Due times
are returned in UTC; the wall-clock arithmetic happens in the calendar's zone.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

DEFAULT_FILE = Path(__file__).resolve().parent / "holidays_cn.yaml"
ENV_FILE = "SLA_CALENDAR_FILE"
CALENDAR_TIME = "calendar"  # slaCalendar value meaning plain elapsed time (the default)
PROPERTY = "slaCalendar"
DURATION_PROPERTY = "slaDuration"
MAX_DAYS = 20 * 366  # a search longer than this means a calendar without working days


class CalendarError(ValueError):
    """A calendar file that cannot be used, or a duration a calendar cannot count."""


@dataclass(frozen=True)
class HolidayYear:
    off: frozenset[dt.date]  # days off (holidays, including the weekend days inside them)
    on: frozenset[dt.date]  # make-up working days (调休上班), a Saturday or Sunday
    source: str = ""
    names: Mapping[dt.date, str] = field(default_factory=dict)


class HolidaySet:
    """Days off and make-up working days per year. A year the set does not cover counts as
    plain Monday-Friday, and that is logged once per set and year."""

    def __init__(self, name: str, years: Mapping[int, HolidayYear]) -> None:
        self.name = name
        self.years = dict(years)
        self._warned: set[int] = set()
        self._lock = threading.Lock()

    def covers(self, year: int) -> bool:
        return year in self.years

    def is_working_day(self, day: dt.date) -> bool:
        year = self.years.get(day.year)
        if year is None:
            self._warn_missing(day.year)
            return day.weekday() < 5
        if day in year.on:
            return True
        if day in year.off:
            return False
        return day.weekday() < 5

    def name_of(self, day: dt.date) -> str | None:
        year = self.years.get(day.year)
        return year.names.get(day) if year else None

    def _warn_missing(self, year: int) -> None:
        with self._lock:
            if year in self._warned:
                return
            self._warned.add(year)
        log.warning("holiday set %r has no data for %s: counting plain Monday-Friday; add the year's "
                    "State Council notice to %s (or the file in %s)", self.name, year, DEFAULT_FILE.name, ENV_FILE)


@dataclass(frozen=True)
class WorkingDuration:
    """A duration to count on a business calendar: whole working days plus working time."""

    days: float = 0
    time: dt.timedelta = dt.timedelta(0)


class BusinessCalendar:
    def __init__(self, name: str, *, timezone: str = "Asia/Shanghai",
                 hours: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(9), dt.time(18)),),
                 holidays: HolidaySet | None = None, description: str = "") -> None:
        if not hours:
            raise CalendarError(f"calendar {name!r}: no working hours")
        for (s, e), nxt in zip(hours, (*hours[1:], None), strict=True):
            if not s < e:
                raise CalendarError(f"calendar {name!r}: working period {s:%H:%M}-{e:%H:%M} ends before it starts")
            if nxt is not None and nxt[0] < e:
                raise CalendarError(f"calendar {name!r}: working periods must be ascending and not overlap")
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"calendar {name!r}: unknown time zone {timezone!r}") from exc
        self.name, self.timezone, self.hours = name, timezone, hours
        self.holidays, self.description = holidays, description
        self.day_length = sum((_seconds(e) - _seconds(s) for s, e in hours), 0)

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}, {self.timezone}, {len(self.hours)} periods)"

    # --- days -----------------------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        if self.holidays is None:
            return day.weekday() < 5
        return self.holidays.is_working_day(day)

    def periods(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The working periods of a day as UTC instants (none on a day off)."""
        if not self.is_working_day(day):
            return []
        return [(_utc(day, s, self.zone), _utc(day, e, self.zone)) for s, e in self.hours]

    # --- counting -------------------------------------------------------------------------

    def add(self, start: dt.datetime, duration: WorkingDuration | dt.timedelta) -> dt.datetime:
        """The earliest instant (UTC) by which `duration` of working time has passed since `start`."""
        if start.tzinfo is None:
            raise ValueError("naive start time: pass an aware datetime")
        work = self.to_timedelta(duration) if isinstance(duration, WorkingDuration) else duration
        start = start.astimezone(dt.UTC)
        remaining = work
        if remaining <= dt.timedelta(0):
            return start
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            for begin, end in self.periods(day):
                if end <= start:
                    continue
                begin = max(begin, start)
                available = end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += dt.timedelta(days=1)
        raise CalendarError(f"calendar {self.name!r}: no working time found within {MAX_DAYS} days")

    def working_time(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time between two instants (zero when end <= start)."""
        start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        total = dt.timedelta(0)
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for begin, stop in self.periods(day):
                lo, hi = max(begin, start), min(stop, end)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def to_timedelta(self, duration: WorkingDuration) -> dt.timedelta:
        return dt.timedelta(seconds=duration.days * self.day_length) + duration.time


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _utc(day: dt.date, t: dt.time, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, t, tzinfo=zone).astimezone(dt.UTC)


def parse_duration(text: str) -> dict[str, float]:
    """SpiffWorkflow's ISO 8601 duration parser (the one timers use), with a check that the
    text is a duration at all (it starts with P)."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    raw = text.strip()
    if not raw.upper().startswith("P"):
        raise CalendarError(f"'{text}' is not an ISO 8601 duration such as PT2H or P5D")
    try:
        parsed: dict[str, float] = TimerEventDefinition.parse_iso_duration(raw)
    except Exception as exc:
        raise CalendarError(f"'{text}' is not an ISO 8601 duration such as PT2H or P5D") from exc
    return parsed


def parse_working_duration(text: str) -> WorkingDuration:
    """An ISO 8601 duration as working time: days and weeks (5 working days) count whole
    working days, hours/minutes/seconds working time. Years and months are refused."""
    parsed = parse_duration(text)
    if parsed.get("years") or parsed.get("months"):
        raise CalendarError(f"'{text}': years and months cannot be counted in working time; use days (P20D), "
                            "weeks (P4W = 20 working days) or hours")
    days = parsed.get("days", 0) + 5 * parsed.get("weeks", 0)
    time = dt.timedelta(hours=parsed.get("hours", 0), minutes=parsed.get("minutes", 0),
                        seconds=parsed.get("seconds", 0))
    return WorkingDuration(days, time)


# --- the calendars file --------------------------------------------------------------------

def _period(text: Any, where: str) -> tuple[dt.time, dt.time]:
    try:
        a, b = str(text).split("-")
        return dt.time.fromisoformat(a.strip()), dt.time.fromisoformat(b.strip())
    except ValueError as exc:
        raise CalendarError(f"{where}: working period {text!r} is not like '09:00-18:00'") from exc


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise CalendarError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def _holiday_year(set_name: str, year: int, body: Any) -> HolidayYear:
    where = f"holiday_sets.{set_name}.{year}"
    if not isinstance(body, Mapping):
        raise CalendarError(f"{where}: expected a mapping with days_off, make_up_days and source")
    unknown = sorted(str(k) for k in body if k not in ("days_off", "make_up_days", "source"))
    if unknown:  # e.g. `off:` / `on:`, which YAML reads as booleans
        raise CalendarError(f"{where}: unknown keys {', '.join(unknown)} (expected days_off, make_up_days, source)")
    off: set[dt.date] = set()
    on: set[dt.date] = set()
    names: dict[dt.date, str] = {}
    for item in body.get("days_off") or []:
        if not isinstance(item, list | tuple) or len(item) not in (2, 3):
            raise CalendarError(f"{where}.days_off: {item!r} is not [first day, last day, name]")
        first, last = _date(item[0], f"{where}.days_off"), _date(item[1], f"{where}.days_off")
        if last < first:
            raise CalendarError(f"{where}.days_off: {first} to {last} ends before it starts")
        day = first
        while day <= last:
            off.add(day)
            names[day] = str(item[2]) if len(item) == 3 else ""
            day += dt.timedelta(days=1)
    for item in body.get("make_up_days") or []:
        values = item if isinstance(item, list | tuple) else [item]
        day = _date(values[0], f"{where}.make_up_days")
        on.add(day)
        names[day] = str(values[1]) if len(values) > 1 else ""
    for day in off | on:
        if day.year != year:
            raise CalendarError(f"{where}: {day} is not in {year}")
    both = off & on
    if both:
        raise CalendarError(f"{where}: {', '.join(map(str, sorted(both)))} both a day off and a make-up day")
    return HolidayYear(frozenset(off), frozenset(on), str(body.get("source") or ""), names)


def parse_calendars(data: Any, origin: str = "calendar file") -> dict[str, BusinessCalendar]:
    """Build the calendars described by a parsed calendars file (see engine/holidays_cn.yaml)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("calendars"), Mapping):
        raise CalendarError(f"{origin}: expected a mapping with 'calendars' (and 'holiday_sets')")
    sets: dict[str, HolidaySet] = {}
    for set_name, years in (data.get("holiday_sets") or {}).items():
        if not isinstance(years, Mapping):
            raise CalendarError(f"{origin}: holiday_sets.{set_name} must map years to their days")
        parsed = {}
        for year, body in years.items():
            try:
                y = int(year)
            except (TypeError, ValueError) as exc:
                raise CalendarError(f"{origin}: holiday_sets.{set_name}: {year!r} is not a year") from exc
            parsed[y] = _holiday_year(str(set_name), y, body)
        sets[str(set_name)] = HolidaySet(str(set_name), parsed)
    out: dict[str, BusinessCalendar] = {}
    for name, body in data["calendars"].items():
        name = str(name)
        if name == CALENDAR_TIME:
            raise CalendarError(f"{origin}: '{CALENDAR_TIME}' is reserved for plain elapsed time")
        if not isinstance(body, Mapping):
            raise CalendarError(f"{origin}: calendars.{name} must be a mapping")
        set_name = body.get("holidays")
        if set_name is not None and str(set_name) not in sets:
            raise CalendarError(f"{origin}: calendars.{name}: unknown holiday set {set_name!r}")
        hours = tuple(_period(p, f"{origin}: calendars.{name}") for p in (body.get("hours") or ["09:00-18:00"]))
        try:
            out[name] = BusinessCalendar(
                name, timezone=str(body.get("timezone") or "Asia/Shanghai"), hours=hours,
                holidays=sets[str(set_name)] if set_name is not None else None,
                description=str(body.get("description") or ""))
        except CalendarError as exc:
            raise CalendarError(f"{origin}: {exc}") from exc
    return out


def load_calendars(path: Path) -> dict[str, BusinessCalendar]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError(f"cannot read calendar file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalendarError(f"{path}: not valid YAML: {exc}") from exc
    return parse_calendars(data, str(path))


# --- the process-wide registry -------------------------------------------------------------

_registry: dict[str, BusinessCalendar] | None = None
_registry_lock = threading.Lock()


def configure_calendars(path: Path | str | None = None) -> dict[str, BusinessCalendar]:
    """Load the calendars this process uses: `path`, else $SLA_CALENDAR_FILE, else the file
    shipped with the engine. Raises CalendarError at start-up on a bad file."""
    global _registry
    chosen = Path(path) if path else Path(os.environ[ENV_FILE]) if os.environ.get(ENV_FILE) else DEFAULT_FILE
    loaded = load_calendars(chosen)
    with _registry_lock:
        _registry = loaded
    return loaded


def calendars() -> dict[str, BusinessCalendar]:
    if _registry is None:
        return configure_calendars()
    return _registry


def get_calendar(name: str) -> BusinessCalendar:
    found = calendars().get(name)
    if found is None:
        raise CalendarError(f"unknown business calendar '{name}' (known: {', '.join(known_names())})")
    return found


def known_names() -> list[str]:
    return [CALENDAR_TIME, *sorted(calendars())]


# --- SLA due times ---------------------------------------------------------------------------

def sla_times(start: dt.datetime, duration: str, calendar: str | None = None) -> tuple[dt.datetime, dt.datetime]:
    """(due time, reminder time), both UTC, for a task created at `start` with `slaDuration`
    = `duration` and `slaCalendar` = `calendar`. The reminder comes when the last fifth of the
    allowed time begins, counted on the same calendar (so never at night on a working calendar)."""
    start = start.astimezone(dt.UTC)
    name = (calendar or "").strip()
    if not name or name == CALENDAR_TIME:
        from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

        due = start + TimerEventDefinition.get_timedelta_from_start(parse_duration(duration), start)
        return due, due - (due - start) / 5
    cal = get_calendar(name)
    work = cal.to_timedelta(parse_working_duration(duration))
    return cal.add(start, work), cal.add(start, work * 4 / 5)


def check_sla_properties(props: Mapping[str, Any]) -> list[str]:
    """Deploy-time problems with a task's slaDuration / slaCalendar (empty when fine)."""
    problems: list[str] = []
    duration, calendar = props.get(DURATION_PROPERTY), props.get(PROPERTY)
    if duration is not None:
        try:
            parse_duration(str(duration))
        except CalendarError:
            problems.append(f"{DURATION_PROPERTY} '{duration}' is not an ISO 8601 duration such as PT2H or P5D")
            return problems
    if calendar is None:
        return problems
    name = str(calendar).strip()
    if name != CALENDAR_TIME and name not in calendars():
        problems.append(f"{PROPERTY} '{calendar}' is not a known business calendar (known: {', '.join(known_names())})")
        return problems
    if duration is None:
        problems.append(f"{PROPERTY} '{calendar}' has no effect without {DURATION_PROPERTY}")
    elif name != CALENDAR_TIME:
        try:
            parse_working_duration(str(duration))
        except CalendarError as exc:
            problems.append(f"{DURATION_PROPERTY} {exc} ({PROPERTY} '{name}')")
    return problems
