"""Publishing at size (issue 14): 10,000 items due at the same moment across 2,000 Telegram
channels, published by two worker processes on PostgreSQL; then the feed job's figure.

    python -m bench.publish_bench [--database-url postgres://…/postgres] [--items 10000
        --accounts 2000 --workers 2 --latency 0.1 --tick 5 --batch 200 --concurrency N
        --profile DIR --keep --skip-feeds]

The database server defaults to $MINSHENG_BENCH_DATABASE_URL, else $TEST_DATABASE_URL; a fresh
database is created beside the one named, migrated, and dropped afterwards (unless --keep).

- Data, bulk-loaded with COPY: one unit per channel under a city government (the register allows
  one live Telegram account per unit), an editor in each, and one Telegram channel account each
  with its own bot token; then ``--items`` drafts, approved and scheduled, each to one channel
  (items / accounts per channel), one ``Publication`` row each, all due at the same instant a
  few seconds ahead. Every fifth draft is a repost (source line and link).
- The platform: a fake Telegram Bot API (aiohttp) in a child process, answering sendMessage with
  the real JSON shape after ``--latency`` seconds (standing in for the network), recording every
  (chat_id, text) so duplicates are counted where citizens would see them.
- The workers: ``--workers`` processes (forked from one that imported the product once, with
  the publishers' modules loaded as in a worker that has published before; each channel's Bot is
  still made on its first item), each opening the database as ``minsheng worker`` does
  (``open_db`` with the worker's timeouts, ``quart_app.compose``) and calling
  ``publishing.runner.publish_due`` every ``--tick`` seconds (the worker's tick is 5 s) until the
  bench sees every row settled. ``--concurrency`` overrides the runner's rows in flight.

Prints the seconds until all are published, duplicates at the platform and among posts (must be
0), the delay of each publication after its due time (p50 / p99 / max; target p99 ≤ 60 s), each
worker's count, CPU seconds and recording transactions, the fake platform's and PostgreSQL's CPU,
and the 1-minute load average before, during (highest seen) and after, since a busy machine
stretches every figure. Then runs ``bench.feeds_bench`` (200 feeds of 50 items; target ≤ 30 s).
``--profile DIR`` samples each worker with py-spy (collapsed stacks). Asserts nothing;
tests/publishing/test_publish_bench.py runs a small one and checks its counts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import asyncpg

from bench.common import Quiet, free_port, load, percentile, wait_until_answering
from bench.scratch import copy_staff, copy_units, create_scratch, drop_scratch, pg_dsn, reset_ids

PRELOAD = ["quart_app", "adapters.telegram_publish", "publishing.runner", "aiohttp.web"]
SECRET = "publish-bench-secret"  # the derived credentials key, the same in every process
BODY = (
    "为进一步方便群众办事，{n}号通知所涉事项自即日起可在政务服务网和“清源办”小程序办理，"
    "申请人无需再到窗口提交纸质材料。\n\n"
    "办理时间为工作日上午9:00至12:00、下午1:30至5:30，节假日另行通知。"
    "如有疑问，请拨打12345政务服务便民热线咨询。\n\n"
    "**注意**：请通过官方渠道办理，谨防受骗。"
)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (Linux /proc), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends_of(database: str) -> list[int]:
    """The PostgreSQL server processes serving ``database`` (visible when on this machine)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("postgres: ") and f" {database} " in cmd:
                pids.append(int(entry))
    return pids


# ------------------------------------------------------------------------ the fake platform


def serve_platform(port: int, latency: float) -> None:
    """The Bot API's sendMessage for any bot and channel; GET /_recorded returns what came."""
    from aiohttp import web

    recorded: list[tuple[str, str, float]] = []
    next_id: Counter[str] = Counter()

    async def call(request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        form = await request.post()
        if latency:
            await asyncio.sleep(latency)
        if method != "sendmessage":
            return web.json_response(
                {"ok": False, "error_code": 400, "description": f"Bad Request: {method}"},
                status=400,
            )
        chat, text = str(form.get("chat_id", "")), str(form.get("text", ""))
        recorded.append((chat, text, time.time()))
        next_id[chat] += 1
        username = chat.lstrip("@")
        number = -1_001_000_000_000 - (abs(hash(username)) % 1_000_000)
        message = {
            "message_id": next_id[chat],
            "date": int(time.time()),
            "chat": {"id": number, "type": "channel", "title": username, "username": username},
            "text": text,
        }
        return web.json_response({"ok": True, "result": message})

    async def dump(request: web.Request) -> web.Response:
        return web.json_response(recorded)

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_get("/_recorded", dump)
    app.router.add_post("/bot{token}/{method}", call)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096)


