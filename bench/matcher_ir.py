"""Instructions the matcher executes for citizens' messages it has not met, counted by valgrind's
callgrind: a figure that does not move with the machine's load or with the CPU time its
hypervisor takes (this machine's speed moves by a third from hour to hour), for comparing two
versions of the matcher's code. Prints the count and a hash of the decisions; asserts nothing.

    python -m bench.matcher_ir [--kb ../shared/data/match-dev/kb.jsonl] [--warm 3000]
        [--messages 300] [--root DIR]

The matcher is built over the KB and decides --warm of citizen-messages.jsonl (shuffled with a
fixed seed) so that its caches are in their steady state; only then is counting switched on, for
the next --messages, each opened with a greeting (您好！) as bot_bench's cold run sends them.
--root runs the matcher of another checkout (a git worktree with its kernels built), to compare.
Needs `apt install valgrind`; a run takes a minute or two (valgrind runs Python ~50x slower).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GREETING = "您好！"


def _control(switch: str) -> None:
    """callgrind_control on this process, waited for by polling: valgrind answers it only
    while the process runs, not while it is blocked in a wait."""
    proc = subprocess.Popen(
        ["callgrind_control", "-i", switch, str(os.getpid())], stdout=subprocess.DEVNULL
    )
    while proc.poll() is None:
        time.sleep(0.05)


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(args.root))
    from knowledge import fit as fitting
    from knowledge import matcher as mm
    from knowledge.normalize import ensure_jieba

    ensure_jieba()
    kb = [json.loads(line) for line in args.kb.open(encoding="utf-8")]
    matcher = mm.Matcher.build(fitting.kb_entries(kb))
    path = DATA / "citizen-messages.jsonl"
    texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    random.Random(0).shuffle(texts)
    for text in texts[: args.warm]:
        matcher.decide(text)
    asked = [GREETING + t for t in texts[args.warm : args.warm + args.messages]]
    digest = hashlib.sha1()
    _control("on")
    decisions = [matcher.decide(text) for text in asked]
    _control("off")
    for d in decisions:
        digest.update(repr((d.decision, d.entry, d.suggestions, d.related)).encode())
    print(f"decisions {digest.hexdigest()[:12]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", type=Path, default=DATA / "match-dev" / "kb.jsonl")
    parser.add_argument("--warm", type=int, default=3000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not shutil.which("valgrind"):
        raise SystemExit("需要 valgrind（apt install valgrind）")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        run = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "bench.matcher_ir",
                "--child",
                f"--kb={args.kb.resolve()}",
                f"--warm={args.warm}",
                f"--messages={args.messages}",
                f"--root={args.root.resolve()}",
            ],
            cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "PYTHONHASHSEED": "1"},
            capture_output=True,
            text=True,
            check=True,
        )
        totals = re.search(r"^totals: (\d+)", out.read_text(), re.M)
    count = int(totals.group(1)) if totals else 0
    print(f"matcher at {args.kb.name}, {args.messages} cold citizens' messages (after {args.warm})")
    print(f"  instructions: {count:,} ({count / max(args.messages, 1):,.0f} a message)")
    print(f"  {run.stdout.strip()}; code: {args.root.resolve()}")


if __name__ == "__main__":
    main()
