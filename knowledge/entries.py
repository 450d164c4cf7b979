"""Knowledge-base entries: reading them, creating them and editing their working copy (000 §27).

The bot answers only from ``Entry.live``, the snapshot taken at publication (knowledge.workflow):
editing a published entry makes the working copy a draft again while ``live`` keeps answering
until the edit is reviewed. Every change writes an EntryVersion row and an audit record in the
same transaction.

All staff read all entries: the knowledge base is public knowledge.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import redis.asyncio as aioredis
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from infra.clock import Clock
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from knowledge.access import check_may_write, own_unit, require_staff
from knowledge.entry_fields import MAX_NOTE, bad_field, clean_fields, clean_similar
from knowledge.models import STATUSES, Entry, EntryVersion
from knowledge.text import normalize
from knowledge.views import audit_view
from org.access import Actor
from org.audit import record_audit
from org.models import Unit

SOURCES = ("manual", "import", "letter")


# ---------------------------------------------------------------- reading


async def load_entry(entry_id: Any) -> Entry:
    entry = (
        await Entry.filter(id=as_id(entry_id, "知识条目")).select_related("topic", "unit").first()
    )
    if entry is None:
        raise NotFound("知识条目")
    return entry


async def get_entry(actor: Actor, entry_id: Any) -> Entry:
    require_staff(actor)
    return await load_entry(entry_id)


async def list_entries(
    actor: Actor,
    *,
    q: str | None = None,
    status: str | None = None,
    topic_id: int | None = None,
    unit_id: int | None = None,
    review_due: bool = False,
    limit: int = 50,
    offset: int = 0,
    clock: Clock | None = None,
) -> tuple[list[Entry], int]:
    """Entries, newest change first. ``review_due``: past their review date (复核日期) and not
    retired, 000 §14(四)."""
    require_staff(actor)
    qs = Entry.all()
    if q and q.strip():
        text = q.strip()
        cond = Q(question__icontains=text) | Q(answer__icontains=text) | Q(external_id=text)
        if text.lstrip("#").isdigit():
            cond |= Q(id=int(text.lstrip("#")))
        qs = qs.filter(cond)
    if status:
        if status not in STATUSES:
            raise bad_field("status", f"未知状态：{status}")
        qs = qs.filter(status=status)
    if topic_id:
        qs = qs.filter(topic_id=topic_id)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if review_due:
        today = (clock or Clock()).today()
        qs = qs.filter(review_by__lt=today).exclude(status="retired")
    total = await qs.count()
    rows = (
        await qs.select_related("topic", "unit")
        .order_by("-updated_at", "-id")
        .offset(max(0, offset))
        .limit(max(1, min(limit, 500)))
    )
    return list(rows), total


async def count_to_review(actor: Actor) -> int:
    """Entries submitted for review that this reviewer (own unit) or leader (and below) may
    decide."""
    if actor.unit_id is None or not actor.has("reviewer", "leader"):
        return 0
    qs = Entry.filter(status="review")
    if actor.has("leader"):
        return await qs.filter(unit__path__startswith=actor.unit_path).count()
    return await qs.filter(unit_id=actor.unit_id).count()


async def list_versions(actor: Actor, entry_id: Any) -> list[EntryVersion]:
    entry = await get_entry(actor, entry_id)
    return list(await EntryVersion.filter(entry_id=entry.id).order_by("id"))


# ---------------------------------------------------------------- changing entries


async def write_version(
    entry: Entry, action: str, actor: Actor, now: dt.datetime, note: str = ""
) -> EntryVersion:
    return await EntryVersion.create(
        entry_id=entry.id,
        version=entry.version,
        action=action,
        status=entry.status,
        question=entry.question,
        similar=list(entry.similar or []),
        answer=entry.answer,
        topic_id=entry.topic_id,  # type: ignore[attr-defined]
        note=note[:MAX_NOTE],
        staff_id=actor.staff_id,
        at=now,
    )


def stale_entry() -> Conflict:
    return Conflict("stale", "条目已被他人修改，请刷新后重试")


async def create_entry(
    actor: Actor, data: dict[str, Any], *, clock: Clock, redis: aioredis.Redis | None
) -> Entry:
    """A new draft (version 1) in the actor's unit, or ``unit_id`` when that is theirs."""
    require_staff(actor)
    if not actor.has("editor", "handler"):
        raise Forbidden("只有编辑或办理人可以新建知识条目")
    raw_unit = data.get("unit_id") if isinstance(data, dict) else None
    unit_id = actor.unit_id if raw_unit in (None, "") else as_id(raw_unit, "单位")
    unit = await Unit.get_or_none(id=unit_id) if unit_id else None
    if unit is None:
        raise bad_field("unit_id", "请指定条目所属单位")
    if not own_unit(actor, unit.id):
        raise Forbidden("只能为本单位新建知识条目")
    fields = await clean_fields(data, partial=False)
    source = data.get("source") or "manual"
    if source not in SOURCES:
        raise bad_field("source", f"未知来源：{source}")
    form_key = str(data.get("form_key") or "").strip()[:64] or None
    if form_key and (earlier := await _made_by_form(actor, form_key)):
        return earlier  # the same form sent again (back button, double click): one entry
    if not data.get("allow_duplicate"):
        await _refuse_same_question(unit.id, fields["question"])
    now = clock.now()
    try:
        async with in_transaction():
            entry = await _insert_draft(actor, unit, fields, source, form_key, now, clock)
    except IntegrityError:
        if form_key and (earlier := await _made_by_form(actor, form_key)):
            return earlier  # the twin request won the race
        raise
    return await load_entry(entry.id)


