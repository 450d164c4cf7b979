"""The org JSON API: login, the staff member's own settings, units, staff, the audit log."""

from __future__ import annotations

import datetime as dt

from quart import Blueprint, Response, g, jsonify, request

from infra.clock import beijing_midnight
from infra.errors import DomainError
from org import auth, service
from org.audit import export_audit_csv, search_audit
from org.security_log import event_view, search_security_log
from org.web import actor, client_ip, deps, json_body, page_args, staff_actor

bp = Blueprint("org_api", __name__, url_prefix="/api")


def _session_cookie(resp: Response, token: str) -> Response:
    d = deps()
    resp.set_cookie(
        "ms_session",
        token,
        max_age=d.settings.session_hours * 3600,
        httponly=True,
        secure=d.settings.cookie_secure,
        samesite="Lax",
        path="/",
    )
    return resp


@bp.post("/auth/login")
async def login():
    data = await json_body()
    return jsonify(
        await auth.start_login(
            deps(), str(data.get("username") or ""), str(data.get("password") or ""), client_ip()
        )
    )


@bp.post("/auth/sms")
async def login_by_sms():
    data = await json_body()
    return jsonify(await auth.switch_to_sms(deps(), str(data.get("challenge") or "")))


@bp.post("/auth/verify")
async def verify():
    data = await json_body()
    staff, token = await auth.finish_login(
        deps(), str(data.get("challenge") or ""), str(data.get("code") or ""), client_ip()
    )
    sess = await auth.resolve_session(deps(), token)
    body = {"staff": service.staff_view(staff), "csrf_token": sess.csrf_token if sess else ""}
    return _session_cookie(jsonify(body), token)


@bp.post("/auth/logout")
async def logout():
    a = staff_actor()
    if g.get("session") is not None:
        await auth.end_session(deps(), a, g.session)
    resp = jsonify({"ok": True})
    resp.delete_cookie("ms_session", path="/")
    return resp


@bp.get("/me")
async def me():
    a = staff_actor()
    return jsonify(service.staff_view(await service.get_staff(a, a.staff_id)))


@bp.post("/me/password")
async def change_password():
    data = await json_body()
    sess = g.get("session")
    await auth.change_password(
        deps(),
        staff_actor(),
        str(data.get("old_password") or ""),
        str(data.get("new_password") or ""),
        keep_session_id=sess.id if sess is not None else None,
    )
    return jsonify({"ok": True})


@bp.post("/me/totp")
async def begin_totp():
    return jsonify(await auth.begin_totp_enrolment(deps(), staff_actor()))


@bp.post("/me/totp/confirm")
async def confirm_totp():
    data = await json_body()
    await auth.confirm_totp_enrolment(deps(), staff_actor(), str(data.get("code") or ""))
    return jsonify({"ok": True})


@bp.get("/me/tokens")
async def list_tokens():
    toks = await auth.list_api_tokens(staff_actor())
    return jsonify([auth.token_view(deps(), t) for t in toks])


@bp.post("/me/tokens")
async def create_token():
    data = await json_body()
    tok, secret = await auth.create_api_token(
        deps(), staff_actor(), str(data.get("name") or ""), data.get("days")
    )
    return jsonify({**auth.token_view(deps(), tok), "token": secret}), 201


@bp.delete("/me/tokens/<int:token_id>")
async def revoke_token(token_id: int):
    await auth.revoke_api_token(deps(), staff_actor(), token_id)
    return jsonify({"ok": True})


@bp.get("/units")
async def list_units():
    return jsonify([service.unit_view(u) for u in await service.list_units(staff_actor())])


@bp.post("/units")
async def create_unit():
    unit = await service.create_unit(deps(), staff_actor(), await json_body())
    return jsonify(service.unit_view(unit)), 201


@bp.get("/units/<int:unit_id>")
async def get_unit(unit_id: int):
    return jsonify(service.unit_view(await service.get_unit(staff_actor(), unit_id)))


