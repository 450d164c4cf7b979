"""The annual report of each account (年度报表, 004 §13(五)), due by 31 January for the year
before: publishing (posts, originals, reposts), interaction (questions the bot answered,
letters received and replied, the average days to reply), reach (followers and reads) and
mechanisms.

In January the worker drafts one report per account live in the year with the figures counted
from the records; the unit's editors enter what no record holds (followers and reads where the
platform gives no figure, the mechanisms as free text) and submit it; a reviewer of the unit or
a leader above it, never someone who filled it in, publishes it or returns it with a reason. A
published report is read-only. From 15 January the units with reports not yet published get one
SMS a working day. Every step is audited and conditional on the version read.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count

from accounts.models import Account, Filing, Post
from accounts.monitor import MONITORED_STATUSES
from infra.clock import beijing_date, beijing_midnight, to_local
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.fields import text_field
from infra.notify import mask_mobile
from knowledge.models import Ask
from letters.models import Letter
from org.access import Actor
from org.audit import record_audit
from org.models import Staff
from supervision.models import ANNUAL_STATUSES, AnnualReminder, AnnualReport

# The figures counted from the records, in the order the page and the export show them.
FIGURES = {
    "posts": "发布信息",
    "originals": "原创",
    "reposts": "转载",
    "asks": "机器人收到提问",
    "answered": "机器人直接解答",
    "letters": "收到留言",
    "replied": "已答复留言",
    "avg_reply_days": "平均答复天数（自然日）",
    "avg_reply_workdays": "平均答复天数（工作日）",
}
# Figures a platform may give; where it gives none, the unit enters them.
ENTERED = {"followers": "粉丝（关注）数", "reads": "全年阅读量"}
EDITABLE = ("draft", "returned")
# Who reads the annual reports (the console shows its links to them alone).
READERS = ("editor", "reviewer", "leader", "supervisor")
EVENT_LABELS = {
    "create": "生成草稿",
    "fill": "填报",
    "submit": "提交审核",
    "return": "退回修改",
    "publish": "审核通过并公开",
}
DUE = (1, 31)  # month, day of the year after: the report is public by then
REMIND_FROM = (1, 15)
REMIND_HOUR = 9  # Beijing: no SMS in the night when the hourly job first runs on a day
MAX_FIGURE = 10**13
CHUNK = 500  # ids per IN (...): SQLite's variable limit


def check_year(value: Any) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise DomainError("bad_field", "年份格式应为 2026", field="year") from None
    if not 2000 <= year <= 2100:
        raise DomainError("bad_field", "年份格式应为 2026", field="year")
    return year


def _bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return beijing_midnight(dt.date(year, 1, 1)), beijing_midnight(dt.date(year + 1, 1, 1))


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def due_date(year: int) -> dt.date:
    return dt.date(year + 1, *DUE)


# ------------------------------------------------------------------ the figures


async def accounts_of_year(year: int) -> list[Account]:
    """Accounts live at some time in the year: opened by its end and not closed before it."""
    since, until = _bounds(year)
    opened = Q(opened_on__lte=dt.date(year, 12, 31)) | Q(
        opened_on__isnull=True, created_at__lt=until
    )
    live = await Account.filter(opened, status__in=MONITORED_STATUSES)
    gone = await Account.filter(opened, status__in=("closed", "cancelled"))
    if gone:
        closed_at: dict[int, dt.datetime] = {}
        rows = await Filing.filter(
            account_id__in=[a.id for a in gone], kind__in=("close", "cancel"), status="approved"
        ).values_list("account_id", "decided_at")
        for account_id, at in rows:
            if at is not None and (account_id not in closed_at or at < closed_at[account_id]):
                closed_at[account_id] = at
        # An account closed on the paper register has no filing: its last change stands in.
        live += [a for a in gone if closed_at.get(a.id, a.updated_at) >= since]
    return sorted(live, key=lambda a: (a.unit_id, a.platform, a.id))  # type: ignore[attr-defined]


def empty_figures() -> dict[str, Any]:
    out: dict[str, Any] = {k: 0 for k in FIGURES}
    out["avg_reply_days"] = out["avg_reply_workdays"] = None
    return out


async def count_figures(deps: Deps, year: int, account_ids: list[int]) -> dict[int, dict]:
    """The year's figures of each account, as the records stand now, in grouped queries.

    Posts taken down (a confirmed ad or serious error) do not count. A letter counts in the
    year it was received; its days to reply run from the day received to the day replied
    (Beijing dates), in calendar days and in working days on the official calendar."""
    since, until = _bounds(year)
    out = {i: empty_figures() for i in account_ids}
    days: dict[int, list[int]] = defaultdict(list)
    workdays: dict[int, list[int]] = defaultdict(list)
    for ids in _chunks(account_ids):
        posts = (
            await Post.filter(
                account_id__in=ids,
                published_at__gte=since,
                published_at__lt=until,
                removed_at__isnull=True,
            )
            .group_by("account_id", "is_repost")
            .annotate(n=Count("id"))
            .values_list("account_id", "is_repost", "n")
        )
        for account_id, repost, n in posts:
            out[account_id]["posts"] += n
            out[account_id]["reposts" if repost else "originals"] += n
        asks = (
            await Ask.filter(account_id__in=ids, asked_at__gte=since, asked_at__lt=until)
            .group_by("account_id", "decision")
            .annotate(n=Count("id"))
            .values_list("account_id", "decision", "n")
        )
        for account_id, decision, n in asks:
            out[account_id]["asks"] += n
            if decision == "answer":
                out[account_id]["answered"] += n
        letters = await Letter.filter(
            account_id__in=ids, received_at__gte=since, received_at__lt=until
        ).values_list("account_id", "received_at", "replied_at")
        for account_id, received, replied in letters:
            out[account_id]["letters"] += 1
            if replied is None:
                continue
            out[account_id]["replied"] += 1
            start, end = beijing_date(received), beijing_date(replied)
            days[account_id].append(max(0, (end - start).days))
            workdays[account_id].append(deps.calendar.working_days_between(start, end))
    for account_id, values in days.items():
        out[account_id]["avg_reply_days"] = round(sum(values) / len(values), 1)
        spent = workdays[account_id]
        out[account_id]["avg_reply_workdays"] = round(sum(spent) / len(spent), 1)
    return out


# ------------------------------------------------------------------ drafting


def _entry(actor: Actor, action: str, now: dt.datetime, note: str = "") -> dict[str, Any]:
    return {
        "at": now.isoformat(),
        "actor_id": actor.staff_id,
        "actor_name": actor.name,
        "action": action,
        "note": note,
    }


async def draft_annual_reports(deps: Deps, year: int, actor: Actor | None = None) -> int:
    """A draft for each account live in the year that has none yet; returns how many were
    made. Idempotent, and safe on several workers at once (one report per year and account)."""
    actor = actor or Actor.system("年度报表")
    if not actor.has("supervisor"):
        raise Forbidden("只有督查人员可以生成年度报表")
    year = check_year(year)
    if dt.date(year, 12, 31) >= deps.clock.today():
        raise DomainError("bad_field", f"{year} 年尚未结束，不能生成年度报表", field="year")
    accounts = await accounts_of_year(year)
    have = set(await AnnualReport.filter(year=year).values_list("account_id", flat=True))
    todo = [a for a in accounts if a.id not in have]
    if not todo:
        return 0
    figures = await count_figures(deps, year, [a.id for a in todo])
    now = deps.clock.now()
    made = 0
    for a in todo:
        try:
            await AnnualReport.create(
                year=year,
                account=a,
                unit_id=a.unit_id,  # type: ignore[attr-defined]
                account_name=a.name,
                platform=a.platform,
                figures=figures[a.id],
                figures_at=now,
                history=[_entry(actor, "create", now)],
                created_at=now,
                updated_at=now,
            )
        except IntegrityError:  # another worker drafted it first
            continue
        made += 1
    if made:
        await record_audit(
            actor,
            "annual.draft",
            clock=deps.clock,
            object_type="annual_report",
            object_id=year,
            summary=f"生成 {year} 年度报表草稿 {made} 份",
        )
    return made


async def annual_drafts_job(deps: Deps) -> int:
    """In January, the drafts of the year before (a worker job; a no-op once all exist)."""
    today = deps.clock.today()
    if today.month != 1:
        return 0
    return await draft_annual_reports(deps, today.year - 1)


# ------------------------------------------------------------------ reading


def _require_reader(actor: Actor) -> None:
    if not actor.has(*READERS):
        raise Forbidden("只有督查人员、领导和本单位编辑审核人员可以查看年度报表")


async def list_annual(actor: Actor, year: int) -> list[AnnualReport]:
    """The year's reports the actor reads: the unit's (leaders: and below), supervisors all."""
    _require_reader(actor)
    qs = actor.scope(AnnualReport.filter(year=check_year(year))).select_related("unit")
    return await qs.order_by("unit_id", "platform", "id")


def status_counts(rows: list[AnnualReport]) -> dict[str, int]:
    counted = Counter(r.status for r in rows)
    return {status: counted.get(status, 0) for status in ANNUAL_STATUSES}


async def report_years() -> list[int]:
    return sorted(
        set(await AnnualReport.all().distinct().values_list("year", flat=True)), reverse=True
    )


async def get_annual(actor: Actor, report_id: Any) -> AnnualReport:
    _require_reader(actor)
    report = (
        await AnnualReport.filter(id=as_id(report_id, "年度报表")).select_related("unit").first()
    )
    if report is None or not actor.reads_unit(report.unit.path):
        raise NotFound("年度报表")
    return report


def history_view(report: AnnualReport) -> list[dict[str, Any]]:
    return [
        {
            **e,
            "at_local": to_local(dt.datetime.fromisoformat(e["at"])).strftime("%Y-%m-%d %H:%M"),
            "label": EVENT_LABELS.get(e["action"], e["action"]),
        }
        for e in report.history
    ]


# ------------------------------------------------------------------ who may do what


def fillers_of(report: AnnualReport) -> set[int]:
    """Everyone who filled in or submitted the report: none of them may review it."""
    return {
        e["actor_id"]
        for e in report.history
        if e["action"] in ("fill", "submit") and e.get("actor_id") is not None
    }


def may_fill(actor: Actor, report: AnnualReport) -> bool:
    return actor.has("editor") and actor.unit_id == report.unit_id  # type: ignore[attr-defined]


def _require_editor(actor: Actor, report: AnnualReport) -> None:
    if not may_fill(actor, report):
        raise Forbidden("只有本单位编辑可以填报年度报表")


def review_refusal(actor: Actor, report: AnnualReport) -> Forbidden | None:
    """Why the actor may not review the report, or None when they may."""
    own = actor.has("reviewer") and actor.unit_id == report.unit_id  # type: ignore[attr-defined]
    above = actor.has("leader") and report.unit.path.startswith(actor.unit_path)
    if not (own or above) or "system" in actor.roles:
        return Forbidden("只有本单位审核员或上级领导可以审核年度报表")
    if actor.staff_id in fillers_of(report):
        return Forbidden(
            "不得审核本人填报的年度报表（须由填报人以外的人员审核）", code="self_review"
        )
    return None


def _require_status(report: AnnualReport, *allowed: str) -> None:
    if report.status not in allowed:
        label = ANNUAL_STATUSES.get(report.status, report.status)
        if report.status == "published":
            raise Conflict("bad_status", "年度报表已公开，不能再修改")
        raise Conflict("bad_status", f"年度报表当前为「{label}」，不能进行此操作")


async def _move(
    deps: Deps,
    actor: Actor,
    report: AnnualReport,
    expected: tuple[str, ...],
    action: str,
    note: str = "",
    **changes: Any,
) -> None:
    """One step, conditional on the status and version read: of two people acting at once,
    one wins and the other is told to reload. The step goes on the report and the audit log."""
    now = deps.clock.now()
    history = [*report.history, _entry(actor, action, now, note)]
    changes.update(history=history, version=report.version + 1, updated_at=now)
    moved = await AnnualReport.filter(
        id=report.id, status__in=expected, version=report.version
    ).update(**changes)
    if not moved:
        raise Conflict("changed", "年度报表刚被他人修改，请刷新后重试")
    before = {"status": report.status, "followers": report.followers, "reads": report.reads}
    for key, value in changes.items():
        setattr(report, key, value)
    label = f"{report.year} 年度报表「{report.account_name}」"
    await record_audit(
        actor,
        f"annual.{action}",
        clock=deps.clock,
        object_type="annual_report",
        object_id=report.id,
        summary=f"{EVENT_LABELS[action]} {label}" + (f"：{note}" if note else ""),
        before=before,
        after={"status": report.status, "followers": report.followers, "reads": report.reads},
    )


# ------------------------------------------------------------------ the steps


def _figure(data: dict[str, Any], key: str) -> int | None:
    """A count the unit enters: digits (thousands separators allowed); empty clears it."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise DomainError("bad_field", f"{ENTERED[key]}须为整数", field=key)
    if isinstance(value, str):
        value = value.strip().replace(",", "").replace("，", "").replace(" ", "")
        if not value.isdigit():
            raise DomainError("bad_field", f"{ENTERED[key]}须为不小于 0 的整数", field=key)
        value = int(value)
    if not isinstance(value, int) or not 0 <= value < MAX_FIGURE:
        raise DomainError("bad_field", f"{ENTERED[key]}须为不小于 0 的整数", field=key)
    return value


