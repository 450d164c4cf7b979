"""Authoritative sources and repost tasks (issue 14): the whitelist, subscriptions, the feed job
making tasks once per unit and item, the 12-hour deadline of urgent sources with its reminders
and overdue list, dismissal with a reason. Feeds come from a local HTTP server."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from infra.deps import build_deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound
from org.models import AuditRecord
from publishing import sources
from publishing.models import RepostTask, Source
from tests.publishing.test_feeds import FeedServer, Reply, rss

PUBLISHED = "Tue, 01 Dec 2026 10:00:00 +0800"  # 02:00 UTC


@pytest.fixture
async def server():
    s = FeedServer()
    await s.start()
    yield s
    await s.stop()


async def gov_source(deps, actors, server, **kw) -> Source:
    server.feed("/gov.xml", rss("国务院政策", 3, dates=PUBLISHED), "application/rss+xml")
    data = {
        "name": "中国政府网",
        "home_url": "https://www.gov.cn/",
        "level": "central",
        "feed_url": server.url("/gov.xml"),
        "urgent": True,
        **kw,
    }
    return await sources.add_source(deps, actors["admin"], data)


async def test_the_whitelist_is_kept_by_admins(deps, actors, server):
    with pytest.raises(Forbidden):
        await sources.add_source(deps, actors["editor"], {"name": "x"})
    with pytest.raises(DomainError) as exc:
        await sources.add_source(deps, actors["admin"], {"name": "某网", "level": "world"})
    assert "来源级别" in exc.value.message
    source = await gov_source(deps, actors, server)
    with pytest.raises(Conflict):
        await gov_source(deps, actors, server)
    assert await AuditRecord.filter(action="source.add").count() == 1
    assert await sources.whitelisted("中国政府网", "https://www.gov.cn/zhengce/1.htm") == source
    assert await sources.whitelisted("中国政府网", "https://fake-gov.cn/1.htm") is None
    assert await sources.whitelisted("某自媒体", "https://www.gov.cn/1.htm") is None


async def test_new_items_become_tasks_once_per_subscribed_unit(deps, actors, server, clock):
    source = await gov_source(deps, actors, server)
    assert await sources.watch_sources(deps) == 0  # nobody subscribes yet
    await sources.subscribe(deps, actors["editor"], source.id)  # 人社局
    await sources.subscribe(deps, actors["gjjeditor"], source.id)  # 公积金中心
    await sources.subscribe(deps, actors["editor"], source.id)  # again: one subscription
    server.feed("/gov.xml", rss("国务院政策", 4, dates=PUBLISHED), "application/rss+xml")
    assert await sources.watch_sources(deps) == 4 * 2
    # Two workers at once, then again later: nothing twice.
    other = build_deps(deps.settings, clock=clock, redis=deps.redis)
    assert sum(await asyncio.gather(sources.watch_sources(deps), sources.watch_sources(other))) == 0
    task = await RepostTask.filter(unit__code="QY-RSJ").order_by("id").first()
    assert task.urgent and task.published_at == dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)
    assert task.due_at == dt.datetime(2026, 12, 1, 14, tzinfo=dt.UTC)  # 12 hours later
    seen = await Source.get(id=source.id)
    assert seen.checked_at is not None and seen.last_error == ""


async def test_a_failing_feed_is_noted_and_never_stops_the_others(deps, actors, server):
    good = await gov_source(deps, actors, server)
    server.routes["/broken.xml"] = lambda _h: Reply(500, b"oops")
    broken = await sources.add_source(
        deps,
        actors["admin"],
        {
            "name": "某省政府网",
            "home_url": "https://www.example-province.gov.cn/",
            "level": "provincial",
            "feed_url": server.url("/broken.xml"),
        },
    )
    for s in (good, broken):
        await sources.subscribe(deps, actors["editor"], s.id)
    assert await sources.watch_sources(deps) == 3
    assert (await Source.get(id=broken.id)).last_error


async def test_city_sources_make_no_tasks(deps, actors, server):
    source = await gov_source(deps, actors, server, level="city", name="清源发布")
    await sources.subscribe(deps, actors["editor"], source.id)
    assert await sources.watch_sources(deps) == 0


async def test_an_urgent_task_is_reminded_then_goes_overdue(deps, actors, server, clock, sender):
    source = await gov_source(deps, actors, server)
    await sources.subscribe(deps, actors["editor"], source.id)
    await sources.watch_sources(deps)
    clock.set(dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC))  # 4 hours left
    assert await sources.remind_repost_tasks(deps) == 0
    clock.set(dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC))  # 2 hours left
    sender.sent.clear()
    assert await sources.remind_repost_tasks(deps) == 3  # three tasks, one editor
    assert all(to == "13800000002" and "不足3小时" in body for to, body in sender.sent)
    assert await sources.remind_repost_tasks(deps) == 0  # each once
    assert await sources.list_overdue(deps, actors["supervisor"]) == []
    clock.set(dt.datetime(2026, 12, 1, 14, 30, tzinfo=dt.UTC))
    assert await sources.remind_repost_tasks(deps) == 3
    assert "逾期清单" in sender.sent[-1][1]
    overdue = await sources.list_overdue(deps, actors["supervisor"])
    assert len(overdue) == 3 and overdue[0].unit.code == "QY-RSJ"
    with pytest.raises(Forbidden):
        await sources.list_overdue(deps, actors["editor"])
    # Dismissed only with a reason, by the unit; then off the overdue list.
    with pytest.raises(DomainError):
        await sources.dismiss_task(deps, actors["editor"], overdue[0].id, {})
    await sources.dismiss_task(deps, actors["editor"], overdue[0].id, {"reason": "与本单位无关"})
    assert len(await sources.list_overdue(deps, actors["supervisor"])) == 2
    with pytest.raises(Conflict):
        await sources.dismiss_task(deps, actors["editor"], overdue[0].id, {"reason": "再次"})


async def test_tasks_are_the_units_own(deps, actors, server):
    source = await gov_source(deps, actors, server)
    await sources.subscribe(deps, actors["editor"], source.id)
    await sources.watch_sources(deps)
    assert len(await sources.list_tasks(actors["editor"])) == 3
    assert await sources.list_tasks(actors["gjjeditor"]) == []
    task = (await sources.list_tasks(actors["editor"]))[0]
    with pytest.raises(NotFound):  # another unit does not even see it
        await sources.dismiss_task(deps, actors["gjjeditor"], task.id, {"reason": "x"})
