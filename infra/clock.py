"""Time: an injectable clock and the official working-day calendar.

Times are stored in UTC and shown in Asia/Shanghai. A date shown to anyone or counted from (a
letter's received and accepted days, deadlines, reports by day) is the Beijing date of the moment:
``beijing_date``, never ``moment.date()``, which is the UTC date and a day early before 08:00.
Deadlines count either calendar days or working days on the official calendar (holidays and
make-up workdays: rows of ``cal_day``, seeded from ``chinese_calendar`` and entered by admins).
A year neither knows falls back to "weekdays are working days", with a warning.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    """The real clock. Services take a clock so tests can move time."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        """Today's date in China, which is what deadlines and reports count in."""
        return beijing_date(self.now())


class FixedClock(Clock):
    """A clock that stands still until told to move."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at

    def now(self) -> dt.datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at += dt.timedelta(**delta)

    def set(self, at: dt.datetime) -> None:
        self._at = at


def to_local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(SHANGHAI)


def beijing_date(moment: dt.datetime | str) -> dt.date:
    """The day it was in Beijing at this moment. Naive moments and ISO text (SQLite hands some
    aggregates back as text) are UTC, as everything is stored."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).date()


def beijing_midnight(day: dt.date) -> dt.datetime:
    """The UTC moment at which ``day`` begins in Beijing: the bound of a query by Beijing day."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI).astimezone(dt.UTC)


class WorkCalendar:
    """Working days on the official Chinese calendar, held in memory.

    The days off the ordinary week (holidays, make-up workdays) are rows of ``cal_day``
    (infra/calendar_days.py), seeded from ``chinese_calendar`` and entered by admins for the years
    it does not know. ``refresh`` reloads them when another process announces a change; until the
    first load (and for a year with no rows at all) the package's data answers. A year neither
    knows counts weekdays only, with a warning.
    """

    def __init__(self) -> None:
        self._warned_years: set[int] = set()
        self._days: dict[dt.date, bool] = {}  # day -> working?
        self._years: set[int] = set()  # years with at least one holiday row
        self.version: str | None = None
        self.checked_at = float("-inf")
        self.loaded_at = float("-inf")

    def load(self, rows: list[tuple[dt.date, str]], version: str | None = None) -> None:
        """Replace the in-memory calendar with these (day, kind) rows."""
        days = {day: kind == "workday" for day, kind in rows}
        self._days = days
        self._years = {day.year for day, working in days.items() if not working}
        self.version = version
        self.loaded_at = self.checked_at = time.monotonic()

    async def refresh(self, redis=None) -> None:
        from infra.calendar_days import refresh_calendar

        await refresh_calendar(self, redis)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._days:
            return self._days[day]
        if day.year in self._years:
            return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned_years:
                self._warned_years.add(day.year)
                log.warning(
                    "official calendar for %s unknown: no holidays entered (console 节假日) and "
                    "unknown to chinese_calendar %s; counting weekdays only",
                    day.year,
                    getattr(chinese_calendar, "__version__", "?"),
                )
            return day.weekday() < 5

    def knows_year(self, year: int) -> bool:
        if year in self._years:
            return True
        return package_knows_year(year)

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The date n working days after ``start`` (``start`` itself not counted)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        counted = 0
        while counted < n:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        days = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                days += 1
        return days


def package_knows_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def add_calendar_days(start: dt.date, n: int) -> dt.date:
    return start + dt.timedelta(days=n)
