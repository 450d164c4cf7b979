"""Text normalisation and tokenisation for the question matcher.

Citizens write traditional or simplified characters, full-width or half-width forms, with emoji,
greetings and sentence-final particles. Two questions that mean the same thing should normalise to
the same (or nearly the same) string, while every word that carries meaning is kept.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache
from math import log

import jieba

from knowledge.lexicon import formalize

try:  # compiled twin of words() (setup.py); without it, the Python loop below gives the same words
    from knowledge._segment import words as compiled_words
except ImportError:  # pragma: no cover - a build without a C compiler
    compiled_words = None

jieba.setLogLevel(logging.WARNING)

_lock = threading.Lock()
_converter = None
_jieba_ready = False

# Greetings and politeness that open a clause ("您好，请问……", "我想问一下……"). Longest first, so
# that "我想问一下" wins over "我想问". Only stripped at the start of a clause.
_LEADING = sorted(
    [
        "请问一下",
        "请问",
        "你好",
        "您好",
        "你们好",
        "大家好",
        "麻烦问一下",
        "麻烦问下",
        "麻烦请问",
        "想问一下",
        "想问下",
        "问一下",
        "问下",
        "我想问一下",
        "我想问下",
        "我想问问",
        "我想问",
        "我想请问",
        "我想咨询一下",
        "我想咨询下",
        "想咨询一下",
        "咨询一下",
        "请教一下",
        "请教下",
        "打扰一下",
        "打扰了",
        "各位",
        "亲们",
        "嗯",
        "哦",
        "噢",
        "哈喽",
    ],
    key=len,
    reverse=True,
)

# What closes a clause without adding meaning: thanks, urgency, modal particles. "吧" in "网吧"
# or "酒吧" is a noun: a particle is stripped only when the character before it is not one that
# forms a common noun with it (checked in _strip_trailing).
_TRAILING = sorted(
    [
        "谢谢大家",
        "谢谢你们",
        "谢谢您",
        "谢谢你",
        "谢谢了",
        "谢谢啦",
        "谢谢",
        "多谢",
        "在线等",
        "急急急",
        "急求",
        "求解答",
        "求解",
        "求助",
        "啊",
        "呢",
        "吧",
        "呀",
        "哦",
        "嗯",
        "啦",
        "哇",
        "嘛",
        "哟",
        "咯",
        "喔",
        "噢",
        "么么哒",
    ],
    key=len,
    reverse=True,
)
# Nouns that end in a particle character: keep "网吧", "酒吧", "贴吧", "妮子" …
_PARTICLE_NOUNS = {"网吧", "酒吧", "贴吧", "水吧", "书吧", "氧吧", "呢子", "干嘛"}

# Clause separators (after NFKC): ASCII punctuation, CJK punctuation, whitespace.
_CLAUSE_SPLIT = re.compile(
    r"[\s,.;:!?~、，。；：！？…·\u3000\-—_/\\|()\[\]{}<>\"'“”‘’《》〈〉【】「」『』（）]+"
)


def _convert_t2s(text: str) -> str:
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter.convert(text)


_LEADING_TUPLE = tuple(_LEADING)
_TRAILING_TUPLE = tuple(_TRAILING)


def _strip_leading(clause: str) -> str:
    if not clause.startswith(_LEADING_TUPLE):  # most clauses: one C call instead of a loop
        return clause
    changed = True
    while changed and clause:
        changed = False
        for word in _LEADING:
            if clause.startswith(word) and len(clause) > len(word):
                clause = clause[len(word) :]
                changed = True
                break
            if clause == word:
                return ""
    return clause


def _strip_trailing(clause: str) -> str:
    if not clause.endswith(_TRAILING_TUPLE):
        return clause
    changed = True
    while changed and clause:
        changed = False
        for word in _TRAILING:
            if clause.endswith(word) and clause[-2:] not in _PARTICLE_NOUNS:
                clause = clause[: -len(word)]
                changed = True
                break
    return clause


# \W: anything but letters (of any script), digits and "_" -- punctuation, symbols, emoji
_NOT_WORD = re.compile(r"[\W_]+")


def _clean(clause: str) -> str:
    return _NOT_WORD.sub("", clause)


@lru_cache(maxsize=4096)  # citizens repeat questions; KB texts pass once
def normalize(text: str) -> str:
    """The canonical form of a question as the matcher compares it: normalize_plain, then the
    lexicon's formal words for citizens' everyday ones (丢了 -> 丢失)."""
    return formalize(normalize_plain(text))


@lru_cache(maxsize=4096)
def normalize_plain(text: str) -> str:
    """Simplified, half-width, lowercase, no punctuation/emoji, no greetings or sentence-final
    particles: the words as typed. Falls back to the plain cleaned text when stripping fillers
    would leave nothing (a question that is only "你好" still matches "你好")."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = _convert_t2s(text).lower()
    clauses = [c for c in (_clean(c) for c in _CLAUSE_SPLIT.split(text)) if c]
    kept = []
    for clause in clauses:
        clause = _strip_trailing(_strip_leading(clause))
        if clause:
            kept.append(clause)
    out = "".join(kept)
    if not out:
        out = "".join(clauses)
    return out


