"""The WeChat HTTP API the bot and the publisher need, called asynchronously (wechatpy's client
is synchronous): the access token, customer-service messages, template messages, and `call` for
any other endpoint (adapters/wechat_publish.py).

The base URL is a setting so that tests point it at a local fake server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import httpx
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

# A customer-service message may follow a citizen's message for 48 hours (WeChat's rule).
SERVICE_WINDOW_SECONDS = 48 * 3600
# Codes saying the access token is invalid, expired or replaced by a newer one.
TOKEN_ERRORS = (40001, 40014, 42001)
# Only one process fetches a new token: a second fetch would invalidate the first one's token
# (WeChat keeps the newest only, with a five-minute overlap). The others wait for its result.
TOKEN_LOCK_MS = 10_000
TOKEN_WAIT_SECONDS = 0.05
# Compare-and-delete: a holder whose lock expired must not release the next holder's lock.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def shared_client(extensions: dict[str, Any]) -> httpx.AsyncClient:
    """The process's one HTTP client for the WeChat API (kept in the deps' extensions): a client
    made per message built a TLS context each time (about 10 ms of CPU) and was never closed."""
    client = extensions.get("wechat_http")
    if client is None or client.is_closed:
        client = extensions["wechat_http"] = httpx.AsyncClient(timeout=5.0)
    return client


class WechatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WechatApi:
    def __init__(
        self,
        *,
        base: str,
        app_id: str,
        app_secret: str,
        redis: aioredis.Redis,
        client: httpx.AsyncClient | None = None,
    ):
        self.base = base.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.redis = redis
        self.client = client or httpx.AsyncClient(timeout=5.0)

    async def access_token(self, *, fresh: bool = False, rejected: str | None = None) -> str:
        """The shared token. `rejected` is one the platform refused: any other cached token is
        newer and is used; `fresh` forces a new fetch past whatever is cached now."""
        key = f"wx:token:{self.app_id}"
        cached = _text(await self.redis.get(key))
        if fresh:
            rejected = cached
        elif cached and cached != rejected:
            return cached
        lock = f"wx:token-lock:{self.app_id}"
        me = uuid.uuid4().hex
        while True:
            if await self.redis.set(lock, me, nx=True, px=TOKEN_LOCK_MS):
                try:
                    cached = _text(await self.redis.get(key))
                    if cached and cached != rejected:
                        return cached  # refreshed by another process while this one waited
                    return await self._fetch_token(key)
                finally:
                    await self.redis.eval(_RELEASE, 1, lock, me)
            # Another process is fetching: wait for its token, or for its lock to lapse.
            await asyncio.sleep(TOKEN_WAIT_SECONDS)
            cached = _text(await self.redis.get(key))
            if cached and cached != rejected:
                return cached

    async def _fetch_token(self, key: str) -> str:
        resp = await self.client.get(
            f"{self.base}/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self.app_secret,
            },
        )
        data = resp.json()
        if "access_token" not in data:
            raise WechatApiError(int(data.get("errcode", -1)), str(data.get("errmsg", "")))
        # Renew a few minutes early: tokens last 7200 s and other processes share this one.
        await self.redis.set(key, data["access_token"], ex=max(60, int(data["expires_in"]) - 300))
        return data["access_token"]

    async def call(
        self,
        path: str,
        payload: dict | None = None,
        *,
        params: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """POST to an endpoint with the token; an expired token is replaced once and the call
        repeated. JSON goes as UTF-8 without escapes (WeChat shows escaped titles literally)."""
        token: str | None = None
        for attempt in range(2):
            token = await self.access_token(rejected=token if attempt else None)
            query = {"access_token": token, **(params or {})}
            if files is not None:
                resp = await self.client.post(f"{self.base}{path}", params=query, files=files)
            else:
                resp = await self.client.post(
                    f"{self.base}{path}",
                    params=query,
                    content=json.dumps(payload or {}, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
            data = resp.json()
            errcode = int(data.get("errcode", 0) or 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                continue  # the token expired or was replaced elsewhere: fetch a new one
            if errcode:
                raise WechatApiError(errcode, str(data.get("errmsg", "")))
            return data
        raise WechatApiError(-1, "unreachable")

    async def _post(self, path: str, payload: dict) -> dict:
        return await self.call(path, payload)

    async def send_text(self, openid: str, text: str) -> None:
        """A customer-service message (客服消息), allowed within 48 h of the citizen's message."""
        await self._post(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": text}},
        )

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, str], url: str = ""
    ) -> None:
        payload = {
            "touser": openid,
            "template_id": template_id,
            "data": {k: {"value": v} for k, v in data.items()},
        }
        if url:
            payload["url"] = url
        await self._post("/cgi-bin/message/template/send", payload)


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
