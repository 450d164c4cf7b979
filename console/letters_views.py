"""Console pages of letters (来信): screening, the handlers' pending list, the letter with the
actions its viewer may take, the leaders' approvals, supervision and the daily check, and entry of
a letter on a citizen's behalf."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from quart import Blueprint, flash, redirect, render_template, request, url_for

from accounts.models import Account
from console.views import act, login_required
from infra.errors import DomainError, Forbidden
from knowledge.models import Entry
from knowledge.topics import list_topics
from letters import deadlines, intake, replies, routing, service, supervision
from letters.codes import format_code
from letters.models import (
    DECLINE_REASONS,
    KINDS,
    OPEN_STATUSES,
    PENDING_STATUSES,
    STATUSES,
    Letter,
)
from org.models import Staff
from org.service import list_units
from org.web import actor, deps, record_domain_failure

bp = Blueprint("console_letters", __name__, url_prefix="/console/letters")

PAGE_SIZE = 50
REPLY_STATUSES = {"review": "待审核", "approved": "已通过", "rejected": "已退回", "sent": "已发送"}
EXTENSION_STATUSES = {"pending": "待审批", "approved": "已同意", "rejected": "未同意"}
PROPOSALS = {
    "repeat": "疑似重复来信",
    "ad": "疑似广告",
    "abuse": "疑似人身攻击",
    "porn": "疑似色情内容",
    "empty": "疑似无实际内容",
}


@bp.context_processor
async def todo_counts() -> dict:
    """The counts beside the letters' queues in their navigation."""
    a = actor()
    return {"todo": await service.count_todo(a) if a.staff_id is not None else {}}


@bp.app_context_processor
def inject() -> dict:
    return {
        "LETTER_KINDS": KINDS,
        "LETTER_STATUSES": STATUSES,
        "DECLINE_REASONS": DECLINE_REASONS,
        "LETTER_PROPOSALS": PROPOSALS,
        "REPLY_STATUSES": REPLY_STATUSES,
        "EXTENSION_STATUSES": EXTENSION_STATUSES,
    }


