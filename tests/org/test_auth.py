"""Login with a second factor, lockout, passwords, sessions, API tokens, CSRF."""

from __future__ import annotations

import time

import pyotp
import pytest

from infra.errors import DomainError
from org.auth import CHALLENGE_PREFIX, check_password_strength
from org.demo import DEMO_PASSWORD
from org.models import AuditRecord, Staff, StaffSession


async def start(client, username, password=DEMO_PASSWORD):
    return await client.post("/api/auth/login", json={"username": username, "password": password})


async def test_login_needs_password_then_sms_code(app, sender, demo):
    client = app.test_client()
    r = await start(client, "editor")
    body = await r.get_json()
    assert r.status_code == 200 and body["method"] == "sms"
    assert body["mobile"] == "138****0002"
    assert sender.sent[-1][0] == "13800000002"
    # No session yet: the password alone opens nothing.
    assert (await client.get("/api/me")).status_code == 401
    r = await client.post(
        "/api/auth/verify", json={"challenge": body["challenge"], "code": sender.last_code()}
    )
    assert r.status_code == 200
    me = await (await client.get("/api/me")).get_json()
    assert me["username"] == "editor" and me["roles"] == ["editor"]
    assert await AuditRecord.filter(action="auth.login", outcome="ok").count() == 1


async def test_challenge_is_single_use(app, sender, demo, deps):
    client = app.test_client()
    challenge = (await (await start(client, "editor")).get_json())["challenge"]
    code = sender.last_code()
    assert (
        await client.post("/api/auth/verify", json={"challenge": challenge, "code": code})
    ).status_code == 200
    r = await app.test_client().post(
        "/api/auth/verify", json={"challenge": challenge, "code": code}
    )
    assert r.status_code == 401 and (await r.get_json())["error"]["code"] == "challenge_expired"
    assert not await deps.redis.exists(CHALLENGE_PREFIX + challenge)


async def test_session_cookie_is_secure_http_only(app, sender, demo, deps):
    deps.settings.cookie_secure = True
    client = app.test_client()
    challenge = (await (await start(client, "editor")).get_json())["challenge"]
    r = await client.post(
        "/api/auth/verify", json={"challenge": challenge, "code": sender.last_code()}
    )
    cookie = r.headers["Set-Cookie"]
    assert "ms_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


async def test_unknown_user_and_wrong_password_say_the_same(app, demo):
    client = app.test_client()
    r1 = await start(client, "nobody")
    r2 = await start(client, "editor", "wrong-pass-1")
    assert r1.status_code == r2.status_code == 401
    assert "用户名或密码错误" in (await r1.get_json())["error"]["message"]
    assert "用户名或密码错误" in (await r2.get_json())["error"]["message"]
    failed = await AuditRecord.filter(action="auth.login_failed").order_by("id")
    assert [r.actor_name for r in failed] == ["nobody", "李晓梅"]
    assert all(r.outcome == "failed" for r in failed)


async def test_repeated_failures_lock_until_admin_unlocks(app, sender, demo, login, settings):
    client = app.test_client()
    for i in range(settings.login_max_failures - 1):
        r = await start(client, "editor", f"wrong-pass-{i}")
        assert r.status_code == 401
    r = await start(client, "editor", "wrong-pass-x")
    assert r.status_code == 423 and "锁定" in (await r.get_json())["error"]["message"]
    # Now even the right password is refused, and no code is sent.
    sent = len(sender.sent)
    r = await start(client, "editor")
    assert r.status_code == 423 and len(sender.sent) == sent
    assert await AuditRecord.filter(action="auth.locked").count() == 1

    editor = await Staff.get(username="editor")
    admin = await login("admin")
    r = await admin.post(f"/api/staff/{editor.id}/unlock")
    assert r.status_code == 200 and (await r.get_json())["locked"] is False
    assert (await start(client, "editor")).status_code == 200


async def test_wrong_second_factor_counts_towards_lockout(app, sender, demo, settings):
    client = app.test_client()
    for _ in range(settings.login_max_failures):
        challenge = (await (await start(client, "handler")).get_json())["challenge"]
        r = await client.post("/api/auth/verify", json={"challenge": challenge, "code": "000000"})
    assert r.status_code == 423
    assert (await Staff.get(username="handler")).locked
    assert (await client.get("/api/me")).status_code == 401


