"""Pairwise features of (citizen question, knowledge-base question).

The knowledge base and the lookalike questions differ in small ways that change the meaning
("如何注销…" / "如何办理…", "男孩" / "女孩", "能" / "不能"), so besides how much the two share the
features describe what they do NOT share: how much information the unmatched words carry, their
part of speech, whether one side swaps a word for another (a substitution) or only adds words,
question-type, negation, number and antonym conflicts. Word lists below are generic Chinese
function words written by hand, not learned from any data set.
"""

from __future__ import annotations

import math
import operator
import re
from array import array
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, Levenshtein

from knowledge.normalize import pos_tag, words

# Function words that are spelled several ways: compared as one word.
CANON = {
    "怎样": "怎么",
    "如何": "怎么",
    "咋": "怎么",
    "怎么样": "怎么样",
    "咋样": "怎么样",
    "怎样才能": "怎么",
    "如何才能": "怎么",
    "怎么才能": "怎么",
    "怎么办": "怎么办",
    "咋办": "怎么办",
    "啥": "什么",
    "为啥": "为什么",
    "为何": "为什么",
    "哪儿": "哪里",
    "哪": "哪里",
    "在哪": "哪里",
    "在哪儿": "哪里",
    "在哪里": "哪里",
    "能否": "能不能",
    "可不可以": "能不能",
    "可否": "能不能",
    "能够": "能",
    "可以": "能",
    "是否": "是不是",
    "何时": "什么时候",
    "几时": "什么时候",
    "哪些": "哪些",
    "有啥": "有什么",
    "些": "",
    "的": "",
    "了": "",
    "吗": "吗",
    "么": "吗",
    "一下": "",
    "一个": "",
    "都": "",
    "呢": "",
    "请": "",
    "求": "",
    "我": "",
    "你": "",
    "大家": "",
    "谁": "谁",
    "还": "",
    "就": "",
    "到底": "",
    "究竟": "",
    "该": "",
    "应该": "",
    "需要": "要",
    "想": "要",
    "想要": "要",
}

QTYPES: dict[str, tuple[str, ...]] = {
    "how": ("怎么", "怎样", "如何", "咋", "怎么办", "咋办", "怎么弄", "怎么做", "方法", "办法"),
    "eval": ("怎么样", "咋样", "好不好", "如何呢", "好吗"),
    "what": ("什么", "啥", "是什么", "什么样", "何"),
    "why": ("为什么", "为何", "为啥", "怎么会", "干嘛", "原因"),
    "where": ("哪里", "哪儿", "在哪", "什么地方", "何处", "在哪里", "地址", "位置"),
    "which": ("哪个", "哪些", "哪家", "哪款", "哪种", "哪一个", "哪位", "哪部", "哪首"),
    "who": ("谁",),
    "howmany": ("多少", "几", "多大", "多长", "多高", "多远", "多重", "几个", "几种", "多少钱"),
    "when": ("什么时候", "何时", "几时", "几点", "哪天", "哪一天", "多久", "哪年", "时间"),
    "yesno": ("吗", "是否", "能不能", "可不可以", "是不是", "有没有", "会不会", "要不要", "行不行"),
}
_QWORD_TYPE: dict[str, str] = {}
for _t, _ws in QTYPES.items():
    for _w in _ws:
        _QWORD_TYPE.setdefault(_w, _t)

NEG_CHARS = frozenset("不没未无别非勿莫")
# words that contain a negation character but are not a negation
NEG_EXCEPT = frozenset(
    {"不错", "不同", "不过", "无论", "无聊", "非常", "别人", "别的", "区别", "无线", "莫名"}
)

