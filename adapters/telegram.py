"""Telegram: one aiogram router feeding the engine, a webhook per registered account at
`/telegram/<account code>` (secret-token header checked), and long polling for development.

The Bot API base URL is a setting, so tests run against a local fake Bot API server.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from quart import Blueprint, Response, request

from accounts.models import Account
from accounts.service import read_credentials
from adapters.refusals import refuse_record
from bot.engine import engine_for
from bot.types import IncomingMessage, Reply
from infra.deps import Deps
from org.web import deps

log = logging.getLogger(__name__)
bp = Blueprint("telegram", __name__)
router = Router(name="minsheng")
# A government account answers people one to one; in groups it stays silent.
router.message.filter(F.chat.type == "private")
SEEN_SECONDS = 24 * 3600


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.choices:
        return None
    rows = [
        [InlineKeyboardButton(text=f"{c.value}. {c.label}"[:60], callback_data=c.value[:64])]
        for c in reply.choices
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reply_text(reply: Reply) -> str:
    lines = [reply.text] + [f"{link.title}：{link.url}" for link in reply.links]
    return "\n".join(lines)[:4000]


async def send_replies(bot: Bot, chat_id: int | str, replies: list[Reply]) -> None:
    for reply in replies:
        await bot.send_message(chat_id, reply_text(reply), reply_markup=keyboard(reply))


async def _ask(deps: Deps, account_code: str, message: Message, **what) -> None:
    incoming = IncomingMessage(
        channel="telegram",
        account=account_code,
        user=str(message.chat.id),
        message_id=f"{message.chat.id}:{message.message_id}",
        **what,
    )
    replies = await engine_for(deps).handle(incoming)
    await send_replies(message.bot, message.chat.id, replies)  # type: ignore[arg-type]


@router.message(CommandStart())
async def on_start(message: Message, deps: Deps, account_code: str) -> None:
    await _ask(deps, account_code, message, action="welcome")


@router.message(Command("help"))
async def on_help(message: Message, deps: Deps, account_code: str) -> None:
    await _ask(deps, account_code, message, action="help")


@router.message(Command("status"))
async def on_status(
    message: Message, command: CommandObject, deps: Deps, account_code: str
) -> None:
    if command.args:
        await _ask(deps, account_code, message, text=f"查询 {command.args.strip()}")
    else:
        await _ask(deps, account_code, message, action="status")


@router.message(Command("letter"))
async def on_letter(message: Message, deps: Deps, account_code: str) -> None:
    await _ask(deps, account_code, message, action="letter")


@router.message(F.text)
async def on_text(message: Message, deps: Deps, account_code: str) -> None:
    await _ask(deps, account_code, message, text=message.text or "")


@router.message()
async def on_other(message: Message, deps: Deps, account_code: str) -> None:
    await _ask(deps, account_code, message, unsupported=message.content_type or "其他")


@router.callback_query()
async def on_choice(query: CallbackQuery, deps: Deps, account_code: str) -> None:
    await query.answer()
    if query.message is None:
        return
    incoming = IncomingMessage(
        channel="telegram",
        account=account_code,
        user=str(query.message.chat.id),
        text=query.data or "",
        message_id=f"cb:{query.id}",
    )
    replies = await engine_for(deps).handle(incoming)
    await send_replies(query.bot, query.message.chat.id, replies)  # type: ignore[arg-type]


_dispatcher: Dispatcher | None = None


def dispatcher(d: Deps) -> Dispatcher:
    """The one dispatcher (a router attaches to one dispatcher only). It holds no client and no
    state: each update brings its deps and account code as handler arguments."""
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = Dispatcher()
        _dispatcher.include_router(router)
    return _dispatcher


def make_bot(d: Deps, token: str) -> Bot:
    """One Bot per token and process, talking to the configured Bot API server."""
    bots = d.extensions.setdefault("telegram_bots", {})
    if token not in bots:
        server = TelegramAPIServer.from_base(d.settings.telegram_api_base)
        bots[token] = Bot(token, session=AiohttpSession(api=server))
    return bots[token]


async def account_bot(d: Deps, code: str) -> tuple[Account, Bot, str] | None:
    account = await Account.get_or_none(code=code, platform="telegram")
    if account is None or account.live_slot is None or not account.credentials:
        return None
    creds = await read_credentials(d, account)
    return account, make_bot(d, creds["bot_token"]), creds.get("webhook_secret", "")


async def _refuse(code: str, status: int, reason: str) -> Response:
    await refuse_record("telegram", code, status, reason)
    return Response(reason, status=status, mimetype="text/plain")


@bp.post("/telegram/<code>")
async def webhook(code: str):
    d = deps()
    if (request.content_length or 0) > d.settings.webhook_max_bytes:
        return await _refuse(code, 413, "too large")
    found = await account_bot(d, code)
    if found is None:
        return await _refuse(code, 404, "no such account")
    _, bot, secret = found
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(given, secret):
        return await _refuse(code, 403, "bad secret token")
    body = await request.get_data(cache=False)
    if len(body) > d.settings.webhook_max_bytes:
        return await _refuse(code, 413, "too large")
    try:
        data = json.loads(body)
        update = Update.model_validate(data, context={"bot": bot})
    except ValueError:
        return await _refuse(code, 400, "bad update")
    # Telegram redelivers an update it thinks failed: handle each update_id once.
    if not await d.redis.set(f"tg:seen:{code}:{update.update_id}", "1", nx=True, ex=SEEN_SECONDS):
        return Response("{}", mimetype="application/json")
    await dispatcher(d).feed_webhook_update(bot, update, deps=d, account_code=code)
    return Response("{}", mimetype="application/json")


async def poll(d: Deps, code: str) -> None:
    """Long polling for development (`minsheng telegram-poll CODE`)."""
    found = await account_bot(d, code)
    if found is None:
        raise SystemExit(f"没有可用的 Telegram 账号 {code}（须已登记、运行中并设置了凭据）")
    _, bot, _ = found
    await bot.delete_webhook()
    await dispatcher(d).start_polling(bot, deps=d, account_code=code, handle_signals=False)
