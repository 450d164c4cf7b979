# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled loops of the matcher's hot path, each with a numpy twin in pure Python that gives the
same result (knowledge/match_model.py falls back to it when this module is not built).

walk: the boosted trees' leaf values for rows of features, summed per group of trees. The numpy
walk moves all rows through all trees a level at a time (a few dozen array operations a
question, most of its cost being numpy's per-call overhead at fifteen rows); this walks one tree
at a time and stops at the leaf.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint16_t

cdef enum:
    _LANES = 8


cdef struct Node:
    # match_model.NODE: a tree node in sixteen bytes, so that a step of a walk reads one
    # cache line, not three arrays' (feature, threshold, children: 960 KiB for the model's
    # trees, more than a core's L2, which the rest of a server's request evicts between two
    # questions). A leaf holds its value in thr and is its own child on both sides.
    double thr
    uint16_t feat
    uint16_t child[2]  # right, left: positions within the node's tree
    uint16_t pad


def walk(
    const unsigned char[::1] packed,
    const int64_t[::1] roots,
    int depth,
    const double[:, ::1] x,
    const int64_t[::1] bounds,
):
    """Row i's sum of leaf values over trees bounds[g] .. bounds[g + 1] - 1 (the last group ends
    with the last tree), as out[i, g]. ``packed``: match_model.pack's nodes (the trees' padded
    rows end to end, tree t's first node at roots[t], its root)."""
    cdef const Node* nodes = <const Node*>&packed[0]
    cdef const Node* nd
    cdef Py_ssize_t n = x.shape[0], n_trees = roots.shape[0], n_groups = bounds.shape[0]
    out = np.zeros((n, n_groups), dtype=np.float64)
    cdef double[:, ::1] o = out
    at = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] node = at
    cdef Py_ssize_t i, g, t, end
    cdef int step
    cdef int64_t root
    # tree by tree, all rows through each (its nodes stay in cache), a level at a time: every
    # row takes `depth` steps (a leaf is its own child), so the rows' walks are independent
    # chains of loads the processor overlaps, with no branch on where a walk ends. Each row's
    # sum adds the trees' values in their order, as a row-by-row walk would.
    cdef int64_t lane[_LANES]
    cdef int64_t lane_root[_LANES]
    cdef Py_ssize_t j, width
    if n < _LANES:
        # a few rows (a question's heads: one row, 600 trees): the independent chains are
        # _LANES trees of one row at a time instead, their values added in the trees' order
        for g in range(n_groups):
            end = bounds[g + 1] if g + 1 < n_groups else n_trees
            for i in range(n):
                t = bounds[g]
                while t < end:
                    width = min(<Py_ssize_t>_LANES, end - t)
                    for j in range(width):
                        lane_root[j] = roots[t + j]
                        lane[j] = 0
                    for step in range(depth):
                        for j in range(width):
                            nd = &nodes[lane_root[j] + lane[j]]
                            lane[j] = nd.child[x[i, nd.feat] <= nd.thr]
                    for j in range(width):
                        o[i, g] += nodes[lane_root[j] + lane[j]].thr
                    t += width
        return out
    for g in range(n_groups):
        end = bounds[g + 1] if g + 1 < n_groups else n_trees
        for t in range(bounds[g], end):
            root = roots[t]
            for i in range(n):
                node[i] = 0
            for step in range(depth):
                for i in range(n):
                    nd = &nodes[root + node[i]]
                    node[i] = nd.child[x[i, nd.feat] <= nd.thr]
            for i in range(n):
                o[i, g] += nodes[root + node[i]].thr
    return out


def walk_clipped(
    const unsigned char[::1] packed,
    const int64_t[::1] roots,
    int depth,
    const double[:, ::1] x,
    const int64_t[::1] bounds,
    const int64_t[::1] cols,
    const double[::1] lo,
    const double[::1] hi,
    Py_ssize_t lead=0,
):
    """walk() over the rows the trees read, made from x without numpy's calls: row i is x[i]'s
    first `lead` values as they are, then x[i, lead + cols[j]] for each j, clipped to
    [lo[j], hi[j]] as np.minimum(np.maximum(v, lo), hi) clips it (a NaN stays NaN); lo empty:
    not clipped. Model.clip's columns, at fifteen rows a few microseconds instead of three
    numpy calls' dozens."""
    cdef Py_ssize_t n = x.shape[0], m = cols.shape[0], i, j
    cdef bint clip = lo.shape[0] > 0
    cdef double v
    rows = np.empty((n, lead + m), dtype=np.float64)
    cdef double[:, ::1] r = rows
    for i in range(n):
        for j in range(lead):
            r[i, j] = x[i, j]
        for j in range(m):
            v = x[i, lead + cols[j]]
            if clip:
                if v < lo[j]:
                    v = lo[j]
                if v > hi[j]:
                    v = hi[j]
            r[i, lead + j] = v
    return walk(packed, roots, depth, rows, bounds)


