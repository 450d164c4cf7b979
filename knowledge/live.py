"""The live index: every process answers from the published knowledge base, and an edit reaches
all of them within a second (000 §27 "updated dynamically").

Each process holds one ``knowledge.matcher.Matcher`` built from the entries whose ``live`` snapshot
is set, and the synonym groups. Changes are announced through Redis after their transaction
commits: ``INCR kb:version`` and the change recorded under that version in the sorted set
``kb:changes`` (the last ``KEEP_CHANGES``). An index compares ``kb:version`` with its own at most
every ``check_interval`` seconds and reloads just the changed entries from the database; it
rebuilds in full when it has fallen behind the trimmed log or Redis lost its keys (a new
``kb:epoch``, or the version went backwards). The database stays the truth: losing Redis costs a
rebuild, never an answer.

The matcher model adopted for this office (knowledge/tuning.py) is announced the same way: each
index swaps it into its matcher, and rebuilds only when its retrieval settings differ.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from infra.errors import DomainError, Unauthenticated
from knowledge import offers
from knowledge.focus import (
    as_follow_up,
    focus,
    leans_on,
    may_follow,
    names_no_matter,
    with_aspect,
)
from knowledge.models import STATUSES, Entry, MatcherModel, SynonymGroup
from org.access import Actor

log = logging.getLogger(__name__)

VERSION_KEY = "kb:version"
CHANGES_KEY = "kb:changes"
EPOCH_KEY = "kb:epoch"
KEEP_CHANGES = 10_000
SYNONYMS = "syn"
EVERYTHING = "all"
MODEL = "model"
# More changed entries than this at once are cheaper to rebuild than to apply one by one.
MAX_INCREMENTAL = 500
DECISION_CACHE = 4096
LOAD_PAGE = 1000
DECISION_LABELS = {"answer": "直接回答", "suggest": "给出建议", "none": "无法回答"}

_REDIS_ERRORS = (RedisError, OSError)


# ---------------------------------------------------------------- announcing changes


async def _announce(redis: aioredis.Redis, what: str) -> int | None:
    try:
        # The epoch tells readers whether the version they hold is from this Redis' memory.
        await redis.set(EPOCH_KEY, uuid.uuid4().hex, nx=True)
        version = int(await redis.incr(VERSION_KEY))
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zadd(CHANGES_KEY, {f"{version}:{what}": version})
            pipe.zremrangebyrank(CHANGES_KEY, 0, -KEEP_CHANGES - 1)
            await pipe.execute()
        return version
    except _REDIS_ERRORS:
        # The change is committed; indexes see it at their next full rebuild.
        log.warning("could not announce knowledge change %s", what, exc_info=True)
        return None


async def announce_entry(redis: aioredis.Redis, entry_id: int | str) -> int | None:
    """Tell every process that this entry's ``live`` snapshot changed (or went)."""
    return await _announce(redis, f"e{int(entry_id)}")


async def announce_synonyms(redis: aioredis.Redis) -> int | None:
    return await _announce(redis, SYNONYMS)


async def announce_all(redis: aioredis.Redis) -> int | None:
    """Many entries changed at once (an import): every process rebuilds."""
    return await _announce(redis, EVERYTHING)


async def announce_model(redis: aioredis.Redis) -> int | None:
    """Another matcher model was adopted (or reverted): every process swaps it in."""
    return await _announce(redis, MODEL)


# ---------------------------------------------------------------- loading from the database


def _questions(live: dict[str, Any]) -> list[str]:
    return [live.get("question") or "", *(live.get("similar") or [])]


def _entries(rows: list[tuple[int, dict | None]]) -> list[tuple[str, list[str], str]]:
    return [(str(i), _questions(live), live.get("answer") or "") for i, live in rows if live]


async def _live_entries(ids: Iterable[int] | None = None) -> list[tuple[int, dict | None]]:
    """(id, live) of the given entries, or of every live entry: read in pages, so that decoding
    ten thousand snapshots does not hold the event loop in one go."""
    if ids is not None:
        return list(await Entry.filter(id__in=list(ids)).values_list("id", "live"))
    rows: list[tuple[int, dict | None]] = []
    after = 0
    while True:
        page = list(
            await Entry.filter(id__gt=after, live__isnull=False)
            .order_by("id")
            .limit(LOAD_PAGE)
            .values_list("id", "live")
        )
        rows.extend(page)
        if len(page) < LOAD_PAGE:
            return rows
        after = page[-1][0]


