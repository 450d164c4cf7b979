"""The publishers against local fakes of the WeChat publishing API and the Telegram Bot API, at
the HTTP level, with the real JSON shapes and error codes, and a real Redis (any_redis)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import pytest
from aiohttp import web

from adapters.manual_publish import ManualPublisher
from adapters.publishing import (
    Image,
    PublishEnv,
    PublishItem,
    PublishTarget,
    markdown_to_html,
    plain_text,
    publisher_for,
)
from adapters.telegram_publish import CAPTION_LIMIT, TEXT_LIMIT, TelegramPublisher, units
from adapters.wechat_publish import WechatPublisher
from tests.adapters.fakes import Call, FakePlatform, FakeTelegram

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
APP_ID = "wx1234567890abcdef"
TG_TOKEN = "123456:PUBLISH-token"


class _Forms:
    """Reads multipart bodies (file uploads), which the shared fakes do not, and serves a
    picture at /pictures/… so that publishers fetch covers named by URL."""

    delay: float = 0.0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/pictures/"):
            return web.Response(body=PNG, content_type="image/png")
        if request.content_type.startswith("multipart/"):
            body: dict = {}
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    body[key] = {"filename": value.filename, "bytes": value.file.read()}
                else:
                    body[key] = value
            call = Call(request.path, dict(request.query), body)
            call.raw = b""  # type: ignore[attr-defined]
        else:
            raw = await request.read()
            body = json.loads(raw) if raw.startswith(b"{") else dict(await request.post())
            call = Call(request.path, dict(request.query), body)
            call.raw = raw  # type: ignore[attr-defined]
        self.calls.append(call)  # type: ignore[attr-defined]
        if self.delay and call.path.endswith("/cgi-bin/token"):
            await asyncio.sleep(self.delay)  # long enough for two processes to collide
        answer = self.answer(call)  # type: ignore[attr-defined]
        # The Bot API answers errors with their HTTP status; WeChat answers 200 throughout.
        status = 200 if answer.get("ok", True) else int(answer.get("error_code", 400))
        return web.json_response(answer, status=status)


class FakeWechatPublishing(_Forms, FakePlatform):
    """The publishing endpoints: only the newest token is accepted, as on the real platform."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens = 0
        self.scripted: dict[str, list[dict]] = defaultdict(list)  # path end -> next answers
        self.statuses: list[int] = [0]  # freepublish/get's publish_status, one per call
        self.drafts: list[dict] = []
        self.counter = 0

    def script(self, endpoint: str, *answers: dict) -> None:
        self.scripted[endpoint].extend(answers)

    def answer(self, call: Call) -> dict:
        self.counter += 1
        n = self.counter
        if call.path == "/cgi-bin/token":
            assert call.query == {
                "grant_type": "client_credential", "appid": APP_ID, "secret": "SECRET",
            }  # fmt: skip
            self.tokens += 1
            return {"access_token": f"TOKEN-{self.tokens}", "expires_in": 7200}
        endpoint = call.path.removeprefix("/cgi-bin/")
        if self.scripted[endpoint]:
            return self.scripted[endpoint].pop(0)
        if call.query.get("access_token") != f"TOKEN-{self.tokens}":
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        if endpoint == "media/uploadimg":
            assert call.body["media"]["bytes"] == PNG
            return {"url": f"http://mmbiz.qpic.cn/mmbiz_png/body{n}/0?wx_fmt=png"}
        if endpoint == "material/add_material":
            assert call.query["type"] == "image" and call.body["media"]["bytes"] == PNG
            return {"media_id": f"THUMB-{n}", "url": f"http://mmbiz.qpic.cn/mmbiz_png/c{n}/0"}
        if endpoint == "draft/add":
            article = call.body["articles"][0]
            assert article["thumb_media_id"].startswith("THUMB-") and article["content"]
            self.drafts.append(article)
            return {"media_id": f"DRAFT-{n}"}
        if endpoint == "freepublish/submit":
            assert call.body["media_id"].startswith("DRAFT-")
            return {"errcode": 0, "errmsg": "ok", "publish_id": f"224748{n}", "msg_data_id": n}
        if endpoint == "freepublish/get":
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            answer = {"publish_id": call.body["publish_id"], "publish_status": status}
            if status == 0:
                answer["article_id"] = "ARTICLE-1"
                answer["article_detail"] = {
                    "count": 1,
                    "item": [{"idx": 1, "article_url": "https://mp.weixin.qq.com/s/ABC123"}],
                }
            answer["fail_idx"] = [1] if status >= 2 else []
            return answer
        return {"errcode": 40066, "errmsg": "invalid url"}

    def count(self, endpoint: str) -> int:
        return len(self.sent(endpoint))