async def _made_by_form(actor: Actor, form_key: str) -> Entry | None:
    entry = await Entry.get_or_none(form_key=form_key)
    if entry is None:
        return None
    if entry.created_by_id != actor.staff_id:  # type: ignore[attr-defined]
        raise Conflict("form_used", "该表单已被使用，请重新打开新建页面")
    entry = await load_entry(entry.id)
    entry.replayed = True  # type: ignore[attr-defined]
    return entry


async def _refuse_same_question(unit_id: int, question: str) -> None:
    """Warn before a second entry of the unit with the same standard question (as normalised
    for matching: punctuation, width and case aside)."""
    wanted = normalize(question)
    rows = await Entry.filter(unit_id=unit_id, status__not="retired").values_list(
        "id", "question", "status"
    )
    for entry_id, other, status in rows:
        if normalize(other) == wanted:
            raise Conflict(
                "same_question",
                f"本单位已有标准问题相同的条目 #{entry_id}「{other}」（{STATUSES[status]}）。"
                "可在该条目中修改，或加为其相似问法；确需另建，请勾选“仍然新建”后再提交",
                entry_id=entry_id,
            )


async def _insert_draft(
    actor: Actor,
    unit: Unit,
    fields: dict[str, Any],
    source: str,
    form_key: str | None,
    now: dt.datetime,
    clock: Clock,
) -> Entry:
    """Inside the caller's transaction: the draft, its first version and the audit record."""
    entry = await Entry.create(
        **fields,
        unit_id=unit.id,
        status="draft",
        version=1,
        source=source,
        form_key=form_key,
        created_by_id=actor.staff_id,
        updated_by_id=actor.staff_id,
        created_at=now,
        updated_at=now,
    )
    await write_version(entry, "create", actor, now)
    await record_audit(
        actor,
        "kb.entry.create",
        clock=clock,
        object_type="kb_entry",
        object_id=entry.id,
        summary=f"新建知识条目「{entry.question}」（草稿）",
        after=audit_view(entry),
    )
    return entry


CONTENT_FIELDS = ("question", "similar", "answer")
META_FIELDS = ("topic_id", "review_by")


async def apply_edit(
    actor: Actor,
    entry: Entry,
    fields: dict[str, Any],
    *,
    now: dt.datetime,
    action: str = "edit",
    note: str = "",
) -> Entry:
    """Write checked ``fields`` to the working copy, inside the caller's transaction.

    A change of question, similar questions or answer is a new version and makes the working
    copy a draft (a submission in review goes back to the editor); ``live`` is left alone, so a
    published entry keeps answering with the reviewed text. Topic and review date are filing
    data, changed without a new version. Raises when nothing changes or someone else changed the
    entry meanwhile.
    """
    changed = {k: v for k, v in fields.items() if getattr(entry, k) != v and k in CONTENT_FIELDS}
    meta = {k: v for k, v in fields.items() if k in META_FIELDS and getattr(entry, k) != v}
    if not changed and not meta:
        raise DomainError("no_change", "没有需要保存的修改")
    update: dict[str, Any] = {**changed, **meta, "updated_by_id": actor.staff_id, "updated_at": now}
    if changed:
        update.update(version=entry.version + 1, status="draft", submitted_by_id=None)
    moved = await Entry.filter(id=entry.id, version=entry.version, status=entry.status).update(
        **update
    )
    if not moved:
        raise stale_entry()
    fresh = await load_entry(entry.id)
    await write_version(fresh, action if changed else "meta", actor, now, note)
    return fresh


async def edit_entry(
    actor: Actor,
    entry_id: Any,
    data: dict[str, Any],
    *,
    clock: Clock,
    redis: aioredis.Redis | None,
) -> Entry:
    """Edit the working copy (see ``apply_edit``). ``data`` may carry the ``version`` the editor
    started from; an edit made on an older version is refused rather than overwriting."""
    entry = await load_entry(entry_id)
    check_may_write(actor, entry)
    if entry.status == "retired":
        raise Conflict("bad_status", "已停用的条目不能修改，请先恢复")
    if not isinstance(data, dict):
        raise DomainError("bad_json", "请求体须为JSON对象")
    if data.get("version") not in (None, ""):
        try:
            started = int(data["version"])
        except (TypeError, ValueError):
            raise bad_field("version", "版本号须为整数") from None
        if started != entry.version:
            raise stale_entry()
    if data.get("unit_id") not in (None, "") and str(data["unit_id"]) != str(entry.unit_id):  # type: ignore[attr-defined]
        raise bad_field("unit_id", "条目所属单位不能修改")
    fields = await clean_fields(data, partial=True)
    if "similar" in fields or "question" in fields:
        question = fields.get("question", entry.question)
        fields["similar"] = clean_similar(fields.get("similar", entry.similar), question)
    before = audit_view(entry)
    now = clock.now()
    async with in_transaction():
        fresh = await apply_edit(actor, entry, fields, now=now)
        note = "（已发布版本在审核通过前继续使用）" if fresh.live else ""
        await record_audit(
            actor,
            "kb.entry.edit",
            clock=clock,
            object_type="kb_entry",
            object_id=entry.id,
            summary=f"修改知识条目「{fresh.question}」，第{fresh.version}版{note}",
            before=before,
            after=audit_view(fresh),
        )
    return fresh