def ensure_jieba() -> None:
    """Load jieba's dictionary once (about half a second), quietly, and its parts of speech
    (another half second, which the first citizen's question would otherwise wait for)."""
    global _jieba_ready
    if not _jieba_ready:
        with _lock:
            if not _jieba_ready:
                jieba.initialize()
                pos_tag("")
                _jieba_ready = True


# jieba's own patterns (jieba.re_han_default, re_skip_default, re_eng)
_HAN_BLOCK = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)")
_SKIP = re.compile(r"(\r\n|\s)")
_ENG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def words(text: str) -> list[str]:
    """jieba words of an already normalised text (no HMM: the same string always splits the same
    way, whether it is a knowledge-base question or a citizen's message).

    The same words as ``jieba.lcut(text, HMM=False)`` (tests/knowledge/test_normalize.py checks
    it over the data sets), computed in one backward pass per block instead of jieba's DAG dict,
    generator chain and second dictionary look-up per edge: building a 37k-question index spent
    nearly half its time in jieba. The compiled twin (knowledge/_segment.pyx) gives the same words
    in 21 µs instead of 53 for a message of 22 characters (75 instead of 110 in the matcher, where
    the dictionary is no longer in the processor's caches)."""
    ensure_jieba()
    dt = jieba.dt
    logtotal = log(dt.total)
    if compiled_words is not None:
        return compiled_words(text, dt.FREQ, logtotal)
    get = dt.FREQ.get
    out: list[str] = []
    for blk in _HAN_BLOCK.split(text):
        if not blk:
            continue
        if not _HAN_BLOCK.match(blk):
            for part in _SKIP.split(blk):
                if _SKIP.match(part):
                    out.append(part)
                else:
                    out.extend(part)
            continue
        n = len(blk)
        # route[i]: (best log probability of blk[i:], end of the first word); ties go to the
        # longer word, as max() over (probability, end) does in jieba.Tokenizer.calc
        score = [0.0] * (n + 1)
        end = [0] * (n + 1)
        for k in range(n - 1, -1, -1):
            best = None
            best_x = k
            i = k
            frag = blk[k]
            while i < n:
                f = get(frag)
                if f is None:  # no dictionary word starts with frag
                    break
                if f:
                    v = log(f) - logtotal + score[i + 1]
                    if best is None or v >= best:
                        best, best_x = v, i
                i += 1
                frag = blk[k : i + 1]
            if best is None:
                best = log(get(blk[k]) or 1) - logtotal + score[k + 1]
            score[k] = best
            end[k] = best_x
        x = 0
        buf = ""
        while x < n:
            y = end[x] + 1
            word = blk[x:y]
            if y - x == 1 and word in _ENG_CHARS:
                buf += word
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(word)
            x = y
        if buf:
            out.append(buf)
    return out


_tag_table: dict[str, str] | None = None


def pos_tag(word: str) -> str:
    """jieba's dictionary part of speech of a word ("n", "v", "nr", "m", …); "x" if unknown.

    A dictionary look-up, not posseg's HMM: cheap enough to run on every knowledge-base question.
    """
    global _tag_table
    if _tag_table is None:
        import jieba.posseg

        _tag_table = jieba.posseg.dt.word_tag_tab
    tag = _tag_table.get(word)
    if tag is None:
        if word.isdigit():
            return "m"
        if word.isascii() and word.isalpha():
            return "eng"
        return "x"
    return tag
