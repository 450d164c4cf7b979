"""Unanswered questions grouped by what they are about, and the closest entry staff are offered
for a group: never one the matcher scored 0."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from knowledge import attention
from knowledge.grouping import cluster_questions, content_key


def grouped(texts: list[str]) -> list[list[str]]:
    return sorted(sorted(texts[i] for i in g) for g in cluster_questions(texts))


def grouped_as(*groups: list[str]) -> list[list[str]]:
    return sorted(sorted(g) for g in groups)


def test_one_question_in_citizens_words_is_one_group():
    texts = ["我社保卡丢了", "社保卡怎么补办", "我社保卡不见了咋整啊", "公积金怎么提取"]
    assert grouped(texts) == grouped_as(
        ["我社保卡丢了", "社保卡怎么补办", "我社保卡不见了咋整啊"], ["公积金怎么提取"]
    )


def test_fillers_and_question_words_do_not_make_a_difference():
    texts = [
        "请问怎么办理居住证",
        "居住证怎么办理？",
        "我想问一下居住证在哪里办",
        "居住證怎麼辦理",
        "居住证怎么注销",  # another action on the same thing
        "怎么办理护照",  # the same action on another thing
        "居住证过期了怎么办",
        "居住证到期了怎么续签",
    ]
    assert grouped(texts) == grouped_as(
        ["请问怎么办理居住证", "居住证怎么办理？", "我想问一下居住证在哪里办", "居住證怎麼辦理"],
        ["居住证怎么注销"],
        ["居住证过期了怎么办", "居住证到期了怎么续签"],
        ["怎么办理护照"],
    )


def test_a_question_of_nothing_but_question_words_keeps_its_text():
    assert content_key("怎么办") == "怎么办" and content_key("你好") == "你好"
    assert grouped(["怎么办", "怎么办？", "你好"]) == grouped_as(["怎么办", "怎么办？"], ["你好"])


def test_thousands_of_questions_each_wording_of_one_question_in_one_group():
    rng = random.Random(7)
    things = ["社保卡", "公积金", "居住证", "护照", "驾驶证", "医保", "户口", "营业执照"]
    things += [f"第{i}号窗口" for i in range(400)]
    actions = ["怎么办理", "怎么注销", "丢了怎么补办", "过期了怎么办", "怎么提取"]
    asked = [(rng.choice(things), rng.choice(actions)) for _ in range(5000)]
    texts = [f"{rng.choice(['', '请问', '我想问一下'])}{t}{a}" for t, a in asked]
    groups = cluster_questions(texts)
    assert sorted(i for g in groups for i in g) == list(range(5000))
    group_of = {i: n for n, g in enumerate(groups) for i in g}
    first: dict[tuple[str, str], int] = {}
    for i, question in enumerate(asked):
        assert group_of[i] == group_of[first.setdefault(question, i)], texts[i]


# ---------------------------------------------------------------- the closest entry


@dataclass
class Cand:
    entry: str
    question: str
    score: float


@dataclass
class Said:
    decision: str
    entry: str | None = None
    suggestions: list[str] = field(default_factory=list)
    score: float = 0.0
    candidates: list = field(default_factory=list)
    related: list[str] = field(default_factory=list)


class ScriptedIndex:
    def __init__(self, said: dict[str, Said]) -> None:
        self.said = said

    async def decide(self, text: str) -> Said:
        return self.said[text]


async def test_the_closest_entry_is_never_one_scored_zero(kb, actors, clock):
    entry = await kb.published()
    for text in ("居住证怎么弄", "公积金怎么提取", "老年人乘车卡在哪里办", "医保异地就医怎么备案"):
        await attention.record_ask(
            text=text,
            channel="web",
            account_id=None,
            decision="none",
            entry_id=None,
            score=0.0,
            suggestions=[],
            clock=clock,
        )
    index = ScriptedIndex(
        {
            "居住证怎么弄": Said(
                "none",
                score=0.2,
                candidates=[Cand(str(entry.id), "q", 0.31)],
                related=[str(entry.id)],
            ),
            # scores that show as 0.00 on the page
            "公积金怎么提取": Said("none", candidates=[Cand(str(entry.id), "q", 0.003)]),
            "老年人乘车卡在哪里办": Said(
                "suggest", None, [str(entry.id)], 0.0, [Cand(str(entry.id), "q", 0.0)]
            ),
            # the nearest entry, which the bot offers the citizen in no list
            "医保异地就医怎么备案": Said("none", candidates=[Cand(str(entry.id), "q", 0.02)]),
        }
    )
    groups = await attention.list_unanswered(
        actors["editor"], since=clock.today(), until=clock.today(), index=index
    )
    by_text = {g.text: g for g in groups}
    near = by_text["居住证怎么弄"]
    assert (near.best_entry_id, near.best_score, near.prefill) == (entry.id, 0.31, entry.id)
    for text in ("公积金怎么提取", "老年人乘车卡在哪里办"):
        g = by_text[text]
        assert (g.best_entry_id, g.best_score, g.prefill) == (None, None, None)
    # shown as the nearest, but not one click from being added as a similar question
    far = by_text["医保异地就医怎么备案"]
    assert (far.best_entry_id, far.best_score, far.prefill) == (entry.id, 0.02, None)


def test_a_group_scored_zero_has_nothing_to_prefill():
    g = attention.UnansweredGroup("问", 1, [1], None, None, best_entry_id=5, best_score=0.001)  # type: ignore[arg-type]
    assert g.prefill is None
    g.best_score = None  # no score: the entry the bot offered at the time
    assert g.prefill == 5
