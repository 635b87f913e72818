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
    assert r.output.strip().splitlines()[-1] == "6 passed, 0 failed", r.output


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
    engine = app.extensions["db_engine"]
    tamper = text("UPDATE audit_event SET actor = 'mallory' WHERE chain = :c AND seq = 1")
    if engine.dialect.name == "postgresql":
        import pytest
        from sqlalchemy.exc import DBAPIError
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(tamper, {"c": f"instance:{inst['id']}"})  # the database refuses edits
        with engine.begin() as conn:  # a DBA who switches the guard off is still caught by verify
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
            conn.execute(tamper, {"c": f"instance:{inst['id']}"})
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    else:
        with engine.begin() as conn:
            conn.execute(tamper, {"c": f"instance:{inst['id']}"})
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


def test_org_import_csv_is_all_or_nothing(app: Any, org: Any, tmp_path: Path) -> None:
    bad = tmp_path / "users.csv"
    bad.write_text("\ufeffusername,display_name,region,groups,manager,password,email\n"
                   "east_a,甲,EAST,planner,east_b,password-1,a@x.cn\n"
                   "east_b,乙,EAST,planner;finance,east_manager,password-2,b@x.cn\n"
                   "bad user,丙,MARS,nogroup,ghost,password-3,not-an-email\n", encoding="utf-8")
    r = app.test_cli_runner().invoke(args=["org", "import", str(bad)])
    assert r.exit_code == 1
    for expected in ("row 4, column username", "row 4, column region", "row 4, column groups", "row 4, column manager",
                     "row 4, column email", "nothing imported"):
        assert expected in r.output, r.output
    from engine.org.service import get_user_by_username
    with app.extensions["db_sessions"]() as s:
        assert get_user_by_username(s, "east_a") is None  # nothing half-imported
    good = tmp_path / "good.csv"
    good.write_text("\n".join(bad.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    r = app.test_cli_runner().invoke(args=["org", "import", str(good)])
    assert r.exit_code == 0, r.output
    assert "2 created, 0 updated" in r.output
    with app.extensions["db_sessions"]() as s:
        a = get_user_by_username(s, "east_a")
        assert a.manager.username == "east_b" and a.region == "EAST"  # manager defined in a later row
        assert sorted(get_user_by_username(s, "east_b").group_names) == ["finance", "planner"]


def test_org_import_yaml_with_regions_and_groups(app: Any, org: Any, tmp_path: Path) -> None:
    f = tmp_path / "org.yaml"
    f.write_text("""
regions:
  - {code: CENTRAL, name: 华中, name_en: Central}
groups:
  - {name: grid_liaison, display_name: 电力报装}
users:
  - {username: central_liaison, display_name: 刘电, region: CENTRAL, groups: [grid_liaison], password: password-9}
  - {username: east_ops, department: 运营二部}
""", encoding="utf-8")
    r = app.test_cli_runner().invoke(args=["org", "import", str(f)])
    assert r.exit_code == 0, r.output
    assert "1 created, 1 updated" in r.output
    f.write_text("users: [\n  - broken", encoding="utf-8")
    r = app.test_cli_runner().invoke(args=["org", "import", str(f)])
    assert r.exit_code == 1 and "invalid YAML" in r.output


def test_seed_demo_adds_requests_in_several_states_once(app: Any, deployed: Any) -> None:
    r = app.test_cli_runner().invoke(args=["seed-demo"])
    assert r.exit_code == 0, r.output
    line = [x for x in r.output.splitlines() if x.startswith("demo requests:")][0]
    for status in ("complete", "running", "withdrawn"):
        assert status in line, line
    # Requests further along were filed days ago: some steps are overdue, the history agrees.
    from sqlalchemy import func, select

    from engine.db import utcnow
    from engine.instances.models import HumanTask, ProcessInstance

    s = app.extensions["db_sessions"]()
    now = utcnow()
    oldest = s.execute(select(func.min(ProcessInstance.created_at))).scalar_one()
    overdue = s.execute(select(func.count()).select_from(HumanTask).where(
        HumanTask.status == "open", HumanTask.due_at < now)).scalar_one()
    due_later = s.execute(select(func.count()).select_from(HumanTask).where(
        HumanTask.status == "open", HumanTask.due_at > now)).scalar_one()
    s.close()
    assert (now - oldest.replace(tzinfo=now.tzinfo)).days >= 20
    assert overdue > 0 and due_later > 0
    verify = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    again = app.test_cli_runner().invoke(args=["seed-demo"])
    assert "none added" in again.output
