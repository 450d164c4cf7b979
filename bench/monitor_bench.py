"""The activity monitor at full size: 10,000 accounts, 2,000,000 posts, on PostgreSQL.

    python -m bench.monitor_bench --database-url postgres://user@host:5432/postgres \
        [--accounts 10000 --posts 2000000 --explain --keep]

Creates a fresh database on that server, migrates it, bulk-loads units, accounts and posts with
COPY (in a child process, so the figures below are the monitor's own memory), ANALYZEs, then
times the daily job and the 12-week table and prints the figures. Drops the database at the end
unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time

import asyncpg

from accounts.models import PLATFORMS
from bench import scratch
from bench.common import explain_plan, pick, rss_mb

DAY = 86400.0
PLATFORM_CODES = list(PLATFORMS)
# Account status mix: mostly running, a few in every other state.
STATUS_MIX = [
    ("active", 0.92),
    ("changing", 0.02),
    ("suspended", 0.02),
    ("closing", 0.01),
    ("applying", 0.01),
    ("closed", 0.02),
]
# Days since the last post, by share of accounts: most post weekly, some lapse, a few are
# zombies, and a few never posted at all (None).
IDLE_MIX = [((0, 6), 0.65), ((7, 13), 0.12), ((14, 89), 0.13), ((90, 400), 0.07), (None, 0.03)]


# ------------------------------------------------------------------------------- loading


async def _load(url: str, n_accounts: int, n_posts: int, seed: int) -> dict:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(scratch.pg_dsn(url))
    try:
        n_units = (n_accounts + len(PLATFORM_CODES) - 1) // len(PLATFORM_CODES) + 1
        t0 = time.perf_counter()
        await scratch.copy_city(conn, range(2, n_units + 1), now)
        accounts = []
        idle_of: dict[int, tuple[int, int] | None] = {}
        for i in range(1, n_accounts + 1):
            unit = 2 + (i - 1) // len(PLATFORM_CODES)
            platform = PLATFORM_CODES[(i - 1) % len(PLATFORM_CODES)]
            status = pick(rng, STATUS_MIX)
            idle = pick(rng, IDLE_MIX)
            idle_of[i] = idle
            # Never-posted accounts are recent ones; the rest opened one to six years ago.
            opened_days = rng.randint(0, 120) if idle is None else rng.randint(400, 2200)
            opened = (now - dt.timedelta(days=opened_days)).date()
            accounts.append(
                (
                    i,
                    f"b{i:06d}",
                    unit,
                    platform,
                    f"基准账号{i}",
                    "",
                    "",
                    status,
                    opened,
                    None,
                    None if status == "closed" else f"{unit}:{platform}",
                    "",
                    now,
                    now,
                )
            )
        await conn.copy_records_to_table(
            "acc_account",
            records=accounts,
            columns=[
                "id",
                "code",
                "unit_id",
                "platform",
                "name",
                "handle",
                "certified_subject",
                "status",
                "opened_on",
                "responsible_id",
                "live_slot",
                "credentials",
                "created_at",
                "updated_at",
            ],
        )
        await scratch.reset_ids(conn, "org_unit", "acc_account")

        # Posts: each posting account gets a share of n_posts spread over two years before its
        # last post. They are written in time order, as a real table fills, so one account's
        # posts are scattered over the whole table rather than stored together.
        posting = [i for i, idle in idle_of.items() if idle is not None]
        weights = [rng.uniform(0.2, 1.8) for _ in posting]
        scale = n_posts / sum(weights)
        now_ts = now.timestamp()
        stamps: list[tuple[float, int]] = []
        for account_id, w in zip(posting, weights, strict=True):
            lo, hi = idle_of[account_id]
            last = now_ts - rng.randint(lo, hi) * DAY - rng.random() * 0.9 * DAY
            stamps.append((last, account_id))
            for _ in range(max(int(w * scale) - 1, 0)):
                stamps.append((last - rng.random() * 730 * DAY, account_id))
        stamps.sort()
        gen_seconds = time.perf_counter() - t0

        utc = dt.UTC

        def records():
            for ts, account_id in stamps:
                at = dt.datetime.fromtimestamp(ts, utc)
                yield (
                    account_id, "基准动态", "", "", at, False, "", "", "ok", "[]", None, at, "", "",
                    False,
                )  # fmt: skip

        t1 = time.perf_counter()
        await conn.copy_records_to_table(
            "acc_post",
            records=records(),
            columns=[
                "account_id",
                "title",
                "summary",
                "url",
                "published_at",
                "is_repost",
                "source_name",
                "source_url",
                "review_status",
                "findings",
                "external_id",
                "created_at",
                "confirm_note",
                "removal_note",
                "serious",
            ],
        )
        copy_seconds = time.perf_counter() - t1
        t2 = time.perf_counter()
        await conn.execute("ANALYZE")
        analyze_seconds = time.perf_counter() - t2
        return {
            "units": n_units,
            "accounts": n_accounts,
            "posts": len(stamps),
            "generate_s": gen_seconds,
            "copy_s": copy_seconds,
            "analyze_s": analyze_seconds,
            "loader_peak_rss_mb": rss_mb(),
        }
    finally:
        await conn.close()


def _load_in_child(url: str, n_accounts: int, n_posts: int, seed: int) -> dict:
    return asyncio.run(_load(url, n_accounts, n_posts, seed))


# ------------------------------------------------------------------------------- measuring


async def _measure(url: str, explain: bool) -> dict:

    from accounts import monitor
    from accounts.models import Account
    from infra.deps import build_deps
    from infra.settings import Settings

    async with scratch.tortoise_on(url):
        deps = build_deps(Settings(database_url=url))
        today = deps.clock.today()
        figures: dict = {}

        t = time.perf_counter()
        activities = await monitor.account_activity(deps)
        figures["activity_s"] = time.perf_counter() - t
        states = dict.fromkeys(monitor.STATES, 0)
        for a in activities:
            states[a.state] += 1
        figures["states"] = states

        t = time.perf_counter()
        figures["recorded"] = await monitor.record_daily_activity(deps)
        figures["daily_first_s"] = time.perf_counter() - t
        t = time.perf_counter()
        await monitor.record_daily_activity(deps)
        figures["daily_rerun_s"] = time.perf_counter() - t

        ids = [a.account_id for a in activities]
        t = time.perf_counter()
        table = await monitor.weekly_compliance(deps, ids)
        figures["weekly_s"] = time.perf_counter() - t
        figures["weekly_rows"] = len(table.rows)
        figures["weeks_missed"] = sum(r.weeks_missed for r in table.rows)
        figures["peak_rss_mb"] = rss_mb()

        if explain:
            live = Account.filter(status__in=monitor.MONITORED_STATUSES)
            q = monitor.activity_stats_query(live, today)
            figures["plan_activity"] = await explain_plan(url, q)
            starts = monitor.week_starts(today, 12)
            q = monitor.weekly_counts_query(live, starts, today)
            figures["plan_weekly"] = await explain_plan(url, q)
        return figures


async def main_async(args: argparse.Namespace) -> None:
    from infra.db import migrate_db

    async with scratch.database(args, "minsheng_bench") as (name, url):
        t = time.perf_counter()
        await migrate_db(url)
        migrate_s = time.perf_counter() - t

        t = time.perf_counter()
        loaded = await scratch.in_child(_load_in_child, url, args.accounts, args.posts, args.seed)
        load_s = time.perf_counter() - t
        print(f"database      {name}")
        print(f"migrate       {migrate_s:6.2f} s")
        print(
            f"load          {load_s:6.2f} s  ({loaded['units']} units, {loaded['accounts']} "
            f"accounts, {loaded['posts']} posts: generate {loaded['generate_s']:.1f} s, "
            f"COPY {loaded['copy_s']:.1f} s, ANALYZE {loaded['analyze_s']:.1f} s; "
            f"loader peak RSS {loaded['loader_peak_rss_mb']:.0f} MB)"
        )

        f = await _measure(url, args.explain)
        print(f"activity      {f['activity_s']:6.2f} s  (account_activity over all accounts)")
        print(
            f"monitor       {f['daily_first_s']:6.2f} s  (record_daily_activity, "
            f"{f['recorded']} snapshots; rerun same day {f['daily_rerun_s']:.2f} s)"
        )
        print(
            f"weekly        {f['weekly_s']:6.2f} s  (weekly_compliance, {f['weekly_rows']} "
            f"accounts x 12 weeks, {f['weeks_missed']} weeks missed)"
        )
        print("states        " + "  ".join(f"{k} {v}" for k, v in f["states"].items()))
        print(f"peak RSS      {f['peak_rss_mb']:6.0f} MB  (this process, loading excluded)")
        if args.explain:
            print("\n-- plan: activity stats\n" + f["plan_activity"])
            print("\n-- plan: weekly counts\n" + f["plan_weekly"])


def main() -> None:
    parser = scratch.parser(__doc__, {"accounts": 10_000, "posts": 2_000_000}, explain=True)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
