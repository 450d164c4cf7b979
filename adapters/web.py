"""The citizens' web chat: the page at `/chat`, its JSON API `POST /api/chat`, and the public
status page `/status` (which reads the public letters API by tracking code)."""

from __future__ import annotations

import re

from quart import Blueprint, jsonify, render_template

from bot.engine import engine_for
from bot.types import ACTIONS, IncomingMessage
from infra.errors import DomainError
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
MAX_TEXT = 1000


@bp.get("/chat")
async def chat_page():
    return await render_template("chat.html")


@bp.get("/status")
@bp.get("/status/<code>")
async def status_page(code: str = ""):
    return await render_template("status.html", code=code[:20])


@bp.post("/api/chat")
async def chat():
    d = deps()
    data = await json_body()
    session = data.get("session")
    text = data.get("text", "")
    action = data.get("action", "")
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
    incoming = IncomingMessage(
        channel="web",
        account="",
        user=session,
        text=text,
        action=action,
        message_id=message_id if isinstance(message_id, str) else "",
        at=d.clock.now(),
        client=client_ip(),
    )
    replies = await engine_for(d).handle(incoming)
    return jsonify({"replies": [r.as_dict() for r in replies]})
