"""Reminders, the supervision list (001 §27) and the daily check (001 §28)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from infra.deps import build_deps
from infra.errors import DomainError
from letters.models import Extension, InboxOpen, Letter, LetterEvent, MissedCheck, Reminder
from letters.service import list_inbox
from letters.supervision import (
    add_supervision_note,
    list_missed_checks,
    list_supervision,
    record_missed_checks,
    send_letter_reminders,
)

RSJ_HANDLERS = {"13800000004", "13700000003"}  # handler, rsjhandler2


def _to(sender, mobiles) -> list[str]:
    return [body for m, body in sender.sent if m in mobiles]


async def test_each_reminder_once_even_when_the_job_runs_twice(deps, handling, clock, sender):
    letter = await handling()  # due Tue 12-08
    sender.sent.clear()
    assert await send_letter_reminders(deps) == 0  # 15 days left
    clock.set(dt.datetime(2026, 12, 5, 1, tzinfo=dt.UTC))  # 3 days left
    assert await send_letter_reminders(deps) == 1
    assert await send_letter_reminders(deps) == 0
    clock.set(dt.datetime(2026, 12, 7, 1, tzinfo=dt.UTC))  # 1 day left
    assert await send_letter_reminders(deps) == 1
    assert await send_letter_reminders(deps) == 0
    clock.set(dt.datetime(2026, 12, 9, 1, tzinfo=dt.UTC))  # overdue
    assert await send_letter_reminders(deps) == 1
    clock.advance(days=3)
    assert await send_letter_reminders(deps) == 0
    kinds = await Reminder.filter(letter_id=letter.id).order_by("id").values_list("kind", flat=True)
    assert kinds == ["assigned", "due3", "due1", "overdue"]
    bodies = _to(sender, RSJ_HANDLERS)
    assert len(bodies) == 2 * 3  # two handlers, three reminders
    assert sum("已逾期" in b for b in bodies) == 2
    letter = await Letter.get(id=letter.id)
    assert letter.supervised_at is not None
    assert await LetterEvent.filter(letter_id=letter.id, action="overdue").count() == 1
    # What was sent is recorded, masked.
    r = await Reminder.get(letter_id=letter.id, kind="overdue")
    assert sorted(r.recipients) == ["137****0003", "138****0004"]


async def test_two_workers_at_once_send_each_reminder_once(deps, handling, clock, sender, db):
    letters = [await handling() for _ in range(3)]
    clock.set(dt.datetime(2026, 12, 9, 1, tzinfo=dt.UTC))
    sender.sent.clear()
    # Two workers: their own deps (notifier, clock), one database, running at the same moment.
    other = build_deps(deps.settings, clock=clock, redis=deps.redis, sender=sender)
    results = await asyncio.gather(send_letter_reminders(deps), send_letter_reminders(other))
    assert sum(results) == 3
    assert await Reminder.filter(kind="overdue").count() == 3
    assert len([b for b in _to(sender, RSJ_HANDLERS) if "已逾期" in b]) == 3 * 2
    for letter in letters:
        assert await LetterEvent.filter(letter_id=letter.id, action="overdue").count() == 1


async def test_an_extension_brings_new_reminders_for_the_new_deadline(
    deps, handling, clock, actors
):
    from letters.deadlines import decide_extension, request_extension

    letter = await handling()
    clock.set(dt.datetime(2026, 12, 6, 1, tzinfo=dt.UTC))
    await send_letter_reminders(deps)
    await request_extension(deps, actors["handler"], letter.id, {"days": 7, "reason": "核查"})
    await decide_extension(deps, actors["leader"], letter.id, {"approve": True})
    clock.set(dt.datetime(2026, 12, 13, 1, tzinfo=dt.UTC))
    await send_letter_reminders(deps)
    keys = await Reminder.filter(letter_id=letter.id).order_by("id").values_list("key", flat=True)
    ext = await Extension.get(letter_id=letter.id)
    assert keys[1:] == ["due3:2026-12-08", f"extension:{ext.id}", "due3:2026-12-15"]


async def test_supervision_list_and_instructions(deps, handling, clock, actors, sender):
    letter = await handling()
    fresh = await handling()
    with pytest.raises(DomainError):  # not overdue yet
        await add_supervision_note(deps, actors["supervisor"], fresh.id, {"text": "请加快"})
    clock.set(dt.datetime(2026, 12, 10, 1, tzinfo=dt.UTC))
    await Letter.filter(id=fresh.id).update(due_on=dt.date(2026, 12, 20))
    await send_letter_reminders(deps)
    total, rows = await list_supervision(actors["supervisor"])
    assert total == 1 and rows[0].id == letter.id
    with pytest.raises(DomainError) as exc:
        await list_supervision(actors["handler"])
    assert exc.value.status == 403
    with pytest.raises(DomainError) as exc:
        await add_supervision_note(deps, actors["leader"], letter.id, {"text": "请加快"})
    assert exc.value.status == 403
    with pytest.raises(DomainError) as exc:
        await add_supervision_note(deps, actors["supervisor"], letter.id, {"text": " "})
    assert "督办意见" in exc.value.message
    sender.sent.clear()
    await add_supervision_note(
        deps, actors["supervisor"], letter.id, {"text": "请于12月12日前办结并报告。"}
    )
    event = await LetterEvent.get(letter_id=letter.id, action="supervised")
    assert event.note == "请于12月12日前办结并报告。" and event.actor_name == "孙丽"
    assert {m for m, _ in sender.sent} == RSJ_HANDLERS
    assert all("督办意见" in b for _, b in sender.sent)
    # Answered: off the list.
    from letters.replies import write_reply

    deps.settings.letter_review_kinds = ""
    await write_reply(deps, actors["handler"], letter.id, {"text": "已办理完毕，答复如下……"})
    assert (await list_supervision(actors["supervisor"]))[0] == 0


async def test_daily_check_records_units_that_did_not_open_their_list(
    deps, handling, clock, actors, units
):
    await handling(unit="QY-RSJ")
    await handling(unit="QY-GJJ")
    # Monday 11-23: RSJ's handler opens the pending list, nobody at GJJ does.
    total, rows = await list_inbox(deps, actors["handler"])
    await list_inbox(deps, actors["handler"])
    assert total == 1 and await InboxOpen.all().count() == 1
    clock.set(dt.datetime(2026, 11, 24, 1, tzinfo=dt.UTC))  # Tuesday morning
    assert await record_missed_checks(deps) == 1
    assert await record_missed_checks(deps) == 0  # idempotent
    missed = await MissedCheck.all().select_related("unit")
    assert [(m.unit.code, m.day, m.pending) for m in missed] == [
        ("QY-GJJ", dt.date(2026, 11, 23), 1)
    ]
    rows = await list_missed_checks(actors["supervisor"])
    assert rows == [
        {
            "day": "2026-11-23",
            "unit_id": units["QY-GJJ"].id,
            "unit_name": units["QY-GJJ"].name,
            "pending": 1,
        }
    ]
    with pytest.raises(DomainError):
        await list_missed_checks(actors["handler"])
    # Weekends are not checked: on Monday 11-30 the last working day is Friday 11-27.
    clock.set(dt.datetime(2026, 11, 30, 1, tzinfo=dt.UTC))
    assert await record_missed_checks(deps) == 2
    assert await record_missed_checks(deps, dt.date(2026, 11, 28)) == 0  # a Saturday


async def test_inbox_is_sorted_by_deadline_with_days_left(deps, handling, actors, clock):
    from letters.service import letter_view

    slow = await handling("consultation")
    fast = await handling("site_error")
    total, rows = await list_inbox(deps, actors["handler"])
    assert [r.id for r in rows] == [fast.id, slow.id]
    views = [letter_view(deps, actors["handler"], r) for r in rows]
    assert [v["days_left"] for v in views] == [2, 15]
    total, rows = await list_inbox(deps, actors["topleader"])  # a leader sees the subtree
    assert total == 2
    total, rows = await list_inbox(deps, actors["xfhandler"], queue="screening")
    assert total == 0


# ------------------------------------------------------------ the first run over a backlog


async def _backlog(handling, n: int) -> list[int]:
    """A handled letter and n more like it (same unit, same deadline Tue 12-08), written straight
    to the table as a year's backlog would be; all their ids."""
    base = await handling()
    copied = "kind channel content status received_at accepted_at assigned_at due_on updated_at"
    like = {f: getattr(base, f) for f in copied.split()}
    await Letter.bulk_create(
        [Letter(code=f"BL{i:08d}", unit_id=base.unit.id, **like) for i in range(n)]
    )
    return list(await Letter.all().order_by("id").values_list("id", flat=True))


