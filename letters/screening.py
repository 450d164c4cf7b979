"""What the screener is told about a letter before deciding (001 §29): likely ads, abuse or
pornography, no real content, and how similar two letters are (for repeats).

Plain Python over plain text, no database. A proposal is a reason to look, never a decision: the
screener accepts or declines, and the decline is what gets recorded.
"""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz

from accounts.screening import Rule, screen_text
from knowledge.normalize import normalize, words

# Personal attacks and obscenity, and pornography. Matched the way ad words are (folded, gaps
# allowed).
ABUSE_WORDS = (
    "傻逼",
    "傻b",
    "煞笔",
    "sb政府",
    "草泥马",
    "操你妈",
    "操你",
    "你妈的",
    "他妈的",
    "去死",
    "狗官",
    "王八蛋",
    "畜生",
    "贱人",
    "人渣",
)
PORN_WORDS = ("约炮", "裸聊", "色情服务", "援交", "黄色网站", "成人视频", "一夜情")
ABUSE_RULES = [Rule("word", w) for w in ABUSE_WORDS]
PORN_RULES = [Rule("word", w) for w in PORN_WORDS]
# Fewer meaningful characters than this, or fewer distinct ones, is "no real content".
MIN_CONTENT_CHARS = 6
MIN_DISTINCT_CHARS = 4


def comparable(text: str) -> str:
    """Simplified, half-width, no punctuation, greetings or the stars of masked data."""
    return normalize(text.replace("*", " "))


def similarity(a: str, b: str) -> float:
    """0-100: how much two letters say the same thing, robust to reordered clauses."""
    ca, cb = comparable(a), comparable(b)
    if not ca or not cb:
        return 0.0
    plain = fuzz.ratio(ca, cb)
    tokens = fuzz.token_sort_ratio(" ".join(words(ca)), " ".join(words(cb)))
    short, long_ = sorted((ca, cb), key=len)
    # A short letter written again with a sentence added: the old text sits inside the new one.
    inside = 0.0
    if len(short) >= 12 and len(short) * 2 >= len(long_):
        inside = fuzz.partial_ratio(short, long_) * 0.9
    return float(max(plain, tokens, inside))


def content_flags(title: str, content: str) -> list[dict[str, Any]]:
    """Proposals from the text alone: ad, abuse, porn, empty (kind = the decline reason)."""
    flags: list[dict[str, Any]] = []
    checks = (("ad", ()), ("abuse", ABUSE_RULES), ("porn", PORN_RULES))
    for kind, rules in checks:
        found = screen_text(title, content, rules=rules, defaults=kind == "ad")
        if found:
            flags.append(
                {"kind": kind, "reason": kind, "evidence": [f.evidence for f in found[:3]]}
            )
    meaningful = comparable(f"{title} {content}")
    if len(meaningful) < MIN_CONTENT_CHARS or len(set(meaningful)) < MIN_DISTINCT_CHARS:
        flags.append({"kind": "empty", "reason": "empty"})
    return flags
