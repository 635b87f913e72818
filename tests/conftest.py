"""Test fixtures: one migrated database per run (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set), emptied after every test; an app and signed-in clients."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from engine.deploy.specs import SpecCache

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_PROCESSES = ROOT / "tests" / "fixtures" / "processes"


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from engine.migrate import upgrade

    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)  # the suite always runs on the migrated schema: migrations from empty are tested
    return url


@pytest.fixture(scope="session")
def _app(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    from api import create_app

    return create_app({
        "database_url": db_url, "testing": True, "secret_key": "test-secret",
        "instance_dir": tmp_path_factory.mktemp("instance"), "processes_dir": ROOT / "processes",
        "broker_url": os.environ.get("TEST_BROKER_URL") or "memory://",
    })


def _empty_tables(app: Flask) -> None:
    from engine.models import metadata

    engine = app.extensions["db_engine"]
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f"DELETE FROM {t}"))


@pytest.fixture
def app(_app: Flask) -> Iterator[Flask]:
    # Ids restart after truncation, so parsed specs cached by version id must not survive a test.
    _app.extensions["engine_ctx"].spec_cache = SpecCache()
    yield _app
    _empty_tables(_app)


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    s = app.extensions["db_sessions"]()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def org(app: Flask) -> list[Any]:
    from engine.org.demo import seed_demo

    s = app.extensions["db_sessions"]()
    with s.begin():
        users = seed_demo(s, "demo")
    s.close()
    return users


@pytest.fixture
def deployed(app: Flask, org: list[Any]) -> None:
    """The demo organisation, the test models and the product's models, deployed."""
    from engine.deploy.service import deploy_directory

    s = app.extensions["db_sessions"]()
    with s.begin():
        for root in (FIXTURE_PROCESSES, ROOT / "processes"):
            if root.is_dir():
                report = deploy_directory(s, root, actor="test")
                assert not report.failed, {k: v.details for k, v in report.failed.items()}
    s.close()


class ApiClient:
    """A test client signed in as one user via a bearer token."""

    def __init__(self, client: FlaskClient, token: str, username: str) -> None:
        self.client, self.token, self.username = client, token, username

    def _h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._h(), **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=json, headers=self._h(), **kw)

    def put(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(url, json=json, headers=self._h(), **kw)


@pytest.fixture
def login(app: Flask, deployed: None) -> Any:
    def _login(username: str, password: str = "demo") -> ApiClient:
        client = app.test_client()
        r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.get_json()
        return ApiClient(app.test_client(), r.get_json()["token"], username)

    return _login
