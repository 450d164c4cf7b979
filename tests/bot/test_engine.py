"""The dialogue, end to end through the engine: answers, feedback, suggestions, letters, status."""

from __future__ import annotations

import asyncio
import re

import pytest

from adapters.delivery import deliver_replies
from bot.engine import Engine
from bot.state import last_seen_key
from bot.types import Claim, ClaimRefused, IncomingMessage
from knowledge.models import Ask, Entry
from letters.models import Letter, LetterEvent, Outbox
from letters.writer import unseal
from org.access import Actor
from tests.bot.conftest import Chat

CODE = re.compile(r"跟踪码：([A-Z0-9]{4,6}-[A-Z0-9]{4,6})")


async def leave_letter(chat: Chat, question: str, *, name="张三", mobile="13800138000") -> str:
    out = await chat.say(question)
    assert "留言" in out
    if "我要留言" in out:  # the offer: "0" when related questions hold 1 to 3
        out = await chat.say("0" if "0. 我要留言" in out else "1")
    assert "「" in out and question in out  # the question is the letter's content
    out = await chat.say("1")  # nothing to add
    assert "请选择留言类型" in out
    out = await chat.say("1")
    assert "仅办理单位可见" in out  # the privacy notice comes before any personal question
    out = await chat.say(name or "跳过")
    assert "手机号" in out
    out = await chat.say(mobile or "跳过")
    assert "请确认您的留言" in out
    if mobile:
        assert mobile not in out and mobile[-4:] in out  # shown masked even to the writer
    out = await chat.say("1")
    found = CODE.search(out)
    assert found, out
    return found.group(1)


async def test_welcome_and_help(chat):
    assert "智能问答" in await chat.press("welcome")
    assert "使用说明" in await chat.say("帮助")


@pytest.mark.parametrize(
    "greeting", ["你好", "您好！", "在吗？", "你好呀", "您好，我想咨询一下", "hello"]
)
async def test_a_greeting_gets_the_welcome_not_the_letter_offer(chat, greeting):
    out = await chat.say(greeting)
    assert "智能问答" in out and "请直接发送您的问题" in out
    assert "无法准确回答" not in out and "留言" in out  # how to write a letter, not an offer
    assert await chat.flush_log() == 0  # not a question: nothing for the unanswered list


async def test_thanks_and_goodbye_get_a_short_reply(chat):
    assert "派出所" in await chat.say("外地人在清源怎么申领居住证")
    assert await chat.say("不用了")  # leaves the feedback step
    for said in ("谢谢！", "好的谢谢你", "再见~"):
        out = await chat.say(said)
        assert out.startswith("不客气"), (said, out)
    assert await chat.flush_log() == 1  # the question alone


async def test_emoji_and_punctuation_alone_ask_for_words_and_approval_is_thanks(chat):
    """？？？ or 😂 got 无法准确回答 and the letter offer, and was logged as an unanswered
    question; 👍 (or WeChat's [强]) to an answer is 已解决, and otherwise a short 不客气."""
    for said in ("？？？", "😂😂", "。。。", "[捂脸]", "/::)"):
        out = await chat.say(said)
        assert "请用文字描述您的问题" in out and "无法准确回答" not in out, (said, out)
    assert "派出所" in await chat.say("外地人在清源怎么申领居住证")
    assert "请用文字描述" in await chat.say("😂")  # asked for words, the feedback step kept
    assert "感谢您的反馈" in await chat.say("👍")
    assert (await chat.say("[强]")).startswith("不客气")
    assert await chat.flush_log() == 1  # the question alone: no emoji on the unanswered list
    ask = await Ask.get(text="外地人在清源怎么申领居住证")
    assert ask.feedback == "helpful"


async def test_a_message_that_only_names_its_subject_gets_the_subjects_entries(chat):
    """我想问下公积金的事 got 无法准确回答 while 公积金 alone got the entries to choose from."""
    alone = await chat.say("公积金")
    assert "您是不是想问" in alone
    for said in ("我想问下公积金的事", "咨询一下公积金方面的问题", "请问公积金"):
        assert await chat.say(said) == alone, said
    out = await chat.say("您好，我想咨询一下居住证的事情")
    assert "您是不是想问" in out and "居住证" in out


