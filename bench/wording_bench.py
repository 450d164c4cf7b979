"""False alarms of the 错敏词 check on real government answers.

    .venv/bin/python -m bench.wording_bench [--examples 5]

Runs ``publishing.wording.check_wording`` with the built-in starter set (what a new database is
seeded with, ``publishing.wording.STARTER_RULES``) and the demo city's leaders, without a
database, over the 2,080 answers of ../shared/data/gov-qa.jsonl and prints, per list, how many
answers raise a finding and how many findings, the rules that fired and a few examples to
inspect, and the time taken.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

from publishing.wording import DEMO_LEADERS, KINDS, STARTER_RULES, check_wording

GOV_QA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gov-qa.jsonl"
RULES = [*STARTER_RULES, *DEMO_LEADERS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=GOV_QA)
    parser.add_argument("--examples", type=int, default=5, help="examples printed per rule")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]

    check_wording("", "预热", RULES)  # OpenCC loads once, outside the timing
    started = time.perf_counter()
    results = [(row, check_wording(row["question"], row["answer"], RULES)) for row in rows]
    elapsed = time.perf_counter() - started

    answers: dict[str, set[str]] = defaultdict(set)
    findings_of: Counter[str] = Counter()
    per_rule: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row, findings in results:
        for f in findings:
            name = f.kind
            answers[name].add(row["id"])
            findings_of[name] += 1
            per_rule[(name, f.pattern)] += 1
            examples[(name, f.pattern)].append(f"{row['id']} [{f.found}] {f.evidence}")
    flagged = {row["id"] for row, findings in results if findings}

    n = len(rows)
    print(f"{n} answers, {elapsed:.2f} s ({elapsed / n * 1000:.2f} ms per answer)")
    for name, label in KINDS.items():
        share = len(answers[name]) / n
        print(
            f"\n{name} ({label}): {len(answers[name])} answers ({share:.1%}), "
            f"{findings_of[name]} findings"
        )
        for (lst, pattern), count in per_rule.most_common():
            if lst != name:
                continue
            print(f"  {count:4d}  {pattern[:60]}")
            for line in examples[(lst, pattern)][: args.examples]:
                print(f"        {line}")
    total = sum(findings_of.values())
    print(f"\nall lists: {len(flagged)} answers ({len(flagged) / n:.1%}), {total} findings")


if __name__ == "__main__":
    main()