async def test_totp_enrolment_then_login_with_totp(app, sender, demo, login):
    s = await login("reviewer")
    enrol = await (await s.post("/api/me/totp")).get_json()
    assert enrol["otpauth_uri"].startswith("otpauth://totp/")
    r = await s.post("/api/me/totp/confirm", json={"code": "123456"})
    assert r.status_code == 400
    totp = pyotp.TOTP(enrol["secret"])
    bound_at = time.time()
    bound = totp.at(bound_at)
    assert (await s.post("/api/me/totp/confirm", json={"code": bound})).status_code == 200
    # Sealed at rest: the database alone does not give the second factor away.
    stored = (await Staff.get(username="reviewer")).totp_secret
    assert enrol["secret"] not in stored and stored.startswith("gAAAA")

    client = app.test_client()
    sent = len(sender.sent)
    body = await (await start(client, "reviewer")).get_json()
    assert body["method"] == "totp" and len(sender.sent) == sent  # no SMS needed
    # The code used to bind is spent; the same code again is refused (replay), the next one works.
    r = await client.post("/api/auth/verify", json={"challenge": body["challenge"], "code": bound})
    assert r.status_code == 401
    next_code = totp.at(bound_at + 30)
    r = await client.post(
        "/api/auth/verify", json={"challenge": body["challenge"], "code": next_code}
    )
    assert r.status_code == 200
    client = app.test_client()
    body = await (await start(client, "reviewer")).get_json()
    r = await client.post(
        "/api/auth/verify", json={"challenge": body["challenge"], "code": next_code}
    )
    assert r.status_code == 401 and (await r.get_json())["error"]["code"] == "bad_code"
    # Phone not at hand: switch to an SMS code.
    client = app.test_client()
    body = await (await start(client, "reviewer")).get_json()
    r = await client.post("/api/auth/sms", json={"challenge": body["challenge"]})
    assert (await r.get_json())["method"] == "sms"
    r = await client.post(
        "/api/auth/verify", json={"challenge": body["challenge"], "code": sender.last_code()}
    )
    assert r.status_code == 200


@pytest.mark.parametrize("password", ["short1", "abcdefghij", "1234567890", "", "密码密码密码1"])
def test_weak_passwords_refused(password):
    with pytest.raises(DomainError) as exc:
        check_password_strength(password)
    assert exc.value.code == "weak_password" and "8位" in exc.value.message


def test_good_password_accepted():
    check_password_strength("Qingyuan2026")


async def test_admin_reset_with_weak_password_changes_nothing(login, demo):
    admin = await login("admin")
    editor = await Staff.get(username="editor")
    r = await admin.post(f"/api/staff/{editor.id}/password", json={"password": "weakpass"})
    assert r.status_code == 400 and (await r.get_json())["error"]["code"] == "weak_password"
    assert (await Staff.get(id=editor.id)).password_hash == editor.password_hash


async def test_change_own_password(app, login):
    s = await login("editor")
    r = await s.post(
        "/api/me/password", json={"old_password": "nope", "new_password": "Newpass123"}
    )
    assert r.status_code == 400
    r = await s.post(
        "/api/me/password", json={"old_password": DEMO_PASSWORD, "new_password": "Newpass123"}
    )
    assert r.status_code == 200
    assert (await start(app.test_client(), "editor", "Newpass123")).status_code == 200


async def test_logout_ends_the_session(login):
    s = await login("editor")
    assert (await s.post("/api/auth/logout")).status_code == 200
    assert (await s.get("/api/me")).status_code == 401
    assert await StaffSession.filter(revoked=True).count() == 1


async def test_api_tokens(app, login):
    s = await login("editor")
    r = await s.post("/api/me/tokens", json={"name": "发布系统对接"})
    assert r.status_code == 201
    token = (await r.get_json())["token"]
    machine = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert (await (await machine.get("/api/me", headers=auth)).get_json())["username"] == "editor"
    # No CSRF for a bearer token, but a token cannot mint tokens.
    r = await machine.post("/api/me/tokens", json={"name": "x"}, headers=auth)
    assert r.status_code == 403
    tok_id = (await (await s.get("/api/me/tokens")).get_json())[0]["id"]
    assert (await s.delete(f"/api/me/tokens/{tok_id}")).status_code == 200
    r = await machine.get("/api/me", headers=auth)
    assert r.status_code == 401 and (await r.get_json())["error"]["code"] == "bad_token"


async def test_csrf_required_with_session_cookie(login):
    s = await login("admin")
    r = await s.client.post(
        "/api/units", json={"code": "X1", "name": "某单位", "kind": "other", "parent_id": 1}
    )
    assert r.status_code == 403 and (await r.get_json())["error"]["code"] == "csrf"
    r = await s.client.post(
        "/api/units",
        json={"code": "X1", "name": "某单位", "kind": "other", "parent_id": 1},
        headers={"X-CSRF-Token": "forged"},
    )
    assert r.status_code == 403
    from org.models import Unit

    assert not await Unit.filter(code="X1").exists()
    rec = await AuditRecord.filter(outcome="denied").order_by("-id").first()
    assert rec.action == "http.org_api.create_unit" and "csrf" in rec.summary


async def test_console_login_form_needs_its_csrf_cookie(app, demo):
    client = app.test_client()
    r = await client.post(
        "/console/login",
        form={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": "made-up"},
    )
    assert r.status_code == 403
    page = await client.get("/console/login")
    html = (await page.get_data()).decode()
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post(
        "/console/login", form={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 200 and "验证身份" in (await r.get_data()).decode()


async def test_a_totp_secret_stored_before_sealing_still_works(app, sender, demo, deps):
    secret = pyotp.random_base32()
    await Staff.filter(username="reviewer").update(totp_secret=secret)  # as older versions kept it
    client = app.test_client()
    body = await (await start(client, "reviewer")).get_json()
    assert body["method"] == "totp"
    code = pyotp.TOTP(secret).now()
    r = await client.post("/api/auth/verify", json={"challenge": body["challenge"], "code": code})
    assert r.status_code == 200