@bp.app_template_filter("iso_local")
def iso_local(value: str | None) -> str:
    """A timestamp of a letter view (ISO text, UTC) in Beijing time."""
    from infra.clock import to_local

    if not value:
        return ""
    return to_local(dt.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _may(a, letter: Letter, *roles: str) -> bool:
    """Whether the service's own unit-role rule lets this actor act on the letter."""
    try:
        service.require_unit_role(a, letter, *roles, what="")
    except Forbidden:
        return False
    return True


async def _units() -> list:
    return [u for u in await list_units(actor()) if u.active and not u.is_internal]


def _letter_url(letter_id: int) -> str:
    return url_for("console_letters.letter", letter_id=letter_id)


# ------------------------------------------------------------------ lists


@bp.get("")
@login_required
async def inbox():
    """The pending list of the unit, soonest deadline first. Opening it is the daily check."""
    a = actor()
    if not a.has("handler", "reviewer", "leader") and a.has("supervisor"):
        return redirect(url_for("console_letters.supervision_page"))
    return await _queue_page(a, "handling")


async def _queue_page(a, queue: str, template: str = "letters_inbox.html", **extra):
    """One page of a unit's queue (handling, reviewing, screening), soonest first."""
    d, page = deps(), _page()
    total, rows = await service.list_inbox(
        d, a, queue=queue, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return await render_template(
        template,
        rows=[service.letter_view(d, a, r) for r in rows],
        total=total,
        page=page,
        pages=(total + PAGE_SIZE - 1) // PAGE_SIZE,
        **extra,
    )


@bp.get("/reviews")
@login_required
async def reviews():
    """待审核的答复: letters whose reply waits for a reviewer of the unit (leaders: and below)."""
    a = actor()
    if not a.has("reviewer", "leader"):
        raise Forbidden("只有审核员或领导审核答复")
    return await _queue_page(
        a,
        "reviewing",
        heading="待审核的答复",
        intro="答复已提交、等待审核的来信，按答复期限排列。"
        "审核通过即发送给来信人；不能审核自己拟写的答复。",
        empty="暂无待审核的答复",
    )


@bp.get("/search")
@login_required
async def search():
    """Every letter the person may read, by tracking code, words, status, kind or unit."""
    a = actor()
    d = deps()
    filters = {k: request.args.get(k, "").strip() for k in ("code", "q", "status", "kind")}
    filters["unit_id"] = request.args.get("unit_id", "").strip()
    page = _page()
    error, total, rows = "", 0, []
    try:
        total, rows = await service.list_letters(
            d, a, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    except DomainError as err:
        if err.status == 403:
            raise
        error = err.message
    if filters["code"] and total == 1 and not error:
        return redirect(_letter_url(rows[0].id))  # a code read out on the phone: straight there
    return await render_template(
        "letters_search.html",
        rows=[service.letter_view(d, a, r) for r in rows],
        total=total,
        page=page,
        pages=(total + PAGE_SIZE - 1) // PAGE_SIZE,
        filters=filters,
        error=error,
        units=await _units() if a.has("leader", "supervisor") else [],
    )


@bp.get("/screening")
@login_required
async def screening():
    return await _queue_page(actor(), "screening", "letters_screening.html", units=await _units())


@bp.get("/approvals")
@login_required
async def approvals():
    a = actor()
    if not a.has("leader"):
        raise Forbidden("只有领导可以批示来信和审批延期")
    d = deps()
    _, waiting = await service.list_letters(d, a, {"status": "instructing"}, limit=200)
    extensions = await deadlines.list_pending_extensions(a, limit=200)
    return await render_template(
        "letters_approvals.html",
        waiting=[service.letter_view(d, a, r) for r in waiting if _may(a, r, "leader")],
        extensions=[
            (service.letter_view(d, a, ext.letter), ext, ext.requested_by.real_name)
            for ext in extensions
        ],
        units=await _units(),
    )


@bp.get("/supervision")
@login_required
async def supervision_page():
    a = actor()
    page = _page()
    d = deps()
    total, rows = await supervision.list_supervision(
        a, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    notes = await supervision.supervision_notes([r.id for r in rows])
    today = d.clock.today()
    return await render_template(
        "letters_supervision.html",
        rows=[
            (service.letter_view(d, a, r), (today - r.due_on).days, notes.get(r.id, []))
            for r in rows
        ],
        total=total,
        page=page,
        pages=(total + PAGE_SIZE - 1) // PAGE_SIZE,
    )


def _date_arg(name: str) -> dt.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise DomainError("bad_field", "日期格式应为 年-月-日", field=name) from None


@bp.get("/daily-check")
@login_required
async def daily_check():
    today = deps().clock.today()
    since = _date_arg("since") or today - dt.timedelta(days=30)
    until = _date_arg("until") or today
    if since > until:
        raise DomainError("bad_field", "起始日期不能晚于截止日期", field="since")
    rows = await supervision.list_missed_checks(actor(), since=since, until=until)
    days: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        days.setdefault(row["day"], []).append(row)
    return await render_template("letters_daily_check.html", days=days, since=since, until=until)


# ------------------------------------------------------------------ entry on a citizen's behalf


async def _new_form(form: dict | None = None, status: int = 200):
    html = await render_template(
        "letters_new.html",
        form=form or {"idempotency_key": secrets.token_urlsafe(16)},
        units=await _units(),
    )
    return html, status


@bp.get("/new")
@login_required
async def new_letter():
    if not actor().has("handler", "leader"):
        raise Forbidden("只有办理人或领导可以代群众录入来信")
    return await _new_form()


@bp.post("/new")
@login_required
async def create_letter():
    form = await request.form
    fields = ("kind", "title", "content", "unit_id", "name", "mobile", "idempotency_key")
    typed = {k: form.get(k, "") for k in fields} | {"consent_publish": bool(form.get("consent"))}
    data = {
        "kind": typed["kind"],
        "title": typed["title"],
        "content": typed["content"],
        "unit_id": typed["unit_id"] if typed["kind"] == "department" else None,
        "writer": {"name": typed["name"], "mobile": typed["mobile"]},
        "consent_publish": typed["consent_publish"],
        "idempotency_key": typed["idempotency_key"][:64] or None,
    }
    try:
        letter, created = await intake.submit_letter(deps(), actor(), data)
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        if err.status in (401, 403):
            return redirect(url_for("console.dashboard"))
        return await _new_form(typed, 400)
    code = format_code(letter.code)
    if created:
        await flash(f"来信已录入，跟踪码：{code}（请告知来信人），已转甄别", "ok")
    else:
        await flash(f"这封来信已录入过，跟踪码：{code}", "ok")
    try:
        await service.load_letter(actor(), letter.id)
    except DomainError:
        return redirect(url_for("console_letters.new_letter"))
    return redirect(_letter_url(letter.id))


# ------------------------------------------------------------------ one letter


def _permissions(a, letter: Letter, view: dict) -> dict[str, bool]:
    """What the page offers; the services decide with the same rules."""
    ext = view.get("extension")
    pending_reply = next((r for r in reversed(view["replies"]) if r["status"] == "review"), None)
    return {
        "can_screen": letter.status == "new" and _may(a, letter, "handler", "leader"),
        "can_instruct": letter.status == "instructing" and _may(a, letter, "leader"),
        "can_transfer": letter.status == "handling" and _may(a, letter, "handler", "leader"),
        "can_extend": letter.status in OPEN_STATUSES and ext is None and _may(a, letter, "handler"),
        "can_decide_extension": bool(ext and ext["status"] == "pending")
        and _may(a, letter, "leader")
        and ext["requested_by"] != a.staff_id,
        "can_reply": letter.status == "handling" and _may(a, letter, "handler"),
        "can_review": letter.status == "reviewing"
        and pending_reply is not None
        and pending_reply["author_id"] != a.staff_id
        and _may(a, letter, "reviewer", "leader"),
        "can_supervise": a.has("supervisor")
        and letter.supervised_at is not None
        and letter.status in PENDING_STATUSES,
        "can_propose_kb": letter.status == "replied"
        and not letter.kb_entry_id
        and _may(a, letter, "handler"),
    }


async def _letter_page(letter_id: int, *, reply_text: str | None = None, status: int = 200):
    a = actor()
    d = deps()
    letter = await service.load_letter(a, letter_id)
    view = await service.get_letter(d, a, letter_id)
    units = {u.id: u for u in await list_units(a)}
    staff_ids = {r["author_id"] for r in view["replies"]} | {
        r["reviewer_id"] for r in view["replies"] if r["reviewer_id"]
    }
    names = (
        dict(await Staff.filter(id__in=staff_ids).values_list("id", "real_name"))
        if staff_ids
        else {}
    )
    account = await Account.get_or_none(id=view["account_id"]) if view["account_id"] else None
    entry = await Entry.get_or_none(id=letter.kb_entry_id) if letter.kb_entry_id else None
    templates = replies.reply_templates(d.settings)
    template_kind = request.args.get("template", letter.kind)
    if reply_text is None:
        reply_text = templates.get(template_kind, templates.get(letter.kind, ""))
    allowed = _permissions(a, letter, view)
    html = await render_template(
        "letters_letter.html",
        l=view,
        units=units,
        staff_names=names,
        account=account,
        entry=entry,
        templates=templates,
        template_kind=template_kind,
        reply_text=reply_text,
        routing_units=[u for u in units.values() if u.active and not u.is_internal],
        topics=await list_topics() if allowed["can_propose_kb"] else [],
        max_extension=d.settings.letter_extension_max_days,
        review_needed=replies.needs_review(d.settings, letter.kind),
        **allowed,
    )
    return html, status


@bp.get("/<int:letter_id>")
@login_required
async def letter(letter_id: int):
    return await _letter_page(letter_id)


@bp.post("/<int:letter_id>/accept")
@login_required
async def accept(letter_id: int):
    form = await request.form
    data = {"unit_id": form.get("unit_id", ""), "note": form.get("note", "")}

    def done(letter: Letter) -> str:
        if letter.status == "instructing":
            return f"已受理来信 #{letter.id}，待领导批示，答复期限 {letter.due_on}"
        return f"已受理来信 #{letter.id}，交「{letter.unit.name}」办理，答复期限 {letter.due_on}"

    return await act(
        lambda: routing.accept_letter(deps(), actor(), letter_id, data),
        done,
        back=url_for("console_letters.screening"),
    )


@bp.post("/<int:letter_id>/decline")
@login_required
async def decline(letter_id: int):
    form = await request.form
    data = {
        "reason": form.get("reason", ""),
        "note": form.get("note", ""),
        "repeat_of_id": form.get("repeat_of_id", "").strip().lstrip("#"),
    }
    back = (
        _letter_url(letter_id)
        if form.get("back") == "letter"
        else url_for("console_letters.screening")
    )
    return await act(
        lambda: routing.decline_letter(deps(), actor(), letter_id, data),
        lambda letter: f"来信 #{letter.id} 不予受理：{DECLINE_REASONS[letter.decline_reason]}",
        back=back,
    )


@bp.post("/<int:letter_id>/instruct")
@login_required
async def instruct(letter_id: int):
    form = await request.form
    unit_ids = [form.get("unit_id", ""), *form.getlist("co_unit_ids")]
    data = {"instruction": form.get("instruction", ""), "unit_ids": [u for u in unit_ids if u]}
    return await act(
        lambda: routing.instruct_letter(deps(), actor(), letter_id, data),
        lambda letter: f"已批示来信 #{letter.id}，交「{letter.unit.name}」主办",
        back=url_for("console_letters.approvals"),
    )


@bp.post("/<int:letter_id>/transfer")
@login_required
async def transfer(letter_id: int):
    form = await request.form
    data = {"unit_id": form.get("unit_id", ""), "reason": form.get("reason", "")}
    try:
        letter = await routing.transfer_letter(deps(), actor(), letter_id, data)
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(_letter_url(letter_id))
    await flash(f"来信 #{letter.id} 已转「{letter.unit.name}」办理", "ok")
    return redirect(url_for("console_letters.inbox"))


def _int_or_raw(value: str) -> Any:
    value = value.strip()
    return int(value) if value.isdigit() else value


@bp.post("/<int:letter_id>/extension")
@login_required
async def request_extension(letter_id: int):
    form = await request.form
    data = {"days": _int_or_raw(form.get("days", "")), "reason": form.get("reason", "")}
    return await act(
        lambda: deadlines.request_extension(deps(), actor(), letter_id, data),
        lambda ext: f"已申请延期 {ext.days} 天，等待领导审批",
        back=_letter_url(letter_id),
    )


def _decision(form) -> bool | None:
    return {"approve": True, "reject": False}.get(form.get("decision", ""))


@bp.post("/<int:letter_id>/extension/decision")
@login_required
async def decide_extension(letter_id: int):
    form = await request.form
    data = {"approve": _decision(form), "comment": form.get("comment", "")}
    back = (
        url_for("console_letters.approvals")
        if form.get("back") == "approvals"
        else _letter_url(letter_id)
    )
    return await act(
        lambda: deadlines.decide_extension(deps(), actor(), letter_id, data),
        lambda ext: (
            f"已同意延期，新的答复期限 {ext.due_after}"
            if ext.status == "approved"
            else "已不同意延期，答复期限不变"
        ),
        back=back,
    )


@bp.post("/<int:letter_id>/reply")
@login_required
async def write_reply(letter_id: int):
    form = await request.form
    text = form.get("text", "")
    try:
        reply = await replies.write_reply(deps(), actor(), letter_id, {"text": text})
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        if err.status in (401, 403, 404, 409):
            return redirect(_letter_url(letter_id))
        # A reply may be long: show it again as typed.
        return await _letter_page(letter_id, reply_text=text, status=400)
    if reply.status == "review":
        await flash("答复已提交审核，审核通过后发送给来信人", "ok")
    else:
        await flash("答复已发送给来信人", "ok")
    return redirect(_letter_url(letter_id))


@bp.post("/<int:letter_id>/reply/review")
@login_required
async def review_reply(letter_id: int):
    form = await request.form
    data = {"approve": _decision(form), "comment": form.get("comment", "")}
    return await act(
        lambda: replies.review_reply(deps(), actor(), letter_id, data),
        lambda reply: (
            "答复已审核通过并发送给来信人" if reply.status == "sent" else "答复已退回办理人修改"
        ),
        back=_letter_url(letter_id),
    )


@bp.post("/<int:letter_id>/supervision")
@login_required
async def supervise(letter_id: int):
    form = await request.form
    back = (
        url_for("console_letters.supervision_page")
        if form.get("back") == "supervision"
        else _letter_url(letter_id)
    )
    return await act(
        lambda: supervision.add_supervision_note(
            deps(), actor(), letter_id, {"text": form.get("text", "")}
        ),
        "督办意见已记录并通知办理单位",
        back=back,
    )


@bp.post("/<int:letter_id>/kb-entry")
@login_required
async def propose_kb_entry(letter_id: int):
    form = await request.form
    data = {"question": form.get("question", ""), "topic_id": form.get("topic_id") or None}
    return await act(
        lambda: replies.propose_kb_entry(deps(), actor(), letter_id, data),
        lambda entry: (
            f"已转为知识库条目 #{entry.id}（草稿，已去除个人信息），审核发布后机器人才会使用"
        ),
        back=_letter_url(letter_id),
    )
