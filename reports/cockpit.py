"""The monthly management cockpit report (管理驾驶舱月报) as a PDF.

Per region and process: requests started and finished in the month, average and p90 cycle
time of those finished, SLA breaches of human tasks due in the month and escalations, the open
backlog at the month's end; the "2485" compliance of field quality issues closed in the month;
inline SVG bar charts drawn here (no JavaScript). zh-CN with English labels beside.

    pdf = render_cockpit(session, "2026-10", "Asia/Shanghai")      # bytes, for e-mail or a file
    data = cockpit_data(session, "2026-10", "Asia/Shanghai")        # the figures, for tests/APIs

Definitions (docs/sla.md repeats them for readers of the report):
* started: `created_at` in the month; finished: completed (status complete) in the month;
  cycle time: completed_at - created_at of those finished; p90 by nearest rank.
* SLA: human tasks with a due time in the month; a breach is one not done by its due time
  (done later, or still open once the due time has passed).
* escalations: the engine's SLA escalations (`sla_escalated` audit events) in the month plus
  escalation tasks opened by models in the month (user tasks whose id starts `escalate_`, as
  the 2485 quality model's timers open them).
* backlog: requests started before the month's end and not ended by then (running, waiting or
  in error), counted as at the month's end (or now, for the current month).
* 2485 compliance: field quality issues closed in the month with no stage escalated, i.e. no
  level-1 escalation task (`escalate_<stage>_l1`) opened for any of the four stages; also by
  stage, over the stages each issue reached.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.record import TEMPLATES, _font_config, css_string

QUALITY_MODEL_ID = "quality/field-quality-issue"
# (stage task id, escalation task prefix, zh, en)
STAGES_2485: tuple[tuple[str, str, str, str], ...] = (
    ("first_response", "escalate_first_response_l1", "首次响应 2 小时", "First response 2 h"),
    ("containment", "escalate_containment_l1", "紧急措施 24 小时", "Containment 24 h"),
    ("root_cause", "escalate_root_cause_l1", "原因与对策 48 小时", "Root cause 48 h"),
    ("implementation_verification", "escalate_verification_l1", "实施与验证 5 天", "Verification 5 d"),
)
ESCALATION_TASK_PREFIX = "escalate_"
ENDED = ("complete", "withdrawn", "terminated")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


# --- the figures ------------------------------------------------------------------------------

@dataclass
class Figures:
    """Counts for one (region, process) pair, a region, or everything."""

    started: int = 0
    finished: int = 0
    cycle_hours: list[float] = field(default_factory=list)
    sla_due: int = 0
    sla_breached: int = 0
    escalations: int = 0
    backlog: int = 0

    def add(self, other: Figures) -> None:
        self.started += other.started
        self.finished += other.finished
        self.cycle_hours += other.cycle_hours
        self.sla_due += other.sla_due
        self.sla_breached += other.sla_breached
        self.escalations += other.escalations
        self.backlog += other.backlog

    @property
    def cycle_avg_hours(self) -> float | None:
        return sum(self.cycle_hours) / len(self.cycle_hours) if self.cycle_hours else None

    @property
    def cycle_p90_hours(self) -> float | None:
        return percentile(self.cycle_hours, 0.9)

    @property
    def breach_rate(self) -> float | None:
        return self.sla_breached / self.sla_due if self.sla_due else None


@dataclass
class Row:
    region: str
    region_name: tuple[str, str]
    model_id: str
    process_name: tuple[str, str]
    figures: Figures


@dataclass
class Compliance:
    issues: int = 0
    compliant: int = 0
    # stage id -> [reached, on time]
    stages: dict[str, list[int]] = field(default_factory=lambda: {s[0]: [0, 0] for s in STAGES_2485})

    @property
    def rate(self) -> float | None:
        return self.compliant / self.issues if self.issues else None


@dataclass
class CockpitData:
    month: str
    timezone: str
    start: dt.datetime  # UTC
    end: dt.datetime  # UTC, exclusive
    as_of: dt.datetime  # the month's end, or now for the current month
    generated_at: dt.datetime
    rows: list[Row]
    regions: dict[str, Figures]
    total: Figures
    compliance: dict[str, Compliance]  # region code -> figures; "" = all regions
    region_names: dict[str, tuple[str, str]]
    process_names: dict[str, tuple[str, str]]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (p90 of 10 values is the 9th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def month_bounds(month: str | dt.date, tz: str) -> tuple[str, dt.datetime, dt.datetime]:
    """('2026-10', start, end) with start/end the month's first instants in `tz`, as UTC."""
    if isinstance(month, dt.date):
        year, mon = month.year, month.month
    else:
        m = MONTH_RE.match(month.strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"month must look like 2026-10, not {month!r}")
        year, mon = int(m.group(1)), int(m.group(2))
    zone = ZoneInfo(tz)
    start = dt.datetime(year, mon, 1, tzinfo=zone)
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=zone)
    return f"{year:04d}-{mon:02d}", start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _split_name(name: str, fallback: str) -> tuple[str, str]:
    """'现场质量问题（2485） / Field quality issue (2485 rule)' -> (zh, en)."""
    if " / " in name:
        zh, en = name.split(" / ", 1)
        return zh.strip(), en.strip()
    return (name or fallback), ""


