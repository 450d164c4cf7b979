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
from cpython.set cimport PySet_Contains
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


# rapidfuzz's Levenshtein.opcodes(a, b) in C, its blocks other than "equal": a pair's replaced
# and inserted or deleted stretches of the canonical texts (block masses, features 26-30).
# Calling rapidfuzz for them built an Opcodes object, a list and a tuple a block: 3.0 us on a
# pair of 32 and 11 characters, where the C below takes 0.45 us; a row of pair_rows went from
# 24-25 to 21.5-22.5 us of CPU time (match-dev's knowledge base, 1,567 citizen messages).
# The blocks are rapidfuzz's to the last tie: among equally short alignments, the one that
# rapidfuzz-cpp's levenshtein_editops (3.x; 3.14.6 installed) takes for strings of at most 64
# characters: the common prefix and suffix cut off, Hyyrö's bit-parallel matrix of the rest,
# walked back from the end preferring a deletion, then an insertion, then the diagonal
# (recover_alignment), the operations merged into blocks as its Opcodes(Editops) merges them.
# tests/knowledge/test_kernels.py holds them to rapidfuzz's on a million pairs of real texts
# and on random strings of two to four letters (ties everywhere).
cdef extern from *:
    """
    #define MS_ALIGN_MAX 64
    #define MS_OPS_MAX (2 * MS_ALIGN_MAX)  /* a walk through the matrix takes la + lb steps at most */
    enum { MS_REPLACE, MS_INSERT, MS_DELETE };
    typedef struct { int tag, s0, s1, d0, d1; } ms_block;

    /* s's characters into out; its length, or -1 when longer than MS_ALIGN_MAX */
    static int ms_chars(PyObject* s, Py_UCS4* out) {
        Py_ssize_t i, n = PyUnicode_GET_LENGTH(s);
        int kind = PyUnicode_KIND(s);
        const void* data = PyUnicode_DATA(s);
        if (n > MS_ALIGN_MAX) return -1;
        for (i = 0; i < n; i++) out[i] = PyUnicode_READ(kind, data, i);
        return (int)n;
    }

    /* the slot of c in a table of 2 * MS_ALIGN_MAX keys (a character c as c + 1, 0 empty):
       where it is, or the empty one it goes into */
    static inline int ms_slot(const uint32_t* key, Py_UCS4 c) {
        int h = (int)(((c + 1) * 0x9E3779B1u) >> 25);
        while (key[h] && key[h] != c + 1) h = (h + 1) & (2 * MS_ALIGN_MAX - 1);
        return h;
    }

    /* the blocks other than "equal" of Levenshtein.opcodes(a, b), in order, into out (room for
       MS_OPS_MAX); how many, or -1 when a string is longer than MS_ALIGN_MAX */
    static int ms_opcode_blocks(PyObject* sa, PyObject* sb, ms_block* out) {
        Py_UCS4 a[MS_ALIGN_MAX], b[MS_ALIGN_MAX];
        uint64_t VP[MS_ALIGN_MAX], VN[MS_ALIGN_MAX], vp = ~(uint64_t)0, vn = 0, x, d0, hp, hn;
        /* where in a (after the common prefix) each of its characters is, a bit a position */
        uint32_t key[2 * MS_ALIGN_MAX];
        uint64_t at[2 * MS_ALIGN_MAX];
        /* the edit operations, written from the end back as the walk finds them */
        int tag[MS_OPS_MAX], src[MS_OPS_MAX], dest[MS_OPS_MAX];
        int la = ms_chars(sa, a), lb = ms_chars(sb, b);
        int pre = 0, n1, n2, i, j, h, row, col, k = MS_OPS_MAX, end = k, s, d, t, n = 0;
        if (la < 0 || lb < 0) return -1;
        /* the common prefix and suffix are left out of the alignment */
        while (pre < la && pre < lb && a[pre] == b[pre]) pre++;
        n1 = la - pre;
        n2 = lb - pre;
        while (n1 && n2 && a[pre + n1 - 1] == b[pre + n2 - 1]) n1--, n2--;
        /* Hyyrö's matrix, one column per character of b: bit i of VP[j] (VN[j]) tells whether
           D[i + 1][j + 1] - D[i][j + 1] is +1 (-1), D being the distances of a's and b's
           prefixes (after the common prefix) */
        if (n1 && n2) {
            memset(key, 0, sizeof key);
            for (i = 0; i < n1; i++) {
                h = ms_slot(key, a[pre + i]);
                if (!key[h]) {
                    key[h] = a[pre + i] + 1;
                    at[h] = 0;
                }
                at[h] |= (uint64_t)1 << i;
            }
            for (j = 0; j < n2; j++) {
                h = ms_slot(key, b[pre + j]);
                x = key[h] ? at[h] : 0;
                d0 = (((x & vp) + vp) ^ vp) | x | vn;
                hp = vn | ~(d0 | vp);
                hn = d0 & vp;
                hp = (hp << 1) | 1;
                hn = hn << 1;
                vp = hn | ~(d0 | hp);
                vn = hp & d0;
                VP[j] = vp;
                VN[j] = vn;
            }
        }
        /* back from the end, as rapidfuzz-cpp's recover_alignment */
        #define MS_OP(t_, c_, r_) (k--, tag[k] = (t_), src[k] = (c_) + pre, dest[k] = (r_) + pre)
        row = n2;
        col = n1;
        while (row && col) {
            if ((VP[row - 1] >> (col - 1)) & 1) {
                col--;
                MS_OP(MS_DELETE, col, row);
            } else {
                row--;
                if (row && ((VN[row - 1] >> (col - 1)) & 1)) {
                    MS_OP(MS_INSERT, col, row);
                } else {
                    col--;
                    if (a[pre + col] != b[pre + row]) MS_OP(MS_REPLACE, col, row);
                }
            }
        }
        while (col) {
            col--;
            MS_OP(MS_DELETE, col, row);
        }
        while (row) {
            row--;
            MS_OP(MS_INSERT, col, row);
        }
        #undef MS_OP
        /* consecutive operations of a kind merged into blocks, as Opcodes(Editops) does */
        s = d = 0;
        while (k < end) {
            if (s < src[k] || d < dest[k]) {
                s = src[k];
                d = dest[k];
            }
            t = tag[k];
            out[n].tag = t;
            out[n].s0 = s;
            out[n].d0 = d;
            do {
                s += t != MS_INSERT;
                d += t != MS_DELETE;
                k++;
            } while (k < end && tag[k] == t && src[k] == s && dest[k] == d);
            out[n].s1 = s;
            out[n].d1 = d;
            n++;
        }
        return n;
    }
    """
    enum:
        MS_ALIGN_MAX, MS_OPS_MAX, MS_REPLACE, MS_INSERT, MS_DELETE
    ctypedef struct ms_block:
        int tag, s0, s1, d0, d1
    int ms_opcode_blocks(str, str, ms_block*)


