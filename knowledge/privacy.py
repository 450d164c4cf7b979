"""Masking of citizens' personal details in text that is kept (000 §34; 001 §25).

What the bot logs and what becomes a knowledge-base entry must not identify the person who asked:
mobile and landline numbers, ID card numbers, e-mail addresses, bank cards and other long digit
runs, QQ / WeChat ids, car plates, house numbers, and names that follow "我叫" / "我是" and the
like all become "***". Masking errs on the side of hiding a little too much: a question is still
understood without the number of the flat it was asked from.
"""

from __future__ import annotations

import re

MASK = "***"

# Full-width digits, letters and the signs of addresses and numbers, as citizens type them on
# phone keyboards: folded first so that one set of patterns covers both forms. Full-width
# punctuation ("，", "：") stays as written.
_HALF_WIDTH = {
    cp: cp - 0xFEE0
    for cp in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
    + [ord(c) for c in "＠＋－．＿％"]
}
_HAN = r"\u4e00-\u9fff"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# 18-digit (last may be X) and old 15-digit ID card numbers; before the digit-run rule, which
# would leave a trailing X behind.
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(?:\(?0\d{2,3}\)?[\s-]?)?[2-9]\d{6,7}(?!\d)")
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


def _fold(text: str) -> str:
    return text.translate(_HALF_WIDTH).replace("\u3000", " ")


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
    out = _EMAIL.sub(MASK, out)
    out = _IM_ID.sub(lambda m: m.group(1) + MASK, out)
    for pattern in (_ID_CARD, _MOBILE, _PLATE, _LANDLINE, _HOUSE, _DIGITS):
        out = pattern.sub(MASK, out)
    return _INTRO.sub(_name, out)
