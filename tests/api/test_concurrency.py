"""Several clients completing the same task at once: exactly one wins, nobody gets a 5xx."""
from __future__ import annotations

import threading
from typing import Any


def _race(clients: list[Any], url: str, body: dict[str, Any]) -> list[int]:
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def hit(c: Any) -> None:
        barrier.wait()
        statuses.append(c.post(url, json=body).status_code)

    threads = [threading.Thread(target=hit, args=(c,)) for c in clients]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return statuses


def test_one_task_completed_by_many_clients_at_once(app: Any, login: Any) -> None:
    ops = login("east_ops")
    mgrs = [login("east_manager") for _ in range(6)]
    for _ in range(5):
        inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}).get_json()
        t = inst["tasks"][0]
        assert ops.post(f"/api/v1/tasks/{t['id']}/complete", json={"data": {"title": "并发测试", "amount": 1}}).status_code == 200
        review = ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()["tasks"][-1]
        statuses = _race(mgrs, f"/api/v1/tasks/{review['id']}/complete", {"data": {"decision": "approve"}})
        assert statuses.count(200) == 1, statuses
        assert set(statuses) <= {200, 409}, statuses
        final = ops.get(f"/api/v1/process-instances/{inst['id']}").get_json()
        assert [e["type"] for e in final["timeline"]].count("task_completed") == 2  # applied exactly once
        assert [t["bpmn_id"] for t in final["tasks"] if t["status"] == "open"] == ["finance_review"]