@bp.patch("/units/<int:unit_id>")
async def update_unit(unit_id: int):
    unit = await service.update_unit(deps(), staff_actor(), unit_id, await json_body())
    return jsonify(service.unit_view(unit))


@bp.get("/staff")
async def list_staff():
    rows = await service.list_staff(staff_actor(), request.args.get("unit_id"))
    return jsonify([service.staff_view(s) for s in rows])


@bp.post("/staff")
async def create_staff():
    staff = await service.create_staff(deps(), staff_actor(), await json_body())
    return jsonify(service.staff_view(staff)), 201


@bp.get("/staff/<int:staff_id>")
async def get_staff(staff_id: int):
    return jsonify(service.staff_view(await service.get_staff(staff_actor(), staff_id)))


@bp.patch("/staff/<int:staff_id>")
async def update_staff(staff_id: int):
    staff = await service.update_staff(deps(), staff_actor(), staff_id, await json_body())
    return jsonify(service.staff_view(staff))


@bp.post("/staff/<int:staff_id>/unlock")
async def unlock_staff(staff_id: int):
    return jsonify(service.staff_view(await service.unlock_staff(deps(), staff_actor(), staff_id)))


@bp.post("/staff/<int:staff_id>/password")
async def reset_password(staff_id: int):
    data = await json_body()
    staff = await service.reset_staff_password(
        deps(), staff_actor(), staff_id, str(data.get("password") or "")
    )
    return jsonify(service.staff_view(staff))


@bp.post("/staff/<int:staff_id>/totp/reset")
async def reset_totp(staff_id: int):
    return jsonify(
        service.staff_view(await service.reset_staff_totp(deps(), staff_actor(), staff_id))
    )


def audit_filters() -> dict:
    f = {
        k: request.args.get(k, "").strip()
        for k in ("actor", "action", "object_type", "object_id", "outcome", "unit_id")
    }
    for key in ("since", "until"):
        raw = request.args.get(key, "").strip()
        if raw:
            try:
                day = dt.date.fromisoformat(raw)
            except ValueError as exc:
                raise DomainError("bad_field", "日期格式应为 YYYY-MM-DD", field=key) from exc
            if key == "until":
                day += dt.timedelta(days=1)
            # Midnight in Beijing, given in UTC: SQLite compares the stored UTC text as text.
            f[key] = beijing_midnight(day)
    if f["unit_id"]:
        try:
            int(f["unit_id"])
        except ValueError as exc:
            raise DomainError("bad_field", "单位编号须为整数", field="unit_id") from exc
    return {k: v for k, v in f.items() if v}


def audit_view(r) -> dict:
    return {
        "id": r.id,
        "at": r.at.isoformat(),
        "actor_id": r.actor_id,
        "actor_name": r.actor_name,
        "actor_roles": r.actor_roles,
        "unit_id": r.unit_id,
        "unit_name": r.unit_name,
        "action": r.action,
        "object_type": r.object_type,
        "object_id": r.object_id,
        "summary": r.summary,
        "before": r.before,
        "after": r.after,
        "ip": r.ip,
        "outcome": r.outcome,
    }


@bp.get("/audit")
async def audit():
    limit, offset = page_args()
    total, rows = await search_audit(staff_actor(), audit_filters(), limit=limit, offset=offset)
    return jsonify({"total": total, "items": [audit_view(r) for r in rows]})


@bp.get("/audit.csv")
async def audit_csv():
    body = await export_audit_csv(staff_actor(), audit_filters(), clock=deps().clock)
    return Response(
        body,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=audit.csv"},
    )


@bp.get("/security-log")
async def security_log():
    """Refusals of anonymous traffic, per minute, source and kind (supervisors)."""
    limit, offset = page_args()
    filters = {**audit_filters(), "source": request.args.get("source", "").strip()}
    filters["kind"] = request.args.get("kind", "").strip()
    total, rows = await search_security_log(staff_actor(), filters, limit=limit, offset=offset)
    return jsonify({"total": total, "items": [event_view(e) for e in rows]})


__all__ = ["actor", "bp"]
