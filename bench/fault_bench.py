"""The fault probe and the retry storm of tests/probes/, standalone and with larger numbers.
Prints figures (and the 1-minute load average, since a busy machine stretches every figure);
asserts nothing.

    python -m bench.fault_bench [--citizens 60] [--progress 40] [--redis-down 2]
        [--conversations 100] [--copies 4] [--skip-faults] [--skip-storm]

Each part starts its own PostgreSQL cluster (initdb under /usr/lib/postgresql/*/bin, as the
postgres user when run as root) and redis-server on free loopback ports, migrates, seeds the
demo city and runs ``minsheng serve`` (and ``minsheng worker``) on them; nothing shared is
touched. Clients call from loopback addresses of their own (127.0.x.y).

- faults: ``--citizens`` at once leave letters through the web chat, one after another;
  redis-server is killed with -9 and restarted ``--redis-down`` seconds later, then
  PostgreSQL is restarted (``pg_ctl restart -m fast``), ``--progress`` letters apart;
- storm: two serve and two worker processes; ``--conversations`` (web chat and WeChat) each
  ask a question and leave a letter, every message delivered ``--copies`` times at once over
  both servers, the confirmation tapped twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from tests.probes.harness import (
    WechatApiStub,
    fault_probe,
    load_average,
    open_stack,
    retry_storm,
    write_figures,
)


def faults(args: argparse.Namespace) -> None:
    stack = open_stack(
        servers=1,
        skip=False,
        env={
            "MINSHENG_BOT_RATE_PER_MINUTE": "100000",
            "MINSHENG_PUBLIC_STATUS_RATE_LIMIT": "10000000",
        },
    )
    try:
        print(f"stack up: {stack.phases}")
        figures = asyncio.run(
            fault_probe(
                stack,
                citizens=args.citizens,
                progress=args.progress,
                redis_down_seconds=args.redis_down,
            )
        )
    finally:
        stack.close()
    write_figures(
        "fault-bench.txt",
        f"Fault bench: redis-server kill -9 ({args.redis_down} s down), PostgreSQL restart",
        figures.lines(),
    )


def storm(args: argparse.Namespace) -> None:
    stub = WechatApiStub()
    stack = open_stack(servers=2, workers=2, skip=False, env={"MINSHENG_WECHAT_API_BASE": stub.url})
    try:
        print(f"stack up: {stack.phases}")
        figures = asyncio.run(
            retry_storm(stack, stub, conversations=args.conversations, copies=args.copies)
        )
    finally:
        stack.close()
        stub.close()
    write_figures(
        "retry-storm-bench.txt",
        f"Retry-storm bench: 2 serve + 2 worker, each message delivered {args.copies} times",
        figures.lines(),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=60)
    parser.add_argument("--progress", type=int, default=40, help="letters between faults")
    parser.add_argument("--redis-down", type=float, default=2.0)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--skip-faults", action="store_true")
    parser.add_argument("--skip-storm", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average (1 min) at start {load_average()}")
    if not args.skip_faults:
        faults(args)
    if not args.skip_storm:
        storm(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