def cockpit_data(session: Session, month: str | dt.date, tz: str = "Asia/Shanghai",
                 now: dt.datetime | None = None) -> CockpitData:
    from engine.audit.models import AuditEvent
    from engine.deploy.models import ProcessModel
    from engine.instances.models import HumanTask, ProcessInstance
    from engine.org.models import Region

    label, start, end = month_bounds(month, tz)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    as_of = min(end, now)
    cells: dict[tuple[str, str], Figures] = defaultdict(Figures)

    # Requests: started or finished in the month, or open at its end.
    pi = ProcessInstance
    instances = session.execute(
        select(pi.id, pi.model_id, pi.region, pi.status, pi.created_at, pi.completed_at)
        .where(pi.created_at < as_of, (pi.completed_at.is_(None)) | (pi.completed_at >= start))
    ).all()
    where: dict[int, tuple[str, str]] = {}
    for iid, model_id, region, status, created, completed in instances:
        key = (region, model_id)
        where[iid] = key
        f = cells[key]
        if start <= created:
            f.started += 1
        if status == "complete" and completed is not None and start <= completed < as_of:
            f.finished += 1
            f.cycle_hours.append((completed - created).total_seconds() / 3600)
        open_at_end = (completed is None and status not in ENDED) or (completed is not None and completed >= as_of)
        if open_at_end:
            f.backlog += 1

    # SLA: human tasks due in the month.
    ht = HumanTask
    for region, model_id, due, done in session.execute(
        select(ht.region, ht.model_id, ht.due_at, ht.completed_at)
        .where(ht.due_at >= start, ht.due_at < as_of)
    ):
        f = cells[(region, model_id)]
        f.sla_due += 1
        if due is not None and (done is None or done > due):  # open after its due time, or done late
            f.sla_breached += 1

    # Escalations: the engine's (audit) and the models' own escalation tasks.
    for escalated in session.execute(
        select(AuditEvent.instance_id).where(AuditEvent.type == "sla_escalated", AuditEvent.at >= start,
                                             AuditEvent.at < as_of, AuditEvent.instance_id.is_not(None))
    ).scalars():
        if escalated is None:
            continue
        cell = where.get(escalated) or _instance_key(session, escalated)
        if cell:
            cells[cell].escalations += 1
    for region, model_id in session.execute(
        select(ht.region, ht.model_id).where(ht.bpmn_id.like(f"{ESCALATION_TASK_PREFIX}%"),
                                             ht.created_at >= start, ht.created_at < as_of)
    ):
        cells[(region, model_id)].escalations += 1

    compliance = _compliance_2485(session, start, as_of)

    region_names = {code: (name, name_en) for code, name, name_en in
                    session.execute(select(Region.code, Region.name, Region.name_en))}
    process_names = {mid: _split_name(name, mid) for mid, name in
                     session.execute(select(ProcessModel.id, ProcessModel.display_name))}
    order = {code: i for i, code in enumerate(region_names)}
    rows = [Row(region, region_names.get(region, (region, "")), model_id,
                process_names.get(model_id, (model_id, "")), f)
            for (region, model_id), f in cells.items()]
    rows.sort(key=lambda r: (order.get(r.region, 99), r.region, r.process_name[0], r.model_id))
    regions: dict[str, Figures] = {}
    total = Figures()
    for r in rows:
        regions.setdefault(r.region, Figures()).add(r.figures)
        total.add(r.figures)
    return CockpitData(label, tz, start, end, as_of, now, rows, regions, total, compliance,
                       region_names, process_names)


