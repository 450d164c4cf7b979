"""Console pages of publishing (issue 14): drafts and their review (先审后发), the editor, a
draft's publications and timeline, the repost tasks with their 12-hour deadlines, and the
whitelist of sources. Thin: every query and rule is in publishing/."""

from __future__ import annotations

import datetime as dt
from typing import Any

from quart import Blueprint, flash, redirect, render_template, request, url_for

from accounts.models import PLATFORMS
from console.views import act, login_required
from infra.clock import SHANGHAI, to_local
from infra.errors import DomainError, Forbidden
from org.web import actor, deps, record_domain_failure
from publishing import drafts, runner, sources
from publishing.models import (
    DRAFT_STATUSES,
    PUBLICATION_STATUSES,
    SOURCE_LEVELS,
    Draft,
)

bp = Blueprint("console_publishing", __name__, url_prefix="/console")

PAGE_SIZE = 50
# The look of a draft's status pill and of a publication's row.
TONES = {
    "draft": "",
    "submitted": "warn",
    "returned": "bad",
    "approved": "ok",
    "scheduled": "ok",
    "publishing": "warn",
    "published": "ok",
    "failed": "bad",
    "withdrawn": "",
    "due": "",
    "manual": "warn",
    "needs_check": "warn",
    "cancelled": "",
}
EDIT_FIELDS = ("title", "body", "cover_url", "source_name", "source_url", "lead")


@bp.app_context_processor
def inject() -> dict:
    return {
        "DRAFT_STATUSES": DRAFT_STATUSES,
        "PUBLICATION_STATUSES": PUBLICATION_STATUSES,
        "SOURCE_LEVELS": SOURCE_LEVELS,
        "DRAFT_TONES": TONES,
    }


def time_left(due: dt.datetime | None, now: dt.datetime) -> tuple[str, str]:
    """(text, tone) of a task's deadline: the time left, or how long it is overdue."""
    if due is None:
        return "", ""
    seconds = int((due - now).total_seconds())
    minutes = abs(seconds) // 60
    hours, mins = divmod(minutes, 60)
    span = f"{hours // 24}天{hours % 24}小时" if hours >= 24 else f"{hours}小时{mins}分"
    if seconds < 0:
        return f"已逾期 {span}", "overdue"
    return f"剩余 {span}", "soon" if seconds < sources.REMIND_BEFORE.total_seconds() else ""


def _draft_url(draft_id: int) -> str:
    return url_for("console_publishing.draft", draft_id=draft_id)


# ------------------------------------------------------------------ the list


