"""Tracking codes and durable, idempotent intake."""

from __future__ import annotations

import asyncio
import math

import pytest

from infra.errors import DomainError
from letters.codes import ALPHABET, LENGTH, format_code, new_code, normalize_code
from letters.intake import submit_letter
from letters.models import Letter, LetterEvent
from org.access import Actor
from org.models import AuditRecord


def test_tracking_codes_are_readable_and_unguessable():
    assert not set("0O1IL") & set(ALPHABET)
    assert LENGTH * math.log2(len(ALPHABET)) >= 40
    codes = {new_code() for _ in range(20000)}
    assert len(codes) == 20000
    assert all(len(c) == LENGTH and set(c) <= set(ALPHABET) for c in codes)
    code = new_code()
    shown = format_code(code)
    assert shown[5] == "-" and normalize_code(shown) == code
    assert normalize_code(" " + shown.lower().replace("-", " ") + " ") == code
    assert normalize_code("ＡＢＣＤＥ－ＦＧＨＪＫ") == "ABCDEFGHJK"  # full width
    assert normalize_code("ABCDE-FGHJ0") == ""  # 0 is never issued
    assert normalize_code("ABC") == "" and normalize_code(None) == ""


def test_the_example_code_citizens_are_shown_has_the_real_format():
    import re

    from bot.texts import STATUS_ASK_CODE

    example = re.search(r"如 ([0-9A-Z-]+)", STATUS_ASK_CODE).group(1)
    assert normalize_code(example) and format_code(normalize_code(example)) == example


async def test_letter_is_committed_with_code_event_and_audit(submit):
    letter = await submit("complaint")
    assert len(letter.code) == LENGTH and letter.status == "new"
    assert letter.unit.code == "QY-XFJ"  # complaints go through the petitions office
    assert [e.action for e in await LetterEvent.filter(letter_id=letter.id)] == ["received"]
    assert await AuditRecord.filter(action="letter.submit", object_id=str(letter.id)).exists()


async def test_first_unit_per_kind(submit, units, deps):
    assert (await submit("mayor")).unit.code == "QY-BGS"
    assert (await submit("department", unit_id=units["QY-GJJ"].id)).unit.code == "QY-GJJ"
    assert (await submit("suggestion")).unit.code == "QY-XFJ"
    deps.settings.letter_intake_unit_code = "QY-XXB"
    assert (await submit("site_error")).unit.code == "QY-XXB"
    assert (await submit("complaint")).unit.code == "QY-XFJ"


async def test_same_submission_twice_is_one_letter(deps, submit):
    a = await submit(platform_message_id="wx-msg-1")
    b = await submit(platform_message_id="wx-msg-1")
    c = await submit(platform_message_id="wx-msg-2")
    assert a.id == b.id and a.code == b.code and c.id != a.id
    d = await submit(channel="web", idempotency_key="form-42")
    e = await submit(channel="web", idempotency_key="form-42")
    assert d.id == e.id
    assert await Letter.all().count() == 3


async def test_concurrent_retries_make_one_letter(deps, units, db):
    body = {
        "kind": "consultation",
        "channel": "telegram",
        "content": "公积金贷款还清以后需要办理什么手续？",
        "platform_message_id": "tg-777",
        "writer": {"platform_user_id": "12345"},
    }
    results = await asyncio.gather(
        *[submit_letter(deps, Actor.system(), dict(body)) for _ in range(6)]
    )
    assert len({r.letter.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert await Letter.all().count() == 1
    assert await LetterEvent.all().count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "gossip"}, "来信类型"),
        ({"content": "  "}, "来信内容"),
        ({"content": "长" * 5001}, "不能超过5000字"),
        ({"writer": {"mobile": "12345"}}, "手机号码"),
        ({"channel": "fax"}, "来信渠道"),
        ({"kind": "department", "unit_id": 99999}, "不存在"),
        ({"attachments": "x"}, "附件"),
        ({"consent_publish": "yes"}, "公开"),
    ],
)
async def test_bad_input_is_refused_in_chinese_and_nothing_is_stored(deps, units, change, message):
    body = {"kind": "consultation", "channel": "web", "content": "请问如何办理居住证？", **change}
    with pytest.raises(DomainError) as exc:
        await submit_letter(deps, Actor.system(), body)
    assert message in exc.value.message
    assert await Letter.all().count() == 0


async def test_staff_enter_letters_on_a_citizens_behalf_only_as_handler_or_leader(deps, actors):
    body = {"kind": "consultation", "content": "来电咨询：失业金怎么申领？", "channel": "wechat"}
    letter, created = await submit_letter(deps, actors["handler"], body)
    assert created and letter.channel == "console"  # staff entry is always the console
    with pytest.raises(DomainError) as exc:
        await submit_letter(deps, actors["editor"], body)
    assert exc.value.status == 403
