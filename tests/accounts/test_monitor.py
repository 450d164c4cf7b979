"""The activity monitor: days since the last post against 7 / 14 / 90 days, counted on Shanghai
dates; the daily snapshots; the 12-week table; and who sees which accounts through the API."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest

from accounts import monitor
from accounts.models import Account, ActivitySnapshot, Post
from infra.clock import SHANGHAI
from org.demo import seed_demo
from org.models import Unit
from tests.org.conftest import login_as

TODAY = dt.date(2026, 11, 23)  # the conftest clock: Monday 2026-11-23 10:00 in Shanghai


def local(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A moment given in Shanghai time, as the UTC datetime the database stores."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI).astimezone(dt.UTC)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
async def units(deps):
    await seed_demo(deps)
    return {u.code: u for u in await Unit.all()}


@pytest.fixture
def make_account(units):
    seq = iter(range(1, 10_000))

    async def _make(
        unit_code: str = "QY-RSJ",
        *,
        status: str = "active",
        opened_on: dt.date | None = dt.date(2020, 1, 1),
        created_at: dt.datetime | None = None,
        posts: Sequence[dt.datetime] = (),
    ) -> Account:
        n = next(seq)
        unit = units[unit_code]
        # Each account on its own platform slot; the tests are not about the one-per-platform rule.
        platform = f"p{n}"
        at = created_at or dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        account = await Account.create(
            code=f"acc{n}",
            unit=unit,
            platform=platform,
            name=f"{unit.name}{n}号",
            status=status,
            live_slot=f"{unit.id}:{platform}" if status not in ("closed", "cancelled") else None,
            opened_on=opened_on,
            created_at=at,
            updated_at=at,
        )
        if posts:
            await Post.bulk_create(
                [
                    Post(account=account, title=f"第{i}条", published_at=p, created_at=p)
                    for i, p in enumerate(posts)
                ]
            )
        return account

    return _make


async def activity_of(deps, account: Account, today: dt.date | None = None) -> monitor.Activity:
    (found,) = await monitor.account_activity(deps, [account.id], today=today)
    return found


# ------------------------------------------------------------------------------ thresholds


BOUNDARIES = [
    (0, "ok"),
    (6, "ok"),
    (7, "warn"),
    (13, "warn"),
    (14, "fail"),
    (89, "fail"),
    (90, "zombie"),
    (400, "zombie"),
]


async def test_state_by_days_since_last_post(deps, make_account):
    made = {}
    for idle, _ in BOUNDARIES:
        # The latest post late in the evening, Shanghai time: the date counts, not 24-hour spans.
        made[idle] = await make_account(
            posts=[local(days_ago(idle + 3)), local(days_ago(idle), 23, 59)]
        )
    found = {a.account_id: a for a in await monitor.account_activity(deps)}
    for idle, state in BOUNDARIES:
        a = found[made[idle].id]
        assert (a.days_since_last, a.idle_days, a.state) == (idle, idle, state), idle
        assert a.last_post_at == local(days_ago(idle), 23, 59)


async def test_thresholds_are_settings(deps, make_account):
    deps.settings.activity_warn_days = 3
    deps.settings.activity_fail_days = 5
    deps.settings.activity_zombie_days = 30
    states = []
    for idle in (2, 3, 5, 30):
        account = await make_account(posts=[local(days_ago(idle))])
        states.append((await activity_of(deps, account)).state)
    assert states == ["ok", "warn", "fail", "zombie"]


async def test_never_posted_counts_from_opening(deps, make_account):
    fresh = await make_account(opened_on=days_ago(6))
    week = await make_account(opened_on=days_ago(7))
    fortnight = await make_account(opened_on=days_ago(14))
    # No opening date on record: the day the account was registered, in Shanghai.
    # (00:30 in Shanghai, still the day before in UTC).
    registered = await make_account(opened_on=None, created_at=local(days_ago(90), 0, 30))
    found = {a.account_id: a for a in await monitor.account_activity(deps)}
    assert [found[x.id].state for x in (fresh, week, fortnight, registered)] == [
        "ok",
        "warn",
        "fail",
        "zombie",
    ]
    assert found[registered.id].idle_days == 90
    assert all(found[x.id].days_since_last is None for x in (fresh, week, fortnight, registered))
    assert all(found[x.id].last_post_at is None for x in (fresh, registered))


async def test_shanghai_date_decides_the_day(deps, make_account, clock):
    # 2026-11-22 17:00 UTC is 01:00 on the 23rd in Shanghai: posted "today", not yesterday.
    after_midnight = await make_account(posts=[dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC)])
    before_midnight = await make_account(
        posts=[dt.datetime(2026, 11, 22, 15, 59, tzinfo=dt.UTC)]
    )  # 23:59 on the 22nd
    assert (await activity_of(deps, after_midnight)).days_since_last == 0
    assert (await activity_of(deps, before_midnight)).days_since_last == 1

    # The clock's own day is the Shanghai one too: at 2026-11-29 16:30 UTC it is already the
    # 30th there, so the post of the 23rd is 7 days old and warns.
    clock.set(dt.datetime(2026, 11, 29, 16, 30, tzinfo=dt.UTC))
    a = await activity_of(deps, after_midnight)
    assert (a.days_since_last, a.state) == (7, "warn")
    clock.set(dt.datetime(2026, 11, 29, 15, 30, tzinfo=dt.UTC))  # 23:30 on the 29th
    a = await activity_of(deps, after_midnight)
    assert (a.days_since_last, a.state) == (6, "ok")


async def test_posts_in_the_last_7_days_and_weekly_average(deps, make_account):
    account = await make_account(
        posts=[
            local(TODAY, 9),
            local(days_ago(3)),
            local(days_ago(6), 0, 0),  # first moment of the window (2026-11-16 16:00 UTC)
            local(days_ago(7), 23, 59),  # last moment before it
            local(days_ago(83), 0, 5),  # first day of the 12 weeks
            local(days_ago(84), 23, 55),  # the day before them
            local(TODAY + dt.timedelta(days=1), 8),  # dated tomorrow: not yet
        ]
    )
    a = await activity_of(deps, account)
    assert a.posts_7d == 3
    assert a.posts_per_week == round(5 / 12, 2)
    assert a.days_since_last == 0
    assert a.last_post_at == local(TODAY, 9)


async def test_figures_as_of_an_earlier_day(deps, make_account):
    account = await make_account(posts=[local(days_ago(20)), local(days_ago(2))])
    a = await activity_of(deps, account, today=days_ago(5))
    # Posts after that day do not exist yet for it.
    assert (a.days_since_last, a.posts_7d, a.state) == (15, 0, "fail")


async def test_only_live_accounts_past_application_are_monitored(deps, make_account):
    made = {}
    for status in ("applying", "active", "changing", "suspended", "closing", "closed", "cancelled"):
        made[status] = await make_account(status=status, posts=[local(days_ago(30))])
    everyone = await monitor.account_activity(deps)
    assert {a.status for a in everyone} == {"active", "changing", "suspended", "closing"}
    # Asking by id or by queryset does not bring closed accounts back.
    by_id = await monitor.account_activity(deps, [m.id for m in made.values()])
    by_qs = await monitor.account_activity(deps, Account.filter(status__in=["closed", "active"]))
    assert {a.account_id for a in by_id} == {a.account_id for a in everyone}
    assert [a.account_id for a in by_qs] == [made["active"].id]


# ---------------------------------------------------------------------------- daily snapshots


async def snapshots(day: dt.date = TODAY) -> dict[int, tuple]:
    rows = await ActivitySnapshot.filter(day=day).values(
        "account_id", "days_since_last", "posts_7d", "state"
    )
    return {r["account_id"]: (r["days_since_last"], r["posts_7d"], r["state"]) for r in rows}


async def test_daily_snapshot_is_idempotent(deps, make_account, clock):
    busy = await make_account(posts=[local(days_ago(1)), local(days_ago(2))])
    idle = await make_account(posts=[local(days_ago(15))])
    never = await make_account(opened_on=days_ago(100))
    await make_account(status="closed", posts=[local(days_ago(1))])

    assert await monitor.record_daily_activity(deps) == 3
    first = await snapshots()
    assert first == {
        busy.id: (1, 2, "ok"),
        idle.id: (15, 0, "fail"),
        never.id: (None, 0, "zombie"),
    }
    assert await monitor.record_daily_activity(deps) == 3
    assert await snapshots() == first
    assert await ActivitySnapshot.all().count() == 3

    # Later the same day the idle account posts: a rerun updates its row in place.
    await Post.create(account=idle, title="新", published_at=clock.now(), created_at=clock.now())
    await monitor.record_daily_activity(deps)
    assert (await snapshots())[idle.id] == (0, 1, "ok")
    assert await ActivitySnapshot.filter(account_id=idle.id).count() == 1

    # Closed since the morning run: no longer monitored that day.
    await Account.filter(id=never.id).update(status="closed", live_slot=None)
    assert await monitor.record_daily_activity(deps) == 2
    assert set(await snapshots()) == {busy.id, idle.id}

    # The next day gets its own rows.
    clock.advance(days=1)
    await monitor.record_daily_activity(deps)
    assert (await snapshots(TODAY + dt.timedelta(days=1)))[busy.id] == (2, 2, "ok")
    assert await ActivitySnapshot.all().count() == 4


async def test_two_workers_at_once_leave_one_row_each(deps, make_account):
    accounts = [await make_account(posts=[local(days_ago(i))]) for i in range(0, 40, 3)]
    results = await asyncio.gather(
        monitor.record_daily_activity(deps), monitor.record_daily_activity(deps)
    )
    assert results == [len(accounts), len(accounts)]
    rows = await ActivitySnapshot.all().values_list("account_id", "day")
    assert sorted(rows) == sorted((a.id, TODAY) for a in accounts)


async def test_history_from_snapshots(deps, make_account, clock):
    account = await make_account(posts=[local(days_ago(5))])
    for _ in range(4):
        await monitor.record_daily_activity(deps)
        clock.advance(days=1)
    history = await monitor.activity_history(account.id, days=3, today=TODAY + dt.timedelta(3))
    assert [(h["day"], h["days_since_last"], h["state"]) for h in history] == [
        ("2026-11-24", 6, "ok"),
        ("2026-11-25", 7, "warn"),
        ("2026-11-26", 8, "warn"),
    ]
    assert len(await monitor.activity_history(account.id, today=TODAY + dt.timedelta(3))) == 4


# ------------------------------------------------------------------------------ weekly table


async def test_weekly_table_for_a_hand_built_pattern(deps, make_account):
    # The 12 weeks end with the running one, Monday 2026-11-23; the first starts 2026-09-07.
    first = dt.date(2026, 9, 7)

    def week(i: int, weekday: int = 2, hour: int = 12, minute: int = 0) -> dt.datetime:
        return local(first + dt.timedelta(weeks=i, days=weekday), hour, minute)

    steady = await make_account(
        posts=[
            week(0),
            week(0, 4),
            week(1, 6, 23, 59),  # Sunday night, Shanghai: still week 1
            week(3, 0, 0, 1),  # Monday 00:01 in Shanghai is Sunday in UTC: week 3
            *[week(i) for i in range(5, 11)],
            week(11, 0, 9),  # this morning
            local(first - dt.timedelta(days=1)),  # before the table
        ]
    )
    # Opened on Wednesday of week 8: weeks 0-8 were not whole weeks of being open.
    late = await make_account(opened_on=first + dt.timedelta(weeks=8, days=2), posts=[week(9)])
    silent = await make_account()

    table = await monitor.weekly_compliance(deps, [silent.id, late.id, steady.id])
    assert [w.start for w in table.weeks] == [first + dt.timedelta(weeks=i) for i in range(12)]
    assert table.weeks[-1].start == TODAY and table.weeks[-1].in_progress
    assert table.weeks[0].end == dt.date(2026, 9, 13)
    assert not any(w.in_progress for w in table.weeks[:-1])

    rows = {r.account_id: r for r in table.rows}
    assert [r.account_id for r in table.rows] == sorted(rows)
    assert rows[steady.id].counts == [2, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1]
    assert rows[steady.id].met == [True, True, False, True, False, *[True] * 7]
    assert (rows[steady.id].weeks_met, rows[steady.id].weeks_missed) == (10, 2)

    assert rows[late.id].counts == [0] * 9 + [1, 0, 0]
    assert rows[late.id].met == [None] * 9 + [True, False, None]

    assert rows[silent.id].counts == [0] * 12
    assert rows[silent.id].met == [False] * 11 + [None]

    short = await monitor.weekly_compliance(deps, [steady.id], weeks=2, today=dt.date(2026, 11, 1))
    assert [w.start for w in short.weeks] == [dt.date(2026, 10, 19), dt.date(2026, 10, 26)]
    assert short.rows[0].counts == [1, 1]


# ------------------------------------------------------------------------------------ the API


@pytest.fixture
async def spread(make_account):
    """Accounts in four units, each in a different state."""
    return {
        "rsj_ok": await make_account("QY-RSJ", posts=[local(days_ago(1))]),
        "rsj_warn": await make_account("QY-RSJ", posts=[local(days_ago(8))]),
        "hx_fail": await make_account("QY-HX", posts=[local(days_ago(20))]),
        "jyj_zombie": await make_account("QY-HX-JYJ", opened_on=days_ago(200)),
        "gjj_warn": await make_account("QY-GJJ", posts=[local(days_ago(10))]),
        "gjj_closed": await make_account("QY-GJJ", status="closed"),
    }


@pytest.mark.parametrize(
    ("username", "sees"),
    [
        ("editor", {"rsj_ok", "rsj_warn"}),  # own unit
        ("handler", {"rsj_ok", "rsj_warn"}),
        ("leader", {"rsj_ok", "rsj_warn"}),  # subtree of 人社局: only its internal office below
        ("hxadmin", {"hx_fail", "jyj_zombie"}),  # the county and its departments
        ("admin", {"rsj_ok", "rsj_warn", "hx_fail", "jyj_zombie", "gjj_warn"}),
        ("supervisor", {"rsj_ok", "rsj_warn", "hx_fail", "jyj_zombie", "gjj_warn"}),
        ("cityleader", set()),  # 市政府办公室 has no accounts and no subunits
    ],
)
async def test_activity_visible_by_role(app, sender, spread, username, sees):
    session = await login_as(app, sender, username)
    r = await session.get("/api/activity")
    assert r.status_code == 200, await r.get_json()
    body = await r.get_json()
    ids = {spread[k].id: k for k in spread}
    assert {ids[i["account_id"]] for i in body["items"]} == sees
    assert body["total"] == len(sees) == sum(body["counts"].values())
    # Longest idle first.
    idle = [i["idle_days"] for i in body["items"]]
    assert idle == sorted(idle, reverse=True)

    r = await session.get("/api/activity/weekly")
    body = await r.get_json()
    assert {ids[row["account_id"]] for row in body["rows"]} == sees
    assert len(body["weeks"]) == 12


async def test_activity_filtered_by_state(app, sender, spread):
    session = await login_as(app, sender, "supervisor")
    body = await (await session.get("/api/activity?state=warn")).get_json()
    assert {i["account_id"] for i in body["items"]} == {
        spread["rsj_warn"].id,
        spread["gjj_warn"].id,
    }
    assert body["counts"] == {"ok": 1, "warn": 2, "fail": 1, "zombie": 1}
    item = next(i for i in body["items"] if i["account_id"] == spread["rsj_warn"].id)
    assert (item["days_since_last"], item["state_label"]) == (8, "预警")

    body = await (await session.get("/api/activity?state=fail,zombie")).get_json()
    assert {i["state"] for i in body["items"]} == {"fail", "zombie"}

    r = await session.get("/api/activity?state=dead")
    assert r.status_code == 400
    assert (await r.get_json())["error"]["code"] == "bad_field"


async def test_history_only_for_readable_accounts(app, sender, spread, deps):
    await monitor.record_daily_activity(deps)
    editor = await login_as(app, sender, "editor")
    r = await editor.get(f"/api/accounts/{spread['rsj_warn'].id}/activity/history")
    assert r.status_code == 200
    body = await r.get_json()
    assert body["items"] == [
        {"day": "2026-11-23", "days_since_last": 8, "posts_7d": 0, "state": "warn"}
    ]
    r = await editor.get(f"/api/accounts/{spread['hx_fail'].id}/activity/history")
    assert r.status_code == 403
    r = await editor.get("/api/accounts/999999/activity/history")
    assert r.status_code == 404

    supervisor = await login_as(app, sender, "supervisor")
    r = await supervisor.get(f"/api/accounts/{spread['hx_fail'].id}/activity/history")
    assert (await r.get_json())["items"][0]["state"] == "fail"


async def test_anonymous_sees_nothing(app, spread):
    client = app.test_client()
    for path in (
        "/api/activity",
        "/api/activity/weekly",
        f"/api/accounts/{spread['rsj_ok'].id}/activity/history",
    ):
        assert (await client.get(path)).status_code == 401
