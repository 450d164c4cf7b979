"""Units and staff through the JSON API: who may create and change what, who sees whom, and how
bad requests and unexpected failures are answered."""

from __future__ import annotations

import logging
import re

import pytest

from infra.errors import DomainError
from org.access import Actor
from org.demo import DEMO_PASSWORD
from org.models import AuditRecord, Staff, StaffSession, Unit
from org.service import create_staff, update_staff
from tests.org.conftest import login_as

CHINESE = re.compile(r"[\u4e00-\u9fff]")
NEW_PASSWORD = "Qingyuan2026"


async def error_of(response) -> dict:
    return (await response.get_json())["error"]


async def snapshot() -> tuple[list[dict], list[dict]]:
    """Every unit and staff row, to show that a refused request changed nothing."""
    units = await Unit.all().order_by("id").values()
    staff = await Staff.all().order_by("id").values()
    return units, staff


def new_unit(parent_id, **extra) -> dict:
    data = {"code": "QY-TJJ", "name": "清源市统计局", "kind": "city_dept", "parent_id": parent_id}
    return data | extra


def new_staff(unit_id, **extra) -> dict:
    return {
        "username": "newbie",
        "real_name": "吴新",
        "mobile": "13900000009",
        "unit_id": unit_id,
        "roles": ["editor"],
        "password": NEW_PASSWORD,
    } | extra


# ------------------------------------------------------------------------------------ units


async def test_admin_creates_unit_under_city(login, demo):
    units, _ = demo
    admin = await login("admin")
    r = await admin.post("/api/units", json=new_unit(units["QY"].id))
    assert r.status_code == 201, await r.get_json()
    body = await r.get_json()
    unit = await Unit.get(code="QY-TJJ")
    assert body["id"] == unit.id and body["parent_id"] == units["QY"].id
    assert unit.path == f"{units['QY'].path}{unit.id}/" == body["path"]
    assert unit.name == "清源市统计局" and unit.kind == "city_dept"
    assert unit.is_legal_entity and not unit.is_internal
    rec = await AuditRecord.get(action="unit.create", object_id=str(unit.id))
    assert rec.actor_name == "王建国" and rec.outcome == "ok"


async def test_county_admin_cannot_create_outside_their_subtree(login, demo):
    units, _ = demo
    hx = await login("hxadmin")
    r = await hx.post("/api/units", json=new_unit(units["QY-RSJ"].id, code="QY-RSJ-X"))
    assert r.status_code == 403
    assert not await Unit.filter(code="QY-RSJ-X").exists()
    # Inside their own county they may.
    r = await hx.post(
        "/api/units",
        json=new_unit(units["QY-HX"].id, code="QY-HX-XQ", name="河西县西桥镇人民政府", kind="town"),
    )
    assert r.status_code == 201
    assert (await Unit.get(code="QY-HX-XQ")).path.startswith(units["QY-HX"].path)


async def test_duplicate_unit_code_conflicts(login, demo):
    units, _ = demo
    admin = await login("admin")
    before = await snapshot()
    r = await admin.post("/api/units", json=new_unit(units["QY"].id, code="QY-RSJ"))
    assert r.status_code == 409
    err = await error_of(r)
    assert err["code"] == "duplicate_code" and "QY-RSJ" in err["message"]
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        ({"kind": "ministry"}, "bad_field", "kind"),
        ({"is_internal": True, "is_legal_entity": True}, "bad_field", "is_legal_entity"),
        ({"name": None}, "missing_field", "name"),
        ({"name": "   "}, "missing_field", "name"),
    ],
)
async def test_invalid_unit_refused(login, demo, extra, code, field):
    units, _ = demo
    admin = await login("admin")
    before = await snapshot()
    data = {k: v for k, v in new_unit(units["QY"].id, **extra).items() if v is not None}
    r = await admin.post("/api/units", json=data)
    assert r.status_code == 400
    err = await error_of(r)
    assert err["code"] == code and err["details"] == {"field": field}
    assert CHINESE.search(err["message"])
    assert await snapshot() == before


