"""The matcher through its public interface, with the shipped model."""

import json

import numpy as np
import pytest

from knowledge.match_features import FEATURES
from knowledge.match_model import Model, forest_predict
from knowledge.matcher import Candidate, Decision, Matcher, load_model

ENTRIES = [
    ("e1", ["社保卡怎么办理", "社保卡在哪里办"], "带身份证到银行网点办理。"),
    ("e2", ["如何提取住房公积金"], "登录公积金网上业务系统申请。"),
    ("e3", ["居住证怎么办理"], "到社区服务站登记。"),
    ("e4", ["营业执照怎么办理"], "向市场监管部门申请。"),
    ("e5", ["护照过期了怎么换发"], "到出入境大厅办理。"),
    ("e6", ["孩子上小学需要什么材料"], "户口本和居住证明。"),
]


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model()


@pytest.fixture
def matcher(model) -> Matcher:
    return Matcher.build(ENTRIES, model=model)


def test_the_same_question_in_other_spelling_is_answered(matcher):
    d = matcher.decide("您好，請問社保卡怎麼辦理？")
    assert d.decision == "answer"
    assert d.entry == "e1"
    assert d.suggestions == []
    assert d.candidates[0].entry == "e1"
    assert d.candidates[0].question == "社保卡怎么办理"


def test_a_similar_question_of_an_entry_matches_that_entry(matcher):
    d = matcher.decide("社保卡在哪里办呀")
    assert d.candidates[0].entry == "e1"
    assert d.candidates[0].question == "社保卡在哪里办"


def test_decision_shape(matcher):
    for text in ["公积金怎么取", "办护照", "今天天气怎么样", "孩子上学要带什么"]:
        d = matcher.decide(text)
        assert isinstance(d, Decision)
        assert d.decision in ("answer", "suggest", "none")
        assert (d.entry is not None) == (d.decision == "answer")
        assert len(d.suggestions) <= 3
        assert d.decision == "suggest" or d.suggestions == []
        assert 0.0 <= d.score <= 1.0
        assert len(d.candidates) <= 5
        scores = [c.score for c in d.candidates]
        assert scores == sorted(scores, reverse=True)
        assert all(isinstance(c, Candidate) and 0 <= c.score <= 1 for c in d.candidates)
        assert len({c.entry for c in d.candidates}) == len(d.candidates)
        assert all(isinstance(v, float) for c in d.candidates for v in c.why.values())


def test_the_lookalike_with_the_opposite_action_is_not_answered(matcher):
    d = matcher.decide("营业执照怎么注销")
    assert d.decision != "answer"
    # and the true paraphrase of the same entry is scored far higher
    same = matcher.decide("营业执照如何办理")
    assert same.candidates[0].entry == "e4"
    assert same.candidates[0].score > d.candidates[0].score + 0.2


def test_unrelated_and_empty_questions_get_nothing(matcher):
    assert matcher.decide("").decision == "none"
    assert matcher.decide("？？😀").decision == "none"
    assert matcher.decide("周杰伦的新歌叫什么名字").decision == "none"


def test_add_remove_and_replace(matcher):
    assert len(matcher) == 6
    matcher.add("e7", ["电动自行车怎么上牌照"], "到车管所登记。")
    assert len(matcher) == 7
    d = matcher.decide("电动自行车怎样上牌照")
    assert d.candidates[0].entry == "e7"

    matcher.remove("e1")
    assert len(matcher) == 6
    for text in ["社保卡怎么办理", "社保卡在哪里办", "社保卡"]:
        d = matcher.decide(text)
        assert d.entry != "e1"
        assert "e1" not in d.suggestions
        assert all(c.entry != "e1" for c in d.candidates)
    matcher.remove("no-such-entry")  # harmless

    # replacing an entry's questions: the old wording no longer finds it
    matcher.add("e3", ["残疾证怎么办理"], "到残联办理。")
    assert len(matcher) == 6
    assert matcher.decide("残疾证怎么办理").entry == "e3"
    old = matcher.decide("居住证怎么办理")
    assert old.entry != "e3"
    assert all(c.question != "居住证怎么办理" for c in old.candidates)


def test_slots_are_reused_after_remove(model):
    m = Matcher(model)
    m.add("a", ["身份证丢了怎么补办"])
    m.remove("a")
    m.add("b", ["驾驶证丢了怎么补办"])
    assert m.decide("身份证丢了怎么补办").candidates[0].entry == "b"
    assert m.decide("驾驶证丢了怎么补办").entry == "b"
    assert len(m) == 1


