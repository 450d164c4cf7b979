"""Publishing scheduled drafts: placing them on their accounts, claiming what is due, publishing
each once, retrying where that can help, and leaving to people what only people can settle.

A scheduled draft has one ``Publication`` per target account. A worker claims due rows with a
conditional update (PostgreSQL: ``FOR UPDATE SKIP LOCKED``), so two workers never take the same
row. A row left "publishing" past its lease belongs to a worker that died mid-publish: it may
already be public, so it is never retried blindly but goes to "needs_check" for staff to confirm
or retry. Published rows become posts of their accounts (the activity monitor counts them) and
finish the repost tasks they were written for.

Throughput (bench/publish_bench.py: 10,000 rows due at once): a worker keeps CONCURRENCY rows
with their platforms and claims the next batch as soon as a batch's rows have all started; what
the platforms published is recorded in one transaction per group of rows that finished while
the previous group was being written, under the drafts' row locks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import uuid
from collections import defaultdict
from typing import Any

from tortoise import connections
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from accounts.models import Account, Post
from accounts.service import read_credentials
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.fields import text_field
from org.access import Actor
from org.audit import record_audit
from org.models import Staff
from publishing.models import (
    PUBLICATION_STATUSES,
    Draft,
    DraftEvent,
    Publication,
    RepostTask,
)
from publishing.port import (
    PublishItem,
    PublishResult,
    PublishTarget,
    markdown_to_html,
    publisher_of,
)
from publishing.sources import complete_tasks_of

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)  # a claim older than this belongs to a dead worker
MAX_ATTEMPTS = 5
CHECK_EVERY = dt.timedelta(minutes=5)  # a submitted item's next look
CHECK_FOR = dt.timedelta(hours=24)  # then people look instead
IN_FLIGHT = ("publishing", "submitted", "manual", "needs_check")
BATCH = 200
# Rows with their platforms at once, per worker: mostly waiting on the network. At 0.3 s a
# call, 16 took 104 s to publish 10,000 rows with two workers, 32 took 59 s (bench/publish_bench).
CONCURRENCY = 32


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def publication_view(p: Publication) -> dict[str, Any]:
    account = p.account if isinstance(p.account, Account) else None  # type: ignore[attr-defined]
    return {
        "id": p.id,
        "draft_id": p.draft_id,  # type: ignore[attr-defined]
        "account_id": p.account_id,  # type: ignore[attr-defined]
        "account_name": account.name if account else "",
        "platform": account.platform if account else "",
        "status": p.status,
        "status_label": PUBLICATION_STATUSES.get(p.status, p.status),
        "scheduled_at": p.scheduled_at.isoformat(),
        "due_at": p.due_at.isoformat(),
        "attempts": p.attempts,
        "url": p.url,
        "reason": p.reason,
        "copy_text": p.copy_text if p.status == "manual" else "",
        "published_at": p.published_at.isoformat() if p.published_at else None,
    }


# ------------------------------------------------------------------ placing (drafts.py calls)


async def place_draft(draft: Draft, when: dt.datetime, now: dt.datetime) -> None:
    """One due row per target account; moving a scheduled draft moves its rows that have not
    started. Called inside the scheduling transaction."""
    existing = {p.account_id: p for p in await Publication.filter(draft_id=draft.id)}  # type: ignore[attr-defined]
    started = [p for p in existing.values() if p.status not in ("due", "cancelled")]
    if started:
        raise Conflict("publishing_started", "稿件已开始发布，不能再改时间")
    for account_id in draft.account_ids:
        row = existing.get(account_id)
        if row is None:
            await Publication.create(
                draft_id=draft.id,
                account_id=account_id,
                unit_id=draft.unit_id,  # type: ignore[attr-defined]
                status="due",
                due_at=when,
                scheduled_at=when,
                updated_at=now,
            )
            continue
        moved = await Publication.filter(id=row.id, status__in=("due", "cancelled")).update(
            status="due", due_at=when, scheduled_at=when, attempts=0, reason="", updated_at=now
        )
        if not moved:
            raise Conflict("publishing_started", "稿件已开始发布，不能再改时间")


async def cancel_draft_publications(draft: Draft, now: dt.datetime) -> None:
    """Withdrawing: every row that has not started is cancelled; one that has refuses it."""
    await Publication.filter(draft_id=draft.id, status="due").update(
        status="cancelled", updated_at=now
    )
    if await Publication.filter(draft_id=draft.id).exclude(status="cancelled").exists():
        raise Conflict("publishing_started", "稿件已开始发布，不能撤回")


# ------------------------------------------------------------------ claiming


async def claim_due(deps: Deps, worker: str, limit: int = BATCH) -> list[int]:
    """Take up to ``limit`` due rows of scheduled or publishing drafts, soonest first."""
    now = deps.clock.now()
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        rows = await conn.execute_query_dict(
            """
            UPDATE pub_publication SET status = 'publishing', claimed_by = $1, claimed_at = $2,
                   attempts = attempts + 1, updated_at = $2
            WHERE id IN (
                SELECT p.id FROM pub_publication p JOIN acc_draft d ON d.id = p.draft_id
                WHERE p.status = 'due' AND p.due_at <= $2
                  AND d.status IN ('scheduled', 'publishing')
                ORDER BY p.due_at, p.id LIMIT $3
                FOR UPDATE OF p SKIP LOCKED)
            RETURNING id, draft_id, due_at
            """,
            [worker, now, limit],
        )
        rows.sort(key=lambda r: (r["due_at"], r["id"]))
        claimed = [r["id"] for r in rows]
        drafts = {r["draft_id"] for r in rows}
    else:  # SQLite: one writer at a time; a conditional update per row is the claim
        candidates = (
            await Publication.filter(
                status="due", due_at__lte=now, draft__status__in=("scheduled", "publishing")
            )
            .order_by("due_at", "id")
            .limit(limit)
            .values("id", "draft_id", "attempts")
        )
        claimed, drafts = [], set()
        for c in candidates:
            took = await Publication.filter(id=c["id"], status="due").update(
                status="publishing",
                claimed_by=worker,
                claimed_at=now,
                attempts=c["attempts"] + 1,
                updated_at=now,
            )
            if took:
                claimed.append(c["id"])
                drafts.add(c["draft_id"])
    if drafts:
        # A statement of its own, not joined to the claim: a draft being withdrawn holds its
        # own lock and waits for its rows, which the claim must not hold while it waits too.
        await Draft.filter(id__in=sorted(drafts), status="scheduled").update(
            status="publishing", updated_at=now
        )
    return claimed


# ------------------------------------------------------------------ publishing one


def item_of(draft: Draft, account: Account, key: str) -> PublishItem:
    body = draft.body
    if draft.lead:
        body = f"**编者按：** {draft.lead}\n\n{body}"
    return PublishItem(
        title=draft.title,
        body_html=markdown_to_html(body),
        cover_url=draft.cover_url,
        source_name=draft.source_name if draft.is_repost else "",
        source_url=draft.source_url if draft.is_repost else "",
        link=draft.source_url if draft.is_repost else "",
        key=key,
    )


async def _target(deps: Deps, account: Account) -> PublishTarget:
    credentials = await read_credentials(deps, account) if account.credentials else {}
    return PublishTarget(
        platform=account.platform,
        code=account.code,
        name=account.name,
        handle=account.handle,
        credentials=credentials,
    )


async def publish_one(deps: Deps, publication_id: int, worker: str) -> str:
    """Publish one claimed row; returns its new status."""
    p = await Publication.get(id=publication_id).select_related("draft", "account")
    if p.status != "publishing" or p.claimed_by != worker:
        return p.status  # not ours (recovered as stale meanwhile)
    return await _record(deps, p, await _attempt(deps, p, {}), worker)


async def _attempt(deps: Deps, p: Publication, targets: dict[int, PublishTarget]) -> PublishResult:
    """Hand a claimed row (loaded with its draft and account) to its platform. ``targets``
    keeps each account's decrypted target for the rest of the run."""
    draft, account = p.draft, p.account
    try:
        target = targets.get(account.id)
        if target is None:
            target = targets[account.id] = await _target(deps, account)
        publisher = publisher_of(deps, target)
        return await publisher.publish(item_of(draft, account, f"pub{p.id}"))
    except Exception as err:
        log.exception("publication %s: publisher raised", p.id)
        return PublishResult("check", reason=f"发布时出错（{type(err).__name__}），可能已发布")