_TAGS = ("replace", "insert", "delete")  # by MS_REPLACE, MS_INSERT, MS_DELETE


def opcode_blocks(str a not None, str b not None):
    """The blocks other than "equal" of Levenshtein.opcodes(a, b) as (tag, src_start, src_end,
    dest_start, dest_end), from the C above (for the tests); strings of at most 64 characters."""
    cdef ms_block blocks[MS_OPS_MAX]
    cdef int i, n = ms_opcode_blocks(a, b, blocks)
    if n < 0:
        raise ValueError(f"longer than {MS_ALIGN_MAX} characters")
    return [(_TAGS[blocks[i].tag], blocks[i].s0, blocks[i].s1, blocks[i].d0, blocks[i].d1)
            for i in range(n)]


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
    if max_fuzzy > MS_ALIGN_MAX:
        raise ValueError(f"the pair kernel aligns at most {MS_ALIGN_MAX} characters")
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


# A question's characters (c as c + 1) and bigrams (as _bigram_key) as open-addressing tables of
# keys, for a pair's membership tests without Python's hashing: kept in each Candidate.
cdef array.array _KEYS = array.array("Q")


cdef array.array _key_table(keys, Py_ssize_t* mask):
    """A table of the (non-zero) keys; its size minus one in mask."""
    cdef Py_ssize_t size = 16, n = len(keys)
    while size < 2 * n:
        size *= 2
    cdef array.array table = array.clone(_KEYS, size, zero=True)
    cdef uint64_t* t = <uint64_t*>table.data.as_ulonglongs
    cdef uint64_t key
    cdef Py_ssize_t i
    mask[0] = size - 1
    for k in keys:
        key = k
        i = _slot(key, size - 1)
        while t[i] != 0 and t[i] != key:
            i = (i + 1) & (size - 1)
        t[i] = key
    return table


