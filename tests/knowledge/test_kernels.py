"""The matcher's compiled loops (knowledge/_kernels.pyx, knowledge/_pair_kernel.pyx,
knowledge/_segment.pyx) give what their Python twins give, on real questions; and CI runs the
compiled ones."""

import itertools
import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz.distance import Levenshtein

import knowledge.match_features as mf
import knowledge.match_model as mm
import knowledge.normalize as nz
from knowledge.demo import DEMO_ENTRIES
from knowledge.matcher import Matcher, load_model

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SMALL = DATA / "gov-para-dev" / "small"
MATCH_DEV = DATA / "match-dev" / "kb.jsonl"
MESSAGES = DATA / "citizen-messages.jsonl"


@pytest.fixture(scope="module")
def model():
    return load_model()


def _office() -> tuple[list[tuple[str, list[str], str]], list[str]]:
    """A knowledge base and citizens' questions to it: the 300-entry office of gov-para-dev with
    its queries when ../shared/data is there, else the demo city and its entries' wordings."""
    if SMALL.exists():
        kb = [json.loads(line) for line in (SMALL / "kb.jsonl").open(encoding="utf-8")]
        entries = [(e["id"], [e["question"], *e.get("similar", [])], e.get("answer", ""))
                   for e in kb]  # fmt: skip
        queries = [json.loads(line)["text"]
                   for line in (SMALL / "queries.jsonl").open(encoding="utf-8")]  # fmt: skip
        return entries, queries
    entries = [(e[0], [e[3], *e[4]], e[5]) for e in DEMO_ENTRIES]
    queries = [q for _, qs, _ in entries for q in qs]
    queries += ["社保卡丢了怎么补办", "居住证", "没单位社保咋交"]
    return entries, queries


def test_ci_runs_the_compiled_loops():
    if not os.environ.get("CI"):
        pytest.skip("a developer's checkout may be built without a C compiler")
    assert mm.compiled_walk is not None
    assert nz.compiled_words is not None
    assert mf._pair_kernel is not None
    assert mf._pair_kernel.uses_capi()  # rapidfuzz through its C interface, as served


@pytest.fixture(params=[True, False], ids=["rapidfuzz-capi", "rapidfuzz-python"])
def capi(request):
    """The kernel calling rapidfuzz through its C interface, then through Python."""
    kernel = mf._pair_kernel
    kernel.use_capi(request.param)
    if request.param and not kernel.uses_capi():  # CI asserts it is (test above)
        kernel.use_capi(True)
        pytest.skip("rapidfuzz's C interface failed its probes here: the Python calls serve")
    yield request.param
    kernel.use_capi(True)


@pytest.mark.skipif(mf._pair_kernel is None, reason="not built")
def test_compiled_pair_features_equal_the_python_ones(monkeypatch, capi):
    """Every retrieved candidate's row, computed all at once (Matcher.pairs) and one pair at a
    time (pair_features), equals the Python function's, whichever way rapidfuzz is called."""
    entries, queries = _office()
    matcher = Matcher.build(entries)
    kernel = mf._pair_kernel
    assert kernel.uses_capi() == capi
    rows = with_answer = 0
    # a long message too: more characters and bigrams than the kernel's table takes
    for text in [*queries, "".join(queries[:30])]:
        slots, compiled, infos = matcher.pairs(text)
        monkeypatch.setattr(mf, "_pair_kernel", None)
        slots_python, python, _ = matcher.pairs(text)
        monkeypatch.setattr(mf, "_pair_kernel", kernel)
        assert slots == slots_python
        assert compiled.shape == python.shape
        assert np.allclose(compiled, python, rtol=0, atol=1e-12), text
        rows += len(slots)
        with_answer += int((compiled[:, mf.FEATURES.index("has_answer")] == 1).sum())
    assert rows > 300 and with_answer  # the answer's features were compared too
    # one pair at a time: the knowledge base's own questions against each other
    char_idf = matcher.index.idf
    word_idf = matcher.index.idf
    for a, b in itertools.pairwise(infos):
        qw, cw = mf.weigh(a, char_idf, word_idf), mf.weigh(b, char_idf, word_idf, citizen=False)
        compiled = mf.pair_features(a, b, char_idf, word_idf, 0.8, 0.1, 2, "答复", False, qw, cw)
        monkeypatch.setattr(mf, "_pair_kernel", None)
        python = mf.pair_features(a, b, char_idf, word_idf, 0.8, 0.1, 2, "答复", False, qw, cw)
        monkeypatch.setattr(mf, "_pair_kernel", kernel)
        assert np.allclose(compiled, python, rtol=0, atol=1e-12)


