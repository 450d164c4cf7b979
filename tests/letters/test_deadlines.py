"""Deadlines per kind on the official calendar, and the one extension (001 §16, §26; 004 §12)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from infra.clock import WorkCalendar
from infra.errors import DomainError
from infra.settings import Settings
from letters.deadlines import compute_due, decide_extension, request_extension
from letters.models import Extension, Letter

CAL = WorkCalendar()
S = Settings()


def test_calendar_days_run_over_weekends_and_end_on_a_working_day():
    # Mon 2026-11-23 + 15 = Tue 12-08, a working day.
    assert compute_due(S, CAL, "consultation", dt.date(2026, 11, 23)) == dt.date(2026, 12, 8)
    # 2026-09-16 + 15 = 10-01, National Day: the period ends on the next working day, 10-08.
    assert compute_due(S, CAL, "complaint", dt.date(2026, 9, 16)) == dt.date(2026, 10, 8)
    # 09-25 + 15 = Sat 10-10, a make-up workday: due that Saturday.
    assert compute_due(S, CAL, "mayor", dt.date(2026, 9, 25)) == dt.date(2026, 10, 10)


def test_working_days_skip_the_holiday_and_count_the_make_up_day():
    # From Wed 09-30: 10-01..07 holiday, Thu 10-08, Fri 10-09 -> 2 working days.
    assert compute_due(S, CAL, "site_error", dt.date(2026, 9, 30)) == dt.date(2026, 10, 9)
    # From Fri 10-09: Sat 10-10 is a make-up workday, so 2 working days end Mon 10-12.
    assert compute_due(S, CAL, "site_error", dt.date(2026, 10, 9)) == dt.date(2026, 10, 12)
    # Information disclosure: 15 working days from Thu 09-24, over Mid-autumn (09-25..27) and
    # National Day, counting the make-up Saturday 10-10: 09-28..30, 10-08..10, 10-12..16,
    # 10-19..22.
    start = dt.date(2026, 9, 24)
    due = compute_due(S, CAL, "disclosure", start)
    assert CAL.working_days_between(start, due) == 15
    assert due == dt.date(2026, 10, 22)


def test_entered_holidays_count_beyond_the_package(caplog):
    cal = WorkCalendar()
    cal.load([(dt.date(2027, 1, 1), "holiday")])  # 元旦 2027, as an admin enters it
    with caplog.at_level(logging.WARNING):
        # Thu 2026-12-31 + 2 working days: Fri 01-01 is a holiday, so Mon 01-04 and Tue 01-05.
        due = compute_due(S, cal, "site_error", dt.date(2026, 12, 31))
    assert cal.knows_year(2027)
    assert due == dt.date(2027, 1, 5)
    assert "2027" not in caplog.text


def test_years_nobody_entered_fall_back_to_weekdays(caplog):
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING):
        # Fri 2094-12-31 + 2 working days: Mon 2095-01-03 and Tue 01-04 (weekdays only).
        due = compute_due(S, cal, "site_error", dt.date(2094, 12, 31))
    assert due == dt.date(2095, 1, 4)
    assert "2095" in caplog.text


def test_deadline_figures_are_settings():
    s = Settings(letter_days=10, letter_site_error_working_days=5)
    assert compute_due(s, CAL, "suggestion", dt.date(2026, 11, 23)) == dt.date(2026, 12, 3)
    assert compute_due(s, CAL, "site_error", dt.date(2026, 11, 23)) == dt.date(2026, 11, 30)


async def test_accepting_sets_the_deadline(handling, deps):
    letter = await handling("site_error")
    assert letter.due_on == dt.date(2026, 11, 25)  # Mon + 2 working days
    letter = await handling("consultation")
    assert letter.due_on == dt.date(2026, 12, 8)


async def test_extension_once_at_most_15_days_by_a_leader_not_the_requester(handling, deps, actors):
    letter = await handling()
    h, leader = actors["handler"], actors["leader"]
    with pytest.raises(DomainError) as exc:
        await request_extension(deps, h, letter.id, {"days": 16, "reason": "需要实地核查"})
    assert "1至15天" in exc.value.message
    with pytest.raises(DomainError) as exc:
        await request_extension(deps, h, letter.id, {"days": 5})
    assert "延期理由" in exc.value.message
    with pytest.raises(DomainError) as exc:  # a leader of another unit
        await request_extension(deps, actors["gjjhandler"], letter.id, {"days": 5, "reason": "x"})
    assert exc.value.status == 404
    await request_extension(deps, h, letter.id, {"days": 10, "reason": "需要实地核查"})
    with pytest.raises(DomainError) as exc:
        await request_extension(deps, h, letter.id, {"days": 3, "reason": "再延"})
    assert "只能申请延期一次" in exc.value.message

    for who in ("handler", "rsjhandler2", "cityleader", "gjjleader"):
        with pytest.raises(DomainError) as exc:
            await decide_extension(deps, actors[who], letter.id, {"approve": True})
        assert exc.value.status in (403, 404)
    await decide_extension(deps, leader, letter.id, {"approve": True, "comment": "同意"})
    letter = await Letter.get(id=letter.id)
    assert letter.due_on == dt.date(2026, 12, 18) and letter.extended_days == 10
    with pytest.raises(DomainError):
        await decide_extension(deps, leader, letter.id, {"approve": True})


async def test_a_leader_above_decides_and_a_rejection_uses_the_one_chance(handling, deps, actors):
    letter = await handling()
    await request_extension(deps, actors["handler"], letter.id, {"days": 5, "reason": "材料多"})
    with pytest.raises(DomainError) as exc:
        await decide_extension(deps, actors["topleader"], letter.id, {"approve": False})
    assert "审批意见" in exc.value.message
    await decide_extension(
        deps, actors["topleader"], letter.id, {"approve": False, "comment": "请按期办结"}
    )
    assert (await Letter.get(id=letter.id)).due_on == dt.date(2026, 12, 8)
    assert (await Extension.get(letter_id=letter.id)).status == "rejected"
    with pytest.raises(DomainError):
        await request_extension(deps, actors["handler"], letter.id, {"days": 5, "reason": "再试"})


async def test_a_leader_cannot_approve_their_own_request(handling, deps, actors, units):
    from org.access import Actor

    letter = await handling()
    # A leader who is also a handler of the unit asks; only another leader may decide.
    both = Actor(
        actors["leader"].staff_id,
        "刘伟",
        frozenset({"leader", "handler"}),
        units["QY-RSJ"].id,
        units["QY-RSJ"].path,
        units["QY-RSJ"].name,
    )
    await request_extension(deps, both, letter.id, {"days": 5, "reason": "需要协调"})
    with pytest.raises(DomainError) as exc:
        await decide_extension(deps, both, letter.id, {"approve": True})
    assert "自己" in exc.value.message
