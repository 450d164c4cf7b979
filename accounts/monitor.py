"""The activity monitor: how long each live account has gone without a post.

002 §11 asks for at least one post a week; 国办秘函〔2019〕19号 fails an account outright (单项否决)
after two weeks without an update and calls three months idle a zombie account. The thresholds are
settings (activity_warn_days / _fail_days / _zombie_days).

Days are Shanghai calendar days. Posts are only ever counted by grouped SQL over the
(account_id, published_at) index: no post row comes into Python, so the daily job over every
account is one query for the accounts, one for the posts and a batched upsert of the snapshots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Max
from tortoise.queryset import QuerySet, ValuesQuery
from tortoise.transactions import in_transaction

from accounts.models import LIVE_STATUSES, Account, ActivitySnapshot, Post
from infra.clock import Clock, beijing_date, beijing_midnight
from infra.deps import Deps
from infra.settings import Settings
from org.access import Actor
from org.models import Unit

# An account still being applied for has nothing to publish on yet.
MONITORED_STATUSES = sorted(LIVE_STATUSES - {"applying"})
STATES = {"ok": "正常", "warn": "预警", "fail": "不合格", "zombie": "僵尸账号"}
AVERAGE_WEEKS = 12
# Bound on ids per statement: SQLite and asyncpg both cap bound parameters near 32,000.
ID_CHUNK = 5000
SNAPSHOT_BATCH = 1000

AccountsArg = QuerySet[Account] | Iterable[int] | None


@dataclass(frozen=True)
class Activity:
    account_id: int
    code: str
    name: str
    platform: str
    unit_id: int
    unit_name: str
    status: str
    last_post_at: dt.datetime | None
    days_since_last: int | None  # None: never posted
    # What the state is judged on: days since the last post, or since opening if none yet.
    idle_days: int
    posts_7d: int
    posts_per_week: float  # average over the last AVERAGE_WEEKS weeks
    state: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_post_at"] = self.last_post_at.isoformat() if self.last_post_at else None
        data["state_label"] = STATES[self.state]
        return data


@dataclass(frozen=True)
class Week:
    start: dt.date  # Monday
    end: dt.date  # Sunday
    in_progress: bool


@dataclass(frozen=True)
class WeeklyRow:
    account_id: int
    code: str
    name: str
    unit_id: int
    counts: list[int]  # one per week, oldest first
    # True: at least one post. False: a whole week while open without one. None: not judged
    # (the week is still running, or the account was not open for all of it) and no post.
    met: list[bool | None]

    @property
    def weeks_met(self) -> int:
        return sum(1 for m in self.met if m is True)

    @property
    def weeks_missed(self) -> int:
        return sum(1 for m in self.met if m is False)


@dataclass(frozen=True)
class WeeklyTable:
    weeks: list[Week]
    rows: list[WeeklyRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "weeks": [
                {
                    "start": w.start.isoformat(),
                    "end": w.end.isoformat(),
                    "in_progress": w.in_progress,
                }
                for w in self.weeks
            ],
            "rows": [
                {
                    "account_id": r.account_id,
                    "code": r.code,
                    "name": r.name,
                    "unit_id": r.unit_id,
                    "counts": r.counts,
                    "met": r.met,
                    "weeks_met": r.weeks_met,
                    "weeks_missed": r.weeks_missed,
                }
                for r in self.rows
            ],
        }


def classify(idle_days: int, settings: Settings) -> str:
    if idle_days >= settings.activity_zombie_days:
        return "zombie"
    if idle_days >= settings.activity_fail_days:
        return "fail"
    if idle_days >= settings.activity_warn_days:
        return "warn"
    return "ok"


def _aware(moment: dt.datetime | str) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _opened_day(row: dict[str, Any]) -> dt.date:
    return row["opened_on"] or beijing_date(row["created_at"])


_ACCOUNT_FIELDS = (
    "id",
    "code",
    "name",
    "platform",
    "unit_id",
    "unit__name",
    "status",
    "opened_on",
    "created_at",
)


def _account_querysets(accounts: AccountsArg) -> Iterable[QuerySet[Account]]:
    if accounts is None:
        yield Account.all()
    elif isinstance(accounts, QuerySet):
        yield accounts
    else:
        ids = sorted(set(accounts))
        for i in range(0, len(ids), ID_CHUNK):
            yield Account.filter(id__in=ids[i : i + ID_CHUNK])


def activity_stats_query(accounts: QuerySet[Account], today: dt.date) -> ValuesQuery:
    """One grouped pass over these accounts' posts up to the end of ``today``: the latest post,
    the posts of the last 7 days and of the last AVERAGE_WEEKS weeks."""
    end = beijing_midnight(today + dt.timedelta(days=1))
    since_7d = beijing_midnight(today - dt.timedelta(days=6))
    since_avg = beijing_midnight(today - dt.timedelta(days=7 * AVERAGE_WEEKS - 1))
    return (
        Post.filter(account_id__in=Subquery(accounts.values("id")), published_at__lt=end)
        .annotate(
            last=Max("published_at"),
            n7=Count("id", _filter=Q(published_at__gte=since_7d)),
            n_avg=Count("id", _filter=Q(published_at__gte=since_avg)),
        )
        .group_by("account_id")
        .values("account_id", "last", "n7", "n_avg")
    )


async def account_activity(
    deps: Deps, accounts: AccountsArg = None, today: dt.date | None = None
) -> list[Activity]:
    """Activity of the monitored accounts among ``accounts`` (all by default), by account id.

    ``accounts`` is a queryset of Account or some account ids; accounts that are not live, or
    still being applied for, are left out.
    """
    today = today or deps.clock.today()
    result: list[Activity] = []
    for qs in _account_querysets(accounts):
        qs = qs.filter(status__in=MONITORED_STATUSES)
        rows = await qs.order_by("id").values(*_ACCOUNT_FIELDS)
        if not rows:
            continue
        stats = await activity_stats_query(qs, today)
        by_account = {s["account_id"]: s for s in stats}
        for row in rows:
            s = by_account.get(row["id"])
            last = _aware(s["last"]) if s and s["last"] else None
            days_since = (today - beijing_date(last)).days if last else None
            idle = days_since if days_since is not None else (today - _opened_day(row)).days
            idle = max(idle, 0)
            result.append(
                Activity(
                    account_id=row["id"],
                    code=row["code"],
                    name=row["name"],
                    platform=row["platform"],
                    unit_id=row["unit_id"],
                    unit_name=row["unit__name"],
                    status=row["status"],
                    last_post_at=last,
                    days_since_last=days_since,
                    idle_days=idle,
                    posts_7d=int(s["n7"]) if s else 0,
                    posts_per_week=round((int(s["n_avg"]) if s else 0) / AVERAGE_WEEKS, 2),
                    state=classify(idle, deps.settings),
                )
            )
    return result


async def record_daily_activity(deps: Deps, day: dt.date | None = None) -> int:
    """Write the day's snapshot of every monitored account; returns how many were written.

    Idempotent and safe to run from several workers at once: rows are upserted on the
    (account, day) unique key, so a rerun rewrites the day's figures instead of adding rows.
    """
    day = day or deps.clock.today()
    activities = await account_activity(deps, None, today=day)
    snapshots = [
        ActivitySnapshot(
            account_id=a.account_id,
            day=day,
            days_since_last=a.days_since_last,
            posts_7d=a.posts_7d,
            state=a.state,
        )
        for a in activities
    ]
    async with in_transaction():
        # An account closed since an earlier run today is no longer monitored on this day.
        await (
            ActivitySnapshot.filter(day=day)
            .exclude(
                account_id__in=Subquery(Account.filter(status__in=MONITORED_STATUSES).values("id"))
            )
            .delete()
        )
        await ActivitySnapshot.bulk_create(
            snapshots,
            batch_size=SNAPSHOT_BATCH,
            on_conflict=["account_id", "day"],
            update_fields=["days_since_last", "posts_7d", "state"],
        )
    return len(snapshots)


def week_starts(today: dt.date, weeks: int) -> list[dt.date]:
    """Mondays of the ``weeks`` weeks ending with the one containing ``today``, oldest first."""
    monday = today - dt.timedelta(days=today.weekday())
    return [monday - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def weekly_counts_query(
    accounts: QuerySet[Account], starts: list[dt.date], today: dt.date
) -> ValuesQuery:
    """One grouped pass: each account's posts in each week beginning on ``starts`` (w0, w1, ..)."""
    bounds = [beijing_midnight(s) for s in starts]
    # The running week counts up to the end of today, like the daily figures.
    bounds.append(beijing_midnight(today + dt.timedelta(days=1)))
    counts = {
        f"w{i}": Count("id", _filter=Q(published_at__gte=bounds[i], published_at__lt=bounds[i + 1]))
        for i in range(len(starts))
    }
    return (
        Post.filter(
            account_id__in=Subquery(accounts.values("id")),
            published_at__gte=bounds[0],
            published_at__lt=bounds[-1],
        )
        .annotate(**counts)
        .group_by("account_id")
        .values("account_id", *counts)
    )