def _real_texts(questions: int, messages: int) -> list[str]:
    """Knowledge-base questions (match-dev's) and citizens' messages, a sample of each, cut to
    the MAX_FUZZY characters the pair features align; the demo city's wordings when
    ../shared/data is not there."""
    if MATCH_DEV.exists() and MESSAGES.exists():
        rng = random.Random(3)
        kb = [json.loads(line)["question"] for line in MATCH_DEV.open(encoding="utf-8")]
        said = [json.loads(line)["text"] for line in MESSAGES.open(encoding="utf-8")]
        texts = rng.sample(kb, questions) + rng.sample(said, messages)
    else:
        texts = [q for e in DEMO_ENTRIES for q in [e[3], *e[4]]]
    return [t[: mf.MAX_FUZZY] for t in texts]


@pytest.mark.skipif(mf._pair_kernel is None, reason="not built")
def test_compiled_opcode_blocks_equal_rapidfuzz_ones():
    """The kernel's alignment in C gives Levenshtein.opcodes' blocks other than "equal": the
    same tags and ranges in the same order, so rapidfuzz's choice among equally short
    alignments. On every pair of real texts (both ways round, and each with itself), on random
    strings over two to four letters (ties everywhere) as long as the C alignment takes (64
    characters; the pair features align 48), and on empty, identical and astral strings."""
    blocks = mf._pair_kernel.opcode_blocks

    def rapidfuzz_blocks(a, b):
        return [op for op in Levenshtein.opcodes(a, b).as_list() if op[0] != "equal"]

    texts = _real_texts(700, 300)
    pairs = list(itertools.product(texts, repeat=2))
    rng = random.Random(11)
    for letters in ("ab", "abc", "abcd", "a𠀋", "甲乙𠀋", "ab𝔘c"):
        for _ in range(20_000):
            a, b = ("".join(rng.choices(letters, k=rng.randint(0, 64))) for _ in range(2))
            near = a[: rng.randint(0, len(a))] + rng.choice(letters) + a[len(a) // 2 :]
            pairs += [(a, b), (a, near[:64])]
    edge = ["", "a", "𠀋", "a𠀋b", "社保卡补办", "\x00", "\U0010ffff"]
    edge += ["ab" * 24, "b" * 48, "𠀋" * 48, "ba" * 32, "𠀋" * 64]
    pairs += itertools.product(edge, repeat=2)
    for a, b in pairs:
        assert blocks(a, b) == rapidfuzz_blocks(a, b), (a, b)
    assert len(pairs) > 200_000
    tags = {op[0] for a, b in pairs[:: len(pairs) // 5000] for op in blocks(a, b)}
    assert tags == {"replace", "insert", "delete"}
    for a in ("a" * 65, "𠀋" * 70):  # longer than the C alignment takes: refused
        with pytest.raises(ValueError):
            blocks(a, "a")


@pytest.mark.skipif(mm.compiled_walk is None, reason="not built")
def test_compiled_walk_equals_the_numpy_walk(model, monkeypatch):
    entries, queries = _office()
    matcher = Matcher.build(entries, model=model)
    rows = [matcher.pairs(text)[1] for text in queries[:200]]
    x = model.clip(np.vstack([r for r in rows if len(r)]))
    forest = model.forest
    compiled = mm.forest_predict(forest, x)
    numpy = mm._numpy_walk(forest["_flat"], int(forest["depth"]), x)
    assert np.allclose(compiled, numpy, rtol=0, atol=1e-9)
    assert compiled.std() > 0.1  # rows that go down different paths
    # a few rows take the walk by lanes of trees, many rows a level at a time: each row's sum
    # is the same to the last bit either way (the trees' values added in their order)
    one_by_one = np.concatenate([mm.forest_predict(forest, x[i : i + 1]) for i in range(40)])
    assert np.array_equal(one_by_one, compiled[:40])
    # the heads: three forests of another depth, summed per forest
    for r in rows[:50]:
        if not len(r):
            continue
        probs = sorted(model.predict(r).tolist(), reverse=True)
        row = model.head_row(probs, 0.2, r[0])
        compiled = model._head_margins(row)
        monkeypatch.setattr(mm, "compiled_walk", None)
        numpy = model._head_margins(row)
        monkeypatch.undo()
        assert np.allclose(compiled, numpy, rtol=0, atol=1e-9)
    # the walk that clips the rows itself: the same probabilities and heads to the last bit as
    # clipping with numpy first. The fitted trees' thresholds lie inside the range clipped to,
    # so the shipped bounds change no path: narrower ones, which do, are compared as well.
    narrow = model.copy()
    bounds = zip(model.clip_lo, model.clip_hi, strict=True)
    narrow.clip_hi = [lo + (hi - lo) * 0.3 for lo, hi in bounds]
    asked = [r for r in rows if len(r)]
    assert not all(np.array_equal(model.predict(r), narrow.predict(r)) for r in asked)
    for m in (model, narrow):
        by_walk = [(m.predict(r), m.heads([0.6, 0.3], 0.2, r[0])) for r in asked]
        monkeypatch.setattr(mm, "compiled_walk_clipped", None)
        by_numpy = [(m.predict(r), m.heads([0.6, 0.3], 0.2, r[0])) for r in asked]
        monkeypatch.undo()
        for (p1, h1), (p2, h2) in zip(by_walk, by_numpy, strict=True):
            assert np.array_equal(p1, p2) and h1 == h2


@pytest.mark.skipif(mm.compiled_walk is None, reason="not built")
def test_compiled_retrieval_equals_numpy(monkeypatch):
    """BM25 over postings loaded in bulk and added one entry at a time (after a removal), and
    the top k with ties broken by the lower slot, as the numpy twins compute them."""
    import knowledge.match_index as mi
    from knowledge.match_index import InvertedIndex, index_terms
    from knowledge.normalize import words

    entries, queries = _office()
    matcher = Matcher.build(entries[: len(entries) * 3 // 4])
    for entry in entries[len(entries) * 3 // 4 :]:
        matcher.add(*entry)
    matcher.remove(entries[1][0])
    matcher.add(entries[1][0], ["社保卡补办"], "到银行网点补办")
    ties = 0
    for text in [*queries[:150], "社保卡补办"]:
        norm = matcher._prepare_text(text)
        terms = index_terms(norm, words(norm))
        for index in (matcher.index, matcher.ans_index):
            compiled, best = index.scores(terms)
            compiled_top = InvertedIndex.top(compiled, best, 10)
            monkeypatch.setattr(mi, "compiled_bm25_terms", None)
            monkeypatch.setattr(mi, "compiled_top_k", None)
            numpy, best_numpy = index.scores(terms)
            numpy_top = InvertedIndex.top(numpy, best_numpy, 10)
            monkeypatch.undo()
            assert best == best_numpy
            assert np.array_equal(compiled, numpy)
            assert np.array_equal(compiled_top[0], numpy_top[0])
            assert np.array_equal(compiled_top[1], numpy_top[1])
            assert (np.diff(compiled_top[1]) <= 0).all() and (compiled_top[1] > 0).all()
            ties += len(set(compiled_top[1].tolist())) < len(compiled_top[1])
            # the rows of the terms, bigrams found by the compiled binary search or numpy's
            # (the index's first and last bigram, and ones it lacks, among them)
            first, last = (chr(c >> 21) + chr(c & 0x1FFFFF) for c in index._bigrams[[0, -1]])
            asked = [*terms, first, last, "𠀋𠀋", "\x00\x00", "\U0010ffff\U0010ffff"]
            compiled_rows = index._term_rows(asked)
            monkeypatch.setattr(mi, "compiled_positions", None)
            assert compiled_rows == index._term_rows(asked)
            monkeypatch.undo()
            assert compiled_rows[-5] >= 0 and compiled_rows[-4] >= 0 and compiled_rows[-1] == -1
    assert ties  # equal scores were ordered alike


@pytest.mark.skipif(mm.compiled_walk is None, reason="not built")
def test_compiled_top_k_equals_numpy_on_every_shape(monkeypatch):
    """The compiled top k passes over blocks of eight whose best is not above the bar: the same
    slots and scores as numpy's twin, with blocks cut short at the end, fewer positive scores
    than k, ties across blocks, zeros and negatives, and a bar reached in the first block."""
    import knowledge.match_index as mi
    from knowledge.match_index import InvertedIndex

    rng = np.random.default_rng(7)
    arrays = [np.zeros(0), np.zeros(5), -np.ones(9), np.arange(17.0)[::-1], np.arange(17.0)]
    for n in (1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 10_007):
        for zeros in (0.0, 0.5, 0.95):
            a = rng.choice([0.0, 0.25, 0.5, 1.0, 2.0, 3.0], size=n)  # many ties
            a[rng.random(n) < zeros] = 0.0
            arrays += [a, rng.random(n) - 0.3]
    for a in arrays:
        scores = a.astype(np.float32)
        for k in (1, 3, 10, 40):
            compiled = InvertedIndex.top(scores, 1.0, k)
            monkeypatch.setattr(mi, "compiled_top_k", None)
            numpy = InvertedIndex.top(scores, 1.0, k)
            monkeypatch.undo()
            assert np.array_equal(compiled[0], numpy[0]), (len(a), k)
            assert np.array_equal(compiled[1], numpy[1])


@pytest.mark.skipif(nz.compiled_words is None, reason="not built")
def test_compiled_words_equal_the_python_ones(monkeypatch):
    """jieba's words of every citizen's message and knowledge-base question, normalised as the
    matcher splits them (the demo city's questions without ../shared/data), and of what
    normalised texts never hold: spaces and line breaks, punctuation, characters beyond the
    Basic Multilingual Plane, the edges of jieba's Han range, a text of 2,000 characters."""
    if DATA.exists():
        with (DATA / "citizen-messages.jsonl").open(encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f]
        with (DATA / "match-dev" / "kb.jsonl").open(encoding="utf-8") as f:
            texts += [json.loads(line)["question"] for line in f]
    else:
        texts = [q for e in DEMO_ENTRIES for q in (e[3], *e[4])]
    texts = [nz.normalize(text) for text in texts]
    long = "".join(texts)[:2000]
    assert len(long) == 2000
    texts += [
        long,
        "",
        "，。！？……",
        " a b  c\r\nd\r\r\n\n\t\u3000\r",
        "ABC123怎么查abc-1.5%a+b#c&d_e社保卡",
        "社保 丢了，abc 12 办理",
        "😀社保卡😀丢了🀄𠀋𠀋补办\U0010ffff",
        "\u4dff\u4e00\u9fd5\u9fd6\u9fff社保",
        "日本語のテキスト½①②",
        "\ud800社保\udfff",
    ]
    compiled = [nz.words(text) for text in texts]
    monkeypatch.setattr(nz, "compiled_words", None)
    python = [nz.words(text) for text in texts]
    for text, c, p in zip(texts, compiled, python, strict=True):
        assert c == p, text
    assert sum(len(w) > 1 for ws in compiled for w in ws) > 3 * len(texts)  # words were found
