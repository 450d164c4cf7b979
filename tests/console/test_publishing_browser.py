"""Issue 14 in real Chromium: an editor turns a repost task into a draft and submits it, a
reviewer approves it, the editor schedules it; the worker publishes it to a Telegram channel (a
local fake of the Bot API); the draft page shows it published with its t.me link, the account's
page lists the post and the schedule calendar shows it. The pages fit a phone's width."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from adapters.publishing import PublishEnv, make_publishers
from infra.crypto import encrypt_json
from org.models import Unit
from publishing import runner
from publishing.models import Draft, RepostTask, Source
from publishing.port import set_publishers
from tests.accounts.conftest import make_account
from tests.adapters.test_publishers import FakeChannel
from tests.console.conftest import ARTIFACTS, flash, sms_login

pytestmark = pytest.mark.browser

TG_TOKEN = "123456:PUBLISH-token"
TITLE = "国务院办公厅关于进一步优化社保经办服务的通知"
LEAD = "事关每位参保人，请转告身边的人。"
BODY = "通知全文如下。\n\n**一、优化经办流程**：减少证明材料。"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def fake_tg():
    fake = await FakeChannel().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def wired(live_server, deps, clock, fake_tg):
    """The app's publishers speak to the fake Bot API; the 人社局 has a Telegram channel, a
    whitelisted source and an urgent repost task from it."""
    env = PublishEnv(
        redis=deps.redis, telegram_api_base=fake_tg.base, poll_interval=0.01, backoff=0.01
    )
    set_publishers(deps, make_publishers(env))
    unit = await Unit.get(code="QY-RSJ")
    channel = await make_account(unit, "telegram", "清源人社频道", clock)
    channel.handle = "@qingyuan_fabu"
    channel.credentials = encrypt_json(deps.settings, {"bot_token": TG_TOKEN, "channel": ""})
    await channel.save()
    source = await Source.create(
        name="中国政府网",
        home_url="https://www.gov.cn/",
        level="central",
        urgent=True,
        created_at=clock.now(),
    )
    task = await RepostTask.create(
        source=source,
        unit=unit,
        item_id="gov-1",
        title=TITLE,
        link="https://www.gov.cn/zhengce/content/1.htm",
        published_at=clock.now() - dt.timedelta(hours=2),
        urgent=True,
        due_at=clock.now() + dt.timedelta(hours=10),
        created_at=clock.now(),
    )
    yield channel, task
    await env.aclose()


async def test_a_repost_from_its_task_to_the_channel(new_page, sender, deps, clock, wired, fake_tg):
    from playwright.async_api import expect

    channel, task = wired
    editor = await new_page()
    await sms_login(editor, sender, "editor", "李晓梅")
    await expect(editor.locator("ul.todo")).to_contain_text("待转载的任务 1")
    await editor.locator("#main-nav").get_by_role("link", name="转载任务").click()
    row = editor.locator("table.tasks tr", has_text=TITLE)
    await expect(row).to_contain_text("剩余 10小时0分")
    await row.get_by_role("link", name="转载", exact=True).click()

    # The editor: the task's title, source and link fixed; the channel chosen, text written.
    await expect(editor.get_by_role("heading", name=f"转载：{TITLE}")).to_be_visible()
    title = editor.locator("input[name=title]")
    await expect(title).to_have_value(TITLE)
    await expect(title).to_have_attribute("readonly", "")
    await editor.get_by_role("checkbox", name=re.compile("清源人社频道")).check()
    await editor.locator("textarea[name=lead]").fill(LEAD)
    await editor.locator("textarea[name=body]").fill(BODY)
    await editor.get_by_role("button", name="预览").click()
    preview = editor.locator(".draft-preview")
    await expect(preview.locator("strong", has_text="一、优化经办流程")).to_be_visible()
    await expect(preview).to_contain_text("来源：中国政府网")
    await expect(editor.get_by_role("checkbox", name=re.compile("清源人社频道"))).to_be_checked()
    await editor.get_by_role("button", name="保存", exact=True).click()
    await expect(flash(editor)).to_contain_text(f"已保存稿件「{TITLE}」")
    await editor.get_by_role("button", name="提交审核").click()
    await expect(flash(editor)).to_contain_text("已提交审核")
    draft_url = editor.url
    draft = await Draft.get(title=TITLE)
    assert draft.status == "submitted" and draft.is_repost

    reviewer = await new_page()
    await sms_login(reviewer, sender, "reviewer", "张志强")
    await reviewer.locator("ul.todo").get_by_role("link", name=re.compile("待审核的稿件")).click()
    await reviewer.get_by_role("link", name=re.compile(TITLE)).click()
    await expect(reviewer.locator(".draft-preview")).to_contain_text(LEAD)
    await reviewer.get_by_role("button", name="审核通过").click()
    await expect(flash(reviewer)).to_contain_text("已审核通过")

    # The editor schedules it half an hour ahead, in Beijing time (the test's clock: 10:00).
    await editor.goto(draft_url)
    await editor.get_by_label("发布时间（北京时间）").fill("2026-11-23T10:30")
    await editor.get_by_role("button", name="排期发布").click()
    await expect(flash(editor)).to_contain_text("已排期，将于北京时间 2026-11-23 10:30 发布")
    await expect(editor.locator("table.publications")).to_contain_text("待发布")

    # The worker, when it is time.
    assert await runner.publish_due(deps) == 0
    clock.advance(minutes=31)
    assert await runner.publish_due(deps) == 1
    sent = fake_tg.sent("sendMessage")
    assert len(sent) == 1 and TITLE in sent[0].body["text"] and "中国政府网" in sent[0].body["text"]

    await editor.reload()
    await expect(editor.locator("h1 .pill")).to_have_text("已发布")
    link = editor.locator("table.publications").get_by_role(
        "link", name="https://t.me/qingyuan_fabu/101"
    )
    await expect(link).to_have_attribute("href", "https://t.me/qingyuan_fabu/101")
    await expect(editor.locator("table.timeline")).to_contain_text("「清源人社频道」已发布")
    assert (await RepostTask.get(id=task.id)).status == "done"
    await editor.screenshot(path=str(ARTIFACTS / "draft-published.png"), full_page=True)

    # The account's page lists the post; the schedule shows it published on its day.
    await editor.goto(f"/console/accounts/{channel.id}")
    post = editor.locator("table.posts").get_by_role("link", name=TITLE)
    await expect(post).to_have_attribute("href", "https://t.me/qingyuan_fabu/101")
    await expect(editor.locator("table.posts")).to_contain_text("来源：")
    await editor.locator("#main-nav").get_by_role("link", name="排期日历").click()
    item = editor.locator(".schedule a.pub.done", has_text=TITLE)
    await expect(item).to_contain_text("清源人社频道")
    await item.click()
    await editor.wait_for_url(re.compile(rf"/console/drafts/{draft.id}$"))
    await expect(
        editor.get_by_role("heading", name=re.compile(f"稿件 #{draft.id}"))
    ).to_be_visible()


async def test_the_publishing_pages_fit_a_phone(new_page, sender, deps, clock, wired):
    from playwright.async_api import expect

    _, task = wired
    page = await new_page()
    await page.set_viewport_size(PHONE)
    await sms_login(page, sender, "editor", "李晓梅")
    await page.goto(f"/console/drafts/new?task_id={task.id}")
    await page.get_by_role("checkbox", name=re.compile("清源人社频道")).check()
    await page.locator("textarea[name=body]").fill(BODY)
    await page.screenshot(path=str(ARTIFACTS / "phone-draft-editor.png"), full_page=True)
    await page.get_by_role("button", name="保存并提交审核").click()
    await expect(flash(page)).to_contain_text("已提交审核")
    draft = await Draft.get(title=TITLE)
    for path in (
        "/console/drafts",
        "/console/repost-tasks",
        "/console/sources",
        f"/console/drafts/new?task_id={task.id}",
        f"/console/drafts/{draft.id}",
    ):
        resp = await page.goto(path)
        assert resp.status == 200, path
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"
    await expect(page.locator(".draft-preview")).to_contain_text("来源：中国政府网")
    await page.screenshot(path=str(ARTIFACTS / "phone-draft.png"), full_page=True)