def test_build_equals_one_by_one(model):
    built = Matcher.build(ENTRIES, model=model)
    added = Matcher(model)
    for e in ENTRIES:
        added.add(*e)
    for text in ["公积金怎么提", "社保卡去哪办", "小学入学材料"]:
        a, b = built.decide(text), added.decide(text)
        assert [(c.entry, round(c.score, 9)) for c in a.candidates] == [
            (c.entry, round(c.score, 9)) for c in b.candidates
        ]


def test_synonyms_make_words_the_same(model):
    m = Matcher.build([("g1", ["社会保险怎么缴纳"], ""), ("g2", ["医疗费用怎么报销"], "")], model)
    before = m.decide("社保怎么缴纳")
    m.set_synonyms([["社保", "社会保险"], ["公积金", "住房公积金"]])
    after = m.decide("社保怎么缴纳")
    assert after.candidates[0].entry == "g1"
    assert after.candidates[0].score > before.candidates[0].score
    assert after.decision == "answer"
    # entries added after the synonyms are set use them too
    m.add("g3", ["住房公积金贷款额度"], "")
    assert m.decide("公积金贷款额度").entry == "g3"
    assert len(m) == 3


def test_model_round_trips_through_json(model):
    again = Model.from_dict(json.loads(json.dumps(model.to_dict())))
    x = np.random.default_rng(0).normal(size=(7, len(model.features)))
    assert np.allclose(model.predict(x), again.predict(x))
    with pytest.raises(ValueError):
        Model.from_dict({**model.to_dict(), "features": ["something_else"]})


def test_tree_walk_follows_thresholds():
    # tree 1: feature 1 <= 0.5 goes left (-1), else right (+2); tree 2 (padded): always +0.5
    forest = {
        "feature": [[1, 0, 0], [0, 0, 0]],
        "threshold": [[0.5, 0, 0], [0, 0, 0]],
        "left": [[1, 0, 0], [0, 0, 0]],
        "right": [[2, 0, 0], [0, 0, 0]],
        "value": [[0, -1.0, 2.0], [0.5, 0, 0]],
        "leaf": [[False, True, True], [True, True, True]],
        "depth": 1,
    }
    x = np.array([[9.0, 0.1], [9.0, 0.5], [-9.0, 0.7]])
    assert forest_predict(forest, x).tolist() == [-0.5, -0.5, 2.5]


def test_exported_forest_scores_as_scikit_learn_does():
    pytest.importorskip("sklearn")
    from sklearn.ensemble import HistGradientBoostingClassifier

    from knowledge.fit import export_forest

    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] > 0).astype(float)
    clf = HistGradientBoostingClassifier(max_iter=30, early_stopping=False).fit(x, y)
    forest, base = export_forest(clf)
    assert np.allclose(base + forest_predict(forest, x), clf.decision_function(x), atol=1e-5)


def test_an_entry_is_found_by_words_only_its_answer_has(model):
    entries = [
        ("a", ["灵活就业人员参保"], "无雇工的个体工商户、未在用人单位参保的人员可按灵活就业人员"
         "缴纳养老保险。"),
        ("b", ["企业职工参保登记"], "用人单位应当自用工之日起三十日内为职工办理社会保险登记。"),
        ("c", ["社会保障卡补换"], "社会保障卡丢失后先挂失，再到银行网点补办。"),
    ]  # fmt: skip
    matcher = Matcher.build(entries, model=model)
    slots, feats, _ = matcher.pairs("个体户怎么交养老保险")
    found = [matcher.slots[s].entry for s in slots]
    assert "a" in found
    row = feats[found.index("a")]
    names = model.features
    assert row[names.index("has_answer")] == 1.0
    # the words the question lacks are in the answer
    assert row[names.index("unm_in_ans")] > 0.5


def test_a_huge_question_is_scored_within_the_fitted_range(model):
    entries = [("e1", ["社保卡怎么办理"], "到银行办理。"), ("e2", ["居住证怎么办理"], "")]
    matcher = Matcher.build(entries, model=model)
    long_text = "社保卡怎么办理" + "我家住在清源市东桥镇，" * 60  # 600+ characters
    _slots, feats, _ = matcher.pairs(long_text)
    clipped = model.clip(feats)
    assert (clipped <= np.asarray(model.clip_hi) + 1e-9).all()
    assert (clipped >= np.asarray(model.clip_lo) - 1e-9).all()
    assert matcher.decide(long_text).decision != "answer"


