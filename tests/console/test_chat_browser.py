"""In real Chromium on a phone-sized screen: a citizen asks the web chat, gets an answer, leaves a
letter with the buttons, and looks it up on the public status page; everyday questions in
citizens' own words find their entry."""

from __future__ import annotations

import asyncio
import re

import pytest

from accounts.demo import seed_demo_accounts
from knowledge.demo import seed_knowledge_demo
from knowledge.models import Entry
from letters.models import Letter
from tests.console.conftest import ARTIFACTS, TIMEOUT_MS
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
    await page.get_by_role("button", name="1. 投诉").click()
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


PHONE = {
    "locale": "zh-CN",
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}


async def _phone(browser, live_server):
    from playwright.async_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = await browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    return context, await context.new_page()


async def _ask(page, text: str) -> None:
    await page.get_by_label("您的问题").fill(text)
    await page.get_by_role("button", name="发送").click()


async def _settled(page) -> None:
    """The message in flight has been answered (the send button is usable again)."""
    from playwright.async_api import expect

    await expect(page.get_by_role("button", name="发送")).to_be_enabled()


async def test_the_transcript_and_the_draft_survive_a_reload_and_the_status_page(
    browser, live_server, deps
):
    from playwright.async_api import expect

    context, page = await _phone(browser, live_server)
    await page.goto("/chat")
    log = page.locator("#log")
    await expect(log).to_contain_text("智能问答服务")
    await page.get_by_role("button", name="我要留言").click()
    await expect(log).to_contain_text("请描述您要反映的问题")
    await _ask(page, "我家小区门口的路灯坏了三个月一直没人来修")
    await expect(log).to_contain_text("如需补充")
    await _settled(page)

    await page.reload()
    await expect(log).to_contain_text("我家小区门口的路灯坏了三个月一直没人来修")
    await expect(log).to_contain_text("如需补充")
    await _settled(page)
    await expect(page.locator("#log .msg", has_text="智能问答服务")).to_have_count(1)
    await _ask(page, "1")  # still the letter: its content is complete
    await expect(log).to_contain_text("请选择留言类型")
    await _settled(page)

    await page.get_by_role("link", name="查询留言进度").click()
    await expect(page.get_by_role("heading", name="留言办理进度查询")).to_be_visible()
    await page.get_by_role("link", name="返回智能问答").click()
    await expect(log).to_contain_text("请选择留言类型")
    await expect(log).to_contain_text("路灯坏了三个月")
    await _settled(page)
    await page.get_by_role("button", name="1. 投诉").last.click()
    await expect(log).to_contain_text("仅办理单位可见")
    await _settled(page)

    # The browser's back button (and its page cache) shows the same conversation.
    await page.get_by_role("link", name="查询留言进度").click()
    await page.go_back()
    await expect(log).to_contain_text("仅办理单位可见")
    await expect(log).to_contain_text("1. 投诉")

    # Another browser sees none of it.
    other, stranger = await _phone(browser, live_server)
    await stranger.goto("/chat")
    await expect(stranger.locator("#log")).to_contain_text("智能问答服务")
    await expect(stranger.locator("#log")).not_to_contain_text("路灯")
    await other.close()

    # The cookie lapses while the page stays open: the next message still gets its answer.
    await context.clear_cookies()
    await _ask(page, "帮助")
    await expect(log).to_contain_text("使用说明：")
    await expect(page.locator("#log .msg.error")).to_have_count(0)
    await context.close()


async def _in_view(page, selector: str) -> dict:
    """Where the element is against the visible area (the visual viewport)."""
    return await page.evaluate(
        """sel => {
          const r = [...document.querySelectorAll(sel)].pop().getBoundingClientRect();
          const log = document.getElementById('log').getBoundingClientRect();
          const vh = window.visualViewport ? window.visualViewport.height : innerHeight;
          return {top: r.top, bottom: r.bottom, vh, logTop: log.top, logBottom: log.bottom,
                  page: document.scrollingElement.scrollHeight};
        }""",
        selector,
    )


async def test_on_a_phone_the_input_stays_put_and_the_last_reply_shows(browser, live_server, deps):
    from playwright.async_api import expect

    await seed_knowledge_demo(deps.clock, deps.redis)
    context, page = await _phone(browser, live_server)
    await page.goto("/chat")
    log = page.locator("#log")
    await expect(log).to_contain_text("智能问答服务")
    for text in ["帮助", "外地人在清源怎么申领居住证", "2", "社保卡丢了怎么补办", "帮助", "留言"]:
        await _ask(page, text)
        await _settled(page)
    await _ask(page, "小区门口的路灯坏了三个月，晚上出门很不安全，希望尽快修好")
    await expect(log).to_contain_text("如需补充")
    await _settled(page)
    await _ask(page, "1")
    await expect(log).to_contain_text("请选择留言类型")
    await _settled(page)
    assert await page.locator("#log .msg.me").count() == 8

    box = await page.get_by_label("您的问题").bounding_box()
    assert box["y"] + box["height"] <= 844, box  # was at 1,116 px after five messages
    where = await _in_view(page, "#log .msg")
    assert where["page"] <= 844, where  # the page does not grow; the messages scroll
    assert where["logTop"] <= where["top"] and where["bottom"] <= where["logBottom"] + 1, where
    await expect(page.locator("#log .msg").last).to_be_in_viewport()
    await expect(page.get_by_role("heading", name="政务智能问答")).to_be_in_viewport()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "chat-phone-8-messages.png")

    # The on-screen keyboard takes the bottom of the screen: the input and the latest reply stay
    # in what is left.
    await page.get_by_label("您的问题").focus()
    await page.set_viewport_size({"width": 390, "height": 480})
    await page.wait_for_function(
        "() => document.getElementById('ask').getBoundingClientRect().bottom <= 480"
    )
    where = await _in_view(page, "#log .msg")
    assert where["bottom"] <= where["logBottom"] + 1 and where["logBottom"] <= 480, where
    await expect(page.get_by_label("您的问题")).to_be_in_viewport()
    await page.get_by_role("button", name="1. 投诉").last.click()
    await expect(log).to_contain_text("仅办理单位可见")
    await expect(page.locator("#log .msg").last).to_be_in_viewport()
    await page.screenshot(path=ARTIFACTS / "chat-phone-keyboard.png")
    await context.close()