def bm25_terms(Py_ssize_t n_slots, const int32_t[:] slot_of, const uint16_t[:] tf_of, terms,
               dict known):
    """match_index.InvertedIndex.scores: every slot's BM25 as float32 and the query's own
    maximal score, over a query's terms in their order, each looked up in ``known`` (the
    index's kept terms): None, or (start, count, top, weight factor, packed postings or None).
    A term's bulk-loaded postings are slot_of/tf_of[start:start + count], then those added since
    (slot << 16 | tf); each adds float32(tf * factor) in float64, in that order, as the numpy
    twin's np.bincount does; the tops are summed in the terms' order."""
    cdef double top_possible = 0.0
    cdef tuple got
    cdef double[::1] a
    cdef Py_ssize_t j, start, count
    cdef float wf
    cdef int64_t p
    cdef const int64_t[:] extra
    acc = None
    for term in terms:
        entry = known[term]
        if entry is None:
            continue
        got = <tuple>entry
        if acc is None:
            acc = np.zeros(n_slots, dtype=np.float64)
            a = acc
        top_possible += <double>got[2]
        start = got[0]
        count = got[1]
        wf = got[3]
        for j in range(start, start + count):
            a[slot_of[j]] += <double>(<float>tf_of[j] * wf)
        if got[4] is not None:
            extra = got[4]
            for j in range(extra.shape[0]):
                p = extra[j]
                a[p >> 16] += <double>(<float>(p & 0xFFFF) * wf)
    if acc is None:
        return np.zeros(n_slots, dtype=np.float32), top_possible
    return acc.astype(np.float32), top_possible


def positions(const int64_t[::1] codes, list wanted):
    """Where each of ``wanted`` (ints) is in the sorted ``codes``, or -1: np.searchsorted and a
    comparison without numpy's calls, for the few new terms of a question."""
    cdef Py_ssize_t n = codes.shape[0], lo, hi, mid
    cdef int64_t w
    out = []
    for code in wanted:
        w = code
        lo = 0
        hi = n
        while lo < hi:
            mid = (lo + hi) >> 1
            if codes[mid] < w:
                lo = mid + 1
            else:
                hi = mid
        out.append(lo if lo < n and codes[lo] == w else -1)
    return out


def top_k(const float[::1] scores, Py_ssize_t k):
    """The slots of the k highest positive scores, highest first (ties: the lower slot first),
    and their scores.

    A score enters only above the bar: 0 until k are kept, then the k-th kept. Blocks of eight
    whose highest is not above it are passed over whole; about half the slots score 0 and the
    rest in no order, and testing each on its own mispredicted a branch at every other slot
    (67 µs at 10,000 slots, against 8)."""
    cdef Py_ssize_t n = scores.shape[0], i, j, m = 0, b
    if k > n:
        k = n
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    idx = np.empty(k, dtype=np.int64)
    val = np.empty(k, dtype=np.float32)
    cdef int64_t[::1] bi = idx
    cdef float[::1] bv = val
    cdef float s, bar = 0, hi
    cdef const float* p = &scores[0]
    i = 0
    while i < n:
        if i + _LANES <= n:
            hi = p[i]
            for b in range(1, _LANES):
                if p[i + b] > hi:
                    hi = p[i + b]
            if hi <= bar:
                i += _LANES
                continue
            b = i + _LANES
        else:
            b = n
        while i < b:
            s = p[i]
            if s > bar:
                j = m if m < k else k - 1
                while j > 0 and bv[j - 1] < s:
                    bv[j] = bv[j - 1]
                    bi[j] = bi[j - 1]
                    j -= 1
                bv[j] = s
                bi[j] = i
                if m < k:
                    m += 1
                if m == k:
                    bar = bv[k - 1]
            i += 1
    return idx[:m], val[:m]
