"""`/wechat/<code>` on the real Quart test client with WeChat's own payloads."""

from __future__ import annotations

import asyncio
import itertools
import re

from accounts.models import Account
from accounts.service import set_credentials
from adapters.wechat_protocol import WechatConfig, parse_xml, sign
from bot.engine import Engine
from bot.state import last_seen_key, state_key
from knowledge.attention import flush_asks
from knowledge.models import Ask
from letters.models import Letter
from org.access import Actor
from org.models import AuditRecord
from org.security_log import open_counts
from tests.adapters.test_wechat_protocol import BILLION_LAUGHS, PAYLOADS, payload
from tests.conftest import START

TOKEN = "minsheng-demo"  # the demo account's token (accounts/demo.py)
TS = str(int(START.timestamp()))  # WeChat signs its own current time; the tests' clock is START
_nonces = itertools.count(4242)


def query(token: str = TOKEN, ts: str = TS, nonce: str | None = None, **extra: str) -> str:
    """A callback's query as WeChat signs it: each delivery with a nonce of its own."""
    nonce = nonce or str(next(_nonces))
    args = {"timestamp": ts, "nonce": nonce, "signature": sign(token, ts, nonce), **extra}
    return "&".join(f"{k}={v}" for k, v in args.items())


def text_message(content: str, msg_id: str, user: str = "openid-1") -> bytes:
    return (
        "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


async def post(client, body: bytes, code: str = "demo", q: str | None = None):
    return await client.post(
        f"/wechat/{code}?{q or query()}", data=body, headers={"Content-Type": "text/xml"}
    )


async def reply_text(resp) -> str:
    assert resp.status_code == 200, await resp.get_data(as_text=True)
    return parse_xml(await resp.get_data())["Content"]


async def test_verification_echoes_only_with_the_accounts_token(bot_app):
    client = bot_app.test_client()
    resp = await client.get(f"/wechat/demo?{query(echostr='hello123')}")
    assert resp.status_code == 200 and await resp.get_data(as_text=True) == "hello123"
    resp = await client.get(f"/wechat/demo?{query('wrong', echostr='hello123')}")
    assert resp.status_code == 403
    refused = await open_counts(bot_app.extensions["minsheng"].redis)
    assert any(kind == "wechat.refused:403 bad signature" for _, kind in refused)
    assert not await AuditRecord.filter(action="wechat.refused").exists()  # anonymous: no audit
    assert (await client.get(f"/wechat/nosuch?{query(echostr='x')}")).status_code == 404


async def test_a_question_gets_a_passive_answer(bot_app, bot_deps):
    before = await Ask.filter(channel="wechat").count()
    resp = await post(bot_app.test_client(), text_message("外地人在清源怎么申领居住证", "1001"))
    xml = parse_xml(await resp.get_data())
    assert xml["ToUserName"] == "openid-1" and xml["FromUserName"] == "gh_demo"
    assert "派出所" in xml["Content"] and "是否解决了您的问题" in xml["Content"]
    await flush_asks(bot_deps)
    assert await Ask.filter(channel="wechat").count() == before + 1
    # Read by WeChat's servers, never a browser, and logged as a question, not audited; the
    # app's other pages keep their browser headers.
    assert "X-Frame-Options" not in resp.headers and "Cache-Control" not in resp.headers
    assert not await AuditRecord.filter(action__startswith="http.wechat").exists()
    other = await bot_app.test_client().get("/healthz")
    assert other.headers["X-Frame-Options"] == "DENY"


async def test_forged_signature_is_refused_and_recorded(bot_app, bot_deps):
    before = await Ask.all().count()
    resp = await post(bot_app.test_client(), text_message("你好", "1002"), q=query("forged"))
    assert resp.status_code == 403
    refused = await open_counts(bot_deps.redis)
    assert any(kind.startswith("wechat.refused:403") for _, kind in refused)
    await flush_asks(bot_deps)
    assert await Ask.all().count() == before


async def test_oversize_and_hostile_bodies(bot_app, bot_deps):
    before = await Ask.all().count()
    client = bot_app.test_client()
    big = text_message("问" * (bot_deps.settings.webhook_max_bytes // 3 + 10), "1003")
    assert (await post(client, big)).status_code == 413
    assert (await post(client, BILLION_LAUGHS)).status_code == 400
    await flush_asks(bot_deps)
    assert await Ask.all().count() == before


async def test_every_real_payload_is_answered_or_acknowledged(bot_app):
    client = bot_app.test_client()
    for path in sorted(PAYLOADS.glob("wechatpy_*.xml")):
        if "wecom" in path.name:
            continue  # an encrypted WeCom message: a different account; see the safe-mode test
        # The sample payloads share one MsgId; real ones are unique (the same id is a retry).
        body = payload(path.name).replace(b"1234567890123456", str(hash(path.name)).encode())
        resp = await post(client, body)
        assert resp.status_code == 200, path.name
        body = await resp.get_data(as_text=True)
        if path.name in ("wechatpy_event_view.xml", "wechatpy_event_location.xml"):
            assert body == "success", path.name
            continue
        content = parse_xml(body)["Content"]
        if "subscribe" in path.name:
            assert "清源人社" in content  # the account's own name in the welcome
        elif "image" in path.name or "link" in path.name or "location" in path.name:
            assert "只能识别文字" in content
        elif "voice" in path.name:
            assert "语音" in content
        assert content, path.name


async def test_retries_of_one_message_get_one_reply_and_one_letter(bot_app):
    client = bot_app.test_client()
    steps = ["留言", "我家小区门口的路灯坏了三个月一直没人来修", "1", "1", "跳过", "跳过"]
    for i, text in enumerate(steps):
        await reply_text(await post(client, text_message(text, f"20{i}")))
    # The confirmation, delivered four times at once (WeChat retries).
    answers = await asyncio.gather(*(post(client, text_message("1", "2099")) for _ in range(4)))
    texts = {await reply_text(r) for r in answers}
    assert len(texts) == 1
    [text] = texts
    assert re.search(r"跟踪码：[A-Z0-9]{4,6}-[A-Z0-9]{4,6}", text)
    assert await Letter.all().count() == 1
    letter = await Letter.get()
    assert letter.channel == "wechat" and letter.account_id == (await Account.get(code="demo")).id


async def test_menu_clicks(bot_app):
    click = (
        b"<xml><ToUserName>gh</ToUserName><FromUserName>openid-9</FromUserName>"
        b"<CreateTime>17</CreateTime><MsgType>event</MsgType><Event>CLICK</Event>"
        b"<EventKey>MS_STATUS</EventKey></xml>"
    )
    assert "跟踪码" in await reply_text(await post(bot_app.test_client(), click))


async def test_safe_mode_round_trip(bot_app, bot_deps):
    account = await Account.get(code="demo")
    aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    await set_credentials(
        bot_deps,
        Actor.system(),
        account.id,
        {"app_id": "wxdemo", "app_secret": "s", "token": TOKEN, "aes_key": aes_key, "mode": "safe"},
    )
    config = WechatConfig(token=TOKEN, aes_key=aes_key, app_id="wxdemo", mode="safe")
    nonce = "3001"
    sealed = config.crypto().encrypt_message(
        text_message("外地人在清源怎么申领居住证", "3001").decode(), nonce, TS
    )
    fields = parse_xml(sealed)
    q = query(nonce=nonce, encrypt_type="aes", msg_signature=fields["MsgSignature"])
    resp = await post(bot_app.test_client(), sealed.encode(), q=q)
    assert resp.status_code == 200
    reply = parse_xml(await resp.get_data())
    assert "Encrypt" in reply and "派出所" not in await resp.get_data(as_text=True)
    plain = config.crypto().decrypt_message(
        await resp.get_data(), reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"]
    )
    assert "派出所" in parse_xml(plain)["Content"]
    # A plaintext message to a safe-mode account is refused.
    resp = await post(bot_app.test_client(), text_message("你好", "3002"))
    assert resp.status_code == 403


async def test_a_slow_engine_answers_in_time_then_sends_the_rest(
    bot_app, bot_deps, fake_wechat, monkeypatch
):
    real = Engine.handle_turn

    async def slow(self, msg, *rest):
        await asyncio.sleep(1.5)
        return await real(self, msg, *rest)

    monkeypatch.setattr(Engine, "handle_turn", slow)
    resp = await post(bot_app.test_client(), text_message("外地人在清源怎么申领居住证", "4001"))
    assert "请稍候" in await reply_text(resp)
    for _ in range(60):
        if fake_wechat.sent("/message/custom/send"):
            break
        await asyncio.sleep(0.1)
    [call] = fake_wechat.sent("/message/custom/send")
    assert call.query["access_token"] == "TOKEN-1"
    assert call.body["touser"] == "openid-1" and "派出所" in call.body["text"]["content"]


async def _wechat_letter(bot_app) -> Letter:
    client = bot_app.test_client()
    steps = ["留言", "我家小区门口的路灯坏了三个月一直没人来修", "1", "1", "跳过", "跳过", "1"]
    for i, text in enumerate(steps):
        await reply_text(await post(client, text_message(text, f"50{i}", user="openid-7")))
    return await Letter.get()


async def test_a_reply_goes_by_customer_service_message_within_48_hours(
    bot_app, bot_deps, fake_wechat, clock
):
    from adapters.delivery import deliver_replies
    from tests.bot.test_engine import sent_reply

    letter = await _wechat_letter(bot_app)  # the citizen wrote just now: the window is open
    row = await sent_reply(letter, clock, "路灯已修复。", bot_deps.settings)
    assert await deliver_replies(bot_deps) == 1
    [call] = fake_wechat.sent("/message/custom/send")
    assert call.body["touser"] == "openid-7" and "路灯已修复" in call.body["text"]["content"]
    await row.refresh_from_db()
    assert row.status == "sent"


async def test_after_48_hours_a_template_message_or_the_next_message(
    bot_app, bot_deps, fake_wechat, clock
):
    from adapters.delivery import deliver_replies
    from tests.bot.test_engine import sent_reply

    letter = await _wechat_letter(bot_app)
    # 48 hours passed without a message
    await bot_deps.redis.delete(last_seen_key("wechat", "demo", "openid-7"))
    row = await sent_reply(letter, clock, "路灯已修复。", bot_deps.settings)
    assert await deliver_replies(bot_deps) == 0  # no template configured: it waits
    assert fake_wechat.sent("/message/custom/send") == []
    await row.refresh_from_db()
    assert row.status == "pending"
    # The citizen writes again: the reply comes with the answer to that message.
    text = await reply_text(
        await post(bot_app.test_client(), text_message("你好", "599", "openid-7"))
    )
    assert "已有答复" in text and "路灯已修复" in text

    # With a template configured, the next reply goes as a template message.
    account = await Account.get(code="demo")
    await set_credentials(
        bot_deps,
        Actor.system(),
        account.id,
        {
            "app_id": "wxdemo",
            "app_secret": "s",
            "token": TOKEN,
            "mode": "plain",
            "reply_template_id": "TPL-1",
        },
    )
    await bot_deps.redis.delete(last_seen_key("wechat", "demo", "openid-7"))
    await sent_reply(letter, clock, "补充答复：已加装路灯。", bot_deps.settings)
    assert await deliver_replies(bot_deps) == 1
    [call] = fake_wechat.sent("/message/template/send")
    assert call.body["template_id"] == "TPL-1" and call.body["touser"] == "openid-7"
    assert "已加装路灯" in call.body["data"]["keyword2"]["value"]


async def test_a_changed_token_takes_effect_without_holding_up_messages(
    bot_app, bot_deps, monkeypatch
):
    """Credentials are remembered for a few seconds. Once expired, the known ones keep serving
    while one task re-reads them; then the new token is the one that counts."""
    monkeypatch.setattr(bot_deps.settings, "account_cache_seconds", 60.0)
    client = bot_app.test_client()
    assert (await post(client, text_message("你好", "6001"))).status_code == 200
    account = await Account.get(code="demo")
    await set_credentials(
        bot_deps,
        Actor.system(),
        account.id,
        {"app_id": "wxdemo", "app_secret": "s", "token": "new-token", "mode": "plain"},
    )
    # Within the cache time the old token still works.
    assert (await post(client, text_message("你好", "6002"))).status_code == 200
    # Expired: this message is still served with the known token, and a re-read starts.
    cache = bot_deps.extensions["wechat_accounts"]
    cache["demo"] = (0.0, *cache["demo"][1:])
    assert (await post(client, text_message("你好", "6003"))).status_code == 200
    for _ in range(50):
        if not bot_deps.extensions.get("wechat_refreshing"):
            break
        await asyncio.sleep(0.02)
    assert (await post(client, text_message("你好", "6004"))).status_code == 403
    resp = await post(client, text_message("你好", "6005"), q=query("new-token"))
    assert resp.status_code == 200


async def test_timestamps_outside_five_minutes_are_refused(bot_app, bot_deps):
    """The signature covers the timestamp: a captured callback stops working after the window,
    and one dated far in the future never works."""
    client = bot_app.test_client()
    before = await Ask.all().count()
    for ts in ("978307200", "4102444800", str(int(TS) - 301), str(int(TS) + 301), "soon"):
        resp = await post(client, text_message("居住证怎么办", f"7{ts}"), q=query(ts=ts))
        assert resp.status_code == 403, ts
        resp = await client.get(f"/wechat/demo?{query(ts=ts, echostr='x')}")
        assert resp.status_code == 403, ts
    for ts in (str(int(TS) - 290), str(int(TS) + 290)):
        resp = await post(client, text_message("居住证怎么办", f"8{ts}"), q=query(ts=ts))
        assert resp.status_code == 200, ts
    await flush_asks(bot_deps)
    assert await Ask.all().count() == before + 2


async def test_a_replayed_timestamp_and_nonce_are_refused(bot_app, bot_deps, clock):
    """A captured plain-mode URL cannot carry another message (another openid), and the same
    request replayed later than WeChat's own retries is refused; WeChat's retry is answered."""
    client = bot_app.test_client()
    q = query(nonce="replay-1")
    first = await reply_text(
        await post(client, text_message("外地人在清源怎么申领居住证", "9001"), q=q)
    )
    injected = text_message("留言", "9002", user="openid-victim")
    resp = await post(client, injected, q=q)
    assert resp.status_code == 403
    assert not await bot_deps.redis.exists(state_key("wechat", "demo", "openid-victim"))
    # WeChat's retry of the same delivery (same query and body) gets the first answer.
    again = await reply_text(
        await post(client, text_message("外地人在清源怎么申领居住证", "9001"), q=q)
    )
    assert again == first
    clock.advance(seconds=60)  # past any retry, still inside the timestamp window
    resp = await post(client, text_message("外地人在清源怎么申领居住证", "9001"), q=q)
    assert resp.status_code == 403
    # The same pair is remembered in Redis, with an expiry, not forever.
    ttl = await bot_deps.redis.ttl(f"wechat:nonce:demo:{TS}:replay-1")
    assert 0 < ttl <= bot_deps.settings.wechat_timestamp_skew_seconds + 1
    # A callback that opens no conversation (a menu VIEW) is held to its pair the same way,
    # and the pair of a message cannot carry one, nor the other way round.
    view = payload("wechatpy_event_view.xml")
    q = query(nonce="replay-2")
    assert (await post(client, view, q=q)).status_code == 200
    assert (await post(client, view, q=q)).status_code == 200  # WeChat's retry
    assert (await post(client, text_message("你好", "9003"), q=q)).status_code == 403
    q = query(nonce="replay-3")
    assert (await post(client, text_message("你好", "9004"), q=q)).status_code == 200
    assert (await post(client, view, q=q)).status_code == 403
    assert (await client.get(f"/wechat/demo?{q}&echostr=x")).status_code == 403
    clock.advance(seconds=60)
    assert (await post(client, view, q=query(nonce="replay-2"))).status_code == 403


async def test_waiting_for_the_turn_never_stops_it():
    """The passive reply waits for the turn until the deadline; the turn runs on past it (its
    answer goes by the customer-service API), and also when the request itself is cancelled."""
    from adapters.wechat import _done_within

    async def turn(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "answer"

    loop = asyncio.get_running_loop()
    quick = loop.create_task(turn(0.01))
    assert await _done_within(quick, 1.0) and quick.result() == "answer"
    slow = loop.create_task(turn(0.2))
    assert not await _done_within(slow, 0.05)
    assert await slow == "answer"
    waiting = asyncio.ensure_future(_done_within(other := loop.create_task(turn(0.1)), 1.0))
    await asyncio.sleep(0.01)
    waiting.cancel()
    assert await other == "answer"  # the turn was not cancelled with the wait
