"""Keep signed records verifiable for ever: renew each finished record's archive time-stamp
(PAdES-LTA augmentation, reports.sign.extend_lta) before the revocation data inside it (the CRL
lasts a year) goes stale. The renewed file is stored content-addressed beside the old one, which
stays valid for whoever holds it; the record row then serves the renewed bytes."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from engine.audit.models import RecordFile
from engine.audit.service import append_system_event
from reports.pki import SigningConfig

log = logging.getLogger(__name__)
RENEW_AFTER = dt.timedelta(days=330)  # well inside the CRL's year


def due_records(session: Session, now: dt.datetime, renew_after: dt.timedelta, limit: int) -> list[int]:
    last = func.coalesce(RecordFile.archived_at, RecordFile.created_at)
    return list(session.execute(select(RecordFile.id).where(RecordFile.interim.is_(False), last < now - renew_after)
                                .order_by(last).limit(limit)).scalars())


def renew_archives(sessions: sessionmaker[Session], signing: SigningConfig, instance_dir: Path, *,
                   now: dt.datetime | None = None, renew_after: dt.timedelta = RENEW_AFTER, limit: int = 500) -> int:
    """Renew the records that are due; each in its own transaction. Returns how many."""
    from reports.service import records_dir
    from reports.sign import extend_lta

    now = now or dt.datetime.now(dt.UTC)
    folder = records_dir(instance_dir)
    with sessions() as session:
        ids = due_records(session, now, renew_after, limit)
    renewed = 0
    for record_id in ids:
        with sessions() as session:
            row = session.get(RecordFile, record_id)
            path = folder / f"{row.sha256}.pdf" if row else None
            if row is None or path is None or not path.is_file():
                continue
            try:
                pdf = extend_lta(path.read_bytes(), signing)
            except ValueError:
                log.exception("record %s (request %s) could not be renewed", row.id, row.instance_id)
                continue
            digest = hashlib.sha256(pdf).hexdigest()
            tmp = folder / f"{digest}.tmp"
            tmp.write_bytes(pdf)
            tmp.replace(folder / f"{digest}.pdf")
            append_system_event(session, type="record_archive_renewed", actor="system", data={
                "instance_id": row.instance_id, "from_sha256": row.sha256, "to_sha256": digest})
            row.sha256, row.size, row.archived_at = digest, len(pdf), now
            session.commit()
            renewed += 1
    return renewed
