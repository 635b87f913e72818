"""Approval actions in a real browser (docs/task-actions.md), each on a desktop and on a 375 px
phone: send back and resubmit, transfer, CC (read-only for the CC'd person), add an approver
before me, a comment with an uploaded attachment, and batch approval from the inbox.

Requests are filed through the API (the filing form has its own test in test_web_flow.py); every
action under test is done by clicking. Screenshots go to test-artifacts/e2e/actions-*.png."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

expect = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright; never `playwright install`)"
).expect

pytestmark = pytest.mark.slow

VIEWPORTS = {
    "desktop": {"width": 1280, "height": 860},
    "phone": {"width": 375, "height": 812},
}
TABS = {
    "desktop": {"mine": "我的待办", "group": "待认领", "cc": "抄送我的", "started": "我发起的", "done": "我已办"},
    "phone": {"mine": "待办", "group": "认领", "cc": "抄送", "started": "我发起", "done": "已办"},
}
# One order number per test and viewport: the tests share one server and one database.
ORDERS = {
    ("send_back", "desktop"): "ETO-2026-0201", ("send_back", "phone"): "ETO-2026-0202",
    ("transfer", "desktop"): "ETO-2026-0211", ("transfer", "phone"): "ETO-2026-0212",
    ("cc", "desktop"): "ETO-2026-0221", ("cc", "phone"): "ETO-2026-0222",
    ("add_before", "desktop"): "ETO-2026-0231", ("add_before", "phone"): "ETO-2026-0232",
    ("comment", "desktop"): "ETO-2026-0241", ("comment", "phone"): "ETO-2026-0242",
    ("batch", "desktop"): "ETO-2026-0251", ("batch", "phone"): "ETO-2026-0253",
}
# A minimal PDF: the server recognises the type from these bytes.
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


class User:
    """One person's browser session, with screenshots named after the test and viewport."""

    def __init__(self, browser: Any, base_url: str, viewport: str, artifacts: Path, username: str, test: str) -> None:
        self.viewport, self.base_url, self.artifacts, self.test = viewport, base_url, artifacts, test
        self.phone = viewport == "phone"
        self.context = browser.new_context(
            viewport=VIEWPORTS[viewport], locale="zh-CN", timezone_id="Asia/Shanghai",
            device_scale_factor=2 if self.phone else 1, is_mobile=self.phone, has_touch=self.phone,
        )
        # Generous: the machine running these is often shared and busy.
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        page = self.page
        page.goto(f"{base_url}/inbox")
        page.get_by_label("用户名").fill(username, timeout=60_000)
        page.get_by_label("密码").fill("demo")
        page.get_by_role("button", name="登录").click()
        expect(page).to_have_url(re.compile(r"/inbox"))
        self.tab("mine").wait_for()

    # ---- API, for setting the scene -----------------------------------------------------
    def api(self, method: str, path: str, body: Any = None) -> Any:
        csrf = next((c["value"] for c in self.context.cookies() if c["name"] == "csrf_token"), "")
        r = self.page.request.fetch(
            f"{self.base_url}/api/v1{path}", method=method,
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
            data=json.dumps(body) if body is not None else None,
        )
        assert r.ok, f"{method} {path}: {r.status} {r.text()}"
        return r.json() if r.status != 204 else None

    def file_eto(self, order_no: str, customer: str = "宁德某电池厂") -> int:
        """Files an ETO change order (as its requester) and returns the request's id."""
        inst = self.api("POST", "/process-instances", {"process_model_id": "eto:eto-change-order"})
        first = next(t for t in inst["tasks"] if t["status"] == "open")
        self.api("POST", f"/tasks/{first['id']}/complete", {"data": {
            "order_no": order_no, "customer": customer, "material_from": "A-100 电芯", "material_to": "B-200 电芯",
            "quantity": 5, "reason": "客户变更电芯型号", "required_date": "2026-12-30", "urgency": "普通",
        }})
        return int(inst["id"])

    def open_task(self, instance_id: int, name: str) -> dict[str, Any]:
        tasks = self.api("GET", f"/tasks?scope=all&status=open&process_instance_id={instance_id}")["items"]
        return next(t for t in tasks if t["name"] == name)

    # ---- UI ---------------------------------------------------------------------------------
    def tab(self, key: str) -> Any:
        return self.page.get_by_role("tab", name=re.compile(f"^{TABS[self.viewport][key]}"))

    def inbox(self, key: str) -> None:
        self.page.goto(f"{self.base_url}/inbox")
        self.tab(key).click()
        expect(self.tab(key)).to_have_attribute("aria-selected", "true")

    def item(self, order_no: str) -> Any:
        """The inbox entry (card on phones, table row on desktops) of a request."""
        if self.phone:
            return self.page.locator(".card-list > li").filter(has_text=order_no)
        return self.page.get_by_role("row").filter(has_text=order_no)

    def action(self, name: str) -> None:
        """A button of the task page's action bar."""
        self.page.get_by_role("group", name="更多操作").get_by_role("button", name=name).click()

    def pick_person(self, dialog: Any, label: str, username: str) -> None:
        """Types into a directory picker and chooses the person; the list then closes."""
        box = dialog.get_by_label(label)
        box.click()
        box.fill(username)
        self.page.locator(".ant-select-item-option").filter(has_text=f"（{username}）").click()
        dialog.locator(".ant-modal-title").click()  # close a multiple picker's list (Escape would close the dialog)
        expect(dialog.locator(".ant-select-selection-item").filter(has_text=username)).to_have_count(1)

    def shot(self, name: str, focus: Any = None) -> None:
        if focus is not None and self.phone:
            focus.scroll_into_view_if_needed()
            self.page.evaluate("window.scrollBy(0, -120)")
        self.page.screenshot(path=str(self.artifacts / f"actions-{self.test}-{self.viewport}-{name}.png"),
                             full_page=focus is None or not self.phone)

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_send_back_and_resubmit(browser: Any, base_url: str, artifacts: Path, viewport: str) -> None:
    order_no = ORDERS[("send_back", viewport)]
    ops = User(browser, base_url, viewport, artifacts, "east_ops", "send-back")
    instance_id = ops.file_eto(order_no)

    planner = User(browser, base_url, viewport, artifacts, "east_planner", "send-back")
    page = planner.page
    triage = planner.open_task(instance_id, "计划员分诊")
    page.goto(f"{base_url}/tasks/{triage['id']}")
    planner.action("退回")
    dialog = page.get_by_role("dialog", name="退回到之前的环节")
    expect(dialog.get_by_role("radio", name=re.compile("提交需求置换申请"))).to_be_checked()  # the nearest step
    dialog.get_by_role("button", name="确认退回").click()
    expect(dialog.get_by_text("请填写退回原因")).to_be_visible()  # the reason is required
    dialog.get_by_label("退回原因").fill("缺少客户确认邮件，请补充后重新提交")
    planner.shot("01-dialog")
    dialog.get_by_role("button", name="确认退回").click()
    expect(page).to_have_url(re.compile(r"/inbox"))
    page.get_by_text("已退回至「提交需求置换申请」").wait_for()

    # The sender's done tab says how the task ended.
    planner.tab("done").click()
    done = planner.item(order_no)
    expect(done.get_by_text("已退回")).to_be_visible()
    planner.shot("02-done-tab")

    # The requester finds the step again, prefilled, with the reason in the history.
    page = ops.page
    ops.inbox("mine")
    entry = ops.item(order_no).get_by_role("link", name=re.compile("提交需求置换申请"))
    entry.click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    expect(page.get_by_label("订单号")).to_have_value(order_no)
    history = page.locator(".timeline-card")
    history.get_by_text("缺少客户确认邮件，请补充后重新提交").wait_for()
    expect(history.get_by_text("至「提交需求置换申请」")).to_be_visible()
    ops.shot("03-resubmit", focus=history.get_by_text("至「提交需求置换申请」"))
    page.get_by_label("置换原因").fill("客户变更电芯型号（已附客户确认邮件）")
    page.get_by_role("button", name="提交").click()
    expect(page).to_have_url(re.compile(r"/inbox"))

    # ... and the planner has it to triage again.
    planner.inbox("group")
    expect(planner.item(order_no).get_by_role("link", name=re.compile("计划员分诊"))).to_be_visible()
    ops.close()
    planner.close()


