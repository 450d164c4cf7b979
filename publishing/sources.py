"""Authoritative sources and repost tasks (RULES.md section 1; 000 §14(五), 004 §7(一)).

Admins keep the whitelist of sources reposts must come from. Units subscribe to sources; a
worker job reads the sources' feeds (publishing.feeds) and turns each new item of a central or
provincial source into a repost task for every subscribed unit. A task of an urgent source is
due 12 hours after the item's publication; the job reminds the unit's editors before that and
puts a missed task on the overdue list supervisors see. A task is done when a repost of it is
published, and dismissed only with a reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx
from tortoise.exceptions import IntegrityError

from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.fields import text_field
from org.access import Actor
from org.audit import record_audit
from org.models import Staff
from publishing.feeds import FeedSource, fetch_all, new_items
from publishing.models import (
    SOURCE_LEVELS,
    TASK_LEVELS,
    RepostTask,
    Source,
    SourceSubscription,
)

log = logging.getLogger(__name__)

URGENT_HOURS = 12  # 004 §7(一)
# Who reads the repost tasks of their units (the console shows its links to them alone).
TASK_READERS = ("editor", "reviewer", "leader", "supervisor")
REMIND_BEFORE = dt.timedelta(hours=3)
REMINDERS = {
    "soon": "距12小时转载时限不足3小时",
    "overdue": "已超过12小时转载时限，已列入逾期清单",
}


def source_view(s: Source) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "home_url": s.home_url,
        "level": s.level,
        "level_label": SOURCE_LEVELS.get(s.level, s.level),
        "feed_url": s.feed_url,
        "urgent": s.urgent,
        "active": s.active,
        "checked_at": s.checked_at.isoformat() if s.checked_at else None,
        "last_error": s.last_error,
    }


def task_view(t: RepostTask, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": t.id,
        "source_id": t.source_id,  # type: ignore[attr-defined]
        "unit_id": t.unit_id,  # type: ignore[attr-defined]
        "title": t.title,
        "link": t.link,
        "published_at": t.published_at.isoformat() if t.published_at else None,
        "urgent": t.urgent,
        "due_at": t.due_at.isoformat() if t.due_at else None,
        "overdue": is_overdue(t, now),
        "status": t.status,
        "draft_id": t.draft_id,  # type: ignore[attr-defined]
        "dismissed_reason": t.dismissed_reason,
    }


def is_overdue(t: RepostTask, now: dt.datetime) -> bool:
    return t.status == "open" and t.due_at is not None and t.due_at < now


def _url(data: dict[str, Any], key: str, label: str, *, required: bool) -> str:
    value = text_field(data, key, label, required=required, max_len=1000)
    if value and not value.lower().startswith(("http://", "https://")):
        raise DomainError("bad_field", f"{label}应以 http:// 或 https:// 开头", field=key)
    return value


# ------------------------------------------------------------------ the whitelist (admins)


async def add_source(deps: Deps, actor: Actor, data: dict[str, Any]) -> Source:
    actor.require("admin")
    level = data.get("level")
    if level not in SOURCE_LEVELS:
        raise DomainError("bad_field", "请选择来源级别（中央、省级、市级、其他）", field="level")
    name = text_field(data, "name", "来源名称", max_len=100)
    try:
        source = await Source.create(
            name=name,
            home_url=_url(data, "home_url", "来源网址", required=True),
            level=level,
            feed_url=_url(data, "feed_url", "RSS/Atom 地址", required=False),
            urgent=data.get("urgent") in (True, "1", "true", "on"),
            created_at=deps.clock.now(),
        )
    except IntegrityError as exc:
        raise Conflict("duplicate", f"来源「{name}」已在白名单中") from exc
    await record_audit(
        actor,
        "source.add",
        clock=deps.clock,
        object_type="source",
        object_id=source.id,
        summary=f"将「{name}」（{SOURCE_LEVELS[level]}）加入转载来源白名单",
        after=source_view(source),
    )
    return source


async def list_sources() -> list[Source]:
    return await Source.all().order_by("level", "name")


async def whitelisted(name: str, url: str) -> Source | None:
    """The active source a repost names: by name, and its link on the source's site."""
    source = await Source.get_or_none(name=name.strip(), active=True)
    if source is None:
        return None
    home = httpx.URL(source.home_url).host
    host = httpx.URL(url).host if url else ""
    return source if host == home or host.endswith("." + home) else None


