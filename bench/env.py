"""A throwaway database with the demo organisation, for benchmarks (SQLite by default,
PostgreSQL when BENCH_DATABASE_URL is set; that database is emptied first)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from engine.db import make_engine, make_session_factory
from engine.migrate import upgrade
from engine.org.demo import seed_demo
from engine.org.service import use_fast_password_hashing


def bench_database() -> tuple[str, Any]:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        eng = create_engine(url)
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        eng.dispose()
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'bench.db'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    use_fast_password_hashing()
    with sessions() as s, s.begin():
        seed_demo(s, "bench")
    return url, sessions
