"""An instance's audit record, from plain data to PDF (HTML template -> WeasyPrint).

The caller (API, CLI or worker) collects the data from the database and the audit log into
:class:`RecordData`; nothing here touches a database. :meth:`RecordData.from_dict` /
:meth:`RecordData.to_dict` let the data travel as JSON (e.g. in a Celery message).

Besides the printed page, the PDF carries the facts a verifier compares with the audit log
in machine-readable form, inside the part covered by the signature:
* document information dictionary keys ``/ApprovalInstanceId``, ``/ApprovalChainHead``,
  ``/ApprovalEventCount``, ``/ApprovalModelHash``, ``/ApprovalInterim``;
* an embedded file ``record.json`` with the same facts and a format version.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import markupsafe

RECORD_JSON_NAME = "record.json"
RECORD_FORMAT = "approval-record/1"
INFO_KEYS = {
    "instance_id": "ApprovalInstanceId",
    "chain_head": "ApprovalChainHead",
    "event_count": "ApprovalEventCount",
    "model_hash": "ApprovalModelHash",
    "interim": "ApprovalInterim",
}
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """Datetimes are UTC inside; a naive one is taken as UTC (that is how the database
    stores them), an ISO string (JSON transport) is parsed."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


@dataclass(frozen=True)
class StepData:
    """One thing that happened: a task completed, sent back, transferred, commented..."""

    name: str  # the task's (or event's) display name
    actor: str  # username
    actor_display_name: str
    at: dt.datetime
    type: str = "complete"  # audit event type, e.g. complete, send-back, transfer, comment
    decision: str | None = None  # what the actor decided, as displayed (e.g. "同意 / approve")
    comment: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)  # submitted form data
    field_labels: Mapping[str, str] = field(default_factory=dict)  # data key -> form field title
    bpmn_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _utc(self.at))


@dataclass(frozen=True)
class AttachmentData:
    name: str
    sha256: str
    size: int
    content_type: str | None = None