def test_decisions_on_real_government_entries(model):
    """The 2,080 real gov-qa entries as the knowledge base: their own questions as a citizen would
    type them come back as that entry (answered or among the suggestions, never another entry
    answered), and questions on matters the KB does not hold are not answered."""
    import random
    from pathlib import Path

    from tests.conftest import IN_CI

    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "gov-qa.jsonl"
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} missing")
        pytest.skip(f"{path} missing")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    matcher = Matcher.build(((r["id"], [r["question"]], r["answer"]) for r in rows), model=model)
    sample = random.Random(3).sample(rows, 200)
    found, wrong = 0, 0
    for r in sample:
        d = matcher.decide(f"你好，请问{r['question']}")
        if d.decision == "answer" and d.entry != r["id"]:
            wrong += 1
        if d.entry == r["id"] or r["id"] in d.suggestions:
            found += 1
    assert wrong == 0
    assert found >= 180  # 90% come back as their own entry
    for text in ["火星上能办居住证吗", "英雄联盟怎么上王者", "今天晚饭吃什么好"]:
        assert matcher.decide(text).decision != "answer", text


def test_a_swapped_specific_is_told_from_a_rewording(model):
    """Near-misses keep an entry's frame and swap a specific (福彩 for 体彩, 上海 for 在京); the
    swap features see it, and see nothing of the kind in a rewording of the same entry. They are
    computed for a model that reads them only."""
    _slots, feats, _ = Matcher.build([("t", ["北京体彩中心客服热线是多少？"], "")], model).pairs(
        "福彩中心的客服电话是多少"
    )
    assert not feats[:, len(model.features) :].any()
    model = Model(prior=model.prior)  # reads every feature
    entries = [
        ("t", ["北京体彩中心客服热线是多少？"], "北京市体育彩票管理中心客服热线：96166。"),
        ("s", ["如何查询在京最后一家参保缴费单位？"], "登录北京市社会保险网上服务平台查询。"),
        ("x", ["如何查询个人社保缴费信息？"], "可通过社保网上服务平台查询。"),
    ]
    matcher = Matcher.build(entries, model=model)
    names = FEATURES

    def row(text, entry):
        slots, feats, _ = matcher.pairs(text)
        found = [matcher.slots[s].entry for s in slots]
        return feats[found.index(entry)]

    swap = row("福彩中心的客服电话是多少", "t")
    assert swap[names.index("sub_frame")] > 0 and swap[names.index("proper_lost")] > 0
    place = row("怎么查我在上海最后一家交社保的单位", "s")
    assert place[names.index("sub_frame_ans")] > 0
    same = row("体彩中心客服电话多少", "t")
    assert same[names.index("sub_frame_ans")] == 0 and same[names.index("proper_lost")] == 0
    assert same[names.index("dist_missing")] < swap[names.index("dist_missing")]


def test_a_model_with_heads_of_another_width_is_refused(model):
    with pytest.raises(ValueError):
        Model.from_dict({**model.to_dict(), "head_answer": [0.5, 0.1]})


def _tree_heads(model: Model) -> Model:
    """model with tree heads fitted on made-up rankings: the top entry is right when the
    citizen's words are covered, whatever the probabilities say."""
    from knowledge import fit as fitting

    rng = np.random.default_rng(7)
    ranked, expects = [], []
    for i in range(600):
        top = np.zeros(len(FEATURES))
        lost = float(rng.random())
        top[FEATURES.index("lost_mass")] = lost
        probs = sorted(rng.random(3).tolist(), reverse=True)
        ranked.append(fitting.Ranked(["a", "b", "c"], probs, 0.2, False, top))
        expects.append("a" if lost < 0.4 else (None if i % 2 else "b"))
    out = model.copy()
    fitting.fit_heads(out, ranked, expects, np.ones(len(ranked)), trees=True)
    return out


def test_tree_heads_read_the_best_candidates_own_features(model):
    """Tree heads (fit.py --heads trees) read the best candidate's features beside the
    probabilities, survive the file's round trip, walk their three forests in one pass with
    the same margins as one by one, and a file whose trees read past the row is refused."""
    trees = _tree_heads(model)
    assert trees.head_forests and not trees.head_answer
    again = Model.from_dict(json.loads(json.dumps(trees.to_dict())))
    probs = [0.6, 0.3, 0.1]
    covered, lost = np.zeros(len(FEATURES)), np.zeros(len(FEATURES))
    lost[FEATURES.index("lost_mass")] = 0.8
    assert again.heads(probs, 0.2, covered) == trees.heads(probs, 0.2, covered)
    assert trees.heads(probs, 0.2, covered)[0] > 0.8 > 0.2 > trees.heads(probs, 0.2, lost)[0]
    row = trees.head_row(probs, 0.2, lost)
    heads = [trees.head_forests[n] for n in ("answer", "suggest", "none")]
    one_by_one = [h["base"] + forest_predict(h["forest"], row[None])[0] for h in heads]
    assert np.allclose(trees._head_margins(row), one_by_one, atol=1e-12)
    data = trees.to_dict()
    wide = data["head_forests"]["answer"]["forest"]
    wide["feature"] = [[len(row)] * len(leaves) for leaves in wide["leaf"]]
    with pytest.raises(ValueError):
        Model.from_dict(data)


