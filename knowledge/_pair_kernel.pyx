# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""match_features.pair_features compiled, for the features the shipped model reads
(extended=False): the same arithmetic on the same values in the same order, so the rows equal
the Python function's (tests/knowledge/test_kernels.py holds them to it on real questions). In
Python, most of a pair's 40 us goes to generator expressions and set arithmetic that the C
loops below do without creating objects.

match_features hands its word lists over with configure() (this module imports nothing of it,
so that the two can be imported in any order).
"""

from cpython cimport array
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.math cimport log1p
from libc.stdint cimport uint64_t
from libc.string cimport memset

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, Levenshtein

cdef frozenset FUNCTION_CHARS = frozenset()
cdef dict ANT = {}
cdef Py_ssize_t MAX_FUZZY = 48
cdef object _indel = Indel.normalized_similarity
cdef object _lev = Levenshtein.normalized_similarity
cdef object _opcodes = Levenshtein.opcodes
cdef object _partial = fuzz.partial_ratio
cdef object _token_set = fuzz.token_set_ratio


# rapidfuzz's scorers called through the C interface its own process.extract uses (the
# `_RF_Scorer` capsule each scorer carries; the structs below are its rapidfuzz.h, struct version
# 3): the citizen's side is prepared once per question, and a pair's call skips the Python
# wrapping that was most of its cost. Used only when every capsule is there at that version and
# gives the Python call's values on the probes below; otherwise the Python calls are used.
cdef extern from *:
    """
    #include <stdbool.h>
    typedef struct ms_rf_string {
        void (*dtor)(struct ms_rf_string*);
        int kind; void* data; int64_t length; void* context;
    } ms_rf_string;
    typedef struct ms_rf_kwargs { void (*dtor)(struct ms_rf_kwargs*); void* context; } ms_rf_kwargs;
    typedef struct ms_rf_func {
        void (*dtor)(struct ms_rf_func*);
        bool (*f64)(const struct ms_rf_func*, const ms_rf_string*, int64_t, double, double, double*);
        void* context;
    } ms_rf_func;
    typedef struct {
        uint32_t version;
        bool (*kwargs_init)(ms_rf_kwargs*, PyObject*);
        bool (*get_scorer_flags)(const ms_rf_kwargs*, void*);
        bool (*func_init)(ms_rf_func*, const ms_rf_kwargs*, int64_t, const ms_rf_string*);
    } ms_rf_scorer;
    typedef struct { ms_rf_kwargs kwargs; ms_rf_func func; int ready; } ms_rf_cached;

    /* a str's characters as rapidfuzz reads them, without a copy; 0 with an error set when s
       is not a str */
    static int ms_rf_view(PyObject* s, ms_rf_string* out) {
        int kind;
        if (!PyUnicode_Check(s)) {
            PyErr_SetString(PyExc_TypeError, "rapidfuzz's C interface is given str only");
            return 0;
        }
        kind = PyUnicode_KIND(s);
        out->dtor = NULL;
        out->kind = kind == PyUnicode_1BYTE_KIND ? 0 : kind == PyUnicode_2BYTE_KIND ? 1 : 2;
        out->data = PyUnicode_DATA(s);
        out->length = PyUnicode_GET_LENGTH(s);
        out->context = NULL;
        return 1;
    }
    /* prepares scorer for `s` (the first argument of every later call); 0 with an error set */
    static int ms_rf_prepare(const ms_rf_scorer* sc, PyObject* kwargs, PyObject* s, ms_rf_cached* c) {
        ms_rf_string str;
        c->ready = 0;
        if (!ms_rf_view(s, &str)) return 0;
        if (!sc->kwargs_init(&c->kwargs, kwargs)) return 0;
        if (!sc->func_init(&c->func, &c->kwargs, 1, &str)) {
            if (c->kwargs.dtor) c->kwargs.dtor(&c->kwargs);
            return 0;
        }
        c->ready = 1;
        return 1;
    }
    static void ms_rf_release(ms_rf_cached* c) {
        if (!c->ready) return;
        if (c->func.dtor) c->func.dtor(&c->func);
        if (c->kwargs.dtor) c->kwargs.dtor(&c->kwargs);
        c->ready = 0;
    }
    /* the prepared scorer on (its string, s); -1.0 with an error set */
    static double ms_rf_score(const ms_rf_cached* c, PyObject* s) {
        ms_rf_string str;
        double result;
        if (!ms_rf_view(s, &str)) return -1.0;
        if (!c->func.f64(&c->func, &str, 1, 0.0, 0.0, &result)) return -1.0;
        return result;
    }
    """
    ctypedef struct ms_rf_scorer:
        unsigned int version
    ctypedef struct ms_rf_cached:
        int ready
    int ms_rf_prepare(const ms_rf_scorer*, object, object, ms_rf_cached*) except 0
    void ms_rf_release(ms_rf_cached*)
    double ms_rf_score(const ms_rf_cached*, object) except? -1.0


cdef enum:
    _INDEL, _PARTIAL, _LEV, _TOKEN_SET, _N_SCORERS
    _INDEL_CANON = _N_SCORERS  # a fifth prepared scorer: Indel on the canonical text
    _N_PREPARED

cdef const ms_rf_scorer* _scorers[_N_SCORERS]
cdef bint _capi_works, _capi
cdef dict _NO_KWARGS = {}


cdef bint _find_scorers():
    cdef Py_ssize_t i
    try:
        for i, f in enumerate((_indel, _partial, _lev, _token_set)):
            _scorers[i] = <const ms_rf_scorer*>PyCapsule_GetPointer(f._RF_Scorer, NULL)
            if _scorers[i].version != 3:
                return False
    except (AttributeError, TypeError, ValueError):
        return False
    return True


cdef struct _Prepared:
    ms_rf_cached by[_N_PREPARED]


cdef void _prepare(_Prepared* p, str ct, str b, str jb) except *:
    """The citizen's side of a question's five fuzzy scores, prepared for all its pairs."""
    memset(p, 0, sizeof(_Prepared))
    try:
        ms_rf_prepare(_scorers[_INDEL], _NO_KWARGS, ct, &p.by[_INDEL])
        ms_rf_prepare(_scorers[_PARTIAL], _NO_KWARGS, ct, &p.by[_PARTIAL])
        ms_rf_prepare(_scorers[_LEV], _NO_KWARGS, ct, &p.by[_LEV])
        ms_rf_prepare(_scorers[_TOKEN_SET], _NO_KWARGS, jb, &p.by[_TOKEN_SET])
        ms_rf_prepare(_scorers[_INDEL], _NO_KWARGS, b, &p.by[_INDEL_CANON])
    except BaseException:
        _release(p)
        raise


cdef void _release(_Prepared* p) noexcept:
    cdef Py_ssize_t i
    for i in range(_N_PREPARED):
        ms_rf_release(&p.by[i])


# Probes of the C path against the Python calls: ASCII, CJK, a character past the BMP, an empty
# side, longer than MAX_FUZZY, and tokens for token_set_ratio.
_PROBES = (
    ("社保卡丢了怎么补办", "社保卡丢失如何补办", "社保 卡 丢 了 怎么 补办", "社保卡 丢失 如何 补办"),
    ("abc", "社保abc卡", "abc", "abc 社保"),
    ("", "公积金", "", "公积金"),
    ("𠀋居住证怎么办", "居住证办理", "𠀋 居住证", "居住证 办理"),
    ("新生儿社保卡怎么办理需要什么材料在哪里办多久能拿到" * 3, "新生儿社保卡怎么办",
     "新生儿 社保卡 怎么 办理", "新生儿 社保卡 怎么 办"),
)


cdef bint _check_scorers() except -1:
    """Whether the C path gives the Python calls' values on every probe."""
    cdef _Prepared p
    for q, c, qj, cj in _PROBES:
        _prepare(&p, q, q, qj)
        try:
            if (ms_rf_score(&p.by[_INDEL], c) != _indel(q, c)
                    or ms_rf_score(&p.by[_PARTIAL], c) != _partial(q, c)
                    or ms_rf_score(&p.by[_LEV], c) != _lev(q, c)
                    or ms_rf_score(&p.by[_TOKEN_SET], cj) != _token_set(qj, cj)
                    or ms_rf_score(&p.by[_INDEL_CANON], c) != _indel(q, c)):
                return False
        finally:
            _release(&p)
    return True