async def test_a_double_tap_sends_one_message(browser, live_server, deps):
    from playwright.async_api import expect

    context, page = await _phone(browser, live_server)
    posts: list[str] = []

    async def slow(route):
        posts.append(route.request.post_data or "")
        await asyncio.sleep(0.8)  # a slow mobile network
        await route.continue_()

    await page.route("**/api/chat", slow)
    await page.goto("/chat")
    log = page.locator("#log")
    await expect(log).to_contain_text("智能问答服务")
    await _settled(page)
    send = page.get_by_role("button", name="发送")

    # In flight: the button is disabled and Enter sends nothing more.
    await _ask(page, "留言")
    await expect(send).to_be_disabled()
    await page.get_by_label("您的问题").fill("我家小区门口的路灯坏了三个月一直没人来修")
    await page.get_by_label("您的问题").press("Enter")
    await expect(log).to_contain_text("请描述您要反映的问题")
    await _settled(page)
    assert len(posts) == 2  # the welcome and 留言
    await expect(page.get_by_label("您的问题")).to_have_value(
        "我家小区门口的路灯坏了三个月一直没人来修"
    )
    await page.get_by_label("您的问题").press("Enter")
    await expect(log).to_contain_text("如需补充")
    await _settled(page)
    for text in ["1"]:
        await _ask(page, text)
        await _settled(page)
    await page.get_by_role("button", name="1. 投诉").last.click()
    await _settled(page)
    for text in ["跳过", "跳过"]:
        await _ask(page, text)
        await _settled(page)
    await expect(log).to_contain_text("请确认您的留言")

    before = len(posts)
    await page.get_by_role("button", name="1. 提交").last.dblclick()
    await expect(page.get_by_role("button", name="1. 提交").last).to_be_disabled()
    await expect(log).to_contain_text("留言已提交")
    await _settled(page)
    assert len(posts) == before + 1, posts[before:]
    await expect(page.locator("#log .msg", has_text="留言已提交")).to_have_count(1)
    assert await Letter.filter(channel="web").count() == 1
    await context.close()


async def test_a_reply_on_the_status_page_uses_the_phone_s_width(browser, live_server, deps):
    from playwright.async_api import expect

    from letters.codes import format_code
    from letters.intake import submit_letter
    from letters.replies import write_reply
    from letters.routing import accept_letter
    from org.access import Actor
    from org.auth import actor_for
    from org.models import Staff, Unit

    reply = (
        "您好！您咨询的问题答复如下：灵活就业人员可持本人身份证到市人社局二楼社保窗口办理职工"
        "养老保险参保登记，也可以在“清源人社”公众号上办理。如有疑问，可拨打本单位办事电话咨询。"
    )
    rsj = await Unit.get(code="QY-RSJ")
    submitted = await submit_letter(
        deps,
        Actor.system("智能问答"),
        {
            "channel": "web",
            "kind": "department",
            "unit_id": rsj.id,
            "content": "请问灵活就业人员怎样在本市参加职工养老保险？",
            "writer": {"mobile": "13800138000"},
        },
    )
    code = format_code(submitted.letter.code)
    context, page = await _phone(browser, live_server)
    await page.goto(f"/status/{code}")
    result = page.locator("#result")
    await expect(result).to_contain_text("待甄别")
    await expect(result).to_contain_text("预计 ")  # the date the chat promised

    handler = await actor_for(await Staff.get(username="handler").select_related("unit"))
    await accept_letter(deps, handler, submitted.letter.id, {})
    deps.settings.letter_review_kinds = ""
    await write_reply(deps, handler, submitted.letter.id, {"text": reply})
    await page.reload()
    shown = page.locator("#result .reply")
    await expect(shown).to_contain_text("市人社局二楼社保窗口")
    await expect(result).not_to_contain_text("预计")
    width = (await shown.bounding_box())["width"]
    assert width >= 330, width  # nearly the whole 390 px, not a column beside its label
    text = (await shown.locator("p").bounding_box())["width"]
    assert text >= 290, text
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "status-phone-reply.png", full_page=True)
    await context.close()
