from __future__ import annotations

import os
from typing import Any

from flask import Response, current_app, request

from api.auth import login_required, require_user
from api.background import enqueue
from api.blueprint import Blueprint
from api.db import db
from api.schemas import ExportIn, ExportOut, RecordVerdictOut
from api.views.common import engine_ctx
from engine.errors import BadRequest
from engine.instances import service

blp = Blueprint("records", __name__, url_prefix="/api/v1", description="Signed PDF audit records")
MAX_UPLOAD = 20 * 1024 * 1024


def signing() -> Any:
    """The signing configuration, read once: SIGNING_* variables or the local PKI under instance/."""
    from reports.pki import SigningConfig

    app = current_app
    if app.extensions.get("signing") is None:
        app.extensions["signing"] = SigningConfig.from_env(os.environ, app.extensions["settings"].instance_dir)
    return app.extensions["signing"]


@blp.route("/process-instances/<int:instance_id>/record.pdf")
@login_required
@blp.response(200, content_type="application/pdf")
def record_pdf(instance_id: int) -> Response:
    """The signed PDF record (PAdES B-LTA). Unfinished requests get an interim record; asking
    again while nothing has happened serves the same bytes."""
    from reports.service import signed_record

    session = db()
    instance = service.get_instance(session, require_user(), instance_id)
    settings = current_app.extensions["settings"]
    stored = signed_record(session, engine_ctx(), instance, signing(), settings.instance_dir, timezone=settings.timezone)
    session.commit()
    resp = Response(stored.pdf, mimetype="application/pdf")
    kind = "interim" if stored.row.interim else "record"
    resp.headers["Content-Disposition"] = f'attachment; filename="request-{instance_id}-{kind}.pdf"'
    resp.headers["ETag"] = stored.row.sha256
    return resp


@blp.route("/records/ca.pem")
@blp.response(200, content_type="application/x-pem-file")
def ca_pem() -> Response:
    """The trust root that verifies records offline (import it into a PDF reader or pdfsig)."""
    roots = signing().trust_roots
    return Response(b"".join(open(p, "rb").read() for p in roots[:1]), mimetype="application/x-pem-file")


@blp.route("/records/verify", methods=["POST"])
@login_required
@blp.response(200, RecordVerdictOut)
def verify() -> dict[str, Any]:
    """Upload a PDF (multipart field `file`, or the raw body as application/pdf): the verdict on
    its signatures (intact, valid, trusted, timestamp, LTA) and on its audit chain head."""
    from reports.service import verify_record

    if (request.content_length or 0) > MAX_UPLOAD:
        raise BadRequest("the upload is larger than 20 MB")
    upload = request.files.get("file")
    pdf = upload.read(MAX_UPLOAD + 1) if upload is not None else request.get_data(cache=False)
    if not pdf:
        raise BadRequest("send the PDF as multipart field 'file' or as the request body")
    if len(pdf) > MAX_UPLOAD:
        raise BadRequest("the upload is larger than 20 MB")
    return verify_record(db(), pdf, signing())


def _export_dict(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in ("id", "status", "total", "done", "size", "sha256", "error", "filters",
                                         "created_at", "finished_at")}


@blp.route("/record-exports", methods=["POST"])
@login_required
@blp.arguments(ExportIn)
@blp.response(202, ExportOut)
def create_export(body: dict[str, Any]) -> dict[str, Any]:
    """Export the signed records of every request matching the search (as GET /process-instances
    takes it; at most 1,000) as one ZIP, built in the background: poll the export for progress."""
    from api.views.common import search_from_args
    from reports.export import request_export

    session = db()
    row = request_export(session, require_user(), search_from_args(body), body, engine_ctx().clock())
    session.commit()
    enqueue("worker.build_export", row.id)
    return _export_dict(row)


@blp.route("/record-exports")
@login_required
@blp.response(200, ExportOut(many=True))
def list_exports() -> list[dict[str, Any]]:
    """My latest exports, newest first."""
    from sqlalchemy import select

    from engine.audit.models import RecordExport

    rows = db().execute(select(RecordExport).where(RecordExport.user_id == require_user().id)
                        .order_by(RecordExport.id.desc()).limit(20)).scalars()
    return [_export_dict(r) for r in rows]


@blp.route("/record-exports/<int:export_id>")
@login_required
@blp.response(200, ExportOut)
def get_export(export_id: int) -> dict[str, Any]:
    """One of my exports: status (queued, running, done, failed) and progress (done of total)."""
    from reports.export import own_export

    return _export_dict(own_export(db(), require_user(), export_id))


@blp.route("/record-exports/<int:export_id>/download")
@login_required
@blp.response(200, content_type="application/zip")
def download_export(export_id: int) -> Response:
    """The ZIP of a finished export (409 while it is still being built)."""
    from flask import send_file

    from reports.export import export_file, own_export

    row = own_export(db(), require_user(), export_id)
    path = export_file(current_app.extensions["settings"].instance_dir, row)
    resp = send_file(path, mimetype="application/zip", as_attachment=True, download_name=f"records-{export_id}.zip")
    resp.headers["ETag"] = row.sha256 or ""
    return resp