async def recorded_at(port: int) -> list[tuple[str, str, float]]:
    import httpx

    async with httpx.AsyncClient(timeout=60) as client:
        r = await client.get(f"http://127.0.0.1:{port}/_recorded")
        r.raise_for_status()
        return [tuple(x) for x in r.json()]


# ------------------------------------------------------------------------ the workers


def run_worker(n: int, cfg: dict[str, Any], ready: Any, start: Any, stop: Any, out: Any) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, format=f"worker {n} %(levelname)s %(message)s")
    asyncio.run(_work(n, cfg, ready, start, stop, out))


async def _work(n: int, cfg: dict[str, Any], ready: Any, start: Any, stop: Any, out: Any) -> None:
    from adapters.publishing import PublishEnv, PublishTarget, make_publishers, publisher_for
    from infra.db import close_db, open_db
    from infra.deps import build_deps
    from infra.settings import Settings
    from publishing import runner
    from publishing.port import set_publishers
    from quart_app import compose

    settings = Settings(
        database_url=cfg["url"],
        redis_url=cfg["redis_url"],
        telegram_api_base=cfg["api_base"],
        secret_key=SECRET,
        credentials_key="",
        env="development",
    )
    if cfg["concurrency"]:
        runner.CONCURRENCY = cfg["concurrency"]  # an experiment's value, not the product's
    # Instrumentation: how many published rows each recording transaction took.
    groups: list[int] = []
    record = runner._record_published

    async def counted(deps: Any, done: list, worker: str) -> None:
        groups.append(len(done))
        await record(deps, done, worker)

    runner._record_published = counted
    await open_db(settings, command_timeout=settings.worker_command_timeout_seconds)
    name = f"bench-w{n}:{os.getpid()}"
    done = calls = 0
    deps = compose(build_deps(settings, sender=Quiet()))
    # compose's own publishers, but with an environment this process can close at the end.
    env = PublishEnv(redis=deps.redis, telegram_api_base=cfg["api_base"])
    set_publishers(deps, make_publishers(env))
    # The publishers' modules (aiogram: seconds of imports) as a worker that has published
    # before has them; each channel's Bot is still made on its first item, as in production.
    publisher_for(PublishTarget("manual", "warm-up"), env)
    try:
        ready.put((n, os.getpid()))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, start.wait)
        cpu = time.process_time()
        while not stop.is_set():
            got = await runner.publish_due(deps, worker=name, batch=cfg["batch"])
            done, calls = done + got, calls + 1
            if not got:
                await asyncio.sleep(cfg["tick"])
        cpu = time.process_time() - cpu
        out.put({"worker": name, "published": done, "calls": calls, "cpu": cpu, "groups": groups})
    finally:
        await env.aclose()
        await close_db()


# ------------------------------------------------------------------------ the data


async def seed_accounts(url: str, n_accounts: int) -> dict[str, Any]:
    """The city, one unit with an editor and a Telegram channel per account; ids from 1."""
    from infra.crypto import encrypt_json
    from infra.settings import Settings

    settings = Settings(database_url=url, secret_key=SECRET, credentials_key="")
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        units = [(1, "PB", "基准市人民政府", "city_gov", None, "/1/", False, True, True, now)]
        units += [
            (
                i + 1,
                f"PB{i}",
                f"基准单位{i}",
                "city_dept",
                1,
                f"/1/{i + 1}/",
                False,
                True,
                True,
                now,
            )
            for i in range(1, n_accounts + 1)
        ]
        await copy_units(conn, units)
        staff = [
            (i, f"pbe{i}", f"编辑{i}", f"139{i:08d}", i + 1, '["editor"]', "-", now, 0, True, now)
            for i in range(1, n_accounts + 1)
        ]
        await copy_staff(conn, staff)
        accounts = []
        for i in range(1, n_accounts + 1):
            secret = encrypt_json(settings, {"bot_token": f"{700000 + i}:BENCH-{i}", "channel": ""})
            unit = i + 1
            accounts.append(
                (
                    i,
                    f"pbtg{i}",
                    "telegram",
                    f"基准频道{i}",
                    f"@pb_channel_{i}",
                    "",
                    "active",
                    f"{unit}:telegram",
                    secret,
                    now,
                    now,
                    unit,
                    i,
                )
            )
        await conn.copy_records_to_table(
            "acc_account",
            records=accounts,
            columns=[
                "id",
                "code",
                "platform",
                "name",
                "handle",
                "certified_subject",
                "status",
                "live_slot",
                "credentials",
                "created_at",
                "updated_at",
                "unit_id",
                "responsible_id",
            ],
        )
        await reset_ids(conn, "org_unit", "org_staff", "acc_account")
        return {"accounts": n_accounts}
    finally:
        await conn.close()