cdef inline Py_ssize_t _slot(uint64_t key, Py_ssize_t mask) noexcept nogil:
    return <Py_ssize_t>((key * <uint64_t>0x9E3779B97F4A7C15) >> 40) & mask


cdef inline bint _in_table(const uint64_t* t, Py_ssize_t mask, uint64_t key) noexcept nogil:
    cdef Py_ssize_t i = _slot(key, mask)
    while t[i] != 0:
        if t[i] == key:
            return True
        i = (i + 1) & mask
    return False


cdef inline bint _unmatched(double v, int k, double* cls, double* top) noexcept:
    """An unmatched word of idf v and part of speech k (0 noun, 1 verb, 2 adjective, 3 number,
    4 function word): v added to its part of speech's mass, top raised to it; whether it is a
    content word."""
    if v > top[0]:
        top[0] = v
    cls[k] += v
    return k < 4


cdef inline bint _any_own(set opposites, frozenset theirs, frozenset ours):
    """Whether one of ``opposites`` is on their side only."""
    for o in opposites:
        if o in theirs and o not in ours:
            return True
    return False


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
    # its characters and bigrams as key tables (membership), its words in wset's order with
    # their idf and part of speech (the pair's loops over them, without dict lookups)
    cdef array.array char_table, bigram_table, word_idf
    cdef const uint64_t* chars_in
    cdef const uint64_t* bigrams_in
    cdef Py_ssize_t char_mask, bigram_mask, n_words
    cdef tuple word_list
    cdef double* widf
    cdef array.array word_class
    cdef int* wclass

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
        self.char_table = _key_table([_char_key(ch) for ch in self.cset], &self.char_mask)
        self.chars_in = <const uint64_t*>self.char_table.data.as_ulonglongs
        self.bigram_table = _key_table([_bigram_key(b) for b in self.bigrams], &self.bigram_mask)
        self.bigrams_in = <const uint64_t*>self.bigram_table.data.as_ulonglongs
        self.word_list = tuple(self.wset)
        self.n_words = len(self.word_list)
        self.word_idf = array.array("d", [self.words[w] for w in self.word_list])
        self.widf = self.word_idf.data.as_doubles
        self.word_class = array.array("i", [self.pclass[w] for w in self.word_list])
        self.wclass = self.word_class.data.as_ints