async def fill_annual(
    deps: Deps, actor: Actor, report_id: Any, data: dict[str, Any]
) -> AnnualReport:
    """The unit's editor enters followers and reads (where the platform gives none) and the
    mechanisms; saving may be partial, submitting checks that nothing is missing."""
    report = await get_annual(actor, report_id)
    _require_editor(actor, report)
    _require_status(report, *EDITABLE)
    changes: dict[str, Any] = {
        key: _figure(data, key) for key in ENTERED if report.figures.get(key) is None
    }
    changes["mechanisms"] = text_field(data, "mechanisms", "机制保障情况", required=False)
    await _move(deps, actor, report, EDITABLE, "fill", **changes)
    return report


def missing_of(report: AnnualReport) -> list[str]:
    missing = [
        label
        for key, label in ENTERED.items()
        if report.figures.get(key) is None and getattr(report, key) is None
    ]
    if not report.mechanisms.strip():
        missing.append("机制保障情况")
    return missing


async def submit_annual(deps: Deps, actor: Actor, report_id: Any) -> AnnualReport:
    """Into review, with the figures counted again: letters replied since the draft count."""
    report = await get_annual(actor, report_id)
    _require_editor(actor, report)
    _require_status(report, *EDITABLE)
    if missing := missing_of(report):
        raise DomainError("missing_field", f"请先填写{'、'.join(missing)}再提交审核")
    fresh = (await count_figures(deps, report.year, [report.account_id]))[report.account_id]  # type: ignore[attr-defined]
    figures = {**report.figures, **fresh}
    await _move(
        deps,
        actor,
        report,
        EDITABLE,
        "submit",
        status="submitted",
        figures=figures,
        figures_at=deps.clock.now(),
    )
    return report


