"""Finished records get their archive time-stamp renewed before their revocation data goes stale."""
from __future__ import annotations

import datetime as dt
import os
from typing import Any

from sqlalchemy import select


def test_due_records_are_renewed_once_and_still_verify(app: Any, login: Any) -> None:
    from engine.audit.models import AuditEvent, RecordFile
    from reports.archive import renew_archives
    from reports.pki import SigningConfig
    from reports.verify import verify_pdf

    ops, mgr = login("east_ops"), login("east_manager")
    inst = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"}).get_json()
    review = ops.post(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete",
                      json={"data": {"title": "归档测试", "amount": 1}}).get_json()["tasks"][-1]
    assert mgr.post(f"/api/v1/tasks/{review['id']}/complete",
                    json={"data": {"decision": "reject", "comment": "否"}}).status_code == 200
    first = ops.get(f"/api/v1/process-instances/{inst['id']}/record.pdf").data
    settings = app.extensions["settings"]
    signing = SigningConfig.from_env(os.environ, settings.instance_dir)
    sessions = app.extensions["db_sessions"]
    assert renew_archives(sessions, signing, settings.instance_dir) == 0  # just made: not due

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=340)
    assert renew_archives(sessions, signing, settings.instance_dir, now=later) == 1
    assert renew_archives(sessions, signing, settings.instance_dir, now=later) == 0  # renewed: not due again
    renewed = ops.get(f"/api/v1/process-instances/{inst['id']}/record.pdf").data
    assert renewed != first and renewed.startswith(first[:8])
    before, after = verify_pdf(first, signing.trust_roots, signing.crls), verify_pdf(renewed, signing.trust_roots,
                                                                                  signing.crls)
    assert after.ok and len(after.document_timestamps) == len(before.document_timestamps) + 1
    verdict = ops.post("/api/v1/records/verify", data=renewed, content_type="application/pdf").get_json()
    assert verdict["ok"] is True
    with sessions() as s:
        row = s.execute(select(RecordFile).where(RecordFile.instance_id == inst["id"])).scalar_one()
        assert row.archived_at is not None
        event = s.execute(select(AuditEvent).where(AuditEvent.type == "record_archive_renewed")).scalar_one()
        assert event.data["instance_id"] == inst["id"] and event.data["to_sha256"] == row.sha256
