"""The worker's periodic jobs: every beat entry names a task the worker defines, and the upload
sweep removes temporary files killed processes left behind (never a live upload's)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from engine.attachments.store import HashingSpool, store_root, sweep_tmp

ROOT = Path(__file__).resolve().parents[2]


def test_every_beat_entry_is_a_task_of_the_worker(tmp_path: Path) -> None:
    code = ("import json, worker; c = worker.celery; "
            "print(json.dumps({'beat': sorted(e['task'] for e in c.conf.beat_schedule.values()), "
            "'tasks': sorted(c.tasks)}))")
    env = dict(os.environ, INSTANCE_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}",
               CELERY_BROKER_URL="memory://", SECRET_KEY="t" * 40)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert "worker.sweep_uploads" in found["beat"]
    assert set(found["beat"]) <= set(found["tasks"])


def test_sweep_removes_stale_upload_files_only(tmp_path: Path) -> None:
    root = store_root(tmp_path)
    stale, live = HashingSpool(root, 1024), HashingSpool(root, 1024)
    stale.write(b"left by a killed worker")
    live.write(b"being uploaded right now")
    stale.finish()
    hours_ago = time.time() - 7 * 3600
    os.utime(stale.path, (hours_ago, hours_ago))
    (root / "tmp" / "notes.txt").write_text("not an upload")  # only upload-* files are ours
    os.utime(root / "tmp" / "notes.txt", (hours_ago, hours_ago))

    assert sweep_tmp(root) == 1
    assert not stale.path.exists()
    assert live.path.exists() and (root / "tmp" / "notes.txt").exists()
    live.write(b", still fine")  # the live upload carries on
    assert live.store(root).read_bytes() == b"being uploaded right now, still fine"
    stale.discard()  # the stale spool's owner, were it alive, finds nothing to clean
    assert sweep_tmp(tmp_path / "nowhere") == 0
