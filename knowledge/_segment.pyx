# cython: language_level=3, boundscheck=False, wraparound=False
"""jieba's words without HMM, compiled: the twin of knowledge.normalize.words, which uses its
Python loop when this module is not built.

Every citizen's message is split into words before it is matched. Here the only Python calls left
are one substring and one PyDict_GetItem per fragment tried: the same fragments in the same order
as the Python loop, and the same sums of doubles, so the words are the same to the last tie. A
message of 22 characters takes 21 µs instead of 53 in a tight loop. Inside the matcher, jieba's
dictionary (half a million words and prefixes) is no longer in the processor's caches: 75 µs
instead of 110, most of it waiting on memory in the dictionary look-ups, which both loops make.
"""

from cpython.dict cimport PyDict_GetItem
from cpython.float cimport PyFloat_AsDouble
from cpython.long cimport PyLong_AsDouble, PyLong_CheckExact
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport PyObject
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ, PyUnicode_Substring
from libc.math cimport log


cdef inline bint _eng(Py_UCS4 c) noexcept nogil:
    """A character of normalize._ENG_CHARS: an ASCII letter or digit."""
    return u"a" <= c <= u"z" or u"A" <= c <= u"Z" or u"0" <= c <= u"9"


cdef inline bint _in_block(Py_UCS4 c) noexcept nogil:
    """A character of jieba's re_han_default: U+4E00 to U+9FD5, an ASCII letter or digit, or one
    of +#&._%-."""
    return (
        0x4E00 <= c <= 0x9FD5
        or _eng(c)
        or c == u"+" or c == u"#" or c == u"&" or c == u"." or c == u"_" or c == u"%" or c == u"-"
    )


def words(str text not None, dict freq not None, double logtotal):
    """normalize.words(text), given jieba's prefix dictionary (dt.FREQ: a word's count, 0 for a
    prefix that is not a word) and log(dt.total).

    Characters outside the blocks of re_han_default are words of their own ("\\r\\n" is one);
    within a block, the backward pass: score[k], the best log probability of text[k:stop], and
    end[k], the last character of its first word, ties going to the longer word. Consecutive
    one-character ASCII letters and digits are then joined, as jieba does."""
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef double *score = <double *>PyMem_Malloc((n + 1) * sizeof(double))
    cdef Py_ssize_t *end = <Py_ssize_t *>PyMem_Malloc((n + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t start = 0, stop, k, i, x, y, best_x, buf
    cdef double best, v, count
    cdef bint found
    cdef Py_UCS4 c
    cdef PyObject *f
    cdef object frag
    cdef list out = []
    if score == NULL or end == NULL:
        PyMem_Free(score)
        PyMem_Free(end)
        raise MemoryError()
    try:
        while start < n:
            c = PyUnicode_READ(kind, data, start)
            if not _in_block(c):
                if c == u"\r" and start + 1 < n and PyUnicode_READ(kind, data, start + 1) == u"\n":
                    out.append(PyUnicode_Substring(text, start, start + 2))
                    start += 2
                else:
                    out.append(PyUnicode_Substring(text, start, start + 1))
                    start += 1
                continue
            stop = start + 1
            while stop < n and _in_block(PyUnicode_READ(kind, data, stop)):
                stop += 1
            score[stop] = 0.0
            for k in range(stop - 1, start - 1, -1):
                found = False
                best = 0.0
                best_x = k
                i = k
                while i < stop:
                    frag = PyUnicode_Substring(text, k, i + 1)
                    f = PyDict_GetItem(freq, frag)
                    if f == NULL:  # no dictionary word starts with frag
                        break
                    # the count (an int) as math.log reads it
                    if PyLong_CheckExact(<object>f):
                        count = PyLong_AsDouble(<object>f)
                    else:
                        count = PyFloat_AsDouble(<object>f)
                    if count != 0.0:
                        v = log(count) - logtotal + score[i + 1]
                        if not found or v >= best:
                            found = True
                            best = v
                            best_x = i
                    i += 1
                if not found:  # log(freq.get(text[k]) or 1): the count is None or 0 here
                    best = log(1.0) - logtotal + score[k + 1]
                score[k] = best
                end[k] = best_x
            x = start
            buf = -1  # where the pending run of one-character ASCII words starts
            while x < stop:
                y = end[x] + 1
                if y - x == 1 and _eng(PyUnicode_READ(kind, data, x)):
                    if buf < 0:
                        buf = x
                else:
                    if buf >= 0:
                        out.append(PyUnicode_Substring(text, buf, x))
                        buf = -1
                    out.append(PyUnicode_Substring(text, x, y))
                x = y
            if buf >= 0:
                out.append(PyUnicode_Substring(text, buf, stop))
            start = stop
    finally:
        PyMem_Free(score)
        PyMem_Free(end)
    return out
