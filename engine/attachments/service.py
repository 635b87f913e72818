"""Attachments: recording uploads, who may read a file, and which requests reference it.

A file is referenced from form data as ``sha256:<64 hex>``. Its uploader may always read it;
anyone else may once it is linked to a request they may read (engine.instances.access). Files
that are neither are "not found" (404), as out-of-scope requests are.

Integration (task actions, forms):
- ``attachment_checker(session, user)`` as ``validate_submission(..., attachment_exists=...)`` or
  ``make_format_checker(dialect, attachment_check=...)``: a ref the user may not read fails as
  ``attachmentNotFound``;
- ``link_attachments(session, instance_id, refs_in(data))`` after accepting data into a request;
- ``attachments_of(session, instance_id)`` for the record.

Files made by the server (service-task operators, e.g. the settlement workbook) go through
``make_writer(instance_dir)``: the bytes are stored at once, and at the end of the engine step
``record_written(session, instance_id, data)`` records them (no uploader: the system) and links
those whose ref is in the request's data to it."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.attachments.models import Attachment, AttachmentLink
from engine.attachments.sniff import KINDS, classify
from engine.attachments.store import SHA256_RE, HashingSpool, blob_path, store_root
from engine.db import utcnow
from engine.errors import BadRequest
from engine.instances.access import can_read_instance, reads_everything
from engine.instances.models import ProcessInstance
from engine.org.models import User

REF_PREFIX = "sha256:"
REF_RE = re.compile(r"sha256:([0-9a-f]{64})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class AttachmentInfo:
    sha256: str
    filename: str
    size: int
    content_type: str

    @property
    def ref(self) -> str:
        return REF_PREFIX + self.sha256


def sha_of(ref_or_sha: str) -> str | None:
    """The hex digest of ``sha256:<hex>`` or ``<hex>``; None when it is neither."""
    value = ref_or_sha[len(REF_PREFIX):] if ref_or_sha.startswith(REF_PREFIX) else ref_or_sha
    return value if SHA256_RE.fullmatch(value) else None


def clean_filename(raw: str | None) -> str:
    """The name as the user gave it (Chinese kept), without directories or control characters,
    at most 255 characters with its extension kept."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip().strip(".").strip()
    if not name:
        return "attachment"
    if len(name) > 255:
        dot = name.rfind(".")
        ext = name[dot:] if 0 < dot and len(name) - dot <= 16 else ""
        name = name[: 255 - len(ext)] + ext
    return name


