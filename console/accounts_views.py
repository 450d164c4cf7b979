"""Console pages of the register: accounts, filing requests and the approver's inbox."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, render_template, request, url_for

from accounts import monitor, posts, service
from accounts.models import PLATFORMS, STATUSES
from accounts.monitor import STATES, account_activity
from accounts.screening import KINDS
from console.views import act, login_required
from infra.errors import DomainError
from org.models import Staff
from org.service import list_units
from org.web import actor, deps, record_domain_failure

bp = Blueprint("console_accounts", __name__, url_prefix="/console")


@bp.app_context_processor
def inject() -> dict:
    return {
        "PLATFORMS": PLATFORMS,
        "STATUSES": STATUSES,
        "FILING_KINDS": service.FILING_KINDS,
        "ACTIVITY": STATES,
        "REVIEW_STATUSES": posts.REVIEW_STATUSES,
        "posts_author": posts.author_name,
        "posts_staff": posts.staff_name,
        "RULE_KINDS": KINDS,
        "CREDENTIAL_LABELS": CREDENTIAL_LABELS,
    }


@bp.get("/accounts")
@login_required
async def accounts():
    filters = {
        k: request.args.get(k, "").strip() for k in ("unit_id", "platform", "status", "warnings")
    }
    rows = await service.list_accounts(actor(), filters)
    activity = {a.account_id: a for a in await account_activity(deps(), [r[0].id for r in rows])}
    return await render_template(
        "accounts.html",
        rows=rows,
        args=request.args,
        activity=activity,
        units=await list_units(actor()),
    )


@bp.get("/accounts/<int:account_id>")
@login_required
async def account(account_id: int):
    a = actor()
    acc = await service.get_account(a, account_id)
    filings = await service.list_filings(a, account_id=acc.id)
    activity = await account_activity(deps(), [acc.id])
    posts_total, recent = await posts.list_posts(a, acc.id, limit=50)
    own_unit = "system" in a.roles or a.unit_id == acc.unit_id  # type: ignore[attr-defined]
    return await render_template(
        "account.html",
        account=acc,
        filings=filings,
        activity=activity[0] if activity else None,
        warnings=await service.account_warnings(acc) + service.credential_warnings(deps(), acc),
        posts=recent,
        posts_total=posts_total,
        can_add_posts=own_unit and a.has("editor"),
        can_clear_posts=own_unit and a.has("reviewer"),
        can_mark_removed=own_unit and a.has("editor", "reviewer"),
        me_id=a.staff_id,
        credential_fields=service.CREDENTIAL_FIELDS.get(acc.platform),
        can_set_credentials=(own_unit and a.has("editor"))
        or (a.has("admin") and a.manages_unit(acc.unit.path)),
    )


CREDENTIAL_LABELS = {
    "app_id": "AppID",
    "app_secret": "AppSecret",
    "token": "Token（令牌）",
    "aes_key": "EncodingAESKey（兼容或安全模式必填）",
    "mode": "消息加解密方式",
    "reply_template_id": "答复通知模板ID（选填，48小时后推送答复用）",
    "bot_token": "Bot Token",
    "webhook_secret": "Webhook Secret Token",
    "channel": "频道（@用户名或 chat id，选填，默认用平台账号）",
}


@bp.post("/accounts/<int:account_id>/credentials")
@login_required
async def set_credentials(account_id: int):
    """Credentials are written here and never shown again: the form is always empty."""
    form = await request.form
    data = {k: form.get(k, "") for k in CREDENTIAL_LABELS if k in form}
    return await act(
        lambda: service.set_credentials(deps(), actor(), account_id, data),
        _credentials_saved,
        back=url_for("console_accounts.account", account_id=account_id),
    )


def _credentials_saved(acc) -> str:
    path = "wechat" if acc.platform == "wechat" else "telegram"
    return f"已保存平台凭据；回调地址为 /{path}/{acc.code}"


@bp.post("/accounts/<int:account_id>/posts")
@login_required
async def add_post(account_id: int):
    form = await request.form
    data = {k: form.get(k, "") for k in form}
    try:
        added = await posts.add_post(deps(), actor(), account_id, data)
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(url_for("console_accounts.account", account_id=account_id))
    post = added.post
    if not added.created:
        await flash(f"「{post.title}」已登记过（编号相同），未重复登记", "ok")
    elif post.review_status == "flagged":
        await flash(
            f"已登记「{post.title}」，发现疑似广告 {len(post.findings or [])} 处，待审核人员核查",
            "error",
        )
    else:
        await flash(f"已登记「{post.title}」", "ok")
    return redirect(url_for("console_accounts.account", account_id=account_id))


MAX_ROW_ERRORS_SHOWN = 20


@bp.post("/accounts/<int:account_id>/posts/import")
@login_required
async def import_posts(account_id: int):
    upload = (await request.files).get("file")
    try:
        if upload is None or not upload.filename:
            raise DomainError("missing_file", "请选择要导入的文件（CSV 或 .xlsx）", field="file")
        report = await posts.import_posts(
            deps(), actor(), account_id, upload.filename, upload.read()
        )
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(url_for("console_accounts.account", account_id=account_id))
    errors = report["errors"]
    await flash(
        f"导入完成：导入 {report['imported']} 条，重复 {report['duplicates']} 条，"
        f"疑似广告 {report['flagged']} 条，出错 {len(errors)} 行",
        "error" if errors else "ok",
    )
    for e in errors[:MAX_ROW_ERRORS_SHOWN]:
        await flash(f"第 {e['row']} 行：{e['message']}", "error")
    if len(errors) > MAX_ROW_ERRORS_SHOWN:
        await flash(f"另有 {len(errors) - MAX_ROW_ERRORS_SHOWN} 行出错未列出", "error")
    return redirect(url_for("console_accounts.account", account_id=account_id))


async def _review_post(post_id: int, act, done: str):
    """The forms on a post of the account page: call ``act``, say what happened, go back."""
    form = await request.form
    back = form.get("account_id", "")
    try:
        post = await act(deps(), actor(), post_id, form.get("note", ""))
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        if back.isdigit():
            return redirect(url_for("console_accounts.account", account_id=int(back)))
        return redirect(url_for("console_accounts.accounts"))
    await flash(done.format(title=post.title), "ok")
    return redirect(url_for("console_accounts.account", account_id=post.account_id))  # type: ignore[attr-defined]


@bp.post("/posts/<int:post_id>/clear")
@login_required
async def clear_post(post_id: int):
    return await _review_post(post_id, posts.clear_post, "已核查放行「{title}」")


@bp.post("/posts/<int:post_id>/confirm")
@login_required
async def confirm_post(post_id: int):
    serious = (await request.form).get("serious") == "1"

    async def confirm(d, a, pid, note):
        return await posts.confirm_post(d, a, pid, note, serious=serious)

    return await _review_post(post_id, confirm, "已认定「{title}」为商业广告，已通知本单位删除")


@bp.post("/posts/<int:post_id>/removed")
@login_required
async def mark_post_removed(post_id: int):
    return await _review_post(post_id, posts.mark_post_removed, "已登记「{title}」已删除")


@bp.get("/ad-rules")
@login_required
async def ad_rules():
    a = actor()
    return await render_template(
        "ad_rules.html",
        rules=await posts.list_ad_rules(a, include_inactive=a.has("admin")),
        defaults=posts.default_rules_view(),
        form=request.args,
    )


@bp.post("/ad-rules")
@login_required
async def add_ad_rule():
    form = await request.form
    data = {k: form.get(k, "") for k in ("kind", "pattern", "note")}
    return await act(
        lambda: posts.add_ad_rule(deps(), actor(), data),
        lambda rule: f"已添加{KINDS.get(rule.kind, rule.kind)}规则“{rule.pattern}”",
        back=url_for("console_accounts.ad_rules"),
    )


@bp.post("/ad-rules/<int:rule_id>/remove")
@login_required
async def remove_ad_rule(rule_id: int):
    return await act(
        lambda: posts.remove_ad_rule(deps(), actor(), rule_id),
        lambda rule: f"已停用规则“{rule.pattern}”",
        back=url_for("console_accounts.ad_rules"),
    )


@bp.get("/activity")
@login_required
async def activity():
    a = actor()
    a.require("supervisor", "leader", "admin")
    d = deps()
    items = await account_activity(d, await monitor.visible_accounts(a))
    counts = dict.fromkeys(STATES, 0)
    for item in items:
        counts[item.state] += 1
    state = request.args.get("state", "")
    if state in STATES:
        items = [i for i in items if i.state == state]
    else:
        state = ""
    items.sort(key=lambda i: (-i.idle_days, i.account_id))
    table = await monitor.weekly_compliance(d, [i.account_id for i in items])
    weekly = {r.account_id: r for r in table.rows}
    return await render_template(
        "activity.html",
        items=items,
        counts=counts,
        state=state,
        weeks=table.weeks,
        weekly=weekly,
        today=d.clock.today(),
    )


@bp.get("/filings/new")
@login_required
async def new_filing():
    return await _filing_form(request.args.get("account_id"), request.args.get("kind", "open"))


async def _filing_form(account_id, kind: str, form: dict | None = None, status: int = 200):
    """The request form, with what was typed when a refusal sends it back."""
    acc = await service.get_account(actor(), account_id) if account_id else None
    return (
        await render_template("filing_new.html", account=acc, kind=kind, form=form or {}),
        status,
    )


@bp.post("/filings")
@login_required
async def create_filing():
    form = await request.form
    data = {k: form.get(k, "") for k in form}
    try:
        if data.get("account_id"):
            changes = {
                k.removeprefix("new_"): v
                for k, v in data.items()
                if k.startswith("new_") and v.strip()
            }
            filing = await service.file_request(
                deps(),
                actor(),
                data["account_id"],
                data.get("kind", ""),
                {**data, "changes": changes},
            )
        else:
            filing = await service.file_opening(deps(), actor(), data)
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        data.pop("csrf_token", None)
        return await _filing_form(
            data.get("account_id"), data.get("kind", "open"), data, err.status
        )
    await flash("申请已提交，等待逐级审批", "ok")
    return redirect(url_for("console_accounts.filing", filing_id=filing.id))


@bp.get("/filings")
@login_required
async def filings():
    a = actor()
    return await render_template(
        "filings.html", inbox=await service.approver_inbox(a), mine=await service.list_filings(a)
    )


@bp.get("/filings/<int:filing_id>")
@login_required
async def filing(filing_id: int):
    a = actor()
    f, events = await service.get_filing(a, filing_id)
    step = f.chain[f.step] if f.status == "pending" else None
    can_decide = bool(
        step
        and a.has("leader")
        and a.unit_id == step["unit_id"]
        and a.staff_id != f.requested_by_id
    )  # type: ignore[attr-defined]
    account = await f.account
    ids = [
        f.changes.get("responsible_id"),
        f.changes.get("_before", {}).get("responsible_id"),
        account.responsible_id,  # type: ignore[attr-defined]
    ]
    names = dict(await Staff.filter(id__in=[i for i in ids if i]).values_list("id", "real_name"))
    return await render_template(
        "filing.html",
        f=f,
        events=events,
        step=step,
        can_decide=can_decide,
        account=account,
        changes=service.filing_changes(f, account, names),
        requester=await Staff.get_or_none(id=f.requested_by_id),  # type: ignore[attr-defined]
    )


@bp.post("/filings/<int:filing_id>/decide")
@login_required
async def decide(filing_id: int):
    form = await request.form
    try:
        if form.get("decision") == "approve":
            await service.approve_filing(deps(), actor(), filing_id, form.get("comment", ""))
            await flash("已审批通过", "ok")
        else:
            await service.reject_filing(deps(), actor(), filing_id, form.get("comment", ""))
            await flash("已退回申请", "ok")
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
    return redirect(url_for("console_accounts.filing", filing_id=filing_id))