async def weekly_compliance(
    deps: Deps, account_ids: Sequence[int], weeks: int = 12, today: dt.date | None = None
) -> WeeklyTable:
    """Posts per Monday-based Shanghai week for each account, and whether each week had one."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    today = today or deps.clock.today()
    starts = week_starts(today, weeks)
    table_weeks = [
        Week(start=s, end=s + dt.timedelta(days=6), in_progress=i == weeks - 1)
        for i, s in enumerate(starts)
    ]
    rows: list[WeeklyRow] = []
    for qs in _account_querysets(account_ids):
        accounts = await qs.order_by("id").values(
            "id", "code", "name", "unit_id", "opened_on", "created_at"
        )
        if not accounts:
            continue
        stats = await weekly_counts_query(qs, starts, today)
        by_account = {s["account_id"]: s for s in stats}
        for acc in accounts:
            s = by_account.get(acc["id"])
            week_counts = [int(s[f"w{i}"]) if s else 0 for i in range(weeks)]
            opened = _opened_day(acc)
            met: list[bool | None] = []
            for week, n in zip(table_weeks, week_counts, strict=True):
                if n > 0:
                    met.append(True)
                elif week.in_progress or week.start < opened:
                    met.append(None)
                else:
                    met.append(False)
            rows.append(
                WeeklyRow(
                    account_id=acc["id"],
                    code=acc["code"],
                    name=acc["name"],
                    unit_id=acc["unit_id"],
                    counts=week_counts,
                    met=met,
                )
            )
    return WeeklyTable(weeks=table_weeks, rows=rows)


async def activity_history(
    account_id: int, days: int = 90, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """The account's daily snapshots over the ``days`` days ending ``today``, oldest first."""
    today = today or Clock().today()
    since = today - dt.timedelta(days=days - 1)
    rows = await (
        ActivitySnapshot.filter(account_id=account_id, day__gte=since, day__lte=today)
        .order_by("day")
        .values("day", "days_since_last", "posts_7d", "state")
    )
    return [{**r, "day": r["day"].isoformat()} for r in rows]


async def visible_accounts(actor: Actor) -> QuerySet[Account]:
    """The monitored accounts whose unit the actor may read (org.access decides)."""
    qs = Account.filter(status__in=MONITORED_STATUSES)
    units = await Unit.all().values_list("id", "path")
    readable = [uid for uid, path in units if actor.reads_unit(path)]
    if len(readable) == len(units):
        return qs
    return qs.filter(unit_id__in=readable)
