"""`minsheng knowledge …`: fitting this office's matcher model from the command line."""

from __future__ import annotations

import argparse

from infra.deps import Deps
from knowledge.tuning import FIGURES, adopt_model, fit_office_model, signal_counts
from org.access import Actor


def add_commands(sub: argparse._SubParsersAction) -> None:
    kb = sub.add_parser("knowledge", help="the knowledge base's matcher")
    kb_sub = kb.add_subparsers(dest="knowledge_cmd", required=True)
    fit = kb_sub.add_parser(
        "fit", help="fit a matcher model on this office's curation and compare it (held-back data)"
    )
    fit.add_argument(
        "--adopt-if-better",
        action="store_true",
        help="adopt the candidate when it is better than the running model",
    )


def _cell(value: object, pct: bool) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value:.2%}" if pct else (f"{value:.3f}" if isinstance(value, float) else str(value))


def figures_table(figures: dict) -> list[str]:
    """Each figure on the held-back questions: running model → candidate."""
    before, after = figures.get("before") or {}, figures.get("after") or {}
    lines = [
        f"  {label}：{_cell(before.get(key), pct)} → {_cell(after.get(key), pct)}"
        for key, label, pct in FIGURES
        if key in before or key in after
    ]
    counts = "，".join(f"{label} {n}" for label, n in signal_counts(figures))
    lines.append(f"  留出问法 {figures.get('held_out', 0)} 条；所用信号：{counts or '—'}")
    return lines


async def run(args: argparse.Namespace, deps: Deps) -> int:
    actor = Actor.system("命令行")
    row = await fit_office_model(deps, actor)
    figures = row.figures or {}
    base = f"模型 #{row.base_id}" if row.base_id else "通用模型"
    print(f"候选匹配模型 #{row.id}，在留出问法上与现在运行的{base}比较（当前 → 候选）：")
    for line in figures_table(figures):
        print(line)
    if not figures.get("better"):
        print("候选模型在留出问法上不优于当前模型：不采用")
        return 0
    if args.adopt_if_better:
        await adopt_model(actor, row.id, deps)
        print(f"已采用模型 #{row.id}，各进程将在数秒内换用")
    else:
        print("候选模型更好：可在控制台「匹配模型」页采用，或加 --adopt-if-better 重新运行")
    return 0