ANTONYMS = [
    ("注销", "办理"), ("注销", "注册"), ("注销", "申请"), ("开通", "关闭"), ("开通", "取消"),
    ("开启", "关闭"), ("打开", "关闭"), ("开", "关"), ("买", "卖"), ("购买", "出售"),
    ("男", "女"), ("上", "下"), ("前", "后"), ("左", "右"), ("大", "小"), ("多", "少"),
    ("高", "低"), ("长", "短"), ("增加", "减少"), ("提高", "降低"), ("升", "降"), ("涨", "跌"),
    ("进", "出"), ("入", "出"), ("来", "去"), ("借", "还"), ("收", "发"), ("存", "取"),
    ("加", "减"), ("新", "旧"), ("早", "晚"), ("快", "慢"), ("胖", "瘦"), ("冷", "热"),
    ("好", "坏"), ("真", "假"), ("黑", "白"), ("登录", "注册"), ("删除", "恢复"),
    ("删除", "添加"), ("安装", "卸载"), ("上传", "下载"), ("充值", "提现"), ("存款", "取款"),
    ("申请", "取消"), ("办理", "取消"), ("加入", "退出"), ("入职", "离职"), ("结婚", "离婚"),
    ("城镇", "农村"), ("国内", "国外"), ("线上", "线下"), ("优点", "缺点"), ("好处", "坏处"),
    ("优势", "劣势"), ("成功", "失败"), ("赢", "输"), ("内", "外"), ("正", "反"), ("东", "西"),
    ("南", "北"), ("父", "母"), ("爸", "妈"), ("儿子", "女儿"), ("公", "母"), ("今天", "明天"),
    ("昨天", "今天"), ("白天", "晚上"), ("早上", "晚上"), ("上午", "下午"), ("去年", "今年"),
    ("今年", "明年"), ("开始", "结束"), ("启动", "停止"), ("发送", "接收"), ("哥", "姐"),
    ("哥", "弟"), ("姐", "妹"), ("老公", "老婆"), ("男朋友", "女朋友"), ("最", "不"),
    ("有", "无"), ("春", "秋"), ("夏", "冬"), ("手机", "电脑"), ("苹果", "安卓"),
]  # fmt: skip
_ANT = {}
for _a, _b in ANTONYMS:
    _ANT.setdefault(_a, set()).add(_b)
    _ANT.setdefault(_b, set()).add(_a)

# Characters of question and function words: how a citizen asks, not what about. A small
# knowledge base has never seen "如何" and would give it the weight of a rare subject.
FUNCTION_CHARS = frozenset("怎么样如何什么啥哪些里儿吗呢吧的了是否能可以要想请问我你您咋该应需")

_NUM = re.compile(r"[0-9零一二三四五六七八九十百千万两〇]+")

MAX_FUZZY = 48
NOUN = {"n", "nr", "ns", "nt", "nz", "ng", "nrt", "nrfg", "j", "eng", "x", "s", "l", "i"}
VERB = {"v", "vn", "vd", "vg"}
ADJ = {"a", "ad", "an", "ag", "b"}
NUMQ = {"m", "q", "mq", "t"}
# names, places, organisations, times: a specific the citizen asks about
PROPER = {"ns", "nr", "nt", "nz", "nrt", "nrfg", "eng", "t", "s", "j"}
_DIGITS = re.compile(r"[0-9]+")


@dataclass(slots=True)
class QInfo:
    """Everything about one normalised question that pair features need, computed once."""

    text: str
    words: list[str]
    canon: list[str]  # canonical words, fillers dropped
    ctext: str  # the canonical words joined: what the alignment features compare
    cset: frozenset[str]
    bigrams: frozenset[str]
    wset: frozenset[str]
    pos: dict[str, str]
    pclass: dict[str, int]  # each canonical word's _pos_class
    qtypes: frozenset[str]
    neg: int
    nums: frozenset[str]


def analyse(text: str, word_list: list[str] | None = None) -> QInfo:
    if word_list is None:
        word_list = words(text)
    canon = []
    pos = {}
    qtypes = set()
    neg = 0
    qword_type, canon_of = _QWORD_TYPE.get, CANON.get
    for w in word_list:
        t = qword_type(w)
        if t:
            qtypes.add(t)
        if w not in NEG_EXCEPT and not NEG_CHARS.isdisjoint(w):
            neg += sum(1 for ch in w if ch in NEG_CHARS)
        c = canon_of(w, w)
        if c:
            canon.append(c)
            if c not in pos:
                pos[c] = pos_tag(w)
    if "几" in text and "几乎" not in text:
        qtypes.add("howmany")
    return QInfo(
        text=text,
        words=word_list,
        canon=canon,
        ctext="".join(canon),
        cset=frozenset(text),
        bigrams=frozenset(map(operator.add, text, text[1:])),  # each text[i : i + 2], in order
        wset=frozenset(canon),
        pos=pos,
        pclass={w: _POS_CLASS[t] for w, t in pos.items()},
        qtypes=frozenset(qtypes),
        neg=neg % 2,
        nums=frozenset(_NUM.findall(text)),
    )