@dataclass(frozen=True)
class RecordData:
    instance_id: int | str
    process_name: str  # display name of the process
    model_id: str
    model_version: int | str
    model_hash: str  # content hash of the deployed version
    title: str
    status: str  # running, waiting, complete, withdrawn, terminated, error
    initiator: str  # username
    initiator_display_name: str
    created_at: dt.datetime
    chain_head: str  # hash of the last audit event of the instance's chain
    event_count: int
    completed_at: dt.datetime | None = None
    region: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[StepData, ...] | list[StepData] = ()
    diagram_svg: str | None = None  # from reports.diagram.render_diagram_svg
    attachments: tuple[AttachmentData, ...] | list[AttachmentData] = ()
    interim: bool = False  # unfinished instance: every page says INTERIM
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    locale: str = "zh-CN"  # "zh-CN" (Chinese with English labels beside) or "en"
    timezone: str = "Asia/Shanghai"  # times are printed in this zone, with the zone shown
    organisation: str | None = None

    def __post_init__(self) -> None:
        for name in ("created_at", "completed_at", "generated_at"):
            object.__setattr__(self, name, _utc(getattr(self, name)))
        object.__setattr__(self, "steps", tuple(
            s if isinstance(s, StepData) else StepData(**s) for s in self.steps))
        object.__setattr__(self, "attachments", tuple(
            a if isinstance(a, AttachmentData) else AttachmentData(**a) for a in self.attachments))
        if self.locale not in LOCALES:
            raise ValueError(f"unsupported locale {self.locale!r}; use one of {sorted(LOCALES)}")
        ZoneInfo(self.timezone)  # fail here, not half-way through rendering

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordData:
        """From JSON-shaped data (datetimes as ISO 8601 strings); unknown keys are ignored so
        that producers can add fields before consumers know them."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        def convert(value: Any) -> Any:
            if isinstance(value, dt.datetime):
                return value.isoformat()
            if isinstance(value, Mapping):
                return {k: convert(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [convert(v) for v in value]
            return value
        out: dict[str, Any] = convert(asdict(self))
        return out

    def facts(self) -> dict[str, Any]:
        """What a verifier compares with the audit log (also embedded as record.json)."""
        return {
            "format": RECORD_FORMAT,
            "instance_id": self.instance_id,
            "chain_head": self.chain_head,
            "event_count": self.event_count,
            "model_id": self.model_id,
            "model_version": self.model_version,
            "model_hash": self.model_hash,
            "status": self.status,
            "interim": self.interim,
            "generated_at": self.generated_at.isoformat(),
        }


# --- labels --------------------------------------------------------------------------------

# key -> (Chinese, English). zh-CN prints both ("流程 Process"), en only the English.
LABELS: dict[str, tuple[str, str]] = {
    "record": ("审批记录", "Approval record"),
    "summary": ("概要", "Summary"),
    "instance": ("流程实例", "Instance"),
    "title": ("标题", "Title"),
    "process": ("流程", "Process"),
    "model": ("模型", "Model"),
    "version": ("版本", "Version"),
    "model_hash": ("模型内容哈希", "Model content hash"),
    "status": ("状态", "Status"),
    "initiator": ("发起人", "Initiator"),
    "region": ("区域", "Region"),
    "created": ("发起时间", "Started"),
    "completed": ("结束时间", "Finished"),
    "duration": ("历时", "Duration"),
    "metadata": ("业务信息", "Business metadata"),
    "chain": ("审计链", "Audit chain"),
    "chain_head": ("链头哈希", "Chain head hash"),
    "event_count": ("事件数", "Events"),
    "steps": ("审批步骤", "Steps"),
    "step": ("步骤", "Step"),
    "actor": ("处理人", "Actor"),
    "time": ("时间", "Time"),
    "decision": ("处理结果", "Decision"),
    "comment": ("意见", "Comment"),
    "data": ("提交数据", "Submitted data"),
    "field": ("字段", "Field"),
    "value": ("值", "Value"),
    "no_steps": ("尚无步骤", "No steps yet"),
    "attachments": ("附件", "Attachments"),
    "name": ("名称", "Name"),
    "size": ("大小", "Size"),
    "sha256": ("SHA-256", "SHA-256"),
    "no_attachments": ("无附件", "No attachments"),
    "diagram": ("流程图（已走路径）", "Process diagram (path taken)"),
    "legend_done": ("已完成", "completed"),
    "legend_current": ("当前", "current"),
    "legend_todo": ("未经过", "not reached"),
    "generated": ("生成时间", "Generated"),
    "interim": ("临时版", "INTERIM"),
    "interim_note": ("流程尚未结束，本记录为临时版，内容可能变化。",
                     "The instance has not finished: this record is interim and will change."),
    "verify_note": ("本记录带有 PAdES 电子签名与时间戳（B-LTA），可离线验证：用发布的根证书（ca.pem）验证签名，"
                    "并将链头哈希与审计日志比对。",
                    "This record carries a PAdES signature with time-stamps (B-LTA) that validates offline: "
                    "check it against the published root certificate (ca.pem) and compare the chain head "
                    "hash with the audit log."),
    "page": ("页", "Page"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "running": ("进行中", "running"),
    "waiting": ("等待中", "waiting"),
    "complete": ("已完成", "complete"),
    "withdrawn": ("已撤回", "withdrawn"),
    "terminated": ("已终止", "terminated"),
    "error": ("异常", "error"),
}
TYPE_LABELS: dict[str, tuple[str, str]] = {
    "start": ("发起", "started"),
    "complete": ("提交", "completed"),
    "send-back": ("退回", "sent back"),
    "transfer": ("转办", "transferred"),
    "add-approver": ("加签", "approver added"),
    "claim": ("认领", "claimed"),
    "unclaim": ("释放", "unclaimed"),
    "comment": ("评论", "comment"),
    "urge": ("催办", "urged"),
    "cc": ("抄送", "cc"),
    "withdraw": ("撤回", "withdrawn"),
    "timer": ("定时器", "timer"),
    "message": ("消息", "message"),
    "escalate": ("升级", "escalated"),
}
LOCALES = {"zh-CN", "en"}


class _Labels:
    def __init__(self, locale: str) -> None:
        self.zh = locale == "zh-CN"

    def pair(self, table: Mapping[str, tuple[str, str]], key: str) -> tuple[str, str | None]:
        zh, en = table.get(key, (key, key))
        return (zh, en if zh != en else None) if self.zh else (en, None)

    def __call__(self, key: str) -> tuple[str, str | None]:
        """(main label, English companion or None)."""
        return self.pair(LABELS, key)

    def text(self, key: str, table: Mapping[str, tuple[str, str]] = LABELS) -> str:
        main, extra = self.pair(table, key)
        return f"{main} {extra}" if extra else main


# --- formatting ----------------------------------------------------------------------------

def _format_time(value: dt.datetime | None, zone: str) -> str:
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} UTC{offset[:3]}:{offset[3:]} ({zone})"


def _format_duration(start: dt.datetime | None, end: dt.datetime | None, zh: bool) -> str:
    if start is None or end is None:
        return "—"
    seconds = max(0, int((end - start).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if zh:
        return (f"{days} 天 " if days else "") + f"{hours} 小时 {minutes} 分"
    return (f"{days} d " if days else "") + f"{hours} h {minutes} min"


def _format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def _format_value(value: Any, labels: _Labels) -> tuple[str, bool]:
    """(text, is_code): scalars as they are, nested values as indented JSON."""
    if value is None:
        return "—", False
    if isinstance(value, bool):
        return labels.text("yes" if value else "no"), False
    if isinstance(value, str | int | float):
        return str(value), False
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str), True


def _short_hash(value: str) -> str:
    return value if len(value) <= 20 else f"{value[:12]}…{value[-8:]}"


# --- rendering -----------------------------------------------------------------------------

def css_string(value: object) -> markupsafe.Markup:
    """A quoted CSS string for the page margin boxes. Everything but letters, digits (CJK
    included) and spaces becomes a CSS hex escape, so no value can end the string or the
    rule, whatever it contains."""
    out = []
    for ch in str(value):
        if ch.isalnum() or ch == " ":
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):x} ")
    return markupsafe.Markup('"' + "".join(out) + '"')


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value in the record is user data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = css_string
    return env


def render_record_html(record: RecordData) -> str:
    """The HTML that becomes the PDF (also handy to preview a record in a browser)."""
    labels = _Labels(record.locale)
    zone = record.timezone

    def value(v: Any) -> tuple[str, bool]:
        return _format_value(v, labels)

    steps = [{
        "n": i,
        "step": s,
        "at": _format_time(s.at, zone),
        "what": s.decision or labels.text(s.type, TYPE_LABELS),
        "rows": [(s.field_labels.get(k) or k, k, *value(v)) for k, v in s.data.items()],
    } for i, s in enumerate(record.steps, start=1)]
    context = {
        "r": record,
        "L": labels,
        "lang": "zh-CN" if labels.zh else "en",
        "status": labels.text(record.status, STATUS_LABELS),
        "created": _format_time(record.created_at, zone),
        "completed": _format_time(record.completed_at, zone),
        "duration": _format_duration(record.created_at, record.completed_at, labels.zh),
        "generated": _format_time(record.generated_at, zone),
        "metadata": [(k, *value(v)) for k, v in record.metadata.items()],
        "steps": steps,
        "attachments": [(a, _format_size(a.size)) for a in record.attachments],
        "chain_short": _short_hash(record.chain_head),
        "header_left": f"{labels.text('record')} · {labels.text('instance')} #{record.instance_id}",
        "header_right": f"{labels.text('chain_head')}: {_short_hash(record.chain_head)}",
        "footer_left": (f"{record.organisation} · " if record.organisation else "")
        + f"{labels.text('generated')}: {_format_time(record.generated_at, zone)}",
        "diagram_uri": ("data:image/svg+xml;base64," + base64.b64encode(record.diagram_svg.encode()).decode()
                        if record.diagram_svg else ""),
    }
    return _environment().get_template("record.html").render(context)


_local = threading.local()


def _font_config() -> Any:
    # One FontConfiguration per thread, reused: building one re-reads the fontconfig cache
    # and WeasyPrint's per-font caches live on it; per thread because nothing says it may be
    # shared by renderings running at the same time.
    config = getattr(_local, "font_config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration
        config = _local.font_config = FontConfiguration()
    return config


def render_record_pdf(record: RecordData) -> bytes:
    """The record as an (unsigned) A4 PDF. Sign it with :func:`reports.sign.sign_pdf`."""
    import pydyf
    import weasyprint  # heavy (~0.7 s): imported when a record is rendered, not on import
    from weasyprint.urls import URLFetcher

    html = render_record_html(record)
    # Everything is inline; refuse to fetch anything else (file:// included) in case some
    # user-supplied value ever reaches a URL context.
    fetcher = URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES), url_fetcher=fetcher)
    facts = json.dumps(record.facts(), ensure_ascii=False, indent=2, sort_keys=True)
    attachment = weasyprint.Attachment(
        string=facts, name=RECORD_JSON_NAME, url_fetcher=fetcher,
        description="Approval record facts (instance, audit chain head, model hash)",
        relationship="Data", created=record.generated_at, modified=record.generated_at,
    )
    info = {INFO_KEYS[k]: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in record.facts().items() if k in INFO_KEYS}

    def add_info(_document: Any, pdf: Any) -> None:
        # Set here rather than with <meta> tags: the HTML parser lower-cases meta names.
        for key, value in info.items():
            pdf.info[key] = pydyf.String(value)

    pdf: bytes = document.write_pdf(
        font_config=_font_config(),
        attachments=[attachment],
        finisher=add_info,
    )
    return pdf
