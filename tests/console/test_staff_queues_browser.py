"""Issue 13 items 8, 9 and 12 in real Chromium, as the people would meet them: 人社局's handler
finds a letter by the tracking code a citizen reads out on the phone (lower case, no dash), the
unedited template is refused, the written reply goes to review; the reviewer is told by SMS, sees
it on the dashboard's to-do list and in 待审核的答复, and approves it."""

from __future__ import annotations

import re

import pytest

from letters.demo import seed_demo_letters
from letters.models import Letter
from tests.console.conftest import ARTIFACTS, flash, sms_login

pytestmark = pytest.mark.browser

REPLY = "您好！灵活就业人员可持身份证到市社保经办窗口登记参加职工养老保险，缴费基数自选。"


async def test_a_reply_found_by_code_written_reviewed_and_sent(new_page, sender, deps):
    from playwright.async_api import expect

    deps.settings.filing_final_unit_code = "QY-BGS"
    await seed_demo_letters(deps)
    letter = await Letter.get(title="灵活就业人员如何参加职工养老保险")
    assert letter.status == "handling"
    # The counts below are this letter's alone: the demo has no reply waiting for review.
    assert not await Letter.filter(status="reviewing").exists()

    handler = await new_page()
    await sms_login(handler, sender, "handler", "陈静")
    await handler.get_by_role("link", name="来信", exact=True).click()
    await handler.get_by_role("link", name="查找", exact=True).click()
    spoken = letter.code.lower()  # "7kq2m xp4rt", as read out on the phone
    await handler.get_by_label("跟踪码").fill(f"{spoken[:5]} {spoken[5:]}")
    await handler.get_by_role("button", name="查找").click()
    await handler.wait_for_url(re.compile(rf"/console/letters/{letter.id}$"))
    await expect(handler.get_by_role("heading", name=re.compile("灵活就业人员"))).to_be_visible()

    reply_box = handler.get_by_label("答复内容")
    await expect(reply_box).to_have_value(re.compile("【请在此填写具体答复】"))
    await handler.get_by_role("button", name="提交审核").click()
    await expect(flash(handler)).to_contain_text("答复仍是模板")
    await handler.get_by_label("答复内容").fill(REPLY)
    sender.sent.clear()
    await handler.get_by_role("button", name="提交审核").click()
    await expect(flash(handler)).to_contain_text("答复已提交审核")
    assert [to for to, _ in sender.sent] == ["13800000003"]  # 张志强, the unit's reviewer

    reviewer = await new_page()
    await sms_login(reviewer, sender, "reviewer", "张志强")
    todo = reviewer.locator("ul.todo")
    await expect(todo).to_contain_text("待审核的答复 1")
    await reviewer.screenshot(path=str(ARTIFACTS / "todo-reviewer.png"))
    await todo.get_by_role("link", name=re.compile("待审核的答复")).click()
    await expect(reviewer.get_by_role("heading", name="待审核的答复")).to_be_visible()
    await expect(reviewer.locator("nav.subnav")).to_contain_text("待审核答复 1")
    await reviewer.get_by_role("link", name=re.compile(f"#{letter.id} ")).click()
    await expect(reviewer.get_by_text(REPLY)).to_be_visible()
    await reviewer.get_by_role("button", name="审核通过并发送").click()
    await expect(flash(reviewer)).to_contain_text("答复已审核通过并发送给来信人")
    await reviewer.goto("/console/")
    await expect(reviewer.locator("ul.todo")).to_have_count(0)
    assert (await Letter.get(id=letter.id)).status == "replied"