async def _synonym_groups() -> list[list[str]]:
    return [
        list(w) for w in await SynonymGroup.all().order_by("id").values_list("words", flat=True)
    ]


async def published_corpus() -> tuple[list[tuple[str, list[str], str]], list[list[str]]]:
    """What every index is built from: (id, questions, answer) of each live entry, standard
    question first, and the synonym groups."""
    return _entries(await _live_entries()), await _synonym_groups()


async def running_model() -> tuple[int | None, Any]:
    """(id, model) of the adopted matcher model, or (None, the shipped model) without one."""
    from knowledge.matcher import Model, load_model

    row = await MatcherModel.filter(in_use=True).first().values_list("id", "params")
    if row:
        try:
            return row[0], Model.from_dict(row[1])
        except (TypeError, ValueError):
            # Fitted for other features (an upgrade since): answer with the shipped model.
            log.error("matcher model #%s cannot be used, running the shipped one", row[0])
    return None, load_model()


def _empty_matcher(model: Any = None) -> Any:
    from knowledge.matcher import Matcher

    return Matcher.build([], model)


def _build(
    factory: Callable[[], Any] | None,
    model: Any,
    entries: Sequence[tuple[str, Sequence[str], str]],
    groups: list[list[str]],
) -> Any:
    """A matcher over ``entries`` with ``groups`` as synonyms. Synonyms first: setting them on a
    full matcher re-analyses every question."""
    matcher = factory() if factory is not None else _empty_matcher(model)
    if groups:
        matcher.set_synonyms(groups)
    add_many = getattr(matcher, "add_many", None)
    if add_many is not None:
        add_many(entries)
    else:
        for entry_id, questions, answer in entries:
            matcher.add(entry_id, questions, answer)
    return matcher


# ---------------------------------------------------------------- the index