cdef class _Question(Candidate):
    """The citizen's question, read once for all its pairs: a Candidate; its characters in
    cset's order with their keys, idf, opposites and whether each is a function character; its
    bigrams in their set's order with their keys; its words' opposites; room for the lists a
    pair makes of them (positions); and its side of the fuzzy scores prepared (when rapidfuzz's
    C interface is used)."""
    cdef dict char
    cdef _Prepared prepared
    cdef bint capi
    cdef tuple char_list, bigram_list, char_opp, word_opp
    cdef Py_ssize_t n_chars, n_bigrams
    cdef array.array char_keys, char_idf, char_function, bigram_keys, own
    cdef uint64_t* ckeys
    cdef uint64_t* bkeys
    cdef double* cidf
    cdef int* cfunc
    cdef Py_ssize_t* q_only
    cdef Py_ssize_t* missing
    cdef Py_ssize_t* uq
    cdef Py_ssize_t* in_answer

    def __init__(self, q, qw, bint capi):
        Candidate.__init__(self, q, qw)
        self.char = qw.char
        self.char_list = tuple(self.cset)
        self.n_chars = len(self.char_list)
        self.char_keys = array.array("Q", [_char_key(ch) for ch in self.char_list])
        self.ckeys = <uint64_t*>self.char_keys.data.as_ulonglongs
        self.char_idf = array.array("d", [self.char[ch] for ch in self.char_list])
        self.cidf = self.char_idf.data.as_doubles
        self.char_function = array.array("i", [ch in FUNCTION_CHARS for ch in self.char_list])
        self.cfunc = self.char_function.data.as_ints
        self.char_opp = tuple(ANT.get(ch) for ch in self.char_list)
        self.bigram_list = tuple(self.bigrams)
        self.n_bigrams = len(self.bigram_list)
        self.bigram_keys = array.array("Q", [_bigram_key(b) for b in self.bigram_list])
        self.bkeys = <uint64_t*>self.bigram_keys.data.as_ulonglongs
        self.word_opp = tuple(ANT.get(w) for w in self.word_list)
        # q_only, missing and uq of the pair being made (positions in the lists above), and
        # whether the answer holds each of uq
        self.own = array.array("q", [0] * (self.n_chars + self.n_bigrams + 2 * self.n_words + 1))
        self.q_only = <Py_ssize_t*>self.own.data.as_longlongs
        self.missing = self.q_only + self.n_chars
        self.uq = self.missing + self.n_bigrams
        self.in_answer = self.uq + self.n_words
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
    cdef frozenset qwset = Q.wset, cwset = c.wset
    cdef str ctext = c.text
    cdef double wq = Q.chars, wc = c.chars, tq = Q.total, tc = c.total
    cdef double wi, co_q, co_c, bigram, win, mass_q, mass_c, unm_max, v, ant, ratio, bag
    cdef double rep_mass = 0.0, gap_mass = 0.0, block_max = 0.0, m
    cdef double cover_qa, unm_in_ans, bigram_in_ans, lost_max, lost_sum, lost_chars
    cdef double cls[5]
    cdef Py_ssize_t nb, n_common_bg, lq, lc, k, i, j, rep_blocks = 0, gap_blocks = 0, n_in
    cdef Py_ssize_t n_q_only = 0, n_missing = 0, n_uq = 0, n_inter
    cdef bint content_q = False, content_c = False, table
    cdef _Seen seen
    cdef double* qa = Q.aligned
    cdef double* ca = c.aligned
    cdef ms_block blocks[MS_OPS_MAX]
    cdef int n_blocks
    cdef Py_ssize_t* q_only = Q.q_only
    cdef Py_ssize_t* missing = Q.missing
    cdef Py_ssize_t* uq = Q.uq
    cdef Py_ssize_t* in_answer = Q.in_answer
    cdef object w, opp
    cdef tuple qwords = Q.word_list, cwords = c.word_list
    cdef frozenset qtypes = Q.qtypes, ctypes_ = c.qtypes

    cls[0] = cls[1] = cls[2] = cls[3] = cls[4] = 0.0
    # characters: the shared ones' mass, and the citizen's own listed (in cset's order, as
    # the Python twin iterates the set)
    wi = 0.0
    for j in range(Q.n_chars):
        if _in_table(c.chars_in, c.char_mask, Q.ckeys[j]):
            wi += Q.cidf[j]
        else:
            q_only[n_q_only] = j
            n_q_only += 1
    n_inter = Q.n_chars - n_q_only
    co_q = wi / wq
    co_c = wi / wc
    # the citizen's bigrams the question lacks (counted, and looked for in the answer below)
    for j in range(Q.n_bigrams):
        if not _in_table(c.bigrams_in, c.bigram_mask, Q.bkeys[j]):
            missing[n_missing] = j
            n_missing += 1
    n_common_bg = Q.n_bigrams - n_missing
    nb = Q.n_bigrams + len(c.bigrams)
    bigram = 2.0 * n_common_bg / nb if nb else 1.0
    # words: shared, the citizen's own, the question's own; the unmatched ones' idf added to
    # their part of speech's mass (0 noun, 1 verb, 2 adjective, 3 number, 4 function word),
    # the citizen's first, each side in its set's order
    win = mass_q = mass_c = unm_max = 0.0
    for j in range(Q.n_words):
        v = Q.widf[j]
        if PySet_Contains(cwset, qwords[j]):
            win += v
        else:
            uq[n_uq] = j
            n_uq += 1
            mass_q += v
            content_q |= _unmatched(v, Q.wclass[j], cls, &unm_max)
    for j in range(c.n_words):
        if not PySet_Contains(qwset, cwords[j]):
            v = c.widf[j]
            mass_c += v
            content_c |= _unmatched(v, c.wclass[j], cls, &unm_max)
    # antonyms: a word (or character) on one side, its opposite on the other's own
    ant = 0.0
    for i in range(n_uq):
        opp = Q.word_opp[uq[i]]
        if opp and _any_own(<set>opp, cwset, qwset):
            ant = 1.0
            break
    if not ant:
        for i in range(n_q_only):
            opp = Q.char_opp[q_only[i]]
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
    n_blocks = ms_opcode_blocks(Q.b, b, blocks)  # both at most MAX_FUZZY <= MS_ALIGN_MAX long
    for k in range(n_blocks):
        m = 0.0
        for i in range(blocks[k].s0, blocks[k].s1):
            m += qa[i]
        v = 0.0
        for i in range(blocks[k].d0, blocks[k].d1):
            v += ca[i]
        m = m + v
        if m > block_max:
            block_max = m
        if blocks[k].tag == MS_REPLACE:
            rep_mass += m
            rep_blocks += 1
        else:
            gap_mass += m
            gap_blocks += 1
    # the answer
    for i in range(n_uq):  # each of the citizen's own words looked for once
        in_answer[i] = qwords[uq[i]] in answer
    table = answer and n_q_only + n_missing <= _MOST
    if table:
        memset(&seen, 0, sizeof(_Seen))
        for i in range(n_q_only):
            _add(&seen, Q.ckeys[q_only[i]])
        for i in range(n_missing):
            _add(&seen, Q.bkeys[missing[i]])
        _mark(&seen, answer)
    if answer:
        v = 0.0
        for i in range(n_q_only):
            j = q_only[i]
            if (_held(&seen, Q.ckeys[j]) if table else Q.char_list[j] in answer):
                v += Q.cidf[j]
        cover_qa = (wi + v) / wq
        if mass_q:
            v = 0.0
            for i in range(n_uq):
                if in_answer[i]:
                    v += Q.widf[uq[i]]
            unm_in_ans = v / mass_q
        else:
            unm_in_ans = 1.0
        if n_missing:
            n_in = 0
            for i in range(n_missing):
                j = missing[i]
                if (_held(&seen, Q.bkeys[j]) if table else Q.bigram_list[j] in answer):
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
    for i in range(n_uq):
        j = uq[i]
        w = qwords[j]
        if Q.wclass[j] < 4 and w not in ctext and not in_answer[i]:
            v = Q.widf[j]
            lost_sum += v
            if v > lost_max:
                lost_max = v
    v = 0.0
    for i in range(n_q_only):
        j = q_only[i]
        if Q.cfunc[j]:
            continue
        if not (_held(&seen, Q.ckeys[j]) if table else Q.char_list[j] in answer):
            v += Q.cidf[j]
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
    k = 0  # the question types both sides ask
    for w in qtypes:
        k += PySet_Contains(ctypes_, w)
    out[20] = 1.0 if qtypes and ctypes_ and not k else 0.0
    out[21] = float(len(qtypes) + len(ctypes_) - 2 * k)
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
    out[37] = n_common_bg / <double>Q.n_bigrams if Q.n_bigrams else 1.0
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