def test_transfer(browser: Any, base_url: str, artifacts: Path, viewport: str) -> None:
    order_no = ORDERS[("transfer", viewport)]
    ops = User(browser, base_url, viewport, artifacts, "east_ops", "transfer")
    instance_id = ops.file_eto(order_no)
    ops.close()

    planner = User(browser, base_url, viewport, artifacts, "east_planner", "transfer")
    page = planner.page
    page.goto(f"{base_url}/tasks/{planner.open_task(instance_id, '计划员分诊')['id']}")
    planner.action("转交")
    dialog = page.get_by_role("dialog", name="转交任务")
    planner.pick_person(dialog, "转交给", "east_manager")
    dialog.get_by_label("附言（可选）").fill("我出差，请代为分诊")
    planner.shot("01-dialog")
    dialog.get_by_role("button", name="确认转交").click()
    expect(page).to_have_url(re.compile(r"/inbox"))
    page.get_by_text("已转交给 east_manager").wait_for()
    planner.close()

    manager = User(browser, base_url, viewport, artifacts, "east_manager", "transfer")
    page = manager.page
    entry = manager.item(order_no)
    expect(entry.locator(".unread-dot")).to_have_count(1)  # new to them: marked unread
    manager.shot("02-new-owner-inbox")
    entry.get_by_role("link", name=re.compile("计划员分诊")).click()
    history = page.locator(".timeline-card")
    history.get_by_text("east_planner → east_manager").wait_for()
    history.get_by_text("我出差，请代为分诊").wait_for()
    expect(page.get_by_role("button", name="提交")).to_be_visible()  # theirs to decide now
    manager.shot("03-task", focus=history.get_by_text("east_planner → east_manager"))
    manager.close()


