"""A long message is matched by its question (knowledge/focus.py)."""

import pytest

from knowledge.focus import FOCUS_CHARS, focus, subject
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


@pytest.mark.parametrize(
    "text,named",
    [("我想问下公积金的事", "公积金"), ("咨询一下社保方面的问题", "社保"), ("请问公积金", "公积金"),
     ("您好，我想咨询一下医保的事情", "医保"), ("关于小区停车难的问题", "小区停车难"),
     ("社保缴费的问题", "社保缴费"), ("请问社保卡丢了", "社保卡丢了"),
     # questions, and subjects of their own, stay whole
     ("问一下社保卡丢了怎么办", None), ("一件让我感动的事", None),
     ("福建林业职业技术学院的情况", None), ("请问谁有有声小说的网站", None), ("我想咨询", None),
     ("我有个问题", None), ("公积金提取", None), ("这是什么问题", None), ("问道雄霸天下", None)],
)  # fmt: skip
def test_what_a_message_that_only_names_its_subject_is_about(text, named):
    assert subject(text) == named


def test_a_named_subject_that_finds_nothing_whole_is_decided_as_if_sent_alone(matcher):
    alone = matcher.decide("居住证怎么办理")
    assert alone.decision == "answer"
    assert matcher.decide("我想问一下居住证怎么办理") == alone  # the opener kept; no change
    named = matcher.decide("我想咨询一下公积金的事")
    assert [c.entry for c in named.candidates] == [
        c.entry for c in matcher.decide("公积金").candidates
    ]