def _reminded(sender) -> dict[int, int]:
    """How many overdue SMS each letter got."""
    import collections
    import re

    return collections.Counter(
        int(re.search(r"来信#(\d+)", body).group(1))
        for m, body in sender.sent
        if m in RSJ_HANDLERS and "已逾期" in body
    )


async def test_a_backlog_is_reminded_in_batches_each_letter_once(
    deps, handling, clock, sender, actors
):
    ids = await _backlog(handling, 1100)  # three batches of the job
    longest = ids[-3:]  # overdue longest: first on the supervision list
    await Letter.filter(id__in=longest).update(due_on=dt.date(2026, 12, 1))
    clock.set(dt.datetime(2026, 12, 9, 1, tzinfo=dt.UTC))
    sender.sent.clear()
    assert await send_letter_reminders(deps) == len(ids)
    assert _reminded(sender) == {i: 2 for i in ids}  # two handlers each
    assert await send_letter_reminders(deps) == 0  # rerun the same day
    assert len(sender.sent) == 2 * len(ids)
    assert await Reminder.filter(kind="overdue").count() == len(ids)
    assert await LetterEvent.filter(action="overdue").count() == len(ids)
    assert await Letter.filter(supervised_at__isnull=True).count() == 0
    total, rows = await list_supervision(actors["supervisor"], limit=5)
    assert total == len(ids)
    assert [r.id for r in rows] == longest + [i for i in ids if i not in longest][:2]
    total, rows = await list_supervision(actors["supervisor"], limit=5, offset=len(ids) - 2)
    assert total == len(ids) and [r.id for r in rows] == ids[-5:-3]


