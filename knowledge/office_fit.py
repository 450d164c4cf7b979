"""Fit one office's matcher on its own curation (no database: the caller gathers the signals).

The generic model ships fitted on government and general Chinese wording. Each office's knowledge
base and its citizens differ, and the office's curation says how: every similar question an editor
entered is a citizen's wording of that entry, and so is every unanswered question staff added as a
similar question, every question whose answer a citizen marked 已解决, every letter whose reply
became an entry. Every 未解决 says the answer given was not the right one.

From these signals we build the office's own labelled queries:

- a positive signal (text, entry) is asked of the knowledge base without that text (leave one
  out), expecting the entry;
- the same text asked with its entry taken out entirely expects nothing: the entries retrieval
  ranks near the top are then the office's own hard negatives, the look-alikes a citizen's
  question must not be answered with;
- a negative signal (text, entry) expects nothing, or at least never that entry.

A candidate model (the calibration, and with enough signals the pair model) is fitted on part of
the office's queries and compared with the running model on the rest (held back, grouped by
entry). The caller adopts it only when it is better there.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knowledge import fit as fitting
from knowledge.match_model import Model
from knowledge.matcher import Matcher
from knowledge.normalize import normalize

__all__ = ["OfficeFit", "Signal", "fit_office"]

# Kinds of signals, as the console names them.
SIGNAL_KINDS = {
    "similar": "相似问法",
    "added": "加为相似问法",
    "helpful": "已解决",
    "unhelpful": "未解决",
    "letter": "来信转入",
}


@dataclass(frozen=True)
class Signal:
    """``positive``: ``entry`` answers ``text``; otherwise ``entry`` was given and did not."""

    text: str
    entry: str
    positive: bool = True
    kind: str = "similar"


@dataclass
class OfficeFit:
    candidate: Model
    before: dict[str, float]  # the running model's figures on the held-back queries
    after: dict[str, float]  # the candidate's, on the same queries
    held_out: int  # held-back queries
    counts: dict[str, int] = field(default_factory=dict)  # signals used, by kind
    seconds: float = 0.0
    refit_pairs: bool = False  # the pair model was refitted too (else only the calibration)

    @property
    def better(self) -> bool:
        """Adopt only a model that answers the office better without more wrong answers."""
        if not self.held_out:
            return False
        return (
            self.after["utility"] > self.before["utility"] + 1e-9
            and self.after["wrong_answer_rate"] <= self.before["wrong_answer_rate"] + 0.002
        )

    def summary(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "held_out": self.held_out,
            "counts": self.counts,
            "seconds": round(self.seconds, 2),
            "refit_pairs": self.refit_pairs,
            "better": self.better,
        }


# Enough for a calibration; more signals cost time and add little.
MAX_POSITIVES = 2000
MAX_NEGATIVES = 1000
# With this many positives, the office's own pair model is fitted on top of the generic one.
PAIR_MODEL_MIN = 1500
MIN_POSITIVES = 20
OFFICE = "office"
OFFICE_TREES = {"max_iter": 60, "learning_rate": 0.1, "max_leaf_nodes": 15,
                "min_samples_leaf": 30, "l2_regularization": 2.0}  # fmt: skip


def fit_office(
    entries: Sequence[tuple[str, Sequence[str], str]],
    signals: Sequence[Signal],
    current: Model,
    *,
    synonyms: Sequence[Sequence[str]] = (),
) -> OfficeFit:
    """entries: (id, questions, answer) as the index holds them (standard question first);
    signals: the office's curation; current: the running model."""
    t0 = time.perf_counter()
    queries, counts, data = _labelled(entries, signals, current, synonyms)
    if sum(1 for q in queries if q["expect"] is not None) < MIN_POSITIVES:
        raise ValueError(f"too few signals: {counts}")
    folds = fitting.group_folds(queries, data.top_entry, 3)
    train = np.nonzero(folds != 0)[0]
    held = np.nonzero(folds == 0)[0]
    dtr, _ = fitting.subset(data, train)
    dte, _ = fitting.subset(data, held)
    del data  # the two subsets are copies; the whole is not needed again (peak memory)
    q_train = [queries[i] for i in train]
    q_held = [queries[i] for i in held]
    n_pos = sum(1 for q in q_train if q["expect"] is not None)
    refit_pairs = n_pos >= PAIR_MODEL_MIN
    candidate = _fit_candidate(current, dtr, q_train, refit_pairs)
    before = _figures(current, dte, q_held)
    after = _figures(candidate, dte, q_held)
    return OfficeFit(
        candidate, before, after, len(held), counts, time.perf_counter() - t0, refit_pairs
    )


