"""Replies, their review and outbox, satisfaction and the one reopening, the knowledge base."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.errors import DomainError
from knowledge.models import Entry
from letters.models import Letter, Outbox, Rating, Reply
from letters.replies import (
    propose_kb_entry,
    public_letter_status,
    rate_letter,
    reply_templates,
    review_reply,
    write_reply,
)
from org.access import Actor

ANSWER = "您好！灵活就业人员可持身份证到市人社局服务大厅或通过“清源人社”公众号办理参保登记。"


async def test_reply_is_reviewed_then_queued_for_the_platform(deps, handling, actors):
    letter = await handling(platform_message_id="wx-1")
    with pytest.raises(DomainError) as exc:  # another unit's handler
        await write_reply(deps, actors["gjjhandler"], letter.id, {"text": ANSWER})
    assert exc.value.status == 404
    with pytest.raises(DomainError) as exc:
        await write_reply(
            deps,
            actors["handler"],
            letter.id,
            {"text": reply_templates(deps.settings)["consultation"]},
        )
    assert "模板" in exc.value.message
    await write_reply(deps, actors["handler"], letter.id, {"text": ANSWER})
    assert (await Letter.get(id=letter.id)).status == "reviewing"
    assert await Outbox.all().count() == 0
    with pytest.raises(DomainError) as exc:  # not one's own reply (a leader-handler would try)
        await review_reply(deps, actors["handler"], letter.id, {"approve": True})
    assert exc.value.status == 403
    with pytest.raises(DomainError) as exc:
        await review_reply(deps, actors["reviewer"], letter.id, {"approve": False})
    assert "审核意见" in exc.value.message
    await review_reply(
        deps, actors["reviewer"], letter.id, {"approve": False, "comment": "补充地址"}
    )
    assert (await Letter.get(id=letter.id)).status == "handling"
    await write_reply(deps, actors["handler"], letter.id, {"text": ANSWER + "地址：人民路1号。"})
    await review_reply(deps, actors["reviewer"], letter.id, {"approve": True})
    letter = await Letter.get(id=letter.id)
    assert letter.status == "replied" and letter.replied_at == deps.clock.now()
    out = await Outbox.get(letter_id=letter.id)
    assert (out.channel, out.platform_user_id, out.status) == ("wechat", "oAbCdEf123456", "pending")
    assert out.text.endswith("人民路1号。") and out.attempts == 0
    assert [r.status for r in await Reply.filter(letter_id=letter.id).order_by("id")] == [
        "rejected",
        "sent",
    ]


async def test_kinds_without_review_send_at_once_and_web_replies_show_on_the_status_page(
    deps, handling, actors
):
    deps.settings.letter_review_kinds = "complaint,disclosure"
    letter = await handling(channel="web")
    await write_reply(deps, actors["handler"], letter.id, {"text": ANSWER})
    assert (await Letter.get(id=letter.id)).status == "replied"
    assert await Outbox.all().count() == 0  # web: the status page is the way back
    status = await public_letter_status(deps, letter.code.lower())
    assert status["replies"] == [{"text": ANSWER, "sent_on": "2026-11-23"}]


async def test_not_satisfied_reopens_once_with_a_new_deadline(deps, handling, actors, clock):
    deps.settings.letter_review_kinds = ""
    letter = await handling(channel="web")
    await write_reply(deps, actors["handler"], letter.id, {"text": ANSWER})
    clock.advance(days=3)
    citizen = Actor.anonymous("10.0.0.9")
    await rate_letter(deps, citizen, letter.code, {"satisfied": False, "comment": "没解决"})
    letter = await Letter.get(id=letter.id)
    assert letter.status == "handling" and letter.reopened == 1
    assert letter.due_on == dt.date(2026, 12, 11)  # 11-26 + 15
    with pytest.raises(DomainError):  # nothing to rate while it is handled again
        await rate_letter(deps, citizen, letter.code, {"satisfied": False})
    await write_reply(deps, actors["handler"], letter.id, {"text": ANSWER + "（补充答复）"})
    await rate_letter(deps, citizen, letter.code, {"satisfied": False})
    letter = await Letter.get(id=letter.id)
    assert letter.status == "replied" and letter.reopened == 1  # not reopened twice
    with pytest.raises(DomainError) as exc:
        await rate_letter(deps, citizen, letter.code, {"satisfied": True})
    assert exc.value.status == 409
    ratings = await Rating.filter(letter_id=letter.id).order_by("round")
    assert [(r.round, r.satisfied, r.reopened, r.unit_id) for r in ratings] == [
        (0, False, True, letter.unit_id),
        (1, False, False, letter.unit_id),
    ]
    status = await public_letter_status(deps, letter.code)
    assert len(status["replies"]) == 2 and status["may_rate"] is False


async def test_satisfied_closes_for_good(deps, handling, actors):
    deps.settings.letter_review_kinds = ""
    letter = await handling(channel="web")
    await write_reply(deps, actors["handler"], letter.id, {"text": ANSWER})
    with pytest.raises(DomainError) as exc:
        await rate_letter(deps, Actor.anonymous(), letter.code, {"satisfied": "很满意"})
    assert "是否满意" in exc.value.message
    await rate_letter(
        deps, Actor.anonymous(), letter.code, {"satisfied": True, "comment": "办得快"}
    )
    assert (await Letter.get(id=letter.id)).status == "replied"
    # The timeline says the verdict, not only the comment (issue 13 item 12).
    from letters.models import LetterEvent

    rated = await LetterEvent.get(letter_id=letter.id, action="rated")
    assert rated.note == "满意：办得快"


async def test_kb_proposal_masks_personal_details(deps, handling, actors):
    deps.settings.letter_review_kinds = ""
    letter = await handling(
        channel="web",
        title="",
        writer={"name": "王小明", "mobile": "13912345678"},
        content="我叫王小明，电话13912345678，住幸福路12号3栋501室，车牌苏A12345被误罚，怎么申诉？",
    )
    with pytest.raises(DomainError):  # not answered yet
        await propose_kb_entry(deps, actors["handler"], letter.id, {})
    await write_reply(
        deps,
        actors["handler"],
        letter.id,
        {"text": "王小明您好，请携带身份证到交警大队申诉。王先生如有疑问可来电。"},
    )
    entry = await propose_kb_entry(deps, actors["handler"], letter.id, {})
    for secret in ("王小明", "王先生", "13912345678", "12号", "苏A12345"):
        assert secret not in entry.question and secret not in entry.answer
    entry = await Entry.get(id=entry.id)
    assert entry.status == "draft" and entry.source == "letter"
    assert entry.unit_id == letter.unit_id  # type: ignore[attr-defined]
    assert (await Letter.get(id=letter.id)).kb_entry_id == entry.id
    with pytest.raises(DomainError) as exc:
        await propose_kb_entry(deps, actors["handler"], letter.id, {})
    assert exc.value.status == 409


async def test_an_unedited_template_is_refused_however_it_arrives(deps, handling, actors):
    """Issue 13 item 9: the template as a browser sends it (CRLF), with only its placeholder
    deleted, or with the placeholder still in it is refused; a filled-in template is taken,
    and a stored reply that still holds a placeholder cannot be approved."""
    letter = await handling()
    template = reply_templates(deps.settings)["consultation"]
    filled = template.replace("【请在此填写具体答复】", ANSWER)
    for text, code in (
        (template.replace("\n", "\r\n"), "template_placeholder"),
        (template.replace("【请在此填写具体答复】", "\r\n\r\n"), "template_only"),
        (template + "\n另：已核实。", "template_placeholder"),
    ):
        with pytest.raises(DomainError) as exc:
            await write_reply(deps, actors["handler"], letter.id, {"text": text})
        assert exc.value.code == code and exc.value.details["field"] == "text"
    assert "【请在此填写具体答复】" in exc.value.message
    reply = await write_reply(deps, actors["handler"], letter.id, {"text": filled})
    assert reply.text == filled
    await Reply.filter(id=reply.id).update(text=template)  # as written before the check
    with pytest.raises(DomainError) as exc:
        await review_reply(deps, actors["reviewer"], letter.id, {"approve": True})
    assert exc.value.code == "template_placeholder"
    assert (await Letter.get(id=letter.id)).status == "reviewing"