async def test_no_unit_under_an_internal_section(login, demo):
    units, _ = demo
    admin = await login("admin")
    r = await admin.post(
        "/api/units",
        json=new_unit(units["QY-RSJ-BGS"].id, code="QY-RSJ-BGS-1", name="文书科", kind="other"),
    )
    assert r.status_code == 400 and (await error_of(r))["code"] == "bad_parent"
    assert not await Unit.filter(code="QY-RSJ-BGS-1").exists()


async def test_unknown_parent_is_not_found(login, demo):
    admin = await login("admin")
    r = await admin.post("/api/units", json=new_unit(999_999))
    assert r.status_code == 404
    assert (await error_of(r))["message"] == "单位不存在"
    assert not await Unit.filter(code="QY-TJJ").exists()


async def test_patch_unknown_unit_is_not_found(login, demo):
    admin = await login("admin")
    r = await admin.patch("/api/units/999999", json={"name": "无此单位"})
    assert r.status_code == 404 and (await error_of(r))["message"] == "单位不存在"


async def test_county_admin_changes_only_county_units(login, demo):
    units, _ = demo
    hx = await login("hxadmin")
    r = await hx.patch(f"/api/units/{units['QY-HX-DQ'].id}", json={"name": "河西县东桥街道办事处"})
    assert r.status_code == 200 and (await r.get_json())["name"] == "河西县东桥街道办事处"
    assert (await Unit.get(id=units["QY-HX-DQ"].id)).name == "河西县东桥街道办事处"
    rec = await AuditRecord.get(action="unit.update", object_id=str(units["QY-HX-DQ"].id))
    assert rec.before["name"] == "河西县东桥镇人民政府"
    assert rec.after["name"] == "河西县东桥街道办事处"

    r = await hx.patch(f"/api/units/{units['QY-RSJ'].id}", json={"name": "被改名"})
    assert r.status_code == 403
    assert (await Unit.get(id=units["QY-RSJ"].id)).name == "清源市人力资源和社会保障局"


async def test_any_staff_lists_the_unit_tree(login, demo):
    units, _ = demo
    editor = await login("editor")
    r = await editor.get("/api/units")
    assert r.status_code == 200
    body = await r.get_json()
    assert {u["code"] for u in body} == set(units)
    assert body[0]["code"] == "QY" and body[0]["parent_id"] is None
    by_code = {u["code"]: u for u in body}
    for u in body[1:]:
        parent = next(p for p in body if p["id"] == u["parent_id"])
        assert u["path"] == f"{parent['path']}{u['id']}/"
    assert by_code["QY-RSJ-BGS"]["is_internal"] and not by_code["QY-RSJ-BGS"]["is_legal_entity"]
    assert by_code["QY-HX"]["kind_label"] == "县（区）政府"


# ------------------------------------------------------------------------------------ staff


async def test_admin_creates_staff_who_can_then_log_in(app, sender, login, demo):
    units, _ = demo
    admin = await login("admin")
    r = await admin.post(
        "/api/staff", json=new_staff(units["QY-RSJ"].id, roles=["reviewer", "editor"])
    )
    assert r.status_code == 201, await r.get_json()
    body = await r.get_json()
    assert body["username"] == "newbie" and body["roles"] == ["editor", "reviewer"]
    assert "password" not in body and "password_hash" not in body
    staff = await Staff.get(username="newbie")
    assert staff.unit_id == units["QY-RSJ"].id and staff.roles == ["editor", "reviewer"]
    assert staff.password_hash != NEW_PASSWORD
    newbie = await login_as(app, sender, "newbie", NEW_PASSWORD)
    assert (await (await newbie.get("/api/me")).get_json())["id"] == staff.id


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        ({"roles": ["admin", "editor"]}, 400, "admin_exclusive"),
        ({"roles": ["editor", "mayor"]}, 400, "unknown_role"),
        ({"roles": []}, 400, "no_role"),
        ({"mobile": "1380000"}, 400, "bad_field"),
        ({"mobile": "23800000009"}, 400, "bad_field"),
        ({"username": "editor"}, 409, "duplicate_username"),
        ({"password": "password"}, 400, "weak_password"),
        ({"password": "12345678"}, 400, "weak_password"),
    ],
)
async def test_invalid_staff_refused(login, demo, extra, status, code):
    units, _ = demo
    admin = await login("admin")
    before = await snapshot()
    r = await admin.post("/api/staff", json=new_staff(units["QY-RSJ"].id, **extra))
    assert r.status_code == status
    err = await error_of(r)
    assert err["code"] == code and CHINESE.search(err["message"])
    if code == "admin_exclusive":
        assert "系统管理员" in err["message"]
    if code == "unknown_role":
        assert "mayor" in err["message"]
    assert await snapshot() == before
    assert not await Staff.filter(username="newbie").exists()