def _labelled(
    entries: Sequence[tuple[str, Sequence[str], str]],
    signals: Sequence[Signal],
    current: Model,
    synonyms: Sequence[Sequence[str]],
) -> tuple[list[dict[str, Any]], dict[str, int], fitting.PairData]:
    """The office's labelled queries and their pairs. The index built for them is dropped on
    return, and so are the queries' per-pair rows once gathered into one array: together they
    weigh more than the fitting that follows (an office of 10,000 entries peaked over 500 MB)."""
    matcher = Matcher(current)
    if synonyms:
        matcher.set_synonyms(synonyms)
    for entry_id, questions, answer in entries:
        matcher.add(entry_id, questions, answer)
    queries, counts = office_queries(matcher, signals)
    data = fitting.collect_prepared(queries)
    for q in queries:
        del q["pairs"]
    return queries, counts, data


def office_queries(
    matcher: Matcher, signals: Sequence[Signal]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Labelled queries with their retrieved pairs, from the signals (see the module's doc)."""
    rng = random.Random(fitting.SEED)
    known = [s for s in dict.fromkeys(signals) if s.entry in matcher.entries and s.text.strip()]
    pos = [s for s in known if s.positive]
    neg = [s for s in known if not s.positive]
    if len(pos) > MAX_POSITIVES:
        pos = rng.sample(pos, MAX_POSITIVES)
    if len(neg) > MAX_NEGATIVES:
        neg = rng.sample(neg, MAX_NEGATIVES)
    counts: dict[str, int] = {}
    queries: list[dict[str, Any]] = []
    for n, s in enumerate(pos):
        counts[s.kind] = counts.get(s.kind, 0) + 1
        questions, answer = matcher.raw[s.entry]
        own = normalize(s.text)
        rest = [q for q in questions if normalize(q) != own]
        if not rest:
            continue
        # leave this wording out: the entry must be found from its other questions
        matcher.add(s.entry, rest, answer)
        queries.append(_query(matcher, f"p{n}", s.text, s.entry))
        # and with the entry gone, nothing may be answered: the look-alikes are hard negatives
        matcher.remove(s.entry)
        queries.append(_query(matcher, f"x{n}", s.text, None))
        matcher.add(s.entry, questions, answer)
    for n, s in enumerate(neg):
        counts[s.kind] = counts.get(s.kind, 0) + 1
        queries.append(_query(matcher, f"n{n}", s.text, None))
    return queries, counts


def _query(matcher: Matcher, qid: str, text: str, expect: str | None) -> dict[str, Any]:
    """A query with its pairs computed now, while the index is in the state it describes."""
    return {"id": qid, "text": text, "expect": expect, "set": OFFICE,
            "pairs": fitting.query_pairs(matcher, text, expect)}  # fmt: skip


def _fit_candidate(
    current: Model, data: fitting.PairData, queries: list[dict], refit_pairs: bool
) -> Model:
    candidate = current.copy()
    candidate.office_forest, candidate.office_base = {}, 0.0
    if refit_pairs:
        # The office's trees read the features and the generic margin; fitted on two halves in
        # turn so that the calibration below sees probabilities of queries it was not fitted on.
        folds = fitting.group_folds(queries, data.top_entry, 2)
        ranked: list[fitting.Ranked] = [fitting.Ranked([], [], 0.0)] * len(queries)
        for f in range(2):
            tr, te = np.nonzero(folds != f)[0], np.nonzero(folds == f)[0]
            part = _office_trees(current, fitting.subset(data, tr)[0])
            dte, _ = fitting.subset(data, te)
            for i, r in zip(te, fitting.per_query_probs(part, dte, len(te)), strict=True):
                ranked[i] = r
        fitted = _office_trees(current, data)
        candidate.office_forest, candidate.office_base = fitted.office_forest, fitted.office_base
    else:
        ranked = fitting.per_query_probs(current, data, len(queries))
    candidate = fitting.fit_decision(
        candidate, ranked, queries, [OFFICE] * len(queries), trees=False
    )
    candidate.info = {**current.info, "office": candidate.info}
    return candidate


def _office_trees(current: Model, data: fitting.PairData) -> Model:
    model = current.copy()
    x = current.clip(data.x)
    stacked = np.column_stack([x, current.generic_margin(x)])
    model.office_forest, model.office_base = fitting.fit_forest(
        stacked, data.y, np.ones(len(data.y)), OFFICE_TREES
    )
    return model


def _figures(model: Model, data: fitting.PairData, queries: list[dict]) -> dict[str, float]:
    rows = []
    for q, r in zip(queries, fitting.per_query_probs(model, data, len(queries)), strict=True):
        kind = model.choose(r.probs, r.dup, r.exact, r.top)[0] if r.entries else "none"
        rows.append({"id": q["id"], "decision": kind,
                     "entry": r.entries[0] if kind == "answer" else None,
                     "suggestions": r.entries[:3] if kind == "suggest" else []})  # fmt: skip
    return {k: round(v, 4) for k, v in fitting.score_decisions(rows, queries).items()}