def _retry_delay(attempts: int, suggested: float | None) -> dt.timedelta:
    backoff = 60 * 2 ** max(0, attempts - 1)  # 1, 2, 4, 8 minutes
    return dt.timedelta(seconds=max(backoff, suggested or 0))


async def _record(deps: Deps, p: Publication, result: PublishResult, worker: str) -> str:
    now = deps.clock.now()
    changes: dict[str, Any] = {"updated_at": now, "reason": result.reason[:500]}
    if result.platform_id:
        changes["platform_id"] = result.platform_id[:200]
    status = result.status
    if status == "published":
        return await _published(
            deps,
            p,
            result.url,
            now,
            expect=("publishing",),
            by=worker,
            platform_id=result.platform_id,
        )
    if status == "submitted":
        changes.update(status="submitted", due_at=now + CHECK_EVERY)
    elif status == "manual":
        changes.update(status="manual", copy_text=result.copy_text)
    elif status == "check":
        changes.update(status="needs_check")
    elif status == "retry" and p.attempts < MAX_ATTEMPTS:
        changes.update(status="due", due_at=now + _retry_delay(p.attempts, result.retry_after))
    else:  # failed, or retries spent
        if status == "retry":
            changes["reason"] = f"已重试 {p.attempts} 次仍未成功：{result.reason}"[:500]
        changes.update(status="failed")
    moved = await Publication.filter(id=p.id, status=p.status, claimed_by=worker).update(**changes)
    if not moved:
        return (await Publication.get(id=p.id)).status
    for k, v in changes.items():
        setattr(p, k, v)
    if p.status in ("failed", "needs_check", "manual"):
        await _timeline(p, p.status, now, p.reason)
        await _tell_people(deps, p)
    await settle_draft(deps, p.draft_id)  # type: ignore[attr-defined]
    return p.status