async def test_county_admin_cannot_create_staff_in_city_department(login, demo):
    units, _ = demo
    hx = await login("hxadmin")
    before = await snapshot()
    r = await hx.post("/api/staff", json=new_staff(units["QY-RSJ"].id))
    assert r.status_code == 403
    assert await snapshot() == before
    r = await hx.post("/api/staff", json=new_staff(units["QY-HX-JYJ"].id))
    assert r.status_code == 201


async def test_admin_cannot_change_own_roles_or_deactivate_self(login, demo):
    _, staff = demo
    admin = await login("admin")
    me = staff["admin"].id
    before = await snapshot()
    r = await admin.patch(f"/api/staff/{me}", json={"roles": ["supervisor"]})
    assert r.status_code == 403
    r = await admin.patch(f"/api/staff/{me}", json={"active": False})
    assert r.status_code == 403
    assert await snapshot() == before
    assert (await admin.get("/api/me")).status_code == 200


async def test_deactivation_ends_sessions_and_refuses_login(app, login, demo):
    _, staff = demo
    editor = await login("editor")
    admin = await login("admin")
    assert (await editor.get("/api/me")).status_code == 200

    r = await admin.patch(f"/api/staff/{staff['editor'].id}", json={"active": False})
    assert r.status_code == 200 and (await r.get_json())["active"] is False
    r = await editor.get("/api/me")
    assert r.status_code == 401 and (await error_of(r))["code"] == "unauthenticated"
    assert not await StaffSession.filter(staff_id=staff["editor"].id, revoked=False).exists()

    r = await app.test_client().post(
        "/api/auth/login", json={"username": "editor", "password": DEMO_PASSWORD}
    )
    assert r.status_code == 403 and (await error_of(r))["code"] == "account_disabled"

    # Switched on again, the account needs a new login: the old session stays dead.
    r = await admin.patch(f"/api/staff/{staff['editor'].id}", json={"active": True})
    assert r.status_code == 200
    assert (await editor.get("/api/me")).status_code == 401


async def test_deactivation_revokes_the_session_rows(deps, app, sender, demo):
    """The sessions are revoked, not merely ignored while the account is switched off."""
    _, staff = demo
    s = await login_as(app, sender, "handler")
    await update_staff(deps, Actor.system(), staff["handler"].id, {"active": False})
    # Switched back on behind the service's back: only revocation keeps the session dead.
    await Staff.filter(id=staff["handler"].id).update(active=True)
    assert await StaffSession.filter(staff_id=staff["handler"].id).count() == 1
    assert not await StaffSession.filter(staff_id=staff["handler"].id, revoked=False).exists()
    assert (await s.get("/api/me")).status_code == 401


# ----------------------------------------------------------------------------------- scopes


async def names(session, path="/api/staff") -> set[str]:
    r = await session.get(path)
    assert r.status_code == 200, await r.get_json()
    return {s["username"] for s in await r.get_json()}