async def test_a_short_follow_up_asks_about_what_was_asked_just_before(chat):
    """要带什么材料 or 去哪里办 right after the answer on a lost social security card was answered
    with the housing fund's or the residence permit's entry at 0.96; 补办要带什么材料 got
    居住证 and 公积金 to choose from."""
    lost_card = "【社保卡丢了怎么挂失补办？】"
    out = await chat.say("社保卡丢了怎么补办")  # offered or answered: either is what it asked
    assert "社保卡丢了怎么挂失补办？" in out
    for follow_up in ("要带什么材料", "补办要带什么材料", "去哪里办", "多少钱"):
        out = await chat.say(follow_up)
        # answered, or offered first and alone
        assert lost_card in out or "1. 社保卡丢了怎么挂失补办？\n0. " in out, (follow_up, out)
    assert "1. 社保卡丢了怎么挂失补办" in await chat.say("要多久")  # offered, to choose from
    # one with a matter of its own is not read as about the card
    out = await chat.say("公积金能贷多少")
    assert "住房公积金贷款最多能贷多少？" in out and "社保卡" not in out
    assert "住房公积金贷款最多能贷多少" in await chat.say("要什么条件")  # now the loan's
    # a question of its own that finds nothing ends the matter: the next has none to lean on
    assert "无法准确回答" in await chat.say("地铁里能吃东西吗")
    out = await chat.say("要带什么材料")
    assert "哪项业务" in out and "【" not in out
    await chat.flush_log()
    # logged with what it asked about: 补办要带什么材料 alone would tell staff less
    logged = await Ask.get(text="社保卡丢了怎么挂失补办：补办要带什么材料")
    card = await Entry.get(question="社保卡丢了怎么挂失补办？")
    assert card.id == (logged.entry_id or logged.suggestions[0])  # answered or offered first


async def test_a_follow_up_on_the_answer_just_given_gets_the_sentences_that_say_it(chat):
    """多少钱 after the residence permit's answer repeated all of it: on a phone the one line
    asked for (办理不收费) was lost in it. 全文 brings the whole answer back."""
    assert "一寸照片" in await chat.say("外地人在清源怎么申领居住证")
    out = await chat.say("多少钱")
    assert "【怎么办理清源市居住证？】" in out and "关于“多少钱”" in out, out
    assert "不收费" in out and "一寸照片" not in out and "回复“全文”" in out
    out = await chat.say("全文")
    assert "一寸照片" in out and "不收费" in out and "关于" not in out
    assert "感谢您的反馈" in await chat.say("1")  # the feedback still follows
    # most of the answer says it: answered or offered as before, never cut
    assert "一寸照片" in await chat.say("外地人在清源怎么申领居住证")
    out = await chat.say("要带什么材料")
    assert "关于" not in out and "1. 怎么办理清源市居住证？" in out, out
    # a question of its own answered at once is answered whole
    out = await chat.say("社保卡丢了要交多少钱")
    assert "关于" not in out, out


async def test_a_letter_from_a_follow_up_carries_what_it_followed(chat):
    """A letter whose content was 要多久 alone told the handler nothing."""
    assert "您是不是想问" in await chat.say("怎么办理居住证")
    out = await chat.say("办下来要多久")
    out = await chat.say("0" if "0. " in out else "1")  # none of the offered: a letter
    assert "「怎么办理居住证：办下来要多久」" in out, out


@pytest.mark.parametrize(
    ("asked", "then", "offered"),
    [("社保卡怎么办", "那新生儿呢", "1. 社保卡怎么申领？"),
     ("怎么办理居住证", "到期了怎么办", "1. 居住证到期了怎么续签？"),
     ("公积金怎么提取", "离职了呢", "1. 离职后住房公积金怎么提取？"),
     ("个体户怎么交养老保险", "在哪交", "【个体工商户怎么参加养老保险？】")],
)  # fmt: skip
async def test_a_follow_up_to_the_offered_questions_leans_on_the_citizens_own(
    chat, asked, then, offered
):
    """到期了怎么办 after 怎么办理居住证 got 无法准确回答; 离职了呢 after 公积金怎么提取 offered
    灵活就业 first."""
    assert "您是不是想问" in await chat.say(asked)
    assert offered in await chat.say(then)


async def test_an_aspect_alone_is_asked_what_it_is_about_not_answered(chat):
    """A fresh conversation's 需要什么材料 was answered with 怎么办理清源市居住证 at 0.96."""
    for said in ("需要什么材料", "去哪里办", "可以网上办吗", "要多久"):
        out = await chat.say(said)
        assert "哪项业务" in out and "【" not in out and "留言" not in out, (said, out)
    assert await chat.flush_log() == 0  # nothing the knowledge base lacks


