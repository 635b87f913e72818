"""A records export (issue #7): N finished requests of the bench model, then the worker's export
job (reports/export.build_export) renders, signs and zips every record. Prints seconds in
total, per record, and the ZIP's size. Runs on SQLite in a temporary folder: the time is in
rendering and signing, not in the database.

    python -m bench.export [--count 1000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.http_load import APPROVER, INITIATORS, MODEL_DIR, MODEL_ID, REVIEWER, fill_data


def _user(session: Any, username: str) -> Any:
    from engine.org.service import get_user_by_username

    user = get_user_by_username(session, username)
    assert user is not None, username
    return user


def _finished_requests(sessions: Any, ctx: Any, n: int) -> list[int]:
    from sqlalchemy import select

    from engine.instances.models import OPEN, HumanTask
    from engine.instances.service import complete_task, start_instance
    ids = []
    for i in range(n):
        with sessions() as s:
            users = {u: _user(s, u) for u in (INITIATORS[0], REVIEWER, APPROVER)}
            step = start_instance(s, ctx, model_id=MODEL_ID, actor=users[INITIATORS[0]])
            for who, data in ((INITIATORS[0], fill_data(i)), (REVIEWER, {"review_decision": "approve",
                                                                         "review_comment": "同意"}),
                              (APPROVER, {"approve_decision": "approve"})):
                task = s.execute(select(HumanTask.id).where(HumanTask.instance_id == step.instance.id,
                                                            HumanTask.status == OPEN)).scalar_one()
                complete_task(s, ctx, task_id=task, actor=users[who], data=data)
            s.commit()
            ids.append(step.instance.id)
    return ids


def run(count: int = 1000, out: Any = sys.stdout) -> dict[str, float]:
    from engine.db import make_engine, make_session_factory
    from engine.deploy.loader import read_model_dir
    from engine.deploy.service import deploy
    from engine.deploy.specs import SpecCache
    from engine.instances.inbox import InstanceSearch
    from engine.instances.runner import EngineContext
    from engine.migrate import upgrade
    from engine.org.demo import seed_demo
    from engine.org.service import use_fast_password_hashing
    from reports.export import MAX_RECORDS, build_export, request_export
    from reports.pki import SigningConfig, ensure_pki

    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        url = f"sqlite:///{folder / 'export.db'}"
        upgrade(url)
        use_fast_password_hashing()
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        ctx = EngineContext(spec_cache=SpecCache())
        with sessions() as s, s.begin():
            seed_demo(s, "bench")
            deploy(s, model_id=MODEL_ID, files=read_model_dir(MODEL_DIR.parent, MODEL_DIR).files, actor="bench")
        t0 = time.perf_counter()
        _finished_requests(sessions, ctx, min(count, MAX_RECORDS))
        made = time.perf_counter() - t0
        signing = SigningConfig.from_pki(ensure_pki(folder / "pki"))
        with sessions() as s:
            row = request_export(s, _user(s, "auditor"), InstanceSearch(model_id=MODEL_ID),
                                 {"process": MODEL_ID}, dt.datetime.now(dt.UTC))
            s.commit()
            export_id, total = row.id, row.total
        t1 = time.perf_counter()
        done = build_export(sessions, ctx, signing, folder, export_id)
        took = time.perf_counter() - t1
        assert done is not None and done.status == "done" and done.done == total, done
        print(f"export: {total} finished requests made in {made:.0f} s (service layer, SQLite)", file=out)
        print(f"export: {total}-record ZIP built in {took:.0f} s, {took / total:.2f} s per record "
              f"(render + sign each), {(done.size or 0) / 1024 / 1024:.1f} MB", file=out)
        engine.dispose()
        return {"export_s": took, "per_record_s": took / total}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.export")
    ap.add_argument("--count", type=int, default=1000)
    run(ap.parse_args().count)


if __name__ == "__main__":
    main()