@bp.get("/drafts")
@login_required
async def drafts_list():
    """The unit's drafts by status, newest first; the 待审核 queue of reviewers; the drafts
    with a publication that waits for a person."""
    a = actor()
    queue = request.args.get("queue", "")
    status = request.args.get("status", "").strip()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    counts = await drafts.count_by_status(a)
    to_review = await drafts.list_to_review(a)
    to_settle = await drafts.list_to_settle(a)
    if queue == "review":
        if not a.has("reviewer", "leader"):
            raise Forbidden("只有审核员或领导审核稿件")
        total, rows = len(to_review), to_review
    elif queue == "attention":
        if not a.has("editor", "leader"):
            raise Forbidden("只有本单位编辑或领导处理发布记录")
        total, rows = len(to_settle), to_settle
    else:
        queue = ""
        total, rows = await drafts.list_drafts(
            a, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    accounts, staff = await drafts.names_of(rows)
    return await render_template(
        "publishing_drafts.html",
        rows=rows,
        total=total,
        counts=counts,
        all_count=sum(counts.values()),
        queue=queue,
        status=status,
        page=page,
        pages=(total + PAGE_SIZE - 1) // PAGE_SIZE if not queue else 1,
        accounts=accounts,
        staff=staff,
        review_count=len(to_review),
        settle_count=len(to_settle),
    )


# ------------------------------------------------------------------ the editor


def _typed(form) -> dict[str, Any]:
    """The editor's fields as the steps take them."""
    data: dict[str, Any] = {k: form.get(k, "") for k in EDIT_FIELDS}
    data["account_ids"] = [v for v in form.getlist("account_ids") if v]
    data["is_repost"] = form.get("is_repost") == "1"
    if form.get("task_id"):
        data["task_id"] = form["task_id"]
    return data


def _from_draft(d: Draft) -> dict[str, Any]:
    return {
        **{k: getattr(d, k) for k in EDIT_FIELDS},
        "account_ids": list(d.account_ids),
        "is_repost": d.is_repost,
    }


async def _editor(
    f: dict[str, Any],
    *,
    draft: Draft | None = None,
    task=None,
    preview: str | None = None,
    status: int = 200,
):
    """The editor: new (maybe from a repost task) or a draft's next version."""
    a = actor()
    drafts.require_writer(a, draft)
    from_task = task or (await drafts.task_of(draft) if draft is not None else None)
    if task is not None:  # the task's item, as it will be published
        f = {**f, "is_repost": True, "title": task.title[: drafts.MAX_TITLE]}
        f.update(source_name=task.source.name, source_url=task.link)
    html = await render_template(
        "publishing_editor.html",
        f=f,
        draft=draft,
        task=task,
        chosen={str(i) for i in f.get("account_ids", [])},
        accounts=await drafts.publishable_accounts(a),
        sources=[s for s in await sources.list_sources() if s.active],
        # A repost's title is the source's (000 §14(五)); a task's source and link are fixed.
        title_locked=task is not None or (draft is not None and draft.is_repost),
        source_locked=from_task is not None,
        preview=preview,
        PLATFORMS=PLATFORMS,
    )
    return html, status


@bp.get("/drafts/new")
@login_required
async def draft_new():
    task_id = request.args.get("task_id", "")
    task = await drafts.open_task(actor(), task_id) if task_id else None
    return await _editor({"account_ids": [], "is_repost": task is not None}, task=task)


async def _task_of_form(data: dict[str, Any]):
    return await drafts.open_task(actor(), data["task_id"]) if data.get("task_id") else None


@bp.post("/drafts")
@login_required
async def draft_create():
    form = await request.form
    data = _typed(form)
    try:
        d = await drafts.create_draft(deps(), actor(), data)
    except DomainError as err:
        await record_domain_failure(err)
        if err.status in (401, 403):
            await flash(err.message, "error")
            return redirect(url_for("console_publishing.drafts_list"))
        await flash(err.message, "error")
        if data.get("task_id") and (err.status == 404 or err.code == "bad_status"):
            return redirect(url_for("console_publishing.tasks"))  # the task is gone or done
        return await _editor(data, task=await _task_of_form(data), status=err.status)
    return await _saved(d, form.get("then") == "submit")


async def _saved(d: Draft, then_submit: bool):
    if not then_submit:
        await flash(f"已保存稿件「{d.title}」（第{d.version}版）", "ok")
        return redirect(_draft_url(d.id))
    return await act(
        lambda: drafts.submit_draft(deps(), actor(), d.id),
        lambda s: _submitted_message(s),
        back=_draft_url(d.id),
    )


def _submitted_message(d: Draft) -> str:
    if d.findings:
        return f"已提交审核；筛查发现 {len(d.findings)} 处疑似问题，请审核人员核实"
    return "已提交审核，等待本单位审核员审核"


@bp.post("/drafts/preview")
@login_required
async def draft_preview():
    """The text as it will look, from what is typed in the editor; nothing is saved."""
    form = await request.form
    data = _typed(form)
    draft = None
    if form.get("draft_id", "").isdigit():
        draft, _ = await drafts.get_draft(actor(), form["draft_id"])
    task = await _task_of_form(data) if draft is None else None
    shown = Draft(
        title=data["title"],
        body=data["body"],
        lead=data["lead"],
        cover_url=data["cover_url"],
        is_repost=data["is_repost"] or task is not None,
        source_name=task.source.name if task else data["source_name"],
        source_url=task.link if task else data["source_url"],
    )
    return await _editor(data, draft=draft, task=task, preview=drafts.preview_html(shown))


@bp.get("/drafts/<int:draft_id>/edit")
@login_required
async def draft_edit(draft_id: int):
    d, _ = await drafts.get_draft(actor(), draft_id)
    if d.status not in drafts.EDITABLE:
        await flash(f"稿件当前为「{DRAFT_STATUSES.get(d.status, d.status)}」，不能修改", "error")
        return redirect(_draft_url(d.id))
    return await _editor(_from_draft(d), draft=d)


@bp.post("/drafts/<int:draft_id>/edit")
@login_required
async def draft_save(draft_id: int):
    form = await request.form
    data = _typed(form)
    data.pop("task_id", None)
    try:
        d = await drafts.edit_draft(deps(), actor(), draft_id, data)
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        if err.status in (401, 403, 404, 409):
            return redirect(_draft_url(draft_id))
        d, _ = await drafts.get_draft(actor(), draft_id)
        return await _editor(data, draft=d, status=err.status)
    return await _saved(d, form.get("then") == "submit")


# ------------------------------------------------------------------ one draft


@bp.get("/drafts/<int:draft_id>")
@login_required
async def draft(draft_id: int):
    a = actor()
    now = deps().clock.now()
    d, events = await drafts.get_draft(a, draft_id)
    accounts, staff = await drafts.names_of([d])
    publications = [runner.publication_view(p) for p in await runner.publications_of(d.id)]
    writer = drafts.may_write(a, d)
    refusal = await drafts.review_refusal(a, d) if d.status == "submitted" else None
    reviewer_role = a.has("reviewer", "leader")
    settler = a.has("editor", "leader") and a.unit_id == d.unit_id  # type: ignore[attr-defined]
    when = to_local(d.scheduled_at or now + dt.timedelta(hours=1))
    return await render_template(
        "publishing_draft.html",
        d=d,
        preview=drafts.preview_html(d),
        findings=drafts.findings_view(d),
        blocking=len(drafts.blocking_findings(d)),
        events=events,
        EVENT_LABELS=drafts.EVENT_LABELS,
        publications=publications,
        accounts=accounts,
        staff=staff,
        task=await drafts.task_of(d),
        can_edit=writer and d.status in drafts.EDITABLE,
        can_review=d.status == "submitted" and refusal is None,
        # Reviewers see why they may not review (their own draft) instead of the buttons.
        review_refused=refusal if d.status == "submitted" and reviewer_role else None,
        can_schedule=writer and d.status in ("approved", "scheduled"),
        can_withdraw=writer and d.status in drafts.BEFORE_PUBLISHING,
        can_settle=settler,
        schedule_value=when.strftime("%Y-%m-%dT%H:%M"),
        now_value=to_local(now).strftime("%Y-%m-%dT%H:%M"),
    )


def _schedule_note(note: str) -> str:
    """A scheduling event's note is the time (ISO, UTC): shown in Beijing time."""
    try:
        return to_local(dt.datetime.fromisoformat(note)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return note


bp.add_app_template_filter(_schedule_note, "schedule_note")


@bp.post("/drafts/<int:draft_id>/submit")
@login_required
async def draft_submit(draft_id: int):
    return await act(
        lambda: drafts.submit_draft(deps(), actor(), draft_id),
        _submitted_message,
        back=_draft_url(draft_id),
    )


def _index(raw: str) -> Any:
    raw = raw.strip()
    return int(raw) if raw.isdigit() else raw


@bp.post("/drafts/<int:draft_id>/accept")
@login_required
async def draft_accept(draft_id: int):
    form = await request.form
    data = {"index": _index(form.get("index", "")), "note": form.get("note", "")}
    return await act(
        lambda: drafts.accept_finding(deps(), actor(), draft_id, data),
        "已确认该筛查结果，说明已记录",
        back=_draft_url(draft_id),
    )


@bp.post("/drafts/<int:draft_id>/review")
@login_required
async def draft_review(draft_id: int):
    form = await request.form
    opinion = form.get("opinion", "")
    decision = form.get("decision", "")
    data: dict[str, Any] = {"approve": {"approve": True, "return": False}.get(decision)}
    data["note" if decision == "approve" else "reason"] = opinion
    return await act(
        lambda: drafts.review_draft(deps(), actor(), draft_id, data),
        lambda d: (
            "已审核通过，编辑可以排期发布"
            if d.status == "approved"
            else "已退回修改，编辑会看到退回理由"
        ),
        back=_draft_url(draft_id),
    )


@bp.post("/drafts/<int:draft_id>/schedule")
@login_required
async def draft_schedule(draft_id: int):
    form = await request.form
    data = {"scheduled_at": form.get("scheduled_at", "")}

    def done(d: Draft) -> str:
        when = d.scheduled_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        return f"已排期，将于北京时间 {when} 发布"

    return await act(
        lambda: drafts.schedule_draft(deps(), actor(), draft_id, data),
        done,
        back=_draft_url(draft_id),
    )


@bp.post("/drafts/<int:draft_id>/withdraw")
@login_required
async def draft_withdraw(draft_id: int):
    form = await request.form
    return await act(
        lambda: drafts.withdraw_draft(deps(), actor(), draft_id, {"reason": form.get("reason")}),
        "稿件已撤回，不会发布",
        back=_draft_url(draft_id),
    )


OUTCOMES = {
    "published": "已登记为已发布",
    "retry": "已安排重新发布",
    "failed": "已放弃发布，说明已记录",
}


@bp.post("/drafts/publications/<int:publication_id>/resolve")
@login_required
async def publication_resolve(publication_id: int):
    form = await request.form
    outcome = form.get("outcome", "")
    data = {"outcome": outcome, "url": form.get("url", ""), "note": form.get("note", "")}
    back = form.get("draft_id", "")
    try:
        p = await runner.resolve_publication(deps(), actor(), publication_id, data)
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        if back.isdigit():
            return redirect(_draft_url(int(back)))
        return redirect(url_for("console_publishing.drafts_list"))
    name = p.account.name if p.account else ""
    await flash(f"「{name}」{OUTCOMES.get(outcome, '已处理')}", "ok")
    return redirect(_draft_url(p.draft_id))  # type: ignore[attr-defined]


# ------------------------------------------------------------------ repost tasks


@bp.get("/repost-tasks")
@login_required
async def tasks():
    """The unit's open tasks, soonest deadline first; supervisors and leaders: the overdue list."""
    a = actor()
    d = deps()
    now = d.clock.now()
    may_overdue = a.has("supervisor", "leader")
    tab = "overdue" if request.args.get("tab") == "overdue" and may_overdue else "open"
    if tab == "overdue":
        rows = await sources.list_overdue(d, a)
    else:
        rows = await sources.list_tasks(a)
        # Deadlines first (urgent items), then the others by arrival.
        far = dt.datetime.max.replace(tzinfo=dt.UTC)
        rows.sort(key=lambda t: (t.due_at is None, t.due_at or far, t.id))
    return await render_template(
        "publishing_tasks.html",
        tab=tab,
        rows=[(t, *time_left(t.due_at, now)) for t in rows],
        may_overdue=may_overdue,
        overdue_count=await sources.count_overdue(d, a),
        may_write=drafts.may_write(a),
        may_dismiss=a.has("editor", "leader"),
        show_unit=a.has("leader", "supervisor"),
    )


@bp.post("/repost-tasks/<int:task_id>/dismiss")
@login_required
async def task_dismiss(task_id: int):
    form = await request.form
    return await act(
        lambda: sources.dismiss_task(deps(), actor(), task_id, {"reason": form.get("reason")}),
        lambda t: f"已忽略转载任务「{t.title}」",
        back=url_for("console_publishing.tasks"),
    )


# ------------------------------------------------------------------ sources


@bp.get("/sources")
@login_required
async def sources_list():
    a = actor()
    a.require("admin", "editor", "reviewer", "leader", "supervisor")
    return await render_template(
        "publishing_sources.html",
        sources=await sources.list_sources(),
        subscribed=await sources.subscribed_source_ids(a),
        may_subscribe=a.has("editor", "leader") and a.unit_id is not None,
        form=request.args,
    )


@bp.post("/sources")
@login_required
async def source_add():
    form = await request.form
    data = {k: form.get(k, "") for k in ("name", "home_url", "level", "feed_url", "urgent")}
    return await act(
        lambda: sources.add_source(deps(), actor(), data),
        lambda s: f"已将「{s.name}」加入转载来源白名单",
        back=url_for("console_publishing.sources_list"),
    )


@bp.post("/sources/<int:source_id>/subscribe")
@login_required
async def source_subscribe(source_id: int):
    return await act(
        lambda: sources.subscribe(deps(), actor(), source_id),
        "本单位已订阅该来源，新发布的内容将生成转载任务",
        back=url_for("console_publishing.sources_list"),
    )
