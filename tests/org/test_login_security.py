"""What probing as an attacker found (issue 12, items 7 and 8), on the real Quart test client
with the in-process and a real Redis: one answer for unknown names and wrong passwords, a lock
that expires, throttling per address and per name, one SMS per resend gap, sessions ended by a
password change, the flash cookie's flags, no-store on staff pages, expiring API tokens."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.deps import build_deps
from infra.settings import Settings
from org.demo import DEMO_PASSWORD, seed_demo
from org.models import ApiToken, AuditRecord, Staff
from quart_app import create_app
from tests.conftest import UNTHROTTLED
from tests.org.conftest import Session, sms_code

NEW_PASSWORD = "Changed2026ms"


@pytest.fixture
def rdeps(settings, clock, sender, any_redis):
    real_limits = {k: Settings.model_fields[k].default for k in UNTHROTTLED}
    s = settings.model_copy(update=real_limits)
    return build_deps(s, clock=clock, redis=any_redis, sender=sender)


@pytest.fixture
async def rapp(rdeps):
    await seed_demo(rdeps)
    return create_app(rdeps.settings, rdeps, manage_db=False)


def from_ip(ip: str) -> dict:
    return {"scope_base": {"client": (ip, 40000)}}


async def start(client, username, password=DEMO_PASSWORD, ip="10.1.0.1"):
    return await client.post(
        "/api/auth/login", json={"username": username, "password": password}, **from_ip(ip)
    )


async def login(app, sender, username="editor") -> Session:
    client = app.test_client()
    r = await start(client, username)
    assert r.status_code == 200, await r.get_json()
    code = await sms_code(sender, username)
    r = await client.post(
        "/api/auth/verify", json={"challenge": (await r.get_json())["challenge"], "code": code}
    )
    assert r.status_code == 200, await r.get_json()
    return Session(client, (await r.get_json())["csrf_token"])


async def error(resp) -> tuple[int, str]:
    return resp.status_code, (await resp.get_json())["error"]["message"]


async def test_unknown_names_and_real_accounts_answer_alike_to_the_lock(rapp, rdeps):
    """Neither the words nor the count of tries tell a staff member's name from a made-up one."""
    client = rapp.test_client()
    for _ in range(rdeps.settings.login_max_failures):
        ghost = await error(await start(client, "nobody-here", "wrong-pass-1"))
        real = await error(await start(client, "editor", "wrong-pass-1"))
        assert ghost == real
        assert "再错" not in real[1] and "将锁定" not in real[1]
    assert real[0] == 423 and "分钟后再试" in real[1]
    # Locked: the right password gets the same answer as the made-up name.
    assert await error(await start(client, "editor")) == await error(
        await start(client, "nobody-here")
    )


async def test_the_lock_runs_out_and_does_not_end_open_sessions(rapp, rdeps, sender, clock):
    s = await login(rapp, sender, "editor")
    client = rapp.test_client()
    for _ in range(rdeps.settings.login_max_failures):
        r = await start(client, "editor", "wrong-pass-1", ip="10.9.9.9")
    assert r.status_code == 423
    # Whoever guesses passwords cannot end the real person's work.
    assert (await s.get("/api/me")).status_code == 200
    sent = len(sender.sent)
    assert (await start(client, "editor")).status_code == 423 and len(sender.sent) == sent
    clock.advance(minutes=rdeps.settings.login_lock_minutes - 1)
    assert (await start(client, "editor")).status_code == 423
    clock.advance(minutes=1, seconds=1)
    r = await start(client, "editor")
    assert r.status_code == 200 and (await r.get_json())["method"] == "sms"
    editor = await Staff.get(username="editor")
    assert editor.locked_at is None and editor.failed_logins == 0


async def test_forty_tries_from_one_address_meet_429(rapp, rdeps):
    client = rapp.test_client()
    statuses = [
        (await start(client, f"guess{i}", "wrong-pass-1", ip="10.2.0.1")).status_code
        for i in range(40)
    ]
    limit = rdeps.settings.login_ip_per_minute
    assert statuses[:limit] == [401] * limit
    assert set(statuses[limit:]) == {429}
    # Throttled before the password check: no "failed login" row for those.
    assert await AuditRecord.filter(action="auth.login_failed").count() == limit
    # Another address is not held up.
    assert (await start(client, "guess-x", "wrong-pass-1", ip="10.2.0.2")).status_code == 401


