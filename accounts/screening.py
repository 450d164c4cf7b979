"""Ad screening of posts and drafts (002 §11, 004 §6(五): no commercial ads, no links to ad pages).

Plain Python over plain data, no database: ``screen_text`` takes the rules it should apply (the
admins' AdRule rows) and adds the built-in defaults. A finding is a reason for a reviewer to look,
not a verdict: government posts about consumption vouchers or anti-fraud warnings will be flagged
now and then and cleared by a reviewer.

Matching is done on a folded copy of the text (full-width to half-width, lower case, a few
traditional forms of ad vocabulary to simplified, zero-width characters dropped) while the
evidence is cut from the original text, so a reviewer sees what was actually written.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

KINDS = {"word": "广告用语", "lure": "诱导购买", "domain": "购物或广告链接"}
CONTEXT = 8  # characters of context wanted each side of a match in the evidence
# How much further a quote may reach to end between whole words, or to take in the rest of a
# short text, rather than cut a word in two.
REACH = 6
# A quote may start after these and end before them: clause ends and line breaks. Not "." ":"
# "/", which are inside the links and hosts a quote keeps whole, nor spaces, which often stand
# just before or after a link (a space is a word boundary all the same).
_STOPS = frozenset("，。！？；：、…—～（）【】《》〈〉「」『』“”‘’,!?;()[]<>\"'\r\n")
_ENDS = frozenset("。！？!?")  # sentence ends: a quote that stops at one keeps it
_ASCII_RUN = re.compile(r"[!-~]+")  # letters, digits and the characters of links, unbroken


@dataclass(frozen=True)
class Rule:
    kind: str  # word | lure | domain
    pattern: str
    note: str = ""


@dataclass(frozen=True)
class Finding:
    kind: str
    pattern: str
    evidence: str
    where: str  # title | body | url
    note: str = ""  # what the rule is about, for people: "扫码领取或购买"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _words(*words: str) -> list[Rule]:
    return [Rule("word", w) for w in words]


DEFAULT_RULES: list[Rule] = [
    *_words(
        "限时抢购",
        "限时特惠",
        "限量抢购",
        "立即抢购",
        "全网最低",
        "优惠券",
        "优惠码",
        "领券",
        "扫码领取",
        "扫码购买",
        "点击购买",
        "立即购买",
        "下单立减",
        "加微信",
        "加vx",
        "代理加盟",
        "招商加盟",
        "包邮",
        "秒杀",
        "折扣价",
        "到手价",
        "特价促销",
        "清仓甩卖",
        "买一送一",
        "厂家直销",
        "拼团",
        "淘口令",
        "私信下单",
    ),
    # Lures: the shape of a sales pitch rather than one fixed phrase.
    Rule(
        "lure",
        r"扫(?:描|一扫)?(?:下方|上方|图中|文末)?(?:二维)?码.{0,8}?(?:领|购|买|下单|优惠|红包|抽奖|返现)",
        "扫码领取或购买",
    ),
    Rule("lure", r"领(?:取)?.{0,4}?(?:优惠券|代金券|现金券|折扣券|红包)", "领券"),
    Rule(
        "lure",
        r"点击(?:下方|上方|左下角)?(?:链接|原文|阅读原文|小程序|商品卡片)?[^【\[(“\"'《「]{0,4}?"
        r"(?:购买|下单|抢购|领券)",
        "点击购买",
    ),
    Rule(
        "lure",
        r"(?:加|添加|\+)\s*(?:微信|vx|v信|wx|薇信|威信|v)\s*(?:号)?\s*[:]?\s*[a-z][-_a-z0-9]{5,19}",
        "加微信号",
    ),
    Rule(
        "lure",
        r"(?:原价|市场价|专柜价).{0,8}?\d+(?:\.\d+)?\s*元?.{0,10}?(?:现价|仅需|只要|特价|到手)",
        "原价现价",
    ),
    Rule("lure", r"(?:仅需|只要|低至|到手价)\s*\d+(?:\.\d+)?\s*元", "低价招揽"),
    Rule("lure", r"满\s*\d+\s*元?\s*减\s*\d+", "满减"),
    Rule("lure", r"[¥$€]\s*[a-z0-9]{8,14}\s*[¥$€]", "淘口令"),
    # Shops, their affiliate links, and the short links ads hide behind. Not t.cn: Weibo rewrites
    # every link to it, so it says nothing about the target.
    *[
        Rule("domain", d)
        for d in (
            "taobao.com",
            "tmall.com",
            "tmall.hk",
            "tb.cn",
            "s.click.taobao.com",
            "uland.taobao.com",
            "1688.com",
            "jd.com",
            "jd.hk",
            "3.cn",
            "item.m.jd.com",
            "u.jd.com",
            "pinduoduo.com",
            "yangkeduo.com",
            "jinritemai.com",
            "kwaixiaodian.com",
            "weidian.com",
            "youzan.com",
            "vip.com",
            "suning.com",
            "dangdang.com",
            "goofish.com",
            "dwz.cn",
            "suo.im",
            "url.cn",
            "bit.ly",
            "tinyurl.com",
        )
    ],
]

# Traditional forms of characters that ad vocabulary uses; citizens and copy-pasted ads use both.
_TRAD = str.maketrans(
    dict(
        zip(
            "時搶購網優掃碼領擊買郵殺價團貨單鏈車賣減紅現劵點廠銷寶東關註號產",
            "时抢购网优扫码领击买邮杀价团货单链车卖减红现券点厂销宝东关注号产",
            strict=True,
        )
    )
)
_DROP = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# Between the characters of a word: the spacing and filler that ads use to dodge word lists.
_GAP = r"[\s·•*_\-~|/\\.]{0,2}"


def _fold_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).translate(_DROP).translate(_TRAD).lower()


def fold(text: str) -> str:
    """The form rules and text are compared in."""
    return "".join(_fold_char(c) for c in text)


def _fold_indexed(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        where.extend([i] * len(folded))
    return "".join(out), where


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@lru_cache(maxsize=1024)
def compile_rule(kind: str, pattern: str) -> re.Pattern[str] | None:
    """The regular expression of a word or lure rule; None when the pattern is unusable."""
    if kind == "word":
        word = fold(pattern).strip()
        if not word:
            return None
        body = _GAP.join(re.escape(c) for c in word if not c.isspace())
        # An ASCII word is a whole word: "vx" is not inside "vxworks".
        head = r"(?<![a-z0-9])" if _is_ascii_alnum(word[0]) else ""
        tail = r"(?![a-z0-9])" if _is_ascii_alnum(word[-1]) else ""
        return re.compile(head + body + tail)
    if kind == "lure":
        try:
            return re.compile(fold(pattern), re.DOTALL)
        except re.error:
            return None
    return None


def normalize_domain(value: str) -> str:
    """``https://Item.JD.com/x`` -> ``item.jd.com``; "" when there is no host in it."""
    text = fold(value.strip()).replace("。", ".")
    if not text:
        return ""
    if "//" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return ""
    host = host.strip(".").removeprefix("*.")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return ""
    return host


