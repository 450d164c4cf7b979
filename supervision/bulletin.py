"""The quarterly bulletin (季通报): the document the office issues after each quarter.

Accounts checked and passed, each unit's score and rank, the veto list and the named problems,
rectification done on time (the monthly lists' items due in the quarter), letters received,
answered on time and late, still overdue, and satisfaction, per unit and in total, with the
trends of activity (12 weeks) and on-time letters (4 quarters). Built by a supervisor for a
finished quarter as a draft whose opening and requirements they edit, then issued: after that it
never changes.

Like the weekly patrol, a bulletin keeps the rubric version it was built with, and its figures
are read as of the check (Beijing midnight after the quarter's last day), so a rebuild gives the
same figures. One exception: letters count under the unit holding them now, so a letter moved to
another unit after the check moves with it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from accounts.models import Post
from infra.clock import beijing_date, beijing_midnight
from infra.deps import Deps
from infra.errors import DomainError, Forbidden, NotFound
from letters.models import Letter, Rating
from org.access import Actor
from org.audit import record_audit
from org.models import Staff, Unit
from supervision.models import RectifyItem, Report, ReportRow
from supervision.patrol import current_rubric, report_rows, rubric_version
from supervision.rectification import state_of
from supervision.scoring import accounts_checked, check_moment, roll_up, score_accounts

CN_QUARTERS = {1: "一", 2: "二", 3: "三", 4: "四"}
TEXT_LIMIT = 5000
# Named problems kept with the bulletin, the heaviest first (the page and the PDF list these; the
# XLSX and a unit's own view read every one from the accounts' rows).
PROBLEMS_KEPT = 100


def quarter_bounds(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    if quarter not in CN_QUARTERS or not 2000 <= year <= 2100:
        raise DomainError("bad_field", "季度应为 1 至 4，年份应为四位数字", field="quarter")
    start = dt.date(year, 3 * quarter - 2, 1)
    after = dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1)
    return start, after - dt.timedelta(days=1)


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def title(year: int, quarter: int) -> str:
    return f"关于{year}年第{CN_QUARTERS[quarter]}季度政务新媒体检查情况的通报"


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def signed_on(report: Report) -> str:
    """The date under the office's name: the day issued, or for a draft the day built."""
    return cn_date(beijing_date(report.issued_at or report.built_at))


async def issuing_office(staff_id: int | None = None) -> str:
    """The office a report goes out in the name of: the unit of the supervisor who made it, as
    the bulletin's is; for one the worker made, the newest bulletin's office."""
    if staff_id is not None:
        staff = await Staff.filter(id=staff_id).select_related("unit").first()
        if staff is not None:
            return staff.unit.name
    latest = await Report.filter(kind="quarterly").order_by("-period_start").first()
    return (latest.data.get("office") if latest else None) or "督查办公室"


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# ------------------------------------------------------------------ figures


