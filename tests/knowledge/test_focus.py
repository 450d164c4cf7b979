"""A long message is matched by its question (knowledge/focus.py)."""

import pytest

from knowledge.focus import FOCUS_CHARS, focus
from knowledge.matcher import Matcher, load_model

ENTRIES = [
    ("e1", ["社保卡丢了怎么补办", "社保卡怎么补办"], "带身份证到社保卡服务网点补办。"),
    ("e2", ["如何提取住房公积金"], "登录公积金网上业务系统申请。"),
    ("e3", ["居住证怎么办理"], "到社区服务站登记。"),
]

# a citizen's long message: who and where first, then the question
LONG_QUESTION = (
    "领导您好，我是城东区某小区的住户，去年搬过来以后一直在这边上班，前几天在公交车上把包弄丢了，"
    "里面的东西都没了。请问社保卡丢了怎么补办？谢谢！"
)
LONG_COMPLAINT = (
    "我家楼下的烧烤店每天营业到凌晨两三点，油烟和噪音非常大，老人孩子都休息不好，"
    "多次和店主沟通没有任何效果，物业也说管不了，希望有关部门尽快处理。"
)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.build(ENTRIES, model=load_model())


def test_a_short_message_is_matched_whole():
    assert focus("  社保卡丢了怎么补办 ") == "社保卡丢了怎么补办"
    text = "社" * FOCUS_CHARS
    assert focus(text) == text


def test_a_long_message_is_matched_by_its_question():
    assert len(LONG_QUESTION) > FOCUS_CHARS
    assert focus(LONG_QUESTION) == "请问社保卡丢了怎么补办？"


def test_a_long_question_sentence_keeps_the_asking_clause_and_what_fits_before_it():
    text = (
        "我是城东区幸福路三十八号院五号楼的老住户，这栋楼已经有四十多年的历史了，"
        "房屋管道老旧，请问今年是否有拆迁计划呢，另外补偿标准大概是怎样的"
    )
    part = focus(text)
    assert len(part) <= FOCUS_CHARS
    assert "请问今年是否有拆迁计划呢" in part
    assert part in text


def test_a_short_follow_up_keeps_the_sentence_before_it():
    told = "我在外地工作了十年，社保一直在外地交，现在回老家了，想把社保转回来。"
    assert focus(told + "可以吗？" + told) == (told + "可以吗？")[-FOCUS_CHARS:]


def test_a_long_message_that_asks_nothing_is_not_matched(matcher):
    assert focus(LONG_COMPLAINT) is None
    d = matcher.decide(LONG_COMPLAINT)
    assert d.decision == "none"
    assert d.candidates == [] and d.related == []


def test_a_long_message_is_never_answered_outright_but_its_entry_is_offered(matcher):
    # asked alone, the question is answered
    short = matcher.decide("社保卡丢了怎么补办")
    assert short.decision == "answer" and short.entry == "e1"
    # inside a long message, the citizen is offered the entry to choose
    d = matcher.decide(LONG_QUESTION)
    assert d.decision == "suggest"
    assert d.entry is None
    assert d.suggestions[0] == "e1"
    floor = max(matcher.model.t_related, 0.005)
    by_entry = {c.entry: c.score for c in d.candidates}
    assert all(by_entry[e] >= floor for e in d.suggestions)
