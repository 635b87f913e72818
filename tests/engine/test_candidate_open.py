"""task_candidate.is_open follows its task's status through a database trigger (migration 0013),
whichever code path changes the status: the inbox's partial index relies on it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text, update

from engine.instances import service
from engine.instances.models import HELD, HumanTask, TaskCandidate
from engine.migrate import downgrade, upgrade
from engine.org.service import get_user_by_username


def _flags(session: Any, task_id: int) -> list[bool]:
    session.expire_all()
    return list(session.execute(select(TaskCandidate.is_open).where(TaskCandidate.task_id == task_id)).scalars())


def test_candidates_of_live_tasks_are_open_and_closed_tasks_not(app: Any, deployed: Any, session: Any) -> None:
    ctx = app.extensions["engine_ctx"]
    user = get_user_by_username(session, "east_ops")
    step = service.start_instance(session, ctx, model_id="demo/simple-approval", actor=user, data={"title": "扩容"})
    session.commit()
    (apply,) = step.created_tasks
    assert _flags(session, apply.id) == [True]

    service.complete_task(session, ctx, task_id=apply.id, actor=user, data={"title": "扩容", "amount": 10})
    session.commit()
    assert _flags(session, apply.id) == [False]  # done: a Core UPDATE, no ORM event involved
    review = session.execute(select(HumanTask).where(HumanTask.instance_id == step.instance.id,
                                                     HumanTask.status == "open")).scalar_one()
    assert _flags(session, review.id) and all(_flags(session, review.id))

    # On hold (加签) is still live; back to open stays live.
    session.execute(update(HumanTask).where(HumanTask.id == review.id).values(status=HELD))
    session.commit()
    assert all(_flags(session, review.id))

    service.withdraw(session, ctx, instance_id=step.instance.id, actor=user, reason="不再需要")
    session.commit()
    assert not any(_flags(session, review.id))  # cancelled by the withdrawal


def test_migration_0013_backfills_and_downgrades(tmp_path: Path) -> None:
    """Rows written before 0013 get the flag from their task's status; the downgrade removes it all."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0012")
    engine = create_engine(url)
    with engine.begin() as conn:
        for tid, status in ((1, "open"), (2, "completed"), (3, "on_hold")):
            conn.execute(text(
                "INSERT INTO human_task (id, instance_id, task_guid, bpmn_id, name, model_id, region, status, created_at) "
                f"VALUES ({tid}, 1, 'g{tid}', 'b', 'n', 'm', 'EAST', '{status}', '2026-01-01 00:00:00')"))
            conn.execute(text(f"INSERT INTO task_candidate (task_id, principal, any_region) VALUES ({tid}, 'user:1', 0)"))
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        flags = dict(conn.execute(text("SELECT task_id, is_open FROM task_candidate ORDER BY task_id")).all())
        assert flags == {1: 1, 2: 0, 3: 1}
        conn.execute(text("UPDATE human_task SET status = 'cancelled' WHERE id = 1"))
        assert conn.execute(text("SELECT is_open FROM task_candidate WHERE task_id = 1")).scalar() == 0
    engine.dispose()
    downgrade(url, "0012")
    engine = create_engine(url)
    with engine.begin() as conn:
        assert all(r[1] != "is_open" for r in conn.execute(text("PRAGMA table_info(task_candidate)")))
        conn.execute(text("UPDATE human_task SET status = 'open' WHERE id = 1"))  # no trigger left behind
    engine.dispose()