@pytest.mark.parametrize(
    ("aspect", "matter", "found", "asked"),
    [("要带什么材料", "社保卡补办", "1. 社保卡丢了怎么挂失补办", "社保卡补办要带什么材料"),
     ("需要什么材料", "是居住证的", "居住证", "居住证需要什么材料"),
     ("在哪里办？", "办理居住证", "居住证", "居住证在哪里办")],
)  # fmt: skip
async def test_the_matter_named_after_an_aspect_alone_is_read_with_it(
    chat, aspect, matter, found, asked
):
    """To 请问您要办理的是哪项业务 the citizen names the matter, not the whole question again:
    社保卡补办 then asked 社保卡补办 alone (the card's entries to choose from, nothing of the
    materials)."""
    assert "哪项业务" in await chat.say(aspect)
    out = await chat.say(matter)
    assert found in out and "无法准确回答" not in out, out
    await chat.flush_log()
    # logged as it was asked, not as the matter alone
    assert await Ask.filter(text=asked).count() == 1
    assert not await Ask.filter(text=matter).exists()


async def test_a_question_of_its_own_after_which_matter_is_asked_as_it_is(chat):
    assert "哪项业务" in await chat.say("要带什么材料")
    assert "没有待选的序号" in await chat.say("2")  # a number is no matter
    assert "住房公积金贷款最多能贷多少" in await chat.say("公积金能贷多少")
    await chat.flush_log()
    # asked as sent, not joined with the aspect
    assert await Ask.filter(text="公积金能贷多少").count() == 1
    assert not await Ask.filter(text__contains="公积金能贷多少要带").exists()


@pytest.mark.parametrize(
    ("after", "text", "read_as"),
    [("社保卡丢了怎么补办", "要带什么材料", "社保卡丢了怎么补办：要带什么材料"),
     ("怎么办理居住证", "到期了怎么办", "怎么办理居住证：到期了怎么办"),
     ("要带什么材料", "社保卡补办", "社保卡补办要带什么材料"),
     ("地铁里能吃东西吗", "公积金能贷多少", None)],
)  # fmt: skip
async def test_try_it_with_the_message_before_reads_as_the_chat_does(
    chat, world, after, text, read_as
):
    """The console's 试一试 with 上一句: staff see what a citizen sending the two gets."""
    from knowledge.live import knowledge_index, try_question

    await chat.say(after)
    out = await chat.say(text)
    tried = await try_question(Actor.system(), text, index=knowledge_index(world), after=after)
    assert tried["read_as"] == read_as and tried["after"] == after
    shown = [s["live_question"] for s in tried["suggestions"]]
    if tried["decision"] == "answer":
        assert f"【{tried['entry']['live_question']}】" in out
    else:
        assert shown and all(f". {q}" in out for q in shown), (tried, out)


async def test_try_it_says_an_aspect_alone_is_asked_which_matter(world):
    from knowledge.live import knowledge_index, try_question

    tried = await try_question(Actor.system(), "要带什么材料", index=knowledge_index(world))
    assert tried["asks_matter"] and tried["decision"] == "none"
    tried = await try_question(Actor.system(), "社保卡丢了怎么补办", index=knowledge_index(world))
    assert not tried["asks_matter"]


async def test_a_greeting_before_a_question_is_still_the_question(chat):
    out = await chat.say("你好，外地人在清源怎么申领居住证")
    assert "派出所" in out and "智能问答" not in out
    out = await chat.say("你好吗")  # not a greeting the bot returns: asked as a question
    assert "智能问答" not in out


async def test_small_talk_does_not_interrupt_a_letter(chat):
    out = await chat.say("我家小区门口的路灯坏了三个月一直没人来修")
    out = await chat.say("0" if "0. 我要留言" in out else "1")
    assert "如需补充" in out
    out = await chat.say("谢谢")  # added to the letter's content, as anything else would be
    assert "已补充" in out