def host_matches(host: str, domain: str) -> bool:
    """The host is the domain or one of its subdomains (notjd.com is not jd.com)."""
    return bool(host) and (host == domain or host.endswith("." + domain))


# A host in running text, with or without a scheme: "访问jd.com购买" names jd.com.
_HOST_IN_TEXT = re.compile(
    r"(?<![a-z0-9_.\-])((?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?[.。])+[a-z]{2,63}"
    r"|\d{1,3}(?:\.\d{1,3}){3})(?![a-z0-9_\-])"
)


def _rules(rules: Iterable[Any]) -> list[Rule]:
    out: list[Rule] = []
    for r in rules:
        if isinstance(r, Rule):
            out.append(r)
        elif isinstance(r, dict):
            out.append(Rule(str(r["kind"]), str(r["pattern"]), str(r.get("note") or "")))
        elif isinstance(r, tuple):
            out.append(Rule(str(r[0]), str(r[1])))
        else:  # an AdRule row
            out.append(Rule(str(r.kind), str(r.pattern), str(getattr(r, "note", "") or "")))
    return out


def _word_cuts(text: str, lo: int, hi: int) -> tuple[set[int], set[int]]:
    """Positions in text[lo:hi] between jieba's words (without HMM, so the same text always splits
    the same way): those outside any run of Latin letters, digits and link characters (a link or
    an English word is one word here), and all of them."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    cuts = {lo + start for _, start, _ in jieba.tokenize(text[lo:hi], HMM=False)} | {hi}
    # The ends of the piece looked at are no word boundaries unless they are the text's own.
    cuts -= {p for p in (lo, hi) if 0 < p < len(text)}
    whole = set(cuts)
    for m in _ASCII_RUN.finditer(text, lo, hi):
        whole -= set(range(m.start() + 1, m.end()))
    return whole, cuts


def _nearest(points: Iterable[int], want: int, inward: int) -> int | None:
    """The point nearest ``want``, outward on a tie (``inward`` is +1 for a start, -1 for an
    end: the direction of the match)."""
    return min(points, key=lambda p: (abs(p - want), (p - want) * inward > 0), default=None)


def _edge(text: str, want: int, limit: int, inward: int, words: tuple[set[int], set[int]]) -> int:
    """Where a quote starts (``inward`` +1) or ends (-1) near ``want``, never past ``limit`` (the
    match's own edge): after or before a clause stop when one is near, else between whole words
    (outward first), else between jieba's words, else at ``want``."""
    outer = want - REACH * inward  # as far out as the quote may reach
    near = range(
        min(outer, want + CONTEXT // 2 * inward), max(outer, want + CONTEXT // 2 * inward) + 1
    )
    stop_at = -1 if inward > 0 else 0  # a start follows a stop; an end comes before one
    stops = [p for p in near if (p - limit) * inward <= 0 and text[p + stop_at] in _STOPS]
    whole, cuts = words
    span = range(min(outer, limit), max(outer, limit) + 1)  # from the outermost to the match
    outward = range(min(outer, want), max(outer, want) + 1)
    for points in (
        stops,
        [p for p in whole if p in outward],
        [p for p in whole if p in span],
        [p for p in cuts if p in span],
    ):
        found = _nearest(points, want, inward)
        if found is not None:
            if inward < 0 and points is stops and text[found] in _ENDS:
                found += 1  # a quote that ends a sentence keeps its full stop
            return found
    return want


def _evidence(original: str, index: list[int], start: int, end: int) -> str:
    """The match in the original text with some context each side, cut between whole words (at a
    clause end when one is near), each cut marked with "…"."""
    if not index:
        return ""
    n = len(original)
    a = index[min(start, len(index) - 1)]
    b = index[max(min(end, len(index)) - 1, 0)] + 1
    want_a, want_b = a - CONTEXT, b + CONTEXT
    words = _word_cuts(original, max(0, want_a - REACH), min(n, want_b + REACH))
    # When what is left beyond the context is short, the quote takes it in.
    cut_a = 0 if want_a <= REACH else _edge(original, want_a, a, 1, words)
    cut_b = n if want_b >= n - REACH else _edge(original, want_b, b, -1, words)
    quote = " ".join(original[cut_a:cut_b].split())
    return ("…" if cut_a > 0 else "") + quote + ("…" if cut_b < n else "")


def screen_text(
    title: str,
    body: str,
    urls: Iterable[str] = (),
    rules: Iterable[Any] = (),
    *,
    defaults: bool = True,
) -> list[Finding]:
    """Everything in a post that looks like a commercial ad or a link to one.

    ``rules`` are AdRule rows (or Rule, dicts, (kind, pattern) tuples); the built-in defaults are
    added unless ``defaults`` is false. One finding per rule, the first place it matched.
    """
    all_rules = _rules([*(DEFAULT_RULES if defaults else []), *rules])
    texts = [("title", title or ""), ("body", body or "")]
    folded = [(where, text, *_fold_indexed(text)) for where, text in texts]
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()

    def add(rule: Rule, evidence: str, where: str) -> None:
        if (rule.kind, rule.pattern) not in seen:
            seen.add((rule.kind, rule.pattern))
            findings.append(Finding(rule.kind, rule.pattern, evidence, where, rule.note))

    for rule in all_rules:
        if rule.kind not in ("word", "lure"):
            continue
        rx = compile_rule(rule.kind, rule.pattern)
        if rx is None:
            continue
        for where, text, ftext, index in folded:
            m = rx.search(ftext)
            if m and m.end() > m.start():
                add(rule, _evidence(text, index, m.start(), m.end()), where)
                break

    domains = [(r, normalize_domain(r.pattern)) for r in all_rules if r.kind == "domain"]
    domains = [(r, d) for r, d in domains if d]
    if not domains:
        return findings
    hosts: list[tuple[str, str, str]] = []  # host, evidence, where
    for url in urls or ():
        if isinstance(url, str) and url.strip():
            hosts.append((normalize_domain(url), url.strip()[:200], "url"))
    for where, text, ftext, index in folded:
        for m in _HOST_IN_TEXT.finditer(ftext):
            host = normalize_domain(m.group(1))
            hosts.append((host, _evidence(text, index, m.start(), m.end()), where))
    for rule, domain in domains:
        for host, evidence, where in hosts:
            if host_matches(host, domain):
                add(rule, evidence, where)
                break
    return findings