FEATURES = [
    "char_overlap",  # idf-weighted share of the characters in common (min of the two directions)
    "char_overlap_max",
    "bigram_overlap",
    "word_overlap",
    "word_overlap_max",
    "ratio",
    "partial_ratio",
    "token_set",
    "lev_sim",
    "order",  # in-order share (LCS) against bag share: low when the same words are reordered
    "len_ratio",
    "unmatched_q",  # idf mass of the citizen's words that the candidate lacks
    "unmatched_c",
    "unmatched_max",
    "unm_noun",
    "unm_verb",
    "unm_adj",
    "unm_num",
    "unm_func",
    "substitution",  # both sides have unmatched content words: a swap, not an elaboration
    "qtype_mismatch",
    "qtype_diff",
    "neg_mismatch",
    "num_mismatch",
    "antonym",
    "canon_ratio",
    "rep_mass",  # idf mass of characters in replaced blocks of the alignment (both sides)
    "gap_mass",  # idf mass of characters only inserted on one side
    "block_max",
    "rep_blocks",
    "gap_blocks",
    "bm25",
    "bm25_margin",
    "rank",
    "is_short",
    # directional and length-robust: a long knowledge-base question that holds the citizen's
    # short one is a good match; a short one holding a fraction of a long message is not
    "cover_q",  # idf share of the citizen's characters found in the candidate
    "cover_c",
    "bigram_cover_q",
    "word_cover_q",
    "len_q",  # log lengths
    "len_c",
    # the entry's answer: citizens often use words that only the answer has (whether the answer
    # repeats the question's own words says nothing: short answers do not)
    "has_answer",
    "cover_qa",  # idf share of the citizen's characters found in question or answer
    "unm_in_ans",  # share of the citizen's unmatched word mass that the answer contains
    "bigram_in_ans",  # share of the citizen's bigrams missing from the question but in the answer
    # what the citizen asks that neither the question nor the answer mentions: a rewording
    # leaves common words over, a question about another subject or place leaves a specific one
    "lost_max",  # highest idf of such a content word
    "lost_mass",  # their idf mass, over the citizen's total
    "lost_chars",  # idf share of the citizen's characters in neither
    # near-misses keep an entry's frame and swap one part of it (上海 for 在京, 福彩 for 体彩,
    # 冬天 for 夏季, 英语 for 体育): what a rewording rarely does with a specific word
    "sub_frame",  # idf mass of the largest short swap between matched stretches of both texts
    "sub_frame_ans",  # the same, counting only swaps whose citizen side the answer lacks
    "proper_lost",  # highest idf of the citizen's name, place, time or number in neither text
    "proper_missing",  # the same of the candidate's, that the citizen does not write
    "num_conflict",  # both name numbers, and the citizen's is in neither question nor answer
    # against the other retrieved entries (the knowledge base's own neighbourhood): a word the
    # neighbours use to tell entries apart weighs more than a word no entry has
    "lost_sib",  # highest idf of the citizen's lost content words another entry's question has
    "dist_missing",  # idf share of the candidate's own words (no neighbour's) the citizen lacks
    "dist_missing_max",
    "cover_margin",  # cover_qa minus the best other entry's
    "lost_margin",  # lost_mass minus the lowest other entry's
]
# what the shipped model reads; the swap and neighbourhood features after them are computed only
# for a model that reads them (fit.py --features all): they cost about 1 ms a question
BASE_FEATURES = FEATURES[: FEATURES.index("sub_frame")]


