"""Curation of the knowledge base (000 §27): entries and their review, topics, synonyms.

An entry's working copy is written by editors of its unit (handlers may propose new ones, as
letters do), submitted, and published by a reviewer of the unit or a leader above it who neither
submitted nor edited that version (先审后发, RULES.md section 1 and 3). The bot answers only from
``Entry.live``, the snapshot taken at publication: editing a published entry makes the working
copy a draft again while ``live`` keeps answering until the edit is reviewed. Every change writes
an EntryVersion row and an audit record in the same transaction; changes that alter what the bot
answers are announced to the live index of every process after the transaction commits.

All staff read all entries: the knowledge base is public knowledge.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import redis.asyncio as aioredis
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from infra.clock import Clock
from infra.errors import Conflict, DomainError, Forbidden, NotFound, Unauthenticated, as_id
from knowledge.live import announce_entry, announce_synonyms
from knowledge.models import STATUSES, Entry, EntryVersion, SynonymGroup, Topic
from knowledge.text import normalize
from org.access import ROLES, Actor
from org.audit import record_audit
from org.models import Unit

MAX_QUESTION = 1000  # some published sets run part of the answer into the question
MAX_ANSWER = 20_000
MAX_SIMILAR = 50
MAX_NOTE = 300
MAX_TOPIC = 40
MAX_SYNONYM_WORD = 20
MAX_SYNONYM_WORDS = 30
# Version actions that change the text staff review; whoever did one since the last publication
# may not publish it.
EDIT_ACTIONS = ("create", "edit", "import", "add_similar")
SOURCES = ("manual", "import", "letter")

# ---------------------------------------------------------------- views


def entry_view(e: Entry) -> dict[str, Any]:
    topic = e.topic if isinstance(e.topic, Topic) else None
    unit = e.unit if isinstance(e.unit, Unit) else None
    live = e.live or None
    return {
        "id": e.id,
        "external_id": e.external_id,
        "question": e.question,
        "similar": list(e.similar or []),
        "answer": e.answer,
        "topic_id": e.topic_id,  # type: ignore[attr-defined]
        "topic": topic.name if topic else None,
        "unit_id": e.unit_id,  # type: ignore[attr-defined]
        "unit": unit.name if unit else None,
        "status": e.status,
        "status_label": STATUSES.get(e.status, e.status),
        "version": e.version,
        "live": live,
        # A published entry whose working copy was edited since: citizens still get ``live``.
        "pending_edit": bool(live and live.get("version") != e.version),
        "review_by": e.review_by.isoformat() if e.review_by else None,
        "source": e.source,
        "hits": e.hits,
        "helpful": e.helpful,
        "unhelpful": e.unhelpful,
        "created_by_id": e.created_by_id,  # type: ignore[attr-defined]
        "updated_by_id": e.updated_by_id,  # type: ignore[attr-defined]
        "submitted_by_id": e.submitted_by_id,  # type: ignore[attr-defined]
        "reviewed_by_id": e.reviewed_by_id,  # type: ignore[attr-defined]
        "created_at": e.created_at.isoformat(),
        "updated_at": e.updated_at.isoformat(),
        "published_at": e.published_at.isoformat() if e.published_at else None,
    }


def version_view(v: EntryVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "entry_id": v.entry_id,  # type: ignore[attr-defined]
        "version": v.version,
        "action": v.action,
        "status": v.status,
        "question": v.question,
        "similar": list(v.similar or []),
        "answer": v.answer,
        "topic_id": v.topic_id,
        "note": v.note,
        "staff_id": v.staff_id,  # type: ignore[attr-defined]
        "at": v.at.isoformat(),
    }


def topic_view(t: Topic) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "sort": t.sort}


def synonym_view(g: SynonymGroup) -> dict[str, Any]:
    return {
        "id": g.id,
        "words": list(g.words or []),
        "updated_by_id": g.updated_by_id,  # type: ignore[attr-defined]
        "updated_at": g.updated_at.isoformat(),
    }


def audit_view(e: Entry) -> dict[str, Any]:
    """What an audit record keeps of an entry: enough to see the change, not the whole answer."""
    return {
        "id": e.id,
        "question": e.question,
        "similar": list(e.similar or []),
        "answer": e.answer[:200] + ("…" if len(e.answer) > 200 else ""),
        "topic_id": e.topic_id,  # type: ignore[attr-defined]
        "unit_id": e.unit_id,  # type: ignore[attr-defined]
        "status": e.status,
        "version": e.version,
        "review_by": e.review_by.isoformat() if e.review_by else None,
    }


# ---------------------------------------------------------------- who may do what


def require_staff(actor: Actor) -> None:
    if actor.staff_id is None and "system" not in actor.roles:
        raise Unauthenticated()


def _system(actor: Actor) -> bool:
    return "system" in actor.roles


def _own_unit(actor: Actor, unit_id: int) -> bool:
    return _system(actor) or actor.unit_id == unit_id


def check_may_write(actor: Actor, entry: Entry) -> None:
    """Editors of the entry's unit; handlers only on entries never published (their proposals)."""
    require_staff(actor)
    unit_id = entry.unit_id  # type: ignore[attr-defined]
    if _own_unit(actor, unit_id):
        if actor.has("editor"):
            return
        if actor.has("handler") and entry.live is None and entry.published_at is None:
            return
    raise Forbidden("只有本单位的编辑可以修改此条目")