async def subscribe(deps: Deps, actor: Actor, source_id: Any) -> SourceSubscription:
    """The actor's unit gets repost tasks for the source's new items."""
    if not actor.has("editor", "leader") or actor.unit_id is None:
        raise Forbidden("只有编辑或领导可以为本单位订阅转载来源")
    source = await Source.get_or_none(id=as_id(source_id, "来源"), active=True)
    if source is None:
        raise NotFound("来源")
    sub, created = await SourceSubscription.get_or_create(source=source, unit_id=actor.unit_id)
    if created:
        await record_audit(
            actor,
            "source.subscribe",
            clock=deps.clock,
            object_type="source",
            object_id=source.id,
            summary=f"本单位订阅转载来源「{source.name}」",
        )
    return sub


# ------------------------------------------------------------------ the worker's job


async def watch_sources(deps: Deps, *, client: httpx.AsyncClient | None = None) -> int:
    """Read every active source's feed once; new items of central and provincial sources
    become tasks for the subscribed units. Returns the number of tasks made. A failing feed
    is noted on its source and never stops the others."""
    sources = [s for s in await Source.filter(active=True) if s.feed_url]
    if not sources:
        return 0
    feeds = [FeedSource(s.id, s.feed_url, s.etag, s.last_modified) for s in sources]
    results = await fetch_all(feeds, client=client)
    now = deps.clock.now()
    made = 0
    for source in sources:
        result = results[source.id]
        source.etag, source.last_modified = result.etag, result.last_modified
        source.checked_at = now
        source.last_error = (result.reason or "")[:300] if result.status == "failed" else ""
        await source.save(update_fields=["etag", "last_modified", "checked_at", "last_error"])
        if result.status != "ok" or source.level not in TASK_LEVELS:
            continue
        units = await SourceSubscription.filter(source_id=source.id).values_list(
            "unit_id", flat=True
        )
        if not units:
            continue
        seen = set(await RepostTask.filter(source_id=source.id).values_list("item_id", flat=True))
        for item in new_items(result, seen):
            published = item.published
            due = (published or now) + dt.timedelta(hours=URGENT_HOURS) if source.urgent else None
            for unit_id in units:
                try:
                    await RepostTask.create(
                        source=source,
                        unit_id=unit_id,
                        item_id=item.id[:500],
                        title=item.title[:500],
                        link=(item.link or "")[:1000],
                        published_at=published,
                        urgent=source.urgent,
                        due_at=due,
                        created_at=now,
                    )
                    made += 1
                except IntegrityError:
                    continue  # another worker made it at the same moment
    if made:
        log.info("repost tasks: %d made", made)
    return made


async def _editors(unit_id: int) -> list[str]:
    staff = await Staff.filter(unit_id=unit_id, active=True).order_by("id")
    return [s.mobile for s in staff if "editor" in s.roles] or [
        s.mobile for s in staff if "leader" in s.roles
    ]