def _pos_class(tag: str) -> int:
    """0 noun, 1 verb, 2 adjective, 3 number, 4 anything else."""
    if tag in NUMQ:
        return 3
    if tag in NOUN:
        return 0
    if tag in VERB:
        return 1
    if tag in ADJ:
        return 2
    return 4


class _PosClasses(dict):
    """_pos_class of each tag met, looked up once."""

    def __missing__(self, tag: str) -> int:
        self[tag] = k = _pos_class(tag)
        return k


_POS_CLASS = _PosClasses()


@dataclass(slots=True)
class Weights:
    """One question's idf masses under the index's current statistics: computed once for the
    citizen's question and kept for a knowledge-base question until the index changes."""

    chars: float  # its characters' idf, summed (1.0 for none)
    words: dict[str, float]  # each canonical word's idf
    total: float  # their sum (1.0 for none)
    char: dict[str, float]  # each of its characters' idf (the citizen's side only)
    aligned: array  # the idf of each character of ctext[:MAX_FUZZY], in order


def weigh(info: QInfo, char_idf, word_idf, citizen: bool = True) -> Weights:
    iw = {w: word_idf(w) for w in info.wset}
    ic = {ch: char_idf(ch) for ch in info.cset}
    return Weights(
        sum(ic.values()) or 1.0,  # in cset's order, as ic was made
        iw,
        sum(iw.values()) or 1.0,
        ic if citizen else {},
        array("d", [char_idf(ch) for ch in info.ctext[:MAX_FUZZY]]),
    )