async def review_annual(
    deps: Deps, actor: Actor, report_id: Any, data: dict[str, Any]
) -> AnnualReport:
    """Publish, or return with a reason; the reviewer is not one who filled it in."""
    report = await get_annual(actor, report_id)
    if refusal := review_refusal(actor, report):
        raise refusal
    _require_status(report, "submitted")
    approve = data.get("approve")
    if not isinstance(approve, bool):
        raise DomainError("bad_field", "请选择通过或退回", field="approve")
    if not approve:
        reason = text_field(data, "reason", "退回理由", max_len=1000)
        await _move(
            deps,
            actor,
            report,
            ("submitted",),
            "return",
            reason,
            status="returned",
            return_reason=reason,
        )
        return report
    note = text_field(data, "note", "审核意见", required=False, max_len=1000)
    await _move(
        deps,
        actor,
        report,
        ("submitted",),
        "publish",
        note,
        status="published",
        published_at=deps.clock.now(),
        published_by_id=actor.staff_id,
    )
    return report


# ------------------------------------------------------------------ reminders


async def _recipients(unit_id: int, waiting_review: bool) -> list[str]:
    """The unit's editors (and its reviewers when a report waits for review); its leaders
    when it has neither."""
    staff = await Staff.filter(unit_id=unit_id, active=True).order_by("id")
    roles = {"editor", "reviewer"} if waiting_review else {"editor"}
    found = [s.mobile for s in staff if roles & set(s.roles)]
    return found or [s.mobile for s in staff if "leader" in s.roles]


