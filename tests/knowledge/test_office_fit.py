"""An office's matcher fitted on its own curation (knowledge/office_fit.py), on real entries:
the government entries as an office's knowledge base whose editors entered citizens' rewordings
as similar questions."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from knowledge import office_fit
from knowledge.matcher import Matcher, load_model
from knowledge.office_fit import Signal, fit_office, office_queries

pytest.importorskip("sklearn")

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gov-para-dev"


@pytest.fixture(scope="module")
def office():
    if not DATA.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{DATA} missing - CI must run every test", pytrace=False)
        pytest.skip(f"{DATA} missing")
    kb = {r["id"]: r for r in map(json.loads, (DATA / "kb.jsonl").open(encoding="utf-8"))}
    queries = [json.loads(line) for line in (DATA / "queries.jsonl").open(encoding="utf-8")]
    similar: dict[str, list[str]] = {}
    for q in queries:
        if q["expect"]:
            similar.setdefault(q["expect"], []).append(q["text"])
    # the office: the entries that have rewordings, and as many others
    others = [i for i in kb if i not in similar][: len(similar)]
    entries = [
        (i, [kb[i]["question"], *similar.get(i, [])], kb[i]["answer"]) for i in [*similar, *others]
    ]
    signals = [Signal(t, i, kind="similar") for i, texts in similar.items() for t in texts]
    return entries, signals


def test_each_wording_is_asked_without_itself_and_without_its_entry(office):
    entries, signals = office
    matcher = Matcher.build(entries, model=load_model())
    before = {e: list(qs) for e, (qs, _) in matcher.raw.items()}
    queries, counts = office_queries(matcher, signals[:40])
    assert counts == {"similar": 40}
    positives = [q for q in queries if q["expect"]]
    removed = [q for q in queries if q["id"].startswith("x")]
    assert len(positives) == len(removed) == 40
    for q in positives:
        # the citizen's own wording was not in the index when it was asked
        assert q["text"] not in q["pairs"]["questions"]
    for q in removed:
        assert q["pairs"]["entries"] and q["expect"] is None
        positive = next(p for p in positives if p["text"] == q["text"])
        assert positive["expect"] not in q["pairs"]["entries"]
    # and the index is back as it was
    assert {e: list(qs) for e, (qs, _) in matcher.raw.items()} == before


def test_the_candidate_is_compared_on_held_back_wordings(office):
    entries, signals = office
    current = load_model()
    fit = fit_office(entries, signals, current)
    assert fit.held_out > 100
    assert fit.counts == {"similar": len(signals)}
    for figures in (fit.before, fit.after):
        assert set(figures) >= {"utility", "answers", "wrong_answer_rate", "answer_precision"}
    # the office's own calibration answers its citizens' wording at least as well
    assert fit.after["utility"] >= fit.before["utility"] - 0.01
    assert fit.candidate.t_answer != current.t_answer or fit.candidate.t_none != current.t_none
    # a few hundred wordings cannot carry tree heads: the office's heads are logistic, whatever
    # the generic model's are
    assert fit.candidate.head_answer and not fit.candidate.head_forests
    summary = json.loads(json.dumps(fit.summary()))
    assert summary["better"] == fit.better
    assert not fit.refit_pairs  # ~400 wordings: calibration only


def test_with_enough_signals_the_office_gets_its_own_pair_model(office, monkeypatch):
    entries, signals = office
    monkeypatch.setattr(office_fit, "PAIR_MODEL_MIN", 100)
    fit = fit_office(entries, signals, load_model())
    assert fit.refit_pairs and fit.candidate.office_forest
    x = np.random.default_rng(0).uniform(0, 1, size=(5, len(fit.candidate.features)))
    p = fit.candidate.predict(x)
    assert ((p > 0) & (p < 1)).all()
    # the candidate survives the trip through the database's JSON
    again = type(fit.candidate).from_dict(json.loads(json.dumps(fit.candidate.to_dict())))
    assert np.allclose(again.predict(x), p)


def test_too_few_signals_are_refused(office):
    entries, signals = office
    with pytest.raises(ValueError, match="too few"):
        fit_office(entries, signals[:5], load_model())


def test_unhelpful_feedback_teaches_that_the_entry_was_wrong(office):
    entries, _signals = office
    matcher = Matcher.build(entries, model=load_model())
    entry = entries[0][0]
    queries, counts = office_queries(
        matcher, [Signal("这个跟我问的不一样", entry, False, "unhelpful")]
    )
    assert counts == {"unhelpful": 1}
    assert [q["expect"] for q in queries] == [None]
