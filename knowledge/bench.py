"""Benchmark of the question matcher.

    python -m knowledge.bench --kb KB.jsonl --queries QUERIES.jsonl
        [--fit FIT_KB.jsonl --fit-queries FIT_QUERIES.jsonl | --cv K] [--out DECISIONS.jsonl]
    python -m knowledge.bench --sets match-dev=DIR gov=DIR small=DIR [--cv K] [--no-peers]

With --sets the sets are fitted together, as the shipped model is, by grouped K-fold CV (a set
whose queries all belong to another set is only decided, by the folds that held them out), and
one table prints set x method: ours beside rapidfuzz's best match and BM25's, whose two
thresholds are fitted on the same folds. The load average is printed before and after.

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
from knowledge.fit import score_decisions  # noqa: E402
from knowledge.match_model import Model  # noqa: E402
from knowledge.matcher import Matcher, load_model, timed_decide  # noqa: E402
from knowledge.normalize import ensure_jieba  # noqa: E402


def _decision_row(query_id: str, decision, ms: float) -> dict:
    return {
        "id": query_id,
        "decision": decision.decision,
        "entry": decision.entry,
        "suggestions": list(decision.suggestions),
        "related": list(decision.related),
        "score": round(float(decision.score), 6),
        "ms": round(ms, 4),
    }


def _build(kb_rows: Sequence[dict], model: Model) -> tuple[Matcher, float]:
    matcher, wall, _ = _timed_build(kb_rows, model)
    return matcher, wall


def _timed_build(kb_rows: Sequence[dict], model: Model) -> tuple[Matcher, float, float]:
    """The matcher, the build's wall seconds and its CPU seconds (which another process's load
    on the machine moves less than the wall time)."""
    entries = fitting.kb_entries(kb_rows)
    t0 = time.perf_counter()
    ensure_jieba()  # jieba's dictionary is loaded once per process, not per build
    if time.perf_counter() - t0 > 0.05:
        print(f"jieba's dictionary loaded in {time.perf_counter() - t0:.2f} s (not in the build)")
    t0, c0 = time.perf_counter(), time.process_time()
    matcher = Matcher.build(entries, model=model)
    return matcher, time.perf_counter() - t0, time.process_time() - c0


def _decide_all(matcher: Matcher, queries: Sequence[dict]) -> list[dict]:
    rows = []
    for q in queries:
        decision, ms = timed_decide(matcher, q["text"])
        rows.append(_decision_row(q["id"], decision, ms))
    return rows


def run_cv(kb_rows, queries, k: int) -> tuple[list[dict], float, list[Model]]:
    """One set: K-fold grouped cross-validation inside it."""
    rows, build_s, models = run_cv_sets([fitting.DataSet("set", kb_rows, queries)], k)
    return rows["set"], build_s, models


def _evaluation_only(sets: Sequence[fitting.DataSet]) -> set[str]:
    """Sets whose every query is also a query of another set (a small office cut out of a large
    one): they are decided by the folds that held those queries out, never fitted on."""
    out = set()
    for ds in sets:
        others = {q["id"] for o in sets if o is not ds and o.name not in out for q in o.queries}
        if ds.queries and all(q["id"] in others for q in ds.queries):
            out.add(ds.name)
    return out


def run_cv_sets(
    sets: Sequence[fitting.DataSet], k: int
) -> tuple[dict[str, list[dict]], float, list[Model]]:
    """K-fold grouped cross-validation over several sets fitted together, as the shipped model
    is: fold f of every set is decided by one model fitted on the other folds of all sets.
    Entry ids name the same entry across sets, so an entry's queries never sit on both sides."""
    derived = _evaluation_only(sets)
    fit_sets = [ds for ds in sets if ds.name not in derived]
    base = fitting.base_model(fit_sets)
    data, queries = fitting.collect_sets(fit_sets, base)
    folds = fitting.group_folds(queries, data.top_entry, k)
    fold_of = {(q["set"], q["id"]): int(f) for q, f in zip(queries, folds, strict=True)}
    by_id = {q["id"]: int(f) for q, f in zip(queries, folds, strict=True)}
    matchers, build_s = {}, 0.0
    for ds in sets:
        matchers[ds.name], took = _build(ds.kb, base)
        build_s = max(build_s, took)
    rows: dict[str, list[dict]] = {ds.name: [] for ds in sets}
    models = []
    for f in range(k):
        train = np.nonzero(folds != f)[0]
        sub, _ = fitting.subset(data, train)
        model = fitting.fit_model(sub, [queries[i] for i in train], base=base)
        models.append(model)
        for ds in sets:
            matcher = matchers[ds.name]
            matcher.model = model  # same index; only the scorer and thresholds change
            held = [
                q for q in ds.queries
                if (by_id[q["id"]] if ds.name in derived else fold_of[(ds.name, q["id"])]) == f
            ]  # fmt: skip
            rows[ds.name].extend(_decide_all(matcher, held))
    for ds in sets:
        order = {q["id"]: i for i, q in enumerate(ds.queries)}
        rows[ds.name].sort(key=lambda r: order[r["id"]])
    return rows, build_s, models