class FakeChannel(_Forms, FakeTelegram):
    """A channel with a public username; sendPhoto arrives as a multipart upload."""

    def answer(self, call: Call) -> dict:
        method = call.path.rsplit("/", 1)[-1].lower()
        if self.fail_next and method in ("sendmessage", "sendphoto"):
            self.fail_next -= 1
            return self.failure
        if method in ("sendmessage", "sendphoto"):
            self.message_id += 1
            message = {
                "message_id": self.message_id,
                "date": 1700000000,
                "chat": {"id": -1001234567890, "type": "channel", "title": "清源发布",
                         "username": "qingyuan_fabu"},
            }  # fmt: skip
            if method == "sendphoto":
                message["photo"] = [{"file_id": "F", "file_unique_id": "U", "width": 8,
                                     "height": 8}]  # fmt: skip
                message["caption"] = call.body.get("caption", "")
            else:
                message["text"] = call.body.get("text", "")
            return {"ok": True, "result": message}
        return super().answer(call)

    failure: dict = {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot is not a member",
    }


@pytest.fixture
async def fake_wx():
    fake = await FakeWechatPublishing().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fake_tg():
    fake = await FakeChannel().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def env(any_redis, fake_wx, fake_tg):
    e = PublishEnv(
        redis=any_redis,
        wechat_api_base=fake_wx.base,
        telegram_api_base=fake_tg.base,
        poll_interval=0.01,
        backoff=0.01,
    )
    yield e
    await e.aclose()


def wechat(env: PublishEnv, code: str = "qywx") -> WechatPublisher:
    target = PublishTarget(
        "wechat", code, credentials={"app_id": APP_ID, "app_secret": "SECRET", "mode": "safe"}
    )
    publisher = publisher_for(target, env)
    assert isinstance(publisher, WechatPublisher)
    return publisher


def item(**more) -> PublishItem:
    base = {
        "title": "清源市2026年冬季供暖时间确定",
        "body_html": '<p>11月15日起正式供暖。</p><p><img src="/media/map.png" alt="片区图"></p>',
        "digest": "供暖时间和报修电话",
        "cover": Image("cover.png", PNG, "image/png"),
        "images": {"/media/map.png": Image("map.png", PNG, "image/png")},
    }
    return PublishItem(**(base | more))


async def test_wechat_publishes_with_images_cover_and_source(env, fake_wx):
    fake_wx.statuses = [1, 1, 0]  # publishing, publishing, then success
    result = await wechat(env).publish(
        item(source_name="新华社", source_url="https://www.news.cn/a.html")
    )
    assert result.status == "published", result.reason
    assert result.url == "https://mp.weixin.qq.com/s/ABC123"
    assert fake_wx.count("freepublish/get") == 3
    article = fake_wx.drafts[0]
    # The body image now points at WeChat's copy; the cover became the draft's thumb.
    assert 'src="http://mmbiz.qpic.cn/mmbiz_png/body' in article["content"]
    assert "/media/map.png" not in article["content"]
    assert '来源：<a href="https://www.news.cn/a.html">新华社</a>' in article["content"]
    assert article["content_source_url"] == "https://www.news.cn/a.html"
    assert article["digest"] == "供暖时间和报修电话"
    # Sent as UTF-8 text, not \\u escapes (which WeChat would show as they are).
    raw = fake_wx.sent("draft/add")[0].raw
    assert "清源市2026年冬季供暖时间确定".encode() in raw
    assert fake_wx.tokens == 1


async def test_a_cover_named_by_url_is_fetched(env, fake_wx):
    result = await wechat(env).publish(
        item(cover=None, cover_url=f"{fake_wx.base}/pictures/cover.png")
    )
    assert result.status == "published", result.reason
    upload = fake_wx.sent("material/add_material")[0]
    assert upload.body["media"]["filename"] == "cover.png"


async def test_an_expired_token_on_draft_add_is_refreshed_once_and_the_call_repeated(env, fake_wx):
    fake_wx.script("draft/add", {"errcode": 40001, "errmsg": "invalid credential"})
    result = await wechat(env).publish(item())
    assert result.status == "published", result.reason
    assert fake_wx.tokens == 2  # the first fetch and exactly one refresh
    tokens = [c.query["access_token"] for c in fake_wx.sent("draft/add")]
    assert tokens == ["TOKEN-1", "TOKEN-2"]
    assert len(fake_wx.drafts) == 1 and fake_wx.count("freepublish/submit") == 1


