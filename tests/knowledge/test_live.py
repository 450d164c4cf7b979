"""The live index: what reviewers publish is answered by every process within a second, what
they retire is not, and losing Redis costs a rebuild, never an answer (000 §27)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.errors import DomainError, Unauthenticated
from knowledge import attention, live, synonyms
from knowledge.live import CHANGES_KEY, VERSION_KEY, KnowledgeIndex
from knowledge.models import Entry
from org.access import Actor

# ---------------------------------------------------------------- with the real matcher


def top(decision) -> str | None:
    """The entry the matcher ranks first. Whether it answers outright or suggests depends on the
    matcher's thresholds; what the index owes is that the entry is there, and first."""
    return decision.candidates[0].entry if decision.candidates else None


async def until(index: KnowledgeIndex, text: str, check, seconds: float = 1.0):
    """Ask ``index`` until ``check(decision)`` holds or ``seconds`` passed; the last decision and
    how long it took."""
    start = time.monotonic()
    while True:
        decision = await index.decide(text)
        took = time.monotonic() - start
        if check(decision) or took > seconds:
            return decision, took
        await asyncio.sleep(0.02)


async def test_a_publication_through_one_process_is_answered_by_another_within_a_second(
    kb, actors, any_redis, clock
):
    kb.redis = any_redis
    first, second = KnowledgeIndex(any_redis), KnowledgeIndex(any_redis)
    other = await kb.published(question="社保卡怎么申领", answer="到合作银行网点申领。")
    await first.rebuild()
    await second.rebuild()
    assert top(await second.decide("社保卡怎么申领")) == str(other.id)
    assert top(await second.decide("怎么办理居住证")) != "怎么办理居住证"

    entry = await kb.published()  # announced through Redis after the commit
    for index in (first, second):
        decision, took = await until(index, "怎么办理居住证", lambda d: top(d) == str(entry.id))
        assert top(decision) == str(entry.id) and took < 1.0
        assert decision.decision in ("answer", "suggest")
        assert index.rebuilds == 1  # applied incrementally

    await kb.retire(entry)

    def gone(d) -> bool:
        return str(entry.id) not in [c.entry for c in d.candidates] + list(d.suggestions)

    decision, took = await until(second, "怎么办理居住证", gone)
    assert gone(decision) and took < 1.0 and decision.entry != str(entry.id)


async def test_the_live_snapshot_answers_while_an_edit_waits_for_review(kb, redis):
    index = KnowledgeIndex(redis, check_interval=0)
    entry = await kb.published()
    await kb.edit(entry, question="居住证过期了怎么续签", similar="")
    decision = await index.decide("怎么办理居住证")
    assert top(decision) == str(entry.id)
    assert decision.candidates[0].question == "怎么办理居住证"
    assert index.matcher.raw[str(entry.id)][0][0] == "怎么办理居住证"


async def test_try_it_shows_the_decision_and_its_candidates(kb, actors, redis):
    entry = await kb.published()
    index = KnowledgeIndex(redis)
    result = await live.try_question(actors["supervisor"], "怎么办理居住证？", index=index)
    assert result["decision"] in ("answer", "suggest", "none")
    assert result["text"] == "怎么办理居住证？" and result["decision_label"]
    first = result["candidates"][0]
    assert first["entry_id"] == entry.id and first["question"] == "怎么办理居住证"
    assert first["entry_question"] == "怎么办理居住证" and first["entry_status"] == "published"
    assert isinstance(first["why"], dict) and first["score"] > 0
    with pytest.raises(DomainError):
        await live.try_question(actors["editor"], "", index=index)
    with pytest.raises(Unauthenticated):
        await live.try_question(Actor.anonymous(), "居住证", index=index)


async def test_unanswered_rows_name_the_closest_entry(kb, actors, redis, clock):
    entry = await kb.published()
    await attention.record_ask(
        text="外地人在本市如何申领居住证件",
        channel="web",
        account_id=None,
        decision="none",
        entry_id=None,
        score=0.0,
        suggestions=[],
        clock=clock,
    )
    [group] = await attention.list_unanswered(
        actors["editor"],
        since=clock.today(),
        until=clock.today(),
        index=KnowledgeIndex(redis),
    )
    assert group.best_entry_id == entry.id and group.best_entry_question == "怎么办理居住证"


