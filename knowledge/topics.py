"""Topics (主题) that file the knowledge base's entries."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from infra.clock import Clock
from infra.errors import Conflict, DomainError, NotFound, as_id
from knowledge.access import require_curator
from knowledge.entry_fields import MAX_TOPIC, clean_text
from knowledge.models import Entry, Topic
from org.access import Actor
from org.audit import record_audit

TOPIC_ROLES = ("editor", "reviewer")


def _topic_name(name: Any) -> str:
    return clean_text(name, "name", "主题名称", MAX_TOPIC, required=True)


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
    require_curator(actor, "主题", TOPIC_ROLES)
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
    require_curator(actor, "主题", TOPIC_ROLES)
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
    require_curator(actor, "主题", TOPIC_ROLES)
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