async def test_editor_sees_only_themselves(login, demo):
    assert await names(await login("editor")) == {"editor"}


async def test_leader_sees_own_department(login, demo):
    assert await names(await login("leader")) == {"editor", "reviewer", "handler", "leader"}


async def test_county_admin_sees_county_staff_only(deps, login, demo):
    units, _ = demo
    await create_staff(deps, Actor.system(), new_staff(units["QY-HX-DQ"].id, username="dqedit"))
    assert await names(await login("hxadmin")) == {"hxadmin", "dqedit"}


async def test_supervisor_sees_everyone(login, demo):
    _, staff = demo
    assert await names(await login("supervisor")) == set(staff)


async def test_staff_filtered_by_unit_stays_in_scope(login, demo):
    units, _ = demo
    leader = await login("leader")
    assert await names(leader, f"/api/staff?unit_id={units['QY-RSJ'].id}") == {
        "editor",
        "reviewer",
        "handler",
        "leader",
    }
    assert await names(leader, f"/api/staff?unit_id={units['QY-XXB'].id}") == set()


async def test_invisible_staff_is_not_found(login, demo):
    _, staff = demo
    editor = await login("editor")
    r = await editor.get(f"/api/staff/{staff['supervisor'].id}")
    assert r.status_code == 404 and (await error_of(r))["message"] == "工作人员不存在"
    r = await editor.get(f"/api/staff/{staff['editor'].id}")
    assert r.status_code == 200


async def test_supervisor_reads_but_changes_nothing(deps, login, demo):
    units, staff = demo
    target = staff["editor"].id
    await Staff.filter(id=target).update(locked_at=deps.clock.now(), failed_logins=5)
    sup = await login("supervisor")
    before = await snapshot()
    attempts = [
        lambda: sup.post("/api/units", json=new_unit(units["QY"].id)),
        lambda: sup.post("/api/staff", json=new_staff(units["QY-RSJ"].id)),
        lambda: sup.patch(f"/api/staff/{target}", json={"real_name": "改名", "active": False}),
        lambda: sup.post(f"/api/staff/{target}/unlock"),
    ]
    for attempt in attempts:
        r = await attempt()
        assert r.status_code == 403, await r.get_json()
        assert (await error_of(r))["code"] == "forbidden"
    assert await snapshot() == before
    assert (await Staff.get(id=target)).locked
    denied = await AuditRecord.filter(outcome="denied", actor_name="孙丽").count()
    assert denied == len(attempts)


async def test_editor_cannot_change_another_staff(login, demo):
    _, staff = demo
    editor = await login("editor")
    before = await snapshot()
    r = await editor.patch(f"/api/staff/{staff['reviewer'].id}", json={"real_name": "改名"})
    assert r.status_code == 403
    r = await editor.patch(f"/api/staff/{staff['editor'].id}", json={"roles": ["admin"]})
    assert r.status_code == 403
    assert await snapshot() == before


async def test_service_refuses_out_of_scope_update(deps, demo):
    units, staff = demo
    admin = Actor(
        staff["hxadmin"].id,
        "周涛",
        frozenset({"admin"}),
        units["QY-HX"].id,
        units["QY-HX"].path,
        units["QY-HX"].name,
    )
    with pytest.raises(DomainError) as exc:
        await update_staff(deps, admin, staff["editor"].id, {"real_name": "改名"})
    assert exc.value.status == 404  # not even visible to a county admin
    assert (await Staff.get(id=staff["editor"].id)).real_name == "李晓梅"


# ------------------------------------------------------------------------------- bad input


