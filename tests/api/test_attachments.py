"""Attachments: upload / download round trip, content-addressed storage, limits, type checks
from content, and who may read a file (uploader, readers of a request that references it)."""
from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from engine.attachments.store import blob_path, store_root

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode"


def _upload(client: Any, content: bytes, filename: str, content_type: str = "application/octet-stream",
            field: str = "file") -> Any:
    return client.client.post("/api/v1/attachments", headers=client._h(), content_type="multipart/form-data",
                              data={field: (io.BytesIO(content), filename, content_type)})


def _settings(app: Any, monkeypatch: pytest.MonkeyPatch, **changes: Any) -> Any:
    s = replace(app.extensions["settings"], **changes)
    monkeypatch.setitem(app.extensions, "settings", s)
    return s


def _tmp_files(app: Any) -> list[Path]:
    tmp = store_root(app.extensions["settings"].instance_dir) / "tmp"
    return list(tmp.iterdir()) if tmp.is_dir() else []


def _zip(names: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in names.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_round_trip_with_a_chinese_file_name(app: Any, login: Any) -> None:
    ops = login("east_ops")
    name = "合同 2026（盖章版）.pdf"
    r = _upload(ops, PDF, name, "application/pdf")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    sha = hashlib.sha256(PDF).hexdigest()
    assert body["ref"] == f"sha256:{sha}" and body["sha256"] == sha
    assert body["filename"] == name and body["size"] == len(PDF) and body["content_type"] == "application/pdf"
    assert body["uploaded_at"]
    assert blob_path(store_root(app.extensions["settings"].instance_dir), sha).read_bytes() == PDF

    d = ops.get(f"/api/v1/attachments/{sha}")
    assert d.status_code == 200 and d.data == PDF
    assert d.mimetype == "application/pdf"
    cd = d.headers["Content-Disposition"]
    assert cd.startswith("attachment;") and f"filename*=UTF-8''{quote(name, safe='')}" in cd
    assert 'filename="' in cd and cd.split('filename="')[1].split('"')[0].isascii()
    assert d.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in d.headers["Content-Security-Policy"]
    # the ref spelling works too, and the metadata answers the same
    assert ops.get(f"/api/v1/attachments/sha256:{sha}").status_code == 200
    m = ops.get(f"/api/v1/attachments/{sha}/meta")
    assert m.status_code == 200 and m.get_json()["filename"] == name and m.get_json()["ref"] == body["ref"]
    assert ops.get(f"/api/v1/attachments/{'0' * 64}").status_code == 404
    assert ops.get("/api/v1/attachments/not-a-hash").status_code == 404
    assert _tmp_files(app) == []


def test_same_bytes_are_stored_once_and_each_upload_keeps_its_name(app: Any, login: Any) -> None:
    from engine.attachments.models import Attachment

    ops, mgr = login("east_ops"), login("east_manager")
    content = b"period,kwh\n2026-01,1200\n"
    a = _upload(ops, content, "电费.csv", "text/csv").get_json()
    b = _upload(mgr, content, "bill-january.csv", "application/vnd.ms-excel").get_json()
    c = _upload(ops, content, "电费.csv", "text/csv").get_json()
    assert a["sha256"] == b["sha256"] == c["sha256"]
    assert a["content_type"] == "text/csv; charset=utf-8"
    root = store_root(app.extensions["settings"].instance_dir)
    assert [p.name for p in blob_path(root, a["sha256"]).parent.iterdir()] == [a["sha256"]]
    with app.extensions["db_sessions"]() as s:
        rows = s.query(Attachment).filter_by(sha256=a["sha256"]).count()
    assert rows == 3
    assert ops.get(f"/api/v1/attachments/{a['sha256']}/meta").get_json()["filename"] == "电费.csv"
    assert mgr.get(f"/api/v1/attachments/{a['sha256']}/meta").get_json()["filename"] == "bill-january.csv"
    assert _tmp_files(app) == []


def test_size_limit_is_413_and_nothing_is_kept(app: Any, login: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _settings(app, monkeypatch, attachment_max_bytes=1000)
    ops = login("east_ops")
    exact = b"a" * 1000
    assert _upload(ops, exact, "exact.txt").status_code == 201
    big = b"b" * 1001
    r = _upload(ops, big, "big.txt")
    assert r.status_code == 413, r.get_json()
    assert r.get_json()["error"]["code"] == "too_large"
    assert not blob_path(store_root(app.extensions["settings"].instance_dir), hashlib.sha256(big).hexdigest()).exists()
    # A body announced far over the limit is refused before it is read.
    r = ops.client.post("/api/v1/attachments", headers={**ops._h(), "Content-Type": "multipart/form-data; boundary=x"},
                        environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)}, data=b"")
    assert r.status_code == 413
    assert _tmp_files(app) == []