class _Lost(Exception):
    """The row was no longer ours to record: roll back what was written."""


async def _published(
    deps: Deps,
    p: Publication,
    url: str,
    now: dt.datetime,
    *,
    expect: tuple[str, ...],
    by: str = "",
    actor: Actor | None = None,
    platform_id: str = "",
) -> str:
    draft: Draft = p.draft if isinstance(p.draft, Draft) else await Draft.get(id=p.draft_id)  # type: ignore[attr-defined]
    filters: dict[str, Any] = {"id": p.id, "status__in": expect}
    if by:
        filters["claimed_by"] = by
    extra = {"platform_id": platform_id[:200]} if platform_id else {}
    external_id = f"draft-{draft.id}"
    try:
        async with in_transaction():
            # Whoever records a row of this draft holds the draft's lock: the rows' outcomes
            # are recorded one at a time, so the post is looked for and made without a race,
            # and each settles the draft from what the others committed before it.
            await _lock_draft(draft.id)
            post = await Post.get_or_none(account_id=p.account_id, external_id=external_id)  # type: ignore[attr-defined]
            if post is None:  # (a post recorded by hand with this id is kept)
                post = _post_of(draft, p.account_id, url, now)  # type: ignore[attr-defined]
                await post.save()
            moved = await Publication.filter(**filters).update(
                status="published",
                url=url[:1000],
                published_at=now,
                updated_at=now,
                reason="",
                post_id=post.id,
                **extra,
            )
            if not moved:
                raise _Lost
            p.status, p.url, p.published_at, p.post_id = "published", url, now, post.id
            await _timeline(p, "published", now, url, actor=actor, draft=draft)
            if draft.is_repost:
                await complete_tasks_of(draft.id)
            await _settle_locked(deps, draft.id)
    except _Lost:
        return (await Publication.get(id=p.id)).status
    return "published"


