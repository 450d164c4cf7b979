"""Supervision at full size: the weekly patrol over 10,000 accounts, 2,000,000 posts and
1,000,000 letters, on PostgreSQL, and one unit's patrol page.

    python -m bench.supervision_bench --database-url postgres://user@host:5432/postgres \
        [--accounts 10000 --posts 2000000 --letters 1000000 --runs 20 --keep]

Creates a fresh database, migrates it, loads the accounts bench's units, accounts and posts
(bench.monitor_bench, COPY in a child process), adds the letters in SQL (each to one of the
accounts, three years of them, most answered, some late, a few overdue, ratings on a tenth) and
some flagged posts and reposts without source, ANALYZEs, then times:

- the weekly patrol of last week for every account (``patrol.build_weekly``), and its peak RSS;
- one unit's patrol page as its editor sees it (GET /console/supervision/weekly/<monday>
  through the Quart test client, logged in, after the app's startup as a served process runs
  it): the first request (the page's charts are drawn then), then p50 and p99 over ``--runs``
  more;
- the patrol's XLSX export for a supervisor;
- then the quarterly bulletin of the last finished quarter over the same records (build, the
  page, its PDF and XLSX: ``bench.bulletin_bench``).

Prints the figures with the load average; drops the database unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import time

import asyncpg

from bench import scratch
from bench.common import loads, rss_mb
from bench.monitor_bench import _load_in_child as load_accounts

PASSWORD = "Bench2026ms"


async def _add_letters(url: str, n_letters: int) -> float:
    """Letters spread over the accounts and three years, in one INSERT … SELECT."""
    conn = await asyncpg.connect(scratch.pg_dsn(url))
    t = time.perf_counter()
    try:
        await conn.execute(
            """
            WITH acc AS (SELECT id, unit_id, row_number() OVER (ORDER BY id) AS n
                         FROM acc_account),
                 total AS (SELECT count(*) AS c FROM acc_account),
                 g AS (SELECT i, now() - (random() * 1095) * interval '1 day' AS received,
                              random() AS r
                       FROM generate_series(1, $1) AS i)
            INSERT INTO let_letter (code, kind, channel, account_id, title, content, attachments,
                writer_sealed, writer_name_masked, writer_mobile_masked, writer_platform_masked,
                consent_publish, status, unit_id, proposals, decline_reason, decline_note,
                received_at, accepted_at, due_on, extended_days, reopened, replied_at,
                updated_at)
            SELECT 'L' || lpad(g.i::text, 9, '0'), 'consultation', 'wechat', acc.id, '咨询', '内容',
                   '[]', '', '', '', '', false,
                   CASE WHEN g.r < 0.02 AND g.received > now() - interval '40 days' THEN 'handling'
                        ELSE 'replied' END,
                   acc.unit_id, '[]', '', '', g.received, g.received,
                   ((g.received + interval '8 hours')::date + 15),
                   0, 0,
                   CASE WHEN g.r < 0.02 AND g.received > now() - interval '40 days' THEN NULL
                        WHEN g.r < 0.08 THEN g.received + interval '20 days'
                        ELSE g.received + (random() * 12) * interval '1 day' END,
                   g.received
            FROM g JOIN acc ON acc.n = 1 + (g.i % (SELECT c FROM total))
            """,
            n_letters,
        )
        await conn.execute(
            """
            INSERT INTO let_rating (letter_id, round, satisfied, comment, unit_id, reopened, at)
            SELECT id, 0, random() > 0.15, '', unit_id, false, replied_at + interval '1 day'
            FROM let_letter WHERE replied_at IS NOT NULL AND id % 10 = 0
            """
        )
        await conn.execute(
            """
            UPDATE acc_post SET review_status = 'flagged' WHERE id % 5000 = 0;
            UPDATE acc_post SET is_repost = true WHERE id % 700 = 0;
            """
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - t


async def _editor_of_busiest_unit(url: str) -> tuple[int, str]:
    """A unit with accounts, and an editor of it who can log in."""
    from org.auth import hash_password

    conn = await asyncpg.connect(scratch.pg_dsn(url))
    try:
        unit_id = await conn.fetchval(
            "SELECT unit_id FROM acc_account GROUP BY unit_id ORDER BY count(*) DESC LIMIT 1"
        )
        now = dt.datetime.now(dt.UTC)
        for username, roles, unit in (
            ("benched", '["editor"]', unit_id),
            ("benchsup", '["supervisor"]', 1),
        ):
            await conn.execute(
                """INSERT INTO org_staff (username, real_name, mobile, unit_id, roles,
                   password_hash, password_changed_at, failed_logins, active, created_at)
                   VALUES ($1, $1, $2, $3, $4, $5, $6, 0, true, $6)""",
                username,
                "1390000" + ("0001" if username == "benched" else "0002"),
                unit,
                roles,
                hash_password(PASSWORD),
                now,
            )
        return unit_id, "benched"
    finally:
        await conn.close()


class _Inbox:
    """The SMS gateway of the bench: keeps the codes sent, for logging in."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def deliver(self, recipient: str, body: str) -> None:
        self.sent.append((recipient, body))


