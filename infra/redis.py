"""The Redis client: the real server when ``MINSHENG_REDIS_URL`` is set, otherwise fakeredis.

Both speak ``redis.asyncio``'s API, so the rest of the code has one path.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from infra.settings import Settings


def make_redis(settings: Settings) -> aioredis.Redis:
    if settings.redis_url:
        return aioredis.from_url(settings.redis_url, decode_responses=True)
    import fakeredis

    return fakeredis.FakeAsyncRedis(decode_responses=True)


async def ping_redis(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except Exception:  # noqa: BLE001 - health check reports, never raises
        return False


class ScriptBatch:
    """Group commit for Redis scripts: the calls made during one turn of the event loop go to
    Redis together, as one pipeline (one connection, one round trip). Each caller still awaits
    its own result, or its own error. Used on the bot's hot path, where every message makes two
    script calls and many messages arrive together."""

    def __init__(self, client: aioredis.Redis):
        self.client = client
        self._queue: list[tuple[Any, list, list, asyncio.Future]] = []
        self._running: set[asyncio.Task] = set()

    async def call(self, script: Any, keys: list, args: list) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((script, keys, args, future))
        if len(self._queue) == 1:
            # Runs after the callbacks already due in this turn: their calls join the batch.
            loop.call_soon(self._send)
        return await future

    def _send(self) -> None:
        batch, self._queue = self._queue, []
        task = asyncio.ensure_future(self._run(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[Any, list, list, asyncio.Future]]) -> None:
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for script, keys, args, _ in batch:
                    await script(keys=keys, args=args, client=pipe)
                results = await pipe.execute(raise_on_error=False)
        except BaseException as err:
            for *_, future in batch:
                if not future.done():
                    future.set_exception(err if isinstance(err, Exception) else ConnectionError())
            if not isinstance(err, Exception):
                raise
            return
        for (*_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue  # its caller gave up (cancelled)
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