async def test_the_letters_type_is_asked_again_plainly_and_may_be_named(chat):
    """A name sent at the type step (ahead of its turn) gets the numbers to reply with, and
    the type's own name (投诉) is taken as its number."""
    out = await chat.say("我家小区门口的路灯坏了三个月一直没人来修")
    await chat.say("0" if "0. 我要留言" in out else "1")
    assert "请选择留言类型" in await chat.say("1")
    out = await chat.say("张三")
    assert "回复序号 1–5 或类型名称" in out and "仅办理单位可见" not in out
    assert "仅办理单位可见" in await chat.say("投诉")
    await chat.say("张三")
    assert "类型：投诉" in await chat.say("跳过")
    code = CODE.search(await chat.say("1")).group(1)
    assert (await Letter.get(code=code.replace("-", ""))).kind == "complaint"


async def test_requests_in_the_citizens_words_reach_the_letter_and_its_progress(chat):
    out = await chat.say("我想留言")
    assert "请描述您要反映的问题" in out and "无法准确回答" not in out
    assert "跟踪码" in await chat.say("查进度")  # changed their mind: the letter is left
    assert "请描述您要反映的问题" in await chat.say("我想留言")
    code = await leave_letter(chat, "我家小区门口的路灯坏了三个月一直没人来修")
    assert "跟踪码" in await chat.say("查询进度")
    out = await chat.say(code)
    assert code in out and "待甄别" in out
    out = await chat.say(f"我的留言 {code} 怎么样了？")
    assert code in out and "待甄别" in out
    out = await chat.say(code)  # the code alone, pasted from the SMS
    assert code in out and "待甄别" in out and "无法准确回答" not in out
    assert "短信中附有跟踪码" in await chat.say("跟踪码忘了怎么办")
    # none of these is a question for the knowledge base's unanswered list
    await chat.flush_log()
    assert await Ask.filter(text__contains="留言").count() == 0


async def test_the_citizens_own_yes_and_no(chat):
    """谢谢 to an answer is the feedback; 没有 to the letter offer declines it (it was taken for a
    question, and got suggestions); 好的 to it accepts; 不知道 to a request for the code says
    where the code is."""
    assert "派出所" in await chat.say("外地人在清源怎么申领居住证")
    assert "感谢您的反馈" in await chat.say("谢谢")
    assert "您反映的情况" in await chat.say("我家小区门口的路灯坏了三个月一直没人来修")
    out = await chat.say("没有")
    assert out.startswith("好的") and "您是不是想问" not in out
    assert "您是不是想问" in await chat.say("居住证")
    out = await chat.say("没有")  # to the suggestions: none of them, and no letter either
    assert out.startswith("好的") and "您是不是想问" not in out
    assert "不客气" in await chat.say("没有")  # to 如还有其他问题: a goodbye, not a question
    assert "您反映的情况" in await chat.say("我家小区门口的路灯坏了三个月一直没人来修")
    assert "「我家小区门口的路灯坏了三个月一直没人来修」" in await chat.say("好的")
    assert "已取消" in await chat.say("取消")
    assert "跟踪码" in await chat.say("查询进度")
    assert "短信中附有跟踪码" in await chat.say("不知道")
    await chat.flush_log()
    assert await Ask.filter(text__in=["谢谢", "没有", "好的", "不知道"]).count() == 0
    ask = await Ask.get(text="外地人在清源怎么申领居住证")
    assert ask.feedback == "helpful"


async def test_a_citizen_who_did_not_understand_or_cancels_nothing_is_not_asked_a_question(chat):
    """还是没明白 to an answer got 无法准确回答 (taken for a new question) instead of counting
    as 未解决; 取消 with nothing to cancel got the letter offer; 2 to a single suggestion was
    asked for 1 到 1 之间的序号."""
    assert "派出所" in await chat.say("外地人在清源怎么申领居住证")
    out = await chat.say("还是没明白啊？")
    assert "抱歉没能帮到您" in out and "无法准确回答" not in out
    assert await chat.say("取消") == "好的。如还有其他问题，请直接发送。"
    assert await chat.say("取消") == "好的。如还有其他问题，请直接发送。"  # nothing to cancel
    await chat.flush_log()
    ask = await Ask.get(text="外地人在清源怎么申领居住证")
    assert ask.feedback == "unhelpful"
    assert await Ask.filter(text__in=["取消", "还是没明白啊？"]).count() == 0
    out = await chat.say("社保卡丢了怎么补办")
    assert "1. 社保卡丢了怎么挂失补办？" in out and "2. " not in out  # one suggestion
    assert await chat.say("2") == "请回复 1 查看，或回复 0 留言。"


