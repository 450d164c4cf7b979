"""Periodic maintenance jobs, run by ``minsheng worker`` (or inside ``serve`` in development).

Each job runs at most once per interval across all workers: a worker takes the job's Redis key
with SET NX and an expiry of the interval before running it. Losing Redis can make a job run one
extra time, never lose work: the jobs themselves are idempotent and their truth is the database.
Work with deadlines of its own (letters, scheduled reposts) lives in its package's tables.

The worker outlives outages of Redis and the database: a tick that finds one down waits 1 s,
2 s, 4 s, … (capped) before the next, logs the outage once and its end once, and carries on.
It writes a heartbeat key with an expiry, which /healthz reads.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from infra.deps import Deps
from infra.outage import NAMES, outage_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    run: Callable[[Deps], Awaitable[object]]


async def run_due_jobs(deps: Deps, jobs: list[Job]) -> list[str]:
    """Run each job whose interval has passed and that no other worker has taken; returns names.

    A job failing because Redis or the database is down ends the tick (raising): the others
    would fail alike, and the caller waits for the dependency."""
    ran = []
    for job in jobs:
        took = await deps.redis.set(f"job:{job.name}", "1", nx=True, ex=job.every_seconds)
        if not took:
            continue
        try:
            result = await job.run(deps)
        except Exception as err:
            # Let the next tick try again rather than waiting a whole interval.
            await _release(deps, job)
            if outage_of(err):
                raise
            log.exception("job %s failed", job.name)
            continue
        # Routine ticks that did nothing stay out of the log (they buried the [短信] codes).
        log.log(_level_of(result), "job %s done: %s", job.name, result)
        ran.append(job.name)
    return ran


def _level_of(result: object) -> int:
    """INFO when a job did something (a non-zero count, a non-empty result), else DEBUG."""
    did = any(result.values()) if isinstance(result, dict) else bool(result)
    return logging.INFO if did else logging.DEBUG


async def _release(deps: Deps, job: Job) -> None:
    try:
        await deps.redis.delete(f"job:{job.name}")
    except Exception as err:
        if not outage_of(err):
            raise
        # Redis is gone: the key expires with its interval (or went with the server).


HEARTBEAT_KEY = "worker:heartbeat"


async def write_heartbeat(deps: Deps) -> None:
    beat = deps.settings.worker_heartbeat_seconds
    await deps.redis.set(
        HEARTBEAT_KEY, deps.clock.now().isoformat(), ex=max(1, math.ceil(3 * beat))
    )


async def read_heartbeat(deps: Deps) -> str | None:
    """The last heartbeat of any worker (ISO time), None when none beat lately."""
    return await deps.redis.get(HEARTBEAT_KEY)


def _stop_if_cancelled() -> None:
    """Raise CancelledError when this task was asked to stop, even if the request was lost.

    A cancel that lands just as a library's own timeout completes (asyncio.timeout / wait_for
    inside redis-py) can be swallowed on Python 3.11: the task then runs on with its cancel
    pending, and whoever awaits it (shutdown, a test) waits forever. ``Task.cancelling()``
    still counts the request, so each turn of a long-running loop checks it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _beat_forever(deps: Deps) -> None:
    # Beside the jobs, not between them: a long job (a nightly fit) does not look like a dead
    # worker. Failures are the main loop's to report.
    while True:
        _stop_if_cancelled()
        try:
            await write_heartbeat(deps)
        except Exception:  # reported by the main loop
            log.debug("heartbeat not written", exc_info=True)
        await asyncio.sleep(deps.settings.worker_heartbeat_seconds)


def backoff_seconds(failures: int, cap: float) -> float:
    """The wait after the n-th consecutive failed tick: 1 s, 2 s, 4 s, … at most ``cap``."""
    return min(cap, 2.0 ** min(failures - 1, 30))


async def run_forever(deps: Deps, jobs: list[Job], tick_seconds: float = 15) -> None:
    tick_seconds = min([tick_seconds, *(job.every_seconds for job in jobs)])
    cap = max(tick_seconds, deps.settings.worker_backoff_max_seconds)
    heart = asyncio.ensure_future(_beat_forever(deps))
    failures = 0
    down_since = 0.0
    try:
        while True:
            _stop_if_cancelled()
            try:
                await run_due_jobs(deps, jobs)
            except Exception as err:
                failures += 1
                if failures == 1:
                    down_since = time.monotonic()
                    kind = outage_of(err)
                    if kind:
                        log.warning(
                            "%s不可用（%s）：定时任务暂停，恢复后继续（最长每 %.0f 秒重试一次）",
                            NAMES[kind],
                            type(err).__name__,
                            cap,
                        )
                    else:
                        log.exception("worker tick failed; retrying with backoff")
                await asyncio.sleep(backoff_seconds(failures, cap))
                continue
            if failures:
                log.warning(
                    "定时任务已恢复（中断 %.0f 秒，重试 %d 次）",
                    time.monotonic() - down_since,
                    failures,
                )
                failures = 0
            await asyncio.sleep(tick_seconds)
    finally:
        heart.cancel()