class KnowledgeIndex:
    """One process's matcher over the published entries, kept in step through Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        check_interval: float = 0.25,
        matcher_factory: Callable[[], Any] | None = None,
        gap_grace: float = 2.0,
    ) -> None:
        self._redis = redis
        self.check_interval = check_interval
        # None: the real matcher, with the adopted model.
        self._factory = matcher_factory
        # A version whose log entry has not appeared yet is an announcement in flight; after
        # this long it was lost (a process died between INCR and ZADD) and we rebuild.
        self._gap_grace = gap_grace
        self._matcher: Any = None
        self._version = 0
        self._epoch: str | None = None
        self._checked = -math.inf
        self._gap_since: float | None = None
        self._lock = asyncio.Lock()
        self.rebuilds = 0
        # The adopted matcher model answering (its MatcherModel id); None: the shipped model.
        self.model_id: int | None = None
        # Each live entry's snapshot, so the bot shows an answer without a database read.
        self._live: dict[str, dict[str, Any]] = {}
        # Citizens ask the same things over and over: decisions by text, dropped on any change.
        self._decisions: OrderedDict[str | tuple[str, str], Any] = OrderedDict()

    @property
    def version(self) -> int:
        """The ``kb:version`` this index has caught up with."""
        return self._version

    @property
    def matcher(self) -> Any:
        return self._matcher

    async def decide(self, text: str, about: str | None = None) -> Any:
        """The matcher's decision on ``text``; with ``about`` (what was asked just before in the
        conversation), as a follow-up to it when it may be one (``Matcher.follow_up``)."""
        await self.ensure_fresh()
        decision = self._remembered(text, lambda: self._matcher.decide(text))
        if about and may_follow(text):  # short and in words; follow_up reads the rest
            alone = decision
            decision = self._remembered(
                (text, about), lambda: self._matcher.follow_up(text, about, alone)
            )
        return decision

    async def decide_turn(
        self, text: str, about: str | None = None, aspect: str | None = None
    ) -> tuple[Any, str | None]:
        """The decision on a citizen's message in a conversation, and the text it was read as
        when not as sent: after an ``aspect`` asked alone (要带什么材料, which the bot answered
        by asking which matter), a reply naming the matter is read with it (社保卡补办 as
        社保卡补办要带什么材料); a reply asking something of its own, or finding nothing so
        joined, is decided as sent, with ``about`` (``decide``)."""
        joined = with_aspect(text, aspect) if aspect else None
        decision = await self.decide(joined) if joined else None
        if decision is None or decision.decision == "none":
            joined, decision = None, await self.decide(text, about)
        return decision, joined

    def matter_after(self, decision: Any, text: str, leaned: str | None = None) -> str | None:
        """What the next short message may ask about (要带什么材料, 那新生儿呢) after ``text``
        got ``decision``: the question of the entry answered; else what ``text`` leaned on
        (``leaned``: 要多久 after 社保卡丢了怎么补办 still asks about the card); else the
        citizen's own question, when the knowledge base had something for it; else nothing."""
        if decision.decision == "answer" and (live := self.live(decision.entry)):
            return live["question"]
        if leaned is not None:
            return leaned
        if decision.decision == "suggest" or decision.related:
            return focus(text)
        return None

    def _remembered(self, key: str | tuple[str, str], decide: Callable[[], Any]) -> Any:
        cached = self._decisions.get(key)
        if cached is not None:
            self._decisions.move_to_end(key)
            return cached
        decision = self._decisions[key] = decide()
        if len(self._decisions) > DECISION_CACHE:
            self._decisions.popitem(last=False)
        return decision

    def live(self, entry_id: str | int) -> dict[str, Any] | None:
        """The published snapshot the index answers with: {question, similar, answer}."""
        return self._live.get(str(entry_id))

    async def ensure_fresh(self, *, force: bool = False) -> None:
        """Build on first use; afterwards look at Redis at most every ``check_interval``
        seconds (``force``: now). While another task refreshes, answer with what we have."""
        if self._matcher is None:
            async with self._lock:
                if self._matcher is None:
                    await self._rebuild_locked()
            return
        if not force and (
            time.monotonic() - self._checked < self.check_interval or self._lock.locked()
        ):
            return
        async with self._lock:
            self._checked = time.monotonic()
            try:
                await self._catch_up()
            except _REDIS_ERRORS:
                log.warning("knowledge index: Redis unavailable, answering from the last build")

    async def rebuild(self) -> None:
        async with self._lock:
            await self._rebuild_locked()

    async def _remote(self) -> tuple[int, str | None]:
        version, epoch = await self._redis.mget(VERSION_KEY, EPOCH_KEY)
        return int(version or 0), epoch

    async def _rebuild_locked(self) -> None:
        try:
            # Read before the database: what changes meanwhile is applied again next check.
            version, epoch = await self._remote()
        except _REDIS_ERRORS:
            log.warning("knowledge index: Redis unavailable, building without it")
            version, epoch = 0, None
        rows = await _live_entries()
        groups = await _synonym_groups()
        model_id, model = await running_model()
        # Building for ten thousand entries takes a while: not on the event loop.
        matcher = await asyncio.to_thread(_build, self._factory, model, _entries(rows), groups)
        self._matcher = matcher
        self.model_id = model_id
        self._live = {str(i): live for i, live in rows if live}
        self._decisions.clear()
        # The index is a few million long-lived objects: keep them out of the collector's full
        # passes, which otherwise stall every request now and then (gc.freeze, Python 3.7+).
        # Unfreezing first lets the previous build's objects be collected.
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._version, self._epoch = version, epoch
        self._gap_since = None
        self._checked = time.monotonic()
        self.rebuilds += 1

    async def _catch_up(self) -> None:
        remote, epoch = await self._remote()
        if self._epoch is None and self._version == 0:
            # Built before anything was announced: the log, from version 1, is all news.
            self._epoch = epoch
        if epoch != self._epoch or remote < self._version:
            await self._rebuild_locked()  # Redis lost its keys, or this is another Redis
            return
        if remote == self._version:
            self._gap_since = None
            return
        members = await self._redis.zrangebyscore(
            CHANGES_KEY, self._version + 1, remote, withscores=True
        )
        log_by_version = {int(score): member.split(":", 1)[1] for member, score in members}
        reached, changes = self._version, []
        while reached + 1 in log_by_version:
            reached += 1
            changes.append(log_by_version[reached])
        if reached < remote:
            oldest = await self._redis.zrange(CHANGES_KEY, 0, 0, withscores=True)
            trimmed = bool(oldest) and int(oldest[0][1]) > reached + 1
            now = time.monotonic()
            if self._gap_since is None:
                self._gap_since = now
            if trimmed or now - self._gap_since > self._gap_grace:
                await self._rebuild_locked()
                return
        else:
            self._gap_since = None
        if not changes:
            return
        if EVERYTHING in changes or SYNONYMS in changes:
            await self._rebuild_locked()
            return
        if MODEL in changes and not await self._swap_model():
            await self._rebuild_locked()
            return
        ids = {int(c[1:]) for c in changes if c.startswith("e") and c[1:].isdigit()}
        if len(ids) > MAX_INCREMENTAL:
            await self._rebuild_locked()
            return
        rows = dict(await _live_entries(ids))
        for entry_id in ids:
            live = rows.get(entry_id)
            if live:
                self._matcher.add(str(entry_id), _questions(live), live.get("answer") or "")
                self._live[str(entry_id)] = live
            else:
                self._matcher.remove(str(entry_id))
                self._live.pop(str(entry_id), None)
        self._decisions.clear()
        self._version = reached

    async def _swap_model(self) -> bool:
        """Put the adopted model into the running matcher; False when its retrieval settings
        differ from the running model's, which means rebuilding the index."""
        model_id, model = await running_model()
        current = getattr(self._matcher, "model", None)
        if self._factory is not None or current is None:
            return False
        if (current.avg_len, current.k_slots) != (model.avg_len, model.k_slots):
            return False
        self._matcher.model = model
        self.model_id = model_id
        return True


