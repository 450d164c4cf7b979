"""Synonym groups (同义词) the matcher treats as one word; a word belongs to one group. Every
change is announced to the live index of every process."""

from __future__ import annotations

import re
from typing import Any

import redis.asyncio as aioredis
from tortoise.transactions import in_transaction

from infra.clock import Clock
from infra.errors import Conflict, DomainError, NotFound, as_id
from knowledge.access import require_curator
from knowledge.entry_fields import bad_field
from knowledge.live import announce_synonyms
from knowledge.models import SynonymGroup
from knowledge.text import normalize
from org.access import Actor
from org.audit import record_audit

MAX_SYNONYM_WORD = 20
MAX_SYNONYM_WORDS = 30
SYNONYM_ROLES = ("editor", "reviewer")
_WORD_SPLIT = re.compile(r"[\s,，、;；|/]+")


def clean_synonyms(words: Any) -> list[str]:
    """Distinct normalised words (as the matcher compares them), at least two."""
    if isinstance(words, str):
        items: list[Any] = _WORD_SPLIT.split(words)
    elif isinstance(words, list | tuple):
        items = list(words)
    else:
        raise bad_field("words", "同义词格式不正确")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise bad_field("words", "同义词格式不正确")
        word = normalize(item.strip()) if item.strip() else ""
        if not word:
            continue
        if len(word) > MAX_SYNONYM_WORD:
            raise bad_field(
                "words", f"同义词「{item.strip()}」过长（不超过{MAX_SYNONYM_WORD}个字）"
            )
        if word not in out:
            out.append(word)
    if len(out) < 2:
        raise bad_field("words", "同义词组至少需要两个不同的词")
    if len(out) > MAX_SYNONYM_WORDS:
        raise bad_field("words", f"一个同义词组最多{MAX_SYNONYM_WORDS}个词")
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
    require_curator(actor, "同义词", SYNONYM_ROLES)
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
    require_curator(actor, "同义词", SYNONYM_ROLES)
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
