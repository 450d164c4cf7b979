"""The official calendar as data: seeding ``cal_day`` from ``chinese_calendar`` and keeping each
process's in-memory ``WorkCalendar`` current.

Deadlines are computed from memory (a letters bench computes thousands), never a query per day.
A change is announced by bumping ``cal:version`` in Redis; each process checks that key at most
once a second when it computes a deadline and reloads the (few hundred) rows when it moved. With
Redis lost the key reads as missing and every process still reloads once a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time

import chinese_calendar

from infra.clock import Clock, WorkCalendar
from infra.models import CalendarDay

log = logging.getLogger(__name__)

VERSION_KEY = "cal:version"
CHECK_SECONDS = 1.0
RELOAD_SECONDS = 60.0

# What chinese_calendar calls the holidays, as the State Council's notices name them.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def notice_title(year: int) -> str:
    return f"国务院办公厅关于{year}年部分节假日安排的通知"


def package_rows(clock: Clock) -> list[CalendarDay]:
    now = clock.now()
    rows = []
    for kind, table in (
        ("holiday", chinese_calendar.holidays),
        ("workday", chinese_calendar.workdays),
    ):
        for day, name in table.items():
            rows.append(
                CalendarDay(
                    day=day,
                    kind=kind,
                    name=HOLIDAY_NAMES.get(name, str(name))[:32],
                    note=f"{notice_title(day.year)}（chinese_calendar 导入）",
                    source="package",
                    updated_at=now,
                )
            )
    return rows


async def seed_calendar(clock: Clock) -> int:
    """Insert the package's days of every year that has no rows yet (idempotent: a year an admin
    has edited, or one seeded before, is left as it is, so a deleted day does not come back)."""
    have = set(await CalendarDay.all().distinct().values_list("day", flat=True))
    years = {d.year for d in have}
    rows = [r for r in package_rows(clock) if r.day.year not in years]
    if not rows:
        return 0
    await CalendarDay.bulk_create(rows, ignore_conflicts=True)
    log.info("official calendar: %d days seeded from chinese_calendar", len(rows))
    return len(rows)


async def announce_calendar(redis) -> None:
    try:
        await redis.incr(VERSION_KEY)
    except Exception:
        # Other processes then pick the change up by their periodic reload.
        log.warning("could not announce the calendar change in Redis", exc_info=True)


async def refresh_calendar(cal: WorkCalendar, redis=None, *, force: bool = False) -> None:
    now = time.monotonic()
    if not force and now - cal.checked_at < CHECK_SECONDS:
        return
    cal.checked_at = now
    version = cal.version
    if redis is not None:
        try:
            raw = await redis.get(VERSION_KEY)
            version = None if raw is None else str(raw)
        except Exception:
            log.warning("calendar version unreadable in Redis; reloading by time", exc_info=True)
    fresh = cal.loaded_at != -math.inf and now - cal.loaded_at < RELOAD_SECONDS
    if not force and fresh and version == cal.version:
        return
    try:
        rows = await CalendarDay.all().values_list("day", "kind")
    except Exception:
        log.warning("calendar not reloaded (database unavailable)", exc_info=True)
        return
    cal.load([(day, kind) for day, kind in rows], version)


def missing_next_year(cal: WorkCalendar, today: dt.date) -> int | None:
    """From 1 November, next year when neither the table nor the package knows it."""
    if today.month >= 11 and not cal.knows_year(today.year + 1):
        return today.year + 1
    return None
