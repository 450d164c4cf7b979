"""The clock and the official working-day calendar (rows, chinese_calendar, weekday fallback)."""

import datetime as dt
import logging

import pytest

from infra.clock import SHANGHAI, Clock, FixedClock, WorkCalendar, add_calendar_days, to_local

D = dt.date


@pytest.fixture
def cal():
    return WorkCalendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2025, 9, 26), True),  # Friday
        (D(2025, 9, 27), False),  # Saturday
        (D(2025, 9, 28), True),  # Sunday, make-up workday for National Day
        (D(2025, 10, 1), False),  # National Day, Wednesday
        (D(2025, 10, 6), False),
        (D(2025, 10, 8), False),  # last day of the holiday, Wednesday
        (D(2025, 10, 9), True),
        (D(2025, 10, 11), True),  # Saturday, make-up workday
        (D(2025, 10, 12), False),  # Sunday
        (D(2026, 2, 13), True),  # Friday before Spring Festival 2026
        (D(2026, 2, 14), True),  # Saturday, make-up workday
        (D(2026, 2, 16), False),  # Spring Festival, Monday
        (D(2026, 2, 20), False),  # Spring Festival, Friday
        (D(2026, 2, 23), False),  # last day of Spring Festival, Monday
        (D(2026, 2, 24), True),
        (D(2026, 2, 28), True),  # Saturday, make-up workday
    ],
)
def test_official_holidays_and_make_up_workdays(cal, day, working):
    assert cal.is_working_day(day) is working


def test_add_working_days_skips_national_day(cal):
    assert cal.add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert cal.add_working_days(D(2025, 9, 30), 3) == D(2025, 10, 11)  # lands on make-up Saturday
    assert cal.add_working_days(D(2025, 9, 30), 4) == D(2025, 10, 13)


def test_add_working_days_counts_make_up_days(cal):
    assert cal.add_working_days(D(2025, 9, 26), 1) == D(2025, 9, 28)  # make-up Sunday
    assert cal.add_working_days(D(2025, 10, 10), 1) == D(2025, 10, 11)  # make-up Saturday
    assert cal.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert cal.add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)  # over Spring Festival


def test_add_working_days_zero_and_negative(cal):
    assert cal.add_working_days(D(2025, 10, 1), 0) == D(2025, 10, 1)
    with pytest.raises(ValueError):
        cal.add_working_days(D(2025, 10, 1), -1)


def test_working_days_between(cal):
    assert cal.working_days_between(D(2025, 9, 30), D(2025, 10, 8)) == 0
    assert cal.working_days_between(D(2025, 9, 30), D(2025, 10, 11)) == 3
    assert cal.working_days_between(D(2025, 9, 26), D(2025, 9, 28)) == 1
    assert cal.working_days_between(D(2025, 10, 9), D(2025, 10, 9)) == 0
    assert cal.working_days_between(D(2025, 10, 9), D(2025, 10, 1)) == 0
    start = D(2026, 2, 10)
    for n in (1, 5, 15):
        assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


def test_knows_year_from_the_package_until_rows_are_loaded(cal):
    assert cal.knows_year(2025)
    assert cal.knows_year(2026)
    assert not cal.knows_year(2090)
    cal.load([(D(2090, 10, 1), "holiday")])
    assert cal.knows_year(2090)


def test_loaded_rows_decide_and_the_rest_of_their_year_counts_weekdays(cal):
    cal.load(
        [
            (D(2090, 10, 2), "holiday"),  # a Monday
            (D(2090, 10, 7), "workday"),  # a Saturday
        ]
    )
    assert not cal.is_working_day(D(2090, 10, 2))
    assert cal.is_working_day(D(2090, 10, 7))
    assert cal.is_working_day(D(2090, 10, 3))
    assert not cal.is_working_day(D(2090, 10, 8))  # Sunday
    assert cal.add_working_days(D(2090, 9, 29), 1) == D(2090, 10, 3)
    # A year without rows still answers from the package.
    assert not cal.is_working_day(D(2025, 10, 1))


def test_unknown_year_falls_back_to_weekdays_and_warns_once_per_year(cal, caplog):
    caplog.set_level(logging.WARNING, logger="infra.clock")
    assert cal.is_working_day(D(2093, 10, 2))  # a Friday: would be National Day
    assert not cal.is_working_day(D(2093, 10, 3))  # Saturday
    assert cal.add_working_days(D(2093, 10, 2), 1) == D(2093, 10, 5)
    assert cal.working_days_between(D(2093, 12, 31), D(2094, 1, 7)) == 5  # into 2094
    assert cal.add_working_days(D(2094, 1, 7), 10) == D(2094, 1, 21)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "2093" in warnings[0].getMessage()
    assert "2094" in warnings[1].getMessage()


def test_add_calendar_days_ignores_holidays():
    assert add_calendar_days(D(2025, 9, 30), 1) == D(2025, 10, 1)
    assert add_calendar_days(D(2025, 9, 30), 8) == D(2025, 10, 8)
    assert add_calendar_days(D(2026, 12, 31), 1) == D(2027, 1, 1)


def test_fixed_clock_needs_an_aware_datetime():
    with pytest.raises(ValueError):
        FixedClock(dt.datetime(2026, 11, 23, 10, 0))


def test_fixed_clock_stands_still_and_advances(clock):
    start = clock.now()
    assert clock.now() == start
    clock.advance(hours=1, minutes=30)
    assert clock.now() == start + dt.timedelta(hours=1, minutes=30)
    clock.advance(seconds=0.5)
    assert clock.now() - start == dt.timedelta(hours=1, minutes=30, seconds=0.5)


def test_today_is_the_shanghai_date():
    clock = FixedClock(dt.datetime(2026, 11, 23, 15, 59, tzinfo=dt.UTC))
    assert clock.today() == D(2026, 11, 23)
    clock.set(dt.datetime(2026, 11, 23, 17, 0, tzinfo=dt.UTC))
    assert clock.today() == D(2026, 11, 24)
    assert to_local(clock.now()) == dt.datetime(2026, 11, 24, 1, 0, tzinfo=SHANGHAI)
    assert to_local(clock.now()).hour == 1


def test_real_clock_is_utc_and_current():
    now = Clock().now()
    assert now.utcoffset() == dt.timedelta(0)
    assert abs(now - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)


def test_beijing_date_is_the_day_in_beijing_not_the_utc_day():
    from infra.clock import beijing_date, beijing_midnight

    early = dt.datetime(2026, 11, 23, 21, 32, tzinfo=dt.UTC)  # 05:32 on the 24th in Beijing
    assert early.date() == D(2026, 11, 23)
    assert beijing_date(early) == D(2026, 11, 24)
    assert beijing_date(dt.datetime(2026, 11, 23, 15, 59, tzinfo=dt.UTC)) == D(2026, 11, 23)
    # Naive moments and SQLite's text are UTC, as stored.
    assert beijing_date(dt.datetime(2026, 11, 23, 21, 32)) == D(2026, 11, 24)
    assert beijing_date("2026-11-23 21:32:00+00:00") == D(2026, 11, 24)
    assert FixedClock(early).today() == beijing_date(early)
    midnight = beijing_midnight(D(2026, 11, 24))
    assert midnight == dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)
    assert beijing_date(midnight) == D(2026, 11, 24)
    assert beijing_date(midnight - dt.timedelta(seconds=1)) == D(2026, 11, 23)