async def test_a_token_refused_twice_fails_with_a_reason(env, fake_wx):
    fake_wx.script("draft/add", *[{"errcode": 40001, "errmsg": "invalid credential"}] * 2)
    result = await wechat(env).publish(item())
    assert result.status == "failed" and "AppSecret" in result.reason
    assert fake_wx.tokens == 2 and fake_wx.count("freepublish/submit") == 0


async def test_the_daily_quota_fails_with_a_clear_reason_and_is_not_retried(env, fake_wx):
    fake_wx.script(
        "draft/add", {"errcode": 45009, "errmsg": "reach max api daily quota limit rid: 1"}
    )
    result = await wechat(env).publish(item())
    assert result.status == "failed"
    assert "45009" in result.reason and "上限" in result.reason
    assert result.retry_after is None
    assert fake_wx.count("draft/add") == 1 and fake_wx.count("freepublish/submit") == 0


async def test_system_busy_is_tried_again_then_left_for_a_later_retry(env, fake_wx):
    busy = {"errcode": -1, "errmsg": "system error"}
    fake_wx.script("freepublish/submit", busy)
    assert (await wechat(env).publish(item())).status == "published"
    assert fake_wx.count("freepublish/submit") == 2

    fake_wx.script("draft/add", busy, busy, busy)
    result = await wechat(env).publish(item())
    assert result.status == "retry" and result.retry_after and "繁忙" in result.reason
    assert fake_wx.count("draft/add") == 1 + 3


async def test_a_network_error_means_retry(any_redis):
    unreachable = PublishEnv(redis=any_redis, wechat_api_base="http://127.0.0.1:9", backoff=0.01)
    try:
        result = await wechat(unreachable).publish(item())
    finally:
        await unreachable.aclose()
    assert result.status == "retry" and "无法连接" in result.reason


async def test_a_refused_article_fails_with_the_platforms_reason(env, fake_wx):
    fake_wx.statuses = [1, 4]
    result = await wechat(env).publish(item())
    assert result.status == "failed" and "审核" in result.reason


async def test_polling_is_bounded_and_the_item_checked_later_without_resubmitting(env, fake_wx):
    fake_wx.statuses = [1] * 20 + [0]
    publisher = wechat(env)
    result = await publisher.publish(item())
    assert result.status == "submitted" and result.platform_id
    assert fake_wx.count("freepublish/get") == env.poll_attempts
    later = await publisher.check(result.platform_id)
    assert later.status == "published" and later.url.startswith("https://mp.weixin.qq.com/")
    assert fake_wx.count("freepublish/submit") == 1


async def test_wechat_needs_a_cover(env, fake_wx):
    result = await wechat(env).publish(item(cover=None, images={}, body_html="<p>无图</p>"))
    assert result.status == "failed" and "封面" in result.reason
    assert fake_wx.count("draft/add") == 0


async def test_two_publishers_sharing_redis_fetch_the_token_once(env, fake_wx, any_redis):
    fake_wx.delay = 0.2
    # Two processes: separate publishers and HTTP clients, one Redis.
    other = PublishEnv(redis=any_redis, wechat_api_base=fake_wx.base, poll_interval=0.01)
    try:
        results = await asyncio.gather(
            wechat(env, "a").publish(item()), wechat(other, "b").publish(item())
        )
    finally:
        await other.aclose()
    assert [r.status for r in results] == ["published", "published"]
    assert fake_wx.tokens == 1
    assert await any_redis.ttl(f"wx:token:{APP_ID}") > 6000  # cached with its expiry


async def test_concurrent_refreshes_of_a_rejected_token_fetch_once(env, fake_wx, any_redis):
    await any_redis.set(f"wx:token:{APP_ID}", "TOKEN-OLD", ex=7000)  # replaced elsewhere
    fake_wx.delay = 0.2
    publishers = [wechat(env, f"p{i}") for i in range(4)]
    results = await asyncio.gather(*(p.publish(item()) for p in publishers))
    assert {r.status for r in results} == {"published"}
    assert fake_wx.tokens == 1


def telegram(env: PublishEnv, channel: str = "@qingyuan_fabu") -> TelegramPublisher:
    target = PublishTarget("telegram", "qytg", handle=channel, credentials={"bot_token": TG_TOKEN})
    publisher = publisher_for(target, env)
    assert isinstance(publisher, TelegramPublisher)
    return publisher


