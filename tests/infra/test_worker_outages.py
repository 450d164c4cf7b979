"""The worker outlives Redis and database outages: backoff, one log line per outage, resume."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging

import fakeredis
import pytest

from infra.deps import build_deps
from infra.jobs import HEARTBEAT_KEY, Job, backoff_seconds, run_forever
from infra.redis import make_redis
from infra.settings import Settings
from tests.faults import RedisServer


@pytest.fixture
def deps(clock, sender):
    """No database: these jobs are stand-ins."""
    return build_deps(
        Settings(),
        clock=clock,
        redis=fakeredis.FakeAsyncRedis(decode_responses=True),
        sender=sender,
    )


async def wait_for(predicate, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "infra.jobs" and r.levelno >= 30]


async def test_backoff_doubles_up_to_the_cap():
    assert [backoff_seconds(n, 60) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_seconds(10_000, 60) == 60


async def test_worker_survives_redis_kill_and_resumes(deps, caplog):
    server = RedisServer().start()
    settings = deps.settings.model_copy(
        update={
            "redis_url": server.url,
            "worker_heartbeat_seconds": 0.2,
            "worker_backoff_max_seconds": 0.3,
        }
    )
    client = make_redis(settings)
    d = dataclasses.replace(deps, settings=settings, redis=client)
    runs: list[int] = []

    async def work(_):
        runs.append(1)

    caplog.set_level(logging.INFO, logger="infra.jobs")
    worker = asyncio.ensure_future(run_forever(d, [Job("tick", 1, work)], tick_seconds=0.05))
    try:
        assert await wait_for(lambda: _true(runs), 5)
        assert await client.get(HEARTBEAT_KEY)

        server.kill()
        await asyncio.sleep(2.5)  # several ticks and backoffs with Redis gone
        assert not worker.done(), worker.exception() if worker.done() else None
        assert len(outage_lines(caplog)) == 1  # once per outage, not per tick
        assert "Redis不可用" in outage_lines(caplog)[0]

        server.start()  # same port, empty: the job's key and the heartbeat went with it
        before = len(runs)

        async def resumed() -> bool:
            return len(runs) > before and bool(await client.get(HEARTBEAT_KEY))

        assert await wait_for(resumed, 5)
        assert not worker.done()
        lines = outage_lines(caplog)
        assert len(lines) == 2 and "已恢复" in lines[1]
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await client.aclose()
        server.kill()


async def _true(items: list) -> bool:
    return bool(items)


async def test_a_job_failing_on_a_database_outage_pauses_the_tick_and_logs_once(deps, caplog):
    """A job that cannot reach the database stops the tick (the other jobs would fail alike),
    its key is released so that it runs again as soon as the database is back."""
    settings = deps.settings.model_copy(update={"worker_backoff_max_seconds": 0.1})
    d = dataclasses.replace(
        deps, settings=settings, redis=fakeredis.FakeAsyncRedis(decode_responses=True)
    )
    calls: list[str] = []
    down = {"left": 4}

    async def needs_db(_):
        calls.append("db")
        if down["left"]:
            down["left"] -= 1
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    async def other(_):
        calls.append("other")

    caplog.set_level(logging.INFO, logger="infra.jobs")
    jobs = [Job("needs_db", 3600, needs_db), Job("other", 3600, other)]
    worker = asyncio.ensure_future(run_forever(d, jobs, tick_seconds=0.02))
    try:
        assert await wait_for(lambda: _true([c for c in calls if c == "other"]), 5)
        assert calls == ["db"] * 5 + ["other"]  # retried at once after the outage, hourly job
        lines = outage_lines(caplog)
        assert len(lines) == 2, lines
        assert "不可用" in lines[0] and "已恢复" in lines[1]
        assert not any(r.exc_info for r in caplog.records if r.name == "infra.jobs")
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


async def test_a_cancel_swallowed_inside_a_job_still_stops_the_worker(deps):
    """A library that loses a cancel (redis-py's timeouts can, on Python 3.11) must not leave
    the worker running with its stop request pending: shutdown would wait for it forever."""
    started = asyncio.Event()

    async def swallowing(_):
        started.set()
        with contextlib.suppress(asyncio.CancelledError):  # lost, as in a timeout race
            await asyncio.sleep(10)

    worker = asyncio.ensure_future(
        run_forever(deps, [Job("swallowing", 1, swallowing)], tick_seconds=0.02)
    )
    await asyncio.wait_for(started.wait(), 5)
    worker.cancel()
    done, _ = await asyncio.wait([worker], timeout=2)
    if not done:
        worker.cancel()  # still running: stop it for good before failing
        await asyncio.wait([worker], timeout=1)
    assert done and worker.cancelled()