def knowledge_index(deps: Any) -> KnowledgeIndex:
    """This process's index, kept in ``deps.extensions``."""
    index = deps.extensions.get("knowledge_index")
    if index is None:
        index = KnowledgeIndex(deps.redis)
        deps.extensions["knowledge_index"] = index
    return index


# ---------------------------------------------------------------- trying a question


async def try_question(
    actor: Actor, text: str, *, index: KnowledgeIndex, after: str | None = None
) -> dict[str, Any]:
    """What the bot would do with ``text``, and why: for the console's "try it" box. With
    ``after``, the citizen's message before it, as the conversation reads it: a follow-up
    (要带什么材料 after 社保卡丢了怎么补办) leans on what ``after`` found, and a matter named in
    reply to an aspect asked alone is read with that aspect (bot/engine.py)."""
    if actor.staff_id is None and "system" not in actor.roles:
        raise Unauthenticated()
    text = (text or "").strip() if isinstance(text, str) else ""
    after = (after or "").strip() if isinstance(after, str) else ""
    if not text:
        raise DomainError("missing_field", "请输入要试问的问题", field="text")
    if len(text) > 500:
        raise DomainError("bad_field", "问题不能超过500个字", field="text")
    if len(after) > 500:
        raise DomainError("bad_field", "上一句不能超过500个字", field="after")
    await index.ensure_fresh(force=True)
    about = aspect = None
    if after:
        before = await index.decide(after)
        if before.decision == "none" and names_no_matter(after):
            aspect = after  # the bot asked which matter
        else:
            about = index.matter_after(before, after)
    decision, joined = await index.decide_turn(text, about, aspect)
    leaned = about if about and not joined and leans_on(text, about) else None
    # 要带什么材料 with nothing before it: the bot asks which matter, and logs nothing
    asks_matter = decision.decision == "none" and names_no_matter(text)
    candidates = list(getattr(decision, "candidates", None) or [])
    ids = {int(c.entry) for c in candidates}
    ids.update(int(s) for s in decision.suggestions or [])
    if decision.entry:
        ids.add(int(decision.entry))
    entries = {e.id: e for e in await Entry.filter(id__in=list(ids))}

    def brief(entry_id: Any) -> dict[str, Any] | None:
        if entry_id in (None, ""):
            return None
        e = entries.get(int(entry_id))
        return {
            "entry_id": int(entry_id),
            "question": e.question if e else None,
            "live_question": (e.live or {}).get("question") if e else None,
            "status": e.status if e else None,
            "status_label": STATUSES.get(e.status, e.status) if e else None,
        }

    return {
        "text": text,
        "after": after,
        # how the conversation read it: joined with the aspect, or leaning on what came before
        "read_as": joined or (as_follow_up(leaned, text) if leaned else None),
        "asks_matter": asks_matter,
        "decision": decision.decision,
        "decision_label": DECISION_LABELS.get(decision.decision, decision.decision),
        "score": float(decision.score or 0.0),
        "entry": brief(decision.entry),
        # what the bot would offer: never an entry scored 0 (knowledge.offers)
        "suggestions": [brief(s) for s in offers.suggestions(decision)],
        "related": [brief(s) for s in offers.related(decision)],
        "candidates": [
            {
                "entry_id": int(c.entry),
                "question": c.question,  # the question of the entry that matched
                "score": float(c.score),
                "why": dict(c.why or {}),
                "entry_question": (brief(c.entry) or {}).get("question"),
                "entry_status": (brief(c.entry) or {}).get("status"),
                "entry_status_label": (brief(c.entry) or {}).get("status_label"),
            }
            for c in candidates
        ],
    }
