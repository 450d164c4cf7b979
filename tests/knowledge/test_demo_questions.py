"""The demo knowledge base carries what citizens ask in their own words, and reseeding an older
demo adds what it lacks without doubling anything."""

from __future__ import annotations

import pytest

from knowledge.demo import DEMO_ASKS, DEMO_ENTRIES, SYNONYM_GROUPS, seed_knowledge_demo
from knowledge.matcher import Matcher
from knowledge.models import Ask, Entry, EntryVersion, SynonymGroup
from knowledge.normalize import normalize

# Everyday questions and the demo entry that answers each (tests/console/test_chat_browser.py
# asks them in the web chat). They are citizens' wordings, not questions the demo stores: the
# matcher has to bridge the difference.
CITIZENS_ASK = [
    ("社保卡丢了怎么补办", "demo-sbk-2"),
    ("公积金怎么提取", "demo-gjj-3"),
    ("新生儿社保卡怎么办理", "demo-sbk-1"),
    ("居住证", "demo-jzz-1"),
    ("没单位社保咋交", "demo-sb-1"),
    ("个体户怎么交养老保险", "demo-sb-2"),
]


# What else a city's social-security office is asked every day, found on `make run`: each got
# 无法准确回答, and 新生儿医保怎么办 was answered with how to apply for a social-security card.
ALSO_ASKED = [
    ("新生儿医保咋办理", "demo-yb-1"),
    ("小孩出生了医保怎么弄", "demo-yb-1"),
    ("看病医保怎么报", "demo-yb-2"),
    ("社保要交满多少年才能领养老金", "demo-sb-7"),
    ("交十年社保能拿退休金吗", "demo-sb-7"),
    ("失业了失业金咋领", "demo-sb-3"),
    ("公积金最多能贷多少钱", "demo-gjj-4"),
    ("人社局上班时间", "demo-rsj-1"),
    ("你们电话多少", "demo-rsj-1"),
    ("办事大厅在哪", "demo-rsj-1"),
    ("社保卡补办需要什么材料", "demo-sbk-2"),
    ("社保卡补办要带什么材料", "demo-sbk-2"),
    ("养老金怎么查", "demo-sb-4"),  # 无法准确回答 before the entry had 养老金发放记录怎么查
    ("退休金怎么查", "demo-sb-4"),
]


@pytest.fixture(scope="module")
def demo_matcher() -> Matcher:
    matcher = Matcher.build((e[0], [e[3], *e[4]], e[5]) for e in DEMO_ENTRIES)
    matcher.set_synonyms(SYNONYM_GROUPS)
    return matcher


@pytest.mark.parametrize(("text", "ext"), CITIZENS_ASK + ALSO_ASKED)
def test_everyday_questions_get_their_entry(demo_matcher, text, ext):
    d = demo_matcher.decide(text)
    assert d.entry == ext if d.decision == "answer" else d.suggestions[:1] == [ext], (text, d)


def test_the_everyday_questions_are_not_stored_word_for_word():
    stored = {normalize(q) for e in DEMO_ENTRIES for q in [e[3], *e[4]]}
    assert {ext for _, ext in CITIZENS_ASK} <= {e[0] for e in DEMO_ENTRIES}
    assert [q for q, _ in CITIZENS_ASK if normalize(q) in stored] == []
    assert [q for q, _ in ALSO_ASKED if normalize(q) in stored] == []


def test_each_entry_has_a_handful_of_similar_questions_in_citizens_words():
    for ext, _topic, _unit, _question, similar, answer in DEMO_ENTRIES:
        assert 3 <= len(similar) <= 7, ext
        assert len(set(map(normalize, similar))) == len(similar), ext
        assert "清源" in answer or "12333" in answer, ext  # written for the demo city
    colloquial = " ".join(q for e in DEMO_ENTRIES for q in e[4])
    for word in ("咋", "啥", "丢了", "没单位", "灵活就业", "个体户", "不见了"):
        assert word in colloquial, word


async def test_an_older_demo_gets_the_entries_added_since(kb_units, clock, redis):
    assert await seed_knowledge_demo(clock, redis) == len(DEMO_ENTRIES)
    # A database seeded before the social-insurance and withdrawal entries existed.
    added_since = ["demo-sb-1", "demo-sb-2", "demo-gjj-3"]
    await EntryVersion.filter(entry__external_id__in=added_since).delete()
    await Entry.filter(external_id__in=added_since).delete()
    groups = await SynonymGroup.all().count()

    assert await seed_knowledge_demo(clock, redis) == len(added_since)
    assert await seed_knowledge_demo(clock, redis) == 0
    assert await Entry.filter(external_id__startswith="demo-").count() == len(DEMO_ENTRIES)
    # The rest came with the first seeding only: one pending edit, one set of asks and synonyms.
    assert await EntryVersion.filter(action="edit").count() == 1
    assert await Ask.all().count() == len(DEMO_ASKS)
    assert await SynonymGroup.all().count() == groups
    fresh = await Entry.get(external_id="demo-gjj-3")
    assert fresh.status == "published" and fresh.live["question"] == "怎么提取住房公积金？"
