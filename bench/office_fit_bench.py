"""Bench of an office's own fit (knowledge/office_fit.py) at the size the targets name.

    .venv/bin/python -m bench.office_fit_bench [--signals 30000]

The knowledge base is match-dev's 10,072 entries; the signals are its citizens' questions as an
office would have them: each answerable question as a similar question, as one staff added from
the unanswered list and as a 已解决 feedback, unanswerable questions as 未解决 feedback on the
entry they were wrongly given, the knowledge base's own similar questions (match-dev has none),
and, up to --signals, repeated 已解决 feedback (many citizens ask the same question). Prints the
fit's seconds and the process's peak RSS with the load average, and the before / after figures on
held-back data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time
from pathlib import Path

from knowledge.fit import kb_entries, read_jsonl
from knowledge.matcher import load_model
from knowledge.office_fit import Signal, fit_office

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "match-dev"


def signals_of(queries: list[dict], entries: list, n: int) -> list[Signal]:
    rng = random.Random(7)
    ids = [e for e, _, _ in entries]
    out: list[Signal] = []
    answerable = [q for q in queries if q["expect"]]
    for kind in ("similar", "added", "helpful"):
        out += [Signal(q["text"], q["expect"], True, kind) for q in answerable]
    out += [Signal(q["text"], rng.choice(ids), False, "unhelpful")
            for q in queries if not q["expect"]]  # fmt: skip
    # and the similar questions editors entered in the knowledge base itself
    out += [Signal(q, e, True, "similar") for e, questions, _ in entries for q in questions[1:]]
    # many citizens ask the same thing: the rest are repeated 已解决 on answerable questions
    while answerable and len(out) < n:
        q = rng.choice(answerable)
        out.append(Signal(q["text"], q["expect"], True, "helpful"))
    rng.shuffle(out)
    return out[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--signals", type=int, default=30_000)
    args = ap.parse_args()
    entries = kb_entries(read_jsonl(DATA / "kb.jsonl"))
    queries = read_jsonl(DATA / "queries.jsonl")
    signals = signals_of(queries, entries, args.signals)
    print(f"before: load average {os.getloadavg()[0]:.2f} (1 min)")
    t0 = time.perf_counter()
    fit = fit_office(entries, signals, load_model())
    took = time.perf_counter() - t0
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"entries {len(entries)}, signals {len(signals)}: fit {took:.1f} s, "
        f"peak RSS {kib / 1024:.0f} MiB = {kib * 1024 / 1e6:.0f} MB"
    )
    print(f"after: load average {os.getloadavg()[0]:.2f} (1 min)")
    print(json.dumps(fit.summary(), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
