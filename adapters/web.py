"""The citizens' web chat: the page at `/chat`, its JSON API `POST /api/chat` (and the transcript
`GET /api/chat/history`), and the public status page `/status` (which reads the public letters
API by tracking code).

A browser's conversation is named by a random token the server issues in an HttpOnly cookie
(SameSite=Lax, so another site cannot post into it): it survives reloads and a visit to
/status, and page scripts never see it. The bot knows the conversation by a keyed hash of the
token, so the id recorded on a letter cannot be used to read or continue the chat. API clients
may still name their own session in the body.

The transcript is kept beside the conversation state in Redis, bounded and expiring with it, so
that a reload shows what was said and the half-written letter carries on; mobile numbers the
citizen typed are kept masked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets

from quart import Blueprint, Response, jsonify, render_template, request

from bot.engine import MAX_MESSAGE, engine_for
from bot.types import ACTIONS, IncomingMessage, Reply
from infra.errors import DomainError
from infra.notify import mask_mobile
from infra.ratelimit import hit
from org.web import client_ip, deps, json_body

bp = Blueprint(
    "webchat",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/chat-static",
)
SESSION = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_TEXT = MAX_MESSAGE  # a letter may hold this much; the page says so before the API refuses
COOKIE = "ms_chat"
COOKIE_SECONDS = 24 * 3600  # renewed by every message; the draft itself lasts bot_state_minutes
HISTORY_MAX = 80  # messages kept for the transcript (the citizen's and the bot's)
SHOWN_MAX = 200
ACTION_LABELS = {
    "help": "使用说明",
    "letter": "我要留言",
    "status": "查询进度",
    "human": "人工服务",
}
MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _cookie_token() -> str:
    token = request.cookies.get(COOKIE, "")
    return token if SESSION.match(token) else ""


def _set_cookie(resp: Response, token: str) -> Response:
    resp.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_SECONDS,
        httponly=True,
        secure=deps().settings.cookie_secure,
        samesite="Lax",
        path="/",
    )
    return resp


def conversation_user(token: str) -> str:
    """The bot's name for the conversation of this token (hashed: see the module's note)."""
    key = ("minsheng-webchat:" + deps().settings.secret_key).encode()
    return "w" + hmac.new(key, token.encode(), hashlib.sha256).hexdigest()[:40]


def history_key(user: str) -> str:
    return f"web:history:{user}"


async def _remember(user: str, shown: str, replies: list[Reply]) -> None:
    d = deps()
    items = []
    if shown:
        items.append(json.dumps({"who": "me", "text": shown}, ensure_ascii=False))
    items += [json.dumps({"who": "bot", **r.as_dict()}, ensure_ascii=False) for r in replies]
    if not items:
        return
    key = history_key(user)
    async with d.redis.pipeline(transaction=True) as pipe:
        pipe.rpush(key, *items)
        pipe.ltrim(key, -HISTORY_MAX, -1)
        pipe.expire(key, d.settings.bot_state_minutes * 60)
        await pipe.execute()


def _shown(text: str, action: str, shown) -> str:
    """What the citizen's bubble said: their text (a chosen button's label with it), or the
    quick button's name; mobile numbers masked."""
    if action:
        said = ACTION_LABELS.get(action, "")
    elif isinstance(shown, str) and text and shown.startswith(text) and len(shown) <= SHOWN_MAX:
        said = shown
    else:
        said = text
    return MOBILE_IN_TEXT.sub(lambda m: mask_mobile(m.group(0)), said.strip())


@bp.get("/chat")
async def chat_page():
    resp = Response(await render_template("chat.html", max_text=MAX_TEXT), mimetype="text/html")
    return resp if _cookie_token() else _set_cookie(resp, secrets.token_urlsafe(32))


@bp.get("/status")
@bp.get("/status/<code>")
async def status_page(code: str = ""):
    return await render_template("status.html", code=code[:20])


@bp.get("/api/chat/history")
async def chat_history():
    """This browser's transcript (its cookie's conversation); empty when it has expired."""
    token = _cookie_token()
    messages = []
    if token:
        for raw in await deps().redis.lrange(history_key(conversation_user(token)), 0, -1):
            try:
                messages.append(json.loads(raw))
            except ValueError:
                continue
    return jsonify({"messages": messages})


@bp.post("/api/chat")
async def chat():
    d = deps()
    data = await json_body()
    session = data.get("session")
    text = data.get("text", "")
    action = data.get("action", "")
    token = ""
    if session is None:  # the chat page: its cookie (from GET /chat) names the conversation
        token = session = _cookie_token()
    if not isinstance(session, str) or not SESSION.match(session):
        raise DomainError("bad_session", "会话标识无效，请刷新页面后重试")
    if not isinstance(text, str) or not isinstance(action, str):
        raise DomainError("bad_field", "消息须为文字")
    if action and action not in ACTIONS:
        raise DomainError("bad_field", "未知操作")
    if len(text) > MAX_TEXT:
        raise DomainError("too_long", f"消息太长了，请控制在{MAX_TEXT}字以内")
    # Per address as well as per session: a new session id is free to make.
    if not await hit(d.redis, f"chat:ip:{client_ip()}", limit=120, window_seconds=60):
        raise DomainError("rate_limited", "您发送得太快了，请稍后再试", status=429)
    message_id = data.get("message_id")
    user = conversation_user(session)
    incoming = IncomingMessage(
        channel="web",
        account="",
        user=user,
        text=text,
        action=action,
        message_id=message_id if isinstance(message_id, str) else "",
        at=d.clock.now(),
        client=client_ip(),
    )
    turn = await engine_for(d).handle_turn(incoming)
    if turn.first:  # a retried delivery is in the transcript already
        await _remember(user, _shown(text, action, data.get("shown")), turn.replies)
    resp = jsonify({"replies": [r.as_dict() for r in turn.replies]})
    return _set_cookie(resp, token) if token else resp
