"""Files made by service tasks (engine/attachments/service.py `make_writer`, `record_written`;
`engine.services.write_attachment`): stored content-addressed with nothing left behind on
failure, recorded with no uploader at the end of the engine step, linked to the request whose
data holds the ref, so that exactly the request's readers may download them."""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import services
from engine.attachments import service as attachments
from engine.attachments.models import Attachment, AttachmentLink
from engine.attachments.sniff import UnsupportedType
from engine.attachments.store import TooLarge, blob_path, store_root
from engine.errors import BadRequest
from engine.org.service import get_user_by_username

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(*rows: list[Any]) -> bytes:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _ref(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _tmp_files(instance_dir: Path) -> list[Path]:
    tmp = store_root(instance_dir) / "tmp"
    return list(tmp.iterdir()) if tmp.is_dir() else []


def _blobs(instance_dir: Path) -> list[Path]:
    root = store_root(instance_dir)
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"] if root.is_dir() else []


@pytest.fixture(autouse=True)
def _nothing_pending() -> Iterator[None]:
    """What one test wrote and did not record must not reach the next test's engine steps."""
    attachments._WRITTEN.set(None)
    yield
    attachments._WRITTEN.set(None)


def _pending() -> dict[str, Any]:
    return dict(attachments._WRITTEN.get() or {})


def _instance(app: Any, session: Any, username: str = "east_ops") -> int:
    from engine.instances import service

    user = get_user_by_username(session, username)
    step = service.start_instance(session, app.extensions["engine_ctx"], model_id="demo/simple-approval", actor=user)
    session.commit()
    return step.instance.id


# ---- the writer ---------------------------------------------------------------------------------

def test_same_bytes_are_one_file_and_no_temporary_file_stays(tmp_path: Path) -> None:
    write = attachments.make_writer(tmp_path)
    content = _xlsx(["站点", "售电 kWh"], ["SH001", 12.5])
    ref = write(content, "电费结算对账表-JS-EAST-202603.xlsx", XLSX_TYPE)
    assert ref == _ref(content)
    assert blob_path(store_root(tmp_path), ref[7:]).read_bytes() == content
    assert write(content, "again.xlsx") == ref  # content-addressed: the same ref, stored once
    assert len(_blobs(tmp_path)) == 1 and _tmp_files(tmp_path) == []
    info = _pending()[ref[7:]]
    assert (info.filename, info.content_type, info.size) == ("again.xlsx", XLSX_TYPE, len(content))
    other = _xlsx(["SH002", 1])
    assert write(other, "b.xlsx") == _ref(other) != ref
    assert len(_blobs(tmp_path)) == 2 and len(_pending()) == 2


@pytest.mark.parametrize(("content", "name", "ctype", "error"), [
    (b"", "empty.xlsx", None, BadRequest),
    (b"station,kwh\nSH001,1\n", "report.xlsx", None, UnsupportedType),  # text named as a workbook
    (b"<html><script>alert(1)</script></html>", "page.html", "text/html", UnsupportedType),
    (b"MZ\x90\x00" + b"\x00" * 300, "tool.exe", None, UnsupportedType),
    (b"x" * 2048, "big.txt", None, TooLarge),
])
def test_refused_content_leaves_nothing_behind(tmp_path: Path, content: bytes, name: str, ctype: str | None,
                                               error: type[Exception]) -> None:
    write = attachments.make_writer(tmp_path, max_bytes=1024)
    with pytest.raises(error):
        write(content, name, ctype)
    assert _tmp_files(tmp_path) == [] and _blobs(tmp_path) == [] and _pending() == {}


def test_declared_type_must_agree_with_the_content(tmp_path: Path) -> None:
    write = attachments.make_writer(tmp_path)
    with pytest.raises(UnsupportedType):
        write(_xlsx(["a"]), "report.xlsx", "application/pdf")
    with pytest.raises(TypeError):
        write("text, not bytes", "a.txt")  # type: ignore[arg-type]
    assert _tmp_files(tmp_path) == [] and _blobs(tmp_path) == []


def test_write_attachment_needs_a_configured_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "ATTACHMENT_WRITER", None)
    with pytest.raises(RuntimeError):
        services.write_attachment(b"x", "x.txt")


# ---- recorded and linked at the end of the step -------------------------------------------------

