"""Auditors search requests and export their signed records as one ZIP built by the worker."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
from typing import Any

import pytest

MODEL = "demo:simple-approval"


def _request(ops: Any, title: str, amount: float, finish: bool, login: Any) -> int:
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": MODEL}).get_json()
    r = ops.post(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", json={"data": {"title": title, "amount": amount}})
    assert r.status_code == 200
    if finish:
        review = [t for t in r.get_json()["tasks"] if t["status"] == "open"][0]
        mgr = login(f"{ops.username.split('_')[0]}_manager")
        assert mgr.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "reject",
                                                                                  "comment": "不予批准"}}).status_code == 200
    return int(inst["id"])


def test_search_by_participant_amount_range_dates_and_text(login: Any) -> None:
    east, south = login("east_ops"), login("south_ops")
    small = _request(east, "华东小额采购", 800, True, login)
    big = _request(east, "华东大额采购", 250000, False, login)
    other = _request(south, "华南采购", 900, True, login)
    auditor = login("auditor")

    def ids(query: str, who: Any = auditor) -> set[int]:
        r = who.get(f"/api/v1/process-instances?per_page=200&{query}")
        assert r.status_code == 200, r.get_json()
        return {i["id"] for i in r.get_json()["items"]}

    assert ids("participant=east_manager") == {small}
    assert ids("participant=east_ops") == {small, big}
    assert ids("metadata_min=amount:1000") == {big}
    assert ids("metadata_max=amount:1000") == {small, other}
    assert ids("metadata_min=amount:800&metadata_max=amount:800") == {small}
    assert ids("q=大额") == {big}
    assert ids("created_from=2000-01-01&created_to=2999-12-31") >= {small, big, other}
    assert ids("created_to=2000-01-01") == set()
    assert ids("region=SOUTH&status=complete") == {other}
    assert ids("metadata_min=amount:1000", east) == {big} and ids("q=华南", east) == set()  # scope still applies
    bad = auditor.get("/api/v1/process-instances?created_from=yesterday")
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "created_from"
    assert auditor.get("/api/v1/process-instances?metadata_min=amount:lots").status_code == 400


def test_restricted_fields_cannot_be_searched_by_those_who_may_not_see_them(login: Any) -> None:
    # ETO restricts cost figures to the groups working with them (一表千面).
    ops = login("east_ops")
    r = ops.get("/api/v1/process-instances?metadata_min=total_cost_impact:1")
    assert r.status_code == 400 and "total_cost_impact" in r.get_json()["error"]["message"]
    assert login("east_planner").get("/api/v1/process-instances?metadata_min=total_cost_impact:1").status_code == 200


@pytest.fixture
def signing(app: Any) -> Any:
    from reports.pki import SigningConfig

    return SigningConfig.from_env(os.environ, app.extensions["settings"].instance_dir)


def test_export_builds_a_zip_of_signed_records_with_progress(app: Any, login: Any, signing: Any) -> None:
    from reports.export import build_export

    east = login("east_ops")
    done = _request(east, "华东已办", 500, True, login)
    running = _request(east, "华东在办", 700, False, login)
    _request(login("south_ops"), "华南", 100, True, login)
    auditor = login("auditor")
    r = auditor.post("/api/v1/record-exports", json={"region": "EAST", "process": MODEL})
    assert r.status_code == 202, r.get_json()
    export = r.get_json()
    assert export["status"] == "queued" and export["total"] == 2 and export["done"] == 0
    assert auditor.get(f"/api/v1/record-exports/{export['id']}/download").status_code == 409
    assert east.get(f"/api/v1/record-exports/{export['id']}").status_code == 404  # someone else's

    progress: list[tuple[int, int]] = []
    settings = app.extensions["settings"]
    build_export(app.extensions["db_sessions"], app.extensions["engine_ctx"], signing, settings.instance_dir,
                 export["id"], on_progress=lambda n, total: progress.append((n, total)))
    assert progress == [(1, 2), (2, 2)]
    status = auditor.get(f"/api/v1/record-exports/{export['id']}").get_json()
    assert status["status"] == "done" and status["done"] == 2 and status["size"] > 0
    assert [e["id"] for e in auditor.get("/api/v1/record-exports").get_json()] == [export["id"]]

    z = auditor.get(f"/api/v1/record-exports/{export['id']}/download")
    assert z.status_code == 200 and z.headers["Content-Type"] == "application/zip"
    assert hashlib.sha256(z.data).hexdigest() == status["sha256"]
    archive = zipfile.ZipFile(io.BytesIO(z.data))
    names = set(archive.namelist())
    assert {f"request-{done}-record.pdf", f"request-{running}-interim.pdf", "manifest.csv", "ca.pem",
            "README.txt"} == names
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert {int(r["request_id"]) for r in rows} == {done, running}
    for row in rows:
        pdf = archive.read(row["file"])
        assert hashlib.sha256(pdf).hexdigest() == row["sha256"] and pdf.startswith(b"%PDF")
    # The record in the ZIP is the one the API serves (content-addressed, same bytes).
    assert archive.read(f"request-{done}-record.pdf") == auditor.get(f"/api/v1/process-instances/{done}/record.pdf").data
    verdict = auditor.post("/api/v1/records/verify", data=archive.read(f"request-{done}-record.pdf"),
                           content_type="application/pdf").get_json()
    assert verdict["ok"] is True, verdict


def test_export_refuses_empty_and_oversized_searches(login: Any, monkeypatch: Any) -> None:
    import reports.export as export

    auditor = login("auditor")
    empty = auditor.post("/api/v1/record-exports", json={"region": "NOWHERE"})
    assert empty.status_code == 400 and "nothing to export" in empty.get_json()["error"]["message"]
    east = login("east_ops")
    for n in range(3):
        _request(east, f"采购{n}", 100, False, login)
    monkeypatch.setattr(export, "MAX_RECORDS", 2)
    big = auditor.post("/api/v1/record-exports", json={"region": "EAST"})
    assert big.status_code == 400 and "at most 2" in big.get_json()["error"]["message"]
