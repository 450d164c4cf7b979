"""The question log and attention (关注度, 000 §27): masking, hits and verdicts, rankings per topic
and period, and the unanswered questions staff fold back into the knowledge base."""

from __future__ import annotations

import datetime as dt
import json
import types

import pytest

from infra.errors import Conflict, DomainError, Forbidden, NotFound
from knowledge import attention, topics
from knowledge.models import Ask, Entry, EntryVersion
from org.models import AuditRecord

UTC = dt.UTC


async def ask(clock, text, decision="none", entry=None, feedback=None, at=None) -> Ask:
    if at is not None:
        clock.set(at)
    a = await attention.record_ask(
        text=text,
        channel="wechat",
        account_id=None,
        decision=decision,
        entry_id=entry.id if entry is not None else None,
        score=0.9 if decision == "answer" else 0.1,
        suggestions=[],
        clock=clock,
    )
    if feedback is not None:
        await attention.record_feedback(a.id, helpful=feedback == "helpful", clock=clock)
    return a


# ---------------------------------------------------------------- the log


async def test_asks_are_stored_without_contact_details(kb_units, clock):
    a = await attention.record_ask(
        text="我叫张三，手机13812345678，身份证110105194912310021，居住证怎么办？",
        channel="telegram",
        account_id=7,
        decision="suggest",
        entry_id=None,
        score=0.42,
        suggestions=["3", 5, "x"],
        clock=clock,
    )
    stored = await Ask.get(id=a.id)
    for secret in ("张三", "13812345678", "110105194912310021"):
        assert secret not in stored.text and secret not in stored.normalized
    assert "居住证怎么办" in stored.text
    assert stored.asked_at == clock.now() and stored.channel == "telegram"
    assert stored.suggestions == [3, 5] and stored.score == pytest.approx(0.42)


async def test_an_answer_is_a_hit_and_a_verdict_counts_once(kb, clock):
    entry = await kb.published()
    a = await ask(clock, "居住证怎么办", "answer", entry)
    await ask(clock, "居住证怎么办理", "suggest", entry)  # a suggestion is not an answer
    assert (await Entry.get(id=entry.id)).hits == 1
    await attention.record_feedback(a.id, helpful=False, clock=clock)
    await attention.record_feedback(a.id, helpful=True, clock=clock)  # changes nothing
    fresh = await Entry.get(id=entry.id)
    assert (fresh.helpful, fresh.unhelpful) == (0, 1)
    assert (await Ask.get(id=a.id)).feedback == "unhelpful"
    with pytest.raises(NotFound):
        await attention.record_feedback(99999, helpful=True, clock=clock)


async def test_an_ask_naming_a_deleted_entry_is_still_logged(kb_units, clock):
    a = await attention.record_ask(
        text="问题",
        channel="web",
        account_id=None,
        decision="answer",
        entry_id="424242",
        score=1.0,
        suggestions=[],
        clock=clock,
    )
    assert (await Ask.get(id=a.id)).entry_id is None


async def test_the_bots_queued_log_is_written_once_even_when_a_batch_is_replayed(
    kb, clock, any_redis
):
    """The bot queues questions and verdicts in Redis; the worker's flush writes them. A flush
    that died after writing and before trimming replays its batch: nothing is written or counted
    twice."""
    entry = await kb.published()
    deps = types.SimpleNamespace(redis=any_redis)
    answered, event = attention.ask_event(
        text="居住证怎么办，我的电话13812345678",
        channel="wechat",
        account_id=None,
        decision="answer",
        entry_id=entry.id,
        score=0.9,
        suggestions=[],
        clock=clock,
    )
    _, other = attention.ask_event(
        text="公积金怎么提取",
        channel="web",
        account_id=None,
        decision="none",
        entry_id=None,
        score=0.1,
        suggestions=[],
        clock=clock,
    )
    verdict = attention.feedback_event(answered, helpful=True)
    await any_redis.rpush(attention.ASK_QUEUE, event, other, "not json", verdict)
    batch = [json.loads(e) for e in (event, other, verdict)]
    # The crashed flush: it wrote the batch, then died before trimming the queue.
    assert await attention.write_ask_events(batch) == 2
    assert await attention.flush_asks(deps, batch=2) == 0  # the replay, two batches of two
    assert await any_redis.llen(attention.ASK_QUEUE) == 0
    assert await Ask.all().count() == 2
    stored = await Ask.get(ref=answered)
    assert "13812345678" not in stored.text and stored.feedback == "helpful"
    fresh = await Entry.get(id=entry.id)
    assert (fresh.hits, fresh.helpful, fresh.unhelpful) == (1, 1, 0)


async def test_flush_writes_what_was_queued_since_the_last_flush(kb_units, clock, any_redis):
    deps = types.SimpleNamespace(redis=any_redis)
    assert await attention.flush_asks(deps) == 0
    for i in range(5):
        _, event = attention.ask_event(
            text=f"第{i}个问题",
            channel="web",
            account_id=None,
            decision="none",
            entry_id=None,
            score=0.0,
            suggestions=[],
            clock=clock,
        )
        await any_redis.rpush(attention.ASK_QUEUE, event)
    assert await attention.flush_asks(deps, batch=3) == 5
    texts = sorted(await Ask.all().values_list("text", flat=True))
    assert texts == [f"第{i}个问题" for i in range(5)]


