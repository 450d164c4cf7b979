"""The audit log: supervisors search and export it, nobody edits it, only old records are purged,
and it never holds passwords or their hashes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from urllib.parse import quote

import pytest
from pydantic import ValidationError

from infra.settings import Settings
from org.access import Actor
from org.audit import purge_audit, record_audit
from org.models import AppendOnlyError, AuditRecord, Staff
from tests.conftest import START

UTC = dt.UTC
CSV_HEADER = ["时间", "操作人", "角色", "单位", "操作", "对象类型", "对象", "摘要", "结果", "IP"]


@pytest.fixture
async def letters(demo):
    """Four records about letters on known dates (UTC; Shanghai is UTC+8)."""
    spec = {
        # 2026-11-01 10:00 in Shanghai
        "r1": (dt.datetime(2026, 11, 1, 2, 0, tzinfo=UTC), "letter.reply", "李晓梅", "ok"),
        # 2026-11-09 23:00 in Shanghai
        "r3": (dt.datetime(2026, 11, 9, 15, 0, tzinfo=UTC), "letter.assign", "刘伟", "denied"),
        # 2026-11-10 01:00 in Shanghai (still 11-09 in UTC)
        "r2": (dt.datetime(2026, 11, 9, 17, 0, tzinfo=UTC), "letter.reply", "张志强", "ok"),
        # 2026-11-20 10:00 in Shanghai
        "r4": (dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC), "letter.reply", "李晓梅", "rejected"),
    }
    return {
        key: await AuditRecord.create(
            at=at,
            action=action,
            actor_name=name,
            outcome=outcome,
            object_type="letter",
            object_id=key,
            summary=f"{name} {action}",
        )
        for key, (at, action, name, outcome) in spec.items()
    }


async def search(session, query: str) -> dict:
    r = await session.get(f"/api/audit?{quote(query, safe='=&')}")
    assert r.status_code == 200, await r.get_json()
    return await r.get_json()


def keys(body: dict) -> list[str]:
    return [item["object_id"] for item in body["items"]]


# ----------------------------------------------------------------------------------- search


async def test_supervisor_searches_by_action_actor_and_outcome(login, letters):
    sup = await login("supervisor")
    body = await search(sup, "action=letter.reply")
    assert body["total"] == 3 and keys(body) == ["r4", "r2", "r1"]  # newest first
    assert body["items"][0]["actor_name"] == "李晓梅" and body["items"][0]["outcome"] == "rejected"
    assert (await search(sup, "action=letter"))["total"] == 4

    body = await search(sup, "action=letter&actor=李晓梅")
    assert keys(body) == ["r4", "r1"]
    body = await search(sup, "action=letter&outcome=denied")
    assert keys(body) == ["r3"] and body["total"] == 1
    body = await search(sup, "object_type=letter&object_id=r2")
    assert keys(body) == ["r2"]


async def test_dates_are_whole_days_in_shanghai(login, letters):
    sup = await login("supervisor")
    # r2 happened at 01:00 on 11-10 in Shanghai, r3 at 23:00 on 11-09.
    assert keys(await search(sup, "action=letter&since=2026-11-10")) == ["r4", "r2"]
    assert keys(await search(sup, "action=letter&until=2026-11-09")) == ["r3", "r1"]
    body = await search(sup, "action=letter&since=2026-11-09&until=2026-11-10")
    assert keys(body) == ["r2", "r3"]
    assert keys(await search(sup, "action=letter&since=2026-11-20&until=2026-11-20")) == ["r4"]
    assert (await search(sup, "action=letter&since=2026-11-21"))["total"] == 0


async def test_paging(login, letters):
    sup = await login("supervisor")
    first = await search(sup, "action=letter&limit=2&offset=0")
    second = await search(sup, "action=letter&limit=2&offset=2")
    third = await search(sup, "action=letter&limit=2&offset=4")
    assert first["total"] == second["total"] == third["total"] == 4
    assert keys(first) == ["r4", "r2"] and keys(second) == ["r3", "r1"] and keys(third) == []
    everything = await search(sup, "limit=500")
    assert everything["total"] == await AuditRecord.all().count() == len(everything["items"])


@pytest.mark.parametrize("username", ["editor", "admin", "leader", "hxadmin", "cityleader"])
async def test_only_supervisors_read_the_log(login, letters, username):
    s = await login(username)
    for path in ("/api/audit", "/api/audit.csv?action=letter"):
        r = await s.get(path)
        assert r.status_code == 403, path
        assert (await r.get_json())["error"]["code"] == "forbidden"
        assert "letter" not in (await r.get_data()).decode()


async def test_anonymous_cannot_read_the_log(app, letters):
    r = await app.test_client().get("/api/audit")
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-13-01", "since"),
        ("until=yesterday", "until"),
        ("since=2026/11/01", "since"),
        ("unit_id=abc", "unit_id"),
    ],
)
async def test_bad_filters_are_refused(login, letters, query, field):
    sup = await login("supervisor")
    for path in ("/api/audit", "/api/audit.csv"):
        r = await sup.get(f"{path}?{query}")
        assert r.status_code == 400, (path, await r.get_data())
        err = (await r.get_json())["error"]
        assert err["code"] == "bad_field" and err["details"] == {"field": field}


async def test_bad_paging_is_refused(login, letters):
    sup = await login("supervisor")
    r = await sup.get("/api/audit?limit=ten")
    assert r.status_code == 400 and (await r.get_json())["error"]["code"] == "bad_field"


# -------------------------------------------------------------------------------------- CSV


async def export(session, query: str) -> tuple[bytes, list[list[str]]]:
    r = await session.get(f"/api/audit.csv?{query}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"  # once: a client may refuse two
    assert "attachment" in r.headers["Content-Disposition"]
    raw = await r.get_data()
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


async def test_csv_export_for_excel(login, letters):
    sup = await login("supervisor")
    raw, rows = await export(sup, "action=letter.reply")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows[0] == CSV_HEADER
    body = rows[1:]
    assert [r[6] for r in body] == ["r1", "r2", "r4"]  # oldest first
    assert {r[4] for r in body} == {"letter.reply"}
    by_key = {r[6]: r for r in body}
    assert by_key["r2"][0] == "2026-11-10 01:00:00"  # shown in Shanghai time
    assert by_key["r2"][1] == "张志强"
    assert by_key["r4"][8] == "被拒绝" and by_key["r1"][8] == "成功"

    _, rows = await export(sup, "action=letter&since=2026-11-10")
    assert [r[6] for r in rows[1:]] == ["r2", "r4"]


async def test_csv_cells_cannot_become_formulas(app, login, demo):
    """A name typed at the login form ends up in the log; Excel must show it, not run it."""
    username = '=HYPERLINK("http://evil.example/","点此")'
    r = await app.test_client().post(
        "/api/auth/login", json={"username": username, "password": "whatever1"}
    )
    assert r.status_code == 401
    sup = await login("supervisor")
    _, rows = await export(sup, "action=auth.login_failed")
    names = [row[1] for row in rows[1:]]
    assert len(names) == 1
    assert not names[0].startswith(("=", "+", "-", "@"))
    assert username in names[0]
    # The search API returns the name as it was typed.
    body = await search(sup, "action=auth.login_failed")
    assert body["items"][0]["actor_name"] == username


# ------------------------------------------------------------------------------ append-only


async def test_records_cannot_be_changed_or_deleted(letters):
    rec = await AuditRecord.get(id=letters["r1"].id)
    rec.summary = "改写历史"
    rec.outcome = "failed"
    with pytest.raises(AppendOnlyError):
        await rec.save()
    with pytest.raises(AppendOnlyError):
        await rec.save(update_fields=["summary"])
    with pytest.raises(AppendOnlyError):
        await rec.delete()
    stored = await AuditRecord.get(id=letters["r1"].id)
    assert stored.summary == "李晓梅 letter.reply" and stored.outcome == "ok"
    assert await AuditRecord.filter(object_type="letter").count() == 4


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE org_audit SET summary = '改写历史'",
        "UPDATE org_audit SET outcome = 'failed' WHERE action = 'letter.reply'",
        "DELETE FROM org_audit",
        "DELETE FROM org_audit WHERE action = 'letter.assign'",
    ],
)
async def test_the_database_refuses_changes_through_the_connection(letters, sql):
    """Not only the model: raw SQL and querysets through the application's own connection are
    refused by the database (migration 0014's triggers)."""
    from tortoise import Tortoise
    from tortoise.exceptions import OperationalError

    conn = Tortoise.get_connection("default")
    with pytest.raises(OperationalError, match="append-only"):
        await conn.execute_query(sql)
    with pytest.raises(OperationalError, match="append-only"):
        await AuditRecord.filter(action="letter.reply").update(summary="改写历史")
    with pytest.raises(OperationalError, match="append-only"):
        await AuditRecord.filter(action="letter.reply").delete()
    assert await AuditRecord.filter(object_type="letter").count() == 4
    assert await AuditRecord.filter(summary="改写历史").count() == 0


async def test_the_purge_permission_ends_with_its_transaction(letters):
    """What the purge sets lasts only as long as its transaction, and PostgreSQL's TRUNCATE is
    refused like DELETE."""
    from tortoise import Tortoise
    from tortoise.exceptions import OperationalError
    from tortoise.transactions import in_transaction

    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "postgres":
        with pytest.raises(OperationalError, match="append-only"):
            await conn.execute_script("TRUNCATE org_audit")
        # Outside a transaction, SET LOCAL lasts no longer than its own statement.
        await conn.execute_script("SET LOCAL minsheng.audit_purge = 'on'")
    else:
        with pytest.raises(RuntimeError):
            async with in_transaction() as txn:
                await txn.execute_query("INSERT INTO org_audit_purge (purging) VALUES (1)")
                raise RuntimeError("rolled back")
    with pytest.raises(OperationalError, match="append-only"):
        await conn.execute_query("DELETE FROM org_audit")
    assert await AuditRecord.filter(object_type="letter").count() == 4


async def test_new_records_can_still_be_written(db):
    rec = AuditRecord(at=START, action="x.test")
    await rec.save()
    assert await AuditRecord.filter(action="x.test").count() == 1


async def test_no_route_changes_the_log(app):
    audit_rules = [
        r for r in app.url_map.iter_rules() if r.rule.startswith(("/api/audit", "/console/audit"))
    ]
    assert {r.rule for r in audit_rules} >= {
        "/api/audit",
        "/api/audit.csv",
        "/console/audit",
        "/console/audit.csv",
    }
    for rule in audit_rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


# ------------------------------------------------------------------------------------ purge


async def test_purge_removes_only_records_past_retention(clock, db):
    old = await AuditRecord.create(at=START - dt.timedelta(days=366), action="x.old")
    await AuditRecord.create(at=START - dt.timedelta(days=364), action="x.recent")
    # A longer retention keeps the 366-day-old record.
    assert await purge_audit(clock=clock, retention_days=400) == 0
    assert await AuditRecord.filter(id=old.id).exists()

    assert await purge_audit(clock=clock, retention_days=365) == 1
    assert not await AuditRecord.filter(action="x.old").exists()
    assert await AuditRecord.filter(action="x.recent").exists()
    purges = await AuditRecord.filter(action="audit.purge").order_by("id")
    assert len(purges) == 2
    last = purges[-1]
    assert last.actor_id is None and last.actor_roles == "system" and last.at == START
    assert "1 条" in last.summary


async def test_purge_works_with_the_triggers_and_leaves_them_armed(clock, db):
    from tortoise import Tortoise
    from tortoise.exceptions import OperationalError

    for days in (500, 400, 366, 10):
        await AuditRecord.create(at=START - dt.timedelta(days=days), action=f"x.{days}")
    assert await purge_audit(clock=clock, retention_days=365) == 3
    assert await AuditRecord.filter(action__startswith="x.").values_list("action", flat=True) == [
        "x.10"
    ]
    # After the purge's transaction the database refuses again, on the same connection.
    conn = Tortoise.get_connection("default")
    with pytest.raises(OperationalError, match="append-only"):
        await conn.execute_query("DELETE FROM org_audit")
    assert await AuditRecord.all().count() == 2  # x.10 and the purge's own record


async def test_purge_refuses_short_retention(clock, db):
    await AuditRecord.create(at=START - dt.timedelta(days=200), action="x.old")
    with pytest.raises(ValueError):
        await purge_audit(clock=clock, retention_days=100)
    with pytest.raises(ValueError):
        await purge_audit(clock=clock, retention_days=364)
    assert [r.action for r in await AuditRecord.all()] == ["x.old"]


def test_settings_refuse_short_retention(monkeypatch):
    with pytest.raises(ValidationError):
        Settings(audit_retention_days=100)
    monkeypatch.setenv("MINSHENG_AUDIT_RETENTION_DAYS", "100")
    with pytest.raises(ValidationError):
        Settings()


# ---------------------------------------------------------------------------------- secrets


async def test_audit_never_holds_passwords_or_hashes(app, login, demo):
    _, staff = demo
    admin = await login("admin")
    editor_id = staff["editor"].id
    r = await admin.post(f"/api/staff/{editor_id}/password", json={"password": "Reset2026pw"})
    assert r.status_code == 200
    r = await admin.post(f"/api/staff/{editor_id}/password", json={"password": "weakpass"})
    assert r.status_code == 400
    r = await admin.post(
        "/api/staff",
        json={
            "username": "newbie",
            "real_name": "吴新",
            "mobile": "13900000009",
            "unit_id": staff["editor"].unit_id,
            "roles": ["editor"],
            "password": "Create2026pw",
        },
    )
    assert r.status_code == 201
    r = await admin.patch(f"/api/staff/{editor_id}", json={"real_name": "李晓梅（调）"})
    assert r.status_code == 200
    r = await app.test_client().post(
        "/api/auth/login", json={"username": "reviewer", "password": "Guess2026wrong"}
    )
    assert r.status_code == 401

    actions = {r.action for r in await AuditRecord.all()}
    assert {"staff.reset_password", "staff.create", "staff.update", "auth.login_failed"} <= actions
    hashes = [s.password_hash for s in await Staff.all()]
    assert len(hashes) == len(staff) + 1
    for rec in await AuditRecord.all():
        text = json.dumps(
            [rec.before, rec.after, rec.summary, rec.actor_name, rec.object_id],
            ensure_ascii=False,
        )
        assert "password_hash" not in text and "$argon2" not in text, rec.action
        for secret in (*hashes, "Reset2026pw", "weakpass", "Create2026pw", "Guess2026wrong"):
            assert secret not in text, rec.action
    newbie = await Staff.get(username="newbie")
    created = await AuditRecord.get(action="staff.create", object_id=str(newbie.id))
    assert created.after["username"] == "newbie" and created.after["roles"] == ["editor"]


async def test_record_audit_masks_secret_keys(clock, db):
    rec = await record_audit(
        Actor.system(),
        "x.masked",
        clock=clock,
        before={"name": "甲", "password_hash": "$argon2id$abc", "totp_secret": "JBSWY3DP"},
        after={"name": "乙", "password": "Secret2026", "token": "ms_abc", "code": "123456"},
    )
    stored = await AuditRecord.get(id=rec.id)
    assert stored.before == {"name": "甲", "password_hash": "***", "totp_secret": "***"}
    assert stored.after == {"name": "乙", "password": "***", "token": "***", "code": "***"}
