"""Periodic maintenance jobs, run by ``minsheng worker`` (or inside ``serve`` in development).

Each job runs at most once per interval across all workers: a worker takes the job's Redis key
with SET NX and an expiry of the interval before running it. Losing Redis can make a job run one
extra time, never lose work: the jobs themselves are idempotent and their truth is the database.
Work with deadlines of its own (letters, scheduled reposts) lives in its package's tables.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from infra.deps import Deps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    run: Callable[[Deps], Awaitable[object]]


async def run_due_jobs(deps: Deps, jobs: list[Job]) -> list[str]:
    """Run each job whose interval has passed and that no other worker has taken; returns names."""
    ran = []
    for job in jobs:
        took = await deps.redis.set(f"job:{job.name}", "1", nx=True, ex=job.every_seconds)
        if not took:
            continue
        try:
            result = await job.run(deps)
        except Exception:
            log.exception("job %s failed", job.name)
            # Let the next tick try again rather than waiting a whole interval.
            await deps.redis.delete(f"job:{job.name}")
            continue
        log.info("job %s done: %s", job.name, result)
        ran.append(job.name)
    return ran


async def run_forever(deps: Deps, jobs: list[Job], tick_seconds: float = 15) -> None:
    tick_seconds = min([tick_seconds, *(job.every_seconds for job in jobs)])
    while True:
        await run_due_jobs(deps, jobs)
        await asyncio.sleep(tick_seconds)
