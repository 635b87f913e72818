"""Records of real requests: built from the database and the audit log, rendered, signed,
stored content-addressed; and verification of an uploaded record against the audit log.
(The rest of reports/ works on plain data; this module is where it meets the engine.)"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent, RecordFile
from engine.audit.service import verify_chain
from engine.deploy.models import ModelVersion, ProcessModel
from engine.instances.models import COMPLETE, FINISHED_STATUSES, OPEN, HumanTask, ProcessInstance
from engine.instances.runner import EngineContext
from engine.org.models import User
from reports.pki import SigningConfig
from reports.record import AttachmentData, RecordData, StepData

STEP_EVENTS = {
    "instance_started": "发起 / started", "task_completed": "办理 / completed",
    "task_auto_completed": "自动通过 / auto-approved", "instance_withdrawn": "撤回 / withdrawn",
    "message_received": "外部消息 / message", "timer_fired": "计时器 / timer", "sla_escalated": "超时升级 / escalated",
    "task_delegated": "代理 / delegated", "instance_retried": "重试 / retried", "instance_migrated": "迁移 / migrated",
    "instance_error": "异常 / error", "instance_completed": "完成 / completed",
    "task_sent_back": "退回 / sent back", "task_transferred": "转交 / transferred",
    "approver_added": "加签 / approver added", "added_approver_answered": "加签意见 / opinion",
    "added_approvers_agreed": "加签通过 / agreed", "instance_cc": "抄送 / CC", "task_urged": "催办 / urged",
    "comment_added": "评论 / comment", "task_claimed": "认领 / claimed", "task_unclaimed": "释放 / released",
}
# Approval actions keep their fields at the top of the event rather than under "data".
ACTION_EVENTS = {"task_sent_back", "task_transferred", "approver_added", "added_approver_answered", "instance_cc",
                 "task_urged", "comment_added"}
ATTACHMENT_RE = re.compile(r"^sha256:([0-9a-f]{64})$")


def _decision(data: dict[str, Any]) -> str | None:
    for key, value in data.items():
        if (key == "decision" or key.endswith("_decision")) and isinstance(value, str):
            return value
    return None


def _comment(data: dict[str, Any]) -> str | None:
    parts = [str(v) for k, v in data.items() if (k == "comment" or k.endswith("_comment")) and v]
    return "；".join(parts) or None


def _attachments(data: Any, key: str = "") -> list[AttachmentData]:
    out: list[AttachmentData] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _attachments(v, k)
    elif isinstance(data, list):
        for v in data:
            out += _attachments(v, key)
    elif isinstance(data, str) and (m := ATTACHMENT_RE.match(data)):
        out.append(AttachmentData(name=key or "attachment", sha256=m.group(1), size=0))
    return out


def _named(session: Session, instance_id: int, found: list[AttachmentData]) -> list[AttachmentData]:
    """Every file the request references, with the uploader's file name and size where stored."""
    from engine.attachments.service import attachments_of

    out = {a.sha256: a for a in found}
    for info in attachments_of(session, instance_id):
        out[info.sha256] = AttachmentData(name=info.filename, sha256=info.sha256, size=info.size,
                                          content_type=info.content_type)
    return list(out.values())


def _field_labels(files: dict[str, str], schema_names: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for name in schema_names:
        try:
            schema = json.loads(files.get(name, "{}"))
        except json.JSONDecodeError:
            continue  # templated schemas: keys are shown as they are
        for key, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, dict) and prop.get("title"):
                labels[key] = str(prop["title"])
    return labels


