"""Attachments: upload (multipart, streamed to disk, type checked from content), download and
metadata. Files are content-addressed; form data references them as `sha256:<hex>`."""
from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, request, send_file
from marshmallow import Schema, fields
from werkzeug.formparser import FormDataParser

from api.auth import login_required, require_user
from api.blueprint import Blueprint
from api.db import db
from engine.attachments.models import Attachment
from engine.attachments.service import record_upload, visible_upload
from engine.attachments.store import HashingSpool, TooLarge, blob_path, store_root
from engine.errors import BadRequest, Forbidden, NotFound
from engine.instances.access import ACTING_ROLES_EXCLUDED

blp = Blueprint("attachments", __name__, url_prefix="/api/v1",
                description="Attachments: upload once, reference as sha256:<hex> from form data")

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the one file


class AttachmentOut(Schema):
    ref = fields.String(metadata={"description": "sha256:<hex>, the value for a `format: attachment` field"})
    sha256 = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    uploaded_at = fields.DateTime()


def _out(row: Attachment) -> dict[str, Any]:
    return {"ref": f"sha256:{row.sha256}", "sha256": row.sha256, "filename": row.filename,
            "content_type": row.content_type, "size": row.size, "uploaded_at": row.created_at}


_UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


@blp.route("/attachments", methods=["POST"])
@login_required
@blp.doc(**_UPLOAD_DOC)
@blp.response(201, AttachmentOut)
def upload() -> dict[str, Any]:
    """Upload one file (multipart field `file`). The type is detected from the content and must
    agree with the file name: PDF, PNG, JPEG, WebP, XLSX, XLS, DOCX, CSV, TXT, ZIP (configurable).
    413 over ATTACHMENT_MAX_BYTES, 415 for a refused or mismatching type. The same bytes are
    stored once; every upload keeps its own file name."""
    user = require_user()
    if user.has_role(*ACTING_ROLES_EXCLUDED) and not user.has_role("admin"):
        raise Forbidden("auditors do not upload files")
    settings = current_app.extensions["settings"]
    max_bytes = settings.attachment_max_bytes
    limit = max_bytes + MULTIPART_OVERHEAD
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the file is larger than {max_bytes} bytes", {"max_bytes": max_bytes})
    if request.mimetype != "multipart/form-data":
        raise BadRequest("send the file as multipart/form-data in the field 'file'")
    request.max_content_length = limit  # a body without Content-Length is cut off here too
    root = store_root(settings.instance_dir)
    spools: list[HashingSpool] = []

    def factory(total_content_length: int | None, content_type: str | None, filename: str | None,
                content_length: int | None = None) -> Any:
        spool = HashingSpool(root, max_bytes)
        spools.append(spool)
        return spool

    try:
        parser = FormDataParser(stream_factory=factory, max_content_length=limit,
                                max_form_memory_size=request.max_form_memory_size,
                                max_form_parts=request.max_form_parts)
        _, _, files = parser.parse(request.stream, request.mimetype, request.content_length,
                                   request.mimetype_params)
        storage = files.get("file")
        if storage is None or not storage.filename:
            raise BadRequest("no file: send it in the multipart field 'file'")
        spool = storage.stream
        assert isinstance(spool, HashingSpool)
        session = db()
        row = record_upload(session, spool=spool, filename=storage.filename, declared_type=storage.mimetype,
                            user=user, instance_dir=settings.instance_dir, allowed=settings.attachment_types)
        session.commit()
        return _out(row)
    finally:
        for s in spools:
            s.discard()


def _visible(sha256: str) -> Attachment:
    row = visible_upload(db(), require_user(), sha256)
    if row is None:
        raise NotFound("attachment not found")
    return row


@blp.route("/attachments/<string:sha256>/meta")
@login_required
@blp.response(200, AttachmentOut)
def meta(sha256: str) -> dict[str, Any]:
    """Name, type and size of a file you uploaded or that a request you can read references."""
    return _out(_visible(sha256))


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c if 0x20 <= ord(c) < 0x7f and c not in '"\\;%' else "_" for c in fallback).strip()
    dot = filename.rfind(".")
    ext = filename[dot:] if dot > 0 and filename[dot:].isascii() else ""
    if not fallback.replace("_", "").strip(". ") or fallback == ext or fallback.startswith("."):
        fallback = "attachment" + ext
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@blp.route("/attachments/<string:sha256>")
@login_required
@blp.response(200, content_type="application/octet-stream")
def download(sha256: str) -> Response:
    """The file, as an attachment (never rendered in the API's origin: nosniff, CSP sandbox)."""
    row = _visible(sha256)
    path = blob_path(store_root(current_app.extensions["settings"].instance_dir), row.sha256)
    if not path.is_file():
        current_app.logger.error("attachment %s is recorded but its file is missing", row.sha256)
        raise NotFound("attachment not found")
    resp = send_file(path, mimetype=row.content_type, etag=row.sha256, conditional=True, max_age=0)
    resp.headers["Content-Disposition"] = content_disposition(row.filename)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    resp.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    return resp
