"""A letter's confirmation sent twice, and sent again after Redis lost the conversation: one
letter, and its writer gets its code (found by the fault probe and the retry storm,
tests/probes/)."""

from __future__ import annotations

import asyncio
import re

from letters.models import Letter

CODE = re.compile(r"跟踪码：([A-Z0-9]{4,6}-[A-Z0-9]{4,6})")


async def up_to_confirmation(chat) -> None:
    for text in ["留言", "我家小区门口的路灯坏了三个月一直没人来修", "1", "1", "跳过"]:
        await chat.say(text)
    assert "请确认您的留言" in await chat.say("跳过")


async def test_a_double_tapped_confirmation_makes_one_letter(chat, world):
    """Two confirmations with their own message ids, the second sent before the first was
    answered (a double tap, or WeChat's "1" sent twice): both find the same letter."""
    await up_to_confirmation(chat)
    first, second = await asyncio.gather(
        chat.say("1", message_id="tap-1"), chat.say("1", message_id="tap-2")
    )
    assert CODE.search(first).group(1) == CODE.search(second).group(1)
    assert await Letter.all().count() == 1


async def test_a_confirmation_retried_after_redis_lost_everything_gets_the_code(chat, world):
    """The letter was committed but Redis went (and with it the conversation and the answer)
    before the citizen saw the code: the retried delivery shows the letter's code instead of
    taking "1" for a question, so the citizen does not write the letter again."""
    await up_to_confirmation(chat)
    lost = await chat.say("1", message_id="confirm-1")
    await world.redis.flushdb()  # a restart without persistence
    again = await chat.say("1", message_id="confirm-1")
    assert CODE.search(again).group(1) == CODE.search(lost).group(1)
    assert await Letter.all().count() == 1


async def test_a_later_one_in_a_finished_conversation_shows_the_same_letter(chat, world):
    """A second tap once the first was answered (issue 13 item 1): the letter's code again,
    from the conversation's own state, not a second letter and not a question "1"."""
    await up_to_confirmation(chat)
    first = CODE.search(await chat.say("1"))
    again = await chat.say("1")
    assert first and CODE.search(again).group(1) == first.group(1) and "已提交成功" in again
    assert await Letter.all().count() == 1


async def test_a_new_citizen_saying_1_is_not_shown_a_letter(world):
    from bot.engine import Engine
    from tests.bot.conftest import Chat

    other = Chat(Engine(world), user="citizen-without-letters")
    assert not CODE.search(await other.say("1"))
