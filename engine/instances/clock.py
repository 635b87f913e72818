"""The engine's clock as the one BPMN timers read.

SpiffWorkflow's timer events compute and check their due times with `datetime.now(timezone.utc)`
in its timer module, while the poller, the SLA scan and the audit log use `EngineContext.clock`.
When the two differ (a host clock, a test moving time), the poller finds a timer due, advances the
instance and logs `timer_fired`, yet SpiffWorkflow sees nothing due and nothing happens. So the
timer module's `datetime` answers `now()` from the clock bound by the operation at hand (each one
builds its script engine through `runner.script_engine_for`, which binds its context's clock)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

_CLOCK: ContextVar[Callable[[], dt.datetime] | None] = ContextVar("engine_clock", default=None)


class _EngineDatetime(dt.datetime):
    """`datetime` whose `now()` reads the bound engine clock (the real one when none is bound)."""

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> Any:
        clock = _CLOCK.get()
        if clock is None:
            return super().now(tz)
        now = clock().astimezone(tz) if tz is not None else clock().astimezone().replace(tzinfo=None)
        return cls.combine(now.date(), now.timetz())


def bind_clock(clock: Callable[[], dt.datetime]) -> None:
    """Make `clock` the time SpiffWorkflow's timers see in this thread (or task) from now on."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    if timer.datetime is not _EngineDatetime:
        timer.datetime = _EngineDatetime
    _CLOCK.set(clock)