async def seed_items(url: str, n_items: int, n_accounts: int, due: dt.datetime) -> None:
    """Approved drafts scheduled for ``due``, each to one channel, and their due rows."""
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        drafts, pubs = [], []
        for i in range(1, n_items + 1):
            account = (i - 1) % n_accounts + 1
            unit = account + 1
            repost = i % 5 == 0
            drafts.append(
                (
                    i,
                    json.dumps([account]),
                    f"清源市政务信息第{i}号：相关事项可网上办理",
                    BODY.format(n=i),
                    "",
                    repost,
                    "中国政府网" if repost else "",
                    f"https://www.gov.cn/zhengce/content/{i}.htm" if repost else "",
                    "转发供参考。" if repost else "",
                    "scheduled",
                    1,
                    "[]",
                    "[]",
                    due,
                    "",
                    now,
                    now,
                    account,
                    account,
                    unit,
                )
            )
            pubs.append((i, i, account, unit, "due", due, due, 0, "", "", "", "", "", now))
        await conn.copy_records_to_table(
            "acc_draft",
            records=drafts,
            columns=[
                "id",
                "account_ids",
                "title",
                "body",
                "cover_url",
                "is_repost",
                "source_name",
                "source_url",
                "lead",
                "status",
                "version",
                "findings",
                "accepted",
                "scheduled_at",
                "return_reason",
                "created_at",
                "updated_at",
                "created_by_id",
                "reviewed_by_id",
                "unit_id",
            ],
        )
        await conn.copy_records_to_table(
            "pub_publication",
            records=pubs,
            columns=[
                "id",
                "draft_id",
                "account_id",
                "unit_id",
                "status",
                "due_at",
                "scheduled_at",
                "attempts",
                "claimed_by",
                "url",
                "platform_id",
                "reason",
                "copy_text",
                "updated_at",
            ],
        )
        await reset_ids(conn, "acc_draft", "pub_publication")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# ------------------------------------------------------------------------ the run


async def _wait_settled(
    url: str, due: dt.datetime, timeout: float, figures: dict[str, Any], processes: list[Any]
) -> None:
    """Until no row is due or publishing (after the due time), noting the highest load seen."""
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        deadline = time.monotonic() + timeout
        name = url.rsplit("/", 1)[-1]
        while True:
            figures["load_peak"] = max(figures.get("load_peak", 0.0), load())
            for pid in backends_of(name):
                figures["db_seen"][pid] = cpu_seconds(pid) or figures["db_seen"].get(pid, 0.0)
            left = await conn.fetchval(
                "SELECT count(*) FROM pub_publication WHERE status IN ('due', 'publishing')"
            )
            now = dt.datetime.now(dt.UTC)
            if not left and now >= due:
                figures["settled_s"] = (now - due).total_seconds()
                return
            dead = [p.name for p in processes if not p.is_alive()]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} ended early: see the messages above")
            if time.monotonic() > deadline:
                figures["settled_s"] = None
                figures["timed_out_left"] = left
                return
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


async def _tally(url: str, due: dt.datetime, port: int, figures: dict[str, Any]) -> None:
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT status, claimed_by, extract(epoch FROM published_at - scheduled_at) AS delay "
            "FROM pub_publication"
        )
        figures["statuses"] = dict(Counter(r["status"] for r in rows))
        figures["published"] = figures["statuses"].get("published", 0)
        figures["by_worker"] = dict(Counter(r["claimed_by"] for r in rows))
        delays = [float(r["delay"]) for r in rows if r["delay"] is not None]
        figures["delays"] = delays
        last = await conn.fetchval("SELECT max(published_at) FROM pub_publication")
        figures["all_published_s"] = (last - due).total_seconds() if last else None
        figures["posts"] = await conn.fetchval("SELECT count(*) FROM acc_post")
        figures["post_duplicates"] = await conn.fetchval(
            "SELECT count(*) - count(DISTINCT (account_id, external_id)) FROM acc_post"
        )
        figures["drafts_published"] = await conn.fetchval(
            "SELECT count(*) FROM acc_draft WHERE status = 'published'"
        )
        figures["events"] = await conn.fetchval(
            "SELECT count(*) FROM acc_draft_event WHERE action = 'published'"
        )
    finally:
        await conn.close()
    sent = await recorded_at(port)
    pairs = Counter((chat, text) for chat, text, _ in sent)
    figures["platform_messages"] = len(sent)
    figures["platform_duplicates"] = sum(c - 1 for c in pairs.values() if c > 1)
    stamp = due.timestamp()
    figures["platform_delays"] = [at - stamp for _, _, at in sent]


