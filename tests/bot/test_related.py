"""What the bot offers when it cannot answer outright: related questions (相关问题) above the offer
to leave a letter, and never an entry the matcher scored 0.

A scripted matcher stands in for the real one so that each kind of decision can be had on
purpose; the last test asks the real matcher over the demo knowledge base."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.engine import Engine
from knowledge.live import KnowledgeIndex, knowledge_index
from knowledge.models import Ask, Entry
from tests.bot.conftest import Chat


@dataclass
class Cand:
    entry: str
    question: str
    score: float


@dataclass
class Said:
    decision: str
    entry: str | None
    suggestions: list[str]
    score: float
    candidates: list[Cand]
    related: list[str] = field(default_factory=list)


class ScriptedMatcher:
    """Decides by the text asked, over the demo entries (found by their standard question)."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def add(self, entry_id: str, questions, answer: str = "") -> None:
        self.ids[questions[0]] = entry_id

    def remove(self, entry_id: str) -> None:
        self.ids = {q: e for q, e in self.ids.items() if e != entry_id}

    def set_synonyms(self, groups) -> None:
        pass

    def follow_up(self, text: str, about: str | None, alone: Said | None = None) -> Said:
        return alone or self.decide(text)

    def decide(self, text: str) -> Said:
        lost, apply, fund, leave = (
            self.ids[q]
            for q in (
                "社保卡丢了怎么挂失补办？",
                "社保卡怎么申领？",
                "怎么提取住房公积金？",
                "离职后住房公积金怎么提取？",
            )
        )
        residence = self.ids["怎么办理清源市居住证？"]
        if text == "社保卡的事":
            # The matcher slipped an entry it scored 0 into the related ones: not shown.
            cands = [Cand(lost, "q", 0.31), Cand(apply, "q", 0.18), Cand(residence, "q", 0.0)]
            return Said("none", None, [], 0.12, cands, related=[lost, apply, residence])
        if text == "公积金的事":
            cands = [Cand(fund, "q", 0.62), Cand(leave, "q", 0.3), Cand(residence, "q", 0.003)]
            return Said("suggest", None, [fund, leave, residence], 0.62, cands)
        cands = [Cand(residence, "q", 0.0), Cand(lost, "q", 0.001)]
        return Said("none", None, [], 0.0, cands, related=[residence, lost])


@pytest.fixture
def scripted(world):
    world.extensions["knowledge_index"] = KnowledgeIndex(
        world.redis, matcher_factory=ScriptedMatcher
    )
    return Chat(Engine(world), user="citizen-related")


def labels(chat: Chat) -> list[str]:
    return [c.label for r in chat.replies for c in r.choices]


async def test_related_questions_are_listed_above_the_letter_offer(scripted):
    out = await scripted.say("社保卡的事")
    assert "相关问题" in out
    first, offer = scripted.replies
    assert [(c.value, c.label) for c in first.choices] == [
        ("1", "社保卡丢了怎么挂失补办？"),
        ("2", "社保卡怎么申领？"),
    ]
    assert "0 留言" in offer.text and [(c.value, c.label) for c in offer.choices] == [
        ("0", "我要留言")
    ]
    assert "怎么办理清源市居住证？" not in out  # scored 0


async def test_a_number_gets_the_related_answer(scripted):
    await scripted.say("社保卡的事")
    assert "请回复 1 到 2" in await scripted.say("3")
    out = await scripted.say("1")
    assert "【社保卡丢了怎么挂失补办？】" in out and "12333" in out
    assert "是否解决了您的问题" in out
    assert "感谢" in await scripted.say("1")
    await scripted.flush_log()
    logged = await Ask.filter(text="社保卡的事").order_by("id")
    # As asked (no answer: it is an unanswered question), then as answered by the pick.
    assert [a.decision for a in logged] == ["none", "answer"]
    lost = await Entry.get(external_id="demo-sbk-2")
    assert logged[1].entry_id == lost.id and logged[1].feedback == "helpful"


async def test_zero_or_asking_for_a_letter_leaves_one_and_no_thanks_declines(scripted):
    await scripted.say("社保卡的事")
    out = await scripted.say("0")
    assert "「社保卡的事」" in out and "内容完整请回复 1" in out
    assert "已取消" in await scripted.say("取消")

    await scripted.say("社保卡的事")
    out = await scripted.say("我要留言")
    assert "「社保卡的事」" in out

    await scripted.say("取消")
    await scripted.say("社保卡的事")
    assert "好的" in await scripted.say("不用了")


async def test_nothing_scored_zero_is_suggested(scripted):
    out = await scripted.say("公积金的事")
    assert "您是不是想问" in out
    assert labels(scripted) == [
        "怎么提取住房公积金？",
        "离职后住房公积金怎么提取？",
        "都不是，我要留言",
    ]
    # Everything scored 0: no list at all, the plain offer to leave a letter.
    out = await scripted.say("今年高考几号出成绩")
    assert "相关问题" not in out and "您是不是想问" not in out
    assert [(c.value, c.label) for c in scripted.replies[-1].choices] == [
        ("1", "我要留言"),
        ("2", "不用了"),
    ]
    await scripted.flush_log()
    fund = await Ask.get(text="公积金的事")
    offered = [e.external_id for e in await Entry.filter(id__in=fund.suggestions)]
    assert sorted(offered) == ["demo-gjj-2", "demo-gjj-3"]  # logged as offered


QUESTIONS = [
    "社保卡丢了怎么补办",
    "公积金怎么提取",
    "居住证过期了怎么办",
    "没单位社保咋交",
    "个体户怎么交养老保险",
    "我家小区门口的路灯坏了三个月一直没人来修",
    "孩子上学怎么网上报名",
    "居住证",
]


async def test_the_real_matcher_offers_nothing_it_scored_zero(world):
    engine = Engine(world)
    index = knowledge_index(world)
    questions = {e.live["question"]: str(e.id) for e in await Entry.filter(live__isnull=False)}
    for n, text in enumerate(QUESTIONS):
        chat = Chat(engine, user=f"citizen-real-{n}")
        await chat.say(text)
        decision = await index.decide(text)
        scores = {c.entry: c.score for c in decision.candidates}
        offered = [c.label for r in chat.replies for c in r.choices if c.label in questions]
        for label in offered:
            assert scores.get(questions[label], 0.0) >= 0.005, (text, label, decision)


async def test_never_mind_to_suggestions_or_to_an_answer_ends_politely(scripted):
    # "不用了" to "您是不是想问" is not a new question (no "无法准确回答" for the words 不用了)
    assert "您是不是想问" in await scripted.say("公积金的事")
    out = await scripted.say("不用了")
    assert out.startswith("好的") and "无法准确回答" not in out
    # nor "算了" after an answer picked from the related questions
    await scripted.say("社保卡的事")
    assert "是否解决了您的问题" in await scripted.say("1")
    out = await scripted.say("算了")
    assert out.startswith("好的") and "无法准确回答" not in out


async def test_a_long_report_that_asks_nothing_is_offered_a_letter_as_a_report(world):
    chat = Chat(Engine(world), user="citizen-report")
    report = (
        "我家楼下的烧烤店每天营业到凌晨两三点，油烟和噪音非常大，老人孩子都休息不好，"
        "多次和店主沟通没有任何效果，物业也说管不了，希望有关部门尽快处理。"
    )
    out = await chat.say(report)
    assert "您反映的情况需要有关部门办理" in out and "无法准确回答" not in out
    out = await chat.say("1")
    assert report in out and "内容完整请回复 1" in out