_capi_works = _find_scorers() and _check_scorers()
_capi = _capi_works


def uses_capi():
    """Whether pairs call rapidfuzz through its C interface (else through Python)."""
    return _capi


def use_capi(bint on):
    """Turns the C interface on (where it works) or off; the tests compare both ways."""
    global _capi
    _capi = on and _capi_works


def configure(function_chars, ant, max_fuzzy):
    global FUNCTION_CHARS, ANT, MAX_FUZZY
    FUNCTION_CHARS = frozenset(function_chars)
    ANT = dict(ant)
    MAX_FUZZY = max_fuzzy


# Which of the citizen's characters and bigrams the answer holds, found in one pass over the
# answer instead of one substring search each (a pair's answer is up to 300 characters): a small
# open-addressing set of keys, a character c as c + 1, a bigram ab as (a + 1) << 22 | (b + 1).
cdef enum:
    _SLOTS = 512
    _MOST = 320  # more keys than this (a very long question): the substring searches instead


cdef struct _Seen:
    uint64_t keys[_SLOTS]
    unsigned char found[_SLOTS]


cdef inline Py_ssize_t _probe(_Seen* t, uint64_t key) noexcept nogil:
    cdef Py_ssize_t i = <Py_ssize_t>((key * <uint64_t>0x9E3779B97F4A7C15) >> 55)
    while t.keys[i] != 0 and t.keys[i] != key:
        i = (i + 1) & (_SLOTS - 1)
    return i


