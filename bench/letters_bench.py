"""Letters at full size: 1,000,000 letters over 200 units, on PostgreSQL.

    python -m bench.letters_bench --database-url postgres://user@host:5432/postgres \
        [--letters 1000000 --units 200 --runs 50 --explain --keep]

Creates a fresh database on that server, migrates it, bulk-loads units, one handler per unit and
the letters with COPY (in a child process), ANALYZEs, then times what a busy day asks of the
database: a handler's pending list (``list_inbox``, first page, for the unit with the most
letters), the supervision list (``list_supervision``, first page, as a supervisor), and the daily
jobs (``send_letter_reminders`` cold - nothing sent yet - and again the same day, and
``record_missed_checks``). Prints the figures, each with the machine's 1-minute load average
taken right after it (other work on a small machine moves the timings), and the supervision
list's queries with EXPLAIN (ANALYZE, BUFFERS) and whether they read the index meant for them
(let_letter_supervision_list); drops the database unless --keep.

The spread: three years of letters, most answered or declined; the open ones were accepted in
the last weeks, about 3 % of all letters past their deadline; units by a Zipf-like weight, so
one department holds about a tenth of everything.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import time

import asyncpg

from bench import scratch
from bench.common import Quiet, explain_plan, load, percentile, pick

DAY = dt.timedelta(days=1)
SUPERVISION_INDEX = "let_letter_supervision_list"
KIND_MIX = [
    ("consultation", 0.40),
    ("complaint", 0.22),
    ("suggestion", 0.12),
    ("mayor", 0.10),
    ("department", 0.10),
    ("disclosure", 0.04),
    ("site_error", 0.02),
]
# Open letters: past the deadline (3 % of all), or with days to go (4.5 %); the rest are closed.
STATUS_MIX = [
    ("overdue", 0.03),
    ("open", 0.045),
    ("new", 0.005),
    ("declined", 0.04),
    ("replied", 0.88),
]
OPEN_MIX = [("handling", 0.8), ("reviewing", 0.15), ("instructing", 0.05)]
CHANNELS = ["wechat", "web", "telegram", "console"]
CODE_CHARS = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


# ------------------------------------------------------------------------------- loading


async def _load(url: str, n_letters: int, n_units: int, seed: int) -> dict:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    today = (now + dt.timedelta(hours=8)).date()
    conn = await asyncpg.connect(scratch.pg_dsn(url))
    try:
        t0 = time.perf_counter()
        await scratch.copy_city(conn, range(2, n_units + 2), now)
        staff = [
            (i, f"h{i}", f"办理人{i}", f"138{i:08d}", i, '["handler"]', "-", now, 0, True, now)
            for i in range(2, n_units + 2)
        ]
        staff.append((1, "sup", "督查", "13900000000", 1, '["supervisor"]', "-", now, 0, True, now))
        await scratch.copy_staff(conn, staff)
        await scratch.reset_ids(conn, "org_unit", "org_staff")
        unit_ids = list(range(2, n_units + 2))
        weights = [1 / (rank + 1) ** 0.8 for rank in range(n_units)]
        codes: set[str] = set()

        def code() -> str:
            while True:
                c = "".join(rng.choice(CODE_CHARS) for _ in range(10))
                if c not in codes:
                    codes.add(c)
                    return c

        def records():
            for i in range(1, n_letters + 1):
                unit = rng.choices(unit_ids, weights)[0]
                kind = pick(rng, KIND_MIX)
                state = pick(rng, STATUS_MIX)
                accepted = assigned = due = supervised = replied = closed = None
                if state == "overdue":
                    due = today - dt.timedelta(days=rng.randint(1, 40))
                    status = pick(rng, OPEN_MIX)
                elif state == "open":
                    due = today + dt.timedelta(days=rng.randint(0, 15))
                    status = pick(rng, OPEN_MIX)
                else:
                    status = state
                if due is not None:
                    accepted = dt.datetime.combine(due - 15 * DAY, dt.time(2), dt.UTC)
                    received = accepted - dt.timedelta(hours=rng.randint(1, 48))
                    assigned = accepted if status != "instructing" else None
                elif status == "new":
                    received = now - dt.timedelta(hours=rng.randint(1, 72))
                else:
                    received = now - dt.timedelta(days=rng.uniform(20, 1095))
                    if status == "replied":
                        accepted = assigned = received + dt.timedelta(hours=rng.randint(1, 48))
                        due = (accepted + 15 * DAY).date()
                        replied = closed = accepted + dt.timedelta(days=rng.uniform(1, 15))
                    else:
                        closed = received + dt.timedelta(hours=rng.randint(1, 48))
                yield (
                    i,
                    code(),
                    kind,
                    rng.choice(CHANNELS),
                    "基准来信",
                    "来信内容" * rng.randint(5, 40),
                    "[]",
                    "",
                    "张*",
                    "138****0000",
                    "",
                    False,
                    status,
                    unit,
                    "[]",
                    (status == "declined" and "empty") or "",
                    "",
                    received,
                    accepted,
                    assigned,
                    due,
                    0,
                    0,
                    supervised,
                    replied,
                    closed,
                    closed or received,
                )

        await conn.copy_records_to_table(
            "let_letter",
            records=records(),
            columns=[
                "id",
                "code",
                "kind",
                "channel",
                "title",
                "content",
                "attachments",
                "writer_sealed",
                "writer_name_masked",
                "writer_mobile_masked",
                "writer_platform_masked",
                "consent_publish",
                "status",
                "unit_id",
                "proposals",
                "decline_reason",
                "decline_note",
                "received_at",
                "accepted_at",
                "assigned_at",
                "due_on",
                "extended_days",
                "reopened",
                "supervised_at",
                "replied_at",
                "closed_at",
                "updated_at",
            ],
        )
        await scratch.reset_ids(conn, "let_letter")
        copy_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        return {"copy_s": copy_s, "analyze_s": time.perf_counter() - t1}
    finally:
        await conn.close()


def _load_in_child(url: str, n_letters: int, n_units: int, seed: int) -> dict:
    return asyncio.run(_load(url, n_letters, n_units, seed))


# ------------------------------------------------------------------------------- measuring


async def _timed(runs: int, work) -> tuple[float, float]:
    await work()  # warm: the first call pays for the connection and the plan cache
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        await work()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), percentile(times, 0.99), load()


async def _measure(url: str, runs: int, explain: bool) -> dict:
    from tortoise.functions import Count

    from infra.clock import FixedClock
    from infra.deps import build_deps
    from infra.settings import Settings
    from letters import service, supervision
    from letters.models import OPEN_STATUSES, Letter
    from org.access import Actor

    async with scratch.tortoise_on(url):
        now = dt.datetime.now(dt.UTC)
        clock = FixedClock(now)
        deps = build_deps(Settings(database_url=url), clock=clock, sender=Quiet())
        f: dict = {}
        big = (
            await Letter.filter(status__in=OPEN_STATUSES)
            .annotate(n=Count("id"))
            .group_by("unit_id")
            .order_by("-n")
            .limit(1)
            .values_list("unit_id", "n")
        )[0]
        f["big_unit"], f["big_open"] = big
        f["big_total"] = await Letter.filter(unit_id=big[0]).count()
        f["open"] = await Letter.filter(status__in=OPEN_STATUSES).count()
        f["overdue"] = await Letter.filter(
            status__in=OPEN_STATUSES, due_on__lt=deps.clock.today()
        ).count()
        handler = Actor(
            big[0], "办理人", frozenset({"handler"}), big[0], f"/1/{big[0]}/", "基准单位"
        )
        supervisor = Actor(1, "督查", frozenset({"supervisor"}), 1, "/1/", "基准市人民政府")

        async def inbox():
            await service.list_inbox(deps, handler, queue="handling", limit=50)

        async def inbox_page_20():
            await service.list_inbox(deps, handler, queue="handling", limit=50, offset=950)

        async def supervised():
            await supervision.list_supervision(supervisor, limit=50)

        # The supervision list is empty until the daily job has run: time it after the job.
        f["inbox"] = await _timed(runs, inbox)
        f["inbox_p20"] = await _timed(runs, inbox_page_20)

        # How much of the job is handing the queued SMS to the (here silent) gateway.
        notifier, delivery = deps.notifier, [0.0]
        retry = notifier.retry_notifications

        async def timed_retry() -> int:
            t = time.perf_counter()
            try:
                return await retry()
            finally:
                delivery[0] += time.perf_counter() - t

        notifier.retry_notifications = timed_retry  # type: ignore[method-assign]
        # Yesterday's run, the first ever: every letter due within 3 days or overdue is reminded
        # and every overdue one listed. Then today's, which sends what came due since, as the
        # job does every day; then today's again (several workers, or a restart).
        clock.set(now - DAY)
        t = time.perf_counter()
        f["cold"] = await supervision.send_letter_reminders(deps)
        f["cold_s"] = time.perf_counter() - t
        f["cold_load"] = load()
        f["cold_delivery_s"], delivery[0] = delivery[0], 0.0
        clock.set(now)
        t = time.perf_counter()
        f["reminders"] = await supervision.send_letter_reminders(deps)
        f["reminders_s"] = time.perf_counter() - t
        f["reminders_load"] = load()
        f["delivery_s"] = delivery[0]
        t = time.perf_counter()
        f["reminders_again"] = await supervision.send_letter_reminders(deps)
        f["reminders_again_s"] = time.perf_counter() - t
        day = supervision.last_working_day(deps, deps.clock.today())
        t = time.perf_counter()
        f["missed"] = await supervision.record_missed_checks(deps, day)
        f["missed_s"] = time.perf_counter() - t
        f["missed_load"] = load()

        f["supervised_total"] = (await supervision.list_supervision(supervisor, limit=1))[0]
        f["supervision"] = await _timed(runs, supervised)
        # The queries list_supervision makes for a supervisor: the total, then the page's ids.
        listed = supervision._supervised(supervisor)
        for key, query in (
            ("plan_supervision_count", listed.count()),
            (
                "plan_supervision",
                listed.order_by("due_on", "id").limit(50).values_list("id", flat=True),
            ),
        ):
            f[key] = await explain_plan(url, query)

        if explain:
            page = (
                Letter.filter(status__in=OPEN_STATUSES, unit_id=big[0])
                .select_related("unit")
                .order_by("due_on", "id")
                .limit(50)
            )
            f["plan_inbox"] = await explain_plan(url, page)
            count = Letter.filter(status__in=OPEN_STATUSES, unit_id=big[0]).count()
            f["plan_inbox_count"] = await explain_plan(url, count)
            horizon = deps.clock.today() + 3 * DAY
            due = Letter.filter(status__in=OPEN_STATUSES, due_on__lte=horizon, id__gt=0)
            f["plan_reminders"] = await explain_plan(url, due.order_by("id").limit(500))
        return f


async def main_async(args: argparse.Namespace) -> None:
    from infra.db import migrate_db

    async with scratch.database(args, "minsheng_lbench") as (name, url):
        t = time.perf_counter()
        await migrate_db(url)
        print(f"database      {name}")
        print(f"migrate       {time.perf_counter() - t:7.2f} s")
        t = time.perf_counter()
        loaded = await scratch.in_child(_load_in_child, url, args.letters, args.units, args.seed)
        print(
            f"load          {time.perf_counter() - t:7.2f} s  ({args.letters} letters, "
            f"{args.units} units: COPY {loaded['copy_s']:.1f} s, "
            f"VACUUM ANALYZE {loaded['analyze_s']:.1f} s)"
        )
        f = await _measure(url, args.runs, args.explain)
        print(
            f"letters       {f['open']} open, {f['overdue']} past their deadline; busiest unit "
            f"#{f['big_unit']}: {f['big_total']} letters, {f['big_open']} open"
        )
        print(
            f"inbox         p50 {f['inbox'][0]:6.1f} ms  p99 {f['inbox'][1]:6.1f} ms  "
            f"load {f['inbox'][2]:.2f}  (list_inbox, busiest unit, first page of 50; page 20: "
            f"p50 {f['inbox_p20'][0]:.1f} ms, p99 {f['inbox_p20'][1]:.1f} ms)"
        )
        print(
            f"supervision   p50 {f['supervision'][0]:6.1f} ms  p99 {f['supervision'][1]:6.1f} ms  "
            f"load {f['supervision'][2]:.2f}  (list_supervision as supervisor, first page of 50 "
            f"of {f['supervised_total']}; target p99 <= 100 ms)"
        )
        print(
            f"first run     {f['cold_s']:7.2f} s  load {f['cold_load']:.2f}  "
            f"(send_letter_reminders on a day nothing had been sent yet: {f['cold']} reminders, "
            f"of which handing the SMS to the gateway {f['cold_delivery_s']:.1f} s; "
            f"target <= 60 s)"
        )
        print(
            f"reminders     {f['reminders_s']:7.2f} s  load {f['reminders_load']:.2f}  "
            f"(send_letter_reminders, the next day: "
            f"{f['reminders']} sent, of which SMS hand-over {f['delivery_s']:.1f} s; "
            f"again the same day {f['reminders_again_s']:.2f} s, {f['reminders_again']} sent)"
        )
        print(
            f"daily check   {f['missed_s']:7.2f} s  load {f['missed_load']:.2f}  "
            f"(record_missed_checks, {f['missed']} units recorded)"
        )
        print(f"daily job     {f['reminders_s'] + f['missed_s']:7.2f} s  (both, a normal day)")
        for key in ("plan_supervision_count", "plan_supervision"):
            uses = SUPERVISION_INDEX in f[key]
            print(f"\n-- {key}: {'reads' if uses else 'does NOT read'} {SUPERVISION_INDEX}")
            print(f[key])
        if args.explain:
            for key in ("plan_inbox", "plan_inbox_count", "plan_reminders"):
                print(f"\n-- {key}\n{f[key]}")


def main() -> None:
    sizes = {"letters": 1_000_000, "units": 200, "runs": 50}
    parser = scratch.parser(__doc__, sizes, explain=True)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