def record_upload(session: Session, *, spool: HashingSpool, filename: str | None, declared_type: str | None,
                  user: User, instance_dir: Path | str, allowed: Iterable[str]) -> Attachment:
    """Check the spooled upload's type, move it into the store and record the upload. Raises
    BadRequest (empty), UnsupportedType (415). The caller discards the spool in any case."""
    name = clean_filename(filename)
    if spool.size == 0:
        raise BadRequest("the file is empty")
    detected = classify(spool.finish(), name, declared_type, tuple(allowed))
    spool.store(store_root(instance_dir))
    row = Attachment(sha256=spool.sha256, filename=name, content_type=detected.content_type, size=spool.size,
                     uploaded_by_id=user.id, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def _linked_instances(session: Session, sha256: str) -> list[ProcessInstance]:
    return list(session.execute(
        select(ProcessInstance).join(AttachmentLink, AttachmentLink.instance_id == ProcessInstance.id)
        .where(AttachmentLink.sha256 == sha256).order_by(ProcessInstance.id)).scalars())


def may_read(session: Session, user: User, sha256: str) -> bool:
    """The uploader, or a reader of a request that references the file."""
    own = session.execute(select(Attachment.id).where(
        Attachment.sha256 == sha256, Attachment.uploaded_by_id == user.id).limit(1)).first()
    if own is not None:
        return True
    if reads_everything(user):
        return session.execute(select(AttachmentLink.instance_id).where(
            AttachmentLink.sha256 == sha256).limit(1)).first() is not None
    return any(can_read_instance(session, user, inst) for inst in _linked_instances(session, sha256))


def visible_upload(session: Session, user: User, ref_or_sha: str) -> Attachment | None:
    """The upload row to show this user (their own upload's name first, else the first upload's),
    or None when the file does not exist or they may not read it."""
    sha = sha_of(ref_or_sha)
    if sha is None:
        return None
    rows = list(session.execute(select(Attachment).where(Attachment.sha256 == sha).order_by(Attachment.id)).scalars())
    if not rows:
        return None
    own = [r for r in rows if r.uploaded_by_id == user.id]
    if own:
        return own[-1]
    return rows[0] if may_read(session, user, sha) else None


def attachment_checker(session: Session, user: User) -> Callable[[object], bool]:
    """A format check for ``format: attachment``: True for a ``sha256:<hex>`` ref this user may
    read (and for non-strings, which the type check reports); False for a malformed ref; raises
    forms' AttachmentNotFound for a file that does not exist or is not theirs to read. Works as
    ``attachment_check`` of make_format_checker and as ``attachment_exists`` of validate_submission."""
    from forms.dialects import AttachmentNotFound

    seen: dict[str, bool] = {}

    def check(value: object) -> bool:
        if not isinstance(value, str):
            return True
        m = REF_RE.fullmatch(value)
        if m is None:
            return False
        sha = m.group(1)
        if sha not in seen:
            exists = session.execute(select(Attachment.id).where(Attachment.sha256 == sha).limit(1)).first()
            seen[sha] = exists is not None and may_read(session, user, sha)
        if not seen[sha]:
            raise AttachmentNotFound(value)
        return True

    return check


def refs_in(data: object) -> set[str]:
    """Every ``sha256:<hex>`` ref anywhere in a JSON value (whole string values only)."""
    out: set[str] = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if REF_RE.fullmatch(item):
                out.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return out


def link_attachments(session: Session, instance_id: int, refs: Iterable[str]) -> int:
    """Record that a request references these files (existing uploads only; idempotent, safe
    against a concurrent link of the same file). Returns how many links are new."""
    shas = {s for r in refs if (s := sha_of(r)) is not None}
    if not shas:
        return 0
    existing = set(session.execute(select(Attachment.sha256).where(Attachment.sha256.in_(shas))).scalars())
    linked = set(session.execute(select(AttachmentLink.sha256).where(
        AttachmentLink.instance_id == instance_id, AttachmentLink.sha256.in_(existing))).scalars())
    return _insert_links(session, instance_id, existing - linked)


def _insert_links(session: Session, instance_id: int, shas: set[str]) -> int:
    new = sorted(shas)
    if not new:
        return 0
    dialect = session.get_bind().dialect.name
    rows = [{"sha256": s, "instance_id": instance_id, "created_at": utcnow()} for s in new]
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(AttachmentLink).values(rows).on_conflict_do_nothing())
    else:
        session.add_all(AttachmentLink(**r) for r in rows)
        session.flush()
    return len(new)


def attachments_of(session: Session, instance_id: int) -> list[AttachmentInfo]:
    """The files a request references, in the order they were linked (name: the first upload's)."""
    links = session.execute(select(AttachmentLink.sha256).where(AttachmentLink.instance_id == instance_id)
                            .order_by(AttachmentLink.created_at, AttachmentLink.sha256)).scalars().all()
    if not links:
        return []
    first: dict[str, Attachment] = {}
    for row in session.execute(select(Attachment).where(Attachment.sha256.in_(links))
                               .order_by(Attachment.id)).scalars():
        first.setdefault(row.sha256, row)
    return [AttachmentInfo(sha256=s, filename=first[s].filename, size=first[s].size,
                           content_type=first[s].content_type) for s in links if s in first]


