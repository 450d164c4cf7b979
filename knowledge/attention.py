"""What citizens ask the bot: the question log, attention figures (关注度) per topic and period,
and the questions the knowledge base could not answer, for staff to fold back in (000 §27).

The log never holds contact details: each question is masked before it is stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from tortoise.expressions import F, Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from infra.clock import SHANGHAI, Clock, beijing_midnight
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound
from knowledge.access import check_may_write, require_staff
from knowledge.entries import apply_edit, create_entry, load_entry
from knowledge.entry_fields import MAX_QUESTION, clean_similar
from knowledge.grouping import cluster_questions
from knowledge.live import KnowledgeIndex
from knowledge.models import DECISIONS, Ask, Entry, Topic
from knowledge.offers import offered, scores, worth_offering
from knowledge.privacy import mask_personal
from knowledge.text import normalize
from knowledge.views import audit_view
from knowledge.workflow import submit_entry
from org.access import Actor
from org.audit import record_audit

MAX_TEXT = 500
# The bot's question log on its way to the database (see `flush_asks`).
ASK_QUEUE = "kb:asks"
MAX_UNANSWERED_ASKS = 5000
MAX_ASK_IDS = 1000
CURATOR_ROLES = ("editor", "reviewer", "leader")

# ---------------------------------------------------------------- the question log

# json.dumps(..., ensure_ascii=False) makes a new encoder on every call; each message queues one.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _entry_id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def ask_event(
    *,
    text: str,
    channel: str,
    account_id: int | None,
    decision: str,
    entry_id: int | str | None,
    score: float,
    suggestions: list[Any],
    clock: Clock,
) -> tuple[str, str]:
    """One question and the bot's decision, ready for the log queue: (its reference, its JSON).

    The bot queues it in Redis beside its conversation state (no database write on the message's
    way); `flush_asks` writes the queue in batches. The text is masked here, before it leaves.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    masked = mask_personal(text or "").strip()[:MAX_TEXT]
    ref = os.urandom(16).hex()  # as opaque as uuid4's hex, without building a UUID
    row = {
        "ref": ref,
        "asked_at": clock.now().isoformat(),
        "text": masked,
        "channel": (channel or "web")[:16],
        "account_id": account_id,
        "decision": decision,
        "entry_id": _entry_id(entry_id),
        "score": float(score or 0.0),
        "suggestions": [i for i in (_entry_id(s) for s in suggestions or []) if i is not None],
    }
    return ref, _to_json({"ask": row})


def feedback_event(ref: str, *, helpful: bool) -> str:
    """The citizen's verdict on a queued (or already written) question, for the same queue."""
    return json.dumps({"feedback": ref, "helpful": bool(helpful)})


def letter_event(ref: str) -> str:
    """A queued (or already written) question the citizen turned into a letter."""
    return json.dumps({"letter": ref})


async def write_ask_events(events: list[dict[str, Any]]) -> int:
    """Write queued questions and verdicts, in queue order, in one transaction; returns how many
    questions were new. Safe to replay: a question already written (same ref) is skipped, so
    its entry's hit is not counted twice."""
    rows = [e["ask"] for e in events if isinstance(e.get("ask"), dict) and e["ask"].get("ref")]
    verdicts = [e for e in events if isinstance(e.get("feedback"), str)]
    lettered = [e["letter"] for e in events if isinstance(e.get("letter"), str)]
    async with in_transaction():
        refs = [r["ref"] for r in rows]
        known = set(await Ask.filter(ref__in=refs).values_list("ref", flat=True)) if refs else set()
        rows = [r for r in rows if r["ref"] not in known]
        wanted = {r["entry_id"] for r in rows if r.get("entry_id") is not None}
        # An entry removed since the index was built: the question stays, unlinked.
        present = set()
        if wanted:
            present = set(await Entry.filter(id__in=wanted).values_list("id", flat=True))
        asks, hits = [], Counter()
        for r in rows:
            entry_id = r.get("entry_id") if r.get("entry_id") in present else None
            if r["decision"] == "answer" and entry_id is not None:
                hits[entry_id] += 1
            asks.append(
                Ask(
                    ref=r["ref"],
                    asked_at=dt.datetime.fromisoformat(r["asked_at"]),
                    text=r["text"],
                    normalized=normalize(r["text"])[:MAX_TEXT],
                    channel=r["channel"],
                    account_id=r.get("account_id"),
                    decision=r["decision"],
                    entry_id=entry_id,
                    score=r.get("score", 0.0),
                    suggestions=r.get("suggestions") or [],
                )
            )
        if asks:
            await Ask.bulk_create(asks, batch_size=500, ignore_conflicts=True)
        for entry_id, n in hits.items():
            await Entry.filter(id=entry_id).update(hits=F("hits") + n)
        for v in verdicts:
            ask = await Ask.get_or_none(ref=v["feedback"])
            if ask is not None:
                await _count_feedback(ask, helpful=bool(v.get("helpful")))
        if lettered:
            await Ask.filter(ref__in=lettered, resolved__isnull=True).update(resolved="letter")
    return len(asks)