async def test_bad_requests_change_nothing(app, login, demo):
    units, _ = demo
    admin = await login("admin")
    csrf = {"X-CSRF-Token": admin.csrf}
    before = await snapshot()

    r = await admin.client.post(
        "/api/units", data="{not json", headers={"Content-Type": "application/json", **csrf}
    )
    assert r.status_code == 400
    err = await error_of(r)
    assert err["code"] == "bad_json" and CHINESE.search(err["message"])

    r = await admin.post("/api/units", json=[new_unit(units["QY"].id)])
    assert r.status_code == 400 and (await error_of(r))["code"] == "bad_json"

    r = await app.test_client().get("/api/staff")
    assert r.status_code == 401 and (await error_of(r))["code"] == "unauthenticated"

    r = await admin.get("/api/no-such-thing")
    assert r.status_code == 404 and r.mimetype == "application/json"
    assert CHINESE.search((await error_of(r))["message"])

    r = await admin.client.put("/api/units", json=new_unit(units["QY"].id), headers=csrf)
    assert r.status_code == 405 and r.mimetype == "application/json"
    assert CHINESE.search((await error_of(r))["message"])

    assert await snapshot() == before


async def test_bad_json_is_audited_as_rejected(login, demo):
    admin = await login("admin")
    r = await admin.client.patch(
        "/api/staff/1",
        data="[1, 2",
        headers={"Content-Type": "application/json", "X-CSRF-Token": admin.csrf},
    )
    assert r.status_code == 400
    rec = await AuditRecord.filter(outcome="rejected").order_by("-id").first()
    assert rec.action == "http.org_api.update_staff" and "bad_json" in rec.summary


# ------------------------------------------------------------------------ unexpected errors

PERSONAL = {"mobile": "13912345678", "name": "张三"}


async def test_unexpected_error_hides_details(settings, deps, caplog):
    from quart import request

    from quart_app import create_app

    app = create_app(settings, deps, manage_db=False)

    @app.post("/api/boom")
    async def boom():
        data = await request.get_json()
        raise RuntimeError(f"{data['mobile']} {data['name']} secret")

    caplog.set_level(logging.ERROR, logger="minsheng")
    r = await app.test_client().post("/api/boom", json=PERSONAL)
    assert r.status_code == 500 and r.mimetype == "application/json"
    text = (await r.get_data()).decode()
    err = (await r.get_json())["error"]
    assert err["code"] == "internal"
    incident = err["incident"]
    assert re.fullmatch(r"[0-9a-f]{12}", incident)
    assert err["message"] == f"系统内部错误，请稍后再试（事件编号 {incident}）"
    for secret in (*PERSONAL.values(), "secret", "RuntimeError"):
        assert secret not in text

    assert incident in caplog.text and "RuntimeError" in caplog.text
    assert "13912345678" not in caplog.text and "张三" not in caplog.text

    rec = await AuditRecord.get(outcome="error")
    assert rec.action == "http.boom" and incident in rec.summary
    assert "13912345678" not in rec.summary and "张三" not in rec.summary


async def test_county_admin_cannot_grant_supervisor(login, demo):
    units, _ = demo
    hx = await login("hxadmin")
    r = await hx.post(
        "/api/staff",
        json={
            "username": "hxsup",
            "real_name": "钱一",
            "mobile": "13811112222",
            "unit_id": units["QY-HX-DQ"].id,
            "roles": ["supervisor"],
            "password": "Strong2026x",
        },
    )
    assert r.status_code == 403 and "市级" in (await r.get_json())["error"]["message"]
    assert not await Staff.filter(username="hxsup").exists()
    city = await login("admin")
    r = await city.post(
        "/api/staff",
        json={
            "username": "hxsup",
            "real_name": "钱一",
            "mobile": "13811112222",
            "unit_id": units["QY-HX-DQ"].id,
            "roles": ["supervisor"],
            "password": "Strong2026x",
        },
    )
    assert r.status_code == 201


async def test_unit_with_subunits_cannot_become_internal(login, demo):
    units, _ = demo
    admin = await login("admin")
    r = await admin.patch(
        f"/api/units/{units['QY-HX'].id}", json={"is_internal": True, "is_legal_entity": False}
    )
    assert r.status_code == 400 and (await r.get_json())["error"]["code"] == "has_children"
    assert not (await Unit.get(code="QY-HX")).is_internal