# ---------------------------------------------------------------- rankings


@pytest.fixture
async def ranked(kb, actors, clock):
    """Two topics; asks in November (Beijing time) and one in October."""
    editor = actors["editor"]
    residence = await topics.create_topic(editor, "户籍", clock=clock)
    social = await topics.create_topic(editor, "社保", clock=clock)
    jzz = await kb.published(topic_id=residence.id)
    hk = await kb.published(question="户口怎么迁入", answer="到派出所办理。", topic_id=residence.id)
    sbk = await kb.published(question="社保卡怎么申领", answer="到银行网点。", topic_id=social.id)
    nov = dt.datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
    for i in range(3):
        await ask(clock, "居住证怎么办", "answer", jzz, "helpful" if i == 0 else None, at=nov)
    await ask(clock, "户口迁入", "answer", hk, "unhelpful", at=nov)
    await ask(clock, "社保卡", "answer", sbk, at=nov)
    await ask(clock, "社保卡申领", "answer", sbk, at=nov)
    await ask(clock, "户口迁入", "suggest", hk, at=nov)  # not answered: does not count
    # 2026-10-31 23:30 in Beijing is still October there.
    await ask(clock, "户口迁入", "answer", hk, at=dt.datetime(2026, 10, 31, 15, 30, tzinfo=UTC))
    # 2026-11-01 00:30 in Beijing is November.
    await ask(clock, "户口迁入", "answer", hk, at=dt.datetime(2026, 10, 31, 16, 30, tzinfo=UTC))
    return {"residence": residence, "social": social, "jzz": jzz, "hk": hk, "sbk": sbk}


NOVEMBER = {"since": dt.date(2026, 11, 1), "until": dt.date(2026, 11, 30)}


async def test_rankings_count_answers_per_period_and_topic(ranked, actors):
    a = actors["supervisor"]  # attention is everyone's to read
    rows = await attention.rank_entries(a, **NOVEMBER)
    assert [(r["entry_id"], r["asks"], r["helpful"], r["unhelpful"]) for r in rows] == [
        (ranked["jzz"].id, 3, 1, 0),
        (ranked["hk"].id, 2, 0, 1),
        (ranked["sbk"].id, 2, 0, 0),
    ]
    assert rows[0]["topic"] == "户籍" and rows[0]["question"] == "怎么办理居住证"
    only = await attention.rank_entries(a, **NOVEMBER, topic_id=ranked["social"].id)
    assert [r["entry_id"] for r in only] == [ranked["sbk"].id]
    assert len(await attention.rank_entries(a, **NOVEMBER, limit=1)) == 1
    october = await attention.rank_entries(
        a, since=dt.date(2026, 10, 1), until=dt.date(2026, 10, 31)
    )
    assert [(r["entry_id"], r["asks"]) for r in october] == [(ranked["hk"].id, 1)]


async def test_rankings_grouped_per_topic(ranked, actors):
    groups = await attention.rank_by_topic(actors["editor"], **NOVEMBER, limit=1)
    assert [(g["topic"], g["asks"], g["helpful"], g["unhelpful"]) for g in groups] == [
        ("户籍", 5, 1, 1),
        ("社保", 2, 0, 0),
    ]
    assert [r["entry_id"] for r in groups[0]["entries"]] == [ranked["jzz"].id]


async def test_a_period_must_run_forwards(kb_units, actors):
    with pytest.raises(DomainError):
        await attention.rank_entries(
            actors["editor"], since=dt.date(2026, 11, 2), until=dt.date(2026, 11, 1)
        )


# ---------------------------------------------------------------- unanswered questions


@pytest.fixture
async def unanswered(kb, clock):
    entry = await kb.published(question="社保卡怎么申领", answer="到银行网点。")
    day = dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    asks = {
        "jzz": [
            await ask(clock, "怎么办理居住证", at=day),
            await ask(clock, "怎么办理居住证", at=day + dt.timedelta(hours=1)),
            await ask(clock, "怎么办理居住证？", at=day + dt.timedelta(hours=2)),
            await ask(clock, "居住證怎麼辦理", at=day + dt.timedelta(hours=3)),
        ],
        # Answered, but the citizen said it did not help.
        "sbk": [await ask(clock, "社保卡丢了怎么补办", "answer", entry, "unhelpful", at=day)],
        "gjj": [await ask(clock, "公积金怎么提取", at=day)],
        "hz": [await ask(clock, "护照怎么办理", at=day)],
    }
    # Not listed: answered and fine, resolved already, or outside the period.
    await ask(clock, "社保卡怎么申领", "answer", entry, "helpful", at=day)
    done = await ask(clock, "怎么办理居住证", at=day)
    await Ask.filter(id=done.id).update(resolved="dismissed")
    await ask(clock, "怎么办理居住证", at=dt.datetime(2026, 10, 1, 2, 0, tzinfo=UTC))
    return {"entry": entry, "asks": asks}