def test_default_limit_allows_more_than_flask_default(app: Any, login: Any) -> None:
    """ATTACHMENT_MAX_BYTES (20 MB) and not the app-wide 16 MB body limit applies here."""
    ops = login("east_ops")
    content = PDF + b"%" + b"0" * (17 * 1024 * 1024)
    r = _upload(ops, content, "scan.pdf", "application/pdf")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["size"] == len(content)


@pytest.mark.parametrize(("content", "filename", "declared"), [
    (EXE, "photo.png", "image/png"),  # an executable named .png
    (EXE, "setup.exe", "application/octet-stream"),
    (PNG, "invoice.pdf", "application/pdf"),  # a PNG named .pdf
    (PNG, "photo.png", "application/pdf"),  # the right name, a contradicting declared type
    (b"<html><script>alert(1)</script></html>", "page.html", "text/html"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument\0".encode("utf-16-le") + b"\x00" * 100, "old.doc",
     "application/msword"),
    (_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/vbaProject.bin": b"x"}),
     "macro.docx", ""),  # macros: only a plain zip, not a docx
])
def test_refused_types_are_415(app: Any, login: Any, content: bytes, filename: str, declared: str) -> None:
    r = _upload(login("east_ops"), content, filename, declared)
    assert r.status_code == 415, r.get_json()
    assert r.get_json()["error"]["code"] == "unsupported_media_type"
    assert not blob_path(store_root(app.extensions["settings"].instance_dir), hashlib.sha256(content).hexdigest()).exists()
    assert _tmp_files(app) == []