async def test_one_name_from_many_addresses_meets_429(rapp, rdeps, sender):
    """Right passwords from ten addresses: a name gets its N tries a minute, and eight logins
    within the resend gap send one SMS whose code works for each of them."""
    client = rapp.test_client()
    limit = rdeps.settings.login_user_per_minute
    challenges = []
    for i in range(limit):
        r = await start(client, "editor", ip=f"10.3.0.{i}")
        assert r.status_code == 200
        challenges.append((await r.get_json())["challenge"])
    r = await start(client, "Editor", ip="10.3.1.1")  # the name's case changes nothing
    assert r.status_code == 429 and (await r.get_json())["error"]["code"] == "too_many_attempts"
    codes = [body for to, body in sender.sent if to == "13800000002"]
    assert len(codes) == 1
    code = sender.last_code()
    r = await client.post("/api/auth/verify", json={"challenge": challenges[-1], "code": code})
    assert r.status_code == 200


async def test_every_path_that_sends_a_code_keeps_the_gap(rapp, rdeps, sender, clock):
    client = rapp.test_client()
    challenge = (await (await start(client, "editor")).get_json())["challenge"]
    assert len(sender.sent) == 1
    r = await client.post("/api/auth/sms", json={"challenge": challenge})
    assert r.status_code == 429 and (await r.get_json())["error"]["code"] == "sms_too_soon"
    # A second login in the gap, then asking for SMS on it: still one message.
    other = (await (await start(client, "editor")).get_json())["challenge"]
    assert (await client.post("/api/auth/sms", json={"challenge": other})).status_code == 429
    assert len(sender.sent) == 1
    clock.advance(seconds=rdeps.settings.sms_code_resend_seconds + 1)
    r = await client.post("/api/auth/sms", json={"challenge": challenge})
    assert r.status_code == 200 and len(sender.sent) == 2
    r = await client.post(
        "/api/auth/verify", json={"challenge": challenge, "code": sender.last_code()}
    )
    assert r.status_code == 200