def record_data(session: Session, ctx: EngineContext, instance: ProcessInstance, *, locale: str = "zh-CN",
                timezone: str = "Asia/Shanghai") -> RecordData:
    from reports.diagram import render_diagram_svg

    version = session.get(ModelVersion, instance.version_id)
    model = session.get(ProcessModel, instance.model_id)
    assert version is not None and model is not None
    initiator = session.get(User, instance.initiator_id)
    events = list(session.execute(select(AuditEvent).where(AuditEvent.chain == f"instance:{instance.id}")
                                  .order_by(AuditEvent.seq)).scalars())
    names = dict(session.execute(select(User.username, User.display_name)).all())
    schemas = [f for f in version.files if f.endswith("-schema.json")]
    labels = _field_labels(version.files, schemas)
    steps, attachments, done_ids = [], [], set()
    for ev in events:
        if ev.type not in STEP_EVENTS or ev.type == "task_created":
            continue
        raw = ev.data.get("payload") if ev.type == "message_received" else ev.data.get("data")
        submitted: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if ev.type in ACTION_EVENTS:
            submitted = {k: v for k, v in ev.data.items() if k not in ("task", "data") and v not in ("", None, [])}
        attachments += _attachments(submitted)
        if ev.bpmn_id:
            done_ids.add(ev.bpmn_id)
        actor = ev.data.get("approver") or ev.actor
        steps.append(StepData(
            name=str(ev.data.get("task") or STEP_EVENTS[ev.type]), actor=actor,
            actor_display_name=names.get(actor, actor), at=ev.at, type=ev.type,
            decision=_decision(submitted) or (STEP_EVENTS[ev.type] if ev.type != "task_completed" else None),
            comment=_comment(submitted) or ev.data.get("reason") or ev.data.get("message") or ev.data.get("body"),
            data=submitted, field_labels=labels, bpmn_id=ev.bpmn_id))
    current = set(session.execute(select(HumanTask.bpmn_id).where(
        HumanTask.instance_id == instance.id, HumanTask.status == OPEN)).scalars())
    primary = (version.meta or {}).get("primary_file_name")
    diagram = None
    if primary and primary in version.files:
        try:
            path = instance.path or {}
            moves = [(str(a), str(b)) for a, b in path.get("steps") or []]
            diagram = render_diagram_svg(version.files[primary], version.primary_process_id,
                                         done_ids | set(path.get("done") or []), current,
                                         transitions=moves if instance.path else None)
        except Exception:  # a diagram that cannot be drawn must not cost the record
            diagram = None
    return RecordData(
        instance_id=instance.id, process_name=model.display_name, model_id=model.id, model_version=version.number,
        model_hash=version.content_hash, title=instance.title, status=instance.status,
        initiator=initiator.username if initiator else "", initiator_display_name=initiator.display_name if initiator else "",
        created_at=instance.created_at, completed_at=instance.completed_at, region=instance.region,
        metadata=dict(instance.meta or {}), steps=steps, diagram_svg=diagram,
        attachments=_named(session, instance.id, attachments), chain_head=instance.audit_head,
        event_count=instance.audit_seq, interim=instance.status not in FINISHED_STATUSES,
        locale=locale, timezone=timezone,
    )


@dataclass
class StoredRecord:
    pdf: bytes
    row: RecordFile


def records_dir(instance_dir: Path) -> Path:
    d = Path(instance_dir) / "records"
    d.mkdir(parents=True, exist_ok=True)
    return d


def signed_record(session: Session, ctx: EngineContext, instance: ProcessInstance, signing: SigningConfig,
                  instance_dir: Path, *, timezone: str = "Asia/Shanghai") -> StoredRecord:
    """The signed record for the instance's current audit head: the stored one if it exists
    (same bytes every time), else rendered, signed and stored now."""
    from reports.record import render_record_pdf
    from reports.sign import sign_pdf

    folder = records_dir(instance_dir)
    row = session.execute(select(RecordFile).where(RecordFile.instance_id == instance.id,
                                                   RecordFile.chain_head == instance.audit_head)).scalar_one_or_none()
    if row is not None and (folder / f"{row.sha256}.pdf").is_file():
        return StoredRecord((folder / f"{row.sha256}.pdf").read_bytes(), row)
    pdf = sign_pdf(render_record_pdf(record_data(session, ctx, instance, timezone=timezone)), signing)
    digest = hashlib.sha256(pdf).hexdigest()
    path = folder / f"{digest}.pdf"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pdf)
    tmp.replace(path)  # atomic: a reader never sees half a file
    if row is None:
        row = RecordFile(instance_id=instance.id, chain_head=instance.audit_head, event_count=instance.audit_seq,
                         sha256=digest, size=len(pdf), interim=instance.status != COMPLETE,
                         created_at=dt.datetime.now(dt.UTC))
        session.add(row)
    else:
        row.sha256, row.size = digest, len(pdf)
    session.flush()
    return StoredRecord(pdf, row)


def verify_record(session: Session, pdf: bytes, signing: SigningConfig) -> dict[str, Any]:
    """The signature verdict, plus whether the chain head inside matches the audit log."""
    from reports.verify import verify_pdf

    verdict = verify_pdf(pdf, list(signing.trust_roots), list(signing.crls) or None)
    out = verdict.to_dict()
    audit: dict[str, Any] = {"checked": False}
    facts = verdict.record or {}
    iid, head, count = facts.get("instance_id"), facts.get("chain_head"), facts.get("event_count")
    if iid is not None and head:
        instance = session.get(ProcessInstance, int(iid)) if str(iid).isdigit() else None
        if instance is None:
            audit = {"checked": True, "matches": False, "reason": f"request {iid} is not in this system's audit log"}
        else:
            at_seq = session.execute(select(AuditEvent.hash).where(
                AuditEvent.chain == f"instance:{instance.id}", AuditEvent.seq == int(count or 0))).scalar_one_or_none()
            problems = verify_chain(session, f"instance:{instance.id}", instance.audit_head)
            audit = {
                "checked": True, "instance_id": instance.id, "chain_intact": not problems,
                "matches": at_seq == head,
                "current": instance.audit_head == head,
                "reason": None if at_seq == head else "the chain head in the record is not in the audit log",
                "problems": [f"seq {p.seq}: {p.problem}" for p in problems],
            }
    out["audit"] = audit
    out["ok"] = bool(verdict.ok and audit.get("matches") and audit.get("chain_intact", False))
    return out
