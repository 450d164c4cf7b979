"""Citizens' everyday words for the words a government knowledge base uses.

Citizens write "社保卡丢了咋补办"; the entry says "社会保障卡如何补换". The matcher applies this
lexicon to both sides (the knowledge base's questions and the citizen's text) inside
``knowledge.normalize.normalize``, so a mapping never has to be exact: it only has to send two
wordings of the same thing to one form and never send two different things to one form.

Each pair is (colloquial, formal). A pattern is a plain string, or a regular expression when it
needs a guard (``(?<!住房)公积金`` so that 住房公积金 is not expanded twice). Every colloquial form
was checked against the citizens' messages of a government message board (tests/knowledge/
test_lexicon.py counts them): words that are never written by citizens are not worth a rule,
except the few in UNSEEN, which the board's masked messages cannot show.
"""

from __future__ import annotations

import re
from functools import cache

# Longer patterns first within a group matters only where one contains another; the compiled
# alternation below is ordered by length, longest first.
PAIRS: tuple[tuple[str, str], ...] = (
    # lost, broken, expired
    ("弄丢了", "丢失"),
    ("丢了", "丢失"),
    ("不见了", "丢失"),
    ("找不到了", "丢失"),
    ("弄丢", "丢失"),
    ("遗失", "丢失"),
    ("弄坏了", "损坏"),
    ("坏了", "损坏"),
    ("过期了", "过期"),
    ("到期了", "到期"),
    # question words (the pair features compare these by type; the text should agree too)
    ("咋整", "怎么办"),
    ("咋办", "怎么办"),
    ("怎么弄", "怎么办理"),
    ("咋回事", "怎么回事"),
    ("咋", "怎么"),
    ("啥时候", "什么时候"),
    ("啥", "什么"),
    ("哪儿", "哪里"),
    ("能不能", "能否"),
    ("可不可以", "能否"),
    ("可以不", "能否"),
    ("行不行", "能否"),
    # doing things
    ("办个", "办理"),
    ("弄个", "办理"),
    ("开证明", "开具证明"),
    ("网上弄", "网上办理"),
    ("去哪办(?!理)", "在哪里办理"),
    ("在哪办(?!理)", "在哪里办理"),
    ("哪里办(?!理)", "哪里办理"),
    ("交社保", "缴纳社保"),
    ("社保怎么交", "社保怎么缴纳"),
    ("社保咋交", "社保怎么缴纳"),
    ("保险怎么交", "保险怎么缴纳"),
    ("保险咋交", "保险怎么缴纳"),
    ("交养老", "缴纳养老"),
    ("交公积金", "缴存住房公积金"),
    ("交住房公积金", "缴存住房公积金"),
    ("交费", "缴费"),
    ("交钱", "缴费"),
    ("交税", "缴税"),
    ("(?<!提)取公积金", "提取住房公积金"),
    ("公积金取出来", "提取住房公积金"),
    ("上户口", "落户"),
    ("迁户口", "户口迁移"),
    ("辞职", "离职"),
    ("被辞退", "解除劳动合同"),
    ("被开除", "解除劳动合同"),
    ("打官司", "诉讼"),
    ("上坟", "祭扫"),
    ("扫墓", "祭扫"),
    ("看病", "就医"),
    ("生娃", "生育"),
    ("生孩子", "生育"),
    ("买房", "购房"),
    ("验车", "机动车检验"),
    # people
    ("小孩子", "孩子"),
    ("小孩", "孩子"),
    ("娃", "孩子"),
    ("老人家", "老年人"),
    ("(?<!年)老人", "老年人"),
    ("没单位", "无单位"),
    ("没有单位", "无单位"),
    ("个体户", "个体工商户"),
    ("外地人", "非本市户籍人员"),
    ("打工", "务工"),
    # things, and the short names of documents and insurances
    ("社保卡", "社会保障卡"),
    ("医保卡", "社会保障卡"),
    ("(?<!住房)公积金", "住房公积金"),
    ("(?<!居民)身份证", "居民身份证"),
    ("驾照", "驾驶证"),
    ("户口本", "户口簿"),
    ("退休金", "养老金"),
    ("养老钱", "养老金"),
    ("罚单", "罚款"),
    ("违章", "违法"),
    ("房子", "房屋"),
    ("车子", "车辆"),
    ("手机号(?!码)", "手机号码"),
    ("电话号(?!码)", "电话号码"),
)


# Forms the message board's data cannot show (its messages are masked, and a few everyday words
# are missing from it) but citizens type to the bot: kept on purpose.
UNSEEN = frozenset(
    {
        "咋整",
        "扫墓",
        "没单位",
        "手机号",
        "电话号",
        "社保怎么交",
        "社保咋交",
        "保险怎么交",
        "保险咋交",
    }
)


def _pattern(colloquial: str) -> str:
    return colloquial if any(c in colloquial for c in "(?[\\") else re.escape(colloquial)


def _plain(colloquial: str) -> str:
    """The literal text of a pattern (its guard removed), for ordering and for the tests."""
    return re.sub(r"\(\?<?[!=][^)]*\)", "", colloquial)


@cache
def _by_first_char() -> dict[str, list[tuple[re.Pattern[str], str]]]:
    """Patterns by the first character of their text, longest first. Scanning the text and
    trying only the few patterns its character starts is many times faster than one regular
    expression of a hundred alternatives (which tries them all at every position)."""
    table: dict[str, list[tuple[re.Pattern[str], str]]] = {}
    for colloquial, formal in sorted(PAIRS, key=lambda p: len(_plain(p[0])), reverse=True):
        table.setdefault(_plain(colloquial)[0], []).append(
            (re.compile(_pattern(colloquial)), formal)
        )
    return table


def formalize(text: str) -> str:
    """Replace colloquial words by their formal form (one left-to-right pass, longest first)."""
    if not text:
        return text
    table = _by_first_char()
    out: list[str] = []
    i = done = 0
    n = len(text)
    while i < n:
        candidates = table.get(text[i])
        if candidates:
            for pattern, formal in candidates:
                m = pattern.match(text, i)  # lookbehind guards see the text before i
                if m:
                    out.append(text[done:i])
                    out.append(formal)
                    i = done = m.end()
                    break
            else:
                i += 1
            continue
        i += 1
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def colloquial_forms() -> list[str]:
    return [_plain(c) for c, _ in PAIRS]
