"""Candidate retrieval: an incremental inverted index over characters, character bigrams and words.

Every question (standard or similar) is one slot. Postings are kept as Python lists so that add and
remove touch only the terms of the changed questions; a term's numpy arrays are rebuilt lazily the
next time a query uses it. IDF is always exact (computed from the live document frequencies at
query time); BM25's length normalisation uses an average length fixed when the index is created
(a close approximation once the knowledge base has more than a handful of questions).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable
from itertools import chain

import numpy as np

K1 = 1.2
B = 0.6
SCALE = 16384.0  # term weights (at most K1 + 1) are stored as integers in 1/SCALE steps
WORD = "\x01"
PRIOR_DOCS = 200.0  # prefix that keeps the word "社保" apart from the bigram "社保"


def index_terms(text: str, word_list: Iterable[str]) -> Counter[str]:
    """Term frequencies of a normalised text: unigrams, bigrams and words."""
    return Counter(
        chain(
            text,
            map(str.__add__, text, text[1:]),
            (WORD + w for w in word_list if len(w) > 1),  # 1-character words are unigrams
        )
    )


class InvertedIndex:
    """A term's postings are one compact typed array that numpy reads without copying: each item
    packs the slot id (high bits) and the BM25 term weight in 1/16384 steps (low 16 bits). Most
    terms are rare bigrams, so one small array per term keeps memory low. A slot's terms are
    recomputed from its text on removal, so nothing else is stored."""

    def __init__(self, avg_len: float = 12.0, prior: dict[str, float] | None = None) -> None:
        self.avg_len = avg_len
        # how common a character or bigram is in questions generally (share of questions holding
        # it), counted as PRIOR_DOCS questions besides the knowledge base's own: a small office's
        # index has never seen "如何" and would otherwise weigh it as a rare subject word
        self.prior: dict[str, float] = prior or {}
        self.postings: dict[str, array] = {}
        self.n_slots = 0
        self.free: list[int] = []
        self.live = 0

    # -- updates ---------------------------------------------------------------------------

    def add(self, text: str, word_list: Iterable[str]) -> int:
        tf = index_terms(text, word_list)
        if self.free:
            slot = self.free.pop()
        else:
            slot = self.n_slots
            self.n_slots += 1
        norm = K1 * (1 - B + B * max(len(text), 1) / self.avg_len)
        base = slot << 16
        once = base | round(SCALE * (K1 + 1) / (1 + norm))
        postings = self.postings
        for term, n in tf.items():
            plist = postings.get(term)
            if plist is None:
                plist = postings[term] = array("q")
            plist.append(once if n == 1 else base | round(SCALE * n * (K1 + 1) / (n + norm)))
        self.live += 1
        return slot

    def remove(self, slot: int, text: str, word_list: Iterable[str]) -> None:
        for term in index_terms(text, word_list):
            plist = self.postings[term]
            i = int(np.flatnonzero((np.frombuffer(plist, dtype=np.int64) >> 16) == slot)[0])
            # swap-remove: posting order does not matter
            plist[i] = plist[-1]
            plist.pop()
            if not plist:
                del self.postings[term]
        self.free.append(slot)
        self.live -= 1

    # -- statistics ------------------------------------------------------------------------

    def df(self, term: str) -> int:
        plist = self.postings.get(term)
        return len(plist) if plist else 0

    def idf(self, term: str) -> float:
        prior = PRIOR_DOCS if self.prior else 0.0
        df = self.df(term) + prior * self.prior.get(term, 0.0)
        return math.log(1.0 + (self.live + prior - df + 0.5) / (df + 0.5))

    # -- search ----------------------------------------------------------------------------

    def scores(self, terms: dict[str, int]) -> tuple[np.ndarray, float]:
        """BM25 of every slot and the query's own maximal score (for normalising)."""
        scores = np.zeros(self.n_slots, dtype=np.float32)
        top_possible = 0.0
        for term in terms:
            plist = self.postings.get(term)
            if plist is None:
                continue
            w = self.idf(term)
            # bigrams and words carry order/meaning: weight them a bit more than single characters
            if len(term) == 1:
                w *= 0.5
            top_possible += w * (K1 + 1) / (1 + K1)
            packed = np.frombuffer(plist, dtype=np.int64)
            scores[packed >> 16] += np.float32(w / SCALE) * (packed & 0xFFFF).astype(np.float32)
        return scores, top_possible

    def search(self, terms: dict[str, int], k: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Top-k slots by BM25 and the query's own maximal score (for normalising)."""
        scores, top_possible = self.scores(terms)
        return self.top(scores, top_possible, k)

    @staticmethod
    def top(
        scores: np.ndarray, top_possible: float, k: int
    ) -> tuple[np.ndarray, np.ndarray, float]:
        if len(scores) == 0 or top_possible == 0:
            return np.empty(0, np.int64), np.empty(0, np.float32), 0.0
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return top, scores[top], top_possible
