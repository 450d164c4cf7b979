"""The staff console: server-rendered pages over the org services (POST, then redirect)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import segno
from quart import Blueprint, Response, flash, g, redirect, render_template, request, url_for

from accounts import service as accounts_service
from accounts.posts import count_flagged, count_to_take_down, first_to_take_down
from infra.clock import to_local
from infra.errors import DomainError
from knowledge.entries import count_to_review
from letters import service as letters_service
from letters.supervision import list_supervision
from org import auth, service
from org.access import ROLES
from org.api import audit_filters
from org.audit import OUTCOMES, export_audit_csv, search_audit
from org.models import UNIT_KINDS
from org.security_log import search_security_log
from org.web import actor, client_ip, deps, record_domain_failure
from publishing import drafts as publishing_drafts
from publishing import schedule as publishing_schedule
from publishing import sources as publishing_sources
from supervision import annual, rectification

bp = Blueprint("console", __name__, url_prefix="/console")
PRE_CSRF_COOKIE = "ms_csrf"


@bp.app_template_filter("local")
def local_time(value) -> str:
    return to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""


# Who may open each page a link leads to, as the services check it: a template shows the link
# (me.has(*readers.tasks)) to these roles alone, so that no one follows it to a 403.
READERS = {
    "drafts": publishing_drafts.READERS,
    "tasks": publishing_sources.TASK_READERS,
    "schedule": publishing_schedule.READERS,
    "annual": annual.READERS,
    "letters": letters_service.READER_ROLES,
}


@bp.app_context_processor
def inject() -> dict:
    sess = g.get("session")
    return {
        "me": actor(),
        "csrf_token": sess.csrf_token if sess else g.get("pre_csrf", ""),
        "ROLES": ROLES,
        "UNIT_KINDS": UNIT_KINDS,
        "OUTCOMES": OUTCOMES,
        "readers": READERS,
    }


def login_required(view):
    @wraps(view)
    async def wrapper(*args, **kwargs):
        if actor().staff_id is None:
            return redirect(url_for("console.login_page", next=request.path))
        return await view(*args, **kwargs)

    return wrapper


async def act(work: Callable[[], Awaitable[Any]], message: Any, *, back: str) -> Any:
    """One action of a page (POST, then redirect): run ``work``; flash ``message`` (or
    ``message(result)`` when it is callable), or the refusal in Chinese, recorded as a failure;
    go to ``back`` either way."""
    try:
        result = await work()
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(back)
    await flash(message(result) if callable(message) else message, "ok")
    return redirect(back)


async def _form() -> dict:
    form = await request.form
    return {k: (form.getlist(k) if k == "roles" else form.get(k)) for k in form}


def _with_pre_csrf(html: str, status: int = 200) -> Response:
    resp = Response(html, status=status, mimetype="text/html")
    resp.set_cookie(
        PRE_CSRF_COOKIE,
        g.pre_csrf,
        httponly=True,
        samesite="Strict",
        secure=deps().settings.cookie_secure,
        path="/console",
    )
    return resp


async def _login_form(template: str, status: int = 200, **ctx) -> Response:
    g.pre_csrf = request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(24)
    return _with_pre_csrf(await render_template(template, **ctx), status)


@bp.get("/login")
async def login_page():
    if actor().staff_id is not None:
        return redirect(url_for("console.dashboard"))
    return await _login_form("login.html", next=request.args.get("next", ""))


@bp.post("/login")
async def login_submit():
    form = await request.form
    try:
        result = await auth.start_login(
            deps(), form.get("username", ""), form.get("password", ""), client_ip()
        )
    except DomainError as err:
        await record_domain_failure(err)
        return await _login_form(
            "login.html",
            err.status,
            error=err.message,
            username=form.get("username", ""),
            next=form.get("next", ""),
        )
    return await _login_form("verify.html", next=form.get("next", ""), **result)


@bp.post("/login/verify")
async def verify_submit():
    form = await request.form
    challenge = form.get("challenge", "")
    d = deps()
    try:
        if form.get("use_sms"):
            result = await auth.switch_to_sms(d, challenge)
            return await _login_form(
                "verify.html", next=form.get("next", ""), notice="验证码已发送", **result
            )
        _, token = await auth.finish_login(d, challenge, form.get("code", ""), client_ip())
    except DomainError as err:
        await record_domain_failure(err)
        if err.code in ("challenge_expired", "account_locked"):
            return await _login_form("login.html", err.status, error=err.message)
        return await _login_form(
            "verify.html",
            err.status,
            error=err.message,
            challenge=challenge,
            method=form.get("method", ""),
            mobile=form.get("mobile", ""),
            next=form.get("next", ""),
        )
    target = form.get("next", "")
    if not target.startswith("/console") or target.startswith("//"):
        target = url_for("console.dashboard")
    resp = redirect(target)
    resp.set_cookie(
        "ms_session",
        token,
        max_age=d.settings.session_hours * 3600,
        httponly=True,
        secure=d.settings.cookie_secure,
        samesite="Lax",
        path="/",
    )
    resp.delete_cookie(PRE_CSRF_COOKIE, path="/console")
    return resp


@bp.post("/logout")
@login_required
async def logout():
    await auth.end_session(deps(), actor(), g.session)
    resp = redirect(url_for("console.login_page"))
    resp.delete_cookie("ms_session", path="/")
    return resp


@bp.get("/")
@login_required
async def dashboard():
    return await render_template("dashboard.html", todo=await _todo(actor()))


async def _todo(a) -> list[tuple[str, int, str]]:
    """(what, how many, where) for each queue that waits for this person and is not empty."""
    letters = await letters_service.count_todo(a)
    rows = [
        ("待甄别的来信", letters.get("screening", 0), url_for("console_letters.screening")),
        ("办理中的来信", letters.get("handling", 0), url_for("console_letters.inbox")),
        ("待审核的答复", letters.get("reviewing", 0), url_for("console_letters.reviews")),
        ("待批示的来信", letters.get("instructing", 0), url_for("console_letters.approvals")),
        ("待审批的延期", letters.get("extensions", 0), url_for("console_letters.approvals")),
        (
            "待审批的账号备案",
            len(await accounts_service.approver_inbox(a)),
            url_for("console_accounts.filings"),
        ),
        (
            "待审核的知识条目",
            await count_to_review(a),
            url_for("console_knowledge.entries", status="review"),
        ),
        ("待核查的疑似广告", await count_flagged(a), url_for("console_accounts.accounts")),
        (
            "待审核的稿件",
            await publishing_drafts.count_to_review(a),
            url_for("console_publishing.drafts_list", queue="review"),
        ),
        (
            "被退回的稿件",
            await publishing_drafts.count_returned(a),
            url_for("console_publishing.drafts_list", status="returned"),
        ),
        (
            "待核实或失败的发布",
            await publishing_drafts.count_to_settle(a),
            url_for("console_publishing.drafts_list", queue="attention"),
        ),
        (
            "待转载的任务",
            await publishing_sources.count_open_tasks(a),
            url_for("console_publishing.tasks"),
        ),
    ]
    rectify = await rectification.count_todo(a)
    here = "console_supervision.rectification.index"
    rows += [
        ("待整改的问题", rectify["open"], url_for(here, status="open")),
        ("被退回的整改", rectify["returned"], url_for(here, status="open")),
        ("待核验的整改", rectify["submitted"], url_for(here, status="submitted")),
    ]
    if take_down := await count_to_take_down(a):
        account_id = await first_to_take_down(a)
        where = (
            url_for("console_accounts.account", account_id=account_id)
            if account_id is not None
            else url_for("console_accounts.accounts")
        )
        rows.append(("待删除的广告发文", take_down, where))
    if a.has("supervisor", "leader"):
        total, _ = await list_supervision(a, limit=0)
        rows.append(("逾期督办件", total, url_for("console_letters.supervision_page")))
        rows.append(
            (
                "逾期未转载的任务",
                await publishing_sources.count_overdue(deps(), a),
                url_for("console_publishing.tasks", tab="overdue"),
            )
        )
    return [row for row in rows if row[1]]


# ------------------------------------------------------------------ units and staff (admin)


@bp.get("/units")
@login_required
async def units():
    rows = await service.list_units(actor())
    return await render_template("units.html", units=rows)


@bp.post("/units")
@login_required
async def create_unit():
    data = await _form()
    data["is_internal"] = bool(data.get("is_internal"))
    data["is_legal_entity"] = bool(data.get("is_legal_entity"))
    return await act(
        lambda: service.create_unit(deps(), actor(), data),
        lambda unit: f"已新建单位「{unit.name}」",
        back=url_for("console.units"),
    )


@bp.get("/staff")
@login_required
async def staff_list():
    rows = await service.list_staff(actor(), request.args.get("unit_id"))
    return await render_template("staff.html", staff=rows, units=await service.list_units(actor()))


@bp.post("/staff")
@login_required
async def create_staff():
    try:
        staff = await service.create_staff(deps(), actor(), await _form())
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(url_for("console.staff_list"))
    await flash(f"已新建工作人员「{staff.real_name}」", "ok")
    return redirect(url_for("console.staff_detail", staff_id=staff.id))


@bp.get("/staff/<int:staff_id>")
@login_required
async def staff_detail(staff_id: int):
    staff = await service.get_staff(actor(), staff_id)
    return await render_template(
        "staff_detail.html", staff=staff, units=await service.list_units(actor())
    )


@bp.post("/staff/<int:staff_id>")
@login_required
async def update_staff(staff_id: int):
    data = await _form()
    data.pop("csrf_token", None)
    action = data.pop("action", "update")
    d = deps()
    try:
        if action == "unlock":
            await service.unlock_staff(d, actor(), staff_id)
            message = "已解锁"
        elif action == "password":
            await service.reset_staff_password(d, actor(), staff_id, data.get("password") or "")
            message = "已重置密码"
        elif action == "totp":
            await service.reset_staff_totp(d, actor(), staff_id)
            message = "已解绑动态口令，下次登录使用短信验证码"
        else:
            if "active" not in data:
                data["active"] = False
            await service.update_staff(d, actor(), staff_id, data)
            message = "已保存"
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
    else:
        await flash(message, "ok")
    return redirect(url_for("console.staff_detail", staff_id=staff_id))


# ------------------------------------------------------------------ audit log (supervisor)


@bp.get("/audit")
@login_required
async def audit():
    filters = audit_filters()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total, rows = await search_audit(actor(), filters, limit=50, offset=(page - 1) * 50)
    return await render_template(
        "audit.html", rows=rows, total=total, page=page, args=request.args, pages=(total + 49) // 50
    )


@bp.get("/audit.csv")
@login_required
async def audit_csv():
    body = await export_audit_csv(actor(), audit_filters(), clock=deps().clock)
    return Response(
        body,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=audit.csv"},
    )


@bp.get("/security-log")
@login_required
async def security_log():
    """Refusals of anonymous traffic, counted per minute, source and kind (org/security_log.py)."""
    filters = {**audit_filters(), "source": request.args.get("source", "").strip()}
    filters["kind"] = request.args.get("kind", "").strip()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total, rows = await search_security_log(actor(), filters, limit=50, offset=(page - 1) * 50)
    return await render_template(
        "security_log.html",
        rows=rows,
        total=total,
        page=page,
        args=request.args,
        pages=(total + 49) // 50,
    )


# ------------------------------------------------------------------ my account


@bp.get("/me")
@login_required
async def me():
    a = actor()
    staff = await service.get_staff(a, a.staff_id)
    d = deps()
    tokens = [auth.token_view(d, t) for t in await auth.list_api_tokens(a)]
    return await render_template(
        "me.html", staff=staff, tokens=tokens, token_days=d.settings.api_token_days
    )


@bp.post("/me/password")
@login_required
async def change_password():
    form = await request.form
    return await act(
        lambda: auth.change_password(
            deps(),
            actor(),
            form.get("old_password", ""),
            form.get("new_password", ""),
            keep_session_id=g.session.id,
        ),
        "密码已修改",
        back=url_for("console.me"),
    )


@bp.post("/me/totp")
@login_required
async def begin_totp():
    enrol = await auth.begin_totp_enrolment(deps(), actor())
    qr = segno.make(enrol["otpauth_uri"], error="m").svg_inline(scale=4)
    return await render_template("totp.html", qr=qr, **enrol)


@bp.post("/me/totp/confirm")
@login_required
async def confirm_totp():
    form = await request.form
    return await act(
        lambda: auth.confirm_totp_enrolment(deps(), actor(), form.get("code", "")),
        "动态口令已绑定，以后登录请输入手机上的6位动态口令",
        back=url_for("console.me"),
    )


@bp.post("/me/tokens")
@login_required
async def create_token():
    form = await request.form
    try:
        tok, secret = await auth.create_api_token(
            deps(), actor(), form.get("name", ""), form.get("days", "")
        )
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(url_for("console.me"))
    until = local_time(tok.expires_at)
    await flash(
        f"API令牌「{tok.name}」已创建，有效至 {until}，请立即复制保存（只显示这一次）：{secret}",
        "token",
    )
    return redirect(url_for("console.me"))


@bp.post("/me/tokens/<int:token_id>/revoke")
@login_required
async def revoke_token(token_id: int):
    return await act(
        lambda: auth.revoke_api_token(deps(), actor(), token_id),
        "令牌已吊销",
        back=url_for("console.me"),
    )
