"""Redis and PostgreSQL outages seen from outside: 503 with Retry-After (never a 500 or a
traceback), WeChat answered in time with "success", and no errors once the server is back.

Redis is a throwaway redis-server of the test's own, killed with -9 and restarted; PostgreSQL is
the shared test server behind a TCP proxy that the test cuts, so nothing shared is stopped."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import fakeredis
import pytest
from tortoise import Tortoise

from accounts.demo import seed_demo_accounts
from adapters.wechat_protocol import sign
from infra.db import open_db
from infra.deps import build_deps
from infra.redis import make_redis
from knowledge.demo import seed_knowledge_demo
from knowledge.live import knowledge_index
from org.demo import seed_demo
from quart_app import create_app
from tests.faults import RedisServer, TcpProxy

TOKEN = "minsheng-demo"  # the demo WeChat account's token (accounts/demo.py)
_msg_ids = itertools.count(900_000)


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.kill()


@pytest.fixture
async def live_deps(settings, clock, sender, db, redis_server):
    """The demo city on a real redis-server of this test's own."""
    s = settings.model_copy(update={"redis_url": redis_server.url, "account_cache_seconds": 0.0})
    client = make_redis(s)
    deps = build_deps(s, clock=clock, redis=client, sender=sender)
    await seed_demo(deps)
    await seed_demo_accounts(deps)
    await seed_knowledge_demo(clock, client)
    await knowledge_index(deps).ensure_fresh()
    yield deps
    await client.aclose()


def chat(text: str, session: str | None = None) -> dict:
    return {"session": session or uuid.uuid4().hex, "text": text}


async def wechat_post(client, deps, text: str):
    ts = str(int(deps.clock.now().timestamp()))
    nonce = uuid.uuid4().hex[:10]
    query = f"timestamp={ts}&nonce={nonce}&signature={sign(TOKEN, ts, nonce)}"
    body = (
        "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName>"
        f"<FromUserName><![CDATA[openid-{nonce}]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{next(_msg_ids)}</MsgId></xml>"
    ).encode()
    started = time.monotonic()
    resp = await client.post(
        f"/wechat/demo?{query}", data=body, headers={"Content-Type": "text/xml"}
    )
    return resp, time.monotonic() - started


async def assert_unavailable_json(resp) -> None:
    assert resp.status_code == 503, await resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 0
    body = await resp.get_json()
    assert body["error"]["code"] == "unavailable"
    assert "稍后再试" in body["error"]["message"]
    assert "Traceback" not in await resp.get_data(as_text=True)


async def test_redis_down_answers_503_and_recovers(live_deps, redis_server):
    app = create_app(live_deps.settings, live_deps, manage_db=False)
    client = app.test_client()
    assert (await client.post("/api/chat", json=chat("怎么办居住证"))).status_code == 200

    redis_server.kill()
    await assert_unavailable_json(await client.post("/api/chat", json=chat("怎么办居住证")))
    health = await client.get("/healthz")
    assert health.status_code == 503 and (await health.get_json())["redis"] == "down"

    redis_server.start()
    resp = await client.post("/api/chat", json=chat("怎么办居住证"))
    assert resp.status_code == 200 and (await resp.get_json())["replies"]


async def test_a_redis_restart_costs_no_chat_request(live_deps, redis_server):
    """60 citizens at once, before and after kill -9 and restart: every one answered (the
    pooled connections are stale after the restart; the retry replaces them)."""
    app = create_app(live_deps.settings, live_deps, manage_db=False)
    client = app.test_client()

    async def burst() -> list[int]:
        texts = ["怎么办居住证", "社保卡丢了怎么办", "你好", "公积金怎么提取"]
        calls = [client.post("/api/chat", json=chat(texts[i % 4])) for i in range(60)]
        return [r.status_code for r in await asyncio.gather(*calls)]

    assert set(await burst()) == {200}
    redis_server.kill()
    redis_server.start()
    statuses = await burst()
    assert statuses.count(200) == 60, sorted(statuses)


