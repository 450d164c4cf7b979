"""Scores of accounts and units for a period, each point lost with its evidence.

Everything is read as it stood at the check: the moment the period ends (Beijing midnight after
its last day). Records carry the times needed for that (published, confirmed, cleared, removed,
replied, rated), so a report rebuilt later gives the same figures. Counts are taken with grouped
queries over all accounts at once: a patrol of ten thousand accounts is a handful of queries.

Evidence names posts, letters (by tracking code, never by writer), tasks and entries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count

from accounts.models import Account, Filing, Post
from accounts.monitor import MONITORED_STATUSES
from accounts.service import account_warnings
from infra.clock import beijing_date, beijing_midnight
from knowledge.models import Ask, Entry
from letters.models import Letter, Rating
from org.models import Unit
from publishing.models import Publication, RepostTask
from supervision.rubric import DEDUCTIONS, veto_label

EVIDENCE_LIMIT = 20  # per item; the count is always whole


@dataclass
class Evidence:
    kind: str  # post | letter | task | entry | week | account
    ref: str  # the id or code people follow
    label: str
    at: str = ""  # ISO date or time


@dataclass
class Finding:
    code: str
    label: str
    count: int = 0
    points: float = 0.0  # points lost, after the cap
    evidence: list[Evidence] = field(default_factory=list)

    def add(self, ev: Evidence) -> None:
        self.count += 1
        if len(self.evidence) < EVIDENCE_LIMIT:
            self.evidence.append(ev)


@dataclass
class AccountScore:
    account_id: int
    name: str
    platform: str
    unit_id: int
    unit_name: str
    status: str
    posts: int = 0
    vetoes: list[Finding] = field(default_factory=list)
    deductions: list[Finding] = field(default_factory=list)
    score: float = 100.0
    passed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class UnitScore:
    unit_id: int
    unit_name: str
    accounts: int
    passed: int
    score: float
    vetoed: int
    rank: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_moment(end: dt.date) -> dt.datetime:
    return beijing_midnight(end + dt.timedelta(days=1))


def _date(moment: dt.datetime | None) -> str:
    return beijing_date(moment).isoformat() if moment else ""


def whole_weeks(start: dt.date, end: dt.date) -> list[dt.date]:
    """The Mondays of the Monday-to-Sunday weeks lying wholly within the period."""
    monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
    weeks = []
    while monday + dt.timedelta(days=6) <= end:
        weeks.append(monday)
        monday += dt.timedelta(days=7)
    return weeks


async def accounts_checked(end: dt.date, unit_ids: list[int] | None = None) -> list[Account]:
    """Accounts monitored at the check that were open before it."""
    qs = Account.filter(status__in=MONITORED_STATUSES).filter(
        Q(opened_on__isnull=True) | Q(opened_on__lte=end)
    )
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=unit_ids)
    return await qs.order_by("unit_id", "platform", "id")


async def score_accounts(
    start: dt.date, end: dt.date, rubric: dict[str, Any], accounts: list[Account]
) -> list[AccountScore]:
    check = check_moment(end)
    since = beijing_midnight(start)
    ids = [a.id for a in accounts]
    units = {u.id: u for u in await Unit.filter(id__in={a.unit_id for a in accounts})}  # type: ignore[attr-defined]
    scores = {
        a.id: AccountScore(
            account_id=a.id,
            name=a.name,
            platform=a.platform,
            unit_id=a.unit_id,  # type: ignore[attr-defined]
            unit_name=units[a.unit_id].name,  # type: ignore[attr-defined]
            status=a.status,
        )
        for a in accounts
    }
    found: dict[int, dict[str, Finding]] = defaultdict(dict)

    def finding(account_id: int, code: str, label: str) -> Finding:
        return found[account_id].setdefault(code, Finding(code, label))

    by_unit: dict[int, list[int]] = defaultdict(list)
    for a in accounts:
        by_unit[a.unit_id].append(a.id)  # type: ignore[attr-defined]

    # ---- posts in the period, by account and by week
    weeks = whole_weeks(start, end)
    rows = await Post.filter(
        account_id__in=ids, published_at__gte=since, published_at__lt=check
    ).values_list("account_id", "published_at")
    week_posts: dict[int, set[dt.date]] = defaultdict(set)
    for account_id, at in rows:
        scores[account_id].posts += 1
        day = beijing_date(at)
        week_posts[account_id].add(day - dt.timedelta(days=day.weekday()))
    vetoes, deductions = rubric["vetoes"], rubric["deductions"]

    # ---- veto: no post in the N days before the check
    if vetoes["no_post"]["on"]:
        days = vetoes["no_post"]["days"]
        window = check - dt.timedelta(days=days)
        recent = set(
            await Post.filter(account_id__in=ids, published_at__gte=window, published_at__lt=check)
            .distinct()
            .values_list("account_id", flat=True)
        )
        last = dict(
            await Post.filter(account_id__in=ids, published_at__lt=check)
            .group_by("account_id")
            .annotate(n=Count("id"))
            .values_list("account_id", "n")
        )
        for a in accounts:
            opened_long_enough = a.opened_on is None or a.opened_on <= beijing_date(window)
            if a.id not in recent and opened_long_enough:
                f = finding(a.id, "no_post", veto_label("no_post", rubric))
                f.add(
                    Evidence(
                        "account", str(a.id), f"累计发布 {last.get(a.id, 0)} 条，近{days}天 0 条"
                    )
                )

    # ---- veto: serious content errors confirmed by a reviewer
    if vetoes["serious_error"]["on"]:
        for p in await Post.filter(
            account_id__in=ids, serious=True, confirmed_at__gte=since, confirmed_at__lt=check
        ):
            finding(p.account_id, "serious_error", veto_label("serious_error", rubric)).add(  # type: ignore[attr-defined]
                Evidence("post", str(p.id), p.title, _date(p.confirmed_at))
            )

    # ---- veto: poor interaction
    if vetoes["poor_interaction"]["on"]:
        v = vetoes["poor_interaction"]
        overdue = (
            await Letter.filter(
                Q(replied_at__isnull=True) | Q(replied_at__gte=check),
                account_id__in=ids,
                received_at__lt=check,
                due_on__lt=end + dt.timedelta(days=1),
            )
            .exclude(status="declined")
            .values("account_id", "code", "due_on")
        )
        late: dict[int, list[dict]] = defaultdict(list)
        for row in overdue:
            late[row["account_id"]].append(row)
        stale = dict(
            await Ask.filter(
                account_id__in=ids,
                decision="none",
                resolved__isnull=True,
                asked_at__lt=check - dt.timedelta(days=v["unanswered_days"]),
            )
            .group_by("account_id")
            .annotate(n=Count("id"))
            .values_list("account_id", "n")
        )
        for a in accounts:
            letters_late = late.get(a.id, [])
            asks = stale.get(a.id, 0)
            if len(letters_late) >= v["overdue_letters"] > 0 or asks >= v["asks"] > 0:
                f = finding(a.id, "poor_interaction", veto_label("poor_interaction", rubric))
                for row in letters_late:
                    f.add(Evidence("letter", row["code"], "留言逾期未答复", str(row["due_on"])))
                if asks >= v["asks"]:
                    f.add(
                        Evidence(
                            "asks",
                            str(a.id),
                            f"{asks} 个群众提问超过{v['unanswered_days']}天未回应",
                        )
                    )

    # ---- veto: opened without an approved filing
    if vetoes["unfiled"]["on"]:
        legacy = dt.date.fromisoformat(vetoes["unfiled"]["legacy_before"])
        filed = set(
            await Filing.filter(
                account_id__in=ids, kind="open", status="approved", decided_at__lt=check
            ).values_list("account_id", flat=True)
        )
        for a in accounts:
            if a.id not in filed and not (a.opened_on and a.opened_on < legacy):
                finding(a.id, "unfiled", veto_label("unfiled", rubric)).add(
                    Evidence("account", str(a.id), "无已批准的开设备案")
                )

    # ---- deductions
    def deduct(account_id: int, code: str, ev: Evidence) -> None:
        finding(account_id, code, DEDUCTIONS[code]).add(ev)

    for a in accounts:
        opened = a.opened_on
        for monday in weeks:
            if opened and opened > monday:
                continue
            if monday not in week_posts.get(a.id, set()):
                sunday = monday + dt.timedelta(days=6)
                deduct(
                    a.id,
                    "weekly_minimum",
                    Evidence(
                        "week",
                        monday.isoformat(),
                        f"{monday:%-m月%-d日}至{sunday:%-m月%-d日}未更新",
                        monday.isoformat(),
                    ),
                )

    for p in await Post.filter(
        account_id__in=ids, published_at__gte=since, published_at__lt=check, is_repost=True,
        source_name="",
    ):  # fmt: skip
        deduct(
            p.account_id,
            "repost_no_source",
            Evidence("post", str(p.id), p.title, _date(p.published_at)),
        )  # type: ignore[attr-defined]

    unhandled = await Post.filter(
        Q(review_status="flagged")
        | Q(cleared_at__gte=check)
        | (Q(confirmed_at__lt=check) & (Q(removed_at__isnull=True) | Q(removed_at__gte=check))),
        account_id__in=ids,
        created_at__lt=check,
    ).exclude(review_status="ok")
    for p in unhandled:
        if p.review_status == "flagged" or p.confirmed_at or p.cleared_at:
            deduct(
                p.account_id,
                "ads_unhandled",
                Evidence("post", str(p.id), p.title, _date(p.published_at)),
            )  # type: ignore[attr-defined]

    unit_ids = list(by_unit)
    tasks = await RepostTask.filter(
        unit_id__in=unit_ids, urgent=True, due_at__gte=since, due_at__lt=check
    )
    done_at: dict[int, dt.datetime] = {}
    drafts = [t.draft_id for t in tasks if t.draft_id]  # type: ignore[attr-defined]
    for draft_id, published in await Publication.filter(
        draft_id__in=drafts, status="published"
    ).values_list("draft_id", "published_at"):
        if published and (draft_id not in done_at or published < done_at[draft_id]):
            done_at[draft_id] = published
    for t in tasks:
        finished = done_at.get(t.draft_id) if t.draft_id else None  # type: ignore[attr-defined]
        if t.status == "dismissed" or (finished and finished <= t.due_at):
            continue
        for account_id in by_unit[t.unit_id]:  # type: ignore[attr-defined]
            deduct(
                account_id,
                "urgent_task_missed",
                Evidence("task", str(t.id), t.title, _date(t.due_at)),
            )

    for row in await Letter.filter(
        account_id__in=ids, replied_at__gte=since, replied_at__lt=check
    ).values("account_id", "code", "due_on", "replied_at"):
        if row["due_on"] and beijing_date(row["replied_at"]) > row["due_on"]:
            deduct(
                row["account_id"],
                "letter_late",
                Evidence("letter", row["code"], "逾期答复", _date(row["replied_at"])),
            )

    for row in await Rating.filter(
        satisfied=False, at__gte=since, at__lt=check, letter__account_id__in=ids
    ).values("letter__account_id", "letter__code", "at"):
        deduct(
            row["letter__account_id"],
            "dissatisfied",
            Evidence("letter", row["letter__code"], "群众评价不满意", _date(row["at"])),
        )

    names = defaultdict(list)
    for a in accounts:
        names[a.unit_id].append((a.id, a.name))  # type: ignore[attr-defined]
    for a in accounts:
        for warning in await account_warnings(a, units[a.unit_id], names[a.unit_id]):  # type: ignore[attr-defined]
            deduct(a.id, "name_warning", Evidence("account", str(a.id), warning))

    for e in await Entry.filter(
        unit_id__in=unit_ids, status="published", review_by__lt=end + dt.timedelta(days=1)
    ).values("id", "unit_id", "question", "review_by"):
        for account_id in by_unit[e["unit_id"]]:
            deduct(
                account_id,
                "kb_stale",
                Evidence("entry", str(e["id"]), e["question"][:60], str(e["review_by"])),
            )

    # ---- totals
    for account_id, s in scores.items():
        lost = 0.0
        for code, f in found[account_id].items():
            if code in rubric["vetoes"]:
                s.vetoes.append(f)
                continue
            rule = deductions[code]
            f.points = min(f.count * rule["points"], rule["cap"])
            lost += f.points
            s.deductions.append(f)
        s.score = round(max(0.0, 100.0 - lost), 1)
        s.passed = not s.vetoes and s.score >= rubric["pass_score"]
    return list(scores.values())


def roll_up(scores: list[AccountScore], rubric: dict[str, Any]) -> list[UnitScore]:
    """Each unit's score from its accounts' (the mean or the worst), ranked best first."""
    groups: dict[int, list[AccountScore]] = defaultdict(list)
    for s in scores:
        groups[s.unit_id].append(s)
    units = []
    for unit_id, items in groups.items():
        values = [0.0 if s.vetoes else s.score for s in items]
        score = min(values) if rubric["rollup"] == "worst" else sum(values) / len(values)
        units.append(
            UnitScore(
                unit_id=unit_id,
                unit_name=items[0].unit_name,
                accounts=len(items),
                passed=sum(1 for s in items if s.passed),
                score=round(score, 1),
                vetoed=sum(1 for s in items if s.vetoes),
            )
        )
    units.sort(key=lambda u: (-u.score, u.unit_name))
    rank = 0
    for i, u in enumerate(units):
        if i == 0 or u.score != units[i - 1].score:
            rank = i + 1
        u.rank = rank
    return units
