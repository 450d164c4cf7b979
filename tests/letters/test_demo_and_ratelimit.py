"""The demo letters, and the generic rate limit the public status page uses."""

from __future__ import annotations

import asyncio

from infra.ratelimit import hit
from letters.demo import seed_demo_letters
from letters.models import Letter, Outbox
from org.demo import seed_demo


async def test_demo_letters_show_each_state_and_seed_once(deps):
    await seed_demo(deps)
    assert await seed_demo_letters(deps) == 6
    assert await seed_demo_letters(deps) == 0
    statuses = sorted(await Letter.all().values_list("status", flat=True))
    assert statuses == ["declined", "handling", "handling", "instructing", "new", "replied"]
    assert await Letter.filter(supervised_at__isnull=False).count() == 1
    assert await Outbox.all().count() == 0  # the answered demo letter came by the web


async def test_rate_limit_counts_per_key_and_window(any_redis):
    results = await asyncio.gather(
        *[hit(any_redis, "t:1.2.3.4", limit=5, window_seconds=60) for _ in range(8)]
    )
    assert sorted(results) == [False] * 3 + [True] * 5
    assert await hit(any_redis, "t:5.6.7.8", limit=5, window_seconds=60)
    assert 0 < await any_redis.ttl("rl:t:1.2.3.4") <= 60
    await any_redis.delete("rl:t:1.2.3.4")  # the window has passed
    assert await hit(any_redis, "t:1.2.3.4", limit=5, window_seconds=60)
