"""Web and worker processes killed with SIGKILL at random points during mixed work: afterwards
no request is stuck or corrupt, no step is lost and none is applied twice.

Real processes: gunicorn (2 web workers) and a Celery worker with beat, on the test database
(PostgreSQL in CI) and TEST_BROKER_URL. Clients retry like real ones: a request cut off by a
killed process is sent again, and a completion that had already landed answers 409."""
from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.worker.test_worker_timers import ROOT, Workers, _wait_until

pytestmark = pytest.mark.slow
RETRYABLE = (ConnectionError, http.client.HTTPException, OSError)
MAX_KILLS = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Web:
    """gunicorn with two workers; killing a worker makes the master start a new one."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.port = _free_port()
        log = open(logs / "gunicorn.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "2",
             "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        assert _wait_until(self._healthy, 60), (logs / "gunicorn.log").read_text()[-2000:]

    def _healthy(self) -> bool:
        try:
            return self.call("GET", "/healthz")[0] == 200
        except RETRYABLE:
            return False

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class Client:
    def __init__(self, web: Web, username: str) -> None:
        self.web = web
        self.token = self._retry("POST", "/api/v1/auth/login", {"username": username, "password": "demo"})[1]["token"]

    def _retry(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        for _ in range(60):
            try:
                status, out = self.web.call(method, path, body, token)
            except RETRYABLE:
                time.sleep(0.2)
                continue
            if status in (502, 503):
                time.sleep(0.2)
                continue
            return status, out
        raise AssertionError(f"{method} {path}: no answer after 60 tries")

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self._retry(method, path, body, self.token)


@pytest.fixture
def processes(app: Any, db_url: str, tmp_path: Path, deployed: None) -> Iterator[tuple[Web, Workers]]:
    workers = Workers(db_url, tmp_path)
    web = Web(workers.env, tmp_path)
    try:
        yield web, workers
    finally:
        web.stop()
        workers.stop_all()


def _open_task(c: Client, iid: int) -> dict[str, Any] | None:
    status, inst = c.send("GET", f"/api/v1/process-instances/{iid}")
    assert status == 200, inst
    open_tasks = [t for t in inst["tasks"] if t["status"] == "open"]
    return open_tasks[0] if open_tasks else None


def _drive(clients: dict[str, Client], iid: int, model: str, answers: list[int]) -> None:
    """Take one request to its end; each step is retried until it is done exactly once."""
    plan = {"apply": ("east_ops", {"title": "混沌测试", "amount": 10}),
            "manager_review": ("east_manager", {"decision": "approve"}),
            "finance_review": ("east_finance", {"finance_ok": True}),
            "after": ("east_ops", {})}
    deadline = time.monotonic() + 120  # a killed worker's successor needs a few seconds to boot
    while time.monotonic() < deadline:
        task = _open_task(clients["east_ops"], iid)
        if task is None:
            status, inst = clients["east_ops"].send("GET", f"/api/v1/process-instances/{iid}")
            if inst["status"] in ("complete", "error"):
                return
            time.sleep(0.5)  # a timer is due: the worker moves it
            continue
        who, data = plan[task["bpmn_id"]]
        status, _ = clients[who].send("POST", f"/api/v1/tasks/{task['id']}/complete", {"data": data})
        assert status in (200, 409), status  # 409: an earlier attempt had landed before the cut
        answers.append(status)
    raise AssertionError(f"request {iid} ({model}) did not finish")


def test_sigkill_web_and_worker_processes_lose_nothing_and_apply_nothing_twice(app: Any, processes: Any) -> None:
    web, workers = processes
    worker = workers.start("chaos")
    clients = {u: Client(web, u) for u in ("east_ops", "east_manager", "east_finance")}
    stop = threading.Event()
    kills: Counter[str] = Counter()

    def chaos() -> None:
        nonlocal worker
        rnd = random.Random(8)
        # Far enough apart that restarted processes get work done in between (a worker boots in
        # a few seconds on a busy 2-core machine); at most MAX_KILLS, then the run finishes calm.
        while sum(kills.values()) < MAX_KILLS and not stop.wait(rnd.uniform(1.5, 4.0)):
            if rnd.random() < 0.65:
                pids = web.worker_pids()
                if pids:
                    os.kill(rnd.choice(pids), signal.SIGKILL)
                    kills["web"] += 1
            else:
                workers.kill(worker)
                kills["worker"] += 1
                worker = workers.start(f"chaos{kills['worker']}")

    answers: list[int] = []
    ids: list[tuple[int, str]] = []
    monkey = threading.Thread(target=chaos, daemon=True)
    monkey.start()
    try:
        for n in range(12):
            model = "demo:timer-wait" if n % 4 == 3 else "demo:simple-approval"
            status, inst = clients["east_ops"].send("POST", "/api/v1/process-instances", {"process_model_id": model})
            assert status == 201, inst
            ids.append((inst["id"], model))
            _drive(clients, inst["id"], model, answers)
    finally:
        stop.set()
        monkey.join(10)
    assert kills["web"] >= 2 and kills["worker"] >= 1, kills  # the run really was disturbed

    from engine.audit.models import AuditEvent
    from engine.audit.service import verify_chain
    from engine.instances.models import OPEN, HumanTask, ProcessInstance
    from engine.instances.runner import ready_human_tasks
    from engine.instances.service import load_workflow

    with app.extensions["db_sessions"]() as s:
        for iid, model in ids:
            instance = s.get(ProcessInstance, iid)
            assert instance is not None and instance.status == "complete", (iid, model, instance and instance.error)
            assert not verify_chain(s, f"instance:{iid}", instance.audit_head), iid
            events = s.execute(select(AuditEvent.type, AuditEvent.task_guid).where(
                AuditEvent.instance_id == iid)).all()
            completions = Counter(g for t, g in events if t == "task_completed")
            assert completions and max(completions.values()) == 1, (iid, completions)  # no step applied twice
            expected = 3 if model == "demo:simple-approval" else 1
            assert len(completions) == expected, (iid, completions)  # and none lost
            if model == "demo:timer-wait":
                assert [t for t, _ in events].count("timer_fired") == 1, iid
            wf, _ = load_workflow(s, app.extensions["engine_ctx"], instance, None)
            open_rows = s.execute(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == OPEN)).all()
            assert not open_rows and not ready_human_tasks(wf) and wf.is_completed(), iid
