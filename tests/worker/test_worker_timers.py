"""Timers fired by real Celery worker processes (beat included): on time, exactly once with two
workers and one killed mid-run, and missed timers caught up after a restart. The broker is
TEST_BROKER_URL (Redis in CI) or the embedded file broker."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.audit.models import AuditEvent
from engine.instances.models import ProcessInstance

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


class Workers:
    def __init__(self, db_url: str, instance_dir: Path) -> None:
        self.env = {
            **os.environ, "DATABASE_URL": db_url, "INSTANCE_DIR": str(instance_dir), "SECRET_KEY": "test-secret",
            "CELERY_BROKER_URL": os.environ.get("TEST_BROKER_URL") or "filesystem://",
            "PROCESSES_DIR": str(ROOT / "processes"),
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = instance_dir

    def start(self, name: str, beat: bool = True) -> subprocess.Popen[bytes]:
        args = [sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel", "INFO",
                "--concurrency", "1", "-n", f"{name}@%h"]
        if beat:
            args.append("--beat")
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def kill(self, p: subprocess.Popen[bytes]) -> None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs.clear()


@pytest.fixture
def workers(app: Any, db_url: str, tmp_path: Path) -> Iterator[Workers]:
    if (os.environ.get("TEST_BROKER_URL") or "").startswith("redis"):
        import redis

        redis.Redis.from_url(os.environ["TEST_BROKER_URL"]).flushdb()  # no stale messages from earlier runs
    w = Workers(db_url, tmp_path)
    yield w
    w.stop_all()


def _start_timer_requests(login: Any, n: int) -> list[int]:
    ops = login("east_ops")
    ids = []
    for _ in range(n):
        r = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:timer-wait"})
        assert r.status_code == 201 and r.get_json()["status"] == "waiting"
        ids.append(r.get_json()["id"])
    return ids


def _fired_counts(app: Any, ids: list[int]) -> dict[int, int]:
    with app.extensions["db_sessions"]() as s:
        rows = s.execute(select(AuditEvent.instance_id, func.count()).where(
            AuditEvent.instance_id.in_(ids), AuditEvent.type == "timer_fired").group_by(AuditEvent.instance_id)).all()
    counts = {i: 0 for i in ids}
    counts.update(dict(rows))
    return counts


def _statuses(app: Any, ids: list[int]) -> dict[int, str]:
    with app.extensions["db_sessions"]() as s:
        return dict(s.execute(select(ProcessInstance.id, ProcessInstance.status).where(ProcessInstance.id.in_(ids))).all())


def _wait_until(pred: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def test_a_worker_fires_a_timer_on_time(app: Any, login: Any, workers: Workers) -> None:
    workers.start("w1")
    time.sleep(4)  # worker and beat up
    [iid] = _start_timer_requests(login, 1)  # PT1S timer
    started = time.monotonic()
    assert _wait_until(lambda: _statuses(app, [iid])[iid] == "running", 20), (workers.logs / "w1.log").read_text()[-3000:]
    # Due after 1 s; the poller runs every second: fired well within 2 s of being due (slack for CI load).
    assert time.monotonic() - started < 6
    assert _fired_counts(app, [iid]) == {iid: 1}


def test_two_workers_one_killed_fire_each_timer_exactly_once(app: Any, login: Any, workers: Workers) -> None:
    w1 = workers.start("w1", beat=True)
    workers.start("w2", beat=False)
    time.sleep(4)
    ids = _start_timer_requests(login, 20)
    time.sleep(1.5)
    workers.kill(w1)  # beat and a worker die mid-run
    workers.start("w3", beat=True)
    assert _wait_until(lambda: set(_statuses(app, ids).values()) == {"running"}, 40), _statuses(app, ids)
    time.sleep(3)  # any duplicate firing would show up by now
    assert _fired_counts(app, ids) == {i: 1 for i in ids}


def test_timers_missed_while_down_fire_at_once_after_restart(app: Any, login: Any, workers: Workers) -> None:
    ids = _start_timer_requests(login, 5)
    time.sleep(3)  # every timer is overdue and no worker runs
    assert set(_statuses(app, ids).values()) == {"waiting"}
    workers.start("w1")
    assert _wait_until(lambda: set(_statuses(app, ids).values()) == {"running"}, 25)
    assert _fired_counts(app, ids) == {i: 1 for i in ids}
