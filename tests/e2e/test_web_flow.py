"""The approval flow in a real browser, on a desktop and on a 375 px phone:
the requester files an ETO change order (a bad order number is flagged on its field, by the
browser and by the server), the planner finds it among the group's tasks and accepts it, and
the request's history shows both steps. Screenshots go to test-artifacts/e2e/."""
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
ORDER_NO = {"desktop": "ETO-2026-0101", "phone": "ETO-2026-0102"}
# Inbox tabs: full names on desktops, short ones on phones.
TABS = {
    "desktop": {"mine": "我的待办", "group": "待认领", "cc": "抄送我的", "started": "我发起的", "done": "我已办"},
    "phone": {"mine": "待办", "group": "认领", "cc": "抄送", "started": "我发起", "done": "已办"},
}


class Flow:
    """One person's browser session, with screenshots named after the viewport."""

    def __init__(self, browser: Any, base_url: str, viewport: str, artifacts: Path) -> None:
        self.viewport, self.base_url, self.artifacts = viewport, base_url, artifacts
        self.phone = viewport == "phone"
        self.context = browser.new_context(
            viewport=VIEWPORTS[viewport], locale="zh-CN", timezone_id="Asia/Shanghai",
            device_scale_factor=2 if self.phone else 1, is_mobile=self.phone, has_touch=self.phone,
        )
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def shot(self, name: str, focus: Any = None) -> None:
        """Full page; on a phone, what the screen shows around `focus` (a sticky submit bar
        would otherwise be painted over the middle of a full-page capture)."""
        if focus is not None and self.phone:
            focus.scroll_into_view_if_needed()
            self.page.evaluate("window.scrollBy(0, -120)")
        self.page.screenshot(path=str(self.artifacts / f"{self.viewport}-{name}.png"), full_page=focus is None or not self.phone)

    def sign_in(self, username: str) -> None:
        page = self.page
        page.goto(f"{self.base_url}/inbox")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill("demo")
        page.get_by_role("button", name="登录").click()
        expect(page).to_have_url(re.compile(r"/inbox"))
        self.tab("mine").wait_for()

    def tab(self, key: str) -> Any:
        return self.page.get_by_role("tab", name=re.compile(f"^{TABS[self.viewport][key]}"))

    def sign_out(self) -> None:
        page = self.page
        if self.phone:
            page.get_by_role("link", name="我的").click()
            page.get_by_role("button", name="退出登录").click()
        else:
            page.get_by_role("button", name="用户菜单").click()
            page.get_by_role("menuitem", name="退出登录").click()
        page.get_by_role("button", name="登录").wait_for()

    def field_error(self, field_id: str) -> Any:
        return self.page.locator(f"#{field_id}__error")

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_file_triage_and_history(browser: Any, base_url: str, artifacts: Path, viewport: str) -> None:
    order_no = ORDER_NO[viewport]

    # --- the requester files an ETO change order ------------------------------------------
    ops = Flow(browser, base_url, viewport, artifacts)
    page = ops.page
    ops.sign_in("east_ops")
    ops.shot("01-inbox-requester")
    page.get_by_role("link", name="发起" if ops.phone else "发起申请", exact=True).click()
    page.get_by_role("button", name=re.compile("发起: ETO 定制订单需求置换")).click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    page.get_by_label("订单号").wait_for()
    ops.shot("02-request-form")

    page.get_by_label("订单号").fill("ETO-26-1")
    page.get_by_label("客户").fill("宁德某电池厂")
    page.get_by_label("原物料 / 产品（置换前）").fill("A-100 电芯")
    page.get_by_label("新物料 / 产品（置换后）").fill("B-200 电芯")
    page.get_by_label("数量").fill("5")
    page.get_by_label("需求日期").click()
    page.get_by_label("需求日期").fill("2026-12-30")
    page.keyboard.press("Enter")
    page.get_by_label("置换原因").fill("客户变更电芯型号")
    page.get_by_role("button", name="提交").click()

    # The browser catches the bad order number, in the server's own words, on the field.
    error = ops.field_error("root_order_no")
    error.wait_for()
    assert error.inner_text().strip() == "订单号格式不正确"
    assert page.get_by_role("alert").filter(has_text="请修正以下").count() == 1
    ops.shot("03-client-error", focus=page.get_by_label("订单号"))

    # The server's 422 lands on the same field: tamper with the request in transit once.
    page.get_by_label("订单号").fill(order_no)
    expect(ops.field_error("root_order_no")).to_have_count(0)

    def bad_order_no(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        body["data"]["order_no"] = "ETO-BAD"
        route.continue_(post_data=json.dumps(body))

    page.route("**/api/v1/tasks/*/complete", bad_order_no)
    page.get_by_role("button", name="提交").click()
    error.wait_for()
    assert error.inner_text().strip() == "订单号格式不正确"
    page.get_by_text("提交未通过校验").wait_for()
    ops.shot("04-server-error", focus=page.get_by_label("订单号"))
    page.unroute("**/api/v1/tasks/*/complete")

    page.get_by_role("button", name="提交").click()
    expect(page).to_have_url(re.compile(r"/inbox"))
    page.get_by_text("已提交：提交需求置换申请").wait_for()
    ops.tab("started").click()
    page.get_by_text(order_no).first.wait_for()
    ops.shot("05-started-by-me")
    ops.sign_out()
    ops.close()

    # --- the planner accepts it from the group's tasks ------------------------------------
    planner = Flow(browser, base_url, viewport, artifacts)
    page = planner.page
    planner.sign_in("east_planner")
    planner.tab("group").click()
    row = page.get_by_role("link", name=re.compile("计划员分诊")).filter(has_text=order_no) if planner.phone else (
        page.get_by_role("row").filter(has_text=order_no).get_by_role("link", name="计划员分诊"))
    row.wait_for()
    planner.shot("06-group-inbox")
    row.click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    page.get_by_text("请判断").wait_for()  # the Markdown instructions
    page.get_by_role("radio", name="接受，进入影响评估").check()
    planner.shot("07-triage-form", focus=page.get_by_role("radio", name="接受，进入影响评估"))
    # The same task open in a second tab (or a colleague's phone): whoever submits second is told.
    other = planner.context.new_page()
    other.goto(page.url)
    other.get_by_role("radio", name="接受，进入影响评估").check()
    page.get_by_role("button", name="提交").click()
    expect(page).to_have_url(re.compile(r"/inbox"))
    page.get_by_text("已提交：计划员分诊").wait_for()
    other.get_by_role("button", name="提交").click()
    other.get_by_role("alert").filter(has_text="已被他人处理").wait_for()
    expect(other.get_by_role("button", name="提交")).to_have_count(0)  # no dead button left
    other.screenshot(path=str(artifacts / f"{viewport}-07b-already-handled.png"))
    other.close()

    # --- the request's history shows both steps --------------------------------------------
    planner.tab("done").click()
    done = page.get_by_role("link", name=re.compile("计划员分诊")).filter(has_text=order_no) if planner.phone else (
        page.get_by_role("row").filter(has_text=order_no).get_by_role("link", name="计划员分诊"))
    done.click()
    page.get_by_role("link", name="查看申请详情").click()
    expect(page).to_have_url(re.compile(r"/requests/\d+$"))
    history = page.locator(".timeline-card")
    history.get_by_text("「提交需求置换申请」").wait_for()
    history.get_by_text("「计划员分诊」").wait_for()
    # Wait for the lines to render (the history streams in after the page): same assertions.
    expect(history.get_by_text("east_ops", exact=True).first).to_be_visible()
    expect(history.get_by_text("east_planner", exact=True)).to_have_count(1)
    expect(history.locator(".ant-tag", has_text="接受，进入影响评估")).to_have_count(1)  # the decision, on the line
    page.locator(".bpmn-canvas svg").first.wait_for()
    planner.shot("08-request-history")
    planner.close()


def test_requester_withdraws_a_request(browser: Any, base_url: str, artifacts: Path) -> None:
    ops = Flow(browser, base_url, "desktop", artifacts)
    page = ops.page
    ops.sign_in("east_ops")
    page.get_by_role("link", name="发起申请", exact=True).click()
    page.get_by_role("button", name=re.compile("发起: ETO 定制订单需求置换")).click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    page.get_by_role("link", name="查看申请详情").click()
    expect(page).to_have_url(re.compile(r"/requests/\d+$"))
    page.get_by_role("button", name="撤回申请").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("撤回原因").fill("客户取消变更")
    dialog.get_by_role("button", name="确认撤回").click()
    page.get_by_text("申请已撤回").wait_for()
    expect(page.locator(".page-header").get_by_text("已撤回")).to_have_count(1)
    expect(page.get_by_role("button", name="撤回申请")).to_have_count(0)
    history = page.locator(".timeline-card")
    history.get_by_text("撤回申请").wait_for()
    history.get_by_text("原因: 客户取消变更").wait_for()
    ops.shot("09-withdrawn")
    ops.close()