# -- peers: the best match by rapidfuzz and by BM25, each with two fitted thresholds -----------


class Peer:
    """Answer the best-scoring entry above one threshold, suggest the top three above another."""

    name = "peer"

    def __init__(self, kb_rows: Sequence[dict]) -> None:
        self.entries = fitting.kb_entries(kb_rows)

    def ranked(self, text: str) -> list[tuple[str, float]]:
        raise NotImplementedError

    def decide(self, ranked: list[tuple[str, float]], t_answer: float, t_suggest: float) -> dict:
        top = ranked[0][1] if ranked else 0.0
        if top >= t_answer:
            return {"decision": "answer", "entry": ranked[0][0], "suggestions": []}
        if top >= t_suggest:
            return {"decision": "suggest", "entry": None,
                    "suggestions": [e for e, _ in ranked[:3]]}  # fmt: skip
        return {"decision": "none", "entry": None, "suggestions": []}


class FuzzPeer(Peer):
    name = "rapidfuzz"

    def __init__(self, kb_rows: Sequence[dict]) -> None:
        super().__init__(kb_rows)
        from knowledge.normalize import normalize

        self._norm = normalize
        self.owner = [e for e, qs, _ in self.entries for q in qs if q]
        self.texts = [normalize(q) for _, qs, _ in self.entries for q in qs if q]

    def ranked(self, text: str) -> list[tuple[str, float]]:
        from rapidfuzz import fuzz, process

        hits = process.extract(self._norm(text), self.texts, scorer=fuzz.WRatio, limit=12)
        seen: dict[str, float] = {}
        for _, score, i in hits:
            seen.setdefault(self.owner[i], score / 100.0)
        return list(seen.items())


class BM25Peer(Peer):
    name = "bm25"

    def __init__(self, kb_rows: Sequence[dict]) -> None:
        super().__init__(kb_rows)
        self.matcher = Matcher.build(self.entries, model=Model())

    def ranked(self, text: str) -> list[tuple[str, float]]:
        from knowledge.match_index import index_terms
        from knowledge.normalize import words

        norm = self.matcher._prepare_text(text)
        if not norm:
            return []
        top, scores, best = self.matcher.index.search(index_terms(norm, words(norm)), 12)
        seen: dict[str, float] = {}
        for s, sc in zip(top, scores, strict=True):
            seen.setdefault(self.matcher.slots[int(s)].entry, float(sc) / best)
        return list(seen.items())


