"""Driving a product model end to end through the API, acted by the people the organisation
assigns: shared by the per-process tests (tests/api/test_*_process.py). A model's own BPMN unit
test case is the plan: each task takes the next entry of its `data` list, a receive task's entries
arrive as messages from outside, and the final data is compared with `expected_output_json`."""
from __future__ import annotations

import copy
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from forms import json_loads

ROOT = Path(__file__).resolve().parents[2]
OPEN = "open"
LIVE = ("running", "waiting")
REF = re.compile(r"sha256:[0-9a-f]{64}")


def load_cases(model_path: str, test_file: str) -> dict[str, Any]:
    return json_loads((ROOT / "processes" / model_path / test_file).read_text(encoding="utf-8"))


def plan_of(case: dict[str, Any]) -> dict[str, list[Any]]:
    """Task id -> the data entries still to submit (`Process:Task` keys reduced to the task id)."""
    return {k.split(":")[-1]: copy.deepcopy(list(v["data"])) for k, v in case["tasks"].items()}


@contextmanager
def engine_clock(app: Any, start: dt.datetime | None = None) -> Iterator[dict[str, dt.datetime]]:
    """Move the engine's clock by hand (`clock["now"] += ...`): the poller, SLA times and the
    workflow's timers all read it. Restored to the real clock afterwards."""
    ctx = app.extensions["engine_ctx"]
    clock = {"now": start or dt.datetime.now(dt.UTC)}
    ctx.clock = lambda: clock["now"]
    try:
        yield clock
    finally:
        ctx.clock = lambda: dt.datetime.now(dt.UTC)


def fire_timers(app: Any) -> int:
    from engine.instances.timers import poll_timers

    return poll_timers(app.extensions["db_sessions"], app.extensions["engine_ctx"])


