"""Redis, real and in-process, through the one redis.asyncio API."""

import asyncio

import fakeredis
import redis.asyncio as aioredis

from infra.redis import make_redis, ping_redis
from infra.settings import Settings
from tests.conftest import need_server

CLOSED_PORT = "redis://127.0.0.1:1/0"


async def test_set_get_returns_str(any_redis):
    await any_redis.set("greeting", "你好")
    assert await any_redis.get("greeting") == "你好"
    assert await any_redis.get("missing") is None


async def test_set_nx_with_expiry(any_redis):
    assert await any_redis.set("lock", "a", nx=True, ex=1)
    assert not await any_redis.set("lock", "b", nx=True, ex=1)
    assert await any_redis.get("lock") == "a"
    assert 0 < await any_redis.pttl("lock") <= 1000
    assert await any_redis.set("short", "x", nx=True, px=100)
    await asyncio.sleep(0.2)
    assert await any_redis.get("short") is None
    assert await any_redis.set("short", "y", nx=True, px=100)


async def test_ping(any_redis):
    assert await ping_redis(any_redis) is True


async def test_ping_false_when_unreachable():
    client = aioredis.from_url(CLOSED_PORT)
    try:
        assert await ping_redis(client) is False
    finally:
        await client.aclose()


async def test_make_redis_without_url_is_in_process():
    client = make_redis(Settings(redis_url=""))
    assert isinstance(client, fakeredis.FakeAsyncRedis)
    await client.set("k", "v")
    assert await client.get("k") == "v"
    await client.aclose()


async def test_make_redis_with_url_reaches_the_server():
    url = need_server("Redis", "TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = make_redis(Settings(redis_url=url))
    try:
        assert not isinstance(client, fakeredis.FakeAsyncRedis)
        assert await ping_redis(client)
        await client.set("make_redis_probe", "1", ex=5)
        assert await client.get("make_redis_probe") == "1"  # decode_responses
        await client.delete("make_redis_probe")
    finally:
        await client.aclose()