def test_cc_is_read_only_for_the_cc_d(browser: Any, base_url: str, artifacts: Path, viewport: str) -> None:
    order_no = ORDERS[("cc", viewport)]
    ops = User(browser, base_url, viewport, artifacts, "east_ops", "cc")
    instance_id = ops.file_eto(order_no)
    page = ops.page
    page.goto(f"{base_url}/requests/{instance_id}")
    # 催办 first: once per task per 30 minutes, and a second try says how long to wait.
    page.get_by_role("button", name="催办", exact=True).click()
    urge = page.get_by_role("dialog", name="催办")
    urge.get_by_label("附言（可选）").fill("客户在等，请今天处理")
    urge.get_by_role("button", name="确认催办").click()
    page.get_by_text("已催办", exact=True).wait_for()
    expect(urge).to_have_count(0)
    page.get_by_role("button", name="催办", exact=True).click()
    urge.get_by_role("button", name="确认催办").click()
    expect(urge.get_by_role("alert")).to_contain_text(re.compile(r"已催办，请 \d+ 分钟后再试"))
    ops.shot("00-urge-too-soon")
    urge.get_by_role("button", name="取消").click()
    page.get_by_role("button", name="抄送", exact=True).click()
    dialog = page.get_by_role("dialog", name="抄送")
    ops.pick_person(dialog, "抄送给", "east_finance")
    dialog.get_by_label("附言（可选）").fill("请财务知悉成本影响")
    ops.shot("01-dialog")
    dialog.get_by_role("button", name="确认抄送").click()
    page.get_by_text("已抄送 1 人").wait_for()
    history = page.locator(".timeline-card")
    history.get_by_text("east_finance").wait_for()
    ops.close()

    finance = User(browser, base_url, viewport, artifacts, "east_finance", "cc")
    page = finance.page
    expect(finance.tab("cc")).to_contain_text(re.compile(r"\d"))  # an unread count on the tab
    finance.tab("cc").click()
    entry = finance.item(order_no)
    expect(entry.locator(".unread-dot")).to_have_count(1)
    expect(entry.get_by_text("请财务知悉成本影响")).to_be_visible()
    finance.shot("02-cc-tab")
    entry.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/requests/{instance_id}$"))
    page.locator(".timeline-card").get_by_text("请财务知悉成本影响").wait_for()
    # Read-only: nothing to withdraw, urge or CC, no task of theirs.
    for name in ("撤回申请", "催办", "抄送", "提交"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    finance.shot("03-request-read-only")
    # Opening it marked it read.
    finance.inbox("cc")
    expect(finance.item(order_no).locator(".unread-dot")).to_have_count(0)
    finance.close()


def test_add_approver_before(browser: Any, base_url: str, artifacts: Path, viewport: str) -> None:
    order_no = ORDERS[("add_before", viewport)]
    ops = User(browser, base_url, viewport, artifacts, "east_ops", "add-approver")
    instance_id = ops.file_eto(order_no)
    ops.close()

    planner = User(browser, base_url, viewport, artifacts, "east_planner", "add-approver")
    page = planner.page
    task_url = f"{base_url}/tasks/{planner.open_task(instance_id, '计划员分诊')['id']}"
    page.goto(task_url)
    planner.action("加签")
    dialog = page.get_by_role("dialog", name="加签")
    planner.pick_person(dialog, "加签人", "east_quality")
    expect(dialog.get_by_role("radio", name=re.compile("前加签"))).to_be_checked()
    dialog.get_by_label("附言（可选）").fill("请质量评估风险")
    planner.shot("01-dialog")
    dialog.get_by_role("button", name="确认加签").click()
    page.get_by_text("等待加签人意见").wait_for()
    expect(page.locator(".added-list")).to_contain_text("east_quality")
    expect(page.get_by_role("button", name="提交")).to_have_count(0)  # on hold: nothing to submit
    planner.shot("02-on-hold")

    quality = User(browser, base_url, viewport, artifacts, "east_quality", "add-approver")
    page = quality.page
    quality.item(order_no).get_by_role("link", name=re.compile("计划员分诊")).click()
    page.get_by_text(re.compile(r"（east_planner） 请你发表意见")).wait_for()  # display name, then the username
    page.get_by_role("radio", name="同意", exact=True).check()
    quality.shot("03-opinion-form", focus=page.get_by_role("radio", name="同意", exact=True))
    page.get_by_role("button", name="提交").click()
    expect(page).to_have_url(re.compile(r"/inbox"))
    quality.close()

    # Back to the planner, with the opinion in the history.
    page = planner.page
    page.goto(task_url)
    expect(page.get_by_role("button", name="提交")).to_be_visible()
    history = page.locator(".timeline-card")
    answer = history.locator(".ant-tag").get_by_text("同意", exact=True)
    expect(answer).to_have_count(1)
    planner.shot("04-open-again", focus=answer)
    planner.close()


def test_comment_with_attachment(
    browser: Any, base_url: str, artifacts: Path, viewport: str, tmp_path: Path
) -> None:
    order_no = ORDERS[("comment", viewport)]
    pdf = tmp_path / "客户确认邮件.pdf"
    pdf.write_bytes(PDF)
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ" + b"\0" * 64)

    ops = User(browser, base_url, viewport, artifacts, "east_ops", "comment")
    instance_id = ops.file_eto(order_no)
    page = ops.page
    page.goto(f"{base_url}/requests/{instance_id}")
    box = page.locator(".comment-box")
    files = box.locator("input[type=file]")
    # Checked before uploading: a refused type never leaves the phone.
    uploads: list[str] = []
    page.on("request", lambda r: r.url.endswith("/api/v1/attachments") and uploads.append(r.url))
    files.set_input_files(str(exe))
    page.get_by_text("「tool.exe」的文件类型不支持").wait_for()
    assert uploads == []

    box.get_by_label("写评论").fill("客户确认邮件见附件，请查收")
    files.set_input_files(str(pdf))
    link = box.get_by_role("link", name="下载 客户确认邮件.pdf")
    link.wait_for()
    expect(box.locator(".attachment-hash")).to_contain_text("sha256:")
    ops.shot("01-uploaded", focus=box)
    box.get_by_role("button", name="发表评论").click()
    page.get_by_text("评论已发表").wait_for()

    comments = page.locator(".comment-list")
    comments.get_by_text("客户确认邮件见附件，请查收").wait_for()
    download = comments.get_by_role("link", name="下载 客户确认邮件.pdf")
    href = download.get_attribute("href") or ""
    assert re.fullmatch(r"/api/v1/attachments/[0-9a-f]{64}", href), href
    assert page.request.get(f"{base_url}{href}").body() == PDF  # the very bytes, downloadable
    history = page.locator(".timeline-card")
    history.get_by_text("客户确认邮件见附件，请查收").wait_for()
    expect(history.get_by_role("link", name="下载 客户确认邮件.pdf")).to_be_visible()
    ops.shot("02-comment-posted", focus=comments)
    ops.close()


def test_batch_approve(browser: Any, base_url: str, artifacts: Path, viewport: str) -> None:
    first = ORDERS[("batch", viewport)]
    second = first[:-1] + str(int(first[-1]) + 1)
    customer = f"批量测试客户-{viewport}"
    ops = User(browser, base_url, viewport, artifacts, "east_ops", "batch")
    ops.file_eto(first, customer)
    ops.file_eto(second, customer)
    ops.close()

    planner = User(browser, base_url, viewport, artifacts, "east_planner", "batch")
    page = planner.page
    page.goto(f"{base_url}/inbox?tab=group&q={customer}")
    for order_no in (first, second):
        planner.item(order_no).get_by_role("checkbox").check()
    bar = page.get_by_role("region", name="批量同意")
    expect(bar.get_by_text("已选 2 项")).to_be_visible()
    planner.shot("01-selected")
    bar.get_by_role("button", name=re.compile("批量同意")).click()
    dialog = page.get_by_role("dialog", name="同意以下 2 项任务？")
    dialog.get_by_role("button", name="确认同意").click()
    result = page.get_by_role("dialog", name="批量同意结果")
    expect(result.get_by_text("成功 2 项，失败 0 项")).to_be_visible()
    planner.shot("02-result")
    result.get_by_role("button", name="知道了").click()
    expect(planner.item(first)).to_have_count(0)
    expect(planner.item(second)).to_have_count(0)
    # Both moved on: the planner's done tab has them.
    planner.tab("done").click()
    expect(planner.item(first)).to_have_count(1)
    planner.close()