def pair_features(
    q: QInfo,
    c: QInfo,
    char_idf,
    word_idf,
    bm25: float,
    bm25_margin: float,
    rank: int,
    answer: str = "",
    extended: bool = True,
    qw: Weights | None = None,
    cw: Weights | None = None,
) -> list[float]:
    if qw is None:
        qw = weigh(q, char_idf, word_idf)
    if cw is None:
        cw = weigh(c, char_idf, word_idf)
    if not extended and _pair_kernel is not None:
        return _pair_kernel.pair_features(q, c, bm25, bm25_margin, rank, answer, qw, cw)
    # characters
    inter = q.cset & c.cset
    wq, wc = qw.chars, cw.chars
    qc = qw.char
    wi = sum(map(qc.__getitem__, inter))
    co_q, co_c = wi / wq, wi / wc
    nb = len(q.bigrams) + len(c.bigrams)
    bigram = 2 * len(q.bigrams & c.bigrams) / nb if nb else 1.0
    # words
    winter = q.wset & c.wset
    uq = q.wset - winter
    uc = c.wset - winter
    iq, ic = qw.words, cw.words
    tq, tc = qw.total, cw.total
    win = sum(iq[w] for w in winter)
    mass_q = sum(iq[w] for w in uq)
    mass_c = sum(ic[w] for w in uc)
    unm_max = max([iq[w] for w in uq] + [ic[w] for w in uc] + [0.0])
    cls = [0.0] * 5
    side_content = [False, False]
    for side, (unm, pclass, idf) in enumerate(((uq, q.pclass, iq), (uc, c.pclass, ic))):
        for w in unm:
            k = pclass[w]
            cls[k] += idf[w]
            if k < 4:
                side_content[side] = True
    # antonyms: a word (or character) on one side, its opposite on the other
    ant = 0.0
    for w in uq:
        opp = _ANT.get(w)
        if opp and (opp & uc):
            ant = 1.0
            break
    if not ant:
        cq = q.cset - inter
        cc = c.cset - inter
        for ch in cq:
            opp = _ANT.get(ch)
            if opp and (opp & cc):
                ant = 1.0
                break
    # the fuzzy ratios cost length x length: long questions are compared on their first part
    qt, ct = q.text[:MAX_FUZZY], c.text[:MAX_FUZZY]
    ja = " ".join(q.canon)
    jb = " ".join(c.canon)
    ratio = Indel.normalized_similarity(qt, ct)
    bag = 2 * len(inter) / (len(q.cset) + len(c.cset)) if (q.cset or c.cset) else 1.0
    lq, lc = len(q.text), len(c.text)
    rep_mass = gap_mass = block_max = 0.0
    rep_blocks = gap_blocks = 0
    a, b = q.ctext[:MAX_FUZZY], c.ctext[:MAX_FUZZY]
    qa, ca = qw.aligned, cw.aligned
    ops = Levenshtein.opcodes(a, b)
    sub_frame = sub_frame_ans = 0.0
    for k, op in enumerate(ops):
        tag = op.tag
        if tag == "equal":
            continue
        if (
            extended
            and tag == "replace"
            and op.src_end - op.src_start <= 6
            and op.dest_end - op.dest_start <= 6
        ):
            before = ops[k - 1] if k else None
            after = ops[k + 1] if k + 1 < len(ops) else None
            left = before is None or (
                before.tag == "equal" and before.src_end > before.src_start + 1
            )
            right = after is None or (after.tag == "equal" and after.src_end > after.src_start + 1)
            if left and right and (before is not None or after is not None):
                seg_q = a[op.src_start : op.src_end]
                mq = sum(char_idf(ch) for ch in seg_q if ch not in FUNCTION_CHARS)
                mc = sum(
                    char_idf(ch)
                    for ch in b[op.dest_start : op.dest_end]
                    if ch not in FUNCTION_CHARS
                )
                m = min(mq, mc)
                sub_frame = max(sub_frame, m)
                if len(seg_q) < 2 or seg_q not in answer:
                    sub_frame_ans = max(sub_frame_ans, m)
        m = sum(qa[op.src_start : op.src_end]) + sum(ca[op.dest_start : op.dest_end])
        block_max = max(block_max, m)
        if tag == "replace":
            rep_mass += m
            rep_blocks += 1
        else:
            gap_mass += m
            gap_blocks += 1
    # the answer
    if answer:
        in_ans_chars = sum(qc[ch] for ch in q.cset - inter if ch in answer)
        cover_qa = (wi + in_ans_chars) / wq
        unm_in_ans = sum(iq[w] for w in uq if w in answer) / mass_q if mass_q else 1.0
        missing = q.bigrams - c.bigrams
        bigram_in_ans = sum(1 for bg in missing if bg in answer) / len(missing) if missing else 1.0
    else:
        cover_qa, unm_in_ans, bigram_in_ans = co_q, 0.0, 0.0
    qclass = q.pclass
    lost = [iq[w] for w in uq if qclass[w] < 4 and w not in c.text and w not in answer]
    lost_chars = sum(qc[ch] for ch in q.cset - inter - FUNCTION_CHARS if ch not in answer) / wq
    proper_lost = proper_missing = num_conflict = 0.0
    if extended:
        proper_lost = max(
            (iq[w] for w in uq
             if (q.pos.get(w, "x") in PROPER or _DIGITS.search(w))
             and w not in c.text and w not in answer),
            default=0.0,
        )  # fmt: skip
        proper_missing = max(
            (ic[w] for w in uc if c.pos.get(w, "x") in PROPER and w not in q.text), default=0.0
        )
        qd = set(_DIGITS.findall(q.text))
        cd = set(_DIGITS.findall(c.text))
        num_conflict = (
            1.0 if qd and cd and any(n not in c.text and n not in answer for n in qd) else 0.0
        )
    return [
        min(co_q, co_c),
        max(co_q, co_c),
        bigram,
        min(win / tq, win / tc),
        max(win / tq, win / tc),
        ratio,
        fuzz.partial_ratio(qt, ct) / 100.0,
        fuzz.token_set_ratio(ja, jb) / 100.0,
        Levenshtein.normalized_similarity(qt, ct),
        ratio - bag,
        min(lq, lc) / max(lq, lc, 1),
        mass_q,
        mass_c,
        unm_max,
        cls[0],
        cls[1],
        cls[2],
        cls[3],
        cls[4],
        1.0 if side_content[0] and side_content[1] else 0.0,
        1.0 if q.qtypes and c.qtypes and not (q.qtypes & c.qtypes) else 0.0,
        float(len(q.qtypes ^ c.qtypes)),
        1.0 if q.neg != c.neg else 0.0,
        1.0 if q.nums != c.nums else 0.0,
        ant,
        Indel.normalized_similarity(a, b),
        rep_mass,
        gap_mass,
        block_max,
        float(rep_blocks),
        float(gap_blocks),
        bm25,
        bm25_margin,
        math.log1p(rank),
        1.0 if min(lq, lc) <= 4 else 0.0,
        co_q,
        co_c,
        len(q.bigrams & c.bigrams) / len(q.bigrams) if q.bigrams else 1.0,
        win / tq,
        math.log1p(lq),
        math.log1p(lc),
        1.0 if answer else 0.0,
        cover_qa,
        unm_in_ans,
        bigram_in_ans,
        max(lost, default=0.0),
        sum(lost) / tq,
        lost_chars,
        sub_frame,
        sub_frame_ans,
        proper_lost,
        proper_missing,
        num_conflict,
    ]


