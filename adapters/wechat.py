"""`/wechat/<account code>`: one callback endpoint per registered WeChat official account.

GET answers WeChat's verification (echostr). POST checks the signature with that account's own
token (and decrypts in safe / compatible mode), asks the engine (which answers a retried
delivery with the first delivery's replies), and answers with a passive reply inside WeChat's 5
seconds. When the engine is slow, it answers in time with an interim message and sends the rest
through the customer-service API once ready.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

from quart import Blueprint, Response, current_app, request

from accounts.models import Account
from accounts.service import read_credentials
from adapters.refusals import refuse_record
from adapters.wechat_api import WechatApi, shared_client
from adapters.wechat_protocol import (
    ProtocolError,
    WechatConfig,
    check_signature,
    check_timestamp,
    open_message,
    render_text,
    reply_xml,
    seal_reply,
    to_incoming,
)
from bot.engine import engine_for
from bot.types import Claim, ClaimRefused, Reply
from infra.deps import Deps
from infra.outage import OutageLog, outage_of
from org.web import deps

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)
T = TypeVar("T")


async def load_account(d: Deps, code: str) -> tuple[Account, WechatConfig]:
    """The account and its decrypted settings, remembered for a few seconds: every message
    needs them, and a changed token or key takes effect within that time. Once they are known,
    an expired entry keeps serving while one task re-reads it, so that a slow database never
    holds up the messages waiting behind it."""
    return known_account(d, code) or await _read_account(d, code)


def known_account(d: Deps, code: str) -> tuple[Account, WechatConfig] | None:
    """What load_account answers without waiting, or None when it must read the database."""
    cache = d.extensions.setdefault("wechat_accounts", {})
    hit = cache.get(code)
    if hit is None or d.settings.account_cache_seconds <= 0:
        return None
    expires, account, config = hit
    refreshing = d.extensions.setdefault("wechat_refreshing", set())
    if expires <= time.monotonic() and code not in refreshing:
        refreshing.add(code)
        task = asyncio.ensure_future(_refresh_account(d, code, refreshing))
        d.extensions.setdefault("wechat_refresh_tasks", set()).add(task)
        task.add_done_callback(d.extensions["wechat_refresh_tasks"].discard)
    return account, config


async def _read_account(d: Deps, code: str) -> tuple[Account, WechatConfig]:
    cache = d.extensions.setdefault("wechat_accounts", {})
    account = await Account.get_or_none(code=code, platform="wechat")
    if account is None or account.live_slot is None or not account.credentials:
        cache.pop(code, None)
        raise ProtocolError(404, "no such account")
    config = WechatConfig.from_credentials(await read_credentials(d, account))
    cache[code] = (time.monotonic() + d.settings.account_cache_seconds, account, config)
    return account, config


async def _refresh_account(d: Deps, code: str, refreshing: set[str]) -> None:
    try:
        await _read_account(d, code)
    except ProtocolError:
        pass  # closed or unconfigured since: the next message gets 404
    except Exception:
        log.exception("wechat: could not re-read account %s; serving the known settings", code)
    finally:
        refreshing.discard(code)


async def _refuse(err: ProtocolError, code: str) -> Response:
    # A forged, probing or misconfigured callback is a security event: record it (no body).
    await refuse_record("wechat", code, err.status, err.reason)
    return Response(err.reason, status=err.status, mimetype="text/plain")


# WeChat re-sends an unanswered callback within about 15 s; the same (timestamp, nonce) with the
# same body is accepted that long (the engine answers a retry with the first replies).
RETRANSMIT_SECONDS = 30


def nonce_claim(d: Deps, code: str, args: dict[str, str], body: bytes) -> Claim:
    """The (timestamp, nonce) pair as a replay claim (bot.types.Claim), the timestamp refused
    when outside the window: the signature covers only the timestamp and nonce, so in plain mode
    a captured URL would otherwise carry any message. The pair is taken with the body's digest;
    the same pair is refused with another body, or longer ago than a retry."""
    window = d.settings.wechat_timestamp_skew_seconds
    now = d.clock.now().timestamp()
    ts = check_timestamp(args, now, window)
    nonce = args.get("nonce", "")[:64]
    return Claim(
        key=f"wechat:nonce:{code}:{ts}:{nonce}",
        token=hashlib.sha256(body).hexdigest(),
        now=now,
        # Kept while the timestamp can still pass the window check.
        ttl=max(int(ts + window - now) + 1, 1),
        retry_seconds=RETRANSMIT_SECONDS,
    )


async def check_fresh(d: Deps, code: str, args: dict[str, str], body: bytes) -> None:
    """Take the nonce claim of a callback that opens no conversation turn (a message with the
    turn takes it in the turn's own round trip, Engine.handle_turn)."""
    try:
        await engine_for(d).claim(nonce_claim(d, code, args, body))
    except ClaimRefused:
        raise ProtocolError(403, "replayed nonce") from None


@bp.get("/wechat/<code>")
async def verify(code: str):
    d = deps()
    args = dict(request.args)
    try:
        _, config = await load_account(d, code)
        check_signature(config, args)
        await check_fresh(d, code, args, args.get("echostr", "").encode())
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
    # WeChat waits 5 s, then retries and finally tells the citizen the account cannot serve.
    # Past the deadline, or with Redis or the database down, answer "success" (no reply, no
    # error shown) rather than a late answer or a 503: every wait of _receive ends by then.
    deadline = time.monotonic() + d.settings.passive_reply_seconds
    try:
        return await _receive(d, code, args, body, deadline)
    except Exception as err:
        kind = outage_of(err)
        if kind is None:
            raise
        d.extensions.setdefault("outage_log", OutageLog(log)).failed(kind, err, "wechat")
        return Response("success", mimetype="text/plain")


# How long past the passive deadline a wait other than the turn's may last (a database or Redis
# that hangs) before the endpoint gives up and answers "success".
OUTAGE_GRACE_SECONDS = 0.5


async def _receive(d: Deps, code: str, args: dict, body: bytes, deadline: float) -> Response:
    """Every wait here ends in time (receive): the turn's at the deadline (_reply_once), the
    others through _bounded. A message of a known account waits for nothing but its turn, and
    costs no timer of its own."""
    try:
        account, config = known_account(d, code) or await _bounded(load_account(d, code), deadline)
        msg = open_message(config, args, body)
        incoming = to_incoming(msg, code)
        if incoming is None:
            await _bounded(check_fresh(d, code, args, body), deadline)
            return Response("success", mimetype="text/plain")
        claim = nonce_claim(d, code, args, body)
    except ProtocolError as err:
        return await _bounded(_refuse(err, code), deadline)
    try:
        text = await _reply_once(d, account, incoming, claim, deadline)
    except ClaimRefused:
        return await _bounded(_refuse(ProtocolError(403, "replayed nonce"), code), deadline)
    if not text:
        return Response("success", mimetype="text/plain")
    xml = seal_reply(config, args, reply_xml(msg, text, now=int(d.clock.now().timestamp())))
    return Response(xml, mimetype="application/xml")


async def _bounded(awaitable: Awaitable[T], deadline: float) -> T:
    """``awaitable``, given up (TimeoutError, an outage) OUTAGE_GRACE_SECONDS past the
    passive deadline."""
    async with asyncio.timeout(max(0.0, deadline + OUTAGE_GRACE_SECONDS - time.monotonic())):
        return await awaitable


async def _reply_once(d: Deps, account: Account, incoming, claim: Claim, deadline: float) -> str:
    """The passive reply's text. The engine answers one delivery of a message; WeChat's retries
    get the first delivery's replies (DESIGN.md). The nonce is claimed as the turn opens: a
    replay raises ClaimRefused."""
    task = asyncio.get_running_loop().create_task(engine_for(d).handle_turn(incoming, claim))
    if await _done_within(task, max(0.0, deadline - time.monotonic())):
        return render_text(task.result().replies)
    # Too slow for the passive reply: say so now, send the answer when it is ready.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.add_background_task(_send_later, d, account, incoming.user, task)
    return render_text([Reply("正在为您查询，请稍候……")])


async def _done_within(task: asyncio.Future, seconds: float) -> bool:
    """Whether ``task`` is done within ``seconds``; it runs on either way. What asyncio.wait
    does for one task, without its sets and callbacks per call (one timer, one future)."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def wake(*_) -> None:
        if not waiter.done():
            waiter.set_result(None)

    task.add_done_callback(wake)
    timer = loop.call_later(seconds, wake)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    return task.done()


async def _send_later(d: Deps, account: Account, openid: str, task: asyncio.Future) -> None:
    try:
        turn = await task
        text = render_text(turn.replies)
        if not turn.first or not text:
            return  # a retry's answer is the first delivery's to send
        creds = await read_credentials(d, account)
        api = WechatApi(
            base=d.settings.wechat_api_base,
            app_id=creds.get("app_id", ""),
            app_secret=creds.get("app_secret", ""),
            redis=d.redis,
            client=shared_client(d.extensions),
        )
        await api.send_text(openid, text)
    except ClaimRefused:
        # A replay whose refusal came after the deadline (it got the interim message, and no
        # turn was opened); out of the request, only the log can tell.
        log.info("wechat %s refused: 403 replayed nonce (past the deadline)", account.code)
    except Exception as err:
        if kind := outage_of(err):
            d.extensions.setdefault("outage_log", OutageLog(log)).failed(kind, err, "wechat")
            return
        log.exception("wechat: could not send a late answer on %s", account.code)
