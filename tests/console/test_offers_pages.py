"""The console never puts forward an entry the matcher scored 0 (shown as 0.00): not among the
"try it" box's suggestions, and not pre-filled on the unanswered questions page. The try box
shows the related questions (相关问题) the bot lists when it cannot answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge import attention
from knowledge.live import KnowledgeIndex
from tests.accounts.conftest import actors, demo_units  # noqa: F401 (fixtures)
from tests.console.test_knowledge_pages import KB, page_of, publish, text
from tests.org.conftest import login_as


@dataclass
class Cand:
    entry: str
    question: str
    score: float
    why: dict = field(default_factory=dict)


@dataclass
class Said:
    decision: str
    entry: str | None
    suggestions: list[str]
    score: float
    candidates: list[Cand]
    related: list[str] = field(default_factory=list)


class ScriptedMatcher:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def add(self, entry_id: str, questions, answer: str = "") -> None:
        self.ids.append(entry_id)

    def remove(self, entry_id: str) -> None:
        self.ids.remove(entry_id)

    def set_synonyms(self, groups) -> None:
        pass

    def decide(self, text: str) -> Said:
        card, fund = sorted(self.ids, key=int)
        if text == "社保卡":
            cands = [Cand(card, "社保卡丢了怎么补办", 0.41), Cand(fund, "公积金怎么提取", 0.0)]
            return Said("suggest", None, [card, fund], 0.41, cands)
        if text == "社保卡的事":
            cands = [Cand(card, "社保卡丢了怎么补办", 0.2), Cand(fund, "公积金怎么提取", 0.004)]
            return Said("none", None, [], 0.1, cands, related=[card, fund])
        return Said("none", None, [], 0.0, [Cand(fund, "公积金怎么提取", 0.003)])


async def test_nothing_scored_zero_is_put_forward(app, sender, clock, deps, actors, demo_units):  # noqa: F811
    deps.extensions["knowledge_index"] = KnowledgeIndex(deps.redis, matcher_factory=ScriptedMatcher)
    card = await publish(actors, deps)
    fund = await publish(
        actors, deps, question="公积金怎么提取", similar="", answer="登录公积金网厅申请。"
    )
    editor = await login_as(app, sender, "editor")

    _, page = await page_of(editor, f"{KB}/try", q="社保卡")
    assert "机器人会请群众从下面几条中选择" in page
    assert f"#{card.id} 社保卡丢了怎么补办" in page
    assert f"#{fund.id} 公积金怎么提取 公积金怎么提取 0.000" in page  # a candidate, not offered
    assert page.count(f"#{fund.id} 公积金怎么提取") == 1

    _, page = await page_of(editor, f"{KB}/try", q="社保卡的事")
    assert "会列出下面的相关问题" in page and f"#{card.id} 社保卡丢了怎么补办" in page
    assert page.count(f"#{fund.id} 公积金怎么提取") == 1  # the candidates table only

    await attention.record_ask(
        text="我想开个无犯罪证明",
        channel="web",
        account_id=None,
        decision="none",
        entry_id=None,
        score=0.0,
        suggestions=[],
        clock=clock,
    )
    resp = await editor.get(f"{KB}/unanswered")
    body = (await resp.get_data()).decode()
    assert "我想开个无犯罪证明" in text(body.encode())
    assert re.search(r'name="entry_id"[^>]*value=""', body)
    assert f"#{fund.id}" not in text(body.encode())