async def _lock_draft(draft_id: int) -> None:
    # SQLite ignores FOR UPDATE: its transactions run one at a time anyway.
    await Draft.filter(id=draft_id).select_for_update().only("id")


async def settle_draft(deps: Deps, draft_id: int) -> str:
    """The draft's status from its rows: published when all are, failed when one failed and
    nothing is left to happen, else still publishing."""
    async with in_transaction():
        await _lock_draft(draft_id)
        return await _settle_locked(deps, draft_id)


async def _settle_locked(deps: Deps, draft_id: int) -> str:
    return (await _settle_many_locked(deps, [draft_id])).get(draft_id, "")


async def _settle_many_locked(deps: Deps, draft_ids: list[int]) -> dict[int, str]:
    statuses: dict[int, set[str]] = defaultdict(set)
    for draft_id, status in (
        await Publication.filter(draft_id__in=draft_ids)
        .exclude(status="cancelled")
        .values_list("draft_id", "status")
    ):
        statuses[draft_id].add(status)
    targets: dict[int, str] = {}
    for draft_id in draft_ids:
        found = statuses.get(draft_id, set())
        if not found or found & {"due", *IN_FLIGHT}:
            target = "publishing" if found - {"due"} else None
        elif found == {"published"}:
            target = "published"
        else:
            target = "failed"
        if target:
            targets[draft_id] = target
    for target in set(targets.values()):
        ids = [d for d, t in targets.items() if t == target]
        await Draft.filter(id__in=ids, status__in=("scheduled", "publishing", "failed")).update(
            status=target, updated_at=deps.clock.now()
        )
    return targets


async def _record_published(
    deps: Deps, done: list[tuple[Publication, PublishResult]], worker: str
) -> None:
    """Rows of this worker's batch the platforms published, recorded together: the same
    outcome as ``_published`` gives each, in one transaction with one statement per step."""
    try:
        await _record_published_together(deps, done, worker)
    except Exception:
        log.exception("recording %d published rows together failed; one by one", len(done))
        for p, result in done:  # the guard skips any the failed attempt did record
            try:
                await _record(deps, p, result, worker)
            except Exception:  # the row stays "publishing" and is recovered as stale
                log.exception("publication %s: recording the outcome failed", p.id)


async def _record_published_together(
    deps: Deps, done: list[tuple[Publication, PublishResult]], worker: str
) -> None:
    now = deps.clock.now()
    given = {p.id: (p, result) for p, result in done}
    draft_ids = sorted({p.draft_id for p, _ in done})  # type: ignore[attr-defined]
    async with in_transaction():
        # The drafts' locks as in _published, taken in id order so that two workers' batches
        # cannot deadlock; then the rows, if still ours (not recovered as stale meanwhile).
        await Draft.filter(id__in=draft_ids).order_by("id").select_for_update().only("id")
        moved = await Publication.filter(
            id__in=list(given), status="publishing", claimed_by=worker
        ).update(status="published", published_at=now, updated_at=now, reason="")
        if not moved:
            return
        ours = [given[i] for i in sorted(given)]
        if moved < len(given):  # rare: only the rows moved just now are recorded
            mine = set(
                await Publication.filter(
                    id__in=list(given), status="published", claimed_by=worker, post_id=None
                ).values_list("id", flat=True)
            )
            ours = [(p, r) for p, r in ours if p.id in mine]
        # A post recorded by hand with the same id is kept and linked, as in _published.
        await Post.bulk_create(
            [_post_of(p.draft, p.account_id, r.url, now) for p, r in ours],  # type: ignore[attr-defined]
            ignore_conflicts=True,
        )
        keys = {p.id: (p.account_id, f"draft-{p.draft_id}") for p, _ in ours}  # type: ignore[attr-defined]
        posts = await _posts_of(set(keys.values()))
        for p, r in ours:
            p.status, p.url, p.published_at, p.updated_at = "published", r.url[:1000], now, now
            p.reason, p.post_id = "", posts[keys[p.id]]
            if r.platform_id:
                p.platform_id = r.platform_id[:200]
        await Publication.bulk_update(
            [p for p, _ in ours], fields=("url", "post_id", "platform_id")
        )
        await DraftEvent.bulk_create(
            [_event(p, "published", now, p.url, version=p.draft.version) for p, _ in ours]
        )
        reposts = sorted({p.draft_id for p, _ in ours if p.draft.is_repost})  # type: ignore[attr-defined]
        if reposts:  # as publishing.sources.complete_tasks_of, for all of them at once
            await RepostTask.filter(draft_id__in=reposts, status="open").update(status="done")
        await _settle_many_locked(deps, draft_ids)


