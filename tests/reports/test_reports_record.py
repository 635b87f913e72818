"""The record rendered to PDF: text layer, pages, INTERIM marking, embedded facts."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from reports.record import RecordData, StepData, render_record_html, render_record_pdf
from reports.sample import sample_record
from reports.verify import read_record_facts


def test_text_layer_holds_the_chinese_text(unsigned_pdf: bytes, record: RecordData,
                                           pdftotext: Callable[..., str]) -> None:
    text = pdftotext(unsigned_pdf)
    assert "ETO 定制订单需求置换" in text
    assert record.steps[3].actor_display_name in text  # 赵敏
    assert "审批记录" in text and "Approval record" in text
    assert "逆变器型号置换" in text
    assert record.chain_head in text.replace("\n", "")
    assert "Asia/Shanghai" in text and "UTC+08:00" in text
    for attachment in record.attachments:
        assert attachment.name in text


def test_every_page_has_header_and_page_numbers(unsigned_pdf: bytes, record: RecordData,
                                                pdftotext: Callable[..., str],
                                                page_count: Callable[[bytes], int]) -> None:
    pages = page_count(unsigned_pdf)
    assert pages >= 3
    for page in range(1, pages + 1):
        text = pdftotext(unsigned_pdf, page)
        assert f"#{record.instance_id}" in text
        assert record.chain_head[:12] in text  # shortened chain head in the header
        assert f"第 {page} / {pages} 页" in text
        assert "INTERIM" not in text


def test_interim_record_says_interim_on_every_page(interim_pdf: bytes, pdftotext: Callable[..., str],
                                                   page_count: Callable[[bytes], int]) -> None:
    pages = page_count(interim_pdf)
    assert pages >= 3
    for page in range(1, pages + 1):
        text = pdftotext(interim_pdf, page)
        assert "INTERIM" in text and "临时版" in text, f"page {page}"


def test_first_page_renders_to_a_non_blank_png(unsigned_pdf: bytes, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (Debian: poppler-utils)")
    from PIL import Image  # WeasyPrint depends on Pillow: no extra dependency

    (tmp_path / "r.pdf").write_bytes(unsigned_pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(tmp_path / "r.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    image = Image.open(io.BytesIO(png.read_bytes())).convert("L")
    width, height = image.size
    assert 400 < width < 450 and 560 < height < 600  # A4 at 50 dpi
    dark = sum(image.histogram()[:200])  # pixels darker than light grey
    assert dark > 0.02 * width * height  # text, tables and rules: a few percent of the page is ink


def test_facts_are_embedded_machine_readably(unsigned_pdf: bytes, record: RecordData) -> None:
    facts = read_record_facts(unsigned_pdf)
    assert facts is not None
    assert facts["chain_head"] == record.chain_head
    assert facts["instance_id"] == record.instance_id  # typed, from record.json
    assert facts["event_count"] == record.event_count
    assert facts["model_hash"] == record.model_hash
    assert facts["interim"] is False

    from pyhanko.pdf_utils.reader import PdfFileReader
    info = PdfFileReader(io.BytesIO(unsigned_pdf)).trailer_view["/Info"]
    assert info["/ApprovalChainHead"] == record.chain_head
    assert info["/ApprovalInstanceId"] == str(record.instance_id)
    assert info["/ApprovalInterim"] == "false"


def test_user_data_is_escaped(tmp_path: Path, pdftotext: Callable[..., str]) -> None:
    evil = '<img src="file:///etc/passwd"><script>alert(1)</script>&amp;'
    base = sample_record(steps=2, with_diagram=False)
    step = dataclasses.replace(base.steps[0], comment=evil, data={"<b>key</b>": evil, "nested": {"a": [1, "二"]}})
    record = dataclasses.replace(base, title=evil, steps=(step,), metadata={"x": evil})
    html = render_record_html(record)
    assert "<script>" not in html and '<img src="file' not in html
    assert "&lt;script&gt;" in html
    text = pdftotext(render_record_pdf(record))
    assert "<script>alert(1)</script>" in text  # shown as text, not interpreted
    assert "root:" not in text


def test_nested_values_are_shown_as_json(record: RecordData) -> None:
    html = render_record_html(record)
    assert "<pre>" in html
    assert "&#34;lead_time&#34;: 21" in html or "&quot;lead_time&quot;: 21" in html


def test_english_locale_and_no_diagram(pdftotext: Callable[..., str]) -> None:
    record = sample_record(steps=3, locale="en", with_diagram=False)
    text = pdftotext(render_record_pdf(record))
    assert "Approval record" in text and "审批记录" not in text
    assert "Page 1 of" in text


def test_record_data_round_trips_through_json() -> None:
    record = sample_record(steps=4, with_diagram=False)
    again = RecordData.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
    assert isinstance(again.steps[0], StepData)
    assert again.created_at.tzinfo is not None


def test_naive_datetimes_are_utc_and_printed_in_shanghai() -> None:
    record = dataclasses.replace(sample_record(steps=1, with_diagram=False),
                                 created_at=dt.datetime(2026, 1, 1, 0, 0))  # naive: UTC
    assert record.created_at == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert "2026-01-01 08:00:00 UTC+08:00 (Asia/Shanghai)" in render_record_html(record)


def test_rejects_unknown_locale() -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(sample_record(steps=1, with_diagram=False), locale="fr")
