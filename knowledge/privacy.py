"""Masking of citizens' personal details in text that is kept (000 §34; 001 §25).

What the bot logs and what becomes a knowledge-base entry must not identify the person who asked:
mobile and landline numbers, ID card numbers, e-mail addresses, bank cards and other long digit
runs (also with dots and in spoken Chinese digits, "幺三九…"), QQ / WeChat ids, car plates, house
numbers, names that follow "我叫" / "我是" and the like, and a bare name opening the message
("王小明的…") all become "***". Masking errs on the side of hiding a little too much: a question is
still understood without the number of the flat it was asked from.
"""

from __future__ import annotations

import re

from knowledge.normalize import ensure_jieba

MASK = "***"

# Full-width digits, letters and the signs of addresses and numbers, as citizens type them on
# phone keyboards: folded first so that one set of patterns covers both forms. Full-width
# punctuation ("，", "：") stays as written.
_HALF_WIDTH = {
    cp: cp - 0xFEE0
    for cp in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
    + [ord(c) for c in "＠＋－．＿％"]
}
# whether a text holds any of them: most hold none, and translate() reads every character
_FOLDED = re.compile("[" + re.escape("".join(map(chr, _HALF_WIDTH))) + "\u3000]")
_HAN = r"\u4e00-\u9fff"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# 18-digit (last may be X) and old 15-digit ID card numbers; before the digit-run rule, which
# would leave a trailing X behind.
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
# Citizens separate the groups of a number with spaces, hyphens, dots or middle dots
# ("139.1234.9878", "0591-8765-4321").
_SEP = r"[\s.\-·－—]"
_MOBILE = re.compile(rf"(?<!\d)(?:\+?86{_SEP}?)?1[3-9]\d(?:{_SEP}?\d{{4}}){{2}}(?!\d)")
_LANDLINE = re.compile(rf"(?<!\d)(?:\(?0\d{{2,3}}\)?{_SEP}?)?[2-9]\d{{6,7}}(?!\d)")
# "0591-8765-4321": grouped local numbers only after an area code ("500-1000" is a range).
_LANDLINE_GROUPED = re.compile(rf"(?<!\d)\(?0\d{{2,3}}\)?{_SEP}?[2-9]\d{{2,3}}{_SEP}\d{{4}}(?!\d)")
# Card numbers written in groups of four: "6222 0212 3456 7890".
_CARD = re.compile(r"(?<!\d)\d{4}(?:[\s-]\d{4}){2,}\d{0,3}(?!\d)")
# Numbers spoken in Chinese digits ("幺三九一二三四九八八零"), possibly mixed with Arabic ones:
# seven digits or more in a row hold a phone, ID or card number, never an ordinary word.
_CN_DIGITS = "〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖"
_SPOKEN = re.compile(rf"(?:[{_CN_DIGITS}0-9][ -]?){{6,}}[{_CN_DIGITS}0-9X]")
_IM_ID = re.compile(
    r"(?i)(QQ|微信号?|wechat|vx|v信)\s*(?:号码?|号)?\s*[:：是为]?\s*[A-Za-z0-9][-_A-Za-z0-9]{4,19}"
)
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领]"
    r"\s*[A-Za-z][\s·.-]?[A-Za-z0-9]{5,6}(?![A-Za-z0-9])"
)
# House numbers: "幸福路12号3栋2单元501室", "A座1203室". Not "地铁1号线" nor a document
# number such as "〔2018〕123号".
_HOUSE_PART = (
    r"[A-Za-z]?\d+[A-Za-z]?(?:-\d+)?\s*(?:号楼|号院|号(?![线文令])|栋|幢|座|单元|室|楼|层|户)"
)
_HOUSE = re.compile(rf"(?<![〕\]）)第\d])(?:{_HOUSE_PART}[\s,，]*)+")
_DIGITS = re.compile(r"\d{7,}")
# In the order they run: an ID card before the digit-run rule, which would leave its X behind.
_NUMBER_RULES = (_ID_CARD, _CARD, _MOBILE, _LANDLINE_GROUPED, _PLATE, _LANDLINE)
_FOUR_DIGITS = re.compile(r"\d{4}")
# what a house number needs: a digit before one of its words
_HOUSE_HINT = re.compile(r"\d[A-Za-z]?(?:-\d+)?\s*[号栋幢座单室楼层户]")
# what an instant-messaging id's label holds, tested before its pattern (as substrings of the
# lowered text: a third of an ignore-case search's time)
_IM_LABELS = ("微信", "qq", "wechat", "vx", "v信")


def _labels_im(text: str) -> bool:
    low = text.lower()
    return any(label in low for label in _IM_LABELS)