async def test_a_short_message_that_asks_nothing_is_offered_a_letter_as_a_report(chat):
    """A short report with no 我要投诉 before it (路灯坏了一个星期了) was told
    这个问题我暂时无法准确回答, as if it had asked something; a bare subject and a question
    still are."""
    out = await chat.say("我们小区门口的路灯坏了一个星期了")
    assert "您反映的情况需要有关部门办理" in out and "无法准确回答" not in out
    assert "「我们小区门口的路灯坏了一个星期了」" in await chat.say("1")
    out = await chat.say("1")  # nothing to add: a report is offered as a complaint first
    assert "请选择留言类型" in out and "1. 投诉" in out and "2. 咨询" in out
    assert "已取消" in await chat.say("取消")
    await chat.say("地铁里能吃东西吗")
    await chat.say("1")
    assert "1. 咨询" in await chat.say("1")  # a question, as a consultation
    assert "已取消" in await chat.say("取消")
    for asked in ("地铁里能吃东西吗", "想了解一下游泳馆开放时间", "游泳馆", "asdfgh"):
        out = await chat.say(asked)
        assert "无法准确回答" in out and "您反映的情况" not in out, asked
        assert (await chat.say("不用了")).startswith("好的")


async def test_a_report_is_offered_a_letter_as_a_report_and_a_stray_number_is_not_a_question(
    chat,
):
    """我要举报… got 这个问题我暂时无法准确回答 as if it were a question; 1 after the feedback
    (a second tap) got the letter offer, and so did 3 to the feedback or 5 to the offer."""
    out = await chat.say("我要举报有人在小区里乱倒垃圾")
    assert "您反映的情况需要有关部门办理" in out and "无法准确回答" not in out
    assert "「我要举报有人在小区里乱倒垃圾」" in await chat.say("1")
    assert "已取消" in await chat.say("取消")
    assert "派出所" in await chat.say("外地人在清源怎么申领居住证")
    assert (await chat.say("3")).startswith("请回复 1 或 2")  # it got the letter offer
    assert "感谢您的反馈" in await chat.say("1")
    assert (await chat.say("1")).startswith("目前没有待选的序号")
    assert "无法准确回答" in await chat.say("地铁里能吃东西吗")
    assert (await chat.say("5")).startswith("请回复 1 或 2")
    assert "「地铁里能吃东西吗」" in await chat.say("1")  # the offer still stands
    assert await chat.flush_log() == 3  # the report (the letter it became) and two questions


async def test_a_long_letter_is_kept_whole_or_refused_never_cut(chat):
    """Telegram and WeChat carry messages longer than the web chat's 1,000 characters: the
    letter keeps all of one (it was cut at 1,000), a 补充 that would pass the letter's 5,000 is
    refused with a reason (it was cut at 2,000), and so is a message over 5,000."""
    complaint = "我家楼下的烧烤店每天晚上营业到凌晨两点，油烟和噪音都很大。" * 50
    more = "补充：" + "附近居民都受到影响。" * 200
    whole = f"{complaint}\n{more}"
    assert len(complaint) > 1000 and len(whole) < 5000
    out = await chat.say(complaint)
    out = await chat.say("0" if "0. 我要留言" in out else "1")
    assert f"（共{len(complaint)}字）" in out and complaint[:300] in out  # shown short, kept whole
    assert "已补充" in await chat.say(more)
    out = await chat.say("再补充：" + "希望尽快处理。" * 250)
    assert "最多5000字" in out and "未能添加" in out
    assert "请选择留言类型" in await chat.say("1")
    await chat.say("2")
    await chat.say("跳过")
    out = await chat.say("跳过")
    assert f"（共{len(whole)}字）" in out
    code = CODE.search(await chat.say("1")).group(1)
    letter = await Letter.get(code=code.replace("-", ""))
    assert letter.content == whole

    out = await chat.say("很长的留言" * 1001)
    assert "消息太长了（5005字）" in out


async def test_a_known_question_is_answered_and_feedback_recorded(chat):
    out = await chat.say("外地人在清源怎么申领居住证")
    assert "派出所" in out and "是否解决了您的问题" in out
    assert "感谢" in await chat.say("1")
    assert await chat.flush_log() == 1
    ask = await Ask.all().order_by("-id").first()
    assert ask.decision == "answer" and ask.feedback == "helpful"