# ---------------------------------------------------------------- the propagation itself


@dataclass
class Said:
    decision: str
    entry: str | None
    suggestions: list[str] = field(default_factory=list)
    score: float = 0.0
    candidates: list = field(default_factory=list)


class ExactMatcher:
    """A stand-in that answers only a question it holds word for word: enough to watch what the
    index loads, without depending on how well the real matcher matches."""

    def __init__(self) -> None:
        self.raw: dict[str, tuple[list[str], str]] = {}
        self.synonyms: list[list[str]] = []

    def add(self, entry_id, questions, answer=""):
        self.raw[entry_id] = (list(questions), answer)

    def remove(self, entry_id):
        self.raw.pop(entry_id, None)

    def set_synonyms(self, groups):
        self.synonyms = [list(g) for g in groups]

    def decide(self, text):
        for entry_id, (questions, _) in self.raw.items():
            if text in questions:
                return Said("answer", entry_id, [], 1.0)
        return Said("none", None)


def exact_index(redis, **kw) -> KnowledgeIndex:
    return KnowledgeIndex(redis, matcher_factory=ExactMatcher, **kw)


async def test_changes_are_applied_entry_by_entry(kb, any_redis):
    kb.redis = any_redis
    index = exact_index(any_redis, check_interval=0)
    await index.rebuild()
    entry = await kb.published()
    assert (await index.decide("居住证怎么办")).entry == str(entry.id)
    assert index.version == 1 and index.rebuilds == 1
    await kb.edit(entry, answer="新答案")  # a draft: the live snapshot and the index stay
    await kb.review(await kb.submit(entry))
    await index.ensure_fresh()
    assert index.matcher.raw[str(entry.id)][1] == "新答案" and index.rebuilds == 1
    await kb.retire(entry)
    assert (await index.decide("居住证怎么办")).decision == "none"
    assert index.version == 3 and index.rebuilds == 1


async def test_redis_is_looked_at_only_every_check_interval(kb, any_redis):
    kb.redis = any_redis
    index = exact_index(any_redis, check_interval=60)
    await index.rebuild()
    entry = await kb.published()
    assert (await index.decide("怎么办理居住证")).decision == "none"  # checked a moment ago
    await index.ensure_fresh(force=True)
    assert (await index.decide("怎么办理居住证")).entry == str(entry.id)


async def test_lost_redis_keys_mean_a_full_rebuild(kb, any_redis):
    kb.redis = any_redis
    index = exact_index(any_redis, check_interval=0)
    entry = await kb.published()
    await index.rebuild()
    await any_redis.flushdb()
    # Published while nobody announced it (Redis was down): found by the rebuild.
    other = await kb.published(question="社保卡怎么申领")
    await any_redis.flushdb()
    await kb.published(question="公积金怎么提取")  # a new epoch, counting from 1 again
    assert (await index.decide("社保卡怎么申领")).entry == str(other.id)
    assert (await index.decide("怎么办理居住证")).entry == str(entry.id)
    assert index.rebuilds == 2 and index.version == 1


async def test_falling_behind_the_trimmed_log_means_a_full_rebuild(kb, any_redis, monkeypatch):
    monkeypatch.setattr(live, "KEEP_CHANGES", 2)
    kb.redis = any_redis
    index = exact_index(any_redis, check_interval=0)
    await index.rebuild()
    entries = [await kb.published(question=f"问题{i}") for i in range(4)]
    assert await any_redis.zcard(CHANGES_KEY) == 2
    assert (await index.decide("问题0")).entry == str(entries[0].id)
    assert index.rebuilds == 2 and index.version == 4


async def test_an_announcement_that_never_lands_is_waited_for_then_rebuilt(kb, any_redis):
    kb.redis = any_redis
    index = exact_index(any_redis, check_interval=0, gap_grace=0.2)
    await index.rebuild()
    entry = await kb.published()
    await any_redis.incr(VERSION_KEY)  # a process died between INCR and ZADD
    await live.announce_entry(any_redis, entry.id)
    await index.ensure_fresh()
    assert index.version == 1 and index.rebuilds == 1  # waiting for version 2 to appear
    await asyncio.sleep(0.25)
    await index.ensure_fresh()
    assert index.version == 3 and index.rebuilds == 2


