"""Benchmark of the question matcher.

    python -m knowledge.bench --kb KB.jsonl --queries QUERIES.jsonl
        [--fit FIT_KB.jsonl --fit-queries FIT_QUERIES.jsonl | --cv K] [--out DECISIONS.jsonl]

Without --fit/--cv the shipped model (knowledge/model.json) decides. With --fit the model is first
fitted on the fit data (the code of knowledge/fit.py). With --cv K the queries are split into K
folds, grouped so that queries sharing an expected or top-retrieved entry stay together; each
fold is decided by a model fitted on the other folds. `expect` is read only to score (and to fit,
for fit data or the training folds). Runs on one core.
"""

from __future__ import annotations

import os

# one core: numpy's BLAS threads would otherwise make the latency figures optimistic
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402

import numpy as np  # noqa: E402

from knowledge import fit as fitting  # noqa: E402
from knowledge.match_model import Model  # noqa: E402
from knowledge.matcher import Matcher, load_model, timed_decide  # noqa: E402


def score_decisions(decisions: Sequence[dict], queries: Sequence[dict]) -> dict[str, float]:
    """The bench figures for decision rows ({"id","decision","entry","suggestions",...}) against
    queries ({"id","expect"}). Every query must have a decision."""
    by_id = {d["id"]: d for d in decisions}
    n = len(queries)
    answerable = sum(1 for q in queries if q.get("expect") is not None)
    answers = correct = wrong = suggests = 0
    not_answered = hit = 0
    utility = 0.0
    for q in queries:
        d = by_id[q["id"]]
        expect = q.get("expect")
        kind = d["decision"]
        if kind == "answer":
            answers += 1
            if expect is not None and d.get("entry") == expect:
                correct += 1
                utility += 1.0
            else:
                wrong += 1
                utility -= 1.0
        elif kind == "suggest":
            suggests += 1
            if expect is None or expect in d.get("suggestions", [])[:3]:
                utility += 0.5
        elif expect is None:
            utility += 1.0
        if expect is not None and kind != "answer":
            not_answered += 1
            if kind == "suggest" and expect in d.get("suggestions", [])[:3]:
                hit += 1
    return {
        "queries": n,
        "answerable": answerable,
        "answers": answers,
        "answer_precision": correct / answers if answers else 1.0,
        "answer_recall": correct / answerable if answerable else 0.0,
        "suggest_hit": hit / not_answered if not_answered else 0.0,
        "wrong_answer_rate": wrong / n if n else 0.0,
        "suggest_rate": suggests / n if n else 0.0,
        "utility": utility / n if n else 0.0,
    }


def _decision_row(query_id: str, decision, ms: float) -> dict:
    return {
        "id": query_id,
        "decision": decision.decision,
        "entry": decision.entry,
        "suggestions": list(decision.suggestions),
        "score": round(float(decision.score), 6),
        "ms": round(ms, 4),
    }


def _build(kb_rows: Sequence[dict], model: Model) -> tuple[Matcher, float]:
    t0 = time.perf_counter()
    matcher = Matcher.build(fitting.kb_entries(kb_rows), model=model)
    return matcher, time.perf_counter() - t0


def _decide_all(matcher: Matcher, queries: Sequence[dict]) -> list[dict]:
    rows = []
    for q in queries:
        decision, ms = timed_decide(matcher, q["text"])
        rows.append(_decision_row(q["id"], decision, ms))
    return rows


def run_cv(kb_rows, queries, k: int) -> tuple[list[dict], float, list[Model]]:
    matcher, build_s = _build(kb_rows, Model())
    data = fitting.collect(matcher, queries)
    folds = fitting.group_folds(queries, data.top_entry, k)
    rows: list[dict] = []
    models = []
    for f in range(k):
        train = np.nonzero(folds != f)[0]
        held = np.nonzero(folds == f)[0]
        sub, _ = fitting.subset(data, train)
        model = fitting.fit_model(sub, [queries[i] for i in train])
        models.append(model)
        matcher.model = model  # same index; only the scorer and thresholds change
        rows.extend(_decide_all(matcher, [queries[i] for i in held]))
    order = {q["id"]: i for i, q in enumerate(queries)}
    rows.sort(key=lambda r: order[r["id"]])
    return rows, build_s, models


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description="Benchmark the question matcher")
    ap.add_argument("--kb", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--fit", help="fit knowledge base (fit first, then measure)")
    ap.add_argument("--fit-queries", help="fit queries, with --fit")
    ap.add_argument("--cv", type=int, default=0, help="K-fold grouped cross-validation instead")
    ap.add_argument("--out", help="write one decision per query (JSONL)")
    args = ap.parse_args(argv)

    kb_rows = fitting.read_jsonl(args.kb)
    queries = fitting.read_jsonl(args.queries)
    if args.cv and args.fit:
        ap.error("--cv and --fit exclude each other")
    if args.fit and not args.fit_queries:
        ap.error("--fit needs --fit-queries")

    if args.cv:
        print(f"fitting: {args.cv}-fold cross-validation inside {args.queries} (KB {args.kb})")
        rows, build_s, _ = run_cv(kb_rows, queries, args.cv)
    else:
        if args.fit:
            print(f"fitting: on {args.fit} + {args.fit_queries}, measured on {args.queries}")
            t0 = time.perf_counter()
            model = fitting.fit_from_files(args.fit, args.fit_queries)
            print(f"fit seconds: {time.perf_counter() - t0:.1f}")
        else:
            print("fitting: none, shipped model knowledge/model.json")
            model = load_model()
        matcher, build_s = _build(kb_rows, model)
        matcher.decide("预热")  # first call loads jieba's tag table; not a citizen's latency
        rows = _decide_all(matcher, queries)

    figures = score_decisions(rows, queries)
    ms = np.asarray([r["ms"] for r in rows]) if rows else np.zeros(1)
    figures.update(
        {
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()),
            "kb_entries": len(kb_rows),
            "index_build_s": build_s,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }
    )
    for key, value in figures.items():
        print(f"{key:18s} {value:.4f}" if isinstance(value, float) else f"{key:18s} {value}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return figures


if __name__ == "__main__":
    if hasattr(os, "sched_setaffinity"):  # one core, as the targets are stated
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    main()
