"""Grouping the questions the bot could not answer, for staff to fold back into the knowledge base.

Citizens ask one thing in many words: "我社保卡丢了", "社保卡怎么补办", "我社保卡不见了咋整啊". The
matcher's normalisation (``knowledge.normalize``: traditional to simplified, greetings and
particles dropped, colloquial words to the knowledge base's) makes them closer; here the words that
carry no content for staff (question words, pronouns, modal and light verbs such as 办理 / 申请)
are dropped as well, and the words that name one matter are read as one (a lost card is the
matter of re-issuing it). Two questions are one group when what remains is the same, or nearly
the same, set of words, in any order; a different action on the same thing ("居住证怎么注销" /
"怎么办理居住证") stays apart.
"""

from __future__ import annotations

from collections import Counter

from rapidfuzz import fuzz

from knowledge.normalize import normalize, words

# Near-identical contents: similarity (0-100) of the content words, sorted and joined.
SAME_QUESTION = 85
RARE_GRAMS = 4

# Words that say how or whether something is asked, who asks, or that something is to be done,
# not what about (jieba's words of normalised text, after the lexicon).
NO_CONTENT = frozenset(
    {
        # question words
        "怎么", "怎么办", "怎样", "如何", "咋", "咋办", "咋整", "整", "什么", "啥", "哪里",
        "哪儿", "哪",
        "在哪", "在哪里", "哪个", "哪些", "多少", "几", "吗", "么", "能否", "是否", "能不能",
        "可不可以", "是不是", "有没有", "要不要", "为什么", "为啥", "什么样", "怎么样",
        "怎么回事", "请问", "问", "问问", "咨询", "了解", "一下", "下",
        # people asking
        "我", "你", "您", "我们", "你们", "咱", "咱们", "俺", "本人", "自己",
        # particles and modal verbs
        "的", "了", "啊", "呀", "吧", "呢", "嘛", "哦", "着", "过", "地", "得", "啦",
        "要", "需要", "想", "想要", "能", "可以", "会", "应该", "该", "必须", "还", "就", "都",
        "也", "又", "再", "请", "麻烦", "帮", "帮忙", "现在", "一直", "来", "出来",
        # light verbs and prepositions: "怎么办理居住证" asks about the 居住证
        "办理", "办", "弄", "搞", "申请", "申领", "去", "在", "到", "找", "给", "把", "被",
        "和", "跟", "与", "及", "或",
    }
)  # fmt: skip

# Words naming one matter, read as its first word: 丢失 and 补办 are one matter for staff, as are
# 过期 and 续签. (The matcher's lexicon sends 丢了 / 不见了 to 丢失 already; listed here as well,
# grouping does not depend on it.)
MATTERS = (
    ("补办", "丢失", "丢", "掉", "不见", "找不到", "遗失", "补领", "补发", "补卡", "补",
     "挂失", "补换", "损坏", "换卡", "更换"),
    ("续期", "过期", "到期", "续签", "签注", "延期", "续办"),
    ("缴纳", "交", "缴", "缴费", "交费", "缴交", "缴存"),
    ("提取", "支取", "取出", "取"),
)  # fmt: skip
_MATTER = {w: group[0] for group in MATTERS for w in group}


def content_key(text: str) -> str:
    """The content words of a question, each matter as one word, sorted and joined: the same
    key for the same question in other words. A question of nothing but question words keeps
    its normalised text."""
    norm = normalize(text)
    kept = {_MATTER.get(w, w) for w in words(norm) if w not in NO_CONTENT and w.strip()}
    return "".join(sorted(kept)) or norm


def _grams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def cluster_questions(texts: list[str]) -> list[list[int]]:
    """Indexes of ``texts`` grouped: questions with the same content key are one group; then,
    the most asked content first, each key founds a group or joins the founder whose key is
    near-identical to its own.

    Only founders that share one of a key's rarest character pairs are compared with it:
    near-identical keys share nearly all their pairs, and comparing each of thousands of
    distinct keys with every founder would take seconds.
    """
    by_key: dict[str, list[int]] = {}
    keys: dict[str, str] = {}
    for i, t in enumerate(texts):
        key = keys.get(t)
        if key is None:
            key = keys[t] = content_key(t)
        by_key.setdefault(key, []).append(i)
    distinct = sorted(by_key, key=lambda k: (-len(by_key[k]), k))
    grams = {k: _grams(k) for k in distinct}
    frequency = Counter(g for k in distinct for g in grams[k])
    postings: dict[str, list[int]] = {}
    founders: list[str] = []
    groups: list[list[int]] = []
    for k in distinct:
        rare = sorted(grams[k], key=lambda g: (frequency[g], g))[:RARE_GRAMS]
        best, best_score = None, 0.0
        for f in sorted({f for g in rare for f in postings.get(g, ())}):
            score = fuzz.ratio(k, founders[f], score_cutoff=SAME_QUESTION)
            if score > best_score:
                best, best_score = f, score
        if best is None:
            for g in grams[k]:
                postings.setdefault(g, []).append(len(founders))
            founders.append(k)
            groups.append(list(by_key[k]))
        else:
            groups[best].extend(by_key[k])
    return [sorted(g) for g in groups]
