"""The writer's identity: handlers and leaders of the handling unit (and leaders above) see it;
other units, co-handling units, supervisors, exports, audit records and logs see it masked."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from infra.errors import DomainError
from letters.models import Letter, LetterEvent
from letters.routing import transfer_letter
from letters.service import export_letters_csv, get_letter, list_letters
from letters.supervision import send_letter_reminders
from org.models import AuditRecord

NAME, MOBILE, PUID = "张三丰", "13812345678", "oAbCdEf123456"


async def test_who_sees_the_writer(deps, handling, actors):
    letter = await handling()
    for who in ("handler", "rsjhandler2", "leader", "topleader"):
        w = (await get_letter(deps, actors[who], letter.id))["writer"]
        assert (w["name"], w["mobile"], w["platform_user_id"], w["masked"]) == (
            NAME,
            MOBILE,
            PUID,
            False,
        ), who
    for who in ("reviewer", "supervisor"):
        w = (await get_letter(deps, actors[who], letter.id))["writer"]
        assert (w["name"], w["mobile"], w["masked"]) == ("张**", "138****5678", True), who
        assert w["platform_user_id"] == "oAb****"
    for who in ("gjjhandler", "gjjleader", "cityleader", "xfhandler", "admin", "editor"):
        with pytest.raises(DomainError) as exc:
            await get_letter(deps, actors[who], letter.id)
        assert exc.value.status == 404, who


async def test_identity_follows_the_letter_to_its_new_unit(deps, handling, actors, units):
    letter = await handling()
    await transfer_letter(
        deps, actors["handler"], letter.id, {"unit_id": units["QY-GJJ"].id, "reason": "职责"}
    )
    assert (await get_letter(deps, actors["gjjhandler"], letter.id))["writer"]["mobile"] == MOBILE
    with pytest.raises(DomainError):
        await get_letter(deps, actors["handler"], letter.id)


async def test_the_petitions_office_screens_with_the_identity_it_needs(deps, submit, actors):
    letter = await submit("complaint")
    view = await get_letter(deps, actors["xfhandler"], letter.id)
    assert view["writer"]["mobile"] == MOBILE  # the screening unit holds the letter


async def test_lists_exports_audit_and_storage_never_show_it(deps, handling, actors, clock):
    letter = await handling()
    _, rows = await list_letters(deps, actors["supervisor"], {})
    assert rows[0].writer_mobile_masked == "138****5678"
    csv_text = await export_letters_csv(deps, actors["leader"], {})  # even the unit's leader
    assert "138****5678" in csv_text and "张**" in csv_text
    assert MOBILE not in csv_text and NAME not in csv_text
    clock.set(dt.datetime(2026, 12, 9, 1, tzinfo=dt.UTC))
    await send_letter_reminders(deps)
    for rec in await AuditRecord.all():
        text = f"{rec.summary} {rec.before} {rec.after}"
        assert MOBILE not in text and NAME not in text and PUID not in text
    for event in await LetterEvent.all():
        assert MOBILE not in f"{event.note} {event.data}"
    row = await Letter.get(id=letter.id)
    stored = " ".join(str(v) for v in row.__dict__.values())
    assert MOBILE not in stored and NAME not in stored and PUID not in stored  # sealed at rest
    with pytest.raises(DomainError):
        await export_letters_csv(deps, actors["handler"], {})


async def test_logs_do_not_show_it(deps, submit, actors, units, caplog, clock):
    from letters.replies import write_reply
    from letters.routing import accept_letter

    deps.settings.letter_review_kinds = ""
    with caplog.at_level(logging.DEBUG):
        letter = await submit()
        await accept_letter(deps, actors["xfhandler"], letter.id, {"unit_id": units["QY-RSJ"].id})
        await write_reply(deps, actors["handler"], letter.id, {"text": "答复内容……"})
        clock.advance(days=20)
        await send_letter_reminders(deps)
    assert caplog.records  # the SQL debug log was on
    assert MOBILE not in caplog.text and NAME not in caplog.text
    # The platform id is in clear in one place only: the outbox row the channel delivers from,
    # whose INSERT the database driver's debug log shows. Nowhere in the product's own logs.
    sql = ("tortoise", "aiosqlite", "asyncpg")
    own = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(sql))
    assert PUID not in own


async def test_the_writers_own_words_do_not_unmask_them(deps, handling, actors):
    content = f"我是{NAME}，电话138 1234 5678，微信{PUID}，请回电{MOBILE}。"
    letter = await handling(content=content)
    seen = await get_letter(deps, actors["supervisor"], letter.id)
    assert seen["content"] == "我是张**，电话138****5678，微信oAb****，请回电138****5678。"
    assert (await get_letter(deps, actors["handler"], letter.id))["content"] == content