async def test_changing_a_password_ends_the_persons_other_sessions(rapp, sender):
    mine, other = await login(rapp, sender), await login(rapp, sender)
    r = await mine.post(
        "/api/me/password", json={"old_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert r.status_code == 200
    assert (await mine.get("/api/me")).status_code == 200
    assert (await other.get("/api/me")).status_code == 401
    rec = await AuditRecord.filter(action="staff.change_password").get()
    assert "结束其他 1 个登录会话" in rec.summary


async def test_changing_a_password_in_the_console_ends_other_sessions(rapp, sender):
    mine, other = await login(rapp, sender), await login(rapp, sender)
    r = await mine.client.post(
        "/console/me/password",
        form={
            "old_password": DEMO_PASSWORD,
            "new_password": NEW_PASSWORD,
            "csrf_token": mine.csrf,
        },
    )
    assert r.status_code == 302
    assert (await mine.get("/console/me")).status_code == 200
    assert (await other.get("/api/me")).status_code == 401


async def test_a_reset_password_ends_every_session_of_that_person(rapp, sender):
    editor = await login(rapp, sender)
    admin = await login(rapp, sender, "admin")
    staff = await Staff.get(username="editor")
    r = await admin.post(f"/api/staff/{staff.id}/password", json={"password": NEW_PASSWORD})
    assert r.status_code == 200
    assert (await editor.get("/api/me")).status_code == 401
    assert (await admin.get("/api/me")).status_code == 200


async def test_the_flash_cookie_is_secure_and_same_site(settings, clock, sender, any_redis):
    d = build_deps(
        settings.model_copy(update={"cookie_secure": True}),
        clock=clock,
        redis=any_redis,
        sender=sender,
    )
    await seed_demo(d)
    app = create_app(d.settings, d, manage_db=False)
    s = await login(app, sender)
    r = await s.client.post(
        "/console/me/password",
        form={"old_password": "wrong-pass-1", "new_password": NEW_PASSWORD, "csrf_token": s.csrf},
    )
    cookies = r.headers.get_all("Set-Cookie")
    [flash] = [c for c in cookies if c.startswith("session=")]
    assert "Secure" in flash and "SameSite=Lax" in flash and "HttpOnly" in flash


async def test_staff_pages_and_apis_are_not_stored(rapp, sender):
    """Every GET page and API without parameters, as a supervisor (who reads everything), and
    the citizens' own letter look-up."""
    s = await login(rapp, sender, "supervisor")
    seen = 0
    for rule in rapp.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.rule.startswith("/static"):
            continue
        if not rule.rule.startswith(("/api/", "/console")):
            continue
        r = await s.get(rule.rule)
        assert r.headers.get("Cache-Control") == "no-store", rule.rule
        seen += 1
    assert seen > 20
    for path in ("/api/public/letters/ABCDE-FGHJK", "/console/letters/1", "/api/letters/1"):
        r = await s.get(path)
        assert r.headers.get("Cache-Control") == "no-store", path


async def test_api_tokens_expire_and_are_listed_with_their_expiry(rapp, rdeps, sender, clock):
    rdeps.settings.session_hours = 72  # the session outlives the token in this test
    s = await login(rapp, sender)
    r = await s.post("/api/me/tokens", json={"name": "对接", "days": 400})
    assert r.status_code == 400
    r = await s.post("/api/me/tokens", json={"name": "对接", "days": 1})
    assert r.status_code == 201
    made = await r.get_json()
    auth = {"Authorization": f"Bearer {made['token']}"}
    machine = rapp.test_client()
    assert (await machine.get("/api/me", headers=auth)).status_code == 200
    # A token made before tokens expired lasts the default lifetime from its creation.
    await s.post("/api/me/tokens", json={"name": "旧令牌"})
    listed = {t["name"]: t for t in await (await s.get("/api/me/tokens")).get_json()}
    assert listed["对接"]["state"] == "active"
    assert listed["对接"]["expires_at"] == (clock.now() + dt.timedelta(days=1)).isoformat()
    await ApiToken.filter(name="旧令牌").update(expires_at=None)
    clock.advance(days=1, seconds=1)
    r = await machine.get("/api/me", headers=auth)
    assert r.status_code == 401 and (await r.get_json())["error"]["code"] == "bad_token"
    listed = {t["name"]: t for t in await (await s.get("/api/me/tokens")).get_json()}
    assert listed["对接"]["state"] == "expired" and listed["旧令牌"]["state"] == "active"
    page = (await (await s.get("/console/me")).get_data()).decode()
    assert "已过期" in page and "有效至" in page


async def test_the_code_page_resends_a_code_after_the_gap(rapp, rdeps, sender, clock):
    """重新发送验证码 on the console's code page: refused with the seconds left inside the gap,
    then a new code, which is the one that works."""
    client = rapp.test_client()
    page = (await (await client.get("/console/login")).get_data()).decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    login = {"username": "editor", "password": DEMO_PASSWORD, "csrf_token": token}
    r = await client.post("/console/login", form=login)
    html = (await r.get_data()).decode()
    assert "重新发送验证码" in html and len(sender.sent) == 1
    challenge = html.split('name="challenge" value="')[1].split('"')[0]
    first = sender.last_code()
    resend = {"csrf_token": token, "challenge": challenge, "method": "sms", "use_sms": "1"}
    clock.advance(seconds=20)
    r = await client.post("/console/login/verify", form=resend)
    gap = rdeps.settings.sms_code_resend_seconds
    assert r.status_code == 429 and f"请 {gap - 20} 秒后再重新发送" in (await r.get_data()).decode()
    assert len(sender.sent) == 1
    clock.advance(seconds=gap)
    r = await client.post("/console/login/verify", form=resend)
    assert r.status_code == 200 and "验证码已发送" in (await r.get_data()).decode()
    assert len(sender.sent) == 2 and sender.last_code() != first
    form = {"csrf_token": token, "challenge": challenge, "method": "sms", "code": first}
    r = await client.post("/console/login/verify", form=form)
    assert r.status_code != 302  # the replaced code no longer opens a session
    form["code"] = sender.last_code()
    r = await client.post("/console/login/verify", form=form)
    assert r.status_code == 302