async def test_synonym_changes_rebuild_with_the_new_groups(kb, actors, any_redis, clock):
    index = exact_index(any_redis, check_interval=0)
    await index.rebuild()
    await synonyms.save_synonym_group(
        actors["editor"], ["社保", "社会保险"], clock=clock, redis=any_redis
    )
    await index.ensure_fresh()
    assert index.matcher.synonyms == [["社保", "社会保险"]]


async def test_each_process_keeps_one_index(deps):
    first = live.knowledge_index(deps)
    assert live.knowledge_index(deps) is first
    assert deps.extensions["knowledge_index"] is first


async def test_a_build_does_not_hold_up_the_event_loop(kb, redis):
    for i in range(3):
        await kb.published(question=f"问题{i}")

    class SlowMatcher(ExactMatcher):
        def add(self, entry_id, questions, answer=""):
            time.sleep(0.1)
            super().add(entry_id, questions, answer)

    index = KnowledgeIndex(redis, matcher_factory=SlowMatcher)
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    await index.rebuild()
    ticker.cancel()
    assert ticks >= 10  # the loop kept running during the 0.3 s build
    assert await Entry.filter(live__isnull=False).count() == len(index.matcher.raw) == 3


MATCH_DEV_KB = Path(__file__).resolve().parents[3] / "shared" / "data" / "match-dev" / "kb.jsonl"


@pytest.mark.skipif(not MATCH_DEV_KB.exists(), reason="needs ../shared/data")
async def test_a_rebuild_answers_from_the_old_index_without_stalling_the_loop(
    kb, redis, monkeypatch
):
    """Redis lost its keys: the index is rebuilt over thousands of entries with the real matcher,
    and meanwhile citizens are answered from the old one and the event loop keeps running."""
    entry = await kb.published(question="怎么办理居住证")
    index = KnowledgeIndex(redis)
    await index.rebuild()
    old = index.matcher
    assert top(await index.decide("居住证怎么办理")) == str(entry.id)

    published = await live._live_entries()
    with MATCH_DEV_KB.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line, _ in zip(f, range(6000), strict=False)]
    many = published + [
        (10**6 + i, {"question": r["question"], "answer": r.get("answer") or ""})
        for i, r in enumerate(rows)
    ]

    async def live_entries(ids=None):
        return many if ids is None else published

    monkeypatch.setattr(live, "_live_entries", live_entries)
    monkeypatch.setattr(live, "DECISION_CACHE", 0)  # every question goes to the matcher
    gaps: list[float] = []
    answers: list[str | None] = []

    async def tick():
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async def ask():
        while True:
            decision = await index.decide("居住证怎么办理")
            if index.matcher is old:
                answers.append(top(decision))
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(tick()), asyncio.create_task(ask())]
    started = time.perf_counter()
    await index.rebuild()
    took = time.perf_counter() - started
    for task in tasks:
        task.cancel()
    assert index.matcher is not old and len(index.matcher) == len(many)
    assert top(await index.decide("居住证怎么办理")) == str(entry.id)
    # answered from the old index all along, and the loop never stood still for long
    assert len(answers) >= 5 and set(answers) == {str(entry.id)}
    assert max(gaps) < 0.25, f"the loop stalled {max(gaps):.2f} s during a {took:.1f} s rebuild"


@pytest.mark.parametrize("what", ["e12", "syn", "all"])
async def test_announcements_are_logged_under_their_version(any_redis, what):
    announce = {
        "e12": lambda: live.announce_entry(any_redis, 12),
        "syn": lambda: live.announce_synonyms(any_redis),
        "all": lambda: live.announce_all(any_redis),
    }[what]
    assert await announce() == 1
    assert await announce() == 2
    assert await any_redis.zrange(CHANGES_KEY, 0, -1, withscores=True) == [
        (f"1:{what}", 1.0),
        (f"2:{what}", 2.0),
    ]