def _fit_peer_thresholds(peer_rows, queries_by_set) -> tuple[float, float]:
    """Thresholds maximising the sets' mean utility (the same utility as the bench's)."""
    arrays = []
    for name, rs in peer_rows.items():
        expects = [q.get("expect") for q in queries_by_set[name]]
        top = np.asarray([r[0][1] if r else 0.0 for r in rs])
        right = np.asarray([bool(r) and r[0][0] == e for r, e in zip(rs, expects, strict=True)])
        in3 = np.asarray(
            [e is not None and e in [x for x, _ in r[:3]] for r, e in zip(rs, expects, strict=True)]
        )
        noans = np.asarray([e is None for e in expects])
        arrays.append((top, np.where(right, 1.0, -1.0), np.where(noans | in3, 0.5, 0.0),
                       np.where(noans, 1.0, 0.0)))  # fmt: skip
    grid = np.unique(np.round(np.concatenate([a[0] for a in arrays]), 3))
    grid = np.quantile(grid, np.linspace(0, 1, 80)) if len(grid) > 80 else grid
    best = (-9.0, 1.01, 1.01)
    for ta in [*grid, 1.01]:
        for ts in [*grid, 1.01]:
            if ts > ta:
                continue
            u = float(np.mean([
                np.where(top >= ta, ans_u, np.where(top >= ts, sug_u, none_u)).mean()
                for top, ans_u, sug_u, none_u in arrays
            ]))  # fmt: skip
            if u > best[0]:
                best = (u, float(ta), float(ts))
    return best[1], best[2]


def run_peer_cv(cls, sets: Sequence[fitting.DataSet], k: int) -> dict[str, list[dict]]:
    """A peer's thresholds fitted on the other folds, like ours (folds by the same grouping)."""
    derived = _evaluation_only(sets)
    ranked: dict[str, list] = {}
    ms: dict[str, list[float]] = {}
    for ds in sets:
        peer = cls(ds.kb)
        ranked[ds.name], ms[ds.name] = [], []
        for q in ds.queries:
            t0 = time.perf_counter()
            ranked[ds.name].append(peer.ranked(q["text"]))
            ms[ds.name].append((time.perf_counter() - t0) * 1000.0)
    fit_sets = [ds for ds in sets if ds.name not in derived]
    # the same folds as run_cv_sets: grouped by expected entry and top-retrieved entry
    all_q = [{**q, "set": ds.name} for ds in fit_sets for q in ds.queries]
    tops = [r[0][0] if r else None for ds in fit_sets for r in ranked[ds.name]]
    folds = fitting.group_folds(all_q, tops, k)
    fold_id = {q["id"]: int(f) for q, f in zip(all_q, folds, strict=True)}
    fold_of = {(q["set"], q["id"]): int(f) for q, f in zip(all_q, folds, strict=True)}
    out: dict[str, list[dict]] = {ds.name: [None] * len(ds.queries) for ds in sets}
    for f in range(k):
        train = {ds.name: [] for ds in fit_sets}
        train_q = {ds.name: [] for ds in fit_sets}
        for ds in fit_sets:
            for q, r in zip(ds.queries, ranked[ds.name], strict=True):
                if fold_of[(ds.name, q["id"])] != f:
                    train[ds.name].append(r)
                    train_q[ds.name].append(q)
        ta, ts = _fit_peer_thresholds(train, train_q)
        for ds in sets:
            for i, q in enumerate(ds.queries):
                g = fold_id[q["id"]] if ds.name in derived else fold_of[(ds.name, q["id"])]
                if g == f:
                    d = Peer.decide(None, ranked[ds.name][i], ta, ts)  # type: ignore[arg-type]
                    out[ds.name][i] = {"id": q["id"], **d, "score": 0.0, "ms": ms[ds.name][i]}
    return out


def _load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """results[method][set] = figures -> one text table, a row per set and method."""
    cols = ["utility", "answer_precision", "answer_recall", "wrong_answer_rate", "suggest_hit",
            "p50_ms", "p99_ms"]  # fmt: skip
    heads = ["set", "method", "utility", "precision", "recall", "wrong", "suggest_hit", "p50 ms",
             "p99 ms"]  # fmt: skip
    lines = ["  ".join(f"{h:>11s}" for h in heads)]
    sets = list(next(iter(results.values())))
    for s in sets:
        for method, per_set in results.items():
            fig = per_set[s]
            vals = [f"{fig[c]:11.4f}" if "ms" not in c else f"{fig[c]:11.2f}" for c in cols]
            lines.append("  ".join([f"{s:>11s}", f"{method:>11s}", *vals]))
    return "\n".join(lines)