def _unit_path(entry: Entry) -> str:
    return entry.unit.path if isinstance(entry.unit, Unit) else ""


def check_may_review(actor: Actor, entry: Entry) -> None:
    require_staff(actor)
    if _system(actor):
        return
    unit_id = entry.unit_id  # type: ignore[attr-defined]
    if actor.has("reviewer") and actor.unit_id == unit_id:
        return
    if actor.has("leader") and _unit_path(entry).startswith(actor.unit_path):
        return
    raise Forbidden("只有本单位的审核员或上级领导可以审核此条目")


def check_may_retire(actor: Actor, entry: Entry) -> None:
    require_staff(actor)
    if _system(actor):
        return
    unit_id = entry.unit_id  # type: ignore[attr-defined]
    if actor.has("editor", "reviewer") and actor.unit_id == unit_id:
        return
    if actor.has("leader") and _unit_path(entry).startswith(actor.unit_path):
        return
    raise Forbidden("只有本单位的编辑、审核员或上级领导可以停用或恢复此条目")


def _require_curator(actor: Actor, what: str, roles: tuple[str, ...]) -> None:
    require_staff(actor)
    if not actor.has(*roles):
        raise Forbidden(f"只有{'或'.join(ROLES[r] for r in roles)}可以维护{what}")


# ---------------------------------------------------------------- checking fields


def _bad(field: str, message: str, code: str = "bad_field") -> DomainError:
    return DomainError(code, message, field=field)


