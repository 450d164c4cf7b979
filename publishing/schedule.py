"""The schedule (排期): what is scheduled and published per account and day, in a week or a
month of Beijing days, with the accounts that have nothing this week (the weekly minimum,
002 §11) and the repost tasks falling due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tortoise.expressions import Q

from accounts.models import PLATFORMS, Account, Post
from accounts.monitor import visible_accounts
from infra.clock import beijing_date, beijing_midnight, to_local
from infra.deps import Deps
from infra.errors import DomainError, Forbidden
from org.access import Actor
from publishing.models import PUBLICATION_STATUSES, Publication, RepostTask

VIEWS = {"week": "周", "month": "月"}
# Who reads the schedule (the console shows its links to them alone).
READERS = ("editor", "reviewer", "leader", "supervisor", "admin")
WEEKDAYS = "一二三四五六日"
# How an item looks on the calendar: the publication statuses, and posts recorded by hand.
TONES = {
    "due": "planned",
    "publishing": "busy",
    "submitted": "busy",
    "manual": "attention",
    "needs_check": "attention",
    "published": "done",
    "failed": "bad",
    "recorded": "done",
}


@dataclass
class Item:
    day: dt.date
    time: str  # HH:MM Beijing
    title: str
    account_id: int
    account_name: str
    platform: str
    status: str
    status_label: str
    tone: str
    draft_id: int | None = None
    url: str = ""
    reason: str = ""


@dataclass
class Day:
    date: dt.date
    in_range: bool  # a month view's leading and trailing days of other months are not
    items: list[Item] = field(default_factory=list)
    tasks: list[RepostTask] = field(default_factory=list)


@dataclass
class Schedule:
    view: str
    start: dt.date  # first day shown (a Monday)
    end: dt.date  # last day shown (a Sunday)
    anchor: dt.date
    today: dt.date
    days: list[Day]
    idle_accounts: list[Account]  # nothing scheduled or published in the current week
    accounts: list[Account]  # what the filters may pick
    counts: dict[str, int]

    @property
    def weeks(self) -> list[list[Day]]:
        return [self.days[i : i + 7] for i in range(0, len(self.days), 7)]

    @property
    def previous(self) -> dt.date:
        if self.view == "week":
            return self.anchor - dt.timedelta(days=7)
        return (self.anchor.replace(day=1) - dt.timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> dt.date:
        if self.view == "week":
            return self.anchor + dt.timedelta(days=7)
        return (self.anchor.replace(day=28) + dt.timedelta(days=4)).replace(day=1)

    @property
    def title(self) -> str:
        if self.view == "week":
            return f"{self.start:%Y年%-m月%-d日} 至 {self.end:%-m月%-d日}"
        return f"{self.anchor:%Y年%-m月}"


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def span(view: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day shown: a Monday-to-Sunday week, or the whole weeks of a month."""
    if view == "week":
        start = _monday(anchor)
        return start, start + dt.timedelta(days=6)
    first = anchor.replace(day=1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return _monday(first), _monday(last) + dt.timedelta(days=6)


def parse_filters(args: dict[str, Any], today: dt.date) -> dict[str, Any]:
    view = args.get("view") or "week"
    if view not in VIEWS:
        raise DomainError("bad_field", "视图只能是周或月", field="view")
    raw = (args.get("date") or "").strip()
    try:
        anchor = dt.date.fromisoformat(raw) if raw else today
    except ValueError:
        raise DomainError("bad_field", "日期格式应为 2026-12-01", field="date") from None
    out: dict[str, Any] = {"view": view, "anchor": anchor}
    for key, label in (("unit_id", "单位"), ("account_id", "账号")):
        value = (args.get(key) or "").strip()
        if value:
            if not value.isdigit():
                raise DomainError("bad_field", f"{label}编号格式不正确", field=key)
            out[key] = int(value)
    platform = (args.get("platform") or "").strip()
    if platform:
        if platform not in PLATFORMS:
            raise DomainError("bad_field", f"未知平台：{platform}", field="platform")
        out["platform"] = platform
    return out


async def build_schedule(deps: Deps, actor: Actor, args: dict[str, Any]) -> Schedule:
    if not actor.has(*READERS):
        raise Forbidden("只有编辑、审核员、领导、督查人员和管理员可以查看排期")
    today = deps.clock.today()
    f = parse_filters(args, today)
    start, end = span(f["view"], f["anchor"])
    everyone = await (await visible_accounts(actor)).order_by("unit_id", "platform", "id")
    accounts = [
        a
        for a in everyone
        if ("unit_id" not in f or a.unit_id == f["unit_id"])  # type: ignore[attr-defined]
        and ("platform" not in f or a.platform == f["platform"])
    ]
    shown = [a for a in accounts if "account_id" not in f or a.id == f["account_id"]]
    by_id = {a.id: a for a in shown}
    since, until = beijing_midnight(start), beijing_midnight(end + dt.timedelta(days=1))

    days = [Day(start + dt.timedelta(days=i), True) for i in range((end - start).days + 1)]
    if f["view"] == "month":
        for d in days:
            d.in_range = d.date.month == f["anchor"].month
    index = {d.date: d for d in days}
    counts = dict.fromkeys(TONES.values(), 0)

    pubs = (
        await Publication.filter(
            account_id__in=list(by_id), scheduled_at__gte=since, scheduled_at__lt=until
        )
        .exclude(status="cancelled")
        .select_related("draft")
    )
    for p in pubs:
        when = to_local(p.published_at or p.scheduled_at)
        account = by_id[p.account_id]  # type: ignore[attr-defined]
        item = Item(
            day=beijing_date(p.scheduled_at),
            time=f"{when:%H:%M}",
            title=p.draft.title,
            account_id=account.id,
            account_name=account.name,
            platform=account.platform,
            status=p.status,
            status_label=PUBLICATION_STATUSES[p.status],
            tone=TONES[p.status],
            draft_id=p.draft.id,
            url=p.url,
            reason=p.reason,
        )
        index[item.day].items.append(item)
        counts[item.tone] += 1
    # Posts recorded by hand or imported; the drafts' own posts are shown as their drafts.
    posts = await Post.filter(
        Q(external_id__isnull=True) | ~Q(external_id__startswith="draft-"),
        account_id__in=list(by_id),
        published_at__gte=since,
        published_at__lt=until,
    )
    for post in posts:
        account = by_id[post.account_id]  # type: ignore[attr-defined]
        item = Item(
            day=beijing_date(post.published_at),
            time=f"{to_local(post.published_at):%H:%M}",
            title=post.title,
            account_id=account.id,
            account_name=account.name,
            platform=account.platform,
            status="recorded",
            status_label="已发布（登记）",
            tone="done",
            url=post.url,
        )
        index[item.day].items.append(item)
        counts["done"] += 1
    for d in days:
        d.items.sort(key=lambda i: (i.time, i.account_name))

    unit_ids = {a.unit_id for a in shown}  # type: ignore[attr-defined]
    tasks = (
        await RepostTask.filter(
            status="open", unit_id__in=list(unit_ids), due_at__gte=since, due_at__lt=until
        )
        .select_related("source")
        .order_by("due_at")
    )
    for t in tasks:
        index[beijing_date(t.due_at)].tasks.append(t)

    return Schedule(
        view=f["view"],
        start=start,
        end=end,
        anchor=f["anchor"],
        today=today,
        days=days,
        idle_accounts=await idle_this_week(deps, shown),
        accounts=accounts,
        counts=counts,
    )


async def idle_this_week(deps: Deps, accounts: list[Account]) -> list[Account]:
    """Accounts with nothing published and nothing scheduled in the current Beijing week: each
    must post at least once a week (002 §11)."""
    monday = _monday(deps.clock.today())
    since = beijing_midnight(monday)
    until = beijing_midnight(monday + dt.timedelta(days=7))
    ids = [a.id for a in accounts]
    busy = set(
        await Post.filter(
            account_id__in=ids, published_at__gte=since, published_at__lt=until
        ).values_list("account_id", flat=True)
    )
    busy |= set(
        await Publication.filter(
            account_id__in=ids,
            scheduled_at__gte=since,
            scheduled_at__lt=until,
            status__not_in=("cancelled", "failed"),
        ).values_list("account_id", flat=True)
    )
    return [a for a in accounts if a.id not in busy and a.status == "active"]