async def test_wechat_answers_success_in_time_while_redis_is_down(live_deps, redis_server):
    app = create_app(live_deps.settings, live_deps, manage_db=False)
    client = app.test_client()
    redis_server.kill()
    resp, seconds = await wechat_post(client, live_deps, "怎么办居住证")
    assert resp.status_code == 200
    assert await resp.get_data(as_text=True) == "success"  # WeChat shows the citizen nothing
    assert seconds < 5


async def test_wechat_answers_in_time_while_redis_hangs(live_deps, redis_server):
    """A Redis that accepts connections and never answers: still inside WeChat's 5 seconds."""
    proxy = await TcpProxy(redis_server.port).up()
    proxy.black_hole()
    s = live_deps.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{proxy.port}/0"})
    hung = make_redis(s)
    try:
        d = dataclasses.replace(live_deps, settings=s, redis=hung)
        client = create_app(s, d, manage_db=False).test_client()
        resp, seconds = await wechat_post(client, d, "怎么办居住证")
        assert resp.status_code == 200 and seconds < 5
        text = await resp.get_data(as_text=True)
        assert text == "success" or "正在为您查询" in text  # no reply, or the interim one
        # A refusal is recorded in Redis too: a forged callback is not held past the 5 s either.
        started = time.monotonic()
        forged = await client.post(
            "/wechat/demo?timestamp=1&nonce=2&signature=forged",
            data=b"<xml></xml>",
            headers={"Content-Type": "text/xml"},
        )
        assert forged.status_code in (200, 403) and time.monotonic() - started < 5
    finally:
        await hung.aclose()
        await proxy.down()


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition(":")[0] if parts.port else parts.netloc
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))


@pytest.fixture
async def pg_proxy(db):
    """The test database reached through a proxy the test can cut, opened as serving opens it
    (infra.db.open_db: connect and command timeouts)."""
    target = urlsplit(db).port or 5432
    proxy = await TcpProxy(target, host=urlsplit(db).hostname or "127.0.0.1").up()
    yield proxy, _via(db, proxy.port)
    await proxy.down()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_postgres_down_or_hung_answers_503_in_time_and_recovers(
    settings, clock, sender, pg_proxy
):
    proxy, url = pg_proxy
    s = settings.model_copy(
        update={
            "database_url": url,
            "database_connect_timeout_seconds": 1.0,
            "database_command_timeout_seconds": 1.5,
            "account_cache_seconds": 0.0,
        }
    )
    deps = build_deps(
        s, clock=clock, redis=fakeredis.FakeAsyncRedis(decode_responses=True), sender=sender
    )
    await seed_demo(deps)
    await seed_demo_accounts(deps)
    await Tortoise.close_connections()
    await open_db(s)  # now through the proxy, with the serving timeouts
    client = create_app(s, deps, manage_db=False).test_client()
    bearer = {"Authorization": "Bearer ms_not-a-token"}
    assert (await client.get("/api/me", headers=bearer)).status_code == 401

    await proxy.down()  # PostgreSQL gone: connections reset, new ones refused
    await assert_unavailable_json(await client.get("/api/me", headers=bearer))
    page = await client.get("/console/", headers={"Cookie": "ms_session=whatever"})
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert page.mimetype == "text/html" and "服务暂时不可用" in await page.get_data(as_text=True)
    health = await client.get("/healthz")
    assert health.status_code == 503 and (await health.get_json())["database"] == "down"
    resp, seconds = await wechat_post(client, deps, "怎么办居住证")
    assert resp.status_code == 200 and await resp.get_data(as_text=True) == "success"

    await proxy.up()  # back: the pool reconnects by itself
    assert (await client.get("/api/me", headers=bearer)).status_code == 401
    assert (await client.get("/healthz")).status_code == 200

    proxy.black_hole()  # PostgreSQL hung: pooled connections and new ones never answer
    started = time.monotonic()
    await assert_unavailable_json(await asyncio.wait_for(client.get("/api/me", headers=bearer), 15))
    assert time.monotonic() - started < 4  # the command timeout, not asyncpg's 60 s
    resp, seconds = await wechat_post(client, deps, "怎么办居住证")
    assert resp.status_code == 200 and seconds < 5
    await Tortoise.close_connections()
