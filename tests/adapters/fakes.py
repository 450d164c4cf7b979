"""Local stand-ins for the platforms' servers (the true edges), at the HTTP level: a fake WeChat
API and a fake Telegram Bot API that record every call and answer like the real ones."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Call:
    path: str
    query: dict
    body: dict


@dataclass
class FakePlatform:
    calls: list[Call] = field(default_factory=list)
    fail_next: int = 0  # answer the next N sends with an error
    runner: web.AppRunner | None = None
    base: str = ""

    def sent(self, path_part: str) -> list[Call]:
        return [c for c in self.calls if path_part in c.path]

    async def start(self) -> FakePlatform:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = dict(await request.post()) if raw else {}
        if not body and request.content_type.startswith(("multipart", "application/x-www")):
            body = dict(await request.post())
        call = Call(request.path, dict(request.query), body)
        self.calls.append(call)
        return web.json_response(self.answer(call))

    def answer(self, call: Call) -> dict:
        raise NotImplementedError


class FakeWechat(FakePlatform):
    def answer(self, call: Call) -> dict:
        if call.path.endswith("/cgi-bin/token"):
            return {"access_token": "TOKEN-1", "expires_in": 7200}
        if self.fail_next:
            self.fail_next -= 1
            return {"errcode": 45015, "errmsg": "response out of time limit"}
        return {"errcode": 0, "errmsg": "ok"}


class FakeTelegram(FakePlatform):
    message_id = 100

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[dict] = []  # handed out by getUpdates (long polling), once each

    def answer(self, call: Call) -> dict:
        method = call.path.rsplit("/", 1)[-1].lower()
        if self.fail_next and method == "sendmessage":
            self.fail_next -= 1
            return {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}
        if method == "sendmessage":
            self.message_id += 1
            return {
                "ok": True,
                "result": {
                    "message_id": self.message_id,
                    "date": 1700000000,
                    "chat": {"id": int(call.body.get("chat_id", 0)), "type": "private"},
                    "text": call.body.get("text", ""),
                },
            }
        if method == "getupdates":
            offset = int(call.body.get("offset") or 0)
            ready = [u for u in self.updates if u["update_id"] >= offset]
            return {"ok": True, "result": ready}
        if method == "getme":
            return {
                "ok": True,
                "result": {"id": 1, "is_bot": True, "first_name": "民声", "username": "ms_bot"},
            }
        return {"ok": True, "result": True}

    def texts(self) -> list[str]:
        return [c.body.get("text", "") for c in self.sent("sendMessage")]