def profile(folder: str, pid: int) -> subprocess.Popen:
    """py-spy sampling a worker into ``folder``/worker-<pid>.txt (collapsed stacks)."""
    os.makedirs(folder, exist_ok=True)
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    path = os.path.join(folder, f"worker-{pid}.txt")
    return subprocess.Popen(
        [spy, "record", "-p", str(pid), "-f", "raw", "-r", "100", "-o", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from infra.db import migrate_db
    from publishing import runner

    figures: dict[str, Any] = {"load_start": load()}
    figures["concurrency"] = args.concurrency or runner.CONCURRENCY
    server = args.database_url
    name, url = await create_scratch(server, "minsheng_pbench")
    # The worker processes are forked from one that imported the product once (aiogram alone
    # takes seconds of CPU), instead of each importing it as spawned ones would.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    port = free_port()
    platform = ctx.Process(
        target=serve_platform, args=(port, args.latency), name="platform", daemon=True
    )
    cfg = {
        "url": url,
        "redis_url": args.redis_url,
        "api_base": f"http://127.0.0.1:{port}",
        "tick": args.tick,
        "batch": args.batch,
        "concurrency": args.concurrency,
    }
    ready, out = ctx.Queue(), ctx.Queue()
    start, stop = ctx.Event(), ctx.Event()
    workers = [
        ctx.Process(
            target=run_worker,
            args=(n, cfg, ready, start, stop, out),
            name=f"worker {n}",
            daemon=True,
        )
        for n in range(1, args.workers + 1)
    ]

    def start_processes() -> None:
        for process in (platform, *workers):
            process.start()

    try:
        # The processes start (and connect) while the database is migrated.
        t = time.perf_counter()
        await asyncio.gather(asyncio.to_thread(start_processes), migrate_db(url))
        figures["migrate_s"] = time.perf_counter() - t
        t = time.perf_counter()
        await seed_accounts(url, args.accounts)
        figures["seed_accounts_s"] = time.perf_counter() - t
        wait_until_answering(port)
        pids = [ready.get(timeout=120)[1] for _ in workers]
        # Everything due at one instant a little ahead, so the load lands on running workers.
        lead = 0.5 + args.items / 4000
        due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead)
        t = time.perf_counter()
        await seed_items(url, args.items, args.accounts, due)
        figures["seed_items_s"] = time.perf_counter() - t
        figures["seeded_early_s"] = (due - dt.datetime.now(dt.UTC)).total_seconds()
        figures["load_before"] = load()
        spies = [profile(args.profile, pid) for pid in pids] if args.profile else []
        platform_cpu = cpu_seconds(platform.pid)
        figures["db_start"] = {pid: cpu_seconds(pid) for pid in backends_of(name)}
        figures["db_seen"] = dict(figures["db_start"])
        start.set()
        try:
            await _wait_settled(url, due, args.timeout, figures, [platform, *workers])
        finally:
            for spy in spies:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
        figures["platform_cpu"] = cpu_seconds(platform.pid) - platform_cpu
        # Every server process of the database seen while publishing (sampled with the
        # progress), less what those open before the due time had used already.
        seen, begun = figures.pop("db_seen"), figures.pop("db_start")
        figures["database_cpu"] = sum(cpu - begun.get(pid, 0.0) for pid, cpu in seen.items())
        figures["backends"] = len(seen)
        stop.set()
        figures["workers"] = [out.get(timeout=args.timeout) for _ in workers]
        await _tally(url, due, port, figures)
        figures["load_after"] = load()
    finally:
        stop.set()
        start.set()
        for w in workers:
            if w.pid is not None:
                w.join(timeout=30)
                if w.is_alive():
                    w.terminate()
        if platform.pid is not None:
            platform.terminate()
            platform.join()
        for q in (ready, out):
            q.close()
            q.cancel_join_thread()
        if args.keep:
            figures["kept"] = url
        else:
            await drop_scratch(server, name)
    return figures


def report(args: argparse.Namespace, f: dict[str, Any]) -> None:
    per = args.items / max(1, args.accounts)
    print(
        f"publish bench: {args.items} items due at one instant over {args.accounts} Telegram "
        f"channels ({per:g} each, one bot per channel), {args.workers} workers "
        f"(publish_due every {args.tick:g} s when idle, batch {args.batch}, "
        f"{f['concurrency']} in flight each), platform latency "
        f"{args.latency:g} s, {os.cpu_count()} CPUs"
    )
    print(
        f"setup          migrate and start {f['migrate_s']:.1f} s, "
        f"accounts {f['seed_accounts_s']:.1f} s, items {f['seed_items_s']:.1f} s "
        f"(loaded {f['seeded_early_s']:.1f} s before due)"
    )
    if f.get("settled_s") is None:
        print(f"NOT SETTLED    {f.get('timed_out_left')} rows still due or publishing")
    else:
        print(
            f"all published  {f['all_published_s']:7.1f} s after the due time "
            f"(the last published_at; the bench saw every row settled at {f['settled_s']:.1f} s)"
        )
    print(
        f"outcome        {f['published']} of {args.items} published, statuses {f['statuses']}, "
        f"{f['drafts_published']} drafts published, {f['posts']} posts, "
        f"{f['events']} 'published' events"
    )
    print(
        f"duplicates     {f['platform_duplicates']} at the platform "
        f"({f['platform_messages']} messages sent), {f['post_duplicates']} among posts "
        f"(both must be 0)"
    )
    d, p = f["delays"], f["platform_delays"]
    print(
        f"delay          published_at − due: p50 {percentile(d, 0.5):.1f} s, "
        f"p99 {percentile(d, 0.99):.1f} s (target ≤ 60 s), max {max(d, default=float('nan')):.1f} s"
        f"; at the platform p50 {percentile(p, 0.5):.1f} s, p99 {percentile(p, 0.99):.1f} s"
    )
    for w in f["workers"]:
        rows = f["by_worker"].get(w["worker"], 0)
        print(
            f"worker         {w['worker']}: {w['published']} published ({rows} rows claimed), "
            f"{w['calls']} publish_due calls, {w['cpu']:.1f} s CPU, recorded in "
            f"{len(w['groups'])} transactions (mean {statistics.mean(w['groups'] or [0]):.1f} "
            f"rows, largest {max(w['groups'], default=0)})"
        )
    print(
        f"other CPU      fake platform {f['platform_cpu']:.1f} s; PostgreSQL "
        f"{f['database_cpu']:.1f} s ({f['backends']} server processes; 0 when elsewhere)"
    )
    if d:
        rate = len(d) / max(0.001, max(d))
        print(f"rate           {rate:.0f} items/s overall, mean delay {statistics.mean(d):.1f} s")
    print(
        f"load average   (1 min) {f['load_start']:.2f} at start, {f['load_before']:.2f} at the "
        f"due time, {f.get('load_peak', 0):.2f} highest while publishing, "
        f"{f['load_after']:.2f} after"
    )
    if f.get("kept"):
        print(f"kept database  {f['kept']}")


def feeds(args: argparse.Namespace) -> int:
    print("\nfeed job (python -m bench.feeds_bench, 200 feeds × 50 items):", flush=True)
    return subprocess.call([sys.executable, "-m", "bench.feeds_bench"])


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_url = os.environ.get("MINSHENG_BENCH_DATABASE_URL") or os.environ.get(
        "TEST_DATABASE_URL", ""
    )
    parser.add_argument(
        "--database-url",
        default=default_url,
        help="postgres://… of the server (default $MINSHENG_BENCH_DATABASE_URL, "
        "$TEST_DATABASE_URL); a fresh database is made beside it",
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.1, help="platform answer delay (s)")
    parser.add_argument("--tick", type=float, default=5.0, help="idle worker's wait (s)")
    parser.add_argument("--batch", type=int, default=200, help="rows claimed at a time")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="publications in flight per worker (default: publishing.runner.CONCURRENCY)",
    )
    parser.add_argument("--redis-url", default="", help="default: in-process substitute")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--skip-feeds", action="store_true")
    parser.add_argument("--profile", metavar="DIR", help="py-spy each worker into DIR")
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("a PostgreSQL server is needed: --database-url postgres://…/postgres")
    return args


def run(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict[str, Any]]:
    args = parse(argv)
    figures = asyncio.run(main_async(args))
    report(args, figures)
    return args, figures


def main(argv: list[str] | None = None) -> int:
    args, _ = run(argv)
    if not args.skip_feeds:
        return feeds(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
