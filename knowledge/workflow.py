"""An entry's way from draft to answering citizens and out of service: submit, review (publish
or reject), retire, restore (000 §27).

A submitted entry is published by a reviewer of its unit or a leader above it who neither
submitted nor edited that version (先审后发, RULES.md sections 1 and 3); publication takes the
snapshot ``Entry.live`` the bot answers from. Every change writes an EntryVersion row and an audit
record in the same transaction; changes that alter what the bot answers are announced to the live
index of every process after the transaction commits.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from tortoise.transactions import in_transaction

from infra.clock import Clock
from infra.errors import Conflict, Forbidden
from knowledge.access import check_may_retire, check_may_review, check_may_write
from knowledge.entries import load_entry, stale_entry, write_version
from knowledge.entry_fields import MAX_NOTE, bad_field
from knowledge.live import announce_entry
from knowledge.models import STATUSES, Entry, EntryVersion
from knowledge.views import audit_view
from org.access import Actor
from org.audit import record_audit

# Version actions that change the text staff review; whoever did one since the last publication
# may not publish it.
EDIT_ACTIONS = ("create", "edit", "import", "add_similar")


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
        raise bad_field("answer", "请先填写答案再提交审核", "missing_field")
    now = clock.now()
    async with in_transaction():
        moved = await Entry.filter(id=entry.id, version=entry.version, status="draft").update(
            status="review", submitted_by_id=actor.staff_id, updated_at=now
        )
        if not moved:
            raise stale_entry()
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
        raise bad_field("note", "请填写退回理由", "missing_field")
    if len(note) > MAX_NOTE:
        raise bad_field("note", f"审核意见不能超过{MAX_NOTE}个字")
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
        raise bad_field("reason", "请填写停用理由", "missing_field")
    if len(reason) > MAX_NOTE:
        raise bad_field("reason", f"停用理由不能超过{MAX_NOTE}个字")
    now = clock.now()
    was_live = entry.live is not None
    async with in_transaction():
        moved = await Entry.filter(id=entry.id, version=entry.version, status=entry.status).update(
            status="retired", live=None, submitted_by_id=None, updated_at=now
        )
        if not moved:
            raise stale_entry()
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
            raise stale_entry()
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
