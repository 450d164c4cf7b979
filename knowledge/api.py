"""The knowledge-base JSON API: a thin blueprint over knowledge's entries, workflow, topics,
synonyms, importing, exporting, attention and live. Every state-changing route's success is
audited by its service; failures by the app."""

from __future__ import annotations

import datetime as dt

from quart import Blueprint, Response, jsonify, request

from infra.errors import DomainError
from knowledge import (
    attention,
    entries,
    exporting,
    importing,
    live,
    synonyms,
    topics,
    views,
    workflow,
)
from org.web import deps, json_body, page_args, staff_actor

bp = Blueprint("knowledge_api", __name__, url_prefix="/api/knowledge")


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError("bad_field", f"参数 {name} 须为整数", field=name) from None


def _date_arg(name: str, default: dt.date) -> dt.date:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise DomainError(
            "bad_field", f"参数 {name} 须为如 2026-11-01 的日期", field=name
        ) from None


def _period() -> tuple[dt.date, dt.date]:
    """?since=&until= as Beijing dates, both included; by default the last 30 days."""
    today = deps().clock.today()
    return _date_arg("since", today - dt.timedelta(days=29)), _date_arg("until", today)


# ---------------------------------------------------------------- entries


@bp.get("/entries")
async def list_entries():
    limit, offset = page_args()
    rows, total = await entries.list_entries(
        staff_actor(),
        q=request.args.get("q") or None,
        status=request.args.get("status") or None,
        topic_id=_int_arg("topic_id"),
        unit_id=_int_arg("unit_id"),
        review_due=_flag(request.args.get("review_due")),
        limit=limit,
        offset=offset,
        clock=deps().clock,
    )
    return jsonify({"total": total, "items": [views.entry_view(e) for e in rows]})


@bp.post("/entries")
async def create_entry():
    d = deps()
    entry = await entries.create_entry(
        staff_actor(), await json_body(), clock=d.clock, redis=d.redis
    )
    return jsonify(views.entry_view(entry)), 201


@bp.get("/entries/<int:entry_id>")
async def get_entry(entry_id: int):
    return jsonify(views.entry_view(await entries.get_entry(staff_actor(), entry_id)))


@bp.patch("/entries/<int:entry_id>")
async def edit_entry(entry_id: int):
    d = deps()
    entry = await entries.edit_entry(
        staff_actor(), entry_id, await json_body(), clock=d.clock, redis=d.redis
    )
    return jsonify(views.entry_view(entry))


@bp.post("/entries/<int:entry_id>/submit")
async def submit_entry(entry_id: int):
    d = deps()
    entry = await workflow.submit_entry(staff_actor(), entry_id, clock=d.clock, redis=d.redis)
    return jsonify(views.entry_view(entry))


@bp.post("/entries/<int:entry_id>/review")
async def review_entry(entry_id: int):
    a = staff_actor()
    data = await json_body()
    if not isinstance(data.get("approve"), bool):
        raise DomainError("bad_field", "请选择审核通过或退回（approve 为 true 或 false）")
    d = deps()
    entry = await workflow.review_entry(
        a,
        entry_id,
        approve=data["approve"],
        note=str(data.get("note") or ""),
        clock=d.clock,
        redis=d.redis,
    )
    return jsonify(views.entry_view(entry))


@bp.post("/entries/<int:entry_id>/retire")
async def retire_entry(entry_id: int):
    a = staff_actor()
    data = await json_body()
    d = deps()
    entry = await workflow.retire_entry(
        a, entry_id, reason=str(data.get("reason") or ""), clock=d.clock, redis=d.redis
    )
    return jsonify(views.entry_view(entry))


@bp.post("/entries/<int:entry_id>/restore")
async def restore_entry(entry_id: int):
    d = deps()
    entry = await workflow.restore_entry(staff_actor(), entry_id, clock=d.clock, redis=d.redis)
    return jsonify(views.entry_view(entry))


@bp.get("/entries/<int:entry_id>/versions")
async def list_versions(entry_id: int):
    rows = await entries.list_versions(staff_actor(), entry_id)
    return jsonify([views.version_view(v) for v in rows])


# ---------------------------------------------------------------- topics and synonyms


@bp.get("/topics")
async def list_topics():
    staff_actor()
    return jsonify([views.topic_view(t) for t in await topics.list_topics()])


@bp.post("/topics")
async def create_topic():
    a = staff_actor()
    data = await json_body()
    topic = await topics.create_topic(a, data.get("name"), clock=deps().clock)
    return jsonify(views.topic_view(topic)), 201


@bp.patch("/topics/<int:topic_id>")
async def rename_topic(topic_id: int):
    a = staff_actor()
    data = await json_body()
    topic = await topics.rename_topic(a, topic_id, data.get("name"), clock=deps().clock)
    return jsonify(views.topic_view(topic))


@bp.delete("/topics/<int:topic_id>")
async def delete_topic(topic_id: int):
    topic = await topics.delete_topic(staff_actor(), topic_id, clock=deps().clock)
    return jsonify(views.topic_view(topic))


@bp.get("/synonyms")
async def list_synonyms():
    staff_actor()
    return jsonify([views.synonym_view(g) for g in await synonyms.list_synonym_groups()])


