"""What a short message asks of the bot itself rather than of the knowledge base: a greeting or
thanks, writing a letter, a person, a letter's progress, a lost tracking code.

The patterns match the whole message (after punctuation and closing particles are dropped), so
that a question mentioning the same words still goes to the knowledge base: 我想留言 is the
letter, 怎么投诉物业乱收费 is a question, 查询进度 asks for a tracking code, 公积金提取进度
怎么查 is a question. The exact words the bot has always known (留言, 人工, 查询 CODE …) are
matched by the engine itself, at every step; these only where a new question may start."""

from __future__ import annotations

import re

from bot import texts

# punctuation anywhere, and the particles that end a spoken sentence (你好呀, 谢谢啦)
_PARTICLES = re.compile(
    r"[\s。.!！,，?？~～…、:：;；\"'“”‘’()（）]+|(?<=.)[啊呀哈吖啦呢哦噢喔嘛]+$"
)
_ACKS = ("好的", "嗯", "哦")
# what may open a request: 请问, or a reply to what the bot said (好的，我要留言)
_LEADS = ("请问", "好的那", "好的", "那我", "那么", "嗯", "那", "好", "行")
_GREETINGS = sorted(texts.GREETING_WORDS, key=len, reverse=True)  # the longest first

_WANT = r"(?:请|麻烦)?(?:帮我|给我)?(?:我|本人)?(?:想|要|想要|需要|能|可以|能不能|可不可以)?"
_TO_WHOM = r"(?:给(?:你们|政府|市长|书记|领导|有关部门|相关部门|部门))?"
_LETTER_ACT = (
    r"(?:留言|留个言|写信|写封信|写个信|来信|反映(?:一下)?(?:个|一个)?(?:问题|情况)?|投诉(?:一下)?"
    r"|举报(?:一下)?|提(?:个|一个|点)?(?:建议|意见)|(?:有|有个|有一个|有些|有点)(?:建议|意见))"
)
LETTER = re.compile(
    rf"{_WANT}(?:在这里?|在这儿|在线|在网上)?{_TO_WHOM}{_LETTER_ACT}"
    rf"|(?:请问)?(?:怎么|怎样|如何|在哪|在哪里|在哪儿|哪里|去哪|去哪里)(?:能|可以)?{_TO_WHOM}"
    r"(?:留言|写信|投诉|举报|反映问题|反映情况|提建议|提意见)"
    r"|(?:市长|书记|领导|区长|县长)(?:信箱|热线)|(?:建议|意见)(?:箱|信箱)?"
)
HUMAN = re.compile(
    rf"{_WANT}(?:转|找|联系|接|转接)?(?:个|一个)?(?:人工|真人)(?:服务|客服|坐席|回复|回答)?"
    r"|(?:有没有|有)(?:人工|真人)(?:客服|服务)?(?:吗)?|(?:人工|客服)在(?:吗|不在)"
    rf"|{_WANT}(?:找|联系|转)客服"
)
_MINE = r"(?:我的|我)?(?:留言|来信|信件|投诉|诉求|反映的问题|问题|件)?(?:的)?"
STATUS = re.compile(
    r"(?:我想|我要|请|帮我|麻烦|请帮我|麻烦帮我)?(?:查询|查|查看|看看|看|问问|问)(?:一下)?"
    rf"{_MINE}(?:办理|处理|回复)?(?:进度|进展|情况|结果|答复|回复|状态)"
    rf"|{_MINE}(?:办理|处理)?(?:得|的)?(?:怎么样|咋样|如何|到哪一?步|有结果|有回复|有答复|有进展)"
    r"(?:了)?(?:吗|没|没有)?"
    r"|(?:我的)?(?:留言|来信|投诉|诉求)(?:有)?(?:人管|人处理|人看|回复|答复|结果)(?:了)?(?:吗|没|没有)?"
    r"|(?:办理|留言|处理)?进度(?:查询)?|(?:留言|来信|进度)查询|怎么查(?:询)?(?:留言|进度)"
)
FORGOT_CODE = re.compile(
    r"(?:我的)?(?:跟踪码|查询码)(?:忘了|忘记了?|丢了|找不到了?|不见了|没记住|没保存)(?:怎么办|咋办)?"
    r"|(?:我)?忘(?:了|记了?)(?:我的)?(?:跟踪码|查询码)(?:了)?(?:怎么办|咋办)?"
    r"|(?:跟踪码|查询码)(?:是什么|在哪里?|在哪儿|怎么看|去哪找|哪里找)"
)
# a tracking code inside a request for progress (查询进度 7KQ2M-XP4RT)
CODE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z0-9]{5}-?[A-Za-z0-9]{5})(?![A-Za-z0-9])")

MAX_LENGTH = 24  # longer messages say more than a request: the knowledge base, or a letter


