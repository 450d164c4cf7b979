from __future__ import annotations

import re

import pytest

from org.demo import DEMO_PASSWORD, seed_demo
from org.models import Staff, Unit


@pytest.fixture
async def demo(deps):
    await seed_demo(deps)
    units = {u.code: u for u in await Unit.all()}
    staff = {s.username: s for s in await Staff.all()}
    return units, staff


class Session:
    """A logged-in test client: remembers its CSRF token and sends it on every change."""

    def __init__(self, client, csrf: str):
        self.client = client
        self.csrf = csrf

    def _h(self, headers=None):
        return {"X-CSRF-Token": self.csrf, **(headers or {})}

    async def get(self, path, **kw):
        return await self.client.get(path, **kw)

    async def post(self, path, json=None, **kw):
        return await self.client.post(
            path,
            json=json if json is not None else {},
            headers=self._h(kw.pop("headers", None)),
            **kw,
        )

    async def patch(self, path, json=None, **kw):
        return await self.client.patch(path, json=json or {}, headers=self._h(), **kw)

    async def delete(self, path, **kw):
        return await self.client.delete(path, headers=self._h(), **kw)


async def sms_code(sender, username: str) -> str:
    """The last code sent to that person: within the resend gap a new login of theirs gets the
    code already sent, which need not be the last SMS of the test."""
    mobile = (await Staff.get(username=username)).mobile
    body = next(body for to, body in reversed(sender.sent) if to == mobile)
    return re.search(r"\d{6}", body).group(0)


async def login_as(app, sender, username: str, password: str = DEMO_PASSWORD) -> Session:
    client = app.test_client()
    r = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, await r.get_json()
    challenge = (await r.get_json())["challenge"]
    r = await client.post(
        "/api/auth/verify", json={"challenge": challenge, "code": await sms_code(sender, username)}
    )
    assert r.status_code == 200, await r.get_json()
    return Session(client, (await r.get_json())["csrf_token"])


@pytest.fixture
def login(app, sender, demo):
    async def _login(username: str, password: str = DEMO_PASSWORD) -> Session:
        return await login_as(app, sender, username, password)

    return _login