def _figures(rows: Sequence[dict], queries: Sequence[dict]) -> dict[str, float]:
    figures = score_decisions(rows, queries)
    ms = np.asarray([r["ms"] for r in rows]) if rows else np.zeros(1)
    figures["p50_ms"] = float(np.percentile(ms, 50))
    figures["p99_ms"] = float(np.percentile(ms, 99))
    return figures


def run_sets(specs: Sequence[str], k: int, peers: bool = True) -> dict:
    sets = [fitting.load_set(s) for s in specs]
    print(f"before: {_load_average()}")
    t0 = time.perf_counter()
    ours, build_s, _ = run_cv_sets(sets, k)
    results = {"minsheng": {ds.name: _figures(ours[ds.name], ds.queries) for ds in sets}}
    names = ", ".join(ds.name for ds in sets)
    took = time.perf_counter() - t0
    print(f"minsheng: {k}-fold grouped CV over {names} ({took:.0f} s, index {build_s:.1f} s)")
    if peers:
        for cls in (FuzzPeer, BM25Peer):
            rows = run_peer_cv(cls, sets, k)
            results[cls.name] = {ds.name: _figures(rows[ds.name], ds.queries) for ds in sets}
    print(table(results))
    print(f"after: {_load_average()}")
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description="Benchmark the question matcher")
    ap.add_argument("--sets", nargs="+", metavar="NAME=DIR",
                    help="several sets (DIR holds kb.jsonl and queries.jsonl), fitted together "
                    "by grouped CV (--cv, default 5) and printed as one table")  # fmt: skip
    ap.add_argument("--no-peers", action="store_true", help="with --sets: skip the peers")
    ap.add_argument("--kb")
    ap.add_argument("--queries")
    ap.add_argument("--fit", help="fit knowledge base (fit first, then measure)")
    ap.add_argument("--fit-queries", help="fit queries, with --fit")
    ap.add_argument("--cv", type=int, default=0, help="K-fold grouped cross-validation instead")
    ap.add_argument("--out", help="write one decision per query (JSONL)")
    ap.add_argument(
        "--heads",
        choices=("logistic", "trees"),
        default="trees",
        help="query-level heads of the models fitted here (as fit.py --heads)",
    )
    ap.add_argument(
        "--leave-out",
        action="append",
        default=[],
        metavar="NAME",
        help="as fit.py --leave-out (default: gov; none for no set)",
    )
    args = ap.parse_args(argv)
    fitting.TREE_HEADS = args.heads == "trees"
    if args.leave_out:
        fitting.LEAVE_OUT.clear()
        fitting.LEAVE_OUT.update(n for n in args.leave_out if n != "none")
    if args.sets:
        return run_sets(args.sets, args.cv or 5, peers=not args.no_peers)
    if not (args.kb and args.queries):
        ap.error("give --sets, or --kb and --queries")

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
            fit_set = fitting.DataSet(
                "fit", fitting.read_jsonl(args.fit), fitting.read_jsonl(args.fit_queries)
            )
            model = fitting.fit_sets([fit_set])
            print(f"fit seconds: {time.perf_counter() - t0:.1f}")
        else:
            print("fitting: none, shipped model knowledge/model.json")
            model = load_model()
        load_before = _load_average()
        matcher, build_s, build_cpu_s = _timed_build(kb_rows, model)
        build_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        load_built = _load_average()
        matcher.decide("预热")  # first call loads jieba's tag table; not a citizen's latency
        c0 = time.process_time()
        rows = _decide_all(matcher, queries)
        decide_cpu_s = time.process_time() - c0

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
    if not args.cv:
        # the headline of a build, with the machine's load beside each figure (the index is
        # built on one core; another process's work moves wall seconds more than CPU seconds)
        print(
            f"index: {len(kb_rows)} entries built in {build_s:.2f} s wall, "
            f"{build_cpu_s:.2f} s CPU; peak RSS {build_rss:.0f} MiB after the build "
            f"({load_before} before, {load_built} after)"
        )
        print(
            f"queries: {len(rows)} p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
            f"{decide_cpu_s:.1f} s CPU; peak RSS {figures['peak_rss_mb']:.0f} MiB "
            f"({_load_average()})"
        )
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
