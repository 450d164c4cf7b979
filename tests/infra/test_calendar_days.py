"""The official calendar as data: seeded from chinese_calendar once per year, loaded into memory,
and reloaded in every process when a change is announced in Redis (or, with Redis lost, by time)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from infra import calendar_days
from infra.calendar_days import (
    announce_calendar,
    missing_next_year,
    refresh_calendar,
    seed_calendar,
)
from infra.clock import WorkCalendar
from infra.models import CalendarDay

D = dt.date


async def test_seeding_copies_the_package_once_and_keeps_deletions(db, clock):
    n = await seed_calendar(clock)
    assert n == len(chinese_calendar.holidays) + len(chinese_calendar.workdays)
    spring = await CalendarDay.get(day=D(2026, 2, 16))
    assert (spring.kind, spring.name, spring.source) == ("holiday", "春节", "package")
    assert "国务院办公厅关于2026年部分节假日安排的通知" in spring.note
    assert (await CalendarDay.get(day=D(2026, 2, 14))).kind == "workday"
    assert await seed_calendar(clock) == 0
    await CalendarDay.filter(day=D(2026, 2, 28)).delete()  # an admin corrected the year
    assert await seed_calendar(clock) == 0
    assert not await CalendarDay.exists(day=D(2026, 2, 28))

    cal = WorkCalendar()
    await refresh_calendar(cal, None, force=True)
    assert not cal.is_working_day(D(2025, 10, 1))
    assert cal.is_working_day(D(2025, 9, 28))  # make-up Sunday, from the rows
    assert not cal.is_working_day(D(2026, 2, 28))  # the deleted make-up Saturday is a Saturday


async def test_a_change_announced_in_redis_reaches_another_process(db, clock, any_redis):
    await seed_calendar(clock)
    web, worker = WorkCalendar(), WorkCalendar()
    for cal in (web, worker):
        await cal.refresh(any_redis)
    assert not worker.knows_year(2027)
    assert worker.add_working_days(D(2026, 12, 31), 2) == D(2027, 1, 4)

    await CalendarDay.create(
        day=D(2027, 1, 1), kind="holiday", name="元旦", note="通知", updated_at=clock.now()
    )
    await announce_calendar(any_redis)
    worker.checked_at -= calendar_days.CHECK_SECONDS  # a second later
    await worker.refresh(any_redis)
    assert worker.knows_year(2027)
    assert worker.add_working_days(D(2026, 12, 31), 2) == D(2027, 1, 5)


async def test_without_redis_each_process_still_reloads_by_time(db, clock):
    web = WorkCalendar()
    await web.refresh(None)
    await CalendarDay.create(day=D(2027, 1, 1), kind="holiday", note="通知", updated_at=clock.now())
    web.checked_at -= calendar_days.CHECK_SECONDS
    await web.refresh(None)
    assert not web.knows_year(2027)  # within the reload interval
    web.checked_at -= calendar_days.RELOAD_SECONDS
    web.loaded_at -= calendar_days.RELOAD_SECONDS
    await web.refresh(None)
    assert web.knows_year(2027)


def test_next_years_calendar_is_missed_from_november():
    cal = WorkCalendar()
    assert missing_next_year(cal, D(2026, 10, 31)) is None
    assert missing_next_year(cal, D(2026, 11, 1)) == 2027
    cal.load([(D(2027, 1, 1), "holiday")])
    assert missing_next_year(cal, D(2026, 11, 1)) is None
    assert missing_next_year(cal, D(2025, 11, 1)) is None  # 2026 is in the package


def test_migrate_seeds_the_calendar_once(tmp_path, monkeypatch, capsys):
    import asyncio

    from infra.db import close_db, open_db
    from infra.settings import Settings
    from quart_app import main

    url = f"sqlite://{tmp_path}/m.db"
    monkeypatch.setenv("MINSHENG_DATABASE_URL", url)
    assert main(["migrate"]) == 0
    assert "从 chinese_calendar 导入" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "导入" not in capsys.readouterr().out

    async def count() -> int:
        await open_db(Settings(database_url=url))
        try:
            return await CalendarDay.filter(day__gte=D(2026, 1, 1)).count()
        finally:
            await close_db()

    assert asyncio.run(count()) == 39
