# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""match_features.pair_features compiled, for the features the shipped model reads
(extended=False): the same arithmetic on the same values in the same order, so the rows equal
the Python function's (tests/knowledge/test_kernels.py holds them to it on real questions). In
Python, most of a pair's 40 us goes to generator expressions and set arithmetic that the C
loops below do without creating objects.

match_features hands its word lists over with configure() (this module imports nothing of it,
so that the two can be imported in any order).
"""

from libc.math cimport log1p

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


def configure(function_chars, ant, max_fuzzy):
    global FUNCTION_CHARS, ANT, MAX_FUZZY
    FUNCTION_CHARS = frozenset(function_chars)
    ANT = dict(ant)
    MAX_FUZZY = max_fuzzy


cdef inline double _mass(frozenset items, dict idf):
    cdef double s = 0.0
    for w in items:
        s += <double>idf[w]
    return s


def pair_features(q, c, double bm25, double bm25_margin, Py_ssize_t rank, str answer, qw, cw):
    """pair_features(q, c, …, extended=False) with the two questions' weights given."""
    cdef frozenset qcset = q.cset, ccset = c.cset
    cdef frozenset qbig = q.bigrams, cbig = c.bigrams
    cdef frozenset qwset = q.wset, cwset = c.wset
    cdef dict qc = qw.char, iq = qw.words, ic = cw.words
    cdef dict qclass = q.pclass, cclass = c.pclass
    cdef str qtext = q.text, ctext = c.text
    cdef double wq = qw.chars, wc = cw.chars, tq = qw.total, tc = cw.total
    cdef double wi, co_q, co_c, bigram, win, mass_q, mass_c, unm_max, v, ant, ratio, bag
    cdef double rep_mass = 0.0, gap_mass = 0.0, block_max = 0.0, m
    cdef double cover_qa, unm_in_ans, bigram_in_ans, lost_max, lost_sum, lost_chars
    cdef double c0 = 0.0, c1 = 0.0, c2 = 0.0, c3 = 0.0, c4 = 0.0
    cdef Py_ssize_t nb, n_common_bg, lq, lc, k, i, rep_blocks = 0, gap_blocks = 0, n_in, n_missing
    cdef bint content_q = False, content_c = False
    cdef double[:] qa, ca
    cdef object w, ch, opp, op
    cdef frozenset inter, common_bg, winter, uq, uc, cq, cc, missing

    # characters
    inter = qcset & ccset
    wi = _mass(inter, qc)
    co_q = wi / wq
    co_c = wi / wc
    common_bg = qbig & cbig
    n_common_bg = len(common_bg)
    nb = len(qbig) + len(cbig)
    bigram = 2.0 * n_common_bg / nb if nb else 1.0
    # words
    winter = qwset & cwset
    uq = qwset - winter
    uc = cwset - winter
    win = _mass(winter, iq)
    mass_q = _mass(uq, iq)
    mass_c = _mass(uc, ic)
    unm_max = 0.0
    for w in uq:
        v = iq[w]
        if v > unm_max:
            unm_max = v
        k = qclass[w]
        if k == 0:
            c0 += v
        elif k == 1:
            c1 += v
        elif k == 2:
            c2 += v
        elif k == 3:
            c3 += v
        else:
            c4 += v
        if k < 4:
            content_q = True
    for w in uc:
        v = ic[w]
        if v > unm_max:
            unm_max = v
        k = cclass[w]
        if k == 0:
            c0 += v
        elif k == 1:
            c1 += v
        elif k == 2:
            c2 += v
        elif k == 3:
            c3 += v
        else:
            c4 += v
        if k < 4:
            content_c = True
    # antonyms: a word (or character) on one side, its opposite on the other
    ant = 0.0
    for w in uq:
        opp = ANT.get(w)
        if opp and not (<set>opp).isdisjoint(uc):
            ant = 1.0
            break
    if not ant:
        cq = qcset - inter
        cc = ccset - inter
        for ch in cq:
            opp = ANT.get(ch)
            if opp and not (<set>opp).isdisjoint(cc):
                ant = 1.0
                break
    # the fuzzy ratios on the first MAX_FUZZY characters
    qt = qtext[:MAX_FUZZY]
    ct = ctext[:MAX_FUZZY]
    ja = " ".join(q.canon)
    jb = " ".join(c.canon)
    ratio = _indel(qt, ct)
    bag = 2.0 * len(inter) / (len(qcset) + len(ccset)) if (qcset or ccset) else 1.0
    lq = len(qtext)
    lc = len(ctext)
    a = (<str>q.ctext)[:MAX_FUZZY]
    b = (<str>c.ctext)[:MAX_FUZZY]
    qa = qw.aligned
    ca = cw.aligned
    for op in _opcodes(a, b):
        tag = op.tag
        if tag == "equal":
            continue
        m = 0.0
        for i in range(<Py_ssize_t>op.src_start, <Py_ssize_t>op.src_end):
            m += qa[i]
        v = 0.0
        for i in range(<Py_ssize_t>op.dest_start, <Py_ssize_t>op.dest_end):
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
    if answer:
        v = 0.0
        for ch in qcset - inter:
            if ch in answer:
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
        missing = qbig - cbig
        n_missing = len(missing)
        if n_missing:
            n_in = 0
            for w in missing:
                if w in answer:
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
    for ch in qcset - inter - FUNCTION_CHARS:
        if ch not in answer:
            v += <double>qc[ch]
    lost_chars = v / wq
    qtypes = q.qtypes
    ctypes_ = c.qtypes
    return [
        min(co_q, co_c),
        max(co_q, co_c),
        bigram,
        min(win / tq, win / tc),
        max(win / tq, win / tc),
        ratio,
        _partial(qt, ct) / 100.0,
        _token_set(ja, jb) / 100.0,
        _lev(qt, ct),
        ratio - bag,
        min(lq, lc) / <double>max(lq, lc, 1),
        mass_q,
        mass_c,
        unm_max,
        c0,
        c1,
        c2,
        c3,
        c4,
        1.0 if content_q and content_c else 0.0,
        1.0 if qtypes and ctypes_ and not (qtypes & ctypes_) else 0.0,
        float(len(qtypes ^ ctypes_)),
        1.0 if q.neg != c.neg else 0.0,
        1.0 if q.nums != c.nums else 0.0,
        ant,
        _indel(a, b),
        rep_mass,
        gap_mass,
        block_max,
        float(rep_blocks),
        float(gap_blocks),
        bm25,
        bm25_margin,
        log1p(rank),
        1.0 if min(lq, lc) <= 4 else 0.0,
        co_q,
        co_c,
        n_common_bg / <double>len(qbig) if qbig else 1.0,
        win / tq,
        log1p(lq),
        log1p(lc),
        1.0 if answer else 0.0,
        cover_qa,
        unm_in_ans,
        bigram_in_ans,
        lost_max,
        lost_sum / tq,
        lost_chars,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ]