async def letter_figures(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Letters received in the period, as they stood at the check, per holding unit and in
    total: answered on time, answered late, overdue and unanswered, not yet due, declined; the
    on-time rate over those due; letters of earlier periods still overdue; the ratings given in
    the period and the share satisfied."""
    since, check = beijing_midnight(start), check_moment(end)
    keys = (
        "received",
        "on_time",
        "late",
        "overdue",
        "pending",
        "declined",
        "earlier_overdue",
        "rated",
        "satisfied",
    )
    per: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(keys, 0))
    rows = await Letter.filter(received_at__gte=since, received_at__lt=check).values_list(
        "unit_id", "status", "due_on", "replied_at"
    )
    for unit_id, status, due_on, replied_at in rows:
        row = per[unit_id]
        row["received"] += 1
        replied = beijing_date(replied_at) if replied_at else None
        if status == "declined":
            row["declined"] += 1
        elif replied and replied <= end:
            row["on_time" if due_on is None or replied <= due_on else "late"] += 1
        elif due_on and due_on <= end:
            row["overdue"] += 1
        else:
            row["pending"] += 1
    for (unit_id,) in await (
        Letter.filter(
            Q(replied_at__isnull=True) | Q(replied_at__gte=check),
            received_at__lt=since,
            due_on__lte=end,
        )
        .exclude(status="declined")
        .values_list("unit_id")
    ):
        per[unit_id]["earlier_overdue"] += 1
    for unit_id, satisfied in await Rating.filter(at__gte=since, at__lt=check).values_list(
        "unit_id", "satisfied"
    ):
        per[unit_id]["rated"] += 1
        per[unit_id]["satisfied"] += int(bool(satisfied))
    names = dict(await Unit.filter(id__in=list(per)).values_list("id", "name"))
    total = dict.fromkeys(keys, 0)
    units = []
    for unit_id, row in per.items():
        for key in keys:
            total[key] += row[key]
        units.append({"unit_id": unit_id, "unit_name": names.get(unit_id, ""), **_rates(row)})
    units.sort(key=lambda u: (-u["received"], u["unit_name"]))
    return {"total": _rates(total), "units": units}


def _rates(row: dict[str, int]) -> dict[str, Any]:
    due = row["on_time"] + row["late"] + row["overdue"]
    return {
        **row,
        "on_time_rate": _rate(row["on_time"], due),
        "satisfaction": _rate(row["satisfied"], row["rated"]),
    }


async def weekly_activity(end: dt.date, account_ids: list[int], weeks: int = 12) -> list[dict]:
    """Posts per Monday-to-Sunday week across the accounts, and how many accounts posted, for
    the ``weeks`` whole weeks ending on or before ``end``."""
    sunday = end - dt.timedelta(days=(end.weekday() + 1) % 7)
    mondays = [sunday - dt.timedelta(days=6 + 7 * i) for i in reversed(range(weeks))]
    posts: dict[dt.date, int] = dict.fromkeys(mondays, 0)
    active: dict[dt.date, set[int]] = defaultdict(set)
    rows = await Post.filter(
        account_id__in=account_ids,
        published_at__gte=beijing_midnight(mondays[0]),
        published_at__lt=beijing_midnight(sunday + dt.timedelta(days=1)),
    ).values_list("account_id", "published_at")
    for account_id, at in rows:
        day = beijing_date(at)
        monday = day - dt.timedelta(days=day.weekday())
        posts[monday] += 1
        active[monday].add(account_id)
    return [{"week": m.isoformat(), "posts": posts[m], "active": len(active[m])} for m in mondays]


async def rectification_figures(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Rectification items of the monthly lists due in the period, as they stood at the check,
    per unit and in total: done on time (the unit's answer by the due date, verified by the
    check), done late, not done (open, or answered but not verified by the check)."""
    check = check_moment(end)
    keys = ("due", "on_time", "late", "open")
    per: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(keys, 0))
    names: dict[int, str] = {}
    for item in await RectifyItem.filter(
        due_on__gte=start, due_on__lte=end, created_at__lt=check
    ).select_related("unit"):
        row = per[item.unit_id]  # type: ignore[attr-defined]
        names[item.unit_id] = item.unit.name  # type: ignore[attr-defined]
        row["due"] += 1
        if item.status == "done" and item.verified_at and item.verified_at < check:
            row["late" if state_of(item, end).overdue else "on_time"] += 1
        else:
            row["open"] += 1
    total = {k: sum(r[k] for r in per.values()) for k in keys}
    units = sorted(
        (
            {
                "unit_id": u,
                "unit_name": names[u],
                **r,
                "on_time_rate": _rate(r["on_time"], r["due"]),
            }
            for u, r in per.items()
        ),
        key=lambda r: (-r["open"], -r["late"], r["unit_name"]),
    )
    return {**total, "on_time_rate": _rate(total["on_time"], total["due"]), "units": units}


