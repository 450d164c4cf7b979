"""The question matcher: retrieve lookalike knowledge-base questions, judge each pair, decide.

decide() answers only when the best candidate is almost surely a paraphrase of the citizen's
question (a wrong answer about a government procedure is the worst outcome), suggests up to three
entries when it is plausible, and says nothing when no entry is likely to fit.

Pure Python over its own data: no database, no web framework.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from knowledge.match_features import (
    FEATURES,
    QInfo,
    analyse,
    deictic,
    entry_likeness,
    pair_features,
)
from knowledge.match_index import WORD, InvertedIndex, index_terms
from knowledge.match_model import Model
from knowledge.normalize import ensure_jieba, normalize, words

MODEL_PATH = Path(__file__).with_name("model.json")

__all__ = ["Candidate", "Decision", "Matcher", "Model", "load_model"]


@dataclass(frozen=True)
class Candidate:
    entry: str
    question: str
    score: float
    why: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    decision: Literal["answer", "suggest", "none"]
    entry: str | None
    suggestions: list[str]
    score: float
    candidates: list[Candidate]


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
        return analyse(self.text, self.words.split(" "))


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
        self.model = model if model is not None else load_model()
        self.index = InvertedIndex(avg_len=self.model.avg_len)
        self.slots: list[_Slot | None] = []
        self.entries: dict[str, list[int]] = {}
        # questions as given, for set_synonyms (answers do not take part in matching: not kept)
        self.raw: dict[str, list[str]] = {}
        self._syn_re: re.Pattern[str] | None = None
        self._syn_map: dict[str, str] = {}

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
        self.raw[entry_id] = list(questions)

    def remove(self, entry_id: str) -> None:
        for slot in self.entries.pop(entry_id, []):
            item = self.slots[slot]
            self.index.remove(slot, item.text, item.words.split(" "))
            self.slots[slot] = None
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
        self.index = InvertedIndex(avg_len=self.model.avg_len)
        self.slots = []
        self.entries = {}
        self.raw = {}
        for entry_id, questions in entries:
            self.add(entry_id, questions)

    @classmethod
    def build(
        cls, entries: Iterable[tuple[str, Sequence[str], str]], model: Model | None = None
    ) -> Matcher:
        ensure_jieba()
        matcher = cls(model)
        for entry_id, questions, answer in entries:
            matcher.add(entry_id, questions, answer)
        return matcher

    # -- matching ---------------------------------------------------------------------------

    def pairs(self, text: str) -> tuple[list[int], np.ndarray, list[QInfo]]:
        """Retrieved slots for a question, their pair features (one row per slot) and analyses."""
        norm, wl = self._prepare(text)
        if not norm or not self.index.live:
            return [], np.empty((0, len(FEATURES))), []
        q = analyse(norm, wl)
        top, scores, best = self.index.search(index_terms(norm, wl), self.model.k_slots)
        if len(top) == 0:
            return [], np.empty((0, len(FEATURES))), []
        idx = self.index
        cache: dict[str, float] = {}

        def char_idf(ch: str) -> float:
            v = cache.get(ch)
            if v is None:
                v = cache[ch] = idx.idf(ch)
            return v

        def word_idf(w: str) -> float:
            if len(w) == 1:
                return char_idf(w)
            key = WORD + w
            v = cache.get(key)
            if v is None:
                v = cache[key] = idx.idf(key) if idx.df(key) else char_idf(w[0])
            return v

        slots = [int(s) for s in top]
        rel = [float(s) / best for s in scores]
        entries = [self.slots[s].entry for s in slots]
        # best score of another entry, for each retrieved slot
        first_entry = entries[0]
        other_best_first = next(
            (r for e, r in zip(entries, rel, strict=True) if e != first_entry), 0.0
        )
        rows = []
        infos = []
        for rank, (slot, r, e) in enumerate(zip(slots, rel, entries, strict=True)):
            margin = r - (other_best_first if e == first_entry else rel[0])
            info = self.slots[slot].info()
            infos.append(info)
            rows.append(pair_features(q, info, char_idf, word_idf, r, margin, rank))
        return slots, np.asarray(rows, dtype=np.float64), infos

    def decide(self, text: str) -> Decision:
        slots, feats, infos = self.pairs(text)
        if not slots:
            return Decision("none", None, [], 0.0, [])
        probs = self.model.predict(feats)
        best: dict[str, int] = {}
        for i, slot in enumerate(slots):
            e = self.slots[slot].entry
            j = best.get(e)
            if j is None or probs[i] > probs[j]:
                best[e] = i
        order = sorted(best.items(), key=lambda kv: -probs[kv[1]])
        cands = []
        for e, i in order[:5]:
            why = {n: round(float(feats[i, k]), 3) for n, k in zip(_WHY, _WHY_IDX, strict=True)}
            cands.append(Candidate(e, self.slots[slots[i]].question, float(probs[i]), why))
        ps = [float(probs[i]) for _, i in order]
        dup = 0.0
        if len(order) > 1:
            dup = entry_likeness(infos[order[0][1]], infos[order[1][1]])
        top_text = infos[order[0][1]].text
        exact = top_text == self._prepare_text(text) and not deictic(top_text)
        kind, p_top, _ = self.model.choose(ps, dup, exact)
        top = cands[0]
        if kind == "answer":
            return Decision("answer", top.entry, [], p_top, cands)
        if kind == "suggest":
            return Decision("suggest", None, [c.entry for c in cands[:3]], p_top, cands)
        return Decision("none", None, [], p_top, cands)


def timed_decide(matcher: Matcher, text: str) -> tuple[Decision, float]:
    t0 = time.perf_counter()
    d = matcher.decide(text)
    return d, (time.perf_counter() - t0) * 1000.0