def _instance_key(session: Session, iid: int) -> tuple[str, str] | None:
    from engine.instances.models import ProcessInstance

    found = session.execute(select(ProcessInstance.region, ProcessInstance.model_id)
                            .where(ProcessInstance.id == iid)).first()
    return (found[0], found[1]) if found else None


def _compliance_2485(session: Session, start: dt.datetime, end: dt.datetime) -> dict[str, Compliance]:
    from engine.instances.models import HumanTask, ProcessInstance

    issues = dict(session.execute(
        select(ProcessInstance.id, ProcessInstance.region).where(
            ProcessInstance.model_id == QUALITY_MODEL_ID, ProcessInstance.status == "complete",
            ProcessInstance.completed_at >= start, ProcessInstance.completed_at < end)).all())
    out: dict[str, Compliance] = {"": Compliance()}
    if not issues:
        return out
    stage_ids = {s[0] for s in STAGES_2485}
    escalation_ids = {s[1]: s[0] for s in STAGES_2485}
    reached: dict[int, set[str]] = defaultdict(set)
    missed: dict[int, set[str]] = defaultdict(set)
    ids = list(issues)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for iid, bpmn_id in session.execute(
            select(HumanTask.instance_id, HumanTask.bpmn_id).where(
                HumanTask.instance_id.in_(chunk),
                HumanTask.bpmn_id.in_(stage_ids | set(escalation_ids)))
        ):
            if bpmn_id in stage_ids:
                reached[iid].add(bpmn_id)
            else:
                missed[iid].add(escalation_ids[bpmn_id])
    for iid, region in issues.items():
        for c in (out[""], out.setdefault(region, Compliance())):
            c.issues += 1
            c.compliant += not missed[iid]
            for stage in reached[iid] | missed[iid]:
                c.stages[stage][0] += 1
                c.stages[stage][1] += stage not in missed[iid]
    return out


# --- charts -----------------------------------------------------------------------------------

FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', sans-serif"
COLOURS = ("#1a73e8", "#34a853", "#fbbc04", "#ea4335")


def bar_chart_svg(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
                  unit: str = "", percent: bool = False, width: float = 520, bar: float = 11) -> str:
    """A horizontal (grouped) bar chart as standalone SVG: one group per category, one bar per
    series, the value at the end of each bar. None is drawn as "—" (no data)."""
    label_w, right_pad, top = 150.0, 56.0, 22.0 if len(series) > 1 else 6.0
    group_h = bar * len(series) + 8
    height = top + group_h * max(1, len(categories)) + 6
    values = [v for _, vs in series for v in vs if v is not None]
    vmax = 1.0 if percent else max(values, default=0) or 1.0
    scale = (width - label_w - right_pad) / vmax
    esc = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{esc(FONT)}" font-size="9">']
    if len(series) > 1:
        x = label_w
        for i, (name, _) in enumerate(series):
            out.append(f'<rect x="{x:.1f}" y="4" width="9" height="9" fill="{COLOURS[i % len(COLOURS)]}"/>')
            out.append(f'<text x="{x + 12:.1f}" y="12" fill="#3c4043">{esc(name)}</text>')
            x += 14 + 7.5 * len(name) + 16
    for gi, cat in enumerate(categories):
        y0 = top + gi * group_h
        out.append(f'<text x="{label_w - 6:.1f}" y="{y0 + group_h / 2 + 1:.1f}" text-anchor="end" '
                   f'dominant-baseline="middle" fill="#202124">{esc(cat)}</text>')
        for si, (_, vs) in enumerate(series):
            v = vs[gi]
            y = y0 + si * bar
            w = 0.0 if v is None else max(0.0, v) * scale
            if w:
                out.append(f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar - 2:.1f}" '
                           f'fill="{COLOURS[si % len(COLOURS)]}"/>')
            text = "—" if v is None else (f"{v * 100:.0f}%" if percent else f"{v:g}{unit}")
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar / 2:.1f}" dominant-baseline="middle" '
                       f'fill="#3c4043">{esc(text)}</text>')
    out.append(f'<line x1="{label_w:.1f}" y1="{top - 2:.1f}" x2="{label_w:.1f}" y2="{height - 4:.1f}" '
               'stroke="#9aa0a6" stroke-width="0.8"/>')
    out.append("</svg>")
    return "".join(out)


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


# --- rendering --------------------------------------------------------------------------------

def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} d"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _both(pair: tuple[str, str]) -> str:
    zh, en = pair
    return f"{zh} {en}" if en and en != zh else zh


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(hours=_hours, rate=_rate, both=_both, css_string=css_string)
    return env