async def build_bulletin_data(
    deps: Deps, year: int, quarter: int, rubric: dict[str, Any], office: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The bulletin's figures, and each account's row (kept apart, as the weekly patrol's)."""
    start, end = quarter_bounds(year, quarter)
    accounts = await accounts_checked(end)
    scores = await score_accounts(start, end, rubric, accounts)
    units = roll_up(scores, rubric)
    vetoes = [
        {
            "account_id": s.account_id,
            "name": s.name,
            "platform": s.platform,
            "unit_id": s.unit_id,
            "unit_name": s.unit_name,
            "problems": [v.label for v in s.vetoes],
            "evidence": [
                {"label": e.label, "ref": e.ref, "kind": e.kind, "at": e.at}
                for v in s.vetoes
                for e in v.evidence[:3]
            ],
        }
        for s in scores
        if s.vetoes
    ]
    rows = [_slim(s.to_dict()) for s in scores]
    problems = problems_of(rows)
    letters = await letter_figures(start, end)
    trend = []
    y, q = year, quarter
    for _ in range(4):
        if (y, q) == (year, quarter):
            figures = letters["total"]
        else:
            figures = (await letter_figures(*quarter_bounds(y, q)))["total"]
        trend.append(
            {
                "label": f"{y}年第{q}季度",
                "received": figures["received"],
                "on_time": figures["on_time"],
                "late": figures["late"],
                "overdue": figures["overdue"],
                "rate": figures["on_time_rate"],
            }
        )
        y, q = previous_quarter(y, q)
    checked, passed = len(scores), sum(1 for s in scores if s.passed)
    data = {
        "year": year,
        "quarter": quarter,
        "office": office,
        "pass_score": rubric["pass_score"],
        "checked": checked,
        "passed": passed,
        "pass_rate": _rate(passed, checked),
        "vetoed": len(vetoes),
        "bands": score_bands([r["score"] for r in rows if not r["vetoes"]]),
        "units": [u.to_dict() for u in units],
        "vetoes": vetoes,
        "problems": problems[:PROBLEMS_KEPT],
        "problem_count": len(problems),
        "letters": letters,
        "rectification": await rectification_figures(start, end),
        "activity": await weekly_activity(end, [a.id for a in accounts]),
        "letters_trend": list(reversed(trend)),
    }
    return data, rows


def score_bands(scores: list[float]) -> list[int]:
    """Accounts per band of ten points (0–9 … 90–100)."""
    bands = [0] * 10
    for score in scores:
        bands[min(int(score // 10), 9)] += 1
    return bands


def problems_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every deduction of the accounts' rows, named by account and unit, the heaviest first."""
    return sorted(
        (
            {
                "account_id": r["account_id"],
                "name": r["name"],
                "platform": r["platform"],
                "unit_id": r["unit_id"],
                "unit_name": r["unit_name"],
                "code": f["code"],
                "label": f["label"],
                "count": f["count"],
                "points": f["points"],
            }
            for r in rows
            for f in r["deductions"]
        ),
        key=lambda p: (-p["points"], p["unit_name"], p["name"], p["label"]),
    )


def _slim(row: dict[str, Any]) -> dict[str, Any]:
    """An account's row without its evidence (the veto list keeps some of it): the bulletin
    names problems by account, and its rows stay small."""
    for group in ("vetoes", "deductions"):
        row[group] = [{k: v for k, v in f.items() if k != "evidence"} for f in row[group]]
    return row


# ------------------------------------------------------------------ the document's words


def default_opening(data: dict[str, Any]) -> str:
    start, end = quarter_bounds(data["year"], data["quarter"])
    q = CN_QUARTERS[data["quarter"]]
    return (
        "为进一步加强政府网站和政务新媒体管理，推动政务新媒体健康有序发展，根据《国务院办公厅"
        "关于推进政务新媒体健康有序发展的意见》（国办发〔2018〕123号）和政府网站与政务新媒体"
        f"检查指标等有关要求，{data['office']}对全市{data['checked']}个政务新媒体账号"
        f"{data['year']}年第{q}季度（{start.month}月{start.day}日至{end.month}月{end.day}日）"
        "的运行维护情况进行了检查，并对群众留言办理情况进行了统计。现将有关情况通报如下。"
    )


def default_requirements(data: dict[str, Any]) -> str:
    office = data["office"]
    return "\n".join(
        (
            "一是压实主体责任。各单位要按照“谁开设、谁主管”“谁发布、谁负责”的要求，明确专人负责"
            "账号的内容发布、审核和互动回应，保持常态化更新，坚决杜绝“僵尸”“睡眠”账号。",
            "二是抓好问题整改。对本通报点名的单项否决账号和存在扣分问题的账号，相关单位要逐项"
            f"对照检查，自通报印发之日起15个工作日内完成整改，并将整改情况报送{office}。",
            "三是提升互动回应质量。各单位要在规定时限内办理群众留言，做到件件有回复、事事有"
            "着落，切实提高答复质量和群众满意度。",
            "四是严格内容审核。坚持“先审后发”，严格落实信息发布审核制度，确保发布内容准确、"
            "规范，转载信息须注明来源。",
            f"{office}将持续开展常态化监测，检查结果纳入年度绩效考核。",
        )
    )


# ------------------------------------------------------------------ build, edit, issue


def _require_supervisor(actor: Actor) -> None:
    if not actor.has("supervisor"):
        raise Forbidden("只有督查人员可以生成、修改和印发季度通报")


async def build_quarter(
    deps: Deps, actor: Actor, year: int, quarter: int, *, rebuild: bool = False
) -> Report:
    """The bulletin of a finished quarter, as a draft; an existing one is returned, or rebuilt
    with its own rubric version and its edited words while it is a draft."""
    _require_supervisor(actor)
    start, end = quarter_bounds(year, quarter)
    if end >= deps.clock.today():
        raise DomainError("bad_field", "该季度尚未结束，只能生成已结束季度的通报", field="quarter")
    existing = await Report.get_or_none(kind="quarterly", period_start=start)
    if existing and not rebuild:
        return existing
    if existing and existing.status == "issued":
        raise DomainError("issued", "该季度通报已印发，不能重新生成")
    rubric = (
        await rubric_version(deps, existing.rubric_version)
        if existing
        else await current_rubric(deps)
    )
    office = existing.data["office"] if existing else (actor.unit_name or "督查办公室")
    data, rows = await build_bulletin_data(deps, year, quarter, rubric.data, office)
    now = deps.clock.now()
    if existing:
        async with in_transaction():
            changed = await Report.filter(id=existing.id, status="draft").update(
                data=data, built_at=now, built_by_id=actor.staff_id
            )
            if not changed:
                raise DomainError("issued", "该季度通报已印发，不能重新生成")
            await ReportRow.filter(report_id=existing.id).delete()
            await _store_rows(existing.id, rows)
            await _audit(deps, actor, "report.rebuild", existing, "重新生成")
        return await Report.get(id=existing.id)
    try:
        async with in_transaction():
            report = await Report.create(
                kind="quarterly",
                period_start=start,
                period_end=end,
                rubric_version=rubric.version,
                data=data,
                opening=default_opening(data),
                requirements=default_requirements(data),
                built_at=now,
                built_by_id=actor.staff_id,
            )
            await _store_rows(report.id, rows)
            await _audit(deps, actor, "report.build", report, "生成")
    except IntegrityError:  # built by another request at the same moment
        return await Report.get(kind="quarterly", period_start=start)
    return report


async def _store_rows(report_id: int, rows: list[dict[str, Any]]) -> None:
    await ReportRow.bulk_create(
        [
            ReportRow(
                report_id=report_id,
                unit_id=r["unit_id"],
                account_id=r["account_id"],
                passed=r["passed"],
                score=r["score"],
                data=r,
            )
            for r in rows
        ],
        batch_size=1000,
    )


async def _audit(deps: Deps, actor: Actor, action: str, report: Report, verb: str, **kw) -> None:
    year, quarter = quarter_of(report.period_start)
    await record_audit(
        actor,
        action,
        clock=deps.clock,
        object_type="report",
        object_id=report.id,
        summary=f"{verb}{year}年第{CN_QUARTERS[quarter]}季度通报"
        + (f"（评分细则第 {report.rubric_version} 版）" if action != "report.edit" else ""),
        **kw,
    )


async def edit_bulletin(
    deps: Deps, actor: Actor, year: int, quarter: int, opening: str, requirements: str
) -> Report:
    """The opening and requirements of a draft; an issued bulletin is never changed."""
    _require_supervisor(actor)
    opening, requirements = opening.strip(), requirements.strip()
    if not opening:
        raise DomainError("bad_field", "请填写通报的开头部分", field="opening")
    if len(opening) > TEXT_LIMIT or len(requirements) > TEXT_LIMIT:
        raise DomainError("bad_field", f"开头和工作要求各不超过 {TEXT_LIMIT} 字")
    report = await _get(year, quarter)
    async with in_transaction():
        changed = await Report.filter(id=report.id, status="draft").update(
            opening=opening, requirements=requirements
        )
        if not changed:
            raise DomainError("issued", "通报已印发，不能再修改")
        await _audit(
            deps,
            actor,
            "report.edit",
            report,
            "修改",
            before={"opening": report.opening, "requirements": report.requirements},
            after={"opening": opening, "requirements": requirements},
        )
    return await Report.get(id=report.id)


async def issue_bulletin(deps: Deps, actor: Actor, year: int, quarter: int) -> Report:
    """Issued: from now on the bulletin is final and the units see it."""
    _require_supervisor(actor)
    report = await _get(year, quarter)
    async with in_transaction():
        changed = await Report.filter(id=report.id, status="draft").update(
            status="issued", issued_at=deps.clock.now()
        )
        if not changed:
            raise DomainError("issued", "通报已印发")
        await _audit(deps, actor, "report.issue", report, "印发")
    return await Report.get(id=report.id)


# ------------------------------------------------------------------ reading


async def _get(year: int, quarter: int) -> Report:
    start, _ = quarter_bounds(year, quarter)
    report = await Report.get_or_none(kind="quarterly", period_start=start)
    if report is None:
        raise NotFound("该季度通报")
    return report


def _require_reader(actor: Actor) -> None:
    if not actor.has("supervisor", "leader", "admin", "editor", "reviewer"):
        raise Forbidden("只有督查人员、领导、管理员和各单位编辑审核人员可以查看季度通报")


async def get_bulletin(actor: Actor, year: int, quarter: int) -> Report:
    """Supervisors read drafts too; everyone else only issued bulletins."""
    _require_reader(actor)
    report = await _get(year, quarter)
    if report.status != "issued" and not actor.has("supervisor"):
        raise NotFound("该季度通报")
    return report


async def list_bulletins(actor: Actor, limit: int = 20) -> list[Report]:
    _require_reader(actor)
    qs = Report.filter(kind="quarterly")
    if not actor.has("supervisor"):
        qs = qs.filter(status="issued")
    return await qs.order_by("-period_start").limit(limit)


async def readable(actor: Actor, report: Report, *, every_problem: bool = False) -> dict[str, Any]:
    """The bulletin as the actor may read it, with its accounts' rows: supervisors all of it
    (the heaviest problems, or with ``every_problem`` all, read from the rows); a unit's staff
    the totals, the ranking (units and scores only) and their own units' accounts, vetoes,
    problems (every one), rectification and letters."""
    data = report.data
    rows = await report_rows(actor, report)
    if actor.has("supervisor") or "system" in actor.roles:
        problems = problems_of(rows) if every_problem else data["problems"]
        return {**data, "accounts": rows, "problems": problems}
    paths = dict(await Unit.all().values_list("id", "path"))

    def own(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in items if actor.reads_unit(paths.get(r["unit_id"], ""))]

    rect = data.get("rectification")
    problems = problems_of(rows)
    return {
        **data,
        "accounts": rows,
        "vetoes": own(data["vetoes"]),
        "problems": problems,
        "problem_count": len(problems),
        "letters": {**data["letters"], "units": own(data["letters"]["units"])},
        "rectification": {**rect, "units": own(rect["units"])} if rect else rect,
    }