async def test_telegram_sends_the_cover_with_the_text_as_caption(env, fake_tg):
    result = await telegram(env).publish(
        item(
            body_html="<h2>时间</h2><p>11月15日<strong>起</strong>供暖 <script>x</script></p>",
            link="https://www.qingyuan.gov.cn/gn.html",
        )
    )
    assert result.status == "published", result.reason
    [call] = fake_tg.sent("sendPhoto")
    assert TG_TOKEN in call.path and call.body["chat_id"] == "@qingyuan_fabu"
    photo = call.body[call.body["photo"].removeprefix("attach://")]  # uploaded beside
    assert photo["bytes"] == PNG and call.body["parse_mode"] == "HTML"
    caption = call.body["caption"]
    assert caption.startswith("<b>清源市2026年冬季供暖时间确定</b>\n\n<b>时间</b>")
    assert "11月15日<b>起</b>供暖" in caption and "https://www.qingyuan.gov.cn/gn.html" in caption
    assert result.url == f"https://t.me/qingyuan_fabu/{fake_tg.message_id}"
    assert fake_tg.sent("sendMessage") == []


async def test_telegram_without_a_cover_sends_a_message_with_the_link_previewed(env, fake_tg):
    result = await telegram(env).publish(
        item(
            cover=None,
            images={},
            source_name="人民日报",
            source_url="https://www.people.com.cn/x.html",
            link="https://www.people.com.cn/x.html",
        )
    )
    assert result.status == "published"
    [call] = fake_tg.sent("sendMessage")
    preview = json.loads(call.body["link_preview_options"])
    assert preview["url"] == "https://www.people.com.cn/x.html"
    assert '来源：<a href="https://www.people.com.cn/x.html">人民日报</a>' in call.body["text"]
    assert result.url.startswith("https://t.me/qingyuan_fabu/")


async def test_long_text_is_split_and_limits_kept(env, fake_tg):
    paragraphs = "".join(f"<p>第{i}段：{'供暖' * 400}</p>" for i in range(8))
    result = await telegram(env).publish(item(body_html=paragraphs))
    assert result.status == "published"
    [photo] = fake_tg.sent("sendPhoto")
    assert units(photo.body["caption"]) <= CAPTION_LIMIT
    texts = [c.body["text"] for c in fake_tg.sent("sendMessage")]
    assert len(texts) >= 2 and all(units(plain_text(t)) <= TEXT_LIMIT for t in texts)
    joined = "".join(texts)
    assert all(f"第{i}段" in joined for i in range(8))
    assert len(result.detail["message_ids"]) == 1 + len(texts)


async def test_telegram_refusals_and_flood_limits(env, fake_tg):
    fake_tg.fail_next = 1
    result = await telegram(env).publish(item())
    assert result.status == "failed" and "管理员" in result.reason

    fake_tg.fail_next = 1
    fake_tg.failure = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    result = await telegram(env).publish(item())
    assert result.status == "retry" and result.retry_after == 7


async def test_a_channel_id_without_username_still_publishes(env, fake_tg):
    result = await telegram(env, "-1001234567890").publish(item(cover=None, images={}))
    assert fake_tg.sent("sendMessage")[0].body["chat_id"] == "-1001234567890"
    assert result.status == "published" and result.platform_id.endswith(f":{fake_tg.message_id}")


async def test_weibo_and_douyin_are_published_by_hand(env):
    for platform in ("weibo", "douyin"):
        publisher = publisher_for(PublishTarget(platform, "x", name="清源发布"), env)
        assert isinstance(publisher, ManualPublisher)
        result = await publisher.publish(
            item(
                body_html="<p>第一段</p><p>第二段&amp;<br>换行</p>",
                source_name="新华社",
                source_url="https://www.news.cn/a.html",
            )
        )
        assert result.status == "manual" and not result.is_public and "登记" in result.reason
        assert result.copy_text == (
            "清源市2026年冬季供暖时间确定\n\n第一段\n\n第二段&\n换行\n\n"
            "来源：新华社 https://www.news.cn/a.html"
        )


def test_markdown_becomes_html_and_raw_html_stays_text():
    out = markdown_to_html("## 通知\n\n**明天**停水。![图](/media/a.png)\n\n<script>x</script>")
    assert "<h2>通知</h2>" in out and "<strong>明天</strong>" in out
    assert '<img src="/media/a.png" alt="图"' in out and "<script>" not in out
