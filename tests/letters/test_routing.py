"""Screening and routing (001 §22–24, §29)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.letters_port import letter_status
from infra.errors import DomainError
from letters.models import DECLINE_REASONS, Letter, LetterEvent, LetterUnit, Reminder
from letters.replies import public_letter_status
from letters.routing import accept_letter, decline_letter, instruct_letter, transfer_letter
from letters.service import get_letter
from org.models import AuditRecord


async def _reload(letter_id: int) -> Letter:
    return await Letter.get(id=letter_id).select_related("unit")


async def test_mayors_mailbox_goes_to_a_leader_then_to_the_units_named(
    deps, submit, actors, units, sender
):
    letter = await submit("mayor")
    assert letter.unit.code == "QY-BGS"
    await accept_letter(deps, actors["cityleader"], letter.id, {"note": "请市领导阅示"})
    letter = await _reload(letter.id)
    assert letter.status == "instructing" and letter.due_on == dt.date(2026, 12, 8)
    assert any(m == "13800000006" for m, _ in sender.sent)  # the city leader is told
    with pytest.raises(DomainError) as exc:  # a handler does not instruct
        await instruct_letter(deps, actors["handler"], letter.id, {"instruction": "x"})
    assert exc.value.status in (403, 404)
    with pytest.raises(DomainError) as exc:
        await instruct_letter(deps, actors["cityleader"], letter.id, {"instruction": "请办理"})
    assert "办理单位" in exc.value.message
    sender.sent.clear()
    await instruct_letter(
        deps,
        actors["cityleader"],
        letter.id,
        {
            "instruction": "请市人社局牵头，公积金中心配合，认真答复。",
            "unit_ids": [units["QY-RSJ"].id, units["QY-GJJ"].id],
        },
    )
    letter = await _reload(letter.id)
    assert letter.status == "handling" and letter.unit.code == "QY-RSJ"
    assert letter.due_on == dt.date(2026, 12, 8)  # counted from acceptance
    assert await LetterUnit.filter(letter_id=letter.id, unit_id=units["QY-GJJ"].id).exists()
    recipients = {m for m, _ in sender.sent}
    assert "13800000004" in recipients  # RSJ's handler
    assert "13700000001" in recipients  # GJJ's handler (co-handling)
    # The co-handling unit reads the letter (identity masked); another unit does not.
    view = await get_letter(deps, actors["gjjhandler"], letter.id)
    assert view["writer"]["masked"] is True
    with pytest.raises(DomainError) as exc:
        await get_letter(deps, actors["xfhandler"], letter.id)
    assert exc.value.status == 404
    actions = [e.action for e in await LetterEvent.filter(letter_id=letter.id).order_by("id")]
    assert actions == ["received", "accepted", "instructed", "assigned"]


async def test_department_mailbox_goes_to_that_department(deps, submit, actors, units):
    letter = await submit("department", unit_id=units["QY-RSJ"].id)
    assert letter.unit.code == "QY-RSJ"
    with pytest.raises(DomainError):  # the petitions office cannot screen another unit's mail
        await accept_letter(deps, actors["xfhandler"], letter.id, {})
    await accept_letter(deps, actors["handler"], letter.id, {})
    letter = await _reload(letter.id)
    assert letter.status == "handling" and letter.unit.code == "QY-RSJ"
    assert await Reminder.filter(letter_id=letter.id, kind="assigned").count() == 1


async def test_complaints_are_forwarded_by_the_petitions_office(deps, submit, actors, units):
    letter = await submit("complaint", content="河西县教育局招生窗口工作人员态度恶劣，推诿不办。")
    assert letter.unit.code == "QY-XFJ"
    await accept_letter(deps, actors["xfhandler"], letter.id, {"unit_id": units["QY-HX-JYJ"].id})
    letter = await _reload(letter.id)
    assert letter.unit.code == "QY-HX-JYJ" and letter.status == "handling"
    with pytest.raises(DomainError) as exc:  # only once
        await accept_letter(deps, actors["xfhandler"], letter.id, {})
    assert exc.value.status == 404  # no longer the petitions office's letter


async def test_consultations_go_to_the_unit_the_screener_picks(deps, submit, actors, units):
    letter = await submit("consultation")
    with pytest.raises(DomainError) as exc:
        await accept_letter(
            deps, actors["xfhandler"], letter.id, {"unit_id": units["QY-RSJ-BGS"].id}
        )
    assert "内设机构" in exc.value.message
    assert (await _reload(letter.id)).status == "new"
    await accept_letter(deps, actors["xfhandler"], letter.id, {"unit_id": units["QY-GJJ"].id})
    assert (await _reload(letter.id)).unit.code == "QY-GJJ"


async def test_a_unit_without_a_handler_is_refused_by_name(deps, submit, handling, actors, units):
    """Issue 13 item 7: 东桥镇 has nobody to handle letters. Accepting to it, transferring to
    it or a leader's instruction naming it is refused with the unit's name; nothing moves."""
    town = units["QY-HX-DQ"]
    letter = await submit("consultation")
    with pytest.raises(DomainError) as exc:
        await accept_letter(deps, actors["xfhandler"], letter.id, {"unit_id": town.id})
    assert exc.value.code == "no_handler"
    assert "「河西县东桥镇人民政府」还没有办理人" in exc.value.message
    assert (await _reload(letter.id)).status == "new"
    assert not await LetterEvent.filter(letter_id=letter.id, action="accepted").exists()
    handled = await handling()
    with pytest.raises(DomainError) as exc:
        await transfer_letter(
            deps, actors["handler"], handled.id, {"unit_id": town.id, "reason": "属地"}
        )
    assert exc.value.code == "no_handler"
    assert (await _reload(handled.id)).unit.code == "QY-RSJ"
    mayor = await submit("mayor")
    await accept_letter(deps, actors["cityleader"], mayor.id, {})
    with pytest.raises(DomainError) as exc:
        await instruct_letter(
            deps,
            actors["cityleader"],
            mayor.id,
            {"instruction": "请办理", "unit_ids": [units["QY-RSJ"].id, town.id]},
        )
    assert exc.value.code == "no_handler" and (await _reload(mayor.id)).status == "instructing"


async def test_transfer_keeps_the_deadline_and_needs_a_reason(
    deps, handling, actors, units, clock, sender
):
    letter = await handling()
    due = letter.due_on
    clock.advance(days=4)
    with pytest.raises(DomainError) as exc:
        await transfer_letter(deps, actors["handler"], letter.id, {"unit_id": units["QY-GJJ"].id})
    assert "转办理由" in exc.value.message
    sender.sent.clear()
    await transfer_letter(
        deps,
        actors["handler"],
        letter.id,
        {"unit_id": units["QY-GJJ"].id, "reason": "属公积金中心职责"},
    )
    letter = await _reload(letter.id)
    assert letter.unit.code == "QY-GJJ" and letter.due_on == due
    assert [m for m, _ in sender.sent] == ["13700000001"]
    assert await AuditRecord.filter(action="letter.transfer").count() == 1
    # The old unit no longer handles it.
    with pytest.raises(DomainError):
        await transfer_letter(
            deps, actors["handler"], letter.id, {"unit_id": units["QY-RSJ"].id, "reason": "x"}
        )


@pytest.mark.parametrize("reason", ["porn", "abuse", "ad", "empty"])
async def test_decline_with_a_recorded_reason(deps, submit, actors, reason):
    letter = await submit("suggestion", content="你好")
    await decline_letter(deps, actors["xfhandler"], letter.id, {"reason": reason, "note": "见内容"})
    letter = await _reload(letter.id)
    assert letter.status == "declined" and letter.decline_reason == reason
    event = await LetterEvent.get(letter_id=letter.id, action="declined")
    assert event.data["reason"] == reason
    assert await AuditRecord.filter(action="letter.decline", object_id=str(letter.id)).exists()
    # The writer learns which of 001 §29's grounds it was, by tracking code, on the status page
    # and in the chat; the screener's own note stays inside.
    shown = await public_letter_status(deps, letter.code)
    assert shown["decline_reason"] == DECLINE_REASONS[reason] and "见内容" not in str(shown)
    told = await letter_status(deps, letter.code)
    assert f"原因：{DECLINE_REASONS[reason]}" in told and "见内容" not in told


async def test_decline_needs_a_known_reason_and_changes_nothing_otherwise(deps, submit, actors):
    letter = await submit()
    with pytest.raises(DomainError) as exc:
        await decline_letter(deps, actors["xfhandler"], letter.id, {"reason": "boring"})
    assert "不予受理的理由" in exc.value.message
    with pytest.raises(DomainError) as exc:
        await decline_letter(deps, actors["xfhandler"], letter.id, {"reason": "repeat"})
    assert "重复" in exc.value.message
    assert (await _reload(letter.id)).status == "new"


async def test_repeat_is_proposed_and_declined_linked_to_the_earlier_letter(
    deps, submit, handling, actors
):
    first = await handling(
        content="我家小区门口的路灯坏了三个月了，晚上出行很不安全，希望尽快修好。"
    )
    other_writer = await submit(
        content="小区门口的路灯坏了三个月了，晚上出门很不安全，希望尽快维修。",
        writer={"mobile": "13900000000"},
        channel="web",
    )
    assert not [p for p in other_writer.proposals if p["kind"] == "repeat"]
    again = await submit(
        content="小区门口路灯已经坏了三个月，晚上出行不安全，请尽快修好！",
        channel="web",  # another channel, same mobile
    )
    repeats = [p for p in again.proposals if p["kind"] == "repeat"]
    assert [p["letter_id"] for p in repeats] == [first.id]
    with pytest.raises(DomainError):  # not the same writer
        await decline_letter(
            deps,
            actors["xfhandler"],
            again.id,
            {"reason": "repeat", "repeat_of_id": other_writer.id},
        )
    await decline_letter(deps, actors["xfhandler"], again.id, {"reason": "repeat"})
    again = await _reload(again.id)
    assert again.status == "declined" and again.repeat_of_id == first.id


async def test_repeats_outside_the_window_are_not_proposed(deps, submit, clock):
    await submit(content="请问公积金贷款的额度怎么计算，最高可以贷多少？")
    clock.advance(days=deps.settings.letter_repeat_window_days + 1)
    later = await submit(content="请问公积金贷款额度如何计算，最高能贷多少？")
    assert not [p for p in later.proposals if p["kind"] == "repeat"]


async def test_obvious_ads_abuse_porn_and_empty_letters_are_proposed(submit):
    cases = {
        "ad": "限时抢购！加微信abc12345领取优惠券，全网最低价。",
        "abuse": "你们这些狗官，王八蛋，办事拖拖拉拉！",
        "porn": "提供上门色情服务，欢迎来电。",
        "empty": "在吗在吗？",
    }
    for kind, content in cases.items():
        letter = await submit(content=content, writer={})
        assert kind in [p["kind"] for p in letter.proposals], (kind, letter.proposals)
    letter = await submit(content="社区门口的垃圾桶满了三天没人清运，气味很大，请尽快处理。")
    assert letter.proposals == []