async def test_unanswerable_question_becomes_a_letter(chat, world):
    code = await leave_letter(chat, "我家小区门口的路灯坏了三个月一直没人来修")
    letter = await Letter.get(code=code.replace("-", ""))
    assert letter.channel == "web" and letter.status == "new"
    assert "路灯坏了三个月" in letter.content
    writer = unseal(world.settings, letter.writer_sealed)
    assert writer.name == "张三" and writer.mobile == "13800138000"
    assert writer.platform_user_id == "citizen-1"
    # The letter was committed before the code was shown; the status query finds it.
    out = await chat.say(f"查询 {code}")
    assert code in out and "待甄别" in out
    assert "张三" not in out and "13800138000" not in out
    # The question the bot could not answer is logged as dealt with by the letter: it is not
    # among the questions left unanswered (supervision's poor-interaction veto counts those).
    await chat.flush_log()
    ask = await Ask.get(text="我家小区门口的路灯坏了三个月一直没人来修")
    assert ask.decision == "none" and ask.resolved == "letter"


async def test_a_letter_written_from_scratch_resolves_no_question(chat, world):
    await chat.say("我家小区门口的路灯坏了三个月一直没人来修")
    assert "请描述您要反映的问题" in await chat.press("letter")  # a new letter, not about it
    await chat.say("楼道里的灯也坏了")
    for word in ("1", "1", "跳过", "跳过", "1"):
        out = await chat.say(word)
    assert CODE.search(out), out
    await chat.flush_log()
    assert (await Ask.get(text="我家小区门口的路灯坏了三个月一直没人来修")).resolved is None


async def test_a_retried_confirmation_returns_the_same_letter(chat, world):
    await chat.say("留言")
    await chat.say("我家小区门口的路灯坏了三个月一直没人来修")
    await chat.say("1")
    await chat.say("1")
    await chat.say("跳过")
    await chat.say("跳过")
    first = await chat.say("1", message_id="confirm-1")
    again = await chat.say("1", message_id="confirm-1")
    assert first == again and CODE.search(first)
    assert await Letter.all().count() == 1


async def test_a_second_tap_on_submit_after_the_answer_shows_the_same_letter(chat, world):
    """Issue 13 item 1: "1" again (its own message id) once the letter went in is not taken
    for a question: the citizen sees the same code; the next real question is answered."""
    code = await leave_letter(chat, "我家小区门口的路灯坏了三个月一直没人来修")
    again = await chat.say("1", message_id="second-tap")
    assert code in again and "已提交成功" in again and "无法准确回答" not in again
    assert await Letter.all().count() == 1
    assert "派出所" in await chat.say("外地人在清源怎么申领居住证")


async def test_concurrent_deliveries_of_one_message_are_answered_once(chat, world, monkeypatch):
    """WeChat's retries can arrive while the first delivery is still being answered: they wait
    for its replies, and the conversation moves once."""
    real = Engine._dispatch

    async def slow(self, *args):
        await asyncio.sleep(0.3)
        return await real(self, *args)

    monkeypatch.setattr(Engine, "_dispatch", slow)
    msg = IncomingMessage(channel="web", account="", user="u-retry", message_id="m-1", text="留言")
    turns = await asyncio.gather(*(chat.engine.handle_turn(msg) for _ in range(4)))
    assert [t.first for t in turns].count(True) == 1
    assert len({tuple(r.as_text() for r in t.replies) for t in turns}) == 1
    assert "请描述" in turns[0].replies[0].as_text()


async def test_a_delivery_that_failed_can_be_answered_by_its_retry(chat, monkeypatch):
    real = Engine._dispatch
    calls = []

    async def flaky(self, *args):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return await real(self, *args)

    monkeypatch.setattr(Engine, "_dispatch", flaky)
    msg = IncomingMessage(channel="web", account="", user="u-flaky", message_id="m-9", text="帮助")
    with pytest.raises(ConnectionError):
        await chat.engine.handle_turn(msg)
    turn = await chat.engine.handle_turn(msg)
    assert turn.first and "使用说明" in turn.replies[0].as_text()


def _claim(token: str, now: float, key: str = "platform:nonce:1") -> Claim:
    return Claim(key=key, token=token, now=now, ttl=300, retry_seconds=30)


