"""Redis, real and in-process, through the one redis.asyncio API."""

import asyncio
import random
import time

import fakeredis
import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection

from infra.redis import PackedConnection, ScriptBatch, make_redis, ping_redis
from infra.settings import Settings
from tests.conftest import need_server
from tests.faults import RedisServer, TcpProxy

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


def _packed(connection: Connection, args: tuple):
    try:
        return b"".join(connection.pack_command(*args))
    except Exception as err:  # noqa: BLE001 - the same refusal is expected of both
        return type(err)


def test_commands_are_packed_byte_for_byte_as_redis_py_packs_them():
    ours = PackedConnection(encoding="utf-8")
    theirs = Connection(encoding="utf-8")
    rng = random.Random(16)
    heads = [
        "EVALSHA",
        "GET",
        "SET",
        "SCRIPT LOAD",
        "CLIENT\tLIST",
        " GET",
        "",
        b"GET",
        b"SCRIPT LOAD",
    ]
    values = [
        *["", "bot:conv:wechat:demo:openid-1", "怎么办理居住证？", "a b", "😀", "\r\n", "-"],
        *[b"", b"\x00\xff", 0, -1, 7, 2**70, 1.5, -0.0, 1e16, 1700000000.123456, float("inf")],
        *[memoryview(b"view"), True, None, "x" * 3000, b"y" * 7000],
    ]
    for _ in range(3000):
        args = (rng.choice(heads), *(rng.choice(values) for _ in range(rng.randint(0, 16))))
        assert _packed(ours, args) == _packed(theirs, args), args
    script_call = ("EVALSHA", "a" * 40, 2, "k1", "k2", 1, 300, "token:1700000000.5", 30.0)
    assert ours.pack_command(*script_call) == [_packed(theirs, script_call)]  # packed at once


def test_a_redis_url_gets_the_packing_connection():
    client = make_redis(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert client.connection_pool.connection_class is PackedConnection


async def test_script_calls_of_one_turn_share_one_round_trip(any_redis, monkeypatch):
    incr = any_redis.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    fail = any_redis.register_script("return redis.error_reply('nope')")
    batch = ScriptBatch(any_redis)
    pipelines = []
    real = any_redis.pipeline

    def counting(*args, **kw):
        pipelines.append(1)
        return real(*args, **kw)

    # The first calls of a script load it into Redis; round trips are counted after that.
    await asyncio.gather(
        batch.call(incr, ["n"], [0]), batch.call(fail, [], []), return_exceptions=True
    )
    monkeypatch.setattr(any_redis, "pipeline", counting)
    calls = [batch.call(incr, ["n"], [i]) for i in range(1, 6)]
    results = await asyncio.gather(*calls, batch.call(fail, [], []), return_exceptions=True)
    assert results[:5] == [1, 3, 6, 10, 15]  # in order, as one pipeline runs them
    assert isinstance(results[5], aioredis.ResponseError)  # only its caller sees the error
    assert len(pipelines) == 1
    assert await batch.call(incr, ["n"], [1]) == 16  # a later turn: a new batch


@pytest.fixture(params=["fake", "real"])
async def own_redis(request):
    """A Redis of this test's own: SCRIPT FLUSH empties the whole server's script cache."""
    if request.param == "fake":
        client = fakeredis.FakeAsyncRedis(decode_responses=True)
        yield client
        await client.aclose()
        return
    server = RedisServer().start()
    client = aioredis.from_url(server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()
        server.kill()


async def test_scripts_redis_lost_are_loaded_again_and_each_call_runs_once(own_redis, monkeypatch):
    """After a restart (or SCRIPT FLUSH) Redis answers NOSCRIPT: the batch loads the scripts and
    sends those calls again, without asking SCRIPT EXISTS before every batch."""
    incr = own_redis.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    other = own_redis.register_script("return redis.call('INCRBY', KEYS[1], 100)")
    batch = ScriptBatch(own_redis)
    assert await batch.call(incr, ["flushed"], [1]) == 1  # never loaded before: loaded now
    sent: list[str] = []
    real = own_redis.execute_command

    async def recording(*args, **kw):
        sent.append(str(args[0]).upper())
        return await real(*args, **kw)

    monkeypatch.setattr(own_redis, "execute_command", recording)
    await own_redis.script_flush()
    results = await asyncio.gather(
        batch.call(incr, ["flushed"], [2]),
        batch.call(other, ["other"], []),
        batch.call(incr, ["flushed"], [3]),
    )
    assert results == [3, 100, 6]  # each call ran once, in order
    assert await own_redis.get("flushed") == "6"
    assert sent.count("SCRIPT LOAD") == 2 and "SCRIPT EXISTS" not in sent
    assert await batch.call(incr, ["flushed"], [1]) == 7
    assert sent.count("SCRIPT LOAD") == 2  # loaded once


async def test_a_lost_server_fails_every_call_of_the_batch():
    client = aioredis.from_url(CLOSED_PORT)
    try:
        batch = ScriptBatch(client)
        script = client.register_script("return 1")
        results = await asyncio.gather(
            *(batch.call(script, [], []) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, aioredis.ConnectionError) for r in results)
    finally:
        await client.aclose()


async def _burst(client: aioredis.Redis, n: int) -> list:
    """n requests at once, each as the bot's hot path does it: commands and a batched script."""
    script = client.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    batch = ScriptBatch(client)

    async def one(i: int):
        await client.set(f"restart:{i}", i, ex=60)
        assert await client.get(f"restart:{i}") == str(i)
        return await batch.call(script, [f"restart:n{i}"], [1])

    return await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)


async def test_a_redis_restart_costs_no_command_once_it_is_back():
    """kill -9 leaves every pooled connection dead; the retry replaces them on first use."""
    server = RedisServer().start()
    client = make_redis(Settings(redis_url=server.url))
    try:
        assert not [r for r in await _burst(client, 60) if isinstance(r, Exception)]
        assert len(client.connection_pool._available_connections) > 10  # a warm pool
        server.kill()
        down = await _burst(client, 5)
        assert all(isinstance(r, aioredis.ConnectionError) for r in down)
        server.start()
        failed = [r for r in await _burst(client, 60) if isinstance(r, Exception)]
        assert failed == []
    finally:
        await client.aclose()
        server.kill()


async def test_a_silent_redis_fails_within_the_retry_budget():
    """A server that accepts connections and never answers (hung, or a dropped network) costs
    about twice the timeout, not the nested retries' (retries + 1)² timeouts."""
    server = RedisServer().start()
    proxy = await TcpProxy(server.port).up()
    proxy.black_hole()
    client = make_redis(Settings(redis_url=f"redis://127.0.0.1:{proxy.port}/0"))
    started = time.monotonic()
    try:
        with pytest.raises(aioredis.TimeoutError):
            await asyncio.wait_for(client.get("anything"), 10)
        assert time.monotonic() - started < 3 * Settings().redis_timeout_seconds
    finally:
        await client.aclose()
        await proxy.down()
        server.kill()
