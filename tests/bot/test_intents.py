"""Requests in the citizen's own words (bot.intents): what a short message asks of the bot
itself, and what must still go to the knowledge base."""

from __future__ import annotations

import pytest

from bot.intents import read, reports, request, small_talk

ASKS_THE_BOT = {
    "我想留言": "letter",
    "怎么留言？": "letter",
    "我要写信": "letter",
    "我要给市长写信": "letter",
    "市长信箱": "letter",
    "我要反映问题": "letter",
    "我要举报！": "letter",
    "我想提个建议": "letter",
    "你好，我想留言": "letter",
    "好的，我要留言": "letter",
    "那我查一下进度": "status",
    "我要找人工": "human",
    "转人工服务": "human",
    "有没有人工客服": "human",
    "查询进度": "status",
    "查进度": "status",
    "我的留言处理得怎么样了？": "status",
    "我的投诉有人管吗": "status",
    "留言有回复了吗": "status",
    "帮我转人工": "human",
    "给我找个人工客服": "human",
    "请帮我查一下进度": "status",
    "跟踪码忘了怎么办": "forgot_code",
    "我忘记跟踪码了": "forgot_code",
}
# The same words inside a question: the knowledge base's, not the bot's.
QUESTIONS = [
    "怎么投诉物业乱收费",
    "公积金提取进度怎么查",
    "社保卡办理进度",
    "居住证办理进度怎么查",
    "我要办居住证",
    "投诉电话是多少",
    "人工智能",
    "建议书怎么写",
    "查一下社保缴费情况",
    "我的社保卡办好了吗",
    "我家楼下的餐馆油烟很大，我要投诉，希望有关部门来管一管",
]


@pytest.mark.parametrize("text,kind", ASKS_THE_BOT.items())
def test_requests_in_the_citizens_words(text, kind):
    assert request(text) == (kind, None)


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_that_mention_the_same_words_are_left_to_the_knowledge_base(text):
    assert request(text) is None and small_talk(text) is None


def test_a_tracking_code_inside_a_request_for_progress_is_read():
    assert request("查询进度 7kq2m-xp4rt") == ("status", "7KQ2M-XP4RT")
    assert request("我的留言 7KQ2MXP4RT 怎么样了") == ("status", "7KQ2MXP4RT")
    assert request("查进度 ABCDE-FGHJK") == ("status", "ABCDE-FGHJK")  # codes may have no digit
    assert request("我想留言 7KQ2M-XP4RT") is None  # a code with other words: not guessed at
    assert read("7KQ2M-XP4RT") == ("status", "7KQ2M-XP4RT")  # alone, pasted from the SMS
    assert read(" 7kq2m xp4rt。") is None  # not as it is shown nor run together with a digit
    assert read("7KQ2MXP4RT") == ("status", "7KQ2MXP4RT")
    assert read("STRENGTHEN") is None  # a word, though its letters are all in the alphabet


@pytest.mark.parametrize(
    "text,kind",
    [("你好", "greeting"), ("您好，我想咨询一下", "greeting"), ("在吗？", "greeting"),
     ("你是机器人吗？", "greeting"), ("你好，你是真人吗", "greeting"), ("请问在吗", "greeting"),
     ("人呢？", "greeting"), ("在么", "greeting"),
     ("你是机器人吗，社保卡怎么办", None),
     ("谢谢啊", "thanks"), ("好的谢谢你", "thanks"), ("再见~", "thanks"),
     ("你好吗", None), ("你好，社保卡丢了怎么补办", None), ("早点", None)],
)  # fmt: skip
def test_small_talk(text, kind):
    assert small_talk(text) == kind


def test_read_is_small_talk_first_then_a_request():
    assert read("你好！") == ("greeting", None)
    assert read("谢谢") == ("thanks", None)
    assert read("你好，我想留言") == ("letter", None)
    assert read("查询进度 7KQ2M-XP4RT") == ("status", "7KQ2M-XP4RT")
    assert read("7KQ2M-XP4RT 你好") is None  # a code beside small talk is not a greeting
    assert read("社保卡丢了怎么补办") is None


def test_a_report_is_told_from_a_question_about_reporting():
    assert reports("我要举报有人在小区里乱倒垃圾") and reports("投诉楼下烧烤店太吵")
    assert not reports("怎么投诉物业") and not reports("举报电话多少")
    assert not reports("投诉渠道有哪些") and not reports("社保卡丢了")
