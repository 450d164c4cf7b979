"""Console pages of the interaction knowledge base: entries and their review, topics, synonyms,
attention, unanswered questions, import and export, and a box to try the matcher."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets

from markupsafe import Markup, escape
from quart import Blueprint, Response, flash, redirect, render_template, request, url_for
from tortoise.functions import Count

from console.views import act, login_required
from infra.errors import DomainError
from knowledge import attention, exporting, importing, live, workflow
from knowledge import entries as kb_entries
from knowledge import synonyms as kb_synonyms
from knowledge import topics as kb_topics
from knowledge.models import STATUSES, Entry
from org.models import Staff
from org.service import list_units
from org.web import actor, deps, record_domain_failure

bp = Blueprint("console_knowledge", __name__, url_prefix="/console/knowledge")

PAGE_SIZE = 50
ENTRY_FIELDS = ("question", "similar", "answer", "topic_id", "review_by")
ACTIONS = {
    "create": "新建",
    "edit": "修改",
    "submit": "提交审核",
    "publish": "审核通过",
    "reject": "退回",
    "retire": "停用",
    "restore": "恢复",
    "import": "导入",
    "add_similar": "加入相似问法",
    "meta": "修改主题或复核日期",
}
DECISIONS = {"answer": "直接回答", "suggest": "给出建议", "none": "无法回答，引导留言"}
PERIODS = {"week": "本周", "month": "本月", "quarter": "本季度", "custom": "自定义"}
FORMATS = {"jsonl": "JSONL", "xlsx": "Excel（.xlsx）"}
REPORT_TTL = 3600
# Where staff go back to after acting on an entry from another page (unanswered questions).
SAFE_BACK = "/console/knowledge"
WHY_LABELS = {
    "char_overlap": "字重合度",
    "word_overlap": "词重合度",
    "unmatched_q": "提问中未对上的词",
    "unmatched_c": "条目中未对上的词",
    "substitution": "换了关键词",
    "qtype_mismatch": "问法类型不同",
    "neg_mismatch": "肯定否定不一致",
    "num_mismatch": "数字不一致",
    "antonym": "含反义词",
    "bm25": "检索得分",
}
# Web addresses are ASCII: Chinese text right after one is not part of it.
_URL = re.compile(r"https?://[\w\-.~:/?#\[\]@!$&*+;=%,]+", re.ASCII)


@bp.app_context_processor
def inject() -> dict:
    return {
        "KB_STATUSES": STATUSES,
        "KB_ACTIONS": ACTIONS,
        "KB_DECISIONS": DECISIONS,
        "KB_WHY": WHY_LABELS,
    }


@bp.app_template_filter("kb_answer")
def kb_answer(text: str | None) -> Markup:
    """An answer as citizens read it: plain text, its web addresses made links."""
    text = text or ""
    out, last = [], 0
    for m in _URL.finditer(text):
        raw = m.group(0).rstrip(".,;:!?")  # sentence punctuation after the address
        out.append(escape(text[last : m.start()]))
        url = escape(raw)
        out.append(Markup(f'<a href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>'))
        last = m.start() + len(raw)
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _entry_data(form) -> dict:
    return {k: form.get(k, "") for k in ENTRY_FIELDS}


def _back(form, default: str) -> str:
    target = form.get("back", "")
    return target if target.startswith(SAFE_BACK) else default


def _period() -> tuple[str, dt.date, dt.date]:
    """The period asked for (本周 by default) as first and last day, Beijing dates."""
    today = deps().clock.today()
    period = request.args.get("period", "week")
    if period == "custom":
        try:
            since = dt.date.fromisoformat(request.args.get("since", ""))
            until = dt.date.fromisoformat(request.args.get("until", ""))
        except ValueError:
            raise DomainError("bad_field", "请填写起止日期（年-月-日）", field="since") from None
        if since > until:
            raise DomainError("bad_field", "起始日期不能晚于截止日期", field="since")
        return period, since, until
    if period == "month":
        return period, today.replace(day=1), today
    if period == "quarter":
        return period, today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    return "week", today - dt.timedelta(days=today.weekday()), today


async def _names() -> tuple[dict, dict]:
    topics = {t.id: t for t in await kb_topics.list_topics()}
    units = {u.id: u for u in await list_units(actor())}
    return topics, units


# ------------------------------------------------------------------ entries


@bp.get("")
@login_required
async def entries():
    a = actor()
    args = request.args
    page = max(1, args.get("page", 1, type=int) or 1)
    rows, total = await kb_entries.list_entries(
        a,
        q=args.get("q", "").strip() or None,
        status=args.get("status") or None,
        topic_id=args.get("topic_id", type=int),
        unit_id=args.get("unit_id", type=int),
        review_due=bool(args.get("review_due")),
        clock=deps().clock,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    topics, units = await _names()
    return await render_template(
        "knowledge_entries.html",
        rows=rows,
        total=total,
        page=page,
        pages=(total + PAGE_SIZE - 1) // PAGE_SIZE,
        args=args,
        topics=topics,
        units=units,
        today=deps().clock.today(),
    )


@bp.get("/new")
@login_required
async def new_entry():
    """The new-entry form; prefilled (with the asks it answers) from the unanswered questions."""
    args = request.args
    return await render_template(
        "knowledge_new.html",
        form={k: args.get(k, "") for k in ENTRY_FIELDS},
        ask_ids=args.get("ask_ids", ""),
        topics=await kb_topics.list_topics(),
        form_key=secrets.token_urlsafe(24),  # sending this form twice makes one entry
    )


@bp.post("/entries")
@login_required
async def create_entry():
    form = await request.form
    data = _entry_data(form)
    data["form_key"] = form.get("form_key", "")
    data["allow_duplicate"] = bool(form.get("allow_duplicate"))
    d = deps()
    a = actor()
    try:
        if form.get("ask_ids"):
            entry = await attention.new_entry_from_asks(
                a, attention.ask_id_list(form["ask_ids"]), data, clock=d.clock, redis=d.redis
            )
        else:
            entry = await kb_entries.create_entry(
                a, {**data, "unit_id": a.unit_id}, clock=d.clock, redis=d.redis
            )
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        if err.status in (401, 403):
            return redirect(url_for("console_knowledge.entries"))
        # The form is long (an answer may be paragraphs): show it again as typed.
        html = await render_template(
            "knowledge_new.html",
            form=data,
            ask_ids=form.get("ask_ids", ""),
            topics=await kb_topics.list_topics(),
            form_key=data["form_key"],
            same_question=err.details.get("entry_id") if err.code == "same_question" else None,
        )
        return html, err.status
    if getattr(entry, "replayed", False):
        await flash(f"这份表单已提交过，没有重复新建：这是先前新建的「{entry.question}」", "ok")
    else:
        await flash(f"已新建条目「{entry.question}」（草稿），提交审核后才会回答群众", "ok")
    return redirect(url_for("console_knowledge.entry", entry_id=entry.id))


def _permissions(a, e, own_work: bool) -> dict[str, bool]:
    """What the page offers this viewer; the same rules as knowledge.access, which decides."""
    own_unit = a.unit_id == e.unit_id
    above = a.has("leader") and e.unit.path.startswith(a.unit_path)
    writer = own_unit and (
        a.has("editor") or (a.has("handler") and e.live is None and e.published_at is None)
    )
    reviewer = (own_unit and a.has("reviewer")) or above
    keeper = (own_unit and a.has("editor", "reviewer")) or above
    in_review = e.status == "review"
    return {
        "can_edit": writer and e.status != "retired",
        "can_submit": writer and e.status == "draft",
        "can_review": reviewer and in_review and not own_work,
        "own_work_in_review": reviewer and in_review and own_work,
        "can_retire": keeper and e.status != "retired",
        "can_restore": keeper and e.status == "retired",
    }


async def _entry_page(entry_id: int, *, form: dict | None = None, status: int = 200):
    a = actor()
    e = await kb_entries.get_entry(a, entry_id)
    versions = await kb_entries.list_versions(a, entry_id)
    ids = {v.staff_id for v in versions if v.staff_id}  # type: ignore[attr-defined]
    names = dict(await Staff.filter(id__in=ids).values_list("id", "real_name")) if ids else {}
    own_work = a.staff_id is not None and (
        a.staff_id == e.submitted_by_id  # type: ignore[attr-defined]
        or a.staff_id in await workflow.editors_of_pending_version(e)
    )
    live_copy = e.live or None
    differs = bool(
        live_copy
        and (
            live_copy.get("question") != e.question
            or list(live_copy.get("similar") or []) != list(e.similar or [])
            or live_copy.get("answer") != e.answer
        )
    )
    topics, units = await _names()
    html = await render_template(
        "knowledge_entry.html",
        e=e,
        form=form,
        live_copy=live_copy,
        live_differs=differs,
        versions=list(reversed(versions)),
        staff_names=names,
        topics=topics,
        units=units,
        today=deps().clock.today(),
        **_permissions(a, e, own_work),
    )
    return html, status


@bp.get("/entries/<int:entry_id>")
@login_required
async def entry(entry_id: int):
    return await _entry_page(entry_id)


async def _entry_action(entry_id: int, work, message: str):
    return await act(work, message, back=url_for("console_knowledge.entry", entry_id=entry_id))


@bp.post("/entries/<int:entry_id>")
@login_required
async def edit_entry(entry_id: int):
    form = await request.form
    d = deps()
    data = {**_entry_data(form), "version": form.get("version", "")}
    try:
        e = await kb_entries.edit_entry(actor(), entry_id, data, clock=d.clock, redis=d.redis)
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        if err.status in (401, 403, 404) or err.code == "stale":
            # Refused, or someone else saved meanwhile: show the entry as it is now.
            return redirect(url_for("console_knowledge.entry", entry_id=entry_id))
        # Show the form again as typed: an answer may be paragraphs long.
        return await _entry_page(entry_id, form=data, status=400)
    if e.live and e.status != "published":
        await flash("已保存为草稿；审核通过前，群众仍看到已发布的版本", "ok")
    else:
        await flash("已保存", "ok")
    return redirect(url_for("console_knowledge.entry", entry_id=entry_id))


@bp.post("/entries/<int:entry_id>/submit")
@login_required
async def submit_entry(entry_id: int):
    d = deps()
    return await _entry_action(
        entry_id,
        lambda: workflow.submit_entry(actor(), entry_id, clock=d.clock, redis=d.redis),
        "已提交审核，等待本单位审核员审核",
    )


@bp.post("/entries/<int:entry_id>/review")
@login_required
async def review_entry(entry_id: int):
    form = await request.form
    d = deps()
    approve = form.get("decision") == "approve"
    return await _entry_action(
        entry_id,
        lambda: workflow.review_entry(
            actor(),
            entry_id,
            approve=approve,
            note=form.get("note", ""),
            clock=d.clock,
            redis=d.redis,
        ),
        "已审核通过并发布，机器人即刻按此回答" if approve else "已退回修改",
    )


@bp.post("/entries/<int:entry_id>/retire")
@login_required
async def retire_entry(entry_id: int):
    form = await request.form
    d = deps()
    return await _entry_action(
        entry_id,
        lambda: workflow.retire_entry(
            actor(), entry_id, reason=form.get("reason", ""), clock=d.clock, redis=d.redis
        ),
        "已停用，机器人不再用此条目回答",
    )


@bp.post("/entries/<int:entry_id>/restore")
@login_required
async def restore_entry(entry_id: int):
    d = deps()
    return await _entry_action(
        entry_id,
        lambda: workflow.restore_entry(actor(), entry_id, clock=d.clock, redis=d.redis),
        "已恢复为草稿，提交审核通过后重新回答群众",
    )


# ------------------------------------------------------------------ try it


@bp.get("/try")
@login_required
async def try_it():
    a = actor()
    q = request.args.get("q", "").strip()
    after = request.args.get("after", "").strip()
    result, answer = None, None
    try:
        if q:
            index = live.knowledge_index(deps())
            result = await live.try_question(a, q, index=index, after=after)
    except DomainError as err:
        await flash(err.message, "error")
    if result and result["entry"]:
        e = await kb_entries.get_entry(a, result["entry"]["entry_id"])
        answer = (e.live or {}).get("answer")
    return await render_template(
        "knowledge_try.html", q=q, after=after, result=result, answer=answer
    )


# ------------------------------------------------------------------ topics and synonyms


@bp.get("/topics")
@login_required
async def topics():
    rows = (
        await Entry.exclude(topic_id=None)
        .group_by("topic_id")
        .annotate(n=Count("id"))
        .values_list("topic_id", "n")
    )
    return await render_template(
        "knowledge_topics.html", topics=await kb_topics.list_topics(), counts=dict(rows)
    )


async def _topic_action(work, message):
    return await act(work, message, back=url_for("console_knowledge.topics"))


@bp.post("/topics")
@login_required
async def create_topic():
    form = await request.form
    return await _topic_action(
        lambda: kb_topics.create_topic(actor(), form.get("name", ""), clock=deps().clock),
        lambda t: f"已新建主题「{t.name}」",
    )


@bp.post("/topics/<int:topic_id>/rename")
@login_required
async def rename_topic(topic_id: int):
    form = await request.form
    return await _topic_action(
        lambda: kb_topics.rename_topic(actor(), topic_id, form.get("name", ""), clock=deps().clock),
        lambda t: f"已改名为「{t.name}」",
    )


@bp.post("/topics/<int:topic_id>/delete")
@login_required
async def delete_topic(topic_id: int):
    return await _topic_action(
        lambda: kb_topics.delete_topic(actor(), topic_id, clock=deps().clock),
        lambda _: "已删除主题",
    )


@bp.get("/synonyms")
@login_required
async def synonyms():
    return await render_template(
        "knowledge_synonyms.html", groups=await kb_synonyms.list_synonym_groups()
    )


async def _synonym_action(work, message: str):
    return await act(work, message, back=url_for("console_knowledge.synonyms"))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@bp.post("/synonyms")
@login_required
async def add_synonyms():
    """One group per line, words separated by spaces (or commas)."""
    form = await request.form
    d = deps()
    lines = _lines(form.get("groups", ""))

    async def work():
        if not lines:
            raise DomainError("bad_field", "请填写同义词，每行一组，词之间用空格分隔")
        for line in lines:
            await kb_synonyms.save_synonym_group(actor(), line, clock=d.clock, redis=d.redis)

    return await _synonym_action(work, f"已添加 {len(lines)} 组同义词")


@bp.post("/synonyms/<int:group_id>")
@login_required
async def edit_synonyms(group_id: int):
    form = await request.form
    d = deps()
    return await _synonym_action(
        lambda: kb_synonyms.save_synonym_group(
            actor(), form.get("words", ""), group_id=group_id, clock=d.clock, redis=d.redis
        ),
        "已保存同义词组",
    )


@bp.post("/synonyms/<int:group_id>/delete")
@login_required
async def delete_synonyms(group_id: int):
    d = deps()
    return await _synonym_action(
        lambda: kb_synonyms.delete_synonym_group(actor(), group_id, clock=d.clock, redis=d.redis),
        "已删除同义词组",
    )


# ------------------------------------------------------------------ attention and unanswered


@bp.get("/attention")
@login_required
async def attention_page():
    a = actor()
    period, since, until = _period()
    topic_id = request.args.get("topic_id", type=int)
    if topic_id:
        ranked = await attention.rank_entries(a, since=since, until=until, topic_id=topic_id)
        name = next((t.name for t in await kb_topics.list_topics() if t.id == topic_id), "")
        sections = [{"topic": name, "entries": ranked}]
    else:
        sections = await attention.rank_by_topic(a, since=since, until=until, limit=10)
    return await render_template(
        "knowledge_attention.html",
        sections=sections,
        topics=await kb_topics.list_topics(),
        topic_id=topic_id,
        period=period,
        since=since,
        until=until,
        PERIODS=PERIODS,
    )


@bp.get("/unanswered")
@login_required
async def unanswered():
    period, since, until = _period()
    groups = await attention.list_unanswered(
        actor(), since=since, until=until, limit=100, index=live.knowledge_index(deps())
    )
    return await render_template(
        "knowledge_unanswered.html",
        groups=groups,
        period=period,
        since=since,
        until=until,
        PERIODS=PERIODS,
        back=request.full_path.rstrip("?"),
    )


@bp.post("/unanswered/add")
@login_required
async def add_asks():
    form = await request.form
    d = deps()
    back = _back(form, url_for("console_knowledge.unanswered"))
    try:
        raw_id = form.get("entry_id", "").strip().lstrip("#")
        if not raw_id.isdigit():
            raise DomainError("bad_field", "请填写要加入的条目编号", field="entry_id")
        entry = await attention.add_asks_to_entry(
            actor(),
            attention.ask_id_list(form.get("ask_ids", "")),
            int(raw_id),
            clock=d.clock,
            redis=d.redis,
        )
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(back)
    await flash(ADDED_AS_SIMILAR[entry.status].format(id=entry.id, q=entry.question), "ok")
    return redirect(back)


# What happens after 加为相似问法, by the entry's status afterwards.
ADDED_AS_SIMILAR = {
    "review": "已加为条目 #{id}「{q}」的相似问法，并已提交审核；审核员审核通过后，机器人即按此回答",
    "draft": "已加为条目 #{id}「{q}」的相似问法；该条目还没有答案，请补全答案后提交审核",
    "published": "条目 #{id}「{q}」已有这个问法，提问已标记为已处理",
    "retired": "条目 #{id}「{q}」已停用",
}


@bp.post("/unanswered/dismiss")
@login_required
async def dismiss_asks():
    form = await request.form
    back = _back(form, url_for("console_knowledge.unanswered"))
    try:
        count = await attention.dismiss_asks(
            actor(), attention.ask_id_list(form.get("ask_ids", "")), clock=deps().clock
        )
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(back)
    await flash(f"已忽略 {count} 条提问", "ok")
    return redirect(back)


# ------------------------------------------------------------------ import and export


def _report_key(token: str) -> str:
    return f"kb:import-report:{actor().staff_id}:{token}"


@bp.get("/transfer")
@login_required
async def transfer_page():
    report = None
    token = request.args.get("report", "")
    if token:
        raw = await deps().redis.get(_report_key(token))
        report = json.loads(raw) if raw else None
    return await render_template("knowledge_transfer.html", report=report, FORMATS=FORMATS)


# Up to this many lines the report lists every line; beyond, only those with a message.
REPORT_ALL_LINES = 500
UPLOAD_FORMATS = {"xlsx": "xlsx", "jsonl": "jsonl", "json": "jsonl", "txt": "jsonl"}


@bp.post("/import")
@login_required
async def import_entries():
    form = await request.form
    upload = (await request.files).get("file")
    d = deps()
    try:
        if upload is None or not upload.filename:
            raise DomainError("missing_file", "请选择要导入的文件（JSONL 或 .xlsx）", field="file")
        fmt = UPLOAD_FORMATS.get(upload.filename.lower().rpartition(".")[2], "")
        if not fmt:
            raise DomainError("bad_format", "无法识别的文件格式，请上传 .jsonl 或 .xlsx 文件")
        report = await importing.import_entries(
            actor(),
            upload.read(),
            fmt=fmt,
            publish=bool(form.get("publish")),
            clock=d.clock,
            redis=d.redis,
        )
    except DomainError as err:
        await record_domain_failure(err)
        await flash(err.message, "error")
        return redirect(url_for("console_knowledge.transfer_page"))
    view = report.to_dict(all_lines=len(report.lines) <= REPORT_ALL_LINES)
    token = secrets.token_urlsafe(8)
    await d.redis.set(_report_key(token), json.dumps(view, ensure_ascii=False), ex=REPORT_TTL)
    await flash(
        f"导入完成：新建 {view['created']} 条，更新 {view['updated']} 条，"
        f"未变 {view['unchanged']} 条，出错跳过 {view['skipped']} 行",
        "error" if view["skipped"] else "ok",
    )
    return redirect(url_for("console_knowledge.transfer_page", report=token))


@bp.get("/export.<fmt>")
@login_required
async def export_entries(fmt: str):
    if fmt not in FORMATS:
        raise DomainError("bad_format", "导出格式只能是 JSONL 或 XLSX", status=404)
    status = request.args.get("status") or None
    body = await exporting.export_entries(actor(), fmt=fmt, status=status)
    mimetype = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if fmt == "xlsx"
        else "application/x-ndjson; charset=utf-8"
    )
    stamp = deps().clock.today().strftime("%Y%m%d")
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename=knowledge-{stamp}.{fmt}"},
    )
