"""Candidate retrieval: an incremental inverted index over characters, character bigrams and words.

Every question (standard or similar) is one slot. A knowledge base is loaded in one go, and edits
after that touch only the terms of the changed questions. IDF is always exact (computed from the
live document frequencies at query time); BM25's length normalisation uses an average length fixed
when the index is created (a close approximation once the knowledge base has more than a handful
of questions).
"""

from __future__ import annotations

import ctypes
import math
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain, islice

import numpy as np

try:  # compiled loops (setup.py); without them, the numpy twins below give the same scores
    from knowledge._kernels import bm25_terms as compiled_bm25_terms
    from knowledge._kernels import positions as compiled_positions
    from knowledge._kernels import top_k as compiled_top_k
except ImportError:  # pragma: no cover - a build without a C compiler
    compiled_bm25_terms = compiled_positions = compiled_top_k = None

K1 = 1.2
B = 0.6
SCALE = 16384.0  # term weights (at most K1 + 1) are stored as integers in 1/SCALE steps
WORD = "\x01"
PRIOR_DOCS = 200.0  # prefix that keeps the word "社保" apart from the bigram "社保"
TERMS_MAX = 50_000  # terms whose row and weight an index keeps between queries


def index_terms(text: str, word_list: Iterable[str]) -> Counter[str]:
    """Term frequencies of a normalised text: unigrams, bigrams and words."""
    return Counter(
        chain(
            text,
            map(str.__add__, text, text[1:]),
            (WORD + w for w in word_list if len(w) > 1),  # 1-character words are unigrams
        )
    )