cdef inline void _add(_Seen* t, uint64_t key) noexcept nogil:
    t.keys[_probe(t, key)] = key


cdef inline bint _held(_Seen* t, uint64_t key) noexcept nogil:
    cdef Py_ssize_t i = _probe(t, key)
    return t.keys[i] == key and t.found[i]


cdef inline uint64_t _char_key(str ch):
    return <uint64_t>(<Py_UCS4>ch) + 1


cdef inline uint64_t _bigram_key(str bg):
    return ((<uint64_t>bg[0] + 1) << 22) | (<uint64_t>bg[1] + 1)


cdef void _mark(_Seen* t, str answer):
    """Marks the keys the answer holds."""
    cdef Py_UCS4 ch
    cdef uint64_t key, prev = 0
    cdef Py_ssize_t i
    for ch in answer:
        key = <uint64_t>ch + 1
        i = _probe(t, key)
        if t.keys[i] == key:
            t.found[i] = 1
        if prev:
            i = _probe(t, (prev << 22) | key)
            if t.keys[i] == (prev << 22) | key:
                t.found[i] = 1
        prev = key


cdef inline bint _any_own(set opposites, frozenset theirs, frozenset ours):
    """Whether one of ``opposites`` is on their side only."""
    for o in opposites:
        if o in theirs and o not in ours:
            return True
    return False


cdef bint _by_class(list unmatched, dict idf, dict pclass, double* cls, double* top) except -1:
    """Adds each unmatched word's idf to its part of speech's mass (pclass: 0 noun, 1 verb,
    2 adjective, 3 number, 4 function word) and raises top to the highest; whether any was a
    content word (not 4)."""
    cdef double v
    cdef Py_ssize_t k
    cdef bint content = False
    for w in unmatched:
        v = idf[w]
        if v > top[0]:
            top[0] = v
        k = pclass[w]
        cls[k] += v
        if k < 4:
            content = True
    return content



cdef class Candidate:
    """A knowledge-base question as every pair reads it (its analysis and its weights under the
    index's statistics), fetched once: Matcher keeps it beside the weights, so that a question
    retrieved again costs no attribute lookups, slices or joins."""
    cdef frozenset cset, bigrams, wset, qtypes, nums
    cdef dict words, pclass
    cdef str text, ctext, ct, b, jb
    cdef double chars, total
    cdef array.array aligned_array
    cdef double* aligned
    cdef object neg
    cdef Py_ssize_t length

    def __init__(self, c, cw):
        self.cset = c.cset
        self.bigrams = c.bigrams
        self.wset = c.wset
        self.qtypes = c.qtypes
        self.nums = c.nums
        self.neg = c.neg
        self.pclass = c.pclass
        self.text = c.text
        self.length = len(self.text)
        self.ct = self.text[:MAX_FUZZY]
        self.b = (<str>c.ctext)[:MAX_FUZZY]
        self.jb = " ".join(c.canon)
        self.words = cw.words
        self.chars = cw.chars
        self.total = cw.total
        self.aligned_array = cw.aligned
        self.aligned = self.aligned_array.data.as_doubles


cdef class _Question(Candidate):
    """The citizen's question, read once for all its pairs: a Candidate, its characters' idf, and
    its side of the fuzzy scores prepared (when rapidfuzz's C interface is used)."""
    cdef dict char
    cdef _Prepared prepared
    cdef bint capi

    def __init__(self, q, qw, bint capi):
        Candidate.__init__(self, q, qw)
        self.char = qw.char
        if capi:
            _prepare(&self.prepared, self.ct, self.b, self.jb)
            self.capi = True

    def __dealloc__(self):
        if self.capi:
            _release(&self.prepared)


N_VALUES = 53  # pair_features' values; a row of FEATURES ends with CONTRAST's 5, left 0 here


