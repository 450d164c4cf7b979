"""`/wechat/<account code>`: one callback endpoint per registered WeChat official account.

GET answers WeChat's verification (echostr). POST checks the signature with that account's own
token (and decrypts in safe / compatible mode), drops retries of a message it has already seen,
asks the engine, and answers with a passive reply inside WeChat's 5 seconds. When the engine is
slow, it answers in time with an interim message and sends the rest through the customer-service
API once ready.
"""

from __future__ import annotations

import asyncio
import logging
import time

from quart import Blueprint, Response, current_app, request

from accounts.models import Account
from accounts.service import read_credentials
from adapters.refusals import refuse_record
from adapters.wechat_api import WechatApi
from adapters.wechat_protocol import (
    ProtocolError,
    WechatConfig,
    check_signature,
    open_message,
    render_text,
    reply_xml,
    seal_reply,
    to_incoming,
)
from bot.engine import engine_for
from bot.types import Reply
from infra.deps import Deps
from org.web import deps

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)

SEEN_SECONDS = 3600  # WeChat retries within 15 s; an hour is plenty and keeps Redis small
WAIT_FOR_FIRST = 4.5


async def load_account(d: Deps, code: str) -> tuple[Account, WechatConfig]:
    """The account and its decrypted settings, remembered for a few seconds: every message
    needs them, and a changed token or key takes effect within that time."""
    cache = d.extensions.setdefault("wechat_accounts", {})
    now = time.monotonic()
    hit = cache.get(code)
    if hit and hit[0] > now:
        return hit[1], hit[2]
    account = await Account.get_or_none(code=code, platform="wechat")
    if account is None or account.live_slot is None or not account.credentials:
        raise ProtocolError(404, "no such account")
    config = WechatConfig.from_credentials(await read_credentials(d, account))
    cache[code] = (now + d.settings.account_cache_seconds, account, config)
    return account, config


async def _refuse(err: ProtocolError, code: str) -> Response:
    # A forged, probing or misconfigured callback is a security event: record it (no body).
    await refuse_record("wechat", code, err.status, err.reason)
    return Response(err.reason, status=err.status, mimetype="text/plain")


@bp.get("/wechat/<code>")
async def verify(code: str):
    d = deps()
    args = dict(request.args)
    try:
        _, config = await load_account(d, code)
        check_signature(config, args)
    except ProtocolError as err:
        return await _refuse(err, code)
    return Response(args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat/<code>")
async def receive(code: str):
    d = deps()
    if (request.content_length or 0) > d.settings.webhook_max_bytes:
        return await _refuse(ProtocolError(413, "too large"), code)
    body = await request.get_data(cache=False)
    if len(body) > d.settings.webhook_max_bytes:
        return await _refuse(ProtocolError(413, "too large"), code)
    args = dict(request.args)
    try:
        account, config = await load_account(d, code)
        msg = open_message(config, args, body)
    except ProtocolError as err:
        return await _refuse(err, code)
    incoming = to_incoming(msg, code)
    if incoming is None:
        return Response("success", mimetype="text/plain")
    text = await _reply_once(d, account, config, incoming)
    if not text:
        return Response("success", mimetype="text/plain")
    xml = seal_reply(config, args, reply_xml(msg, text, now=int(d.clock.now().timestamp())))
    return Response(xml, mimetype="application/xml")


async def _reply_once(d: Deps, account: Account, config: WechatConfig, incoming) -> str:
    """The reply text for this message; a retried delivery gets the first delivery's text."""
    key = f"wx:seen:{account.code}:{incoming.message_id}"
    async with d.redis.pipeline(transaction=False) as pipe:
        # When the citizen last wrote: WeChat allows customer-service messages for 48 hours.
        pipe.set(f"wx:last:{account.code}:{incoming.user}", "1", ex=48 * 3600)
        pipe.set(key, "", nx=True, ex=SEEN_SECONDS)
        _, first = await pipe.execute()
    if not first:
        return await _wait_for_first(d, key)
    task = asyncio.ensure_future(engine_for(d).handle(incoming))
    done, _ = await asyncio.wait({task}, timeout=d.settings.passive_reply_seconds)
    if task in done:
        text = render_text(task.result())
        await d.redis.set(key, text or "success", ex=SEEN_SECONDS)
        return text
    # Too slow for the passive reply: say so now, send the answer when it is ready.
    interim = render_text([Reply("正在为您查询，请稍候……")])
    await d.redis.set(key, interim, ex=SEEN_SECONDS)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.add_background_task(_send_later, d, account, incoming.user, task)
    return interim


async def _wait_for_first(d: Deps, key: str) -> str:
    loop = asyncio.get_running_loop()
    until = loop.time() + WAIT_FOR_FIRST
    while loop.time() < until:
        value = await d.redis.get(key)
        if value:
            text = value.decode() if isinstance(value, bytes) else value
            return "" if text == "success" else text
        await asyncio.sleep(0.05)
    return ""


async def _send_later(d: Deps, account: Account, openid: str, task: asyncio.Future) -> None:
    try:
        text = render_text(await task)
        creds = await read_credentials(d, account)
        api = WechatApi(
            base=d.settings.wechat_api_base,
            app_id=creds.get("app_id", ""),
            app_secret=creds.get("app_secret", ""),
            redis=d.redis,
        )
        await api.send_text(openid, text)
    except Exception:
        log.exception("wechat: could not send a late answer on %s", account.code)