@bp.post("/synonyms")
async def create_synonyms():
    a = staff_actor()
    data = await json_body()
    d = deps()
    group = await synonyms.save_synonym_group(a, data.get("words"), clock=d.clock, redis=d.redis)
    return jsonify(views.synonym_view(group)), 201


@bp.put("/synonyms/<int:group_id>")
async def save_synonyms(group_id: int):
    a = staff_actor()
    data = await json_body()
    d = deps()
    group = await synonyms.save_synonym_group(
        a, data.get("words"), group_id=group_id, clock=d.clock, redis=d.redis
    )
    return jsonify(views.synonym_view(group))


@bp.delete("/synonyms/<int:group_id>")
async def delete_synonyms(group_id: int):
    d = deps()
    group = await synonyms.delete_synonym_group(
        staff_actor(), group_id, clock=d.clock, redis=d.redis
    )
    return jsonify(views.synonym_view(group))


# ---------------------------------------------------------------- import and export

MIMETYPES = {
    "jsonl": "application/x-ndjson; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _format(name: str, content: bytes) -> str:
    fmt = request.args.get("fmt", "").strip().lower()
    if fmt:
        return fmt
    if content.startswith(b"PK\x03\x04") or name.lower().endswith(".xlsx"):
        return "xlsx"
    return "jsonl"


@bp.post("/import")
async def import_entries():
    """A multipart upload (field ``file``) or the file as the raw body; ?fmt=jsonl|xlsx
    (default: from the content), ?publish=1, ?unit_id=."""
    a = staff_actor()
    if request.mimetype == "multipart/form-data":
        upload = (await request.files).get("file")
        if upload is None or not upload.filename:
            raise DomainError("missing_file", "请选择要导入的文件（JSONL 或 .xlsx）", field="file")
        name, content = upload.filename, upload.read()
        form = await request.form
        publish = _flag(form.get("publish") or request.args.get("publish"))
    else:
        name, content = "", await request.get_data()
        publish = _flag(request.args.get("publish"))
    d = deps()
    report = await importing.import_entries(
        a,
        content,
        fmt=_format(name, content),
        unit_id=request.args.get("unit_id") or None,
        publish=publish,
        clock=d.clock,
        redis=d.redis,
    )
    return jsonify(report.to_dict())


@bp.get("/export")
async def export_entries():
    fmt = request.args.get("fmt", "jsonl").strip().lower()
    body = await exporting.export_entries(
        staff_actor(), fmt=fmt, status=request.args.get("status") or None
    )
    stamp = deps().clock.today().strftime("%Y%m%d")
    return Response(
        body,
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename=knowledge-{stamp}.{fmt}"},
    )


# ---------------------------------------------------------------- attention and unanswered


@bp.get("/rankings")
async def rankings():
    """?since=&until=&topic_id=&limit=: one topic's list, or every topic's (grouped)."""
    a = staff_actor()
    since, until = _period()
    limit = max(1, min(_int_arg("limit") or 20, 200))
    topic_id = _int_arg("topic_id")
    if topic_id is not None:
        rows = await attention.rank_entries(
            a, since=since, until=until, topic_id=topic_id, limit=limit
        )
        return jsonify({"since": since.isoformat(), "until": until.isoformat(), "items": rows})
    groups = await attention.rank_by_topic(a, since=since, until=until, limit=limit)
    return jsonify({"since": since.isoformat(), "until": until.isoformat(), "topics": groups})


@bp.get("/unanswered")
async def unanswered():
    a = staff_actor()
    since, until = _period()
    limit = max(1, min(_int_arg("limit") or 100, 500))
    groups = await attention.list_unanswered(
        a, since=since, until=until, limit=limit, index=live.knowledge_index(deps())
    )
    return jsonify([g.to_dict() for g in groups])


@bp.post("/unanswered/add")
async def add_asks():
    a = staff_actor()
    data = await json_body()
    d = deps()
    entry = await attention.add_asks_to_entry(
        a,
        attention.ask_id_list(data.get("ask_ids")),
        data.get("entry_id"),
        question=data.get("question") if isinstance(data.get("question"), str) else None,
        clock=d.clock,
        redis=d.redis,
    )
    return jsonify(views.entry_view(entry))


@bp.post("/unanswered/dismiss")
async def dismiss_asks():
    a = staff_actor()
    data = await json_body()
    count = await attention.dismiss_asks(
        a, attention.ask_id_list(data.get("ask_ids")), clock=deps().clock
    )
    return jsonify({"dismissed": count})


@bp.post("/unanswered/new-entry")
async def new_entry_from_asks():
    a = staff_actor()
    data = await json_body()
    d = deps()
    fields = {k: v for k, v in data.items() if k != "ask_ids"}
    entry = await attention.new_entry_from_asks(
        a, attention.ask_id_list(data.get("ask_ids")), fields, clock=d.clock, redis=d.redis
    )
    return jsonify(views.entry_view(entry)), 201


# ---------------------------------------------------------------- try it


@bp.post("/try")
async def try_question():
    a = staff_actor()
    data = await json_body()
    d = deps()
    result = await live.try_question(
        a, data.get("text") or "", index=live.knowledge_index(d), after=data.get("after")
    )
    return jsonify(result)
