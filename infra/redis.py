"""The Redis client: the real server when ``MINSHENG_REDIS_URL`` is set, otherwise fakeredis.

Both speak ``redis.asyncio``'s API, so the rest of the code has one path.
"""

from __future__ import annotations

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