# the compiled twin of pair_features without the swap features (setup.py builds it; without a C
# compiler the Python above computes the same rows)
try:
    from knowledge import _pair_kernel
except ImportError:  # pragma: no cover - a build without a C compiler
    _pair_kernel = None
else:
    _pair_kernel.configure(FUNCTION_CHARS, _ANT, MAX_FUZZY)


CONTRAST = ["lost_sib", "dist_missing", "dist_missing_max", "cover_margin", "lost_margin"]
_COVER_QA = FEATURES.index("cover_qa")
_LOST_MASS = FEATURES.index("lost_mass")


def contrast_features(
    q: QInfo,
    infos: list[QInfo],
    entries: list[str],
    answers: list[str],
    rows: list[list[float]],
    word_idf,
) -> None:
    """Append CONTRAST to each candidate's row (pair_features' output, in place): how the
    candidate differs from the other retrieved entries, and whether the citizen's words side with
    it or with them."""
    content = [w for w in q.wset if _pos_class(q.pos.get(w, "x")) < 4]
    idf_q = {w: word_idf(w) for w in content}
    # the other entries' questions, one string per entry ("\n" never occurs in a question)
    others: dict[str, str] = {}
    for e in entries:
        if e not in others:
            others[e] = "\n".join(c.text for c, f in zip(infos, entries, strict=True) if f != e)
    cover = {}
    lost = {}
    for row, e in zip(rows, entries, strict=True):
        cover[e] = max(cover.get(e, -1.0), row[_COVER_QA])
        lost[e] = min(lost.get(e, 9.0), row[_LOST_MASS])
    for c, e, answer, row in zip(infos, entries, answers, rows, strict=True):
        rest = others[e]
        lost_sib = max(
            (idf_q[w] for w in content if w not in c.text and w not in answer and w in rest),
            default=0.0,
        )
        mass = missing = missing_max = 0.0
        for w in c.wset:
            if w in rest or _pos_class(c.pos.get(w, "x")) >= 4:
                continue
            v = word_idf(w)
            mass += v
            if w not in q.text:
                missing += v
                missing_max = max(missing_max, v)
        best_cover = max((v for f, v in cover.items() if f != e), default=0.0)
        least_lost = min((v for f, v in lost.items() if f != e), default=1.0)
        row.extend([
            lost_sib,
            missing / mass if mass else 0.0,
            missing_max,
            row[_COVER_QA] - best_cover,
            row[_LOST_MASS] - least_lost,
        ])  # fmt: skip


def entry_likeness(a: QInfo, b: QInfo) -> float:
    """How alike two knowledge-base questions are: when the two best entries are near-duplicates,
    either could be the one meant, so answering with one of them is a gamble."""
    return Indel.normalized_similarity(a.ctext, b.ctext)


# "这是什么鱼", "这个人叫什么名字": the question points at something the citizen sees (a picture,
# a page). The same words asked by two people may be about two different things, so such a
# question is never answered on wording alone.
_DEICTIC = re.compile(r"这|那个|那首|那部|那张|此图|图中|图片|上图|下图|截图")


def deictic(text: str) -> bool:
    return bool(_DEICTIC.search(text))