def _str(value: Any, key: str, label: str, max_len: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _bad(key, f"{label}格式不正确")
    text = value.strip()
    if not text and required:
        raise _bad(key, f"请填写{label}", "missing_field")
    if len(text) > max_len:
        raise _bad(key, f"{label}不能超过{max_len}个字")
    return text


def clean_similar(value: Any, question: str = "") -> list[str]:
    """Similar questions from a list or one per line; blanks, repeats and the standard question
    itself (as the matcher sees them) dropped."""
    if value is None or value == "":
        items: list[Any] = []
    elif isinstance(value, str):
        items = value.splitlines()
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise _bad("similar", "相似问法格式不正确，应为每行一条")
    seen = {normalize(question)} if question else set()
    out = []
    for item in items:
        if not isinstance(item, str):
            raise _bad("similar", "相似问法格式不正确，应为每行一条")
        text = item.strip()
        if not text:
            continue
        if len(text) > MAX_QUESTION:
            raise _bad("similar", f"每条相似问法不能超过{MAX_QUESTION}个字")
        key = normalize(text) or text
        if key in seen:
            continue
        seen.add(key)
        out.append(text)
    if len(out) > MAX_SIMILAR:
        raise _bad("similar", f"相似问法最多{MAX_SIMILAR}条")
    return out


def parse_date(value: Any, key: str = "review_by", label: str = "复核日期") -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip().replace("/", "-").replace(".", "-")
        m = re.fullmatch(r"(\d{4})[-年](\d{1,2})[-月](\d{1,2})日?(?:[ T].*)?", text)
        if m:
            try:
                return dt.date(*(int(g) for g in m.groups()))
            except ValueError:
                pass
    raise _bad(key, f"{label}格式不正确，应为如 2027-06-30 的日期")


async def _topic_id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad("topic_id", "主题格式不正确")
    try:
        topic_id = int(value)
    except ValueError:
        raise _bad("topic_id", "主题格式不正确") from None
    if not await Topic.filter(id=topic_id).exists():
        raise _bad("topic_id", "所选主题不存在")
    return topic_id


async def clean_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The entry fields present in ``data`` (all of them unless ``partial``), checked."""
    if not isinstance(data, dict):
        raise DomainError("bad_json", "请求体须为JSON对象")
    out: dict[str, Any] = {}
    if not partial or "question" in data:
        out["question"] = _str(
            data.get("question"), "question", "标准问题", MAX_QUESTION, required=True
        )
    if not partial or "similar" in data:
        out["similar"] = clean_similar(data.get("similar"), out.get("question", ""))
    if not partial or "answer" in data:
        out["answer"] = _str(data.get("answer"), "answer", "答案", MAX_ANSWER, required=False)
    if not partial or "topic_id" in data:
        out["topic_id"] = await _topic_id(data.get("topic_id"))
    if not partial or "review_by" in data:
        out["review_by"] = parse_date(data.get("review_by"))
    return out


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
            raise _bad("status", f"未知状态：{status}")
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


def _stale() -> Conflict:
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
        raise _bad("unit_id", "请指定条目所属单位")
    if not _own_unit(actor, unit.id):
        raise Forbidden("只能为本单位新建知识条目")
    fields = await clean_fields(data, partial=False)
    source = data.get("source") or "manual"
    if source not in SOURCES:
        raise _bad("source", f"未知来源：{source}")
    now = clock.now()
    async with in_transaction():
        entry = await Entry.create(
            **fields,
            unit_id=unit.id,
            status="draft",
            version=1,
            source=source,
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
    return await load_entry(entry.id)


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
        raise _stale()
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
            raise _bad("version", "版本号须为整数") from None
        if started != entry.version:
            raise _stale()
    if data.get("unit_id") not in (None, "") and str(data["unit_id"]) != str(entry.unit_id):  # type: ignore[attr-defined]
        raise _bad("unit_id", "条目所属单位不能修改")
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


async def submit_entry(
    actor: Actor, entry_id: Any, *, clock: Clock, redis: aioredis.Redis | None
) -> Entry:
    entry = await load_entry(entry_id)
    check_may_write(actor, entry)
    if entry.status != "draft":
        raise Conflict(
            "bad_status", f"条目当前为「{STATUSES[entry.status]}」，只有草稿可以提交审核"
        )
    if not entry.answer.strip():
        raise _bad("answer", "请先填写答案再提交审核", "missing_field")
    now = clock.now()
    async with in_transaction():
        moved = await Entry.filter(id=entry.id, version=entry.version, status="draft").update(
            status="review", submitted_by_id=actor.staff_id, updated_at=now
        )
        if not moved:
            raise _stale()
        fresh = await load_entry(entry.id)
        await write_version(fresh, "submit", actor, now)
        await record_audit(
            actor,
            "kb.entry.submit",
            clock=clock,
            object_type="kb_entry",
            object_id=entry.id,
            summary=f"提交审核知识条目「{fresh.question}」第{fresh.version}版",
        )
    return fresh


async def editors_of_pending_version(entry: Entry) -> set[int]:
    """Staff who changed the text since it was last published (or ever, if it never was)."""
    last = await EntryVersion.filter(entry_id=entry.id, action="publish").order_by("-id").first()
    qs = EntryVersion.filter(entry_id=entry.id, action__in=EDIT_ACTIONS)
    if last is not None:
        qs = qs.filter(id__gt=last.id)
    return {i for i in await qs.values_list("staff_id", flat=True) if i is not None}


async def review_entry(
    actor: Actor,
    entry_id: Any,
    *,
    approve: bool,
    note: str = "",
    clock: Clock,
    redis: aioredis.Redis | None,
) -> Entry:
    """Approve (publish: ``live`` becomes this version) or reject (back to draft with the
    note). The reviewer is neither the submitter nor anyone who edited this version."""
    entry = await load_entry(entry_id)
    check_may_review(actor, entry)
    if entry.status != "review":
        raise Conflict("bad_status", f"条目当前为「{STATUSES[entry.status]}」，不在待审核状态")
    if actor.staff_id is not None and (
        actor.staff_id == entry.submitted_by_id  # type: ignore[attr-defined]
        or actor.staff_id in await editors_of_pending_version(entry)
    ):
        raise Forbidden(
            "不能审核自己提交或修改过的条目：先审后发，须由未参与编辑的审核人员审核",
            code="self_review",
        )
    note = (note or "").strip()
    if not approve and not note:
        raise _bad("note", "请填写退回理由", "missing_field")
    if len(note) > MAX_NOTE:
        raise _bad("note", f"审核意见不能超过{MAX_NOTE}个字")
    now = clock.now()
    before = audit_view(entry)
    async with in_transaction():
        cond = Entry.filter(id=entry.id, version=entry.version, status="review")
        if approve:
            live = {
                "question": entry.question,
                "similar": list(entry.similar or []),
                "answer": entry.answer,
                "version": entry.version,
            }
            moved = await cond.update(
                status="published",
                live=live,
                reviewed_by_id=actor.staff_id,
                published_at=now,
                updated_at=now,
            )
        else:
            moved = await cond.update(status="draft", submitted_by_id=None, updated_at=now)
        if not moved:
            raise Conflict("decided", "该条目已由他人审核或已被修改，请刷新后查看")
        fresh = await load_entry(entry.id)
        await write_version(fresh, "publish" if approve else "reject", actor, now, note)
        await record_audit(
            actor,
            "kb.entry.publish" if approve else "kb.entry.reject",
            clock=clock,
            object_type="kb_entry",
            object_id=entry.id,
            summary=(
                f"审核通过并发布知识条目「{fresh.question}」第{fresh.version}版"
                if approve
                else f"退回知识条目「{fresh.question}」：{note}"
            ),
            before=before,
            after=audit_view(fresh),
        )
    if approve and redis is not None:
        await announce_entry(redis, entry.id)
    return fresh


async def retire_entry(
    actor: Actor,
    entry_id: Any,
    *,
    reason: str,
    clock: Clock,
    redis: aioredis.Redis | None,
) -> Entry:
    """Stop answering with the entry (停用): ``live`` is cleared at once."""
    entry = await load_entry(entry_id)
    check_may_retire(actor, entry)
    if entry.status == "retired":
        raise Conflict("bad_status", "条目已停用")
    reason = (reason or "").strip()
    if not reason:
        raise _bad("reason", "请填写停用理由", "missing_field")
    if len(reason) > MAX_NOTE:
        raise _bad("reason", f"停用理由不能超过{MAX_NOTE}个字")
    now = clock.now()
    was_live = entry.live is not None
    async with in_transaction():
        moved = await Entry.filter(id=entry.id, version=entry.version, status=entry.status).update(
            status="retired", live=None, submitted_by_id=None, updated_at=now
        )
        if not moved:
            raise _stale()
        fresh = await load_entry(entry.id)
        await write_version(fresh, "retire", actor, now, reason)
        await record_audit(
            actor,
            "kb.entry.retire",
            clock=clock,
            object_type="kb_entry",
            object_id=entry.id,
            summary=f"停用知识条目「{fresh.question}」：{reason}",
            before=audit_view(entry),
            after=audit_view(fresh),
        )
    if was_live and redis is not None:
        await announce_entry(redis, entry.id)
    return fresh


async def restore_entry(
    actor: Actor, entry_id: Any, *, clock: Clock, redis: aioredis.Redis | None
) -> Entry:
    """A retired entry becomes a draft again; it answers only after a new review."""
    entry = await load_entry(entry_id)
    check_may_retire(actor, entry)
    if entry.status != "retired":
        raise Conflict("bad_status", "只有已停用的条目可以恢复")
    now = clock.now()
    async with in_transaction():
        moved = await Entry.filter(id=entry.id, version=entry.version, status="retired").update(
            status="draft", updated_at=now
        )
        if not moved:
            raise _stale()
        fresh = await load_entry(entry.id)
        await write_version(fresh, "restore", actor, now)
        await record_audit(
            actor,
            "kb.entry.restore",
            clock=clock,
            object_type="kb_entry",
            object_id=entry.id,
            summary=f"恢复知识条目「{fresh.question}」为草稿",
        )
    return fresh


# ---------------------------------------------------------------- topics


TOPIC_ROLES = ("editor", "reviewer")


def _topic_name(name: Any) -> str:
    return _str(name, "name", "主题名称", MAX_TOPIC, required=True)


async def list_topics() -> list[Topic]:
    return list(await Topic.all().order_by("sort", "id"))


async def _get_topic(topic_id: Any) -> Topic:
    topic = await Topic.get_or_none(id=as_id(topic_id, "主题"))
    if topic is None:
        raise NotFound("主题")
    return topic


async def _refuse_duplicate_topic(name: str, exclude: int | None = None) -> None:
    qs = Topic.filter(name=name)
    if exclude is not None:
        qs = qs.exclude(id=exclude)
    if await qs.exists():
        raise Conflict("duplicate_topic", f"主题「{name}」已存在")


async def create_topic(actor: Actor, name: Any, *, clock: Clock) -> Topic:
    _require_curator(actor, "主题", TOPIC_ROLES)
    name = _topic_name(name)
    await _refuse_duplicate_topic(name)
    try:
        async with in_transaction():
            topic = await Topic.create(
                name=name, sort=await Topic.all().count(), created_at=clock.now()
            )
            await record_audit(
                actor,
                "kb.topic.create",
                clock=clock,
                object_type="kb_topic",
                object_id=topic.id,
                summary=f"新建主题「{name}」",
            )
    except IntegrityError as exc:
        raise Conflict("duplicate_topic", f"主题「{name}」已存在") from exc
    return topic


async def rename_topic(actor: Actor, topic_id: Any, name: Any, *, clock: Clock) -> Topic:
    _require_curator(actor, "主题", TOPIC_ROLES)
    topic = await _get_topic(topic_id)
    name = _topic_name(name)
    if name == topic.name:
        raise DomainError("no_change", "主题名称没有变化")
    await _refuse_duplicate_topic(name, exclude=topic.id)
    old = topic.name
    try:
        async with in_transaction():
            topic.name = name
            await topic.save(update_fields=["name"])
            await record_audit(
                actor,
                "kb.topic.rename",
                clock=clock,
                object_type="kb_topic",
                object_id=topic.id,
                summary=f"主题「{old}」改名为「{name}」",
                before={"name": old},
                after={"name": name},
            )
    except IntegrityError as exc:
        raise Conflict("duplicate_topic", f"主题「{name}」已存在") from exc
    return topic


async def delete_topic(actor: Actor, topic_id: Any, *, clock: Clock) -> Topic:
    """The topic goes; its entries stay, without a topic."""
    _require_curator(actor, "主题", TOPIC_ROLES)
    topic = await _get_topic(topic_id)
    async with in_transaction():
        count = await Entry.filter(topic_id=topic.id).update(topic_id=None)
        await topic.delete()
        await record_audit(
            actor,
            "kb.topic.delete",
            clock=clock,
            object_type="kb_topic",
            object_id=topic.id,
            summary=f"删除主题「{topic.name}」，{count} 个条目改为未分类",
            before={"name": topic.name},
        )
    return topic


# ---------------------------------------------------------------- synonyms


SYNONYM_ROLES = ("editor", "reviewer")
_WORD_SPLIT = re.compile(r"[\s,，、;；|/]+")


def clean_synonyms(words: Any) -> list[str]:
    """Distinct normalised words (as the matcher compares them), at least two."""
    if isinstance(words, str):
        items: list[Any] = _WORD_SPLIT.split(words)
    elif isinstance(words, list | tuple):
        items = list(words)
    else:
        raise _bad("words", "同义词格式不正确")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise _bad("words", "同义词格式不正确")
        word = normalize(item.strip()) if item.strip() else ""
        if not word:
            continue
        if len(word) > MAX_SYNONYM_WORD:
            raise _bad("words", f"同义词「{item.strip()}」过长（不超过{MAX_SYNONYM_WORD}个字）")
        if word not in out:
            out.append(word)
    if len(out) < 2:
        raise _bad("words", "同义词组至少需要两个不同的词")
    if len(out) > MAX_SYNONYM_WORDS:
        raise _bad("words", f"一个同义词组最多{MAX_SYNONYM_WORDS}个词")
    return out


async def list_synonym_groups() -> list[SynonymGroup]:
    return list(await SynonymGroup.all().order_by("id"))


async def _get_group(group_id: Any) -> SynonymGroup:
    group = await SynonymGroup.get_or_none(id=as_id(group_id, "同义词组"))
    if group is None:
        raise NotFound("同义词组")
    return group


async def save_synonym_group(
    actor: Actor,
    words: list[str] | str,
    *,
    group_id: Any = None,
    clock: Clock,
    redis: aioredis.Redis | None,
) -> SynonymGroup:
    """Create a group, or replace the words of ``group_id``. A word belongs to one group."""
    _require_curator(actor, "同义词", SYNONYM_ROLES)
    group = await _get_group(group_id) if group_id not in (None, "") else None
    cleaned = clean_synonyms(words)
    now = clock.now()
    async with in_transaction():
        others = SynonymGroup.all()
        if group is not None:
            others = others.exclude(id=group.id)
        for other in await others:
            taken = [w for w in cleaned if w in (other.words or [])]
            if taken:
                raise Conflict(
                    "synonym_taken",
                    f"「{'、'.join(taken)}」已在另一个同义词组中（{'、'.join(other.words)}），"
                    "一个词只能属于一个同义词组",
                    group_id=other.id,
                )
        before = list(group.words) if group is not None else None
        if group is None:
            group = await SynonymGroup.create(
                words=cleaned, updated_by_id=actor.staff_id, updated_at=now
            )
        else:
            if before == cleaned:
                raise DomainError("no_change", "同义词组没有变化")
            group.words = cleaned
            group.updated_by_id = actor.staff_id  # type: ignore[attr-defined]
            group.updated_at = now
            await group.save(update_fields=["words", "updated_by_id", "updated_at"])
        await record_audit(
            actor,
            "kb.synonyms.save",
            clock=clock,
            object_type="kb_synonyms",
            object_id=group.id,
            summary=f"{'修改' if before else '新建'}同义词组：{'、'.join(cleaned)}",
            before={"words": before} if before else None,
            after={"words": cleaned},
        )
    if redis is not None:
        await announce_synonyms(redis)
    return group


async def delete_synonym_group(
    actor: Actor, group_id: Any, *, clock: Clock, redis: aioredis.Redis | None
) -> SynonymGroup:
    _require_curator(actor, "同义词", SYNONYM_ROLES)
    group = await _get_group(group_id)
    async with in_transaction():
        await group.delete()
        await record_audit(
            actor,
            "kb.synonyms.delete",
            clock=clock,
            object_type="kb_synonyms",
            object_id=group.id,
            summary=f"删除同义词组：{'、'.join(group.words or [])}",
            before={"words": list(group.words or [])},
        )
    if redis is not None:
        await announce_synonyms(redis)
    return group