async def test_a_platform_claim_opens_the_turn_once_and_refuses_replays(chat, world):
    """A platform's replay claim is taken as the turn opens: the same delivery again (its retry)
    gets the first replies; the key with another token, or the same token too late, is refused
    before the conversation, its rate or its retry record is touched."""
    msg = IncomingMessage(
        channel="wechat", account="demo", user="u-c", message_id="c-1", text="帮助"
    )
    first = await chat.engine.handle_turn(msg, _claim("digest-a", 1000.0))
    assert first.first and "使用说明" in first.replies[0].as_text()
    retry = await chat.engine.handle_turn(msg, _claim("digest-a", 1029.5))
    assert not retry.first and retry.replies == first.replies
    keys = set(await world.redis.keys("*"))
    other = IncomingMessage(
        channel="wechat", account="demo", user="u-victim", message_id="c-2", text="留言"
    )
    with pytest.raises(ClaimRefused):
        await chat.engine.handle_turn(other, _claim("digest-b", 1001.0))
    with pytest.raises(ClaimRefused):
        await chat.engine.handle_turn(msg, _claim("digest-a", 1030.5))  # later than a retry
    assert set(await world.redis.keys("*")) == keys  # nothing opened, counted or kept
    assert await world.redis.get("platform:nonce:1") == "digest-a:1000.0"
    assert 0 < await world.redis.ttl("platform:nonce:1") <= 300


async def test_a_claim_without_a_turn_is_taken_and_refused_alike(chat, world):
    await chat.engine.claim(_claim("digest-a", 1000.0, key="platform:nonce:2"))
    await chat.engine.claim(_claim("digest-a", 1030.0, key="platform:nonce:2"))  # a retry
    with pytest.raises(ClaimRefused):
        await chat.engine.claim(_claim("digest-b", 1000.0, key="platform:nonce:2"))
    with pytest.raises(ClaimRefused):
        await chat.engine.claim(_claim("digest-a", 1030.01, key="platform:nonce:2"))
    # A turn's claim and a bare one share their keys: neither path takes the other's.
    msg = IncomingMessage(
        channel="wechat", account="demo", user="u-d", message_id="d-1", text="帮助"
    )
    with pytest.raises(ClaimRefused):
        await chat.engine.handle_turn(msg, _claim("digest-c", 1000.0, key="platform:nonce:2"))


async def test_unknown_status_code(chat):
    assert "没有找到" in await chat.say("查询 ABCD-EFGH")


async def test_two_unsolved_answers_lead_to_a_letter(chat):
    await chat.say("社保卡怎么申领")
    out = await chat.say("2")
    assert "抱歉没能帮到您" in out
    await chat.say("社保卡怎么申领")
    out = await chat.say("未解决")
    assert "转给工作人员" in out and "社保卡怎么申领" in out


async def test_human_goes_straight_to_a_letter(chat):
    out = await chat.say("人工")
    # told first that no one chats live, so the letter is not taken for a queue
    assert out.index("目前没有在线人工客服") < out.index("请描述您要反映的问题")
    assert "太短" in await chat.say("路灯")
    await chat.say("取消")
    out = await chat.say("有没有人工客服")  # in the citizen's own words
    assert "目前没有在线人工客服" in out and "请描述您要反映的问题" in out
    await chat.say("取消")
    out = await chat.say("我要留言")  # a letter asked for: no word of a person
    assert "人工" not in out and "请描述您要反映的问题" in out


async def test_a_phone_number_alone_is_not_a_question(chat):
    """Sent after 无法准确回答 (as if the bot would call back), it is neither asked of the
    knowledge base and logged, nor the letter's content when the citizen then replies 1."""
    await chat.say("我家楼下烧烤店每天晚上油烟很大，找谁管")
    out = await chat.say("13812345678")
    assert "手机号请在留言时填写" in out and "无法准确回答" not in out
    out = await chat.say("1")  # the offer still stands: the letter is about the question
    assert "我家楼下烧烤店每天晚上油烟很大" in out and "13812345678" not in out
    assert await chat.flush_log() == 1  # the question alone
    assert not await Ask.filter(text__contains="1381234").exists()


async def test_cancel_in_the_middle_of_a_letter(chat):
    await chat.say("留言")
    await chat.say("我想反映一下公交站台的遮雨棚破损的问题")
    assert "已取消" in await chat.say("取消")
    assert await Letter.all().count() == 0


