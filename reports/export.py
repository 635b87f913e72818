"""Many signed records as one ZIP for auditors: the search is fixed when asked (the ids the
caller may read, at most MAX_RECORDS), the worker renders or reuses each record and reports its
progress, and the ZIP carries a manifest (sha256 and chain head per record), the trust root and
instructions to verify everything offline."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from engine.audit.models import RecordExport
from engine.audit.service import append_system_event
from engine.errors import BadRequest, Conflict, NotFound
from engine.instances.inbox import InstanceSearch, searched_instances
from engine.instances.models import ProcessInstance
from engine.instances.runner import EngineContext
from engine.org.models import User
from reports.pki import SigningConfig

MAX_RECORDS = 1000
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

README = """新能源审批平台 — 审批记录导出 / Approval records export

每份 PDF 均为 PAdES B-LTA 签名，可离线验证 / Every PDF is signed PAdES B-LTA and verifies offline:
  pdfsig request-<id>-record.pdf            (poppler; import ca.pem as trusted first)
  pyhanko sign validate --trust ca.pem request-<id>-record.pdf
manifest.csv 列出每份记录的 SHA-256 与审计链头哈希；与平台 POST /api/v1/records/verify 的结论一致。
manifest.csv lists each record's SHA-256 and audit chain head; POST /api/v1/records/verify gives the same verdict.
标记 interim 的记录来自尚未结束的申请 / Records marked interim belong to requests still running.
"""


def request_export(session: Session, user: User, search: InstanceSearch, filters: dict[str, Any],
                   now: dt.datetime) -> RecordExport:
    ids = list(session.execute(searched_instances(user, search).with_only_columns(ProcessInstance.id)
                               .order_by(ProcessInstance.id).limit(MAX_RECORDS + 1)).scalars())
    if not ids:
        raise BadRequest("no request matches the search: nothing to export")
    if len(ids) > MAX_RECORDS:
        raise BadRequest(f"at most {MAX_RECORDS} records per export: narrow the search")
    row = RecordExport(user_id=user.id, filters=filters, instance_ids=ids, status=QUEUED, total=len(ids), done=0,
                       created_at=now)
    session.add(row)
    session.flush()
    append_system_event(session, type="records_exported", actor=user.username,
                        data={"export_id": row.id, "filters": filters, "count": len(ids)})
    return row


def own_export(session: Session, user: User, export_id: int) -> RecordExport:
    row = session.get(RecordExport, export_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"export {export_id} not found")
    return row


def exports_dir(instance_dir: Path) -> Path:
    folder = Path(instance_dir) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def export_file(instance_dir: Path, row: RecordExport) -> Path:
    if row.status != DONE or not row.sha256:
        raise Conflict(f"export {row.id} is {row.status}, not ready")
    path = exports_dir(instance_dir) / f"{row.sha256}.zip"
    if not path.is_file():
        raise Conflict(f"export {row.id} is no longer stored; ask for it again")
    return path


def build_export(sessions: sessionmaker[Session], ctx: EngineContext, signing: SigningConfig, instance_dir: Path,
                 export_id: int, *, timezone: str = "Asia/Shanghai",
                 on_progress: Callable[[int, int], None] | None = None) -> RecordExport | None:
    """Build the ZIP (idempotent: a finished export is left as it is). Progress is committed
    after every record so the UI can show it."""
    from reports.service import signed_record

    with sessions() as s:
        row = s.get(RecordExport, export_id)
        if row is None or row.status == DONE:
            return row
        ids, total = list(row.instance_ids), row.total
        row.status, row.done, row.error = RUNNING, 0, None
        s.commit()
    folder = exports_dir(instance_dir)
    tmp = folder / f"{export_id}.zip.tmp"
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["request_id", "title", "status", "file", "sha256", "size", "audit_chain_head", "interim"])
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:  # PDFs are compressed already
            for n, iid in enumerate(ids, start=1):
                with sessions() as s:
                    instance = s.get(ProcessInstance, iid)
                    if instance is not None:
                        stored = signed_record(s, ctx, instance, signing, instance_dir, timezone=timezone)
                        name = f"request-{iid}-{'interim' if stored.row.interim else 'record'}.pdf"
                        zf.writestr(name, stored.pdf)
                        writer.writerow([iid, instance.title, instance.status, name, stored.row.sha256, stored.row.size,
                                         stored.row.chain_head, "yes" if stored.row.interim else "no"])
                    s.execute(update(RecordExport).where(RecordExport.id == export_id).values(done=n))
                    s.commit()
                if on_progress:
                    on_progress(n, total)
            zf.writestr("manifest.csv", "\ufeff" + manifest.getvalue())  # BOM: Excel opens the Chinese titles
            if signing.trust_roots:
                zf.writestr("ca.pem", Path(signing.trust_roots[0]).read_bytes())
            zf.writestr("README.txt", README)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        size = tmp.stat().st_size
        tmp.replace(folder / f"{digest}.zip")
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        with sessions() as s:
            s.execute(update(RecordExport).where(RecordExport.id == export_id).values(
                status=FAILED, error=f"{type(exc).__name__}: {exc}"[:500], finished_at=dt.datetime.now(dt.UTC)))
            s.commit()
        raise
    with sessions() as s:
        s.execute(update(RecordExport).where(RecordExport.id == export_id).values(
            status=DONE, sha256=digest, size=size, finished_at=dt.datetime.now(dt.UTC)))
        s.commit()
        return s.get(RecordExport, export_id)
