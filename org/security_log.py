"""The security log: refusals of anonymous traffic, counted per source, kind and minute.

Why not the audit log: audit records are kept a year and cannot be deleted, and a refusal of an
anonymous request costs the sender nothing, so one record each let anyone fill the table (436
junk requests, 436 permanent rows). Staff's refused actions stay in the audit log.

Why Redis counters flushed by the worker, not a database upsert per request: a flood must cost
the database nothing. A refusal is one pipelined round trip to Redis (a hash per minute,
``source|kind`` -> count); the worker's ``flush_security_log`` moves each closed minute into
``org_security_event``, one row per (minute, source, kind). Distinct sources per minute are
capped: past the cap a refusal is counted under source ``*``, so even a flood from spoofed or
rotating addresses writes a bounded number of rows. Losing Redis loses at most the open minutes'
counts, which is acceptable for a log of junk (the refusal itself is still answered and logged
by the process).

The same refusals feed a per-source window count: a source past ``refusal_limit`` refusals in
``refusal_window_seconds`` is answered 429 before its session, body or password is looked at.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from infra.clock import Clock
from org.access import Actor
from org.models import SecurityEvent

log = logging.getLogger(__name__)

MINUTES_KEY = "seclog:minutes"
MAX_SOURCES_PER_MINUTE = 500
OVERFLOW_SOURCE = "*"
RETENTION_DAYS = 180  # six months, as 004 §11(二) asks of network logs


def _minute(clock: Clock) -> dt.datetime:
    return clock.now().astimezone(dt.UTC).replace(second=0, microsecond=0)


def _key(minute: dt.datetime) -> str:
    return f"seclog:{minute:%Y%m%d%H%M}"


def _block_key(source: str) -> str:
    return f"rl:refused:{source}"


async def note_refusal(
    redis: aioredis.Redis, clock: Clock, *, source: str, kind: str, window_seconds: int = 60
) -> int:
    """Count one refusal; returns the source's refusals in its current window (0 if unknown)."""
    source = (source or "-")[:64]
    kind = kind[:96]
    minute = _minute(clock)
    key = _key(minute)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hlen(key)
            pipe.hexists(key, f"{source}|{kind}")
            size, known = await pipe.execute()
        field = f"{source if known or size < MAX_SOURCES_PER_MINUTE else OVERFLOW_SOURCE}|{kind}"
        block = _block_key(source)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, field, 1)
            pipe.expire(key, 24 * 3600)  # the worker flushes long before; a stray key goes away
            pipe.sadd(MINUTES_KEY, f"{minute:%Y%m%d%H%M}")
            pipe.set(block, 0, ex=window_seconds, nx=True)
            pipe.incr(block)
            *_, count = await pipe.execute()
        return int(count)
    except RedisError:
        log.warning("security log: Redis unavailable, refusal %s from %s not counted", kind, source)
        return 0


async def is_blocked(redis: aioredis.Redis, source: str, limit: int) -> bool:
    """Whether the source has had more than ``limit`` refusals in its current window."""
    if limit <= 0:
        return False
    try:
        count = await redis.get(_block_key((source or "-")[:64]))
    except RedisError:
        return False  # without Redis nobody is blocked: the refusals themselves still hold
    return count is not None and int(count) > limit


async def open_counts(redis: aioredis.Redis) -> dict[tuple[str, str], int]:
    """(source, kind) -> refusals of the minutes not yet flushed to the database."""
    counts: dict[tuple[str, str], int] = {}
    for stamp in await redis.smembers(MINUTES_KEY):
        for field, n in (await redis.hgetall(f"seclog:{stamp}")).items():
            source, _, kind = field.partition("|")
            counts[(source, kind)] = counts.get((source, kind), 0) + int(n)
    return counts


async def flush_security_log(redis: aioredis.Redis, clock: Clock) -> int:
    """Move every closed minute's counts into the database; returns the rows written.

    A minute is claimed by renaming its hash, so two workers never both add it. A crash between
    the database commit and the delete would add that minute once more on the next run.
    """
    current = f"{_minute(clock):%Y%m%d%H%M}"
    written = 0
    for stamp in sorted(await redis.smembers(MINUTES_KEY)):
        if stamp >= current:
            continue
        claimed = f"seclog:flushing:{stamp}"
        try:
            await redis.rename(f"seclog:{stamp}", claimed)
        except RedisError:
            # Gone (another worker claimed it) unless an earlier run crashed mid-flush.
            if not await redis.exists(claimed):
                await redis.srem(MINUTES_KEY, stamp)
                continue
        counts = await redis.hgetall(claimed)
        minute = dt.datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
        async with in_transaction():
            for field, n in counts.items():
                source, _, kind = field.partition("|")
                updated = await SecurityEvent.filter(
                    minute=minute, source=source, kind=kind
                ).update(count=F("count") + int(n))
                if not updated:
                    await SecurityEvent.create(
                        minute=minute, source=source, kind=kind, count=int(n)
                    )
                written += 1
        await redis.delete(claimed)
        await redis.srem(MINUTES_KEY, stamp)
    cutoff = clock.now() - dt.timedelta(days=RETENTION_DAYS)
    await SecurityEvent.filter(minute__lt=cutoff).delete()
    return written


async def search_security_log(
    actor: Actor, filters: dict[str, Any], *, limit: int = 50, offset: int = 0
) -> tuple[int, list[SecurityEvent]]:
    """Supervisors read the aggregated refusals, newest minute first."""
    actor.require("supervisor")
    qs = SecurityEvent.all()
    if v := filters.get("source"):
        qs = qs.filter(source=str(v)[:64])
    if v := filters.get("kind"):
        qs = qs.filter(kind__icontains=str(v)[:96])
    if v := filters.get("since"):
        qs = qs.filter(minute__gte=v)
    if v := filters.get("until"):
        qs = qs.filter(minute__lt=v)
    total = await qs.count()
    rows = await qs.order_by("-minute", "-count", "id").offset(offset).limit(min(limit, 500))
    return total, rows


def event_view(e: SecurityEvent) -> dict[str, Any]:
    return {"minute": e.minute.isoformat(), "source": e.source, "kind": e.kind, "count": e.count}