async def _posts_of(keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    rows = await Post.filter(
        account_id__in={a for a, _ in keys}, external_id__in={e for _, e in keys}
    ).values_list("account_id", "external_id", "id")
    return {(a, e): i for a, e, i in rows if (a, e) in keys}


def _post_of(draft: Draft, account_id: int, url: str, now: dt.datetime) -> Post:
    return Post(
        account_id=account_id,
        external_id=f"draft-{draft.id}",
        title=draft.title,
        summary=draft.lead[:500],
        url=url[:1000],
        published_at=now,
        is_repost=draft.is_repost,
        source_name=draft.source_name,
        source_url=draft.source_url,
        created_at=now,
        created_by_id=draft.created_by_id,  # type: ignore[attr-defined]
    )


async def _timeline(
    p: Publication,
    action: str,
    now: dt.datetime,
    note: str,
    *,
    actor: Actor | None = None,
    draft: Draft | None = None,
) -> None:
    draft = draft or (p.draft if isinstance(p.draft, Draft) else None)
    if draft is not None:  # loaded with the row: a scheduled draft's version cannot change
        version = draft.version
    else:
        versions = await Draft.filter(id=p.draft_id).values_list("version", flat=True)  # type: ignore[attr-defined]
        version = versions[0] if versions else 1
    if not isinstance(p.account, Account):
        p.account = await Account.get(id=p.account_id)  # type: ignore[attr-defined]
    await _event(p, action, now, note, version=version, actor=actor).save()


def _event(
    p: Publication,
    action: str,
    now: dt.datetime,
    note: str,
    *,
    version: int,
    actor: Actor | None = None,
) -> DraftEvent:
    label = PUBLICATION_STATUSES.get(action, action)
    return DraftEvent(
        draft_id=p.draft_id,  # type: ignore[attr-defined]
        at=now,
        actor_id=actor.staff_id if actor else None,
        actor_name=actor.name if actor else "发布程序",
        action=action,
        version=version,
        note=f"「{p.account.name}」{label}" + (f"：{note}" if note else ""),
    )


async def _tell_people(deps: Deps, p: Publication) -> None:
    """The author and the unit's leaders, by SMS in production: a failure, a row to check, or
    text to paste by hand."""
    draft = p.draft if isinstance(p.draft, Draft) else await Draft.get(id=p.draft_id)  # type: ignore[attr-defined]
    account = p.account if isinstance(p.account, Account) else await Account.get(id=p.account_id)  # type: ignore[attr-defined]
    what = {
        "failed": f"发布失败：{p.reason}",
        "needs_check": "可能已发布也可能没有，请核实后确认或重试",
        "manual": "需人工发布，请复制正文发布后登记网址",
    }[p.status]
    body = f"【民声】稿件「{draft.title[:20]}」在「{account.name}」{what[:60]}。请登录控制台处理。"
    staff = await Staff.filter(unit_id=p.unit_id, active=True).order_by("id")
    mobiles = {s.mobile for s in staff if s.id == draft.created_by_id and s.mobile}  # type: ignore[attr-defined]
    if p.status != "manual":
        mobiles |= {s.mobile for s in staff if "leader" in s.roles and s.mobile}
    for mobile in sorted(mobiles):
        await deps.notifier.send_notification(mobile, body, purpose=f"publish.{p.status}")


# ------------------------------------------------------------------ the worker's jobs


async def publish_due(
    deps: Deps, *, worker: str | None = None, budget: float = 50.0, batch: int = BATCH
) -> int:
    """Claim and publish due rows in batches until none are due or ``budget`` seconds pass."""
    worker = worker or worker_name()
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + budget
    gate = asyncio.Semaphore(CONCURRENCY)
    # Published rows are recorded by whichever task holds the lock next, all that came in
    # while it waited together (group commit): one transaction for many rows when busy, one
    # for each when not.
    recording = asyncio.Lock()
    published: list[tuple[Publication, PublishResult]] = []
    waiting = 0  # claimed rows not yet with their platform
    drained = asyncio.Event()
    targets: dict[int, PublishTarget] = {}  # each account's, for this run
    done = 0

    async def one(p: Publication) -> None:
        nonlocal waiting
        async with gate:
            waiting -= 1
            if not waiting:
                drained.set()
            result = await _attempt(deps, p, targets)
        if result.status == "published":
            published.append((p, result))
            async with recording:
                if published:
                    ready = published[:]
                    published.clear()
                    await _record_published(deps, ready, worker)
            return
        try:
            await _record(deps, p, result, worker)
        except Exception:  # the row stays "publishing" and is recovered as stale
            log.exception("publication %s: recording the outcome failed", p.id)

    tasks: set[asyncio.Future[None]] = set()
    try:
        while loop.time() < stop_at:
            claimed = await claim_due(deps, worker, batch)
            if not claimed:
                break
            try:
                rows = {
                    p.id: p
                    for p in await Publication.filter(
                        id__in=claimed, status="publishing", claimed_by=worker
                    ).select_related("draft", "account")
                }
            except Exception:
                await _give_back(deps, claimed, worker)
                raise
            ours = [rows[pid] for pid in claimed if pid in rows]
            waiting += len(ours)
            drained.clear()
            for p in ours:
                task = asyncio.ensure_future(one(p))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            done += len(claimed)
            # The next batch is claimed as soon as every row of this one is with its platform:
            # the platforms are kept busy rather than waiting for a batch's slowest rows.
            if waiting:
                await drained.wait()
    finally:
        await asyncio.gather(*tasks, return_exceptions=True)
    return done


async def _give_back(deps: Deps, claimed: list[int], worker: str) -> None:
    """Nothing of these claims was published yet (loading them failed): due again, the attempt
    not counted. If this fails too they are recovered as stale, to be checked by people."""
    try:
        await Publication.filter(id__in=claimed, status="publishing", claimed_by=worker).update(
            status="due", claimed_by="", attempts=F("attempts") - 1, updated_at=deps.clock.now()
        )
    except Exception:
        log.exception("giving back %d claimed publications failed", len(claimed))


async def recover_stalled(deps: Deps) -> int:
    """Rows a dead worker left "publishing": to needs_check, never retried blindly."""
    now = deps.clock.now()
    stale = await Publication.filter(status="publishing", claimed_at__lt=now - LEASE)
    moved = 0
    for p in stale:
        took = await Publication.filter(
            id=p.id, status="publishing", claimed_at=p.claimed_at
        ).update(
            status="needs_check",
            reason="发布程序中断，可能已发布，请核实后确认或重试",
            updated_at=now,
        )
        if not took:
            continue
        moved += 1
        p.status, p.reason = "needs_check", "发布程序中断，可能已发布，请核实后确认或重试"
        await _timeline(p, "needs_check", now, p.reason)
        await _tell_people(deps, p)
    return moved


async def check_submitted(deps: Deps) -> int:
    """Ask the platform what became of submitted rows (WeChat publishes after its review)."""
    now = deps.clock.now()
    worker = worker_name()
    rows = await Publication.filter(status="submitted", due_at__lte=now).select_related(
        "draft", "account"
    )
    settled = 0
    for p in rows:
        took = await Publication.filter(id=p.id, status="submitted", due_at=p.due_at).update(
            status="publishing", claimed_by=worker, claimed_at=now, updated_at=now
        )
        if not took:
            continue
        p.status, p.claimed_by = "publishing", worker
        publisher = publisher_of(deps, await _target(deps, p.account))
        check = getattr(publisher, "check", None)
        try:
            result = await check(p.platform_id) if check else PublishResult("check")
        except Exception as err:  # noqa: BLE001 - ask again later
            log.warning("publication %s: check failed: %s", p.id, type(err).__name__)
            result = PublishResult("submitted", platform_id=p.platform_id)
        if result.status == "submitted" and now - (p.published_at or p.scheduled_at) > CHECK_FOR:
            result = PublishResult("check", reason="平台一天内未给出发布结果，请核实")
        if result.status == "retry":
            result = PublishResult("submitted", platform_id=p.platform_id)
        await _record(deps, p, result, worker)
        settled += 1
    return settled


# ------------------------------------------------------------------ what people settle


async def _own(actor: Actor, publication_id: Any) -> Publication:
    p = await Publication.get_or_none(id=as_id(publication_id, "发布记录")).select_related(
        "draft", "account"
    )
    if p is None or not (actor.unit_id == p.unit_id or actor.has("admin")):
        raise NotFound("发布记录")
    if not actor.has("editor", "leader"):
        raise Forbidden("只有本单位编辑或领导可以处理发布记录")
    return p


async def resolve_publication(
    deps: Deps, actor: Actor, publication_id: Any, data: dict[str, Any]
) -> Publication:
    """Staff settle a row: ``outcome`` "published" (with the URL people found or posted by
    hand), "retry" (it is not public: publish it again now) or "failed" (give it up)."""
    p = await _own(actor, publication_id)
    outcome = data.get("outcome")
    now = deps.clock.now()
    if outcome == "published":
        if p.status not in ("needs_check", "manual", "failed"):
            raise Conflict("bad_status", f"发布记录当前为「{PUBLICATION_STATUSES[p.status]}」")
        url = text_field(data, "url", "发布网址", max_len=1000)
        if not url.startswith(("http://", "https://")):
            raise DomainError("bad_field", "发布网址须以 http:// 或 https:// 开头", field="url")
        status = await _published(deps, p, url, now, expect=(p.status,), actor=actor)
        if status != "published":
            raise Conflict("changed", "发布记录刚被他人处理，请刷新")
    elif outcome in ("retry", "failed"):
        if p.status not in ("needs_check", "failed", "manual") or (
            outcome == "failed" and p.status == "failed"
        ):
            raise Conflict("bad_status", f"发布记录当前为「{PUBLICATION_STATUSES[p.status]}」")
        note = text_field(data, "note", "说明", required=outcome == "failed", max_len=500)
        changes: dict[str, Any] = {"updated_at": now, "reason": note}
        if outcome == "retry":
            changes.update(status="due", due_at=now, attempts=0, claimed_by="")
        else:
            changes.update(status="failed")
        moved = await Publication.filter(id=p.id, status=p.status).update(**changes)
        if not moved:
            raise Conflict("changed", "发布记录刚被他人处理，请刷新")
        p.status = changes["status"]
        if outcome == "retry":
            await Draft.filter(id=p.draft_id, status="failed").update(  # type: ignore[attr-defined]
                status="publishing", updated_at=now
            )
        await _timeline(p, "retry" if outcome == "retry" else "failed", now, note, actor=actor)
        await settle_draft(deps, p.draft_id)  # type: ignore[attr-defined]
    else:
        raise DomainError("bad_field", "请选择处理结果：已发布、重新发布或放弃", field="outcome")
    await record_audit(
        actor,
        f"publication.{outcome}",
        clock=deps.clock,
        object_type="draft",
        object_id=p.draft_id,  # type: ignore[attr-defined]
        summary=f"「{p.account.name}」的发布记录处理为{outcome}",
        after={"publication": p.id, "status": p.status},
    )
    return await Publication.get(id=p.id).select_related("account")


async def publications_of(draft_id: int) -> list[Publication]:
    return await Publication.filter(draft_id=draft_id).select_related("account").order_by("id")
