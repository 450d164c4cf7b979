"""The question matcher: retrieve lookalike knowledge-base questions, judge each pair, decide.

decide() answers only when the best candidate is almost surely a paraphrase of the citizen's
question (a wrong answer about a government procedure is the worst outcome), suggests up to three
entries when it is plausible, and says nothing when no entry is likely to fit.

Python over its own data, its hot loops compiled (knowledge/_kernels.pyx, _pair_kernel.pyx; their
Python twins give the same results): no database, no web framework.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from knowledge import match_features
from knowledge.focus import (
    focus,
    leans_on,
    matter_words,
    names_no_matter,
    new_words,
    subject,
    with_matter,
)
from knowledge.match_features import (
    BASE_FEATURES,
    CONTRAST,
    FEATURES,
    QInfo,
    Weights,
    analyse,
    contrast_features,
    deictic,
    entry_likeness,
    pair_features,
    weigh,
)
from knowledge.match_index import WORD, InvertedIndex, index_terms, trim_oldest
from knowledge.match_model import Model
from knowledge.normalize import ensure_jieba, normalize, words

MODEL_PATH = Path(__file__).with_name("model.json")
# An answer's opening says what it is about; the rest is procedure. Only this much is matched.
ANSWER_CHARS = 300
ANSWER_AVG_LEN = 120.0
# the lowest pair probability an entry may have to be suggested or listed as related
MIN_SHOWN = 0.005
# entries retrieved by their answer alone, besides the questions' top k_slots
ANSWER_K = 5
# idf values the index keeps between queries (citizens' new words add some), and the masses of
# the questions retrieved most (a few kB each)
MEMO_MAX = 200_000
WEIGHTS_MAX = 8192  # as many as _analysed keeps: the questions retrieved most
_WEIGHTS = ("weights",)
_CANDIDATES = ("candidates",)  # the compiled kernel's Candidate of each kept question

__all__ = ["Candidate", "Decision", "Matcher", "Model", "load_model"]


@dataclass(frozen=True)
class Candidate:
    entry: str
    question: str
    score: float
    # what "try it" shows staff: a dict, or (rows, k) read only when asked (most decisions are
    # never shown, and rounding them for every question cost 4 % of the matcher)
    shown: Any = field(default=None, compare=False, repr=False)

    @property
    def why(self) -> dict[str, float]:
        if isinstance(self.shown, tuple):
            rows, k = self.shown
            return dict(zip(_WHY, np.round(rows[k], 3).tolist(), strict=True))
        return dict(self.shown or {})


@dataclass(frozen=True)
class Decision:
    decision: Literal["answer", "suggest", "none"]
    entry: str | None
    suggestions: list[str]
    score: float
    candidates: list[Candidate]
    # with "none": entries retrieval still found plausible (相关问题), best first, at most 3;
    # shown above the offer to leave a letter. Never an entry scored 0.
    related: list[str] = field(default_factory=list)


def _first(decision: Decision) -> str | None:
    return decision.entry or next(iter(decision.suggestions), None)


def _offered(decision: Decision) -> Decision:
    """An answer turned into the offer of its entry, for the citizen to confirm."""
    if decision.decision != "answer":
        return decision
    return Decision("suggest", None, [decision.entry], decision.score, decision.candidates)


def load_model(path: Path | str = MODEL_PATH) -> Model:
    return Model.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass(slots=True)
class _Slot:
    """One indexed question. Kept small (tens of thousands of them): the pair-feature analysis
    is redone for the few retrieved candidates of each query instead of being stored."""

    entry: str
    question: str
    text: str  # normalised, synonyms applied
    words: str  # jieba words joined by spaces (normalised text has none)

    def info(self) -> QInfo:
        return _analysed(self.text, self.words)


@lru_cache(maxsize=8192)
def _analysed(text: str, words: str) -> QInfo:
    """A question's analysis, kept for the questions retrieved most (a city's common subjects
    come back in query after query); read-only once made."""
    return analyse(text, words.split(" "))


# The features shown to staff in the "try it" box.
_WHY = (
    "char_overlap",
    "word_overlap",
    "unmatched_q",
    "unmatched_c",
    "substitution",
    "qtype_mismatch",
    "neg_mismatch",
    "num_mismatch",
    "antonym",
    "bm25",
)
_WHY_IDX = [FEATURES.index(n) for n in _WHY]


class Matcher:
    """One per process; staff edits go through add()/remove() without a rebuild."""

    def __init__(self, model: Model | None = None) -> None:
        self._model = model if model is not None else load_model()
        self.index = InvertedIndex(avg_len=self._model.avg_len, prior=self._model.prior)
        self.slots: list[_Slot | None] = []
        self.entries: dict[str, list[int]] = {}
        # the normalised opening of each entry's answer, and its own index
        self.answers: dict[str, str] = {}
        self.ans_index = InvertedIndex(avg_len=ANSWER_AVG_LEN)
        self.ans_slot: dict[str, int] = {}
        self.ans_entry: list[str | None] = []
        # questions and answer as given, for set_synonyms
        self.raw: dict[str, tuple[list[str], str]] = {}
        self._syn_re: re.Pattern[str] | None = None
        self._syn_map: dict[str, str] = {}

    @property
    def model(self) -> Model:
        return self._model

    @model.setter
    def model(self, model: Model) -> None:
        """Another model over the same index (an office's adopted one): the prior is read at
        query time, so nothing is rebuilt."""
        self._model = model
        self.index.prior = model.prior

    # -- knowledge-base updates -----------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.entries

    def _prepare_text(self, question: str) -> str:
        return self._synonyms(normalize(question))

    def _prepare(self, question: str) -> tuple[str, list[str]]:
        text = self._prepare_text(question)
        return text, words(text)

    def _synonyms(self, text: str) -> str:
        if self._syn_re is None or not text:
            return text
        return self._syn_re.sub(lambda m: self._syn_map[m.group(0)], text)

    def add(self, entry_id: str, questions: Sequence[str], answer: str = "") -> None:
        """Insert or replace an entry: its standard question first, then its similar questions."""
        if isinstance(questions, str):
            questions = [questions]
        if entry_id in self.entries:
            self.remove(entry_id)
        slots = []
        for question in dict.fromkeys(q for q in questions if q and q.strip()):
            text, wl = self._prepare(question)
            if not text:
                continue
            slot = self.index.add(text, wl)
            item = _Slot(entry_id, question, text, " ".join(wl))
            if slot == len(self.slots):
                self.slots.append(item)
            else:
                self.slots[slot] = item
            slots.append(slot)
        self.entries[entry_id] = slots
        self.raw[entry_id] = (list(questions), answer or "")
        ans = self._prepare_text(answer[: ANSWER_CHARS * 2])[:ANSWER_CHARS] if answer else ""
        if ans and slots:
            self.answers[entry_id] = ans
            aslot = self.ans_index.add(ans, ())
            if aslot == len(self.ans_entry):
                self.ans_entry.append(entry_id)
            else:
                self.ans_entry[aslot] = entry_id
            self.ans_slot[entry_id] = aslot

    def add_many(self, entries: Iterable[tuple[str, Sequence[str], str]]) -> None:
        """add() for each entry, in one go when the matcher is empty: the same slots and index,
        built with numpy instead of term by term (the index of a whole knowledge base)."""
        entries = list(entries)
        if self.entries or len({e[0] for e in entries}) != len(entries):
            for entry_id, questions, answer in entries:
                self.add(entry_id, questions, answer)
            return
        answers: list[str] = []
        for entry_id, questions, answer in entries:
            if isinstance(questions, str):
                questions = [questions]
            slots = []
            for question in dict.fromkeys(q for q in questions if q and q.strip()):
                text, wl = self._prepare(question)
                if not text:
                    continue
                slots.append(len(self.slots))
                self.slots.append(_Slot(entry_id, question, text, " ".join(wl)))
            self.entries[entry_id] = slots
            self.raw[entry_id] = (list(questions), answer or "")
            ans = self._prepare_text(answer[: ANSWER_CHARS * 2])[:ANSWER_CHARS] if answer else ""
            if ans and slots:
                self.answers[entry_id] = ans
                self.ans_slot[entry_id] = len(self.ans_entry)
                self.ans_entry.append(entry_id)
                answers.append(ans)
        items = self.slots
        self.index.add_many([s.text for s in items], (s.words.split(" ") for s in items))
        self.ans_index.add_many(answers, (() for _ in answers))

    def remove(self, entry_id: str) -> None:
        for slot in self.entries.pop(entry_id, []):
            item = self.slots[slot]
            self.index.remove(slot, item.text, item.words.split(" "))
            self.slots[slot] = None
        aslot = self.ans_slot.pop(entry_id, None)
        if aslot is not None:
            self.ans_index.remove(aslot, self.answers.pop(entry_id), ())
            self.ans_entry[aslot] = None
        self.raw.pop(entry_id, None)

    def set_synonyms(self, groups: Iterable[Sequence[str]]) -> None:
        """Words in a group count as the same word (mapped to the group's first word).

        Re-analyses every question (about a second for ten thousand entries): a rare operation.
        """
        mapping: dict[str, str] = {}
        for group in groups:
            members = [normalize(w) for w in group if w and normalize(w)]
            if len(members) < 2:
                continue
            for w in members[1:]:
                if w != members[0]:
                    mapping[w] = members[0]
        if mapping == self._syn_map:
            return
        self._syn_map = mapping
        alternatives = sorted(mapping, key=len, reverse=True)
        self._syn_re = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None
        entries = list(self.raw.items())
        self.index = InvertedIndex(avg_len=self.model.avg_len, prior=self.model.prior)
        self.ans_index = InvertedIndex(avg_len=ANSWER_AVG_LEN)
        self.slots, self.entries, self.raw = [], {}, {}
        self.answers, self.ans_slot, self.ans_entry = {}, {}, []
        self.add_many((entry_id, questions, answer) for entry_id, (questions, answer) in entries)

    @classmethod
    def build(
        cls, entries: Iterable[tuple[str, Sequence[str], str]], model: Model | None = None
    ) -> Matcher:
        ensure_jieba()
        matcher = cls(model)
        matcher.add_many(entries)
        return matcher

    # -- matching ---------------------------------------------------------------------------

    def pairs(self, text: str) -> tuple[list[int], np.ndarray, list[QInfo]]:
        """Retrieved slots for a question, their pair features (one row per slot) and analyses.

        Candidates are the top questions by BM25 and the standard questions of the entries whose
        answers match best (a citizen's words are often only in the answer)."""
        return self._pairs(self._prepare_text(text))

    def _pairs(self, norm: str) -> tuple[list[int], np.ndarray, list[QInfo]]:
        """pairs() of a question already normalised (_prepare_text)."""
        if not norm or not self.index.live:
            return [], np.empty((0, len(FEATURES))), []
        wl = words(norm)
        q = analyse(norm, wl)
        terms = index_terms(norm, wl)
        q_scores, best = self.index.scores(terms)
        top, scores, best = InvertedIndex.top(q_scores, best, self.model.k_slots)
        if len(top) == 0:
            return [], np.empty((0, len(FEATURES))), []
        ans_scores, ans_best = (
            self.ans_index.scores(terms) if self.ans_index.live else (np.empty(0), 0.0)
        )
        slots = [int(s) for s in top]
        rel = [float(s) / best for s in scores]
        if ans_best > 0 and len(ans_scores):
            a_top, _, _ = InvertedIndex.top(ans_scores, ans_best, ANSWER_K)
            seen = set(slots)
            for a in a_top:
                e = self.ans_entry[int(a)]
                first = self.entries[e][0] if e is not None and self.entries.get(e) else None
                if first is None or first in seen:
                    continue
                seen.add(first)
                slots.append(first)
                rel.append(float(q_scores[first]) / best)
        idx = self.index
        # idf values and questions' idf masses, kept by the index until its statistics change
        memo = idx.memo
        if len(memo) > MEMO_MAX:
            memo.clear()

        def char_idf(ch: str) -> float:
            v = memo.get(ch)
            if v is None:
                v = memo[ch] = idx.idf(ch)
            return v

        def word_idf(w: str) -> float:
            if len(w) == 1:
                return char_idf(w)
            key = WORD + w
            v = memo.get(key)
            if v is None:
                v = memo[key] = idx.idf(key) if idx.df(key) else char_idf(w[0])
            return v

        kept = memo.get(_WEIGHTS)
        if kept is None:
            kept = memo[_WEIGHTS] = {}
        trim_oldest(kept, WEIGHTS_MAX)

        def weights(info: QInfo) -> Weights:
            key = (info.text, info.words and info.words[0])
            v = kept.get(key)
            if v is None:
                v = kept[key] = weigh(info, char_idf, word_idf, citizen=False)
            return v

        qw = weigh(q, char_idf, word_idf)

        entries = [self.slots[s].entry for s in slots]
        # best score of another entry, for each retrieved slot
        first_entry = entries[0]
        other_best_first = next(
            (r for e, r in zip(entries, rel, strict=True) if e != first_entry), 0.0
        )
        rows = []
        infos = []
        answers = []
        # the swap and neighbourhood features only for a model that reads them
        extended = len(self._model.features) > len(BASE_FEATURES)
        kernel = None if extended else match_features._pair_kernel
        margins: list[float] = []
        candidates: list = []
        kept_cands = None
        if kernel is not None:
            kept_cands = memo.get(_CANDIDATES)
            if kept_cands is None:
                kept_cands = memo[_CANDIDATES] = {}
            trim_oldest(kept_cands, WEIGHTS_MAX)
        for rank, (slot, r, e) in enumerate(zip(slots, rel, entries, strict=True)):
            margin = r - (other_best_first if e == first_entry else rel[0])
            info = self.slots[slot].info()
            infos.append(info)
            answer = self.answers.get(e, "")
            answers.append(answer)
            if kernel is not None:  # all rows in one call below
                margins.append(margin)
                key = (info.text, info.words and info.words[0])
                cand = kept_cands.get(key)
                if cand is None:  # its weights kept inside it, not in ``kept`` as well
                    cand = kept_cands[key] = kernel.Candidate(
                        info, weigh(info, char_idf, word_idf, citizen=False)
                    )
                candidates.append(cand)
                continue
            rows.append(
                pair_features(
                    q,
                    info,
                    char_idf,
                    word_idf,
                    r,
                    margin,
                    rank,
                    answer,
                    extended,
                    qw,
                    weights(info),
                )
            )
        if kernel is not None:
            out = np.zeros((len(slots), len(FEATURES)))
            kernel.pair_rows(q, qw, candidates, rel, margins, answers, out)
            return slots, out, infos
        if extended:
            contrast_features(q, infos, entries, answers, rows, word_idf)
        else:
            for row in rows:
                row.extend([0.0] * len(CONTRAST))
        return slots, np.asarray(rows, dtype=np.float64), infos

    def decide(self, text: str) -> Decision:
        """What to do with a citizen's message; a short one that only names its subject (我想问下
        公积金的事) and finds nothing, as its subject alone. A long one is decided by its question
        (knowledge/focus.py) and never answered outright, since what it says around the question
        may change it: the entries that fit are offered for the citizen to choose from, and only
        those scored at least the 相关问题 floor. A long one that asks nothing gets "none"."""
        text = text.strip()
        part = focus(text)
        if part is None or names_no_matter(text):  # 要带什么材料: of what? (knowledge.focus)
            return Decision("none", None, [], 0.0, [])
        decision = self._decide(part)
        if part == text:
            named = subject(text) if decision.decision == "none" else None
            if named:  # 我想问下公积金的事 finds nothing where 公积金 finds its entries
                by_subject = self._decide(named)
                if by_subject.decision != "none":
                    return by_subject
            return decision
        floor = max(self.model.t_related, MIN_SHOWN)
        fitting = [c.entry for c in decision.candidates[:3] if c.score >= floor]
        if decision.decision == "none" or not fitting:
            related = [e for e in decision.related if e in fitting]
            return Decision("none", None, [], decision.score, decision.candidates, related)
        return Decision("suggest", None, fitting, decision.score, decision.candidates)

    def follow_up(self, text: str, about: str | None, alone: Decision | None = None) -> Decision:
        """``decide`` for a short message that follows ``about`` in a conversation (the question
        of the entry just answered, or the citizen's own that found something); ``alone``: the
        message's own decision, when made already.

        One that names no thing ``about`` does not (``knowledge.focus.leans_on``) is read with
        ``about``'s matter:
        - adding nothing to it (要带什么材料, 补办要带什么材料 after 社保卡丢了怎么挂失补办), it is
          decided as read on, but never answered with another entry than the one ``about``
          asks, when it is an entry's question: that entry is offered first, with what was
          found; when read on it finds nothing, what it found alone is offered at most;
        - adding a word of its own (到期了怎么办 after 怎么办理居住证, 那新生儿呢, 离职了呢), it is
          offered only the entries found read on one of whose questions names that word and
          the matter too (居住证到期了怎么续签), never answered from them: read on, 退休了怎么办
          after the lost card was answered with the lost card. With none, what it found alone
          is offered at most (丢了怎么办 alone is answered about the lost card, a guess after
          居住证).
        One naming a thing of its own (公积金能贷多少, 地铁里能吃东西吗) is decided alone."""
        decision = alone or self.decide(text)
        text = text.strip()
        if not about or not leans_on(text, about):  # leans_on: short, in words
            return decision
        read_on = self.decide(with_matter(about, text))
        if new := new_words(text, about):
            matter = [w for w in matter_words(about) if len(w) > 1]
            naming = [
                c.entry
                for c in read_on.candidates[:3]
                if c.score >= MIN_SHOWN and self._names(c.entry, new, matter)
            ]
            if decision.decision == "answer" and decision.entry in naming:
                return decision  # 能贷多少 after 公积金怎么提取: the loan, read either way
            if naming:
                return Decision("suggest", None, naming, read_on.score, read_on.candidates)
            return _offered(decision)
        if decision.decision == "answer" and _first(read_on) == decision.entry:
            return decision
        asked = self._entry_asked(about, read_on.candidates)
        if asked and _first(read_on) != asked and read_on.decision != "none":
            # 要带什么材料 after 社保卡怎么申领 was answered with the lost card's entry, whose
            # question has 补办社保卡要带什么材料: the entry just answered is offered first
            found = [read_on.entry] if read_on.entry else read_on.suggestions
            offered = list(dict.fromkeys([asked, *found]))[:3]
            return Decision("suggest", None, offered, read_on.score, read_on.candidates)
        if read_on.decision != "none" or names_no_matter(text):
            return read_on
        return _offered(decision)

    def _entry_asked(self, about: str, candidates: Sequence[Candidate]) -> str | None:
        """The entry among ``candidates`` one of whose questions is ``about`` (an entry's
        question, when the conversation's matter is an answer), if any."""
        for c in candidates:
            if any(self.slots[s].question == about for s in self.entries.get(c.entry, ())):
                return c.entry
        return None

    def _names(self, entry: str, words: Iterable[str], matter: Sequence[str]) -> bool:
        """Whether one of ``entry``'s questions names all of ``words`` and, when given, one of
        ``matter``'s: 居住证到期了怎么续签 for 到期 after 怎么办理居住证, not 社保卡丢了怎么挂失补办
        for 丢失 there."""
        for slot in self.entries.get(entry, ()):
            question = normalize(self.slots[slot].question)
            if all(w in question for w in words) and (
                not matter or any(w in question for w in matter)
            ):
                return True
        return False

    @staticmethod
    def _names_shared_topic(
        norm: str, order: list[tuple[str, int]], infos: list[QInfo], ps: list[float]
    ) -> bool:
        """Whether the message only names what the two best entries share: 居住证 against
        怎么办理居住证 and 居住证到期了怎么续签. However sure the scorer is of the first, the
        citizen has not said which one is meant, so they are offered to choose from."""
        if len(order) < 2 or ps[1] < MIN_SHOWN:
            return False
        return all(norm in infos[i].text for _, i in order[:2])

    def _decide(self, text: str) -> Decision:
        norm = self._prepare_text(text)
        slots, feats, infos = self._pairs(norm)
        if not slots:
            return Decision("none", None, [], 0.0, [])
        probs = self.model.predict(feats).tolist()
        best: dict[str, int] = {}
        for i, slot in enumerate(slots):
            e = self.slots[slot].entry
            j = best.get(e)
            if j is None or probs[i] > probs[j]:
                best[e] = i
        order = sorted(best.items(), key=lambda kv: -probs[kv[1]])
        whys = feats[[i for _, i in order[:5]]][:, _WHY_IDX]  # a copy: feats is not kept
        cands = [
            Candidate(e, self.slots[slots[i]].question, probs[i], (whys, k))
            for k, (e, i) in enumerate(order[:5])
        ]
        ps = [probs[i] for _, i in order]
        dup = 0.0
        if len(order) > 1:
            dup = entry_likeness(infos[order[0][1]], infos[order[1][1]])
        top_text = infos[order[0][1]].text
        exact = top_text == norm and not deictic(top_text)
        kind, p_top, _ = self.model.choose(ps, dup, exact, feats[order[0][1]])
        if kind == "answer" and not exact and self._names_shared_topic(norm, order, infos, ps):
            kind = "suggest"
        top = cands[0]
        if kind == "answer":
            return Decision("answer", top.entry, [], p_top, cands)
        if kind == "suggest":
            # an entry the scorer gives (rounded) 0.00 is never put before a citizen
            shown = [c.entry for c in cands[:3] if c.score >= MIN_SHOWN]
            if shown:
                return Decision("suggest", None, shown, p_top, cands)
        floor = max(self.model.t_related, MIN_SHOWN)
        related = [c.entry for c in cands[:3] if c.score >= floor]
        return Decision("none", None, [], p_top, cands, related)


def timed_decide(matcher: Matcher, text: str) -> tuple[Decision, float]:
    t0 = time.perf_counter()
    d = matcher.decide(text)
    return d, (time.perf_counter() - t0) * 1000.0
