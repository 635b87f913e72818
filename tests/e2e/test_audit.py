"""The auditor's page (/audit) in a real browser, as a subsidy inspector would use it: the
`auditor` searches by region and creation date (the search is in the URL: back and forward
work), opens a request, downloads its signed record, exports the search as a ZIP and follows
its progress to the download, verifies the record, and the same search reads on a 375 px phone.

The e2e server runs no Celery worker (broker ``memory://``): this module starts its own server
(same serve.py, a workdir it knows) and builds the export the way the worker would
(``reports.export.build_export`` on the server's database) while the page polls for progress.
Screenshots go to test-artifacts/e2e/ (audit-*.png)."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

expect = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright; never `playwright install`)"
).expect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 812}
ETO = "eto:eto-change-order"


# --- a server of our own: its database and instance folder are where the "worker" works ------
class Server:
    def __init__(self, url: str, workdir: Path) -> None:
        self.url, self.workdir = url, workdir

    @property
    def config(self) -> dict[str, Any]:
        return {"database_url": f"sqlite:///{self.workdir / 'e2e.db'}", "testing": True, "secret_key": "e2e-secret",
                "instance_dir": self.workdir / "instance", "processes_dir": ROOT / "processes",
                "broker_url": "memory://"}

    def build_export(self, export_id: int) -> Any:
        """What the Celery task worker.build_export does, here in the test process."""
        from api import create_app
        from reports.export import build_export
        from reports.pki import SigningConfig

        app = create_app(self.config)
        instance_dir = Path(self.config["instance_dir"])
        with app.app_context():
            return build_export(app.extensions["db_sessions"], app.extensions["engine_ctx"],
                                SigningConfig.from_env(os.environ, instance_dir), instance_dir, export_id)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    workdir = tmp_path_factory.mktemp("e2e-audit")
    log = (workdir / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("serve.py")), "--port", str(port), "--workdir", str(workdir)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"e2e server exited early:\n{(workdir / 'server.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"e2e server did not start:\n{(workdir / 'server.log').read_text()}")
            time.sleep(0.2)
        yield Server(url, workdir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class ApiClient:
    """A signed-in API session (cookie + CSRF header), to file the requests the auditor finds."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.call("POST", "/auth/login", {"username": username, "password": "demo"})

    def call(self, method: str, path: str, body: Any = None) -> Any:
        csrf = next((c.value for c in self.jar if c.name == "csrf_token"), None)
        req = urllib.request.Request(f"{self.base}/api/v1{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if csrf:
            req.add_header("X-CSRF-Token", csrf)
        with self.opener.open(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def file_eto(self, order_no: str, customer: str) -> int:
        started = self.call("POST", "/process-instances", {"process_model_id": ETO})
        task = next(t for t in started["tasks"] if t["status"] == "open")
        self.call("POST", f"/tasks/{task['id']}/complete", {"data": {
            "order_no": order_no, "customer": customer, "material_from": "AC-7K-CABLE-5M 充电枪线 5 米",
            "material_to": "AC-7K-CABLE-8M 充电枪线 8 米", "quantity": 40, "reason": "客户希望加长枪线",
            "required_date": "2026-12-20", "urgency": "普通"}})
        return int(started["id"])


class Session:
    """One browser session; console errors and page errors are collected and must stay empty."""

    def __init__(self, browser: Any, base: str, artifacts: Path, viewport: dict[str, int], name: str) -> None:
        self.base, self.artifacts, self.name = base, artifacts, name
        phone = viewport["width"] < 768
        self.context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                           device_scale_factor=2 if phone else 1, is_mobile=phone, has_touch=phone,
                                           accept_downloads=True)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.watch = False
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", lambda m: self.watch and m.type == "error" and self.errors.append(m.text))

    def sign_in(self, username: str) -> None:
        page = self.page
        page.goto(f"{self.base}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill("demo")
        page.get_by_role("button", name="登录").click()
        # Auditors start on the audit page (the sign-in page's own 401 for GET /me is not ours).
        expect(page).to_have_url(re.compile(r"/audit$"))
        self.watch = True

    def shot(self, name: str, focus: Any = None) -> None:
        """Full page; or what the screen shows around `focus` (on a phone the fixed tab bar
        would otherwise be painted over the middle of a full-page capture)."""
        if focus is not None:
            focus.evaluate("e => e.scrollIntoView({block: 'start'})")
            self.page.evaluate("window.scrollBy(0, -72)")  # the sticky header
        self.page.screenshot(path=str(self.artifacts / f"audit-{self.name}-{name}.png"), full_page=focus is None)

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


def pick_option(page: Any, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.locator(f".ant-select-dropdown:visible .ant-select-item-option[title='{option}']").click()


def test_auditor_searches_exports_and_verifies(browser: Any, server: Server, artifacts: Path) -> None:
    # Requests to find: two in the East, one in the South (filed through the API).
    east = ApiClient(server.url, "east_ops")
    east_ids = [east.file_eto("ETO-2026-0701", "华东某储能电站"), east.file_eto("ETO-2026-0702", "华东某充电场站")]
    south_id = ApiClient(server.url, "south_ops").file_eto("ETO-2026-0703", "华南某物流园")
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()

    s = Session(browser, server.url, artifacts, DESKTOP, "desktop")
    page = s.page
    s.sign_in("auditor")
    page.get_by_role("heading", name="审计查询").wait_for()
    page.get_by_text("共 3 条申请").wait_for()
    s.shot("01-all")

    # --- search by region and creation date ----------------------------------------------------
    pick_option(page, "区域", "华东")
    page.get_by_placeholder("开始日期").click()
    page.get_by_placeholder("开始日期").fill(today)
    page.keyboard.press("Enter")
    page.get_by_placeholder("结束日期").fill(today)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="审计查询").click()  # leaving the picker keeps what was typed
    expect(page.locator(".ant-picker-dropdown:visible")).to_have_count(0)
    expect(page.get_by_placeholder("结束日期")).to_have_value(today)
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/audit\?region=EAST&from={today}&to={today}$"))
    page.get_by_text("共 2 条申请").wait_for()
    table = page.locator(".audit-table")
    for iid in east_ids:
        expect(table.get_by_role("link", name=f"#{iid}", exact=True)).to_be_visible()
    expect(table.get_by_role("link", name=f"#{south_id}", exact=True)).to_have_count(0)
    expect(table.get_by_text("ETO-2026-0701")).to_be_visible()  # key metadata: the order no.
    expect(table.get_by_role("link", name=re.compile("下载申请 #\\d+ 的签名记录"))).to_have_count(2)
    s.shot("02-east-today")

    # The search is the URL: back shows everything again, forward the search, the form follows.
    page.go_back()
    page.get_by_text("共 3 条申请").wait_for()
    page.go_forward()
    page.get_by_text("共 2 条申请").wait_for()
    expect(page.get_by_placeholder("开始日期")).to_have_value(today)

    # A day with nothing: said plainly.
    page.goto(f"{server.url}/audit?region=EAST&from=2020-01-01&to=2020-01-31")
    page.get_by_text("没有符合条件的申请").wait_for()
    expect(page.get_by_role("button", name=re.compile("导出 ZIP"))).to_be_disabled()
    # Keyboard: type an order number in 关键词 and press Enter.
    page.get_by_label("关键词").fill("ETO-2026-0702")
    page.get_by_label("关键词").press("Enter")
    page.get_by_text("共 0 条申请").wait_for()  # the dates still apply
    page.go_back()
    page.go_back()
    page.get_by_text("共 2 条申请").wait_for()

    # --- open a result -----------------------------------------------------------------------------
    table.get_by_role("link", name=f"#{east_ids[0]}", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/requests/{east_ids[0]}$"))
    page.get_by_text("ETO-2026-0701").first.wait_for()
    s.shot("03-request")
    page.go_back()
    page.get_by_text("共 2 条申请").wait_for()

    # --- export the search as a ZIP and follow it --------------------------------------------------
    page.get_by_role("button", name="导出 ZIP（2 份记录）").click()
    card = page.locator(".audit-export-card")
    card.get_by_text(re.compile(r"导出 #\d+")).wait_for()
    expect(card.get_by_text("排队中").first).to_be_visible()
    expect(card.get_by_text("区域 华东")).to_be_visible()
    s.shot("04-export-queued")
    export_id = int(re.search(r"#(\d+)", card.get_by_text(re.compile(r"导出 #\d+")).first.inner_text()).group(1))
    built = server.build_export(export_id)  # what the Celery worker would do
    assert built.status == "done" and built.total == 2
    download_button = card.get_by_role("link", name="下载 ZIP")
    download_button.wait_for()  # the page polled until done
    expect(card.get_by_text("已完成")).to_be_visible()
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    s.shot("05-export-done")
    with page.expect_download() as info:
        download_button.click()
    zip_path = artifacts / "audit-export.zip"
    info.value.save_as(zip_path)
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        assert {"manifest.csv", "ca.pem", "README.txt"} <= names
        assert {f"request-{i}-interim.pdf" for i in east_ids} <= names

    page.get_by_role("tab", name="我的导出").click()
    expect(page).to_have_url(re.compile(r"tab=exports"))
    row = page.locator(".audit-export-row").first
    row.get_by_text("已完成").wait_for()
    expect(row.get_by_role("link", name="按此条件查询")).to_be_visible()
    s.shot("06-my-exports")
    page.get_by_role("tab", name="查询").click()

    # --- download one record and verify it ---------------------------------------------------------
    with page.expect_download() as info:
        table.get_by_role("link", name=f"下载申请 #{east_ids[0]} 的签名记录 PDF").click()
    record = artifacts / f"audit-request-{east_ids[0]}.pdf"
    info.value.save_as(record)
    assert record.read_bytes().startswith(b"%PDF-")

    page.get_by_role("tab", name="验证记录").click()
    page.locator(".audit-verify input[type=file]").set_input_files(str(record))
    verdict = page.locator(".audit-verdict")
    verdict.get_by_text("记录有效").wait_for()
    for line in ("签名完整：签名后内容未被修改", "签发者可信", "可信时间戳", "长期验证：达到 PAdES B-LTA", "审计链一致",
                 "这是该申请的最新记录"):
        expect(verdict.get_by_text(line, exact=False).first).to_be_visible()
    expect(verdict.get_by_text("这是临时记录")).to_be_visible()
    expect(page.get_by_role("link", name="下载根证书 ca.pem")).to_have_attribute("href", "/api/v1/records/ca.pem")
    s.shot("07-verified")

    # A tampered copy fails, said readably.
    tampered = artifacts / "audit-tampered.pdf"
    data = bytearray(record.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    page.locator(".audit-verify input[type=file]").set_input_files(str(tampered))
    verdict.get_by_text("验证未通过").wait_for()
    s.shot("08-tampered")

    # English, switchable.
    page.get_by_role("button", name=re.compile("English")).click()
    page.get_by_role("heading", name="Audit search").wait_for()
    page.get_by_role("tab", name="Verify a record").wait_for()
    s.shot("09-english")
    page.get_by_role("button", name=re.compile("中文")).click()
    page.get_by_role("heading", name="审计查询").wait_for()
    s.close()


def test_audit_search_on_a_phone(browser: Any, server: Server, artifacts: Path) -> None:
    east = ApiClient(server.url, "east_ops")
    iid = east.file_eto("ETO-2026-0801", "华东某光伏电站")
    s = Session(browser, server.url, artifacts, PHONE, "phone")
    page = s.page
    s.sign_in("auditor")
    expect(page.locator(".bottom-tabs").get_by_role("link", name="审计")).to_be_visible()
    page.get_by_label("关键词").fill("ETO-2026-0801")
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page).to_have_url(re.compile(r"q=ETO-2026-0801"))
    cards = page.locator(".audit-cards > li")
    expect(cards).to_have_count(1)
    expect(page.locator("#audit-results-title")).to_be_in_viewport()  # the form no longer hides them
    expect(cards.first.get_by_text(f"#{iid}")).to_be_visible()
    expect(cards.first.get_by_role("link", name=f"下载申请 #{iid} 的签名记录 PDF")).to_be_visible()
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    s.shot("01-form")
    s.shot("02-results", focus=page.locator("#audit-results-title"))
    page.get_by_role("button", name=re.compile("更多条件")).click()
    page.get_by_role("combobox", name="经办人").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    s.shot("03-more-criteria", focus=page.get_by_role("button", name=re.compile("收起更多条件")))
    cards.first.get_by_role("link", name="查看申请").click()
    expect(page).to_have_url(re.compile(rf"/requests/{iid}$"))
    page.get_by_text("ETO-2026-0801").first.wait_for()
    s.close()
