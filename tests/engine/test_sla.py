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