# what an ID card or a local number needs: seven digits in a row
_SEVEN_DIGITS = re.compile(r"\d{7}")
_NEEDS_SEVEN = (_ID_CARD, _LANDLINE)

# A name after the person introduces themselves. "我是" introduces many things ("我是退休职工"),
# so it counts only when a common surname follows.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_COMPOUND_SURNAMES = {
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "慕容",
    "令狐",
    "夏侯",
    "尉迟",
    "公孙",
    "长孙",
    "宇文",
    "司徒",
    "端木",
    "独孤",
    "南宫",
    "西门",
    "呼延",
    "轩辕",
}
_NAME_STOP = set("想要请问是在的住家来有和与我您你他她电手联身地今去因咨反投举需办，,。.！!？?、 ")
_INTRO = re.compile(
    r"(我叫|我的名字(?:是|叫)|名字叫|本人(?:姓名|名叫|叫|是)|姓名(?:是|为|[:：])?|我是|我姓)"
    rf"\s*([{_HAN}]{{1,4}})"
)


# A bare name opening the message ("王小明的社保卡…", "张伟，想问…"): a surname and one or two
# characters before 的 or a pause, confirmed by jieba tagging it a person's name (nr), so that
# "时间的…", "项目，…" or a place ("张家界的…", "高新区的…") stay as written.
_BARE_NAME = re.compile(
    rf"^(\s*)((?:{'|'.join(sorted(_COMPOUND_SURNAMES))}|[{_SURNAMES}])[{_HAN}]{{1,2}})"
    r"(?=的|[，,：:、\s])"
)
_PLACE_END = set("区县市镇乡村省路街巷山河湖江海界州城园院馆局委厅部处站所队")
# An official addressed by title ("陈市长，", "蔡书记，") is not the writer.
_TITLES = ("长", "书记", "主任", "老师", "医生", "同志", "先生", "女士", "师傅", "经理", "主席")


def _bare_name(text: str) -> str:
    match = _BARE_NAME.match(text)
    if not match or match.group(2)[-1] in _PLACE_END or match.group(2).endswith(_TITLES):
        return text
    import jieba.posseg

    ensure_jieba()
    first = next(iter(jieba.posseg.cut(text[match.start(2) : match.end(0) + 6])))
    named = first.word == match.group(2) and first.flag.startswith("nr")
    if not named and first.word not in _COMPOUND_SURNAMES:
        return text
    return match.group(1) + MASK + text[match.end(0) :]


def _fold(text: str) -> str:
    if _FOLDED.search(text) is None:
        return text
    return text.translate(_HALF_WIDTH).replace("\u3000", " ")


def _spoken(match: re.Match[str]) -> str:
    run = match.group(0)
    # Mostly Arabic runs are the other rules' (a list number "二" before a date is not a phone).
    return MASK if sum(c in _CN_DIGITS for c in run) >= 4 else run


def _name(match: re.Match[str]) -> str:
    intro, following = match.group(1), match.group(2)
    if intro == "我姓":
        return intro + MASK + following[1:]
    if intro in ("我是", "本人是") and following[0] not in _SURNAMES:
        return match.group(0)
    # A Chinese name is two or three characters; stop early at a word that starts the question.
    start = 2 if following[:2] in _COMPOUND_SURNAMES else 1
    length = min(start + 1, len(following))
    if len(following) > length and following[length] not in _NAME_STOP:
        length += 1
    return intro + MASK + following[length:]


def mask_personal(text: str) -> str:
    """``text`` with personal details replaced by "***" (idempotent)."""
    if not text:
        return ""
    out = _fold(text)
    if "@" in out:
        out = _EMAIL.sub(MASK, out)
    if _labels_im(out):
        out = _IM_ID.sub(lambda m: m.group(1) + MASK, out)
    out = _SPOKEN.sub(_spoken, out)
    # Each rule below but the plate needs a digit, all but the house number four in a row, and
    # a rule only ever puts "***" where digits were: a text without them is left as every rule
    # would leave it (three in four citizens' messages; skipping saves half the masking's time).
    has_four = _FOUR_DIGITS.search(out) is not None
    if has_four:
        for pattern in _NUMBER_RULES:
            if pattern not in _NEEDS_SEVEN or _SEVEN_DIGITS.search(out):
                out = pattern.sub(MASK, out)
    else:
        out = _PLATE.sub(MASK, out)
    if _HOUSE_HINT.search(out):
        out = _HOUSE.sub(MASK, out)
    if has_four:
        out = _DIGITS.sub(MASK, out)
    return _bare_name(_INTRO.sub(_name, out))