def test_recorded_without_uploader_and_linked_to_the_request(app: Any, deployed: Any, session: Any) -> None:
    instance_dir = app.extensions["settings"].instance_dir
    inst = _instance(app, session)
    write = attachments.make_writer(instance_dir)
    content = _xlsx(["SH001", 1])
    ref = write(content, "电费结算对账表.xlsx", XLSX_TYPE)
    stray = write(_xlsx(["not referenced"]), "stray.xlsx")
    assert attachments.record_written(session, inst, {"reconciliation_xlsx": ref, "other": [1, {"x": None}]}) == 1
    session.commit()
    rows = session.execute(select(Attachment).where(Attachment.sha256 == ref[7:])).scalars().all()
    assert [(r.filename, r.content_type, r.size, r.uploaded_by_id) for r in rows] == [
        ("电费结算对账表.xlsx", XLSX_TYPE, len(content), None)]
    links = session.execute(select(AttachmentLink.sha256, AttachmentLink.instance_id)).all()
    assert links == [(ref[7:], inst)]
    # a file the data does not reference is stored but neither recorded nor linked
    assert session.execute(select(Attachment).where(Attachment.sha256 == stray[7:])).first() is None
    assert [i.ref for i in attachments.attachments_of(session, inst)] == [ref]
    # who may read it: the request's readers (its region, the initiator), nobody else
    for username, readable in (("east_ops", True), ("east_finance", True), ("admin", True),
                               ("south_manager", False), ("west_ops", False)):
        user = get_user_by_username(session, username)
        assert attachments.may_read(session, user, ref[7:]) is readable, username
        seen = attachments.visible_upload(session, user, ref)
        assert (seen.filename if seen else None) == ("电费结算对账表.xlsx" if readable else None)


def test_writing_again_is_idempotent(app: Any, deployed: Any, session: Any) -> None:
    instance_dir = app.extensions["settings"].instance_dir
    inst = _instance(app, session)
    write = attachments.make_writer(instance_dir)
    content = _xlsx(["SH001", 1])
    for _ in range(3):  # a service task run again (retry, rework with the same data)
        ref = write(content, "对账表.xlsx")
        attachments.record_written(session, inst, {"f": ref})
        session.commit()
    assert len(session.execute(select(Attachment.id).where(Attachment.sha256 == ref[7:])).all()) == 1
    assert len(session.execute(select(AttachmentLink.instance_id)).all()) == 1
    # the same bytes under another name: one more row (each keeps its name), still one link, one blob
    write(content, "对账表（副本）.xlsx")
    assert attachments.record_written(session, inst, {"f": ref}) == 0
    session.commit()
    names = session.execute(select(Attachment.filename).where(Attachment.sha256 == ref[7:])).scalars().all()
    assert sorted(names) == ["对账表.xlsx", "对账表（副本）.xlsx"]
    assert blob_path(store_root(instance_dir), ref[7:]).read_bytes() == content and _tmp_files(instance_dir) == []


def test_what_a_step_wrote_is_never_linked_by_a_later_step(app: Any, deployed: Any, session: Any) -> None:
    """The pending files are dropped when a step ends, even those it did not reference: a file
    written in a step that failed cannot be linked to another request later."""
    instance_dir = app.extensions["settings"].instance_dir
    first, second = _instance(app, session), _instance(app, session, "south_ops")
    ref = attachments.make_writer(instance_dir)(_xlsx(["EAST only"]), "east.xlsx")
    assert attachments.record_written(session, first, {"nothing": "here"}) == 0
    assert _pending() == {}
    assert attachments.record_written(session, second, {"f": ref}) == 0
    session.commit()
    assert session.execute(select(AttachmentLink)).first() is None
    assert not attachments.may_read(session, get_user_by_username(session, "south_ops"), ref[7:])


def test_no_file_written_means_no_query(app: Any, deployed: Any, session: Any) -> None:
    """Every engine step calls record_written: when nothing was written it costs nothing."""
    from sqlalchemy import event

    inst = _instance(app, session)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert attachments.record_written(session, inst, {"f": "sha256:" + "a" * 64}) == 0
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements == []


# ---- through the engine: a service task's file ------------------------------------------------------

WRITE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="write_report" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="make_report" name="生成报表">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="tests/write_report" resultVariable="report">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="station" type="any" value="station" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:userTask id="review" name="审核"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="make_report"/>
    <bpmn:sequenceFlow id="f2" sourceRef="make_report" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_service_task_file_is_linked_to_its_request(app: Any, deployed: Any, session: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.deploy.service import deploy
    from engine.instances import service

    def write_report(station: str) -> str:
        return services.write_attachment(_xlsx(["站点", station]), f"报表-{station}.xlsx")

    monkeypatch.setitem(services.load_builtin_operators(), "tests/write_report", write_report)
    deploy(session, model_id="test/write-report", actor="t", files={
        "write_report.bpmn": WRITE_BPMN,
        "process_model.json": json.dumps({"display_name": "write", "primary_file_name": "write_report.bpmn",
                                          "primary_process_id": "write_report"}),
    })
    session.commit()
    user = get_user_by_username(session, "east_ops")
    step = service.start_instance(session, app.extensions["engine_ctx"], model_id="test/write-report", actor=user,
                                  data={"station": "SH001"})
    session.commit()
    assert step.failure is None
    ref = step.data["report"]
    assert attachments.REF_RE.fullmatch(ref)
    files = attachments.attachments_of(session, step.instance.id)
    assert [(f.ref, f.filename, f.content_type) for f in files] == [(ref, "报表-SH001.xlsx", XLSX_TYPE)]
    assert attachments.may_read(session, get_user_by_username(session, "east_manager"), ref[7:])
    assert not attachments.may_read(session, get_user_by_username(session, "north_manager"), ref[7:])
    assert _pending() == {}
