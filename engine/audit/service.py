"""Append and verify hash-chained audit events. Nothing here updates or deletes an event."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.models import AuditEvent, AuditHead
from engine.db import utcnow

SYSTEM_CHAIN = "system"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def event_body(ev: AuditEvent) -> dict[str, Any]:
    """The fields covered by the hash (everything but the hashes and the surrogate id)."""
    return {
        "chain": ev.chain,
        "seq": ev.seq,
        "instance_id": ev.instance_id,
        "at": ev.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": ev.actor,
        "type": ev.type,
        "task_guid": ev.task_guid,
        "bpmn_id": ev.bpmn_id,
        "data": ev.data,
    }


def compute_hash(prev_hash: str, ev: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical_json(event_body(ev))).encode()).hexdigest()


@dataclass
class PendingEvent:
    type: str
    actor: str
    data: dict[str, Any]
    task_guid: str | None = None
    bpmn_id: str | None = None


def build_chain(
    *, chain: str, instance_id: int | None, head_seq: int, head_hash: str, events: list[PendingEvent]
) -> tuple[list[AuditEvent], int, str]:
    """Turn pending events into chained rows; returns them and the new head (seq, hash)."""
    rows = []
    seq, prev = head_seq, head_hash
    now = utcnow()
    for pe in events:
        seq += 1
        # JSON round trip so the stored data is exactly what was hashed (Decimals become strings).
        data = json.loads(canonical_json(pe.data))
        ev = AuditEvent(
            chain=chain, seq=seq, instance_id=instance_id, at=now, actor=pe.actor, type=pe.type,
            task_guid=pe.task_guid, bpmn_id=pe.bpmn_id, data=data, prev_hash=prev,
        )
        ev.hash = compute_hash(prev, ev)
        prev = ev.hash
        rows.append(ev)
    return rows, seq, prev


def append_system_event(session: Session, *, type: str, actor: str, data: dict[str, Any]) -> AuditEvent:
    """Append to the system chain; the head row is locked so concurrent writers serialize."""
    head = session.execute(
        select(AuditHead).where(AuditHead.chain == SYSTEM_CHAIN).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(chain=SYSTEM_CHAIN, seq=0, hash="")
        session.add(head)
    rows, head.seq, head.hash = build_chain(
        chain=SYSTEM_CHAIN, instance_id=None, head_seq=head.seq, head_hash=head.hash,
        events=[PendingEvent(type=type, actor=actor, data=data)],
    )
    session.add_all(rows)
    session.flush()
    return rows[0]


@dataclass
class ChainProblem:
    chain: str
    seq: int
    problem: str


def verify_chain(session: Session, chain: str, expected_head: str | None = None) -> list[ChainProblem]:
    """Recompute a chain; report changed, missing, inserted or reordered events by seq."""
    events = session.execute(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq, AuditEvent.id)
    ).scalars().all()
    problems: list[ChainProblem] = []
    prev = ""
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            problems.append(ChainProblem(chain, ev.seq, f"expected seq {expected_seq} (missing or inserted event)"))
        if ev.prev_hash != prev:
            problems.append(ChainProblem(chain, ev.seq, "prev_hash does not match the event before it"))
        if compute_hash(ev.prev_hash, ev) != ev.hash:
            problems.append(ChainProblem(chain, ev.seq, "content changed: hash does not match"))
        prev = ev.hash
        expected_seq = ev.seq + 1
    if expected_head is not None and prev != expected_head:
        problems.append(ChainProblem(chain, expected_seq - 1, "chain head differs from the recorded head (events deleted at the end?)"))
    return problems
