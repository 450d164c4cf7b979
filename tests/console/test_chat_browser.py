"""In real Chromium on a phone-sized screen: a citizen asks the web chat, gets an answer, leaves a
letter with the buttons, and looks it up on the public status page; everyday questions in
citizens' own words find their entry."""

from __future__ import annotations

import re

import pytest

from accounts.demo import seed_demo_accounts
from knowledge.demo import seed_knowledge_demo
from knowledge.models import Entry
from tests.console.conftest import ARTIFACTS
from tests.knowledge.test_demo_questions import CITIZENS_ASK

pytestmark = pytest.mark.browser


async def test_citizen_asks_leaves_a_letter_and_checks_it(browser, live_server, deps):
    from playwright.async_api import expect

    await seed_demo_accounts(deps)
    await seed_knowledge_demo(deps.clock, deps.redis)
    context = await browser.new_context(
        base_url=live_server,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = await context.new_page()
    await page.goto("/chat")
    log = page.locator("#log")
    await expect(log).to_contain_text("智能问答服务")  # the welcome

    async def ask(text: str) -> None:
        await page.get_by_label("您的问题").fill(text)
        await page.get_by_role("button", name="发送").click()

    await ask("外地人在清源怎么申领居住证")
    await expect(log).to_contain_text("派出所")
    await page.get_by_role("button", name="1. 已解决").click()
    await expect(log).to_contain_text("感谢您的反馈")

    await ask("我家小区门口的路灯坏了三个月一直没人来修")
    await page.get_by_role("button", name=re.compile(r"^[01]\. 我要留言$")).click()
    await expect(log).to_contain_text("如需补充")
    await ask("灯杆在3号楼东侧")
    await expect(log).to_contain_text("已补充")
    await ask("1")
    await page.get_by_role("button", name="1. 咨询").click()
    await expect(log).to_contain_text("仅办理单位可见")
    await ask("跳过")
    await ask("13800138000")
    await expect(log).to_contain_text("138****8000")
    await page.get_by_role("button", name="1. 提交").click()
    await expect(log).to_contain_text("留言已提交")
    code = re.search(r"跟踪码：(\S+)", await log.inner_text()).group(1)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "chat-letter.png", full_page=True)

    await page.get_by_role("link", name="查询留言进度").click()
    await page.get_by_label("跟踪码").fill(code)
    await page.get_by_role("button", name="查询").click()
    result = page.locator("#result")
    await expect(result).to_contain_text("待甄别")
    await expect(result).to_contain_text(code)
    assert "13800138000" not in await result.inner_text()
    await page.get_by_label("跟踪码").fill("ABCD-EFGH")
    await page.get_by_role("button", name="查询").click()
    await expect(result.locator(".error")).to_be_visible()
    await context.close()


async def test_everyday_questions_find_their_entry(browser, live_server, deps):
    """Each question gets an answer or a list (suggestions, 相关问题) holding the right entry:
    its standard question shows in the reply. None of them is stored word for word."""
    from playwright.async_api import expect

    await seed_demo_accounts(deps)
    await seed_knowledge_demo(deps.clock, deps.redis)
    context = await browser.new_context(
        base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844}
    )
    page = await context.new_page()
    await page.goto("/chat")
    messages = page.locator("#log .msg")
    await expect(messages.first).to_contain_text("智能问答服务")

    missed = []
    for question, external_id in CITIZENS_ASK:
        standard = (await Entry.get(external_id=external_id)).live["question"]
        before = await messages.count()
        await page.get_by_label("您的问题").fill(question)
        await page.get_by_role("button", name="发送").click()
        # My message, then the bot's replies (all of one answer arrive together).
        await page.wait_for_function(
            "n => document.querySelectorAll('#log .msg').length > n", arg=before + 1
        )
        reply = "\n".join((await messages.all_inner_texts())[before + 1 :])
        if standard not in reply:
            missed.append((question, standard, reply))
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "chat-everyday.png", full_page=True)
    await context.close()
    assert missed == []