def trim_oldest(kept: dict, limit: int) -> None:
    """Past ``limit`` items, those kept longest (inserted first) are dropped down to three
    quarters of it: a cache emptied all at once made every item of the next queries computed
    again at once (the index's terms some 11,000 citizens' messages into a process's life)."""
    if len(kept) > limit:
        for key in list(islice(kept, len(kept) - limit * 3 // 4)):
            del kept[key]


def _trim_heap() -> None:
    """Hand the memory of a build's freed transient arrays back to the system: glibc keeps
    freed heap pages otherwise, and the process stays at the build's peak (25 MB at 37k
    questions). Elsewhere than glibc, nothing."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


class InvertedIndex:
    """A term's postings are a slot id and the BM25 term weight in 1/16384 steps, which numpy
    reads without copying. Postings added one question at a time pack the two in one integer
    (slot in the high bits, weight in the low 16).

    A knowledge base is first loaded in one go (add_many): every term's postings then lie end to
    end in two arrays (slots, weights), a term's row found through a small dict for characters
    and words and a sorted array for bigrams (most terms are rare bigrams: a dict of a quarter
    of a million strings and arrays cost 65 MB at 37k questions, against about 25 MB this way,
    and building it is a few numpy sorts instead of a Python loop over every term). Questions
    added later (staff edits) get one small array per term beside it; removal swap-removes
    within either. A slot's terms are recomputed from its text on removal, so nothing else is
    stored."""

    def __init__(self, avg_len: float = 12.0, prior: dict[str, float] | None = None) -> None:
        self.avg_len = avg_len
        # how common a character or bigram is in questions generally (share of questions holding
        # it), counted as PRIOR_DOCS questions besides the knowledge base's own: a small office's
        # index has never seen "如何" and would otherwise weigh it as a rare subject word
        self._prior: dict[str, float] = prior or {}
        # values derived from the statistics (idf of characters and words, a question's idf
        # mass), kept between queries and dropped whenever the statistics change
        self.memo: dict = {}
        self._terms: dict[str, tuple[int, int, float, np.float32, array | None] | None] = {}
        # the bulk-loaded rows: postings of row r are [start[r] : start[r] + count[r]] of both
        self._slot = np.empty(0, dtype=np.int32)  # each posting's slot
        self._tf = np.empty(0, dtype=np.uint16)  # and its BM25 term weight, times SCALE
        self._start = array("q")
        self._count = array("q")
        self._rows: dict[str, int] = {}  # characters and words
        self._bigrams = np.empty(0, dtype=np.int64)  # sorted codes; row = _bigram_row0 + i
        self._bigram_row0 = 0
        # postings added one question at a time, after the bulk load
        self.postings: dict[str, array] = {}
        self.n_slots = 0
        self.free: list[int] = []
        self.live = 0

    def _forget(self) -> None:
        """The statistics changed: what was derived from them goes."""
        self.memo.clear()
        self._terms.clear()

    @property
    def prior(self) -> dict[str, float]:
        return self._prior

    @prior.setter
    def prior(self, prior: dict[str, float]) -> None:
        self._prior = prior
        self._forget()

    # -- updates ---------------------------------------------------------------------------

    def _norm(self, text: str) -> float:
        return K1 * (1 - B + B * max(len(text), 1) / self.avg_len)

    def add(self, text: str, word_list: Iterable[str]) -> int:
        tf = index_terms(text, word_list)
        self._forget()
        if self.free:
            slot = self.free.pop()
        else:
            slot = self.n_slots
            self.n_slots += 1
        norm = self._norm(text)
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

    def add_many(self, texts: Sequence[str], word_lists: Iterable[Iterable[str]]) -> list[int]:
        """Index many questions at once: slots 0..n-1 of an empty index, exactly as add() one
        by one would give them (same slots, postings and weights), in numpy: each kind of term
        (characters, bigrams, words) is a sorted array of (term, slot) integers, its runs the
        term frequencies."""
        n = len(texts)
        bits = max(n - 1, 1).bit_length()  # a slot's bits in a (term, slot) integer
        if self.n_slots or self.free or self.postings or 42 + bits > 63:
            return [self.add(text, wl) for text, wl in zip(texts, word_lists, strict=True)]
        if not n:
            return []
        try:
            raw = "".join(texts).encode("utf-32-le", "surrogatepass")
        except UnicodeEncodeError:
            return [self.add(text, wl) for text, wl in zip(texts, word_lists, strict=True)]
        codes = np.frombuffer(raw, dtype=np.uint32).astype(np.int64)
        del raw
        lens = np.fromiter(map(len, texts), np.int64, n)
        slot_of = np.repeat(np.arange(n, dtype=np.int64), lens)
        del lens
        norm = np.asarray([self._norm(t) for t in texts], dtype=np.float64)
        data, starts, terms = [], [], []
        word_ids: dict[str, int] = {}
        # one kind at a time, in place where it can be: the transient arrays set a build's peak
        for kind in range(3):
            if kind == 0:  # characters
                pairs = codes << bits
                pairs |= slot_of
            elif kind == 1:  # two neighbouring characters of one question
                inside = slot_of[1:] == slot_of[:-1]
                pairs = codes[:-1] << 21
                pairs |= codes[1:]
                del codes
                pairs <<= bits
                pairs |= slot_of[:-1]
                del slot_of
                pairs = pairs[inside]
                del inside
            else:  # words
                word_pairs = array("q")
                for slot, wl in enumerate(word_lists):
                    for w in wl:
                        if len(w) > 1:  # 1-character words are unigrams
                            word = word_ids.setdefault(w, len(word_ids))
                            word_pairs.append((word << bits) | slot)
                pairs = np.frombuffer(word_pairs, dtype=np.int64).copy()
                del word_pairs
            box = [pairs]
            del pairs
            postings, row_start, keys = self._group(box, bits, norm)
            row_start += sum(len(d) for d in data)
            data.append(postings)
            starts.append(row_start)
            terms.append(keys)
        packed = np.concatenate(data)
        del data
        # stored apart, so that a query reads them as they are (no unpacking per term); in
        # place, since the build's peak is what an office's server must have
        if sys.byteorder == "little":  # the low 16 bits are each integer's first uint16
            self._tf = packed.view(np.uint16)[::4].copy()
        else:
            self._tf = (packed & 0xFFFF).astype(np.uint16)
        packed >>= 16
        # 32-bit slots: a question's scores read a third less memory (slot and tf, 6 bytes a
        # posting instead of 10), which a server's other work evicts from the caches between
        # two questions
        self._slot = packed.astype(np.int32)
        del packed
        all_starts = np.concatenate(starts)
        self._start = array("q", all_starts.tobytes())
        self._count = array("q", np.diff(all_starts, append=len(self._slot)).tobytes())
        n_chars, n_bigrams = len(terms[0]), len(terms[1])
        self._bigram_row0 = n_chars
        self._bigrams = terms[1]
        rows = {chr(c): r for r, c in enumerate(terms[0].tolist())}
        by_id = list(word_ids)
        for r, i in enumerate(terms[2].tolist(), start=n_chars + n_bigrams):
            rows[WORD + by_id[i]] = r
        self._rows = rows
        self.n_slots = self.live = n
        self._forget()
        _trim_heap()
        return list(range(n))

    @staticmethod
    def _group(
        box: list[np.ndarray], bits: int, norm: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term << bits | slot) integers -> the packed postings in term order, where each
        term's row starts, and the terms. Takes the integers out of ``box`` so that they are
        freed as soon as they are read."""
        pairs = box.pop()
        pairs.sort()
        if not len(pairs):
            return pairs, pairs, pairs
        first = np.empty(len(pairs), dtype=bool)
        first[0] = True
        np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
        at = np.flatnonzero(first)
        del first
        tf = np.diff(at, append=len(pairs))
        pairs = pairs[at]
        del at
        slots = pairs & ((1 << bits) - 1)
        pairs >>= bits
        keys = pairs
        # round(SCALE * n * (K1 + 1) / (n + norm)) as add() computes it: the same float
        # operations on the same values (+ and * commute exactly); np.rint rounds half to even
        # as round() does
        weight = tf * SCALE
        weight *= K1 + 1
        den = norm[slots]
        den += tf
        del tf
        weight /= den
        del den
        np.rint(weight, out=weight)
        slots <<= 16
        slots |= weight.astype(np.int64)
        postings = slots
        del weight
        new_term = np.empty(len(keys), dtype=bool)
        new_term[0] = True
        np.not_equal(keys[1:], keys[:-1], out=new_term[1:])
        row_start = np.flatnonzero(new_term)
        return postings, row_start, keys[row_start]

    def remove(self, slot: int, text: str, word_list: Iterable[str]) -> None:
        for term in index_terms(text, word_list):
            plist = self.postings.get(term)
            if plist is not None:
                found = np.flatnonzero((np.frombuffer(plist, dtype=np.int64) >> 16) == slot)
                if len(found):
                    # swap-remove: posting order does not matter
                    i = int(found[0])
                    plist[i] = plist[-1]
                    plist.pop()
                    if not plist:
                        del self.postings[term]
                    continue
            row = self._row(term)
            start, count = self._start[row], self._count[row]
            slots = self._slot[start : start + count]
            i = int(np.flatnonzero(slots == slot)[0])
            slots[i] = slots[count - 1]
            tfs = self._tf[start : start + count]
            tfs[i] = tfs[count - 1]
            self._count[row] = count - 1
        self.free.append(slot)
        self.live -= 1
        self._forget()

    # -- statistics ------------------------------------------------------------------------

    def _row(self, term: str) -> int:
        """The bulk-loaded row of a term, or -1."""
        if len(term) == 2:  # a word term is WORD and at least two characters
            if not len(self._bigrams):
                return -1
            code = (ord(term[0]) << 21) | ord(term[1])
            i = int(np.searchsorted(self._bigrams, code))
            if i < len(self._bigrams) and self._bigrams[i] == code:
                return self._bigram_row0 + i
            return -1
        return self._rows.get(term, -1)

    def _term_rows(self, terms: Iterable[str]) -> list[int]:
        """_row of each term, the bigrams looked up together."""
        rows: list[int] = []
        at: list[int] = []
        codes: list[int] = []
        get = self._rows.get
        for term in terms:
            if len(term) == 2:
                at.append(len(rows))
                codes.append((ord(term[0]) << 21) | ord(term[1]))
                rows.append(-1)
            else:
                rows.append(get(term, -1))
        if codes and len(self._bigrams) and compiled_positions is not None:
            row0 = self._bigram_row0
            for i, p in zip(at, compiled_positions(self._bigrams, codes), strict=True):
                if p >= 0:
                    rows[i] = row0 + p
        elif codes and len(self._bigrams):
            wanted = np.asarray(codes, dtype=np.int64)
            pos = np.searchsorted(self._bigrams, wanted)
            pos[pos == len(self._bigrams)] = 0
            hit = self._bigrams[pos] == wanted
            row0 = self._bigram_row0
            for i, p, h in zip(at, pos.tolist(), hit.tolist(), strict=True):
                if h:
                    rows[i] = row0 + p
        return rows

    def _df(self, term: str, row: int) -> int:
        extra = self.postings.get(term)
        return (self._count[row] if row >= 0 else 0) + (len(extra) if extra else 0)

    def df(self, term: str) -> int:
        return self._df(term, self._row(term))

    def idf(self, term: str) -> float:
        return self._idf(term, self.df(term))

    def _idf(self, term: str, df_: int) -> float:
        prior = PRIOR_DOCS if self.prior else 0.0
        df = df_ + prior * self.prior.get(term, 0.0)
        return math.log(1.0 + (self.live + prior - df + 0.5) / (df + 0.5))

    # -- search ----------------------------------------------------------------------------

    def scores(self, terms: dict[str, int]) -> tuple[np.ndarray, float]:
        """BM25 of every slot and the query's own maximal score (for normalising)."""
        # each term's postings and weight, kept until the statistics change (add and remove
        # forget them: the postings added since the bulk load are kept by reference)
        known = self._terms
        trim_oldest(known, TERMS_MAX)
        new = [term for term in terms if term not in known]
        if new:
            self._know(new)
        if compiled_bm25_terms is not None:
            return compiled_bm25_terms(self.n_slots, self._slot, self._tf, terms, known)
        top_possible = 0.0
        rows: list[tuple[int, int, np.float32, array | None]] = []
        for term in terms:
            got = known[term]
            if got is not None:
                start, count, top, wf, extra = got
                top_possible += top
                rows.append((start, count, wf, extra))
        if not rows:
            return np.zeros(self.n_slots, dtype=np.float32), top_possible
        return self._numpy_bm25(rows), top_possible

    def _know(self, new: list[str]) -> None:
        """Keep the new terms' postings (start and count of the bulk-loaded row, those added
        since) and weights: BM25's upper bound and its factor per unit of stored tf."""
        known = self._terms
        start_of = self._start
        for term, row in zip(new, self._term_rows(new), strict=True):
            extra = self.postings.get(term) or None
            count = self._count[row] if row >= 0 else 0
            df = count + (len(extra) if extra else 0)
            if not df:
                known[term] = None
                continue
            w = self._idf(term, df)
            # bigrams and words carry order/meaning: weight them a bit more than single characters
            if len(term) == 1:
                w *= 0.5
            start = start_of[row] if count else 0
            known[term] = (start, count, w * (K1 + 1) / (1 + K1), np.float32(w / SCALE), extra)

    def _numpy_bm25(self, rows: list[tuple[int, int, np.float32, array | None]]) -> np.ndarray:
        """scores' sum without the compiled loop: gathered, weighed, one np.bincount."""
        slots: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        wfs: list[float] = []
        counts: list[int] = []
        for start, count, wf, extra in rows:
            if count:
                slots.append(self._slot[start : start + count])
                tfs.append(self._tf[start : start + count])
                wfs.append(wf)
                counts.append(count)
            if extra:
                packed = np.frombuffer(extra, dtype=np.int64)
                slots.append(packed >> 16)
                tfs.append((packed & 0xFFFF).astype(np.uint16))
                wfs.append(wf)
                counts.append(len(packed))
        weights = np.concatenate(tfs).astype(np.float32)
        weights *= np.repeat(np.asarray(wfs, dtype=np.float32), counts)
        scores = np.bincount(np.concatenate(slots), weights=weights, minlength=self.n_slots)
        return scores.astype(np.float32)

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
        if compiled_top_k is not None:
            top, values = compiled_top_k(scores, k)
            return top, values, top_possible
        k = min(k, len(scores))
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        top = np.flatnonzero((scores >= kth) & (scores > 0))
        top = top[np.lexsort((top, -scores[top]))][:k]  # ties: the lower slot first
        return top, scores[top], top_possible