async def remind_repost_tasks(deps: Deps) -> int:
    """Urgent open tasks: a reminder to the unit's editors when 3 hours are left, another when
    the deadline has passed (then the task is on the overdue list). Each once."""
    now = deps.clock.now()
    sent = 0
    due_soon = await RepostTask.filter(
        status="open", urgent=True, due_at__lte=now + REMIND_BEFORE
    ).select_related("source")
    for task in due_soon:
        stage = "overdue" if task.due_at < now else "soon"
        if task.reminded == stage or (stage == "soon" and task.reminded == "overdue"):
            continue
        moved = await RepostTask.filter(id=task.id, reminded=task.reminded).update(reminded=stage)
        if not moved:
            continue  # another worker is sending it
        when = REMINDERS[stage]
        body = f"【民声】转载任务「{task.title[:20]}」（{task.source.name}）{when}，请尽快转载。"
        for mobile in await _editors(task.unit_id):  # type: ignore[attr-defined]
            await deps.notifier.send_notification(mobile, body, purpose="repost.remind")
            sent += 1
    return sent


# ------------------------------------------------------------------ the units' side


async def list_tasks(actor: Actor, *, status: str = "open", limit: int = 100) -> list[RepostTask]:
    """The unit's tasks (leaders: and below; supervisors: all), soonest deadline first."""
    if not actor.has(*TASK_READERS):
        raise Forbidden("只有编辑、审核员、领导和督查人员可以查看转载任务")
    qs = actor.scope(RepostTask.all()).filter(status=status)
    qs = qs.select_related("source", "unit")
    return await qs.order_by("due_at", "id").limit(min(limit, 500))


async def list_overdue(deps: Deps, actor: Actor, *, limit: int = 200) -> list[RepostTask]:
    """Urgent tasks past their 12 hours and still open: what supervisors follow up."""
    if not actor.has("supervisor", "leader"):
        raise Forbidden("只有督查人员和领导可以查看逾期转载任务")
    qs = _overdue(deps, actor)
    return await qs.select_related("source", "unit").order_by("due_at", "id").limit(limit)


def _overdue(deps: Deps, actor: Actor):
    return actor.scope(RepostTask.all()).filter(
        status="open", urgent=True, due_at__lt=deps.clock.now()
    )


async def dismiss_task(deps: Deps, actor: Actor, task_id: Any, data: dict[str, Any]) -> RepostTask:
    task = await RepostTask.get_or_none(id=as_id(task_id, "转载任务")).select_related("unit")
    if task is None or not actor.reads_unit(task.unit.path):
        raise NotFound("转载任务")
    if not actor.has("editor", "leader") or (
        actor.unit_id != task.unit_id and not actor.has("leader")  # type: ignore[attr-defined]
    ):
        raise Forbidden("只有本单位编辑或领导可以忽略转载任务")
    reason = text_field(data, "reason", "忽略理由", max_len=1000)
    moved = await RepostTask.filter(id=task.id, status="open").update(
        status="dismissed", dismissed_reason=reason
    )
    if not moved:
        raise Conflict("bad_status", "该转载任务已处理")
    task.status, task.dismissed_reason = "dismissed", reason
    await record_audit(
        actor,
        "repost_task.dismiss",
        clock=deps.clock,
        object_type="repost_task",
        object_id=task.id,
        summary=f"忽略转载任务「{task.title}」：{reason}",
    )
    return task


async def complete_tasks_of(draft_id: int) -> int:
    """A published repost draft finishes the tasks it was written for."""
    return await RepostTask.filter(draft_id=draft_id, status="open").update(status="done")


# ------------------------------------------------------------------ what the console shows


async def subscribed_source_ids(actor: Actor) -> set[int]:
    """The sources the actor's unit subscribes to."""
    if actor.unit_id is None:
        return set()
    ids = await SourceSubscription.filter(unit_id=actor.unit_id).values_list("source_id", flat=True)
    return set(ids)


async def count_open_tasks(actor: Actor) -> int:
    """Open repost tasks of the editor's own unit: what waits for them to repost or dismiss."""
    if not actor.has("editor") or actor.unit_id is None:
        return 0
    return await RepostTask.filter(unit_id=actor.unit_id, status="open").count()


async def count_overdue(deps: Deps, actor: Actor) -> int:
    """The length of the overdue list (supervisors and leaders)."""
    if not actor.has("supervisor", "leader"):
        return 0
    return await _overdue(deps, actor).count()