async def test_suggestions_are_numbered_and_a_number_gets_the_answer(chat):
    # One word: the citizen may mean applying for the permit or renewing it.
    out = await chat.say("居住证")
    assert "您是不是想问" in out
    labels = [c.label for c in chat.replies[-1].choices]
    # The entries' own questions, best first, then 0 for none of them.
    assert labels[:2] == ["怎么办理清源市居住证？", "居住证到期了怎么续签？"]
    assert chat.replies[-1].choices[-1].value == "0"
    assert "请回复 1 到" in await chat.say("9")  # out of range: asked again
    out = await chat.say("1")
    assert "【怎么办理清源市居住证？】" in out and "是否解决了您的问题" in out
    assert "感谢" in await chat.say("1")
    await chat.flush_log()
    logged = await Ask.filter(text="居住证").order_by("id")
    # The question as the matcher saw it, then as answered by the citizen's pick (and thanked).
    assert [a.decision for a in logged] == ["suggest", "answer"]
    assert logged[1].feedback == "helpful"


async def test_none_of_the_suggestions_leads_to_a_letter_about_the_question(chat):
    await chat.say("居住证")
    out = await chat.say("都不是")
    assert "「居住证」" in out and "内容完整请回复 1" in out


async def test_bad_mobile_is_asked_again(chat):
    await chat.say("留言")
    await chat.say("我想反映一下公交站台的遮雨棚破损的问题")
    await chat.say("1")
    await chat.say("1")
    await chat.say("李四")
    assert "格式不正确" in await chat.say("12345")
    assert "请确认" in await chat.say("13912345678")


async def test_questions_are_logged_without_contact_details(chat):
    await chat.say("我的电话13812345678，居住证怎么办")
    await chat.flush_log()
    ask = await Ask.all().order_by("-id").first()
    assert "13812345678" not in ask.text and "居住证" in ask.text


async def test_unsupported_message_types_get_a_polite_note(chat):
    assert "只能识别文字" in await chat.send(unsupported="图片")


async def test_rate_limit(world):
    chat = Chat(Engine(world), user="fast")
    for _ in range(world.settings.bot_rate_per_minute):
        await chat.say("帮助")
    assert "太快" in await chat.say("帮助")


async def sent_reply(letter: Letter, clock, text: str, settings) -> Outbox:
    """A reply as letters/ leaves it for the platform: sent, and queued in the outbox."""
    from letters.models import Reply as LetterReply
    from org.models import Staff

    author = await Staff.get(username="handler")
    reply = await LetterReply.create(
        letter=letter,
        text=text,
        status="sent",
        author=author,
        unit_id=author.unit_id,
        created_at=clock.now(),
        sent_at=clock.now(),
    )
    return await Outbox.create(
        letter=letter,
        reply=reply,
        channel=letter.channel,
        account_id=letter.account_id,
        platform_user_id=unseal(settings, letter.writer_sealed).platform_user_id,
        text=text,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
    )


async def test_a_waiting_reply_arrives_with_the_next_message(world, clock):
    wechat = Chat(Engine(world), user="openid-1", channel="wechat", account="demo")
    code = await leave_letter(wechat, "我家小区门口的路灯坏了三个月一直没人来修", mobile="")
    letter = await Letter.get(code=code.replace("-", ""))
    assert letter.account_id is not None
    row = await sent_reply(letter, clock, "路灯已于本周修复，感谢您的监督。", world.settings)
    # WeChat's 48-hour window has closed and the account has no template message: the delivery
    # job leaves the reply waiting for the next message.
    await world.redis.delete(last_seen_key("wechat", "demo", "openid-1"))
    assert await deliver_replies(world) == 0
    await row.refresh_from_db()
    assert row.status == "pending" and "等待群众下次发消息" in row.last_error
    out = await wechat.say("你好")
    assert "已有答复" in out and "路灯已于本周修复" in out and code in out
    await row.refresh_from_db()
    assert row.status == "sent"
    assert await LetterEvent.filter(letter_id=letter.id, action="reply_delivered").exists()
    assert "已有答复" not in await wechat.say("你好")  # delivered once


async def test_two_letters_without_message_ids_are_two_letters(world):
    """API clients may send no message id: each letter written is still its own letter."""
    from bot.types import IncomingMessage

    engine = Engine(world)

    async def say(text: str) -> str:
        msg = IncomingMessage(channel="web", account="", user="api-client-1", text=text)
        return "\n".join(r.as_text() for r in await engine.handle(msg))

    codes = []
    for content in ["小区东门外的路灯坏了两个星期没人修", "公交站台的遮雨棚破了一个大洞"]:
        for text in ["留言", content, "1", "1", "跳过", "跳过"]:
            await say(text)
        codes.append(CODE.search(await say("1")).group(1))
    assert codes[0] != codes[1]
    assert await Letter.all().count() == 2
