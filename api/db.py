"""One SQLAlchemy session per request; the view (the edge) commits once."""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from engine.db import make_engine, make_session_factory


def init_db(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = make_session_factory(engine)

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()  # anything not committed by the view is discarded
            session.close()


def sessions() -> sessionmaker[Session]:
    return current_app.extensions["db_sessions"]


def db() -> Session:
    if "db_session" not in g:
        g.db_session = sessions()()
    return g.db_session
