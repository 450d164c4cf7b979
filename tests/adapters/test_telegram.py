"""`/telegram/<code>` with aiogram against a local fake Bot API server, replaying real Updates."""

from __future__ import annotations

import asyncio
import json

import pytest

from adapters.delivery import deliver_replies
from adapters.telegram import dispatcher, poll
from knowledge.attention import flush_asks
from knowledge.models import Ask
from letters.models import Letter, LetterEvent
from org.security_log import open_counts
from tests.adapters.conftest import TG_SECRET, TG_TOKEN
from tests.adapters.test_wechat_protocol import PAYLOADS
from tests.bot.test_engine import sent_reply

TG = PAYLOADS.parent / "telegram"


def update(text: str, update_id: int, chat_id: int = 777) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1700000000,
            "text": text,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "市民"},
        },
    }


async def post(client, body, secret: str = TG_SECRET):
    return await client.post(
        "/telegram/qytg",
        data=json.dumps(body) if not isinstance(body, bytes) else body,
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )


async def test_secret_token_is_checked(bot_app, telegram_account, fake_telegram):
    resp = await post(bot_app.test_client(), update("你好", 1), secret="wrong")
    assert resp.status_code == 403
    refused = await open_counts(bot_app.extensions["minsheng"].redis)
    assert any(kind == "telegram.refused:403 bad secret token" for _, kind in refused)
    assert fake_telegram.texts() == []


async def test_a_question_is_answered_through_the_bot_api(
    bot_app, bot_deps, telegram_account, fake_telegram
):
    resp = await post(bot_app.test_client(), update("外地人在清源怎么申领居住证", 2))
    assert resp.status_code == 200
    calls = fake_telegram.sent("sendMessage")
    assert TG_TOKEN in calls[0].path
    assert any("派出所" in t for t in fake_telegram.texts())
    # The feedback question comes with buttons (an inline keyboard), not numbered lines.
    feedback = next(c for c in calls if "是否解决" in c.body.get("text", ""))
    markup = json.loads(feedback.body["reply_markup"])
    labels = [b[0]["text"] for b in markup["inline_keyboard"]]
    assert labels == ["1. 已解决", "2. 未解决"]
    await flush_asks(bot_deps)
    assert await Ask.filter(channel="telegram").count() == 1


async def test_a_redelivered_update_is_handled_once(bot_app, telegram_account, fake_telegram):
    client = bot_app.test_client()
    for _ in range(3):
        assert (await post(client, update("帮助", 3))).status_code == 200
    assert len(fake_telegram.texts()) == 1


async def test_real_updates_replayed(bot_app, telegram_account, fake_telegram):
    client = bot_app.test_client()
    for name in ("aiogram_raw_update_message.json", "teloxide_private_text_hello.json"):
        before = len(fake_telegram.texts())
        resp = await post(client, (TG / name).read_bytes())
        assert resp.status_code == 200, name
        assert len(fake_telegram.texts()) > before, name
    # A story posted in a supergroup: the bot stays silent in groups.
    before = len(fake_telegram.texts())
    resp = await post(client, (TG / "teloxide_supergroup_1.json").read_bytes())
    assert resp.status_code == 200 and len(fake_telegram.texts()) == before


async def test_commands(bot_app, telegram_account, fake_telegram):
    client = bot_app.test_client()
    await post(client, update("/start", 10))
    assert "智能问答" in fake_telegram.texts()[-1]
    await post(client, update("/status", 11))
    assert "跟踪码" in fake_telegram.texts()[-1]
    await post(client, update("/status ABCD-EFGH", 12))
    assert "没有找到" in fake_telegram.texts()[-1]


async def test_bad_bodies(bot_app, telegram_account, bot_deps):
    client = bot_app.test_client()
    assert (await post(client, b"{not json")).status_code == 400
    big = b'{"x": "' + b"a" * bot_deps.settings.webhook_max_bytes + b'"}'
    assert (await post(client, big)).status_code == 413
    resp = await client.post("/telegram/nosuch", data="{}")
    assert resp.status_code == 404


async def test_a_letters_reply_is_pushed_and_failures_are_retried(
    bot_app, bot_deps, telegram_account, fake_telegram, clock
):
    client = bot_app.test_client()
    steps = ["留言", "我家小区门口的路灯坏了三个月一直没人来修", "1", "1", "跳过", "跳过", "1"]
    for i, text in enumerate(steps):
        await post(client, update(text, 100 + i))
    letter = await Letter.get()
    assert letter.channel == "telegram"
    row = await sent_reply(letter, clock, "路灯已修复。", bot_deps.settings)
    fake_telegram.fail_next = 1
    assert await deliver_replies(bot_deps) == 0
    await row.refresh_from_db()
    assert row.attempts == 1 and row.status == "pending" and "blocked" in row.last_error
    assert await LetterEvent.filter(letter_id=letter.id, action="reply_failed").exists()
    clock.advance(seconds=3600)
    assert await deliver_replies(bot_deps) == 1
    assert "路灯已修复" in fake_telegram.texts()[-1]
    await row.refresh_from_db()
    assert row.status == "sent"
    assert await deliver_replies(bot_deps) == 0  # never twice


async def test_long_polling_answers_like_the_webhook(bot_deps, telegram_account, fake_telegram):
    """`minsheng telegram-poll CODE`: the webhook is removed and updates are fetched instead."""

    async def bot_said(word: str) -> None:
        for _ in range(100):
            if any(word in t for t in fake_telegram.texts()):
                return
            await asyncio.sleep(0.05)

    fake_telegram.updates = [update("外地人在清源怎么申领居住证", 41)]
    task = asyncio.ensure_future(poll(bot_deps, "qytg"))
    try:
        await bot_said("派出所")
        fake_telegram.updates.append(update("1", 42))  # the citizen answers the feedback question
        await bot_said("感谢")
    finally:
        await dispatcher(bot_deps).stop_polling()
        await asyncio.wait_for(task, 5)
    assert fake_telegram.sent("deleteWebhook")
    texts = fake_telegram.texts()
    # Each update answered once, although getUpdates was asked many times.
    assert sum("派出所" in t for t in texts) == 1 and sum("感谢" in t for t in texts) == 1


async def test_long_polling_refuses_an_unconfigured_account(bot_deps):
    with pytest.raises(SystemExit, match="没有可用的 Telegram 账号"):
        await poll(bot_deps, "nosuch")
