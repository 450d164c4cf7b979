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
import concurrent.futures
import datetime as dt
import multiprocessing
import random
import resource
import time

import asyncpg

from accounts.models import PLATFORMS
from bench.scratch import create_scratch, drop_scratch, pg_dsn

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


def _pick(rng: random.Random, mix):
    x = rng.random()
    for value, share in mix:
        x -= share
        if x < 0:
            return value
    return mix[-1][0]


# ------------------------------------------------------------------------------- loading


async def _load(url: str, n_accounts: int, n_posts: int, seed: int) -> dict:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        n_units = (n_accounts + len(PLATFORM_CODES) - 1) // len(PLATFORM_CODES) + 1
        t0 = time.perf_counter()
        units = [(1, "B1", "基准市人民政府", "city_gov", None, "/1/", False, True, True, now)]
        units += [
            (i, f"B{i}", f"基准单位{i}", "city_dept", 1, f"/1/{i}/", False, True, True, now)
            for i in range(2, n_units + 1)
        ]
        await conn.copy_records_to_table(
            "org_unit",
            records=units,
            columns=[
                "id",
                "code",
                "name",
                "kind",
                "parent_id",
                "path",
                "is_internal",
                "is_legal_entity",
                "active",
                "created_at",
            ],
        )
        accounts = []
        idle_of: dict[int, tuple[int, int] | None] = {}
        for i in range(1, n_accounts + 1):
            unit = 2 + (i - 1) // len(PLATFORM_CODES)
            platform = PLATFORM_CODES[(i - 1) % len(PLATFORM_CODES)]
            status = _pick(rng, STATUS_MIX)
            idle = _pick(rng, IDLE_MIX)
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
        for table in ("org_unit", "acc_account"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM "
                f"{table}))"
            )

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
            "loader_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    finally:
        await conn.close()


def _load_in_child(url: str, n_accounts: int, n_posts: int, seed: int) -> dict:
    return asyncio.run(_load(url, n_accounts, n_posts, seed))


# ------------------------------------------------------------------------------- measuring


async def _explain(url: str, query) -> str:
    # Tortoise builds the statement; asyncpg runs it under EXPLAIN with the same parameters.
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
        return "\n".join(r[0] for r in rows)
    finally:
        await conn.close()


async def _measure(url: str, explain: bool) -> dict:
    from tortoise import Tortoise

    from accounts import monitor
    from accounts.models import Account
    from infra.db import tortoise_config
    from infra.deps import build_deps
    from infra.settings import Settings

    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
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
        figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        if explain:
            live = Account.filter(status__in=monitor.MONITORED_STATUSES)
            q = monitor.activity_stats_query(live, today)
            figures["plan_activity"] = await _explain(url, q)
            starts = monitor.week_starts(today, 12)
            q = monitor.weekly_counts_query(live, starts, today)
            figures["plan_weekly"] = await _explain(url, q)
        return figures
    finally:
        await Tortoise.close_connections()


async def main_async(args: argparse.Namespace) -> None:
    from infra.db import migrate_db

    server = args.database_url
    name, url = await create_scratch(server, "minsheng_bench")
    try:
        t = time.perf_counter()
        await migrate_db(url)
        migrate_s = time.perf_counter() - t

        t = time.perf_counter()
        loop = asyncio.get_running_loop()
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            loaded = await loop.run_in_executor(
                pool, _load_in_child, url, args.accounts, args.posts, args.seed
            )
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
    finally:
        if args.keep:
            print(f"kept database {url}")
        else:
            await drop_scratch(server, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="postgres://… of the server")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
