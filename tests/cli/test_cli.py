"""The Flask CLI commands a newcomer and an operator use."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_seed_demo_prints_who_is_who(app: Any) -> None:
    r = app.test_cli_runner().invoke(args=["seed-demo"])
    assert r.exit_code == 0, r.output
    for name in ("admin", "designer", "auditor", "east_planner"):
        assert name in r.output
    # Idempotent.
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0


def test_processes_deploy_and_redeploy(app: Any, org: Any) -> None:
    runner = app.test_cli_runner()
    r = runner.invoke(args=["processes", "deploy", str(ROOT / "processes")])
    assert r.exit_code == 0, r.output
    assert "deployed  eto/eto-change-order v1" in r.output
    r = runner.invoke(args=["processes", "deploy", str(ROOT / "processes")])
    assert r.exit_code == 0 and "unchanged eto/eto-change-order" in r.output


def test_processes_deploy_reports_a_broken_model(app: Any, org: Any, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "tests/fixtures/processes/demo/simple-approval", tmp_path / "g/broken")
    (tmp_path / "g/broken/simple_approval.bpmn").write_text("<nope", encoding="utf-8")
    r = app.test_cli_runner().invoke(args=["processes", "deploy", str(tmp_path)])
    assert r.exit_code == 1 and "g/broken" in r.output and "simple_approval.bpmn" in r.output


def test_processes_test_runs_the_bpmn_unit_tests(app: Any) -> None:
    r = app.test_cli_runner().invoke(args=["processes", "test", str(ROOT / "processes")])
    assert r.exit_code == 0, r.output
    last = r.output.strip().splitlines()[-1]
    assert last.endswith("passed, 0 failed") and not last.startswith("0 passed")
    r = app.test_cli_runner().invoke(args=["processes", "test", str(ROOT / "tests/fixtures/processes")])
    assert r.exit_code == 0, r.output
    assert r.output.strip().splitlines()[-1] == "3 passed, 0 failed"


def test_processes_test_fails_on_wrong_expectation(app: Any, tmp_path: Path) -> None:
    model = tmp_path / "g/simple"
    shutil.copytree(ROOT / "tests/fixtures/processes/demo/simple-approval", model)
    cases = json.loads((model / "test_simple_approval.json").read_text(encoding="utf-8"))
    cases["approved"]["expected_output_json"]["outcome"] = "rejected"
    cases["no_data"] = {"tasks": {}, "expected_output_json": {}}
    (model / "test_simple_approval.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    r = app.test_cli_runner().invoke(args=["processes", "test", str(tmp_path)])
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == "1 passed, 2 failed"
    assert "outcome" in r.output and "no data left" in r.output


def test_audit_verify_passes_then_names_a_tampered_event(app: Any, login: Any) -> None:
    c = login("east_ops")
    inst = c.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}).get_json()
    r = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert r.exit_code == 0, r.output
    from sqlalchemy import text
    with app.extensions["db_engine"].begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE chain = :c AND seq = 1"),
                     {"c": f"instance:{inst['id']}"})
    r = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert r.exit_code == 1 and f"instance:{inst['id']} seq 1" in r.output


def test_init_db_migrates_an_empty_database(tmp_path: Path, monkeypatch: Any) -> None:
    from sqlalchemy import inspect

    from api import create_app

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = create_app({"database_url": url, "instance_dir": tmp_path, "secret_key": "x"})
    r = fresh.test_cli_runner().invoke(args=["init-db"])
    assert r.exit_code == 0, r.output
    tables = set(inspect(fresh.extensions["db_engine"]).get_table_names())
    assert {"process_instance", "human_task", "audit_event", "timer", "alembic_version"} <= tables
