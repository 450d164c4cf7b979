"""The schedule page (排期日历) through the Quart test client: a week and a month of scheduled,
published and failed items per account, what each role sees, the accounts with nothing this
week, the repost tasks due, and the filters. Items come from the real runner publishing to a
local fake Telegram channel."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest

from accounts.models import Post
from adapters.publishing import PublishEnv, make_publishers
from infra.crypto import encrypt_json
from publishing import drafts, runner
from publishing.models import RepostTask, Source
from publishing.port import set_publishers
from tests.accounts.conftest import OTHER_PASSWORD, actors, demo_accounts, demo_units, make_account  # noqa: F401
from tests.adapters.test_publishers import FakeChannel
from tests.console.test_posts_pages import text
from tests.org.conftest import login_as


@pytest.fixture
async def fake_tg():
    fake = await FakeChannel().start()
    yield fake
    await fake.stop()


async def scheduled(deps, people, accounts, when: dt.datetime, title: str):
    editor = people["editor"]
    d = await drafts.create_draft(
        deps, editor, {"account_ids": [a.id for a in accounts], "title": title, "body": "正文"}
    )
    await drafts.submit_draft(deps, editor, d.id)
    await drafts.review_draft(deps, people["reviewer"], d.id, {"approve": True})
    return await drafts.schedule_draft(deps, editor, d.id, {"scheduled_at": when.isoformat()})


@pytest.fixture
async def week(app, deps, actors, demo_accounts, demo_units, clock, fake_tg):  # noqa: F811
    """Monday 23 November 2026, 10:00 Beijing: one item published, one failed, one due on
    Thursday; a post recorded by hand on the GJJ Weibo; an urgent repost task due Tuesday."""
    env = PublishEnv(redis=deps.redis, telegram_api_base=fake_tg.base)
    set_publishers(deps, make_publishers(env))
    channel = await make_account(demo_units["QY-RSJ"], "telegram", "清源人社频道", clock)
    channel.handle = "@qingyuan_fabu"
    channel.credentials = encrypt_json(deps.settings, {"bot_token": "1:T"})
    await channel.save()
    now = clock.now()
    published = await scheduled(deps, actors, [channel], now, "医保缴费开始了")
    await runner.publish_due(deps)
    fake_tg.fail_next = 1  # 403: the bot was removed from the channel
    failed = await scheduled(deps, actors, [channel], now + dt.timedelta(hours=1), "发布失败的稿")
    clock.advance(hours=1)
    await runner.publish_due(deps)
    later = await scheduled(
        deps, actors, [channel], now + dt.timedelta(days=3, hours=-1), "周四要发的稿"
    )
    await Post.create(
        account=demo_accounts["gjj"],
        title="公积金政策解读",
        url="https://weibo.com/gjj/1",
        published_at=now - dt.timedelta(hours=1),
        created_at=now,
    )
    source = await Source.create(
        name="中国政府网", home_url="https://www.gov.cn/", level="central", created_at=now
    )
    await RepostTask.create(
        source=source,
        unit=demo_units["QY-RSJ"],
        item_id="gov-1",
        title="国务院关于优化政务服务的意见",
        link="https://www.gov.cn/1.htm",
        urgent=True,
        due_at=now + dt.timedelta(days=1),
        created_at=now,
    )
    yield {"channel": channel, "published": published, "failed": failed, "later": later}
    await env.aclose()


async def page(app, sender, who: str, query: str = "", **login):
    session = await login_as(app, sender, who, **login)
    resp = await session.client.get(f"/console/schedule{query}")
    return resp.status_code, (await resp.get_data()).decode()


async def test_the_week_shows_each_item_by_day_with_its_state(app, sender, week):
    status, body = await page(app, sender, "editor")
    assert status == 200
    seen = text(body.encode())
    assert "2026年11月23日 至 11月29日" in seen
    # Monday: the published item (green) and the failed one (red), each opening its draft.
    assert re.search(
        rf'class="pub done" href="/console/drafts/{week["published"].id}"[^>]*>.*?医保缴费开始了',
        body,
        re.S,
    )
    assert re.search(
        rf'class="pub bad" href="/console/drafts/{week["failed"].id}".*?发布失败的稿.*?发布失败',
        body,
        re.S,
    )
    # Thursday: the one still to go, at its time.
    thursday = body[body.index('aria-label="2026-11-26"') :]
    thursday = thursday[: thursday.index("</section>")]
    assert "周四要发的稿" in thursday and "09:00" in thursday and "pub planned" in thursday
    # Tuesday: the repost task's 12-hour deadline.
    tuesday = body[body.index('aria-label="2026-11-24"') :]
    assert "转载截止" in tuesday[: tuesday.index("</section>")]
    assert "已发布 1，待发布 1" in seen and "失败 1" in seen


async def test_a_repost_deadline_links_to_the_tasks_only_for_who_may_open_them(app, sender, week):
    """The task list is the editors', reviewers', leaders' and supervisors': an admin sees the
    deadline on the calendar without a link that would refuse them."""
    for who, linked in (("editor", True), ("admin", False)):
        _, body = await page(app, sender, who)
        tuesday = body[body.index('aria-label="2026-11-24"') :]
        tuesday = tuesday[: tuesday.index("</section>")]
        assert "转载截止" in tuesday
        assert ('href="/console/repost-tasks"' in tuesday) is linked, who


async def test_accounts_with_nothing_this_week_are_named(app, sender, week):
    _, body = await page(app, sender, "supervisor")
    idle = text(body[body.index('class="card idle"') :].split("</div>")[0].encode())
    assert "清源人社" in idle  # the WeChat account: nothing published or scheduled
    assert "清源人社频道" not in idle and "清源公积金" not in idle  # both posted this week


async def test_roles_see_their_own_units(app, sender, week):
    _, body = await page(app, sender, "gjjeditor", "", password=OTHER_PASSWORD)
    assert "医保缴费开始了" not in body and "公积金政策解读" in body
    _, body = await page(app, sender, "supervisor")
    assert "医保缴费开始了" in body and "公积金政策解读" in body
    status, body = await page(app, sender, "handler")
    assert status == 403 and "排期" in text(body.encode())


async def test_filters_and_the_month(app, sender, week):
    _, body = await page(app, sender, "supervisor", "?platform=weibo")
    assert "公积金政策解读" in body and "医保缴费开始了" not in body
    _, body = await page(app, sender, "supervisor", f"?account_id={week['channel'].id}")
    assert "医保缴费开始了" in body and "公积金政策解读" not in body
    _, body = await page(app, sender, "editor", "?view=month&date=2026-11-05")
    seen = text(body.encode())
    assert "2026年11月" in seen and "医保缴费开始了" in seen
    assert 'aria-label="2026-10-26"' in body and 'aria-label="2026-12-06"' in body  # whole weeks
    _, body = await page(app, sender, "editor", "?date=2026-12-01")
    assert "医保缴费开始了" not in body  # next week
    status, body = await page(app, sender, "editor", "?date=" + quote("明天"))
    assert status == 400 and "日期格式" in text(body.encode())
    status, body = await page(app, sender, "editor", "?view=year")
    assert status == 400 and "视图" in text(body.encode())