async def flush_asks(deps: Deps, *, batch: int = 1000) -> int:
    """The periodic job: move the queued questions and verdicts from Redis to the database.
    Reads a batch, writes it, then trims it off the queue: a crash in between replays the batch,
    which `write_ask_events` makes harmless. Returns how many questions were written."""
    redis = deps.redis
    written = 0
    while True:
        raw = await redis.lrange(ASK_QUEUE, 0, batch - 1)
        if not raw:
            return written
        events = []
        for item in raw:
            try:
                event = json.loads(item)
            except ValueError:
                continue  # not ours; dropped with the batch
            if isinstance(event, dict):
                events.append(event)
        written += await write_ask_events(events)
        await redis.ltrim(ASK_QUEUE, len(raw), -1)


async def record_ask(
    *,
    text: str,
    channel: str,
    account_id: int | None,
    decision: str,
    entry_id: int | str | None,
    score: float,
    suggestions: list[Any],
    clock: Clock,
) -> Ask:
    """Log one question at once (staff tools, imports, tests); the bot queues instead."""
    ref, event = ask_event(
        text=text,
        channel=channel,
        account_id=account_id,
        decision=decision,
        entry_id=entry_id,
        score=score,
        suggestions=suggestions,
        clock=clock,
    )
    await write_ask_events([json.loads(event)])
    return await Ask.get(ref=ref)


async def record_feedback(ask_id: int, *, helpful: bool, clock: Clock) -> Ask:
    """The citizen's verdict on an answer, counted once: a second verdict changes nothing."""
    async with in_transaction():
        ask = await Ask.get_or_none(id=ask_id)
        if ask is None:
            raise NotFound("提问记录")
        await _count_feedback(ask, helpful=helpful)
        await ask.refresh_from_db()
    return ask


async def _count_feedback(ask: Ask, *, helpful: bool) -> None:
    verdict = "helpful" if helpful else "unhelpful"
    changed = await Ask.filter(id=ask.id, feedback__isnull=True).update(feedback=verdict)
    if changed and ask.entry_id is not None:  # type: ignore[attr-defined]
        column = "helpful" if helpful else "unhelpful"
        await Entry.filter(id=ask.entry_id).update(**{column: F(column) + 1})  # type: ignore[attr-defined]


# ---------------------------------------------------------------- periods


def _moment(value: dt.datetime | dt.date, *, end: bool) -> dt.datetime:
    """A datetime as given (naive means Beijing time); a date is a Beijing day, and as the end of
    a period it includes that whole day."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, dt.date):
        return beijing_midnight(value + dt.timedelta(days=1) if end else value)
    raise DomainError("bad_field", "时间段格式不正确", field="until" if end else "since")


def _period(since: dt.datetime | dt.date, until: dt.datetime | dt.date) -> tuple[dt.datetime, ...]:
    start, stop = _moment(since, end=False), _moment(until, end=True)
    if start >= stop:
        raise DomainError("bad_field", "起始时间须早于截止时间", field="since")
    return start.astimezone(dt.UTC), stop.astimezone(dt.UTC)


# ---------------------------------------------------------------- attention (关注度)


async def _rank(
    since: dt.datetime | dt.date, until: dt.datetime | dt.date, topic_id: int | None
) -> list[dict[str, Any]]:
    start, stop = _period(since, until)
    qs = Ask.filter(
        asked_at__gte=start, asked_at__lt=stop, decision="answer", entry_id__isnull=False
    )
    if topic_id is not None:
        qs = qs.filter(entry__topic_id=topic_id)
    counts: dict[int, Counter] = {}
    rows = (
        await qs.annotate(n=Count("id"))
        .group_by("entry_id", "feedback")
        .values("entry_id", "feedback", "n")
    )
    for row in rows:
        counts.setdefault(row["entry_id"], Counter())[row["feedback"] or ""] += row["n"]
    entries = {e.id: e for e in await Entry.filter(id__in=list(counts)).select_related("topic")}
    ranked = []
    for entry_id, c in counts.items():
        e = entries.get(entry_id)
        if e is None:
            continue
        topic = e.topic if isinstance(e.topic, Topic) else None
        ranked.append(
            {
                "entry_id": entry_id,
                "question": (e.live or {}).get("question") or e.question,
                "status": e.status,
                "topic_id": topic.id if topic else None,
                "topic": topic.name if topic else None,
                "asks": sum(c.values()),
                "helpful": c["helpful"],
                "unhelpful": c["unhelpful"],
            }
        )
    ranked.sort(key=lambda r: (-r["asks"], -r["helpful"], r["entry_id"]))
    return ranked


async def rank_entries(
    actor: Actor,
    *,
    since: dt.datetime | dt.date,
    until: dt.datetime | dt.date,
    topic_id: int | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The most-asked entries of the period (asks the bot answered with them, including a
    suggestion the citizen chose), with the helpful / unhelpful verdicts given in the period.
    Each row: entry_id, question, status, topic_id, topic, asks, helpful, unhelpful. Without
    ``topic_id``: across all topics (``rank_by_topic`` groups them)."""
    require_staff(actor)
    return (await _rank(since, until, topic_id))[: max(1, limit)]