def _same_pairs(live: Matcher, fresh: Matcher, text: str) -> None:
    a_slots, a_feats, _ = live.pairs(text)
    b_slots, b_feats, _ = fresh.pairs(text)
    a = [
        (live.slots[s].entry, tuple(r))
        for s, r in zip(a_slots, a_feats.round(9).tolist(), strict=True)
    ]
    b = [
        (fresh.slots[s].entry, tuple(r))
        for s, r in zip(b_slots, b_feats.round(9).tolist(), strict=True)
    ]
    assert sorted(a) == sorted(b), text


def test_what_the_index_keeps_between_questions_follows_its_edits(model):
    """idf values and question masses are kept between queries: after each edit (an entry
    added, replaced, removed, the model set again), a question's features are those of a
    matcher built afresh over the same entries."""
    texts = ["社保卡丢了怎么补办", "居住证怎么办理", "公积金怎么提取", "营业执照办理"]
    live = Matcher.build(ENTRIES, model=model)
    kb = {e: (q, a) for e, q, a in ENTRIES}
    edits = [
        ("add", "e7", ["社保卡补办需要什么材料", "社保卡丢了"], "带身份证到银行网点补办。"),
        ("add", "e8", ["居住证续签"], "到社区服务站续签。"),
        ("add", "e3", ["居住证在哪里办"], "到派出所办理。"),
        ("remove", "e4", None, None),
        ("model", None, None, None),
    ]
    for kind, entry_id, questions, answer in edits:
        for t in texts:
            live.pairs(t)
        if kind == "add":
            live.add(entry_id, questions, answer)
            kb[entry_id] = (questions, answer)
        elif kind == "remove":
            live.remove(entry_id)
            del kb[entry_id]
        else:
            live.model = model
        fresh = Matcher.build([(e, q, a) for e, (q, a) in kb.items()], model=model)
        for t in texts:
            _same_pairs(live, fresh, t)


def test_a_message_naming_only_what_two_entries_share_is_offered_not_answered(model):
    """居住证 names what 办理 and 续签 share: however sure the scorer is of one, the citizen has
    not said which, so both are offered. A model that answers everything shows the rule alone."""
    eager = model.copy()
    eager.t_answer = 0.0
    m = Matcher.build(
        [
            ("apply", ["怎么办理居住证"], "到社区服务站登记。"),
            ("renew", ["居住证到期了怎么续签"], "到期前三十日内续签。"),
            ("passport", ["护照过期了怎么换发"], "到出入境大厅办理。"),
        ],
        model=eager,
    )
    d = m.decide("居住证")
    assert d.decision == "suggest"
    assert set(d.suggestions[:2]) == {"apply", "renew"}
    said = m.decide("居住证到期了怎么续")
    assert (said.decision, said.entry) == ("answer", "renew")
    only = m.decide("护照")
    assert (only.decision, only.entry) == ("answer", "passport")


def test_questions_kept_past_the_limit_are_trimmed_not_all_dropped(model, monkeypatch):
    """A knowledge base with more questions than the matcher keeps analysed: past the limit,
    those kept longest are dropped down to three quarters of it, so the questions asked lately
    stay kept, and every decision is the one made with room for all."""
    import knowledge.matcher as mm
    from knowledge.demo import DEMO_ENTRIES

    entries = [(e[0], [e[3], *e[4]], e[5]) for e in DEMO_ENTRIES]  # 20 entries, 100 questions
    asked = [q for _, questions, _ in entries for q in questions] + ["社保卡丢了", "公积金"]
    roomy = Matcher.build(entries, model=model)
    expected = [roomy.decide(q) for q in asked]
    monkeypatch.setattr(mm, "WEIGHTS_MAX", 16)
    tight = Matcher.build(entries, model=model)
    sizes = []
    for q, decision in zip(asked, expected, strict=True):
        got = tight.decide(q)
        assert (got.decision, got.entry, got.suggestions, got.score) == (
            decision.decision, decision.entry, decision.suggestions, decision.score
        )  # fmt: skip
        sizes.append(len(tight.index.memo[mm._CANDIDATES]))
    kept = len(roomy.index.memo[mm._CANDIDATES])
    assert kept > 40  # questions retrieved in all
    first = next(i for i, n in enumerate(sizes) if n > 16)
    assert max(sizes) <= 16 + model.k_slots + 3  # trimmed at the next question
    assert min(sizes[first:]) >= 12  # down to three quarters, never emptied
