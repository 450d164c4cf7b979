"""A fixed-window rate limit in Redis, for public endpoints (status look-ups, the bot).

``hit`` counts one request against ``key`` and answers whether it is still within ``limit`` per
``window_seconds``. The window starts with the first request (SET NX with the expiry, then INCR,
in one transaction), so a key never lives without an expiry. Losing Redis resets the counts,
which only ever lets a few more requests in.
"""

from __future__ import annotations

import redis.asyncio as aioredis


async def hit(redis: aioredis.Redis, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one request; True while the key has made at most ``limit`` in the window."""
    if limit <= 0:
        return False
    full = f"rl:{key}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(full, 0, ex=window_seconds, nx=True)
        pipe.incr(full)
        _, count = await pipe.execute()
    return int(count) <= limit
