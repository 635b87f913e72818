"""The shape every beat-driven job shares: claim the ids that are due in one short transaction,
then handle each in its own transaction, so one failure or lost race costs only that item."""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from engine.errors import Conflict

log = logging.getLogger(__name__)


def run_each(sessions: sessionmaker[Session], claim: Callable[[Session], list[int]],
             work: Callable[[Session, int], bool], label: str) -> int:
    """`work` returns True when it changed something (then committed). Returns how many did."""
    with sessions() as session:
        ids = claim(session)
        session.rollback()
    done = 0
    for item in ids:
        with sessions() as session:
            try:
                if work(session, item):
                    session.commit()
                    done += 1
            except Conflict:
                session.rollback()  # another writer moved it on meanwhile; the next run looks again
            except Exception:
                session.rollback()
                log.exception("%s %s failed", label, item)
    return done
