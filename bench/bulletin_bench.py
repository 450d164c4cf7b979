"""The quarterly bulletin at full size: 10,000 accounts, 2,000,000 posts and 1,000,000 letters on
PostgreSQL (the records of bench.supervision_bench), the last finished quarter.

    python -m bench.bulletin_bench --database-url postgres://user@host:5432/postgres \
        [--accounts 10000 --posts 2000000 --letters 1000000 --runs 10 --keep]

Creates a fresh database, loads it as bench.supervision_bench does, then times:

- building the bulletin (``bulletin.build_quarter``) and rebuilding it, with the peak RSS and the
  size of its stored figures;
- the bulletin's page for a supervisor and, once issued, for the busiest unit's editor (through
  the Quart test client, logged in, after the app's startup as a served process runs it): the
  first request (the page's charts are drawn then, for every reader), then p50 and p99 over
  ``--runs`` more;
- its PDF and its XLSX, as a supervisor downloads them.

Prints the figures with the load average; drops the database unless --keep (--reuse URL measures
a kept one again).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

from bench import scratch
from bench.common import loads, percentile, rss_mb
from bench.supervision_bench import _login, console, load_records


async def _timed_pages(client, page: str, runs: int) -> tuple[float, float, float, int]:
    """(first view ms, p50 ms, p99 ms, bytes)."""
    times = []
    body = b""
    for _ in range(runs + 1):
        t = time.perf_counter()
        resp = await client.get(page)
        body = await resp.get_data()
        times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200, body[:300]
    first, rest = times[0], times[1:]
    return first, statistics.median(rest), percentile(rest, 0.99), len(body)


async def _measure(url: str, runs: int) -> dict:
    from org.auth import actor_for
    from org.models import Staff
    from quart_app import create_app
    from supervision import bulletin
    from supervision.models import Report

    f: dict = {}
    async with console(url) as (settings, deps, inbox):
        await Report.filter(kind="quarterly").delete()  # a kept database measured again
        year, quarter = bulletin.previous_quarter(*bulletin.quarter_of(deps.clock.today()))
        f["quarter"] = f"{year}Q{quarter}"
        office = await actor_for(await Staff.get(username="benchsup").select_related("unit"))
        rss0 = rss_mb()
        t = time.perf_counter()
        report = await bulletin.build_quarter(deps, office, year, quarter)
        f["build_s"] = time.perf_counter() - t
        f["build_rss"], f["rss_before"] = rss_mb(), rss0
        d = report.data
        f["figures"] = (d["checked"], d["passed"], d["vetoed"], len(d["units"]),
                        d["problem_count"], d["letters"]["total"]["received"])  # fmt: skip
        f["data_kb"] = len(json.dumps(d, ensure_ascii=False).encode()) / 1024
        t = time.perf_counter()
        await bulletin.build_quarter(deps, office, year, quarter, rebuild=True)
        f["rebuild_s"] = time.perf_counter() - t

        app = create_app(settings, deps, manage_db=False)
        page = f"/console/supervision/quarterly/{year}/{quarter}"
        # The startup a served process runs (templates compiled, a chart drawn, the heap
        # frozen): without it the pages pay the first compilations and matplotlib's import, and
        # full collections over everything startup made.
        async with app.test_app() as served:
            sup = served.test_client()
            await _login(sup, inbox, "benchsup")
            f["page_load"] = os.getloadavg()
            f["sup_page"] = await _timed_pages(sup, page, runs)
            for kind in ("pdf", "xlsx"):
                t = time.perf_counter()
                resp = await sup.get(f"{page}.{kind}")
                body = await resp.get_data()
                assert resp.status_code == 200, body[:300]
                f[kind] = (time.perf_counter() - t, len(body) / 1024)
            await bulletin.issue_bulletin(deps, office, year, quarter)
            editor = served.test_client()
            await _login(editor, inbox, "benched")
            f["unit_page"] = await _timed_pages(editor, page, runs)
        f["peak_rss"] = rss_mb()
    return f


async def main_async(args: argparse.Namespace) -> None:
    if args.reuse:
        return await _report(args.reuse, args)
    async with scratch.database(args, "minsheng_bbench") as (name, url):
        await load_records(name, url, args)
        await _report(url, args)


async def _report(url: str, args: argparse.Namespace) -> None:
    load = os.getloadavg()
    f = await _measure(url, args.runs)
    checked, passed, vetoed, units, problems, letters = f["figures"]
    print(f"load average  {loads(load)} (at the start of measuring)")
    print(
        f"bulletin      {f['build_s']:7.2f} s  ({f['quarter']}: {checked} accounts, {passed} "
        f"passed, {vetoed} vetoed, {units} units, {problems} named problems, {letters} "
        f"letters; figures {f['data_kb']:.0f} KB; rebuild {f['rebuild_s']:.2f} s)"
    )
    print(
        f"RSS           {f['build_rss']:7.0f} MB after the build ({f['rss_before']:.0f} MB "
        f"before), {f['peak_rss']:.0f} MB at the end"
    )
    for label, key in (("page (sup.)", "sup_page"), ("page (unit)", "unit_page")):
        first, p50, p99, size = f[key]
        print(
            f"{label:<13} first {first:6.0f} ms  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
            f"({size / 1024:.0f} KB of HTML; {args.runs} after the first)"
        )
    print(f"load average  {loads(f['page_load'])} (before the pages)")
    print(f"PDF           {f['pdf'][0]:7.2f} s  ({f['pdf'][1]:.0f} KB)")
    print(f"XLSX          {f['xlsx'][0]:7.2f} s  ({f['xlsx'][1]:.0f} KB)")
    print(f"load average  {loads()} (at the end)")


def main() -> None:
    sizes = {"accounts": 10_000, "posts": 2_000_000, "letters": 1_000_000, "runs": 10}
    parser = scratch.parser(__doc__, sizes)
    parser.add_argument("--reuse", metavar="URL", help="measure again on a kept database")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