def charts(data: CockpitData) -> dict[str, str]:
    """The report's charts as data: URIs of SVG images."""
    regions = [r for r in data.region_names if r in data.regions] + [r for r in data.regions if r not in data.region_names]
    region_labels = [data.region_names.get(r, (r, ""))[0] for r in regions]
    by_process: dict[str, Figures] = {}
    for row in data.rows:
        by_process.setdefault(row.model_id, Figures()).add(row.figures)
    processes = sorted(by_process, key=lambda m: data.process_names.get(m, (m, ""))[0])
    process_labels = [_short(data.process_names.get(m, (m, ""))[0]) for m in processes]
    comp_regions = [r for r in regions if r in data.compliance]
    out = {
        "volume": bar_chart_svg(region_labels, [
            ("发起 Started", [data.regions[r].started for r in regions]),
            ("完成 Finished", [data.regions[r].finished for r in regions]),
            ("积压 Backlog", [data.regions[r].backlog for r in regions])]),
        "breach": bar_chart_svg(process_labels, [("SLA 超时率", [by_process[m].breach_rate for m in processes])],
                                percent=True),
        "cycle": bar_chart_svg(process_labels, [
            ("平均 Average", [_round(by_process[m].cycle_avg_hours) for m in processes]),
            ("P90", [_round(by_process[m].cycle_p90_hours) for m in processes])], unit=" h"),
        "compliance": bar_chart_svg(
            [data.region_names.get(r, (r, ""))[0] for r in comp_regions] + ["全部 All"],
            [("2485", [data.compliance[r].rate for r in comp_regions] + [data.compliance[""].rate])], percent=True),
    }
    return {k: _data_uri(v) for k, v in out.items()}


def _short(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render_cockpit_html(data: CockpitData, organisation: str | None = None) -> str:
    zone = ZoneInfo(data.timezone)
    year, mon = data.month.split("-")
    month_en = dt.date(int(year), int(mon), 1).strftime("%B %Y")
    grouped: list[tuple[str, tuple[str, str], list[Row], Figures]] = []
    for row in data.rows:
        if not grouped or grouped[-1][0] != row.region:
            grouped.append((row.region, row.region_name, [], data.regions[row.region]))
        grouped[-1][2].append(row)
    context = {
        "d": data,
        "title_zh": f"管理驾驶舱月报 · {int(year)}年{int(mon)}月",
        "title_en": f"Management cockpit, {month_en}",
        "period": f"{data.start.astimezone(zone):%Y-%m-%d %H:%M} – {data.end.astimezone(zone):%Y-%m-%d %H:%M} "
                  f"({data.timezone})",
        "as_of": f"{data.as_of.astimezone(zone):%Y-%m-%d %H:%M}",
        "generated": f"{data.generated_at.astimezone(zone):%Y-%m-%d %H:%M} ({data.timezone})",
        "grouped": grouped,
        "stages": STAGES_2485,
        "compliance_regions": [(code, data.region_names.get(code, (code, "")), c)
                               for code, c in data.compliance.items() if code],
        "charts": charts(data),
        "organisation": organisation,
        "footer": (f"{organisation} · " if organisation else "") + f"管理驾驶舱月报 Cockpit {data.month}",
    }
    return _environment().get_template("cockpit.html").render(context)


def render_cockpit_pdf(data: CockpitData, organisation: str | None = None) -> bytes:
    import weasyprint
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=render_cockpit_html(data, organisation), base_url=str(TEMPLATES),
                               url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(font_config=_font_config())
    return pdf


def render_cockpit(session: Session, month: str | dt.date, tz: str = "Asia/Shanghai", *,
                   organisation: str | None = None, now: dt.datetime | None = None) -> bytes:
    """The month's cockpit report as PDF bytes (for the monthly e-mail, the CLI, an endpoint)."""
    return render_cockpit_pdf(cockpit_data(session, month, tz, now=now), organisation)


def previous_month(today: dt.date | None = None, tz: str = "Asia/Shanghai") -> str:
    """'YYYY-MM' of the month before `today` (in `tz`): what a job on the 1st reports on."""
    today = today or dt.datetime.now(ZoneInfo(tz)).date()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


__all__ = ["CockpitData", "Figures", "bar_chart_svg", "cockpit_data", "month_bounds", "previous_month",
           "render_cockpit", "render_cockpit_html", "render_cockpit_pdf"]
