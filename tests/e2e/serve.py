"""Runs the whole app (API + built UI) for the browser tests, on a fresh SQLite database.

    python tests/e2e/serve.py --port 8765 --workdir /tmp/x

Migrates, seeds the demo organisation (password ``demo``), deploys ``processes/`` and serves
until killed. A separate process keeps the browser tests' server apart from the suite's app.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()

    from api import create_app
    from engine.deploy.service import deploy_directory
    from engine.migrate import upgrade
    from engine.org.demo import seed_demo

    args.workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{args.workdir / 'e2e.db'}"
    upgrade(url)
    app = create_app({
        "database_url": url, "testing": True, "secret_key": "e2e-secret",
        "instance_dir": args.workdir / "instance", "processes_dir": ROOT / "processes", "broker_url": "memory://",
    })
    session = app.extensions["db_sessions"]()
    with session.begin():
        seed_demo(session, "demo")
        report = deploy_directory(session, ROOT / "processes", actor="e2e")
        if report.failed:
            raise SystemExit(f"deploy failed: {sorted(report.failed)}")
    session.close()
    app.run(host="127.0.0.1", port=args.port, threaded=True, use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
