"""The runner: scheduled drafts published once each to their accounts, through the real
publishers against local fakes of the platforms (HTTP level), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from accounts.models import Post
from adapters.publishing import PublishEnv, make_publishers
from infra.crypto import encrypt_json
from infra.errors import Conflict, Forbidden
from org.models import AuditRecord
from publishing import drafts, runner
from publishing.models import Draft, DraftEvent, Publication, RepostTask, Source
from publishing.port import PublishResult, set_publishers
from tests.accounts.conftest import make_account
from tests.adapters.test_publishers import APP_ID, FakeChannel, FakeWechatPublishing

TEXT = {"title": "我市城乡居民医保开始缴费", "body": "即日起至12月31日，可在线缴纳。"}
TG_TOKEN = "123456:PUBLISH-token"


@pytest.fixture
async def fake_tg():
    fake = await FakeChannel().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fake_wx():
    fake = await FakeWechatPublishing().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def wired(deps, fake_tg, fake_wx):
    env = PublishEnv(
        redis=deps.redis,
        telegram_api_base=fake_tg.base,
        wechat_api_base=fake_wx.base,
        poll_interval=0.01,
        poll_attempts=1,
        backoff=0.01,
    )
    set_publishers(deps, make_publishers(env))
    yield deps
    await env.aclose()


@pytest.fixture
async def channel(deps, demo_units, clock):
    account = await make_account(demo_units["QY-RSJ"], "telegram", "清源人社频道", clock)
    account.handle = "@qingyuan_fabu"
    account.credentials = encrypt_json(deps.settings, {"bot_token": TG_TOKEN, "channel": ""})
    await account.save()
    return account


@pytest.fixture
async def official(deps, demo_accounts):
    account = demo_accounts["rsj"]  # a WeChat official account
    account.credentials = encrypt_json(
        deps.settings,
        {"app_id": APP_ID, "app_secret": "SECRET", "token": "t", "mode": "plain"},
    )
    await account.save()
    return account


async def scheduled(deps, actors, accounts, clock, *, minutes=30, **kw) -> Draft:
    editor, reviewer = actors["editor"], actors["reviewer"]
    d = await drafts.create_draft(
        deps, editor, {"account_ids": [a.id for a in accounts], **TEXT, **kw}
    )
    await drafts.submit_draft(deps, editor, d.id)
    await drafts.review_draft(deps, reviewer, d.id, {"approve": True})
    when = clock.now() + dt.timedelta(minutes=minutes)
    return await drafts.schedule_draft(deps, editor, d.id, {"scheduled_at": when.isoformat()})


async def test_a_due_draft_is_published_once_and_becomes_a_post(
    wired, actors, channel, clock, fake_tg
):
    d = await scheduled(wired, actors, [channel], clock)
    assert await runner.publish_due(wired) == 0  # not due yet
    clock.advance(minutes=31)
    assert await runner.publish_due(wired) == 1
    assert await runner.publish_due(wired) == 0  # nothing twice
    sent = fake_tg.sent("sendMessage")
    assert len(sent) == 1 and TEXT["title"] in sent[0].body["text"]
    p = await Publication.get(draft_id=d.id)
    assert p.status == "published" and p.url == "https://t.me/qingyuan_fabu/101"
    post = await Post.get(id=p.post_id)
    assert post.account_id == channel.id and post.title == TEXT["title"]  # type: ignore[attr-defined]
    assert post.published_at == clock.now() and post.created_by_id == actors["editor"].staff_id  # type: ignore[attr-defined]
    assert (await Draft.get(id=d.id)).status == "published"
    notes = [e.note for e in await DraftEvent.filter(draft_id=d.id, action="published")]
    assert notes == ["「清源人社频道」已发布：https://t.me/qingyuan_fabu/101"]


async def test_a_repost_carries_its_source_line_and_finishes_its_task(
    wired, actors, channel, clock, fake_tg, demo_units
):
    source = await Source.create(
        name="中国政府网", home_url="https://www.gov.cn/", level="central", created_at=clock.now()
    )
    task = await RepostTask.create(
        source=source,
        unit=demo_units["QY-RSJ"],
        item_id="gov-1",
        title="国务院关于进一步优化政务服务的意见",
        link="https://www.gov.cn/zhengce/1.htm",
        published_at=clock.now(),
        due_at=clock.now() + dt.timedelta(hours=12),
        urgent=True,
        created_at=clock.now(),
    )
    editor = actors["editor"]
    d = await drafts.create_draft(
        wired, editor, {"account_ids": [channel.id], "task_id": task.id, "body": "全文如下。"}
    )
    await drafts.submit_draft(wired, editor, d.id)
    await drafts.review_draft(wired, actors["reviewer"], d.id, {"approve": True})
    await drafts.schedule_draft(wired, editor, d.id, {"scheduled_at": clock.now().isoformat()})
    assert await runner.publish_due(wired) == 1
    text = fake_tg.sent("sendMessage")[0].body["text"]
    assert "来源：" in text and "中国政府网" in text
    assert (await RepostTask.get(id=task.id)).status == "done"
    post = await Post.get(external_id=f"draft-{d.id}")
    assert post.is_repost and post.source_name == "中国政府网"


async def test_one_draft_goes_to_each_of_its_accounts(
    wired, actors, channel, official, clock, fake_tg, fake_wx
):
    cover = f"{fake_wx.base}/pictures/c.png"
    d = await scheduled(wired, actors, [channel, official], clock, cover_url=cover)
    clock.advance(minutes=30)
    assert await runner.publish_due(wired) == 2
    rows = {p.account_id: p for p in await Publication.filter(draft_id=d.id)}  # type: ignore[attr-defined]
    assert rows[channel.id].status == "published"
    assert rows[official.id].status == "published"
    assert rows[official.id].url == "https://mp.weixin.qq.com/s/ABC123"
    assert fake_wx.count("freepublish/submit") == 1 and len(fake_tg.sent("sendPhoto")) == 1
    assert await Post.filter(external_id=f"draft-{d.id}").count() == 2


async def test_wechat_still_reviewing_is_checked_later_not_submitted_again(
    wired, actors, official, clock, fake_wx
):
    fake_wx.statuses = [1, 0]  # still publishing when polled, public when checked later
    d = await scheduled(
        wired, actors, [official], clock, minutes=1, cover_url=f"{fake_wx.base}/pictures/c.png"
    )
    clock.advance(minutes=2)
    await runner.publish_due(wired)
    p = await Publication.get(draft_id=d.id)
    assert p.status == "submitted" and p.platform_id
    assert await runner.check_submitted(wired) == 0  # not time to look yet
    clock.advance(minutes=6)
    assert await runner.check_submitted(wired) == 1
    p = await Publication.get(draft_id=d.id)
    assert p.status == "published" and p.url.startswith("https://mp.weixin.qq.com/")
    assert fake_wx.count("freepublish/submit") == 1
    assert (await Draft.get(id=d.id)).status == "published"


async def test_a_crash_while_publishing_leaves_needs_check_and_no_second_post(
    wired, actors, channel, clock, fake_tg, sender
):
    d = await scheduled(wired, actors, [channel], clock, minutes=1)
    clock.advance(minutes=2)
    # A worker claims the row and dies before it records anything.
    assert len(await runner.claim_due(wired, "dead-worker")) == 1
    assert (await Draft.get(id=d.id)).status == "publishing"
    assert await runner.publish_due(wired) == 0  # the row is not due for anyone else
    assert await runner.recover_stalled(wired) == 0  # its lease has not run out
    clock.advance(minutes=11)
    assert await runner.recover_stalled(wired) == 1
    assert await runner.publish_due(wired) == 0
    assert fake_tg.sent("sendMessage") == []  # never retried blindly
    p = await Publication.get(draft_id=d.id)
    assert p.status == "needs_check" and "可能已发布" in p.reason
    told = [body for _, body in sender.sent if "清源人社频道" in body]
    assert told and all("核实" in b for b in told)
    # The editor finds it was public after all and records its address.
    p = await runner.resolve_publication(
        wired,
        actors["editor"],
        p.id,
        {"outcome": "published", "url": "https://t.me/qingyuan_fabu/7"},
    )
    assert p.status == "published" and await Post.filter(account_id=channel.id).count() == 1
    assert (await Draft.get(id=d.id)).status == "published"
    assert await AuditRecord.filter(action="publication.published").count() == 1


async def test_needs_check_retried_by_a_person_publishes_once(
    wired, actors, channel, clock, fake_tg
):
    d = await scheduled(wired, actors, [channel], clock, minutes=1)
    clock.advance(minutes=2)
    await runner.claim_due(wired, "dead-worker")
    clock.advance(minutes=11)
    await runner.recover_stalled(wired)
    p = await Publication.get(draft_id=d.id)
    with pytest.raises(Forbidden):
        await runner.resolve_publication(wired, actors["reviewer"], p.id, {"outcome": "retry"})
    await runner.resolve_publication(wired, actors["editor"], p.id, {"outcome": "retry"})
    assert await runner.publish_due(wired) == 1
    assert len(fake_tg.sent("sendMessage")) == 1
    with pytest.raises(Conflict):  # settled
        await runner.resolve_publication(wired, actors["editor"], p.id, {"outcome": "retry"})


async def test_refusals_fail_at_once_and_tell_the_author_and_leader(
    wired, actors, channel, clock, fake_tg, sender
):
    fake_tg.fail_next = 1  # 403: the bot is not a member of the channel
    d = await scheduled(wired, actors, [channel], clock, minutes=1)
    clock.advance(minutes=2)
    await runner.publish_due(wired)
    p = await Publication.get(draft_id=d.id)
    assert p.status == "failed" and p.attempts == 1 and p.reason
    assert (await Draft.get(id=d.id)).status == "failed"
    mobiles = {m for m, body in sender.sent if "发布失败" in body}
    assert mobiles == {"13800000002", "13800000005"}  # the demo editor and 人社局's leader


async def test_flood_limits_are_retried_with_backoff_until_spent(
    wired, actors, channel, clock, fake_tg, sender
):
    fake_tg.failure = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 5",
        "parameters": {"retry_after": 5},
    }
    fake_tg.fail_next = 100
    d = await scheduled(wired, actors, [channel], clock, minutes=1)
    clock.advance(minutes=2)
    delays = []
    for _ in range(runner.MAX_ATTEMPTS):
        assert await runner.publish_due(wired) == 1
        p = await Publication.get(draft_id=d.id)
        if p.status != "due":
            break
        delays.append((p.due_at - clock.now()).total_seconds())
        assert await runner.publish_due(wired) == 0  # waits for its time
        clock.set(p.due_at)
    assert delays == [60, 120, 240, 480]  # doubled each time
    assert p.status == "failed" and p.attempts == runner.MAX_ATTEMPTS
    assert "重试 5 次" in p.reason
    assert any("发布失败" in body for _, body in sender.sent)


async def test_weibo_is_published_by_hand_and_counts_only_once_recorded(
    wired, actors, demo_accounts, demo_units, clock, sender
):
    weibo = await make_account(demo_units["QY-RSJ"], "weibo", "清源人社微博", clock)
    d = await scheduled(wired, actors, [weibo], clock, minutes=1)
    clock.advance(minutes=2)
    await runner.publish_due(wired)
    p = await Publication.get(draft_id=d.id)
    assert p.status == "manual" and TEXT["title"] in p.copy_text
    assert await Post.filter(account_id=weibo.id).count() == 0
    assert (await Draft.get(id=d.id)).status == "publishing"
    assert any("人工发布" in body for m, body in sender.sent if m == "13800000002")
    with pytest.raises(Exception) as exc:
        await runner.resolve_publication(
            wired, actors["editor"], p.id, {"outcome": "published", "url": "weibo.com/1"}
        )
    assert "http" in str(exc.value)
    await runner.resolve_publication(
        wired, actors["editor"], p.id, {"outcome": "published", "url": "https://weibo.com/1/AbC"}
    )
    assert await Post.filter(account_id=weibo.id).count() == 1
    assert (await Draft.get(id=d.id)).status == "published"


async def test_rescheduling_and_withdrawing_until_publishing_starts(
    wired, actors, channel, clock, fake_tg
):
    editor = actors["editor"]
    d = await scheduled(wired, actors, [channel], clock, minutes=10)
    later = clock.now() + dt.timedelta(hours=2)
    await drafts.schedule_draft(wired, editor, d.id, {"scheduled_at": later.isoformat()})
    p = await Publication.get(draft_id=d.id)
    assert p.due_at == later and p.scheduled_at == later
    clock.advance(minutes=30)
    assert await runner.publish_due(wired) == 0
    await drafts.withdraw_draft(wired, editor, d.id, {"reason": "政策有变"})
    assert (await Publication.get(draft_id=d.id)).status == "cancelled"
    clock.advance(hours=3)
    assert await runner.publish_due(wired) == 0 and fake_tg.calls == []

    d2 = await scheduled(wired, actors, [channel], clock, minutes=1)
    clock.advance(minutes=2)
    await runner.claim_due(wired, "w1")  # publishing has started
    with pytest.raises(Conflict):
        await drafts.withdraw_draft(wired, editor, d2.id, {"reason": "晚了"})
    later = (clock.now() + dt.timedelta(hours=1)).isoformat()
    with pytest.raises(Conflict):
        await drafts.schedule_draft(wired, editor, d2.id, {"scheduled_at": later})
    assert (await Publication.get(draft_id=d2.id)).status == "publishing"


async def test_two_workers_racing_never_publish_one_row_twice(
    wired, db, actors, channel, demo_units, clock, fake_tg
):
    ds = [await scheduled(wired, actors, [channel], clock, minutes=1) for _ in range(24)]
    clock.advance(minutes=2)
    counts = await asyncio.gather(
        runner.publish_due(wired, worker="w1", batch=4),
        runner.publish_due(wired, worker="w2", batch=4),
        runner.publish_due(wired, worker="w3", batch=4),
    )
    assert sum(counts) == 24
    if db.startswith("postgres"):
        assert sum(1 for c in counts if c) >= 2, counts  # SKIP LOCKED lets them share the work
    assert len(fake_tg.sent("sendMessage")) == 24
    assert await Publication.filter(status="published").count() == 24
    assert await Post.filter(account_id=channel.id).count() == 24
    assert {d.id for d in ds} == set(
        await Draft.filter(status="published").values_list("id", flat=True)
    )


async def test_drafts_to_several_accounts_settle_when_their_rows_finish_together(
    wired, actors, channel, official, clock, fake_tg, fake_wx
):
    cover = f"{fake_wx.base}/pictures/c.png"
    ds = [
        await scheduled(wired, actors, [channel, official], clock, minutes=1, cover_url=cover)
        for _ in range(6)
    ]
    clock.advance(minutes=2)
    # Rows of one draft are taken by different workers and recorded at about the same moment,
    # each settling the draft (under its lock, so the last to record sees every row).
    counts = await asyncio.gather(
        *(runner.publish_due(wired, worker=f"w{n}", batch=1) for n in range(3))
    )
    assert sum(counts) == 12
    assert await Publication.filter(status="published").count() == 12
    assert await Post.filter(external_id__in=[f"draft-{d.id}" for d in ds]).count() == 12
    statuses = await Draft.filter(id__in=[d.id for d in ds]).values_list("status", flat=True)
    assert statuses == ["published"] * 6


async def test_a_row_recovered_while_its_platform_answered_is_not_recorded_published(
    wired, actors, channel, clock
):
    d1 = await scheduled(wired, actors, [channel], clock, minutes=1)
    d2 = await scheduled(wired, actors, [channel], clock, minutes=1)
    clock.advance(minutes=2)
    claimed = await runner.claim_due(wired, "slow-worker")
    rows = {
        p.draft_id: p  # type: ignore[attr-defined]
        for p in await Publication.filter(id__in=claimed).select_related("draft", "account")
    }
    # The platform took longer than the lease: d2's row went to people meanwhile.
    await Publication.filter(id=rows[d2.id].id).update(status="needs_check")
    answers = [
        (rows[d1.id], PublishResult("published", url="https://t.me/qingyuan_fabu/1")),
        (rows[d2.id], PublishResult("published", url="https://t.me/qingyuan_fabu/2")),
    ]
    await runner._record_published(wired, answers, "slow-worker")
    p1, p2 = [await Publication.get(draft_id=d.id) for d in (d1, d2)]
    assert p1.status == "published" and p2.status == "needs_check"
    assert await Post.filter(account_id=channel.id).values_list("url", flat=True) == [
        "https://t.me/qingyuan_fabu/1"
    ]
    assert (await Draft.get(id=d1.id)).status == "published"
    assert (await Draft.get(id=d2.id)).status == "publishing"


async def test_a_post_recorded_by_hand_under_the_drafts_id_is_linked_not_doubled(
    wired, actors, channel, clock, fake_tg
):
    d = await scheduled(wired, actors, [channel], clock, minutes=1)
    by_hand = await Post.create(
        account=channel,
        external_id=f"draft-{d.id}",
        title=TEXT["title"],
        url="https://t.me/qingyuan_fabu/7",
        published_at=clock.now(),
        created_at=clock.now(),
    )
    clock.advance(minutes=2)
    assert await runner.publish_due(wired) == 1
    p = await Publication.get(draft_id=d.id)
    assert p.status == "published" and p.post_id == by_hand.id
    assert await Post.filter(account_id=channel.id).count() == 1