async def test_a_failure_mid_backlog_loses_and_doubles_nothing(
    deps, handling, clock, sender, monkeypatch
):
    import letters.supervision as sup

    ids = await _backlog(handling, 1100)
    clock.set(dt.datetime(2026, 12, 9, 1, tzinfo=dt.UTC))
    sender.sent.clear()
    real, calls = sup._list_overdue, []

    async def fails_second_batch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        await real(*args)

    monkeypatch.setattr(sup, "_list_overdue", fails_second_batch)
    with pytest.raises(RuntimeError):
        await send_letter_reminders(deps)
    # The first batch is recorded (its SMS queued, not yet handed over); the second left no trace.
    assert await Reminder.filter(kind="overdue").count() == 500
    assert await Letter.filter(supervised_at__isnull=False).count() == 500
    monkeypatch.setattr(sup, "_list_overdue", real)
    assert await send_letter_reminders(deps) == len(ids) - 500
    assert _reminded(sender) == {i: 2 for i in ids}
    assert await send_letter_reminders(deps) == 0
    assert len(sender.sent) == 2 * len(ids)
    assert await LetterEvent.filter(action="overdue").count() == len(ids)


async def test_two_workers_over_a_backlog_remind_each_letter_once(
    deps, handling, clock, sender, db
):
    ids = await _backlog(handling, 700)
    clock.set(dt.datetime(2026, 12, 9, 1, tzinfo=dt.UTC))
    sender.sent.clear()
    other = build_deps(deps.settings, clock=clock, redis=deps.redis, sender=sender)
    results = await asyncio.gather(send_letter_reminders(deps), send_letter_reminders(other))
    assert sum(results) == len(ids)
    assert _reminded(sender) == {i: 2 for i in ids}
    assert await LetterEvent.filter(action="overdue").count() == len(ids)