class Flow:
    """One request, driven through the API. `actors` maps task ids to the username expected to
    act (or to a function of the request that names them); `outsider` is someone of another
    region, who must not even see the tasks."""

    def __init__(self, login: Callable[[str], Any], actors: dict[str, Any], *, outsider: str,
                 viewer: str = "admin") -> None:
        self.login, self.actors = login, actors
        self._clients: dict[str, Any] = {}
        self.outsider = self.client(outsider)
        self.viewer = self.client(viewer)
        self.id: int = 0
        self.acted: list[tuple[str, str]] = []  # (task id, username), in order
        # Files are uploaded before a form references them: the plan's refs are replaced by the
        # refs of the files uploaded for them (the same ref when its content is known here).
        self.contents: dict[str, bytes] = {}
        self.refs: dict[str, str] = {}

    def client(self, username: str) -> Any:
        if username not in self._clients:
            self._clients[username] = self.login(username)
        return self._clients[username]

    def start(self, username: str, model_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"process_model_id": model_id}
        if data is not None:
            body["data"] = data
        r = self.client(username).post("/api/v1/process-instances", json=body)
        assert r.status_code == 201, r.get_json()
        self.id = r.get_json()["id"]
        return r.get_json()

    def instance(self, as_user: str | None = None) -> dict[str, Any]:
        who = self.client(as_user) if as_user else self.viewer
        r = who.get(f"/api/v1/process-instances/{self.id}")
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def open_tasks(self) -> list[dict[str, Any]]:
        return [t for t in self.instance()["tasks"] if t["status"] == OPEN]

    def task(self, bpmn_id: str) -> dict[str, Any]:
        found = [t for t in self.open_tasks() if t["bpmn_id"] == bpmn_id]
        assert found, f"no open task {bpmn_id}: {[t['bpmn_id'] for t in self.open_tasks()]}"
        return found[0]

    def upload(self, username: str, data: Any) -> Any:
        """Upload a file for every attachment ref in `data` not uploaded yet; `data` with the refs
        of the uploaded files."""
        client = self.client(username)
        for ref in sorted(set(REF.findall(repr(data))) - set(self.refs)):
            content = self.contents.get(ref)
            name = "upload.csv" if content is not None else "upload.txt"
            r = client.client.post("/api/v1/attachments", headers=client._h(), content_type="multipart/form-data",
                                   data={"file": (io.BytesIO(content or f"测试附件 {ref}\n".encode()), name)})
            assert r.status_code == 201, r.get_json()
            self.refs[ref] = r.get_json()["ref"]
        return self.mapped(data)

    def mapped(self, value: Any) -> Any:
        """`value` with the plan's attachment refs replaced by the uploaded files' refs."""
        if isinstance(value, str):
            return self.refs.get(value, value)
        if isinstance(value, dict):
            return {k: self.mapped(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mapped(v) for v in value]
        return value

    def complete(self, bpmn_id: str, data: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        """Complete the open task as the user the organisation assigns: it is in their inbox
        (mine or group); the outsider gets 404 for it."""
        task = self.task(bpmn_id)
        username = actor or self.actors[bpmn_id]
        if callable(username):
            username = username(self.instance())
        client = self.client(username)
        data = self.upload(username, data)
        inbox = [t["id"] for scope in ("mine", "group") for t in
                 client.get(f"/api/v1/tasks?scope={scope}&process_instance_id={self.id}").get_json()["items"]]
        assert task["id"] in inbox, f"{username} does not see {bpmn_id} ({task['candidate_users']}, {task['candidate_groups']})"
        assert self.outsider.get(f"/api/v1/tasks/{task['id']}").status_code == 404
        assert self.outsider.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}).status_code == 404
        r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
        assert r.status_code == 200, (bpmn_id, r.get_json())
        self.acted.append((bpmn_id, username))
        return r.get_json()

    def message(self, name: str, payload: dict[str, Any], correlation: dict[str, Any],
                sender: str = "admin") -> dict[str, Any]:
        """A message from outside (an integration account), correlated on the request's metadata."""
        r = self.client(sender).post(f"/api/v1/messages/{name}", json={"correlation": correlation, "payload": payload})
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["delivered_to"] == [self.id], r.get_json()
        return r.get_json()

    def run(self, plan: dict[str, list[Any]], *, messages: dict[str, tuple[str, str]] | None = None,
            until: Callable[[dict[str, Any]], bool] | None = None, max_steps: int = 120) -> dict[str, Any]:
        """Complete open tasks from the plan (and deliver planned messages while nothing is
        open) until the request ends, `until(instance)` holds, or nothing in the plan applies.
        `messages`: receive task id -> (message name, metadata key it correlates on)."""
        messages = messages or {}
        for _ in range(max_steps):
            inst = self.instance()
            if inst["status"] not in LIVE or (until is not None and until(inst)):
                return inst
            open_ids = [t["bpmn_id"] for t in inst["tasks"] if t["status"] == OPEN]
            todo = [b for b in open_ids if plan.get(b)]
            if todo:
                self.complete(todo[0], plan[todo[0]].pop(0))
                continue
            pending = [k for k in messages if plan.get(k)]
            if not open_ids and pending:
                name, key = messages[pending[0]]
                self.message(name, plan[pending[0]].pop(0), {key: inst["metadata"][key]})
                continue
            return inst
        raise AssertionError(f"no end after {max_steps} steps")

    def assert_plan_used(self, plan: dict[str, list[Any]]) -> None:
        left = {k: v for k, v in plan.items() if v}
        if left:
            inst = self.instance()
            raise AssertionError(f"stopped {inst['status']} {inst['error']} at "
                                 f"{[t['bpmn_id'] for t in inst['tasks'] if t['status'] == OPEN]} with {left}")


def without(data: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def assert_redacted(inst: dict[str, Any], restricted: set[str]) -> None:
    """No restricted key anywhere in what this viewer got: data, metadata, timeline."""
    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    assert not restricted & keys(inst["data"]), restricted & keys(inst["data"])
    assert not restricted & set(inst["metadata"])
    for event in inst["timeline"]:
        assert not restricted & keys(event["data"]), (event["type"], restricted & keys(event["data"]))