async def _login(client, inbox: _Inbox, username: str) -> None:
    import re

    r = await client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    challenge = (await r.get_json())["challenge"]
    code = re.search(r"\d{6}", inbox.sent[-1][1]).group(0)
    r = await client.post("/api/auth/verify", json={"challenge": challenge, "code": code})
    assert r.status_code == 200, await r.get_data()


async def load_records(name: str, url: str, args: argparse.Namespace) -> None:
    """Migrates the database, loads the accounts bench's units, accounts and posts
    (bench.monitor_bench, in a child process), adds the letters and the two logins, and prints
    the database and how long it took."""
    from infra.db import migrate_db

    t = time.perf_counter()
    await migrate_db(url)
    loaded = await scratch.in_child(load_accounts, url, args.accounts, args.posts, args.seed)
    letters_s = await _add_letters(url, args.letters)
    await _editor_of_busiest_unit(url)
    print(f"database      {name}")
    print(
        f"load          {time.perf_counter() - t:7.1f} s  ({loaded['accounts']} accounts, "
        f"{loaded['posts']} posts, {args.letters} letters in {letters_s:.1f} s)"
    )


@contextlib.asynccontextmanager
async def console(url: str):
    """Tortoise open on ``url`` for the while, and (settings, deps, inbox) of a console the
    bench logs in to: no rate limits on logging in, the SMS codes kept in ``inbox``."""
    from infra.deps import build_deps
    from infra.settings import Settings

    async with scratch.tortoise_on(url):
        inbox = _Inbox()
        settings = Settings(
            database_url=url,
            cookie_secure=False,
            secret_key="bench",
            login_ip_per_minute=100_000,
            login_user_per_minute=100_000,
        )
        yield settings, build_deps(settings, sender=inbox), inbox


async def _measure(url: str, runs: int) -> dict:
    from bench.bulletin_bench import _timed_pages
    from org.access import Actor
    from quart_app import create_app
    from supervision import patrol

    f: dict = {}
    async with console(url) as (settings, deps, inbox):
        last_week = deps.clock.today() - dt.timedelta(days=7)
        rss0 = rss_mb()
        t = time.perf_counter()
        report = await patrol.build_weekly(deps, Actor.system("基准"), last_week)
        f["patrol_s"] = time.perf_counter() - t
        f["patrol_rss"] = rss_mb()
        f["patrol_rss_before"] = rss0
        f["checked"], f["passed"], f["vetoed"] = (
            report.data["checked"],
            report.data["passed"],
            report.data["vetoed"],
        )
        f["report_kb"] = len(str(report.data).encode()) / 1024
        t = time.perf_counter()
        await patrol.build_weekly(deps, Actor.system("基准"), last_week, rebuild=True)
        f["rebuild_s"] = time.perf_counter() - t
        page = f"/console/supervision/weekly/{report.period_start.isoformat()}"
        del report  # a web process does not hold the patrol it built once the request is done

        app = create_app(settings, deps, manage_db=False)
        # The startup a served process runs (templates compiled, the heap frozen): what the
        # first console request meets in production.
        async with app.test_app() as served:
            client = served.test_client()
            await _login(client, inbox, "benched")
            f["page_load"] = os.getloadavg()
            f["unit_page"] = await _timed_pages(client, page, runs)

            sup = served.test_client()
            await _login(sup, inbox, "benchsup")
            t = time.perf_counter()
            resp = await sup.get(page + ".xlsx")
            xlsx = await resp.get_data()
            f["xlsx_s"] = time.perf_counter() - t
            f["xlsx_kb"] = len(xlsx) / 1024
        f["peak_rss"] = rss_mb()
    return f


async def main_async(args: argparse.Namespace) -> None:
    async with scratch.database(args, "minsheng_sbench") as (name, url):
        await load_records(name, url, args)
        load = os.getloadavg()
        f = await _measure(url, args.runs)
        print(f"load average  {loads(load)} (at the start of measuring)")
        print(
            f"weekly patrol {f['patrol_s']:7.2f} s  (target ≤ 60 s; {f['checked']} accounts, "
            f"{f['passed']} passed, {f['vetoed']} vetoed; report {f['report_kb']:.0f} KB; "
            f"rebuild {f['rebuild_s']:.2f} s)"
        )
        print(
            f"peak RSS      {f['patrol_rss']:7.0f} MB after the patrol (target ≤ 500 MB; "
            f"{f['patrol_rss_before']:.0f} MB before), {f['peak_rss']:.0f} MB at the end"
        )
        first, p50, p99, size = f["unit_page"]
        print(
            f"unit page     first {first:6.0f} ms  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
            f"(target ≤ 300 ms; the busiest unit's editor, {size / 1024:.0f} KB of HTML; "
            f"{args.runs} after the first; load average "
            f"{loads(f['page_load'])})"
        )
        print(f"patrol XLSX   {f['xlsx_s']:7.2f} s  ({f['xlsx_kb']:.0f} KB, supervisor, all rows)")
        print(f"load average  {loads()} (at the end)")
        from bench.bulletin_bench import _report as report_bulletin

        print("-- the quarterly bulletin over the same records (bench.bulletin_bench)")
        await report_bulletin(url, args)


def main() -> None:
    sizes = {"accounts": 10_000, "posts": 2_000_000, "letters": 1_000_000, "runs": 20}
    asyncio.run(main_async(scratch.parser(__doc__, sizes).parse_args()))


if __name__ == "__main__":
    main()
