"""Periodic jobs run once per interval across workers sharing one Redis."""

from __future__ import annotations

import asyncio
import dataclasses

from infra.jobs import Job, run_due_jobs


async def test_job_runs_once_per_interval_across_workers(deps, any_redis):
    d = dataclasses.replace(deps, redis=any_redis)
    runs = []

    async def work(_):
        runs.append(1)
        await asyncio.sleep(0.01)

    job = Job("test_once", 60, work)
    # Two workers tick at the same moment; then one ticks again within the interval.
    results = await asyncio.gather(run_due_jobs(d, [job]), run_due_jobs(d, [job]))
    assert sorted(len(r) for r in results) == [0, 1]
    assert await run_due_jobs(d, [job]) == []
    assert len(runs) == 1
    await any_redis.delete("job:test_once")  # the interval has passed
    assert await run_due_jobs(d, [job]) == ["test_once"]
    assert len(runs) == 2


async def test_failing_job_is_retried_next_tick_and_others_still_run(deps, any_redis):
    d = dataclasses.replace(deps, redis=any_redis)
    calls = []

    async def broken(_):
        calls.append("broken")
        raise RuntimeError("boom")

    async def fine(_):
        calls.append("fine")

    jobs = [Job("test_broken", 3600, broken), Job("test_fine", 3600, fine)]
    assert await run_due_jobs(d, jobs) == ["test_fine"]
    assert await run_due_jobs(d, jobs) == []
    assert calls == ["broken", "fine", "broken"]


async def test_app_jobs_purge_and_retry(deps, sender):
    import datetime as dt

    from org.models import AuditRecord
    from quart_app import jobs

    old = deps.clock.now() - dt.timedelta(days=400)
    await AuditRecord.create(at=old, action="old.thing")
    sender.fail_next = 1
    note = await deps.notifier.send_notification("13800000009", "提醒", purpose="test")
    deps.clock.advance(minutes=5)
    # Every job of every package runs on an empty city without failing (a failed job would be
    # missing: run_due_jobs names the ones that finished). fit_matcher has nothing to learn
    # from yet and says so; the supervision jobs build last week's patrol and month's list.
    everything = jobs()
    assert len(everything) == 19
    assert sorted(await run_due_jobs(deps, everything)) == sorted(j.name for j in everything)
    assert not await AuditRecord.filter(action="old.thing").exists()
    await note.refresh_from_db()
    assert note.status == "sent"


async def test_idle_jobs_log_at_debug_busy_jobs_at_info(deps, caplog):
    """A job that did nothing (0, None, {'sent': 0}) does not fill the log every 5 seconds."""
    import logging

    results = {"test_idle": 0, "test_idle_dict": {"sent": 0, "failed": 0}, "test_busy": 3}

    def job_for(name):
        async def run(_):
            return results[name]

        return Job(name, 60, run)

    with caplog.at_level(logging.INFO, logger="infra.jobs"):
        await run_due_jobs(deps, [job_for(n) for n in results])
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "test_busy done: 3" in logged
    assert "test_idle" not in logged