def make_reader(instance_dir: Path | str) -> Callable[[str], bytes]:
    """Bytes of a ref, for trusted server-side code (e.g. engine.services.settlement.ATTACHMENT_READER)."""
    root = store_root(instance_dir)

    def read(ref: str) -> bytes:
        sha = sha_of(ref)
        if sha is None:
            raise ValueError(f"not an attachment ref: {ref!r}")
        return blob_path(root, sha).read_bytes()

    return read


# ---- files written by the server ----------------------------------------------------------------

class AttachmentWriter(Protocol):
    def __call__(self, content: bytes, filename: str, content_type: str | None = None) -> str: ...


# What the writer stored since the last engine step ended, by sha256 (per thread / task context:
# an operator runs inside the step that records it).
_WRITTEN: ContextVar[dict[str, AttachmentInfo] | None] = ContextVar("attachments_written", default=None)
WRITABLE_KINDS = tuple(KINDS)


def make_writer(instance_dir: Path | str, *, max_bytes: int = 64 * 1024 * 1024) -> AttachmentWriter:
    """``write(content, filename, content_type=None) -> "sha256:<hex>"`` for trusted server-side
    code (engine.services.ATTACHMENT_WRITER). The bytes go through a temporary file (removed
    whatever happens) into the content-addressed store: the same bytes give the same ref and are
    stored once. The content must be of a kind the store knows, agreeing with the file name and
    the declared type (else UnsupportedType); empty content is a BadRequest, more than
    `max_bytes` TooLarge. The attachment row and the link to the request are made at the end of
    the engine step (``record_written``)."""
    root = store_root(instance_dir)

    def write(content: bytes, filename: str, content_type: str | None = None) -> str:
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise TypeError(f"attachment content must be bytes, not {type(content).__name__}")
        name = clean_filename(filename)
        spool = HashingSpool(root, max_bytes)
        try:
            spool.write(bytes(content))
            if spool.size == 0:
                raise BadRequest("the file is empty")
            detected = classify(spool.finish(), name, content_type, WRITABLE_KINDS)
            spool.store(root)
        finally:
            spool.discard()
        written = _WRITTEN.get()
        if written is None:
            written = {}
            _WRITTEN.set(written)
        written[spool.sha256] = AttachmentInfo(sha256=spool.sha256, filename=name, size=spool.size,
                                               content_type=detected.content_type)
        return REF_PREFIX + spool.sha256

    return write


def record_written(session: Session, instance_id: int, data: object) -> int:
    """End of an engine step: the files written during it (``make_writer``) whose ref is in the
    request's data get their ``attachment`` row (``uploaded_by_id`` NULL: the system; one row per
    file and name) and are linked to the request, so its readers may download them. Files the
    data does not reference stay unrecorded (bytes in the store, readable by nobody). Nothing to
    do, and nothing read, when the step wrote no file. Returns how many links are new."""
    pending = _WRITTEN.get()
    if not pending:
        return 0
    written = dict(pending)
    pending.clear()  # the step is over: nothing it wrote may be linked to another request later
    _WRITTEN.set(None)
    refs = refs_in(data)
    files = {sha: info for sha, info in written.items() if REF_PREFIX + sha in refs}
    if not files:
        return 0
    with session.no_autoflush:  # the rows are flushed with the rest of the step
        known = {(r.sha256, r.filename) for r in session.execute(select(Attachment.sha256, Attachment.filename).where(
            Attachment.sha256.in_(files), Attachment.uploaded_by_id.is_(None)))}
        session.add_all(Attachment(sha256=i.sha256, filename=i.filename, content_type=i.content_type, size=i.size,
                                   uploaded_by_id=None, created_at=utcnow())
                        for sha, i in sorted(files.items()) if (sha, i.filename) not in known)
        linked = set(session.execute(select(AttachmentLink.sha256).where(
            AttachmentLink.instance_id == instance_id, AttachmentLink.sha256.in_(files))).scalars())
        return _insert_links(session, instance_id, set(files) - linked)
