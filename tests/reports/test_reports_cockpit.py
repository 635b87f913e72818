"""The monthly cockpit report: figures for seeded requests, the PDF (Chinese headings found by
pdftotext, a page that is not blank) and the CLI command."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reports.cockpit import (
    bar_chart_svg,
    cockpit_data,
    month_bounds,
    percentile,
    previous_month,
    render_cockpit,
    render_cockpit_html,
)

ETO, QUALITY = "eto/eto-change-order", "quality/field-quality-issue"
NOW = dt.datetime(2026, 11, 5, 2, tzinfo=dt.UTC)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


def test_month_bounds_are_local_midnights_in_utc() -> None:
    assert month_bounds("2026-10", "Asia/Shanghai") == ("2026-10", utc(2026, 9, 30, 16), utc(2026, 10, 31, 16))
    assert month_bounds("2026-12", "Asia/Shanghai")[1:] == (utc(2026, 11, 30, 16), utc(2026, 12, 31, 16))
    assert month_bounds(dt.date(2026, 3, 9), "UTC") == ("2026-03", utc(2026, 3, 1), utc(2026, 4, 1))
    for bad in ("2026-13", "10/2026", "2026-1"):
        with pytest.raises(ValueError):
            month_bounds(bad, "Asia/Shanghai")
    assert previous_month(dt.date(2026, 11, 1)) == "2026-10" and previous_month(dt.date(2026, 1, 15)) == "2025-12"


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(v) for v in range(1, 11)], 0.9) == 9.0
    assert percentile([24.0, 48.0, 264.0], 0.9) == 264.0


def test_bar_chart_is_plain_svg_with_escaped_labels() -> None:
    svg = bar_chart_svg(["华东 <East>", "华南"], [("发起", [3, 1]), ("完成", [2, None])])
    assert svg.startswith("<svg") and "<script" not in svg
    assert "华东 &lt;East&gt;" in svg and "—" in svg  # None is "no data"
    assert svg.count("<rect") == 2 + 3  # legend + three non-empty bars
    assert "100%" in bar_chart_svg(["x"], [("r", [1.0])], percent=True)


def _seed(app: Any) -> None:
    """Requests of October 2026 (Asia/Shanghai: 30 Sep 16:00 UTC to 31 Oct 16:00 UTC)."""
    from engine.audit.models import AuditEvent
    from engine.deploy.models import ModelVersion, ProcessModel
    from engine.instances.models import HumanTask, ProcessInstance
    from engine.org.service import get_user_by_username

    s = app.extensions["db_sessions"]()
    with s.begin():
        user = get_user_by_username(s, "east_ops")
        assert user is not None
        versions = {}
        for mid, name in ((ETO, "定制订单产品需求置换 / ETO change order"),
                          (QUALITY, "现场质量问题（2485） / Field quality issue (2485 rule)")):
            s.add(ProcessModel(id=mid, display_name=name))
            s.flush()
            v = ModelVersion(model_id=mid, number=1, content_hash="0" * 64, files={}, meta={}, primary_process_id="p")
            s.add(v)
            s.flush()
            versions[mid] = v.id

        def inst(model: str, region: str, created: dt.datetime, status: str = "running",
                 completed: dt.datetime | None = None) -> int:
            row = ProcessInstance(model_id=model, version_id=versions[model], process_id="p", title="t", status=status,
                                  initiator_id=user.id, region=region, state="", lock_version=1, meta={},
                                  created_at=created, updated_at=created, completed_at=completed,
                                  audit_seq=0, audit_head="")
            s.add(row)
            s.flush()
            return row.id

        def task(iid: int, model: str, region: str, bpmn_id: str, created: dt.datetime,
                 due: dt.datetime | None = None, done: dt.datetime | None = None) -> None:
            s.add(HumanTask(instance_id=iid, task_guid=f"{iid}-{bpmn_id}", bpmn_id=bpmn_id, name=bpmn_id,
                            model_id=model, region=region, status="completed" if done else "open",
                            created_at=created, due_at=due, completed_at=done))

        # EAST, ETO change orders.
        i1 = inst(ETO, "EAST", utc(2026, 10, 2, 2), "complete", utc(2026, 10, 3, 2))       # 24 h
        i2 = inst(ETO, "EAST", utc(2026, 10, 5), "complete", utc(2026, 10, 7))              # 48 h
        inst(ETO, "EAST", utc(2026, 9, 20), "complete", utc(2026, 10, 1))                   # 264 h, started in Sept
        i4 = inst(ETO, "EAST", utc(2026, 10, 30, 15))                                       # open at the end
        inst(ETO, "EAST", utc(2026, 10, 31, 17))                                             # 1 Nov 01:00 local: November
        i6 = inst(ETO, "EAST", utc(2026, 9, 30, 15), "waiting")                             # 30 Sep 23:00 local: backlog
        inst(ETO, "EAST", utc(2026, 10, 10), "withdrawn", utc(2026, 10, 11))                # started, withdrawn
        inst(ETO, "EAST", utc(2026, 10, 12), "terminated")                                  # ended by an admin
        task(i1, ETO, "EAST", "review", utc(2026, 10, 2, 2), due=utc(2026, 10, 2, 10), done=utc(2026, 10, 2, 9))
        task(i2, ETO, "EAST", "review", utc(2026, 10, 5), due=utc(2026, 10, 6), done=utc(2026, 10, 6, 12))  # late
        task(i4, ETO, "EAST", "review", utc(2026, 10, 30, 15), due=utc(2026, 10, 31))      # open past due: breach
        task(i6, ETO, "EAST", "review", utc(2026, 10, 20), due=utc(2026, 11, 3))            # due in November
        task(i6, ETO, "EAST", "triage", utc(2026, 9, 29), due=utc(2026, 9, 30, 15), done=utc(2026, 10, 2))  # Sept
        for at, seq in ((utc(2026, 10, 31, 1), 1), (utc(2026, 11, 1), 2)):  # the second is November
            s.add(AuditEvent(chain=f"instance:{i4}", seq=seq, instance_id=i4, at=at, actor="system",
                             type="sla_escalated", data={}, prev_hash="", hash=str(seq)))
        # SOUTH, ETO: started in October, finished in November; and one from the summer.
        inst(ETO, "SOUTH", utc(2026, 10, 1), "complete", utc(2026, 11, 2))
        inst(ETO, "SOUTH", utc(2026, 8, 1), "complete", utc(2026, 9, 15))
        # Field quality issues under the 2485 rule.
        stages = ["first_response", "containment", "root_cause", "implementation_verification"]
        q1 = inst(QUALITY, "EAST", utc(2026, 10, 3), "complete", utc(2026, 10, 8))  # all on time
        for b in stages:
            task(q1, QUALITY, "EAST", b, utc(2026, 10, 3), done=utc(2026, 10, 4))
        q2 = inst(QUALITY, "EAST", utc(2026, 10, 10), "complete", utc(2026, 10, 20))  # containment late
        for b in [*stages, "escalate_containment_l1", "escalate_containment_l2"]:
            task(q2, QUALITY, "EAST", b, utc(2026, 10, 11), done=utc(2026, 10, 12))
        q3 = inst(QUALITY, "SOUTH", utc(2026, 10, 12), "complete", utc(2026, 10, 13))  # invalid, closed at once
        task(q3, QUALITY, "SOUTH", "first_response", utc(2026, 10, 12), done=utc(2026, 10, 12, 1))
        q4 = inst(QUALITY, "SOUTH", utc(2026, 10, 25))  # open, already escalated: not in the rate
        task(q4, QUALITY, "SOUTH", "first_response", utc(2026, 10, 25))
        task(q4, QUALITY, "SOUTH", "escalate_first_response_l1", utc(2026, 10, 25, 2))
        q5 = inst(QUALITY, "EAST", utc(2026, 9, 20), "complete", utc(2026, 9, 28))  # September
        task(q5, QUALITY, "EAST", "escalate_root_cause_l1", utc(2026, 9, 22), done=utc(2026, 9, 23))
    s.close()


@pytest.fixture
def seeded(app: Any, org: Any) -> Any:
    _seed(app)
    return app


def test_figures_for_seeded_requests(seeded: Any) -> None:
    with seeded.extensions["db_sessions"]() as s:
        d = cockpit_data(s, "2026-10", "Asia/Shanghai", now=NOW)
    cells = {(r.region, r.model_id): r.figures for r in d.rows}
    east = cells[("EAST", ETO)]
    assert (east.started, east.finished, east.backlog) == (5, 3, 2)
    assert sorted(east.cycle_hours) == [24.0, 48.0, 264.0]
    assert east.cycle_avg_hours == 112.0 and east.cycle_p90_hours == 264.0
    assert (east.sla_due, east.sla_breached, east.escalations) == (3, 2, 1)
    south = cells[("SOUTH", ETO)]
    assert (south.started, south.finished, south.backlog, south.sla_due) == (1, 0, 1, 0)
    eq, sq = cells[("EAST", QUALITY)], cells[("SOUTH", QUALITY)]
    assert (eq.started, eq.finished, eq.escalations, eq.backlog) == (2, 2, 2, 0)
    assert (sq.started, sq.finished, sq.escalations, sq.backlog) == (2, 1, 1, 1)
    assert d.regions["EAST"].started == 7 and d.total.started == 10 and d.total.finished == 6
    assert d.total.backlog == 4 and d.total.escalations == 4
    assert d.total.breach_rate == pytest.approx(2 / 3)
    # 2485: q1 and q3 on time, q2 missed containment; q4 still open, q5 closed in September.
    c = d.compliance[""]
    assert (c.issues, c.compliant) == (3, 2) and c.rate == pytest.approx(2 / 3)
    assert c.stages == {"first_response": [3, 3], "containment": [2, 1], "root_cause": [2, 2],
                        "implementation_verification": [2, 2]}
    assert (d.compliance["EAST"].issues, d.compliance["EAST"].compliant) == (2, 1)
    assert (d.compliance["SOUTH"].issues, d.compliance["SOUTH"].compliant) == (1, 1)
    assert d.region_names["EAST"][0] == "华东" and d.process_names[QUALITY][0] == "现场质量问题（2485）"
    # The current month is counted up to now.
    with seeded.extensions["db_sessions"]() as s:
        partial = cockpit_data(s, "2026-10", "Asia/Shanghai", now=utc(2026, 10, 6, 6))
    p = {(r.region, r.model_id): r.figures for r in partial.rows}[("EAST", ETO)]
    assert (p.started, p.finished, p.sla_due, p.sla_breached) == (2, 2, 2, 1)
    assert partial.as_of == utc(2026, 10, 6, 6)


def test_html_has_bilingual_headings_and_escaped_names(seeded: Any) -> None:
    with seeded.extensions["db_sessions"]() as s:
        html = render_cockpit_html(cockpit_data(s, "2026-10", "Asia/Shanghai", now=NOW), organisation="示例 <Org>")
    for heading in ("管理驾驶舱月报 · 2026年10月", "Management cockpit, October 2026", "区域与流程",
                    "By region and process", "2485 达标率", "未结积压", "华东 East"):
        assert heading in html
    assert "示例 &lt;Org&gt;" in html and "<Org>" not in html
    assert html.count("data:image/svg+xml;base64,") == 4


@pytest.mark.slow
def test_pdf_has_chinese_headings_and_a_drawn_page(seeded: Any, tmp_path: Path) -> None:
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.skip("poppler-utils not installed")
    with seeded.extensions["db_sessions"]() as s:
        pdf = render_cockpit(s, "2026-10", "Asia/Shanghai", now=NOW)
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "cockpit.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    for heading in ("管理驾驶舱月报", "本月概览", "区域与流程", "2485 达标率", "华东", "现场质量问题（2485）"):
        assert heading in text, heading
    assert "66.7%" in text  # the 2485 rate
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")], check=True)
    from PIL import Image

    [png] = list(tmp_path.glob("page*.png"))
    with Image.open(png) as img:
        grey = img.convert("L")
        dark = sum(1 for p in grey.tobytes() if p < 200)
        rgb = img.convert("RGB").tobytes()
        blue = sum(1 for i in range(0, len(rgb), 3) if rgb[i] < 60 and 90 < rgb[i + 1] < 140 and rgb[i + 2] > 200)
    assert dark > 0.01 * grey.width * grey.height  # text, tables and bars, not a blank page
    assert blue > 50  # the charts' bars (#1a73e8)


@pytest.mark.slow
def test_cli_writes_the_pdf(seeded: Any, tmp_path: Path) -> None:
    out = tmp_path / "cockpit.pdf"
    result = seeded.test_cli_runner().invoke(args=["reports", "cockpit", "--month", "2026-10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF") and "cockpit.pdf" in result.output
    bad = seeded.test_cli_runner().invoke(args=["reports", "cockpit", "--month", "October", "--out", str(out)])
    assert bad.exit_code != 0 and "2026-10" in bad.output


def test_an_empty_month_still_renders(app: Any, org: Any) -> None:
    with app.extensions["db_sessions"]() as s:
        d = cockpit_data(s, "2026-10", "Asia/Shanghai", now=NOW)
    assert d.rows == [] and d.total.started == 0 and d.compliance[""].rate is None
    html = render_cockpit_html(d)
    assert "本月没有数据" in html and "本月没有关闭的现场质量问题" in html
