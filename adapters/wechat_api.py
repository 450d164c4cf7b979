"""The WeChat HTTP API the bot needs, called asynchronously (wechatpy's client is synchronous):
the access token, customer-service messages and template messages.

The base URL is a setting so that tests point it at a local fake server.
"""

from __future__ import annotations

import logging

import httpx
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

# A customer-service message may follow a citizen's message for 48 hours (WeChat's rule).
SERVICE_WINDOW_SECONDS = 48 * 3600


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

    async def access_token(self, *, fresh: bool = False) -> str:
        key = f"wx:token:{self.app_id}"
        if not fresh:
            cached = await self.redis.get(key)
            if cached:
                return cached.decode() if isinstance(cached, bytes) else cached
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

    async def _post(self, path: str, payload: dict) -> dict:
        for attempt in range(2):
            token = await self.access_token(fresh=attempt > 0)
            resp = await self.client.post(
                f"{self.base}{path}", params={"access_token": token}, json=payload
            )
            data = resp.json()
            errcode = int(data.get("errcode", 0))
            if errcode in (40001, 40014, 42001) and attempt == 0:
                continue  # the token expired or was replaced elsewhere: fetch a new one
            if errcode:
                raise WechatApiError(errcode, str(data.get("errmsg", "")))
            return data
        raise WechatApiError(-1, "unreachable")

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
