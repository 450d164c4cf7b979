"""Dates told to citizens and deadlines are Beijing dates: a letter left and accepted at 05:32 in
Beijing (21:32 UTC the day before) was received and accepted that Beijing day, and its period
counts from it."""

from __future__ import annotations

import datetime as dt

from bot.letters_port import letter_status
from letters.codes import format_code
from letters.models import Letter
from letters.replies import public_letter_status, write_reply
from letters.routing import accept_letter

EARLY = dt.datetime(2026, 11, 23, 21, 32, tzinfo=dt.UTC)  # Tuesday 24 November, 05:32 in Beijing
ANSWER = "您好！灵活就业人员可持身份证到市人社局服务大厅或通过“清源人社”公众号办理参保登记。"


async def test_status_and_bot_text_show_the_beijing_date(deps, clock, submit, units, actors):
    deps.settings.letter_review_kinds = ""
    clock.set(EARLY)
    letter = await submit()
    status = await public_letter_status(deps, letter.code)
    assert status["received_on"] == "2026-11-24"
    # Before acceptance the chat's promise: 15 days from the Beijing day it was received.
    assert status["expected_due_on"] == "2026-12-09"

    await accept_letter(deps, actors["xfhandler"], letter.id, {"unit_id": units["QY-RSJ"].id})
    letter = await Letter.get(id=letter.id)
    assert letter.accepted_at == EARLY
    assert letter.due_on == dt.date(2026, 12, 9)  # 24 November + 15, not 23 November + 15
    await write_reply(deps, actors["handler"], letter.id, {"text": ANSWER})

    status = await public_letter_status(deps, letter.code)
    assert status["received_on"] == "2026-11-24"
    assert status["accepted_on"] == "2026-11-24"
    assert status["replied_on"] == "2026-11-24"
    assert status["replies"] == [{"text": ANSWER, "sent_on": "2026-11-24"}]

    text = await letter_status(deps, format_code(letter.code))
    assert "提交日期：2026-11-24" in text
    assert "答复（2026-11-24）" in text
    assert "2026-11-23" not in text


async def test_working_day_deadline_counts_from_the_beijing_day(deps, clock, submit, units, actors):
    # 2 working days. Friday 27 November 15:59 UTC is Friday 23:59 in Beijing: Monday and
    # Tuesday. Sunday 29 November 17:00 UTC is Monday 01:00 in Beijing: Tuesday and Wednesday
    # (counted from the UTC date, Sunday, it would be Monday and Tuesday).
    friday_late = dt.datetime(2026, 11, 27, 15, 59, tzinfo=dt.UTC)
    sunday_utc = dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC)
    dues = []
    for n, moment in enumerate((friday_late, sunday_utc)):
        clock.set(moment)
        letter = await submit("site_error", content=f"网站第{n + 1}个栏目的链接打不开，请修复。")
        await accept_letter(deps, actors["xfhandler"], letter.id, {"unit_id": units["QY-RSJ"].id})
        dues.append((await Letter.get(id=letter.id)).due_on)
    assert dues == [dt.date(2026, 12, 1), dt.date(2026, 12, 2)]


async def test_http_status_shows_the_beijing_date(app, deps, clock, submit):
    clock.set(EARLY)
    letter = await submit()
    client = app.test_client()
    r = await client.get(f"/api/public/letters/{format_code(letter.code)}")
    assert r.status_code == 200
    body = await r.get_json()
    assert body["received_on"] == "2026-11-24"
