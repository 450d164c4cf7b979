"""The part of a citizen's message that the matcher reads.

Knowledge-base questions are short (the fitting sets' queries hold at most 36 characters), but
most messages citizens send are long: a median of 135 characters, describing a situation before
asking. Matched whole, such a message is outside everything the model was fitted on, so it
drew confident nonsense (a complaint about a car park "suggested" 如何查询充电桩？ at 0.01), and
its hundreds of terms made it the most expensive thing the bot did.

A long message is matched by its question: the first sentence that asks something, trimmed from
its start to the last clauses that fit. A long message that asks nothing is a letter's material,
not a question for the knowledge base: it is not matched at all.

A short message that only names its subject (我想问下公积金的事, 社保方面的问题, 咨询居住证) is
also matched by the subject alone when matched whole it finds nothing (knowledge/matcher.py).

A message that names no subject at all, only what is asked about it (要带什么材料, 去哪里办,
多少钱, 可以网上办吗), is never answered on its own: every entry has materials and a place, and
the matcher picked one at 0.96. In a conversation such a message, and any short one naming no
thing that was not named before (丢了怎么办, 那新生儿呢), asks about what was asked just before,
and is matched with its words (``leans_on``, ``with_matter``; ``Matcher.follow_up``); alone,
the citizen is asked which matter it is about (bot/engine.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

from knowledge.grouping import NO_CONTENT
from knowledge.normalize import normalize, pos_tag, words

# Messages up to this many characters are matched whole, as the knowledge base's questions are.
FOCUS_CHARS = 40
# Sentences end at these (a question mark stays with its sentence).
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")
_CLAUSE = re.compile(r"[^，,、：:]+[，,、：:]*")
_QUESTION = re.compile(
    r"[？?]|吗|呢|怎么|怎样|如何|哪|什么|啥(?!的)|咋|是否|能否|可否|可不可以|能不能|有没有|有无|是不是"
    r"|会不会|多少|多久|多长|几(?<![前这那好十]几)[个天年月次号岁级]|为什么|为何|何时|何地|请问"
)  # every branch opens with a character (几's lookbehind after it): re skips to those at once
_MARKED = re.compile(r"[？?]")
# A sentence this short ("可以吗？") asks about what came before: it keeps the sentence before it.
_TOO_SHORT = 6


# What wraps a subject: 我想问下 / 咨询一下 / 请问 before it (关于 only with an ending), and an
# ending after it: 的问题 / 方面的政策, and 的事 / 的情况 only after such an opening (让我感动的事
# is a subject of its own).
_ASKING = re.compile(
    r"(?:(?:你好|您好)[，,！!]?)?"
    r"(?:请问|(?:我想|我要|想|麻烦)(?:问问?|咨询|了解|打听|请教)|问问|问一下|问下|咨询|了解|打听|请教)"
    r"(?:一下|下)?(?:关于)?"
)
_ABOUT = re.compile(
    r"(?:关于)?(.+?)(?:(?:方面|这块|这方面|相关)的?|的)(?:问题|政策|业务)[。.！!]*$"
)
_ABOUT_ASKED = re.compile(r"(.+?)(?:(?:方面|这块|这方面|相关)的?|的)(?:事|事情|情况)[。.！!]*$")
_NOT_A_SUBJECT = re.compile(r"谁")
_SUBJECT_CHARS = (2, 16)


# Words that say which aspect of a matter is asked (materials, place, time, cost, channel), or
# that lead on from what was said before. With the question words of knowledge.grouping, a
# message of nothing else names no matter.
ASPECT_WORDS = frozenset(
    {
        "材料", "资料", "手续", "证件", "证明", "条件", "要求", "标准", "流程", "程序", "步骤",
        "地点", "地方", "地址", "窗口", "时间", "时候", "多久", "多长时间", "几天", "期限",
        "费用", "钱", "多少钱", "收费", "免费", "网上", "线上", "手机",
        "带", "准备", "提交", "交", "东西", "哪些", "些", "多", "长", "久", "天", "上", "个",
        "办完", "办好", "拿到", "下来", "那", "那么", "这个", "这", "那个", "还有", "另外",
    }
)  # fmt: skip
# The office addressed is a matter of its own: 你们电话多少, 你们在哪里办公.
_ADDRESSED = frozenset({"你", "你们", "您"})
_NO_MATTER = (NO_CONTENT - _ADDRESSED) | ASPECT_WORDS
_NO_MATTER_CHARS = frozenset("".join(_NO_MATTER)) | {" "}
# jieba's tags of words naming a thing (nouns, names, abbreviations such as 居住证) and of words it
# does not know ("x"): a follow-up naming one asks about that, not about the matter before it
_THING_TAGS = frozenset("njx")
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
# A message this short may lean on the conversation for its subject (那新生儿呢, 补办要带什么材料).
FOLLOW_UP_CHARS = 16


def names_no_matter(text: str) -> bool:
    """Whether ``text`` asks only an aspect, of no matter it names: 要带什么材料, 去哪里办."""
    if len(text) > FOLLOW_UP_CHARS:
        return False
    norm = normalize(text)
    if not _NO_MATTER_CHARS.issuperset(norm):  # a character no such word has: no need to cut
        return False
    said = [w for w in words(norm) if w.strip()]
    return bool(said) and all(w in _NO_MATTER for w in said)


def matter_words(text: str) -> set[str]:
    """The words of ``text`` (normalised) that are neither question words nor aspects."""
    return {w for w in words(normalize(text)) if w.strip() and w not in _NO_MATTER}


def may_follow(text: str) -> bool:
    """Whether ``text`` is short enough to lean on what was asked before, and in words (a stray
    3 or ok asks about nothing)."""
    return len(text) <= FOLLOW_UP_CHARS and _CHINESE.search(text) is not None


def leans_on(text: str, about: str) -> bool:
    """Whether a short ``text`` may ask about the matter of ``about`` (the question answered just
    before): when it names no thing that ``about`` does not (要带什么材料; 补办要带什么材料 after
    社保卡丢了怎么挂失补办; 丢了怎么办 or 到期了要多久 after 怎么办理居住证: what happens to a
    thing, not another thing), or is a bare 那……呢 (那新生儿呢). 公积金能贷多少 after the social
    security card names a thing of its own; so does a word jieba does not know."""
    if not may_follow(text):
        return False
    said = text.strip(" ？?。.！!，,～~")
    if said.endswith("呢"):
        bare = said[:-1].removeprefix("那么").removeprefix("那")
        if bare and not _QUESTION.search(bare):
            return True
    return not any(pos_tag(w)[0] in _THING_TAGS for w in new_words(said, about))


# What a reply naming a matter may wrap it in: 是社保卡的, 就是居住证吧, 办理居住证.
_MATTER_REPLY = re.compile(
    r"^(?:我要办理|我想办理|我要办|我想办|就是|办理|是|办)?(.+?)(?:的事|的|吧|啊|呀|哈)?$"
)
_TRIM = " ？?。.！!，,～~"


def with_aspect(reply: str, aspect: str) -> str | None:
    """A short reply naming the matter that an aspect asked alone was about (社保卡补办, or
    是居住证的, after 要带什么材料 and the question which matter it is), read with the aspect:
    社保卡补办要带什么材料. None for a reply that asks something of its own (公积金怎么提取 is
    asked as it is), names no matter either, or is long."""
    said = reply.strip(_TRIM)
    if not may_follow(said) or _QUESTION.search(said) or names_no_matter(said):
        return None
    named = _MATTER_REPLY.match(said)
    matter = named.group(1) if named else said
    return matter + aspect.strip(_TRIM)


def as_follow_up(about: str, text: str) -> str:
    """How a follow-up that leans on ``about`` is logged and shown: 怎么办理居住证：办下来要多久
    (办下来要多久 alone tells staff nothing)."""
    return text if text in about else f"{about.rstrip(_TRIM)}：{text}"


def new_words(text: str, about: str) -> set[str]:
    """The words of ``text`` that name something ``about`` does not (normalised): 到期 for
    到期了怎么办 after 怎么办理居住证; none for 补办要带什么材料 after 社保卡丢了怎么挂失补办."""
    return matter_words(text.strip(" ？?。.！!，,～~")) - matter_words(about)


def with_matter(about: str, text: str) -> str:
    """A short follow-up read with the matter of the question it follows: 社保卡丢了怎么挂失补办
    and 要带什么材料 as 社会保障卡丢失挂失补办要带什么材料 (``about``'s words without its
    question words, then the citizen's own)."""
    matter = "".join(w for w in words(normalize(about)) if w.strip() and w not in NO_CONTENT)
    return matter + text


def subject(text: str) -> str | None:
    """What a short message that only names its subject is about: 公积金 for 我想问下公积金的事;
    None for any other message (a question, 请问社保卡丢了怎么办, stays whole)."""
    opened = _ASKING.match(text)
    body = text[opened.end() :] if opened else text
    about = _ABOUT.match(body) or (_ABOUT_ASKED.match(body) if opened else None)
    if about:
        body = about.group(1)
    elif not opened:
        return None
    body = body.strip(" ，,：:。.！!")
    if not _SUBJECT_CHARS[0] <= len(body) <= _SUBJECT_CHARS[1]:
        return None
    if _QUESTION.search(body) or _NOT_A_SUBJECT.search(body):
        return None
    return body


# Words that ask, besides the question words: a short message holding one is a question.
_ASKS = re.compile(r"问|咨询|了解|打听|请教|想知道|谁|求教")
# A short message without a question word but with this many Chinese characters states something
# (路灯坏了一个星期了); a shorter one may be a bare subject (居住证), which is a question, and
# letters alone (asdfgh) state nothing.
_STATEMENT_CHARS = 6
_HAN = re.compile(r"[\u4e00-\u9fff]")


def asks_nothing(text: str) -> bool:
    """Whether a message only states something (a report, a complaint, a suggestion): a long
    one whose sentences ask nothing (``focus``), or a short one with no question word and no
    asking verb that is more than a bare subject. Of citizen-messages.jsonl's messages of at most
    40 characters, 154 of the 177 that read so were filed as 建言 or 投诉/求助 (87 %), and 66 of
    the 574 that ask (11 %)."""
    text = text.strip()
    if len(text) > FOCUS_CHARS:
        return focus(text) is None
    if _QUESTION.search(text) or _ASKS.search(text):
        return False
    return len(_HAN.findall(text)) >= _STATEMENT_CHARS


def focus(text: str, limit: int = FOCUS_CHARS) -> str | None:
    """``text`` itself when it is short; for a long message its first question, at most
    ``limit`` characters; None when a long message asks nothing."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return _long_focus(text, limit)


# A long message's focus is read up to three times in its turn (the matcher's decision, whether
# it asks nothing, what the next message may follow), by turns interleaved with others'.
@lru_cache(maxsize=256)
def _long_focus(text: str, limit: int) -> str | None:
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    # a question mark is the surest sign; words like 怎么 also occur in statements
    for asks in (_MARKED.search, _QUESTION.search):
        for i, sentence in enumerate(sentences):
            if not asks(sentence):
                continue
            if len(sentence.rstrip("。！？!?；;")) < _TOO_SHORT and i > 0:
                sentence = sentences[i - 1] + sentence
            return _around(sentence, limit)
    return None


def _around(sentence: str, limit: int) -> str:
    """The clause of a long sentence that asks, with the clauses before it that fit in
    ``limit`` characters: a citizen says who and where first ("我是某小区住户，请问……")."""
    if len(sentence) <= limit:
        return sentence
    clauses = _CLAUSE.findall(sentence)
    at = next((i for i, c in enumerate(clauses) if _QUESTION.search(c)), len(clauses) - 1)
    kept = clauses[at][-limit:]
    for clause in reversed(clauses[:at]):
        if len(kept) + len(clause) > limit:
            break
        kept = clause + kept
    return kept