def test_accepted_types_are_detected_from_content(app: Any, login: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from openpyxl import Workbook

    buf = io.BytesIO()
    wb = Workbook()
    wb.active.append(["电站", "电量"])
    wb.save(buf)
    docx = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 60 + "Workbook\0".encode("utf-16-le") + b"\x00" * 40
    webp = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 30
    cases = [
        (buf.getvalue(), "结算.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (buf.getvalue(), "结算.zip", "application/zip"),  # an Office file is a zip too
        (docx, "说明.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (xls, "旧表.xls", "application/vnd.ms-excel"),
        (_zip({"a.txt": b"x"}), "bundle.zip", "application/zip"),
        (PNG, "现场.png", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20, "photo.JPG", "image/jpeg"),
        (webp, "a.webp", "image/webp"),
        ("电站,电量\n东区,100\n".encode("gbk"), "gbk.csv", "text/csv; charset=gb18030"),
        ("备注：一切正常\r\n".encode(), "备注", "text/plain; charset=utf-8"),  # no extension: taken as text
    ]
    ops = login("east_ops")
    for content, name, expected in cases:
        r = _upload(ops, content, name)
        assert r.status_code == 201, (name, r.get_json())
        assert r.get_json()["content_type"] == expected, name
    # a kind that is not allowed here
    _settings(app, monkeypatch, attachment_types=("pdf",))
    r = _upload(ops, PNG, "现场.png", "image/png")
    assert r.status_code == 415 and "not accepted" in r.get_json()["error"]["message"]


def test_no_file_is_400(app: Any, login: Any) -> None:
    ops = login("east_ops")
    assert _upload(ops, PDF, "a.pdf", field="other").status_code == 400
    assert _upload(ops, b"", "empty.pdf").status_code == 400
    assert ops.post("/api/v1/attachments", json={"file": "x"}).status_code == 400
    assert _tmp_files(app) == []


def _instance_of(ops: Any) -> int:
    r = ops.post("/api/v1/process-instances", json={"process_model_id": "demo:simple-approval"})
    assert r.status_code == 201, r.get_json()
    return int(r.get_json()["id"])


def test_access_uploader_then_readers_of_a_linking_request(app: Any, login: Any) -> None:
    from engine.attachments.service import attachment_checker, attachments_of, link_attachments, refs_in
    from engine.org.service import get_user_by_username
    from forms.dialects import AttachmentNotFound

    ops, south, mgr, admin = login("east_ops"), login("south_ops"), login("east_manager"), login("admin")
    up = _upload(ops, PDF, "申请书.pdf", "application/pdf").get_json()
    sha, ref = up["sha256"], up["ref"]
    for who in (south, mgr, admin):  # not linked yet: only the uploader sees it
        assert who.get(f"/api/v1/attachments/{sha}").status_code == 404
        assert who.get(f"/api/v1/attachments/{sha}/meta").status_code == 404
    instance_id = _instance_of(ops)
    sessions = app.extensions["db_sessions"]
    with sessions() as s:
        check_mgr = attachment_checker(s, get_user_by_username(s, "east_manager"))
        with pytest.raises(AttachmentNotFound):
            check_mgr(ref)
        check_ops = attachment_checker(s, get_user_by_username(s, "east_ops"))
        assert check_ops(ref) is True and check_ops(12) is True and check_ops("sha256:XYZ") is False
        with pytest.raises(AttachmentNotFound):
            check_ops("sha256:" + "1" * 64)
        data = {"files": [ref, "sha256:" + "1" * 64], "nested": {"x": [{"y": ref}]}, "note": f"see {ref}"}
        assert refs_in(data) == {ref, "sha256:" + "1" * 64}
        assert link_attachments(s, instance_id, refs_in(data)) == 1  # unknown files are not linked
        assert link_attachments(s, instance_id, [ref]) == 0  # idempotent
        s.commit()
        info = attachments_of(s, instance_id)
        assert [(a.filename, a.sha256, a.size, a.ref) for a in info] == [("申请书.pdf", sha, len(PDF), ref)]
        assert attachment_checker(s, get_user_by_username(s, "east_manager"))(ref) is True
        with pytest.raises(AttachmentNotFound):
            attachment_checker(s, get_user_by_username(s, "south_ops"))(ref)
    # readers of the request may download it now; another region's user still finds nothing
    d = mgr.get(f"/api/v1/attachments/{sha}")
    assert d.status_code == 200 and d.data == PDF and "filename*=UTF-8''" in d.headers["Content-Disposition"]
    assert mgr.get(f"/api/v1/attachments/{sha}/meta").get_json()["filename"] == "申请书.pdf"
    assert admin.get(f"/api/v1/attachments/{sha}").status_code == 200
    assert south.get(f"/api/v1/attachments/{sha}").status_code == 404
    assert south.get(f"/api/v1/attachments/{sha}/meta").status_code == 404


def test_checker_works_in_form_validation(app: Any, login: Any) -> None:
    from engine.attachments.service import attachment_checker
    from engine.org.service import get_user_by_username
    from forms import Form, FormValidationError, validate_submission

    ops = login("east_ops")
    ref = _upload(ops, PDF, "a.pdf", "application/pdf").get_json()["ref"]
    form = Form(schema={"type": "object", "properties": {"f": {"type": "string", "format": "attachment"}}})
    with app.extensions["db_sessions"]() as s:
        ok = validate_submission(form, {"f": ref}, attachment_exists=attachment_checker(s, get_user_by_username(s, "east_ops")))
        assert ok == {"f": ref}
        with pytest.raises(FormValidationError) as err:
            validate_submission(form, {"f": ref}, attachment_exists=attachment_checker(s, get_user_by_username(s, "south_ops")))
        assert err.value.errors[0].code == "attachmentNotFound"


def test_auditors_do_not_upload(app: Any, login: Any) -> None:
    assert _upload(login("auditor"), PDF, "a.pdf").status_code == 403


def test_content_disposition_fallbacks() -> None:
    from api.views.attachments import content_disposition

    assert content_disposition("合同.pdf") == "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''%E5%90%88%E5%90%8C.pdf"
    assert content_disposition('a "b";c.txt').startswith('attachment; filename="a _b__c.txt"')
    assert content_disposition("Résumé.pdf").startswith('attachment; filename="Resume.pdf"')


def test_clean_filename() -> None:
    from engine.attachments.service import clean_filename

    assert clean_filename("C:\\Users\\张三\\报告.pdf") == "报告.pdf"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("a\x00b\n.txt") == "ab.txt"
    assert clean_filename("") == "attachment"
    long = "长" * 300 + ".xlsx"
    assert len(clean_filename(long)) == 255 and clean_filename(long).endswith(".xlsx")