def pair_features(q, c, double bm25, double bm25_margin, Py_ssize_t rank, str answer, qw, cw):
    """pair_features(q, c, …, extended=False) with the two questions' weights given."""
    out = np.zeros((1, N_VALUES))
    cdef double[:, ::1] o = out
    _row(_Question(q, qw, _capi), Candidate(c, cw), bm25, bm25_margin, rank, answer, &o[0, 0])
    return out[0].tolist()


def pair_rows(q, qw, list candidates, list rels, list margins, list answers, double[:, ::1] out):
    """Every candidate's row at once (rank = its place in candidates, each a Candidate), into
    out's first N_VALUES columns: what Matcher.pairs builds from pair_features one candidate at
    a time."""
    cdef _Question Q = _Question(q, qw, _capi)
    cdef Py_ssize_t i
    for i in range(len(candidates)):
        _row(Q, <Candidate>candidates[i], rels[i], margins[i], i, answers[i], &out[i, 0])


cdef void _row(_Question Q, Candidate c, double bm25, double bm25_margin, Py_ssize_t rank,
               str answer, double* out) except *:
    cdef frozenset qcset = Q.cset, ccset = c.cset
    cdef frozenset qbig = Q.bigrams, cbig = c.bigrams
    cdef frozenset qwset = Q.wset, cwset = c.wset
    cdef dict qc = Q.char, iq = Q.words, ic = c.words
    cdef dict qclass = Q.pclass, cclass = c.pclass
    cdef str ctext = c.text
    cdef double wq = Q.chars, wc = c.chars, tq = Q.total, tc = c.total
    cdef double wi, co_q, co_c, bigram, win, mass_q, mass_c, unm_max, v, ant, ratio, bag
    cdef double rep_mass = 0.0, gap_mass = 0.0, block_max = 0.0, m
    cdef double cover_qa, unm_in_ans, bigram_in_ans, lost_max, lost_sum, lost_chars
    cdef double cls[5]
    cdef Py_ssize_t nb, n_common_bg, lq, lc, k, i, rep_blocks = 0, gap_blocks = 0, n_in, n_missing
    cdef bint content_q, content_c, table
    cdef _Seen seen
    cdef double* qa = Q.aligned
    cdef double* ca = c.aligned
    cdef Py_ssize_t s0, s1, d0, d1
    cdef object w, ch, opp
    cdef str tag
    cdef list missing, uq, uc, q_only
    cdef Py_ssize_t n_inter
    cdef frozenset qtypes = Q.qtypes, ctypes_ = c.qtypes

    cls[0] = cls[1] = cls[2] = cls[3] = cls[4] = 0.0
    # characters: the shared ones' mass, and the citizen's own listed (no sets are built here)
    wi = 0.0
    q_only = []
    for ch in qcset:
        if ch in ccset:
            wi += <double>qc[ch]
        else:
            q_only.append(ch)
    n_inter = len(qcset) - len(q_only)
    co_q = wi / wq
    co_c = wi / wc
    # the citizen's bigrams the question lacks (counted, and looked for in the answer below)
    missing = [w for w in qbig if w not in cbig]
    n_missing = len(missing)
    n_common_bg = len(qbig) - n_missing
    nb = len(qbig) + len(cbig)
    bigram = 2.0 * n_common_bg / nb if nb else 1.0
    # words: shared, the citizen's own, the question's own
    win = mass_q = mass_c = 0.0
    uq = []
    for w in qwset:
        if w in cwset:
            win += <double>iq[w]
        else:
            uq.append(w)
            mass_q += <double>iq[w]
    uc = []
    for w in cwset:
        if w not in qwset:
            uc.append(w)
            mass_c += <double>ic[w]
    unm_max = 0.0
    content_q = _by_class(uq, iq, qclass, cls, &unm_max)
    content_c = _by_class(uc, ic, cclass, cls, &unm_max)
    # antonyms: a word (or character) on one side, its opposite on the other's own
    ant = 0.0
    for w in uq:
        opp = ANT.get(w)
        if opp and _any_own(<set>opp, cwset, qwset):
            ant = 1.0
            break
    if not ant:
        for ch in q_only:
            opp = ANT.get(ch)
            if opp and _any_own(<set>opp, ccset, qcset):
                ant = 1.0
                break
    # the fuzzy ratios on the first MAX_FUZZY characters
    ct = c.ct
    ratio = ms_rf_score(&Q.prepared.by[_INDEL], ct) if Q.capi else _indel(Q.ct, ct)
    bag = 2.0 * n_inter / (len(qcset) + len(ccset)) if (qcset or ccset) else 1.0
    lq = Q.length
    lc = c.length
    b = c.b
    for tag, s0, s1, d0, d1 in _opcodes(Q.b, b).as_list():
        if tag == "equal":
            continue
        m = 0.0
        for i in range(s0, s1):
            m += qa[i]
        v = 0.0
        for i in range(d0, d1):
            v += ca[i]
        m = m + v
        if m > block_max:
            block_max = m
        if tag == "replace":
            rep_mass += m
            rep_blocks += 1
        else:
            gap_mass += m
            gap_blocks += 1
    # the answer
    table = answer and len(q_only) + n_missing <= _MOST
    if table:
        memset(&seen, 0, sizeof(_Seen))
        for ch in q_only:
            _add(&seen, _char_key(ch))
        for w in missing:
            _add(&seen, _bigram_key(w))
        _mark(&seen, answer)
    if answer:
        v = 0.0
        for ch in q_only:
            if (_held(&seen, _char_key(ch)) if table else ch in answer):
                v += <double>qc[ch]
        cover_qa = (wi + v) / wq
        if mass_q:
            v = 0.0
            for w in uq:
                if w in answer:
                    v += <double>iq[w]
            unm_in_ans = v / mass_q
        else:
            unm_in_ans = 1.0
        if n_missing:
            n_in = 0
            for w in missing:
                if (_held(&seen, _bigram_key(w)) if table else w in answer):
                    n_in += 1
            bigram_in_ans = <double>n_in / n_missing
        else:
            bigram_in_ans = 1.0
    else:
        cover_qa = co_q
        unm_in_ans = 0.0
        bigram_in_ans = 0.0
    lost_max = 0.0
    lost_sum = 0.0
    for w in uq:
        if <Py_ssize_t>qclass[w] < 4 and w not in ctext and w not in answer:
            v = iq[w]
            lost_sum += v
            if v > lost_max:
                lost_max = v
    v = 0.0
    for ch in q_only:
        if ch in FUNCTION_CHARS:
            continue
        if not (_held(&seen, _char_key(ch)) if table else ch in answer):
            v += <double>qc[ch]
    lost_chars = v / wq
    out[0] = min(co_q, co_c)
    out[1] = max(co_q, co_c)
    out[2] = bigram
    out[3] = min(win / tq, win / tc)
    out[4] = max(win / tq, win / tc)
    out[5] = ratio
    if Q.capi:
        out[6] = ms_rf_score(&Q.prepared.by[_PARTIAL], ct) / 100.0
        out[7] = ms_rf_score(&Q.prepared.by[_TOKEN_SET], c.jb) / 100.0
        out[8] = ms_rf_score(&Q.prepared.by[_LEV], ct)
        out[25] = ms_rf_score(&Q.prepared.by[_INDEL_CANON], b)
    else:
        out[6] = _partial(Q.ct, ct) / 100.0
        out[7] = _token_set(Q.jb, c.jb) / 100.0
        out[8] = _lev(Q.ct, ct)
        out[25] = _indel(Q.b, b)
    out[9] = ratio - bag
    out[10] = min(lq, lc) / <double>max(lq, lc, 1)
    out[11] = mass_q
    out[12] = mass_c
    out[13] = unm_max
    out[14] = cls[0]
    out[15] = cls[1]
    out[16] = cls[2]
    out[17] = cls[3]
    out[18] = cls[4]
    out[19] = 1.0 if content_q and content_c else 0.0
    out[20] = 1.0 if qtypes and ctypes_ and not (qtypes & ctypes_) else 0.0
    out[21] = float(len(qtypes ^ ctypes_))
    out[22] = 1.0 if Q.neg != c.neg else 0.0
    out[23] = 1.0 if Q.nums != c.nums else 0.0
    out[24] = ant
    out[26] = rep_mass
    out[27] = gap_mass
    out[28] = block_max
    out[29] = float(rep_blocks)
    out[30] = float(gap_blocks)
    out[31] = bm25
    out[32] = bm25_margin
    out[33] = log1p(rank)
    out[34] = 1.0 if min(lq, lc) <= 4 else 0.0
    out[35] = co_q
    out[36] = co_c
    out[37] = n_common_bg / <double>len(qbig) if qbig else 1.0
    out[38] = win / tq
    out[39] = log1p(lq)
    out[40] = log1p(lc)
    out[41] = 1.0 if answer else 0.0
    out[42] = cover_qa
    out[43] = unm_in_ans
    out[44] = bigram_in_ans
    out[45] = lost_max
    out[46] = lost_sum / tq
    out[47] = lost_chars
