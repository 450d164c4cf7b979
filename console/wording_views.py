"""Console page of the 错敏词 lists (issue 14): every member of staff sees what drafts are checked
against; the admins of the top unit add, edit, switch off and on (publishing.wording_rules)."""

from __future__ import annotations

from quart import Blueprint, flash, redirect, render_template, request, url_for

from console.views import login_required
from infra.errors import DomainError
from org.web import actor, deps, record_domain_failure
from publishing import wording_rules as rules
from publishing.wording import KINDS

bp = Blueprint("console_wording", __name__, url_prefix="/console/wording")

FIELDS = ("kind", "pattern", "regex", "correction", "note", "title", "rank")
ABOUT = {
    "misuse": "错用的词语和字，及其正确写法。只在一定上下文中才算错用的词（如“截止”后接时间、"
    "“登陆”后接网站系统）用正则表达式写明上下文。",
    "style": "本单位文风要求，并非错别字（如统一用“其他”、作出决定）："
    "本单位文风规范另有规定的，停用即可。",
    "outdated": "已撤销或更名的机构、已废止的政策名称。"
    "引用其发布的文件、写作“原…”或介绍机构改革时不提示。",
    "sensitive": "政务新媒体不应使用的表述，及应改用的写法。",
    "leader": "领导姓名、职务及排序：文中职务与名单不符，或多位领导并列时顺序与排序不符，均会提示。"
    "调整某位领导的排序后，其他领导依次顺延。",
}


def _kind() -> str:
    kind = request.args.get("kind", "").strip()
    return kind if kind in KINDS else "misuse"


@bp.get("")
@login_required
async def page():
    a = actor()
    kind = _kind()
    can_edit = a.has("admin")
    try:
        rules.require_wording_admin(a)
    except DomainError:
        can_edit = False
    rows = await rules.list_wording_rules(deps(), a, include_inactive=can_edit)
    counts = {k: sum(1 for r in rows if r.kind == k and r.active) for k in KINDS}
    return await render_template(
        "wording_rules.html",
        kind=kind,
        kinds=KINDS,
        about=ABOUT[kind],
        counts=counts,
        rules=[r for r in rows if r.kind == kind],
        can_edit=can_edit,
    )


async def _data() -> dict:
    form = await request.form
    return {k: form.get(k, "") for k in FIELDS if k in form}


async def _act(work, done: str, kind: str):
    try:
        rule = await work()
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
    else:
        kind = rule.kind
        await flash(done.format(pattern=rule.pattern), "ok")
    return redirect(url_for("console_wording.page", kind=kind if kind in KINDS else None))


@bp.post("")
@login_required
async def add_rule():
    data = await _data()
    return await _act(
        lambda: rules.add_wording_rule(deps(), actor(), data),
        "已加入词库：“{pattern}”",
        data.get("kind", ""),
    )


@bp.post("/<int:wording_rule_id>")
@login_required
async def edit_rule(wording_rule_id: int):
    data = await _data()
    return await _act(
        lambda: rules.edit_wording_rule(deps(), actor(), wording_rule_id, data),
        "已保存“{pattern}”",
        data.get("kind", ""),
    )


@bp.post("/<int:wording_rule_id>/deactivate")
@login_required
async def deactivate_rule(wording_rule_id: int):
    form = await request.form
    return await _act(
        lambda: rules.set_wording_rule_active(deps(), actor(), wording_rule_id, False),
        "已停用“{pattern}”：稿件不再按此条提示",
        form.get("kind", ""),
    )


@bp.post("/<int:wording_rule_id>/activate")
@login_required
async def activate_rule(wording_rule_id: int):
    form = await request.form
    return await _act(
        lambda: rules.set_wording_rule_active(deps(), actor(), wording_rule_id, True),
        "已启用“{pattern}”",
        form.get("kind", ""),
    )