async def remind_annual_reports(deps: Deps) -> int:
    """From 15 January, on working days from 9:00 Beijing, one SMS to each unit whose reports
    of the year before are not all published; at most one a day per unit (the sent-log's
    unique key), so that an hourly job and several workers send it once. Returns SMS sent."""
    now = to_local(deps.clock.now())
    today = now.date()
    if (today.month, today.day) < REMIND_FROM or now.hour < REMIND_HOUR:
        return 0
    if not deps.calendar.is_working_day(today):
        return 0
    year = today.year - 1
    rows = (
        await AnnualReport.filter(year=year)
        .exclude(status="published")
        .group_by("unit_id", "status")
        .annotate(n=Count("id"))
        .values_list("unit_id", "status", "n")
    )
    by_unit: dict[int, dict[str, int]] = defaultdict(dict)
    for unit_id, status, n in rows:
        by_unit[unit_id][status] = n
    done = set(
        await AnnualReminder.filter(day=today, unit_id__in=list(by_unit)).values_list(
            "unit_id", flat=True
        )
    )
    due = due_date(year)
    when = (
        f"须于 {due.month} 月 {due.day} 日前完成填报、审核并公开"
        if today <= due
        else f"已超过 {due.month} 月 {due.day} 日的公开期限，请尽快完成"
    )
    sent = 0
    for unit_id, statuses in by_unit.items():
        if unit_id in done:
            continue
        mobiles = await _recipients(unit_id, "submitted" in statuses)
        total = sum(statuses.values())
        try:
            await AnnualReminder.create(
                year=year,
                unit_id=unit_id,
                day=today,
                reports=total,
                recipients=[mask_mobile(m) for m in mobiles],
                sent_at=deps.clock.now(),
            )
        except IntegrityError:  # another worker reminded this unit today
            continue
        parts = "、".join(
            f"{ANNUAL_STATUSES[s]} {statuses[s]} 份" for s in ANNUAL_STATUSES if s in statuses
        )
        body = f"【民声】本单位 {year} 年度政务新媒体年度报表尚有 {total} 份未公开（{parts}），"
        body += f"{when}。"
        for mobile in mobiles:
            await deps.notifier.send_notification(mobile, body, purpose="annual.remind")
            sent += 1
    return sent
