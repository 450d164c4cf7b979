"""Refusals of anonymous traffic: aggregated in the security log, not one audit record each;
a source that keeps being refused is answered 429 before any work; supervisors read the log."""

from __future__ import annotations

import pytest

from infra.deps import build_deps
from org import security_log
from org.models import AuditRecord, SecurityEvent
from org.security_log import flush_security_log, note_refusal, open_counts
from quart_app import create_app
from tests.org.conftest import login_as

JSON = {"Content-Type": "application/json"}


def at(ip: str) -> dict:
    return {"scope_base": {"client": (ip, 40000)}}


@pytest.fixture
async def sec(settings, clock, sender, any_redis, demo):
    settings.refusal_limit = 1000
    d = build_deps(settings, clock=clock, redis=any_redis, sender=sender)
    return create_app(settings, d, manage_db=False), d


JUNK = [
    ("/api/auth/login", b"\xff"),
    ("/api/auth/login", b"[" * 1000 + b"]" * 1000),
    ("/api/chat", b"{"),
    ("/api/public/letters/ABCDEFGHJK", b"\xff"),
    ("/api/units", b"{}"),  # no session: 401
    ("/api/auth/verify", b'{"challenge": "nope", "code": "1"}'),
]


async def test_junk_requests_write_no_audit_rows_but_are_counted(sec, clock):
    app, d = sec
    client = app.test_client()
    before = await AuditRecord.all().count()
    sent = 0
    rounds = 73  # 438 requests: the probe's 436 junk requests gave 436 permanent audit rows
    for _ in range(rounds):
        for path, body in JUNK:
            r = await client.post(path, data=body, headers=JSON, **at("10.9.8.7"))
            assert 400 <= r.status_code < 500, (path, r.status_code)
            sent += 1
    assert await AuditRecord.all().count() == before  # was one permanent row per request
    counts = await open_counts(d.redis)
    assert sum(counts.values()) == sent
    assert counts[("10.9.8.7", "org_api.login:bad_json")] == 2 * rounds
    assert counts[("10.9.8.7", "org_api.create_unit:unauthenticated")] == rounds

    # The worker moves closed minutes into the database: one row per source, kind and minute.
    assert await flush_security_log(d.redis, clock) == 0  # the minute is still open
    clock.advance(minutes=1)
    rows = await flush_security_log(d.redis, clock)
    assert rows == len(counts) == await SecurityEvent.all().count()
    assert sum(e.count for e in await SecurityEvent.all()) == sent
    assert await open_counts(d.redis) == {}
    print(f"\n{sent} junk requests: {rows} security-log rows, 0 audit rows")

    # A straggler of the same minute is added to its row, not a second row.
    clock.advance(minutes=-1)
    await note_refusal(
        d.redis, clock, source="10.9.8.7", kind="org_api.create_unit:unauthenticated"
    )
    clock.advance(minutes=1)
    await flush_security_log(d.redis, clock)
    row = await SecurityEvent.get(source="10.9.8.7", kind="org_api.create_unit:unauthenticated")
    assert row.count == rounds + 1


async def test_staff_refusals_stay_audited(sec, sender):
    app, _ = sec
    editor = await login_as(app, sender, "editor")
    r = await editor.post("/api/units", json={"name": "x", "code": "X", "kind": "other"})
    assert r.status_code == 403
    assert await AuditRecord.filter(action="http.org_api.create_unit", outcome="denied").exists()


async def test_a_refused_source_is_answered_429_before_any_work(sec, sender, settings):
    app, _ = sec
    settings.refusal_limit = 5
    client = app.test_client()
    for _ in range(6):
        r = await client.post("/api/auth/login", data=b"\xff", headers=JSON, **at("10.0.0.66"))
        assert r.status_code == 400
    sms_before = len(sender.sent)
    r = await client.post(
        "/api/auth/login", json={"username": "editor", "password": "Demo2026ms"}, **at("10.0.0.66")
    )
    assert r.status_code == 429
    assert (await r.get_json())["error"]["code"] == "too_many_refusals"
    assert len(sender.sent) == sms_before  # the password was never checked
    # Another address is not affected, and neither is a logged-in colleague behind this one.
    r = await client.post(
        "/api/auth/login", json={"username": "editor", "password": "Demo2026ms"}, **at("10.0.0.67")
    )
    assert r.status_code == 200
    staff = await login_as(app, sender, "leader")
    r = await staff.client.post(
        "/api/me/tokens",
        json={"name": "t"},
        headers={"X-CSRF-Token": staff.csrf},
        **at("10.0.0.66"),
    )
    assert r.status_code != 429


async def test_distinct_sources_per_minute_are_capped(any_redis, clock, monkeypatch, db):
    monkeypatch.setattr(security_log, "MAX_SOURCES_PER_MINUTE", 3)
    for i in range(10):
        await note_refusal(any_redis, clock, source=f"10.0.1.{i}", kind="k")
    counts = await open_counts(any_redis)
    assert len(counts) == 4
    assert counts[("*", "k")] == 7
    clock.advance(minutes=1)
    assert await flush_security_log(any_redis, clock) == 4


async def test_supervisors_read_the_security_log(sec, sender, clock):
    app, d = sec
    await note_refusal(d.redis, clock, source="10.7.7.7", kind="org_api.login:bad_json")
    clock.advance(minutes=1)
    await flush_security_log(d.redis, clock)
    supervisor = await login_as(app, sender, "supervisor")
    r = await supervisor.get("/api/security-log?source=10.7.7.7")
    assert r.status_code == 200
    body = await r.get_json()
    assert body["total"] == 1
    assert body["items"][0]["kind"] == "org_api.login:bad_json"
    assert body["items"][0]["count"] == 1
    editor = await login_as(app, sender, "editor")
    assert (await editor.get("/api/security-log")).status_code == 403
    r = await supervisor.get("/console/security-log")
    assert r.status_code == 200
    assert "10.7.7.7" in await r.get_data(as_text=True)