async def test_near_identical_questions_form_one_row(unanswered, actors):
    groups = await attention.list_unanswered(actors["editor"], **NOVEMBER)
    by_text = {g.text: g for g in groups}
    assert set(by_text) == {
        "怎么办理居住证",
        "社保卡丢了怎么补办",
        "公积金怎么提取",
        "护照怎么办理",
    }
    jzz = groups[0]
    assert jzz.text == "怎么办理居住证" and jzz.count == 4
    assert jzz.ask_ids == sorted(a.id for a in unanswered["asks"]["jzz"])
    assert jzz.first_asked_at == dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert jzz.last_asked_at == dt.datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    assert set(jzz.texts) == {"怎么办理居住证？", "居住證怎麼辦理"}
    sbk = by_text["社保卡丢了怎么补办"]
    assert (sbk.count, sbk.unhelpful) == (1, 1)
    # Without the live index: the entry the bot gave them at the time, if any.
    assert (sbk.best_entry_id, sbk.best_entry_question) == (
        unanswered["entry"].id,
        "社保卡怎么申领",
    )
    assert jzz.best_entry_id is None
    assert by_text["护照怎么办理"].count == 1  # "办理" in common is not the same question
    assert jzz.to_dict()["ask_ids"] == jzz.ask_ids


def test_clustering_separates_different_questions_with_shared_words():
    texts = ["怎么办理居住证", "居住证怎么办理", "居住证怎么注销", "怎么办理护照", "怎么办理居住证"]
    groups = sorted(sorted(g) for g in attention.cluster_questions(texts))
    assert groups == [[0, 1, 4], [2], [3]]


async def test_asks_join_an_entry_as_a_similar_question_through_review(unanswered, kb, actors):
    entry = unanswered["entry"]
    ids = [a.id for a in unanswered["asks"]["jzz"]]
    fresh = await attention.add_asks_to_entry(
        actors["editrev"], ids, entry.id, clock=kb.clock, redis=kb.redis
    )
    assert fresh.similar[-1] == "怎么办理居住证" and fresh.version == 2
    # Submitted for review at once (issue 13 item 16); the published text answers meanwhile.
    assert fresh.status == "review" and fresh.live == entry.live
    versions = await EntryVersion.filter(entry_id=entry.id).order_by("-id").limit(2)
    assert [v.action for v in versions] == ["submit", "add_similar"]
    assert set(await Ask.filter(id__in=ids).values_list("resolved", flat=True)) == {"added"}
    assert set(await Ask.filter(id__in=ids).values_list("resolved_entry_id", flat=True)) == {
        entry.id
    }
    assert await AuditRecord.filter(action="kb.asks.add", object_id=str(entry.id)).count() == 1
    groups = await attention.list_unanswered(actors["editor"], **NOVEMBER)
    assert "怎么办理居住证" not in {g.text for g in groups}
    # Whoever added the question edited this version: someone else reviews it.
    with pytest.raises(Forbidden) as exc:
        await kb.review(fresh, "editrev")
    assert exc.value.code == "self_review"
    with pytest.raises(Conflict):
        await attention.add_asks_to_entry(
            actors["editor"], ids, entry.id, clock=kb.clock, redis=kb.redis
        )


async def test_asks_can_be_dismissed_or_become_a_new_entry(unanswered, kb, actors):
    gjj = [a.id for a in unanswered["asks"]["gjj"]]
    hz = [a.id for a in unanswered["asks"]["hz"]]
    with pytest.raises(Forbidden):
        await attention.dismiss_asks(actors["supervisor"], gjj, clock=kb.clock)
    assert await attention.dismiss_asks(actors["reviewer"], gjj, clock=kb.clock) == 1
    assert (await Ask.get(id=gjj[0])).resolved == "dismissed"
    entry = await attention.new_entry_from_asks(
        actors["editor"], hz, {"answer": "到出入境窗口办理。"}, clock=kb.clock, redis=kb.redis
    )
    assert entry.question == "护照怎么办理" and entry.status == "draft"
    assert (await Ask.get(id=hz[0])).resolved_entry_id == entry.id
    with pytest.raises(NotFound):
        await attention.dismiss_asks(actors["reviewer"], [999999], clock=kb.clock)
    with pytest.raises(DomainError):
        await attention.dismiss_asks(actors["reviewer"], [], clock=kb.clock)


async def test_a_failed_new_entry_leaves_the_asks_open(unanswered, kb, actors):
    hz = [a.id for a in unanswered["asks"]["hz"]]
    with pytest.raises(Forbidden):
        await attention.new_entry_from_asks(
            actors["supervisor"], hz, {"answer": "x"}, clock=kb.clock, redis=kb.redis
        )
    assert (await Ask.get(id=hz[0])).resolved is None