async def rank_by_topic(
    actor: Actor,
    *,
    since: dt.datetime | dt.date,
    until: dt.datetime | dt.date,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Attention grouped per topic: [{topic_id, topic, asks, helpful, unhelpful, entries}],
    the most-asked topic first, each with its ``limit`` most-asked entries."""
    require_staff(actor)
    groups: dict[int | None, dict[str, Any]] = {}
    for row in await _rank(since, until, None):
        g = groups.setdefault(
            row["topic_id"],
            {
                "topic_id": row["topic_id"],
                "topic": row["topic"] or "未分类",
                "asks": 0,
                "helpful": 0,
                "unhelpful": 0,
                "entries": [],
            },
        )
        for key in ("asks", "helpful", "unhelpful"):
            g[key] += row[key]
        if len(g["entries"]) < max(1, limit):
            g["entries"].append(row)
    return sorted(groups.values(), key=lambda g: (-g["asks"], g["topic"]))


# ---------------------------------------------------------------- unanswered questions


@dataclass
class UnansweredGroup:
    """Near-identical questions the bot could not answer (or whose answer did not help)."""

    text: str  # the representative question: the most frequent wording
    count: int
    ask_ids: list[int]
    first_asked_at: dt.datetime
    last_asked_at: dt.datetime
    unhelpful: int = 0  # of which answered, but the citizen said it did not help
    texts: list[str] = field(default_factory=list)  # other wordings, most frequent first
    # The closest existing entry: the live index's pick when it was asked, otherwise the entry
    # the bot answered or first suggested at the time.
    best_entry_id: int | None = None
    best_entry_question: str | None = None
    best_score: float | None = None
    # Whether the bot puts that entry before a citizen who asks the question now (an answer, a
    # suggestion or a 相关问题); None when not asked of the live index.
    best_offered: bool | None = None

    @property
    def prefill(self) -> int | None:
        """The entry number to offer staff for "add as a similar question": only an entry the
        bot itself would offer for the question, never merely the nearest (医保异地就医怎么备案
        pre-filled 门诊看病医保能报销多少 at 0.02, one click from a wrong similar question), and
        never one that scored 0 (without a score: the entry the bot offered at the time)."""
        if self.best_offered is False:
            return None
        if self.best_score is not None and not worth_offering(self.best_score):
            return None
        return self.best_entry_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "count": self.count,
            "ask_ids": self.ask_ids,
            "first_asked_at": self.first_asked_at.isoformat(),
            "last_asked_at": self.last_asked_at.isoformat(),
            "unhelpful": self.unhelpful,
            "texts": self.texts,
            "best_entry_id": self.best_entry_id,
            "best_entry_question": self.best_entry_question,
            "best_score": self.best_score,
        }


async def list_unanswered(
    actor: Actor,
    *,
    since: dt.datetime | dt.date,
    until: dt.datetime | dt.date,
    limit: int = 100,
    index: KnowledgeIndex | None = None,
) -> list[UnansweredGroup]:
    """Unresolved asks the bot could not answer or whose answer was unhelpful, near-identical
    questions in one row, the most asked first. Each row names the entry that comes closest
    (with ``index``: as the live index sees it now), so staff can add the question to it as a
    similar question."""
    require_staff(actor)
    start, stop = _period(since, until)
    asks = (
        await Ask.filter(asked_at__gte=start, asked_at__lt=stop, resolved__isnull=True)
        .filter(Q(decision="none") | Q(feedback="unhelpful"))
        .order_by("-asked_at", "-id")
        .limit(MAX_UNANSWERED_ASKS)
        .values("id", "text", "normalized", "asked_at", "feedback", "entry_id", "suggestions")
    )
    if not asks:
        return []
    # jieba and the comparisons are CPU work: off the event loop. The texts as asked (masked):
    # the stored normalised form may predate today's normalisation.
    clusters = await asyncio.to_thread(cluster_questions, [a["text"] for a in asks])
    groups = []
    for members in clusters:
        rows = [asks[i] for i in members]
        wordings = Counter(r["text"] for r in rows).most_common()
        times = [r["asked_at"] for r in rows]
        groups.append(
            UnansweredGroup(
                text=wordings[0][0],
                count=len(rows),
                ask_ids=sorted(r["id"] for r in rows),
                first_asked_at=min(times),
                last_asked_at=max(times),
                unhelpful=sum(r["feedback"] == "unhelpful" for r in rows),
                texts=[w for w, _ in wordings[1:10]],
                # Until the live index is asked: what the bot offered when they were asked.
                best_entry_id=_offered(rows),
            )
        )
    groups.sort(key=lambda g: (-g.count, -g.last_asked_at.timestamp()))
    groups = groups[: max(1, limit)]
    if index is not None:
        await _closest_entries(groups, index)
    else:
        await _name_entries(groups)
    return groups


def _offered(rows: list[dict[str, Any]]) -> int | None:
    offered = Counter(
        r["entry_id"] or next(iter(r["suggestions"] or []), None) for r in rows
    ).most_common()
    return next((entry_id for entry_id, _ in offered if entry_id), None)


async def _name_entries(groups: list[UnansweredGroup]) -> None:
    ids = {g.best_entry_id for g in groups if g.best_entry_id is not None}
    entries = {e.id: e for e in await Entry.filter(id__in=list(ids))}
    for g in groups:
        e = entries.get(g.best_entry_id) if g.best_entry_id is not None else None
        if e is None:
            g.best_entry_id = None
        else:
            g.best_entry_question = (e.live or {}).get("question") or e.question


async def _closest_entries(groups: list[UnansweredGroup], index: KnowledgeIndex) -> None:
    for g in groups:
        g.best_entry_id = None
        decision = await index.decide(g.text)
        # A candidate the matcher scores 0 (0.00 on the page) shares nothing with the question.
        scored = scores(decision)
        best = decision.entry or next(
            (
                c.entry
                for c in getattr(decision, "candidates", None) or []
                if worth_offering(c.score)
            ),
            None,
        )
        score = scored.get(str(best), float(decision.score or 0.0)) if best else None
        if best is None or not worth_offering(score):
            continue
        g.best_entry_id = int(best)
        g.best_score = score
        g.best_offered = str(best) in offered(decision)
    await _name_entries(groups)
    for g in groups:
        if g.best_entry_id is None:
            g.best_score = None


# ---------------------------------------------------------------- resolving them


def _ask_ids(ask_ids: Any) -> list[int]:
    if not isinstance(ask_ids, list | tuple) or not ask_ids:
        raise DomainError("bad_field", "请选择要处理的群众提问", field="ask_ids")
    try:
        ids = sorted({int(i) for i in ask_ids})
    except (TypeError, ValueError):
        raise DomainError("bad_field", "提问编号须为整数", field="ask_ids") from None
    if len(ids) > MAX_ASK_IDS:
        raise DomainError("bad_field", f"一次最多处理{MAX_ASK_IDS}条提问", field="ask_ids")
    return ids


async def _open_asks(ask_ids: Any) -> list[Ask]:
    ids = _ask_ids(ask_ids)
    asks = list(await Ask.filter(id__in=ids).order_by("id"))
    if len(asks) != len(ids):
        raise NotFound("提问记录")
    done = [a.id for a in asks if a.resolved]
    if done:
        raise Conflict(
            "already_resolved",
            f"有 {len(done)} 条提问已处理过，请刷新后重试",
            ask_ids=done,
        )
    return asks


def _representative(asks: list[Ask]) -> str:
    return Counter(a.text for a in asks if a.text.strip()).most_common(1)[0][0].strip()


async def _resolve(asks: list[Ask], how: str, entry_id: int | None) -> None:
    moved = await Ask.filter(id__in=[a.id for a in asks], resolved__isnull=True).update(
        resolved=how, resolved_entry_id=entry_id
    )
    if moved != len(asks):
        raise Conflict("already_resolved", "有提问已被他人处理，请刷新后重试")


async def add_asks_to_entry(
    actor: Actor,
    ask_ids: list[int],
    entry_id: Any,
    *,
    question: str | None = None,
    clock: Clock,
    redis: aioredis.Redis | None,
) -> Entry:
    """Add the asks' question (``question``, or their most frequent wording) to the entry's
    similar questions. This is an edit like any other, submitted for review at once (an entry
    with an answer): the reviewer's publishing makes it answer; the published version keeps
    answering meanwhile. An entry without an answer stays a draft for its editor to finish."""
    entry = await load_entry(entry_id)
    check_may_write(actor, entry)
    if entry.status == "retired":
        raise Conflict("bad_status", "已停用的条目不能加入相似问法，请先恢复")
    asks = await _open_asks(ask_ids)
    text = (question or "").strip() or _representative(asks)
    if len(text) > MAX_QUESTION:
        raise DomainError("bad_field", f"相似问法不能超过{MAX_QUESTION}个字", field="question")
    similar = clean_similar([*entry.similar, text], entry.question)
    now = clock.now()
    before = audit_view(entry)
    async with in_transaction():
        if similar == list(entry.similar):  # already there: nothing to review, just resolved
            fresh = entry
        else:
            fresh = await apply_edit(
                actor,
                entry,
                {"similar": similar},
                now=now,
                action="add_similar",
                note=f"来自 {len(asks)} 条群众提问",
            )
        await _resolve(asks, "added", entry.id)
        await record_audit(
            actor,
            "kb.asks.add",
            clock=clock,
            object_type="kb_entry",
            object_id=entry.id,
            summary=f"将群众提问「{text}」（{len(asks)} 条）加为条目「{entry.question}」的相似问法",
            before=before,
            after={**audit_view(fresh), "ask_ids": [a.id for a in asks]},
        )
    if fresh.status == "draft" and fresh.answer.strip():
        fresh = await submit_entry(actor, fresh.id, clock=clock, redis=redis)
    return fresh


async def dismiss_asks(actor: Actor, ask_ids: list[int], *, clock: Clock) -> int:
    """Mark asks as dealt with, without an entry (no real question, or out of scope)."""
    require_staff(actor)
    if not actor.has(*CURATOR_ROLES):
        raise Forbidden("只有编辑、审核员或领导可以处理群众提问")
    asks = await _open_asks(ask_ids)
    async with in_transaction():
        await _resolve(asks, "dismissed", None)
        await record_audit(
            actor,
            "kb.asks.dismiss",
            clock=clock,
            object_type="kb_ask",
            object_id=asks[0].id,
            summary=f"忽略 {len(asks)} 条未解答的群众提问",
            after={"ask_ids": [a.id for a in asks]},
        )
    return len(asks)


async def new_entry_from_asks(
    actor: Actor,
    ask_ids: list[int],
    data: dict[str, Any],
    *,
    clock: Clock,
    redis: aioredis.Redis | None,
) -> Entry:
    """A new draft answering the asks: the question defaults to their most frequent wording."""
    asks = await _open_asks(ask_ids)
    data = dict(data or {})
    if not str(data.get("question") or "").strip():
        data["question"] = _representative(asks)
    async with in_transaction():
        entry = await create_entry(actor, data, clock=clock, redis=redis)
        await _resolve(asks, "added", entry.id)
        await record_audit(
            actor,
            "kb.asks.new_entry",
            clock=clock,
            object_type="kb_entry",
            object_id=entry.id,
            summary=f"由 {len(asks)} 条群众提问新建条目「{entry.question}」",
            after={"ask_ids": [a.id for a in asks]},
        )
    return entry


def ask_id_list(value: Any) -> list[int]:
    """Ask ids from a request: a list, or "1,2,3"."""
    if isinstance(value, str):
        value = [p for p in value.replace("，", ",").split(",") if p.strip()]
    return _ask_ids(value)