# Every request below holds one of these; a message without any is not looked at further.
_KEYS = re.compile(
    r"留|写|信|反映|诉|举报|建议|意见|人工|真人|客服|进度|进展|码|回复|答复|结果|情况|状态|样|如何|到哪"
)
_GREETING = re.compile("|".join(map(re.escape, _GREETINGS)))  # the longest that fits
_LEAD = re.compile("|".join(map(re.escape, _LEADS)))
_AFTER_GREETING = (texts.GREETING_WORDS, texts.OPENER_WORDS, texts.WHO_WORDS)
_OPENER = re.compile("|".join(map(re.escape, sorted(texts.OPENER_WORDS, key=len, reverse=True))))
# A report rather than a question (我要举报有人乱倒垃圾): what it says needs a unit, not an answer.
REPORT = re.compile(
    r"(?:我|本人)?(?:要|想|想要)?(?:举报|投诉|反映|检举)"
    r"(?!电话|热线|方式|渠道|途径|流程|怎么|如何|在哪|哪里|找谁|去哪)"
)


# Emoji as WeChat sends its own ([强], [抱拳], /::)) and as pictographs (👍): a message of only
# these and punctuation says no words. Approval among them is thanks.
_EMOJI_CODE = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,4}\]|/:[^\s/]{1,8}")
_APPROVAL = (
    "👍",
    "👌",
    "🙏",
    "🤝",
    "[强]",
    "[ok]",
    "[抱拳]",
    "[握手]",
    "[好的]",
    "[谢谢]",
    "[胜利]",
)


def wordless(text: str) -> str | None:
    """ "thanks" for a message of only approving emoji (👍, [强]), "empty" for one of only other
    emoji or punctuation (？？？, 😂); None when it has a word, a letter or a digit."""
    if any(ch.isalnum() for ch in _EMOJI_CODE.sub("", text)):
        return None
    lower = text.lower()
    return "thanks" if any(a in lower for a in _APPROVAL) else "empty"


def plain(text: str) -> str:
    """The message without punctuation, spaces and closing particles, lowercased."""
    return _PARTICLES.sub("", _PARTICLES.sub("", text.lower()))


def read(text: str) -> tuple[str, str | None] | None:
    """What a short message asks of the bot itself: (kind, a tracking code or None), kind one of
    wordless's, small_talk's or request's; None for a message to take to the knowledge base."""
    if len(text) > MAX_LENGTH:
        return None
    if kind := wordless(text):
        return kind, None
    code, rest = _code(text)
    word = plain(rest)
    if code is None and (talk := _talk(word)):
        return talk, None
    return _request(word, code)


def reports(text: str) -> bool:
    """Whether a message opens as a report (我要投诉楼下烧烤店太吵), not a question."""
    return REPORT.match(text.strip()) is not None


def small_talk(text: str) -> str | None:
    """Whether a message is only small talk: "greeting" when it greets or opens (你好呀, 在吗？,
    您好，我想咨询一下), "thanks" for thanks, an acknowledgement or a goodbye (谢谢！, 好的,
    再见); None for anything else, a greeting before a question included."""
    return _talk(plain(text)) if len(text) <= MAX_LENGTH else None


def request(text: str) -> tuple[str, str | None] | None:
    """("letter" | "human" | "status" | "forgot_code", a tracking code or None) for a message
    that only asks the bot for that, after an optional greeting (你好，我想留言); else None."""
    if len(text) > MAX_LENGTH:
        return None
    code, rest = _code(text)
    return _request(plain(rest), code)


def _code(text: str) -> tuple[str | None, str]:
    """A tracking code in the message, and the message without it."""
    found = CODE.search(text)
    if found is None:
        return None, text
    # written as shown (7KQ2M-XP4RT), or run together with a digit in it (not an English word)
    if "-" not in found.group(1) and not any(c.isdigit() for c in found.group(1)):
        return None, text
    return found.group(1).upper(), text[: found.start()] + text[found.end() :]


def _talk(word: str) -> str | None:
    if word in texts.THANKS_WORDS or any(
        word.startswith(a) and word[len(a) :] in texts.THANKS_WORDS for a in _ACKS
    ):
        return "thanks"
    if any(word in words for words in _AFTER_GREETING):
        return "greeting"
    # a greeting or an opener, then another (你好，在吗; 请问在吗; 您好，你是机器人吗)
    opening = _GREETING.match(word) or _OPENER.match(word)
    if opening and any(word[opening.end() :] in words for words in _AFTER_GREETING):
        return "greeting"
    return None


def _request(word: str, code: str | None) -> tuple[str, str | None] | None:
    if code is not None and not word:  # the code alone, pasted from the SMS: its progress
        return "status", code
    if not _KEYS.search(word):
        return None
    if (greeting := _GREETING.match(word)) and greeting.end() < len(word):
        word = word[greeting.end() :]
    if (lead := _LEAD.match(word)) and lead.end() < len(word):  # 好的，我要留言; 那我查一下进度
        word = word[lead.end() :]
    if FORGOT_CODE.fullmatch(word):
        return "forgot_code", None
    if STATUS.fullmatch(word):
        return "status", code
    if code is not None:
        return None  # a code with other words: not ours to guess
    if HUMAN.fullmatch(word):
        return "human", None
    if LETTER.fullmatch(word):
        return "letter", None
    return None
