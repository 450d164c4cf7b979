"""The inverted index loaded in one go is the index built question by question: the same slots,
postings, statistics and scores, and edits after the load land the same way."""

import numpy as np

from knowledge.match_index import InvertedIndex, index_terms
from knowledge.normalize import normalize, words

QUESTIONS = [
    "社保卡怎么办理",
    "社保卡在哪里办",
    "如何提取住房公积金",
    "住房公积金提取需要什么材料",
    "居住证怎么办理",
    "营业执照怎么办理",
    "护照过期了怎么换发",
    "孩子上小学需要什么材料",
    "wifi密码忘了怎么办",
    "2024年个税app怎么申报",
    "办办办办",
    "a",
]
PRIOR = {"怎": 0.3, "么": 0.3, "怎么": 0.25, "办理": 0.1}


def _texts(questions):
    texts = [normalize(q) for q in questions]
    return texts, [words(t) for t in texts]


def _postings(index: InvertedIndex, term: str) -> list[int]:
    """A term's postings as packed (slot << 16 | weight) integers, bulk-loaded or added."""
    out = []
    row = index._row(term)
    if row >= 0:
        start = index._start[row]
        end = start + index._count[row]
        slots, tfs = index._slot[start:end].tolist(), index._tf[start:end].tolist()
        out += [s << 16 | w for s, w in zip(slots, tfs, strict=True)]
    out += list(index.postings.get(term, []))
    return sorted(out)


def _same(a: InvertedIndex, b: InvertedIndex, texts, word_lists, queries) -> None:
    assert (a.n_slots, a.live) == (b.n_slots, b.live)
    for text, wl in zip(texts, word_lists, strict=True):
        for term in index_terms(text, wl):
            assert _postings(a, term) == _postings(b, term), term
            assert a.df(term) == b.df(term) and a.idf(term) == b.idf(term)
    for query in queries:
        text = normalize(query)
        terms = index_terms(text, words(text))
        sa, ta = a.scores(terms)
        sb, tb = b.scores(terms)
        assert ta == tb and np.array_equal(sa, sb), query
        for term in terms:
            assert a.df(term) == b.df(term)


def test_loading_in_one_go_is_adding_one_by_one():
    texts, word_lists = _texts(QUESTIONS)
    one_by_one = InvertedIndex(avg_len=10.0, prior=PRIOR)
    slots = [one_by_one.add(t, wl) for t, wl in zip(texts, word_lists, strict=True)]
    at_once = InvertedIndex(avg_len=10.0, prior=PRIOR)
    assert at_once.add_many(texts, word_lists) == slots
    assert len(at_once.postings) == 0  # all in the packed rows
    _same(one_by_one, at_once, texts, word_lists, [*QUESTIONS, "社保卡丢了怎么补办", "没有的词"])


def test_edits_after_a_load_are_those_of_an_index_built_by_hand():
    texts, word_lists = _texts(QUESTIONS)
    one_by_one = InvertedIndex(avg_len=10.0)
    for t, wl in zip(texts, word_lists, strict=True):
        one_by_one.add(t, wl)
    at_once = InvertedIndex(avg_len=10.0)
    at_once.add_many(texts, word_lists)
    new_texts, new_words = _texts(["社保卡补办流程", "居住证办理要多久"])
    asked = ["社保卡怎么办理", "居住证办理要多久", "公积金"]
    for index in (one_by_one, at_once):
        for query in asked:  # what a query kept of the postings must not outlive the edits
            text = normalize(query)
            index.scores(index_terms(text, words(text)))
        index.remove(0, texts[0], word_lists[0])  # a loaded question goes
        index.remove(4, texts[4], word_lists[4])
        assert index.add(new_texts[0], new_words[0]) == 4  # its slot is reused
        index.add(new_texts[1], new_words[1])
        index.remove(4, new_texts[0], new_words[0])  # an added one goes too
    for index in (one_by_one, at_once):  # what was kept before the edits is not used after
        for query in asked:
            text = normalize(query)
            terms = index_terms(text, words(text))
            kept_scores, kept_best = index.scores(terms)
            index._forget()
            fresh_scores, fresh_best = index.scores(terms)
            assert kept_best == fresh_best and np.array_equal(kept_scores, fresh_scores), query
    kept = [i for i in range(len(texts)) if i not in (0, 4)]
    _same(
        one_by_one,
        at_once,
        [texts[i] for i in kept] + new_texts[1:],
        [word_lists[i] for i in kept] + new_words[1:],
        asked,
    )
    assert at_once.df("公积") == one_by_one.df("公积") == 2
    assert at_once.df("护照") == one_by_one.df("护照") == 1


def test_an_empty_load():
    index = InvertedIndex()
    assert index.add_many([], []) == []
    scores, best = index.scores(index_terms("社保", ["社保"]))
    assert len(scores) == 0 and best == 0.0


def test_terms_kept_past_the_limit_are_trimmed_and_score_alike(monkeypatch):
    """Past TERMS_MAX terms kept, those kept longest are dropped down to three quarters of it
    (emptying them all made every term of the next queries looked up again at once); scores
    are those of an index with room for all."""
    import knowledge.match_index as mi

    texts, wl = _texts(QUESTIONS)
    roomy, tight = InvertedIndex(prior=PRIOR), InvertedIndex(prior=PRIOR)
    roomy.add_many(texts, wl)
    tight.add_many(texts, wl)
    asked = [*QUESTIONS, "社保卡丢了怎么补办", "公积金能贷多少", *QUESTIONS[::-1]]
    asked = [index_terms(normalize(q), words(normalize(q))) for q in asked]
    expected = [roomy.scores(terms) for terms in asked]
    assert len(roomy._terms) > 100  # terms met in all
    monkeypatch.setattr(mi, "TERMS_MAX", 40)
    sizes = []
    for terms, (scores, best) in zip(asked, expected, strict=True):
        got, got_best = tight.scores(terms)
        assert np.array_equal(got, scores) and got_best == best
        sizes.append(len(tight._terms))
    first = next(i for i, n in enumerate(sizes) if n > 40)
    assert min(sizes[first + 1 :]) >= 30  # trimmed to three quarters, never emptied
