"""One limit on tracking-code look-ups for every path (issue 12, item 9): "查询 <code>" through the
web chat with a new session each time counts against the client's address, together with the
public status page; through WeChat with a rotating FromUserName it counts against the account."""

from __future__ import annotations

import itertools

from adapters.wechat_protocol import parse_xml, sign
from tests.conftest import START

CODE = "ABCDE-FGHJK"  # no such letter: a guess, as an enumeration would make
TS = str(int(START.timestamp()))
_nonces = itertools.count(98000)


async def chat(client, session: str, text: str, ip: str = "127.0.0.1") -> str:
    resp = await client.post(
        "/api/chat",
        json={"session": session, "text": text},
        scope_base={"client": (ip, 40000)},
    )
    assert resp.status_code == 200, await resp.get_data(as_text=True)
    return "\n".join(r["text"] for r in (await resp.get_json())["replies"])


async def test_new_chat_sessions_share_the_address_limit_with_the_status_page(bot_app, bot_deps):
    bot_deps.settings.public_status_rate_limit = 3
    client = bot_app.test_client()
    answers = [
        await chat(client, f"web-session-rotating-{i:04d}", f"查询 {CODE}") for i in range(4)
    ]
    assert all("没有找到" in a for a in answers[:3])
    assert "频繁" in answers[3] and "没有找到" not in answers[3]
    # The same address on the status page: the same count.
    r = await client.get(f"/api/public/letters/{CODE}", scope_base={"client": ("127.0.0.1", 1)})
    assert r.status_code == 429
    # The prompt-then-code path counts too.
    assert "跟踪码" in await chat(client, "web-session-prompted-0001", "查询")
    assert "频繁" in await chat(client, "web-session-prompted-0001", CODE)
    # Another address is not held up.
    assert "没有找到" in await chat(client, "web-session-elsewhere-01", f"查询 {CODE}", "10.9.8.7")


async def test_status_page_look_ups_use_up_the_chat_budget_too(bot_app, bot_deps):
    bot_deps.settings.public_status_rate_limit = 2
    client = bot_app.test_client()
    for _ in range(2):
        r = await client.get(f"/api/public/letters/{CODE}", scope_base={"client": ("10.0.0.5", 1)})
        assert r.status_code == 404
    assert "频繁" in await chat(client, "web-session-after-page-01", f"查询 {CODE}", "10.0.0.5")


def wechat_text(content: str, msg_id: int, user: str) -> bytes:
    return (
        "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


async def wechat(client, content: str, msg_id: int, user: str) -> str:
    nonce = str(next(_nonces))
    q = f"timestamp={TS}&nonce={nonce}&signature={sign('minsheng-demo', TS, nonce)}"
    resp = await client.post(
        f"/wechat/demo?{q}",
        data=wechat_text(content, msg_id, user),
        headers={"Content-Type": "text/xml"},
    )
    assert resp.status_code == 200, await resp.get_data(as_text=True)
    return parse_xml(await resp.get_data())["Content"]


async def test_rotating_wechat_users_are_limited_per_account(bot_app, bot_deps):
    bot_deps.settings.public_status_account_rate_limit = 3
    client = bot_app.test_client()
    answers = [
        await wechat(client, f"查询 {CODE}", 7100 + i, f"openid-rotating-{i}") for i in range(4)
    ]
    assert all("没有找到" in a for a in answers[:3])
    assert "频繁" in answers[3]
    # The web chat is another path with its own (address) count: not held up by WeChat's.
    assert "没有找到" in await chat(client, "web-session-not-wechat-01", f"查询 {CODE}")


async def test_one_wechat_user_is_limited_like_one_address(bot_app, bot_deps):
    bot_deps.settings.public_status_rate_limit = 2
    client = bot_app.test_client()
    answers = [await wechat(client, f"查询 {CODE}", 7200 + i, "openid-same") for i in range(3)]
    assert "频繁" in answers[2]
    assert "没有找到" in await wechat(client, f"查询 {CODE}", 7300, "openid-other")
