"""The rubric's versions, and the weekly patrol (周巡查): every account with its state, posts,
vetoes, deductions and score for a Monday-to-Sunday week, the units ranked, and what changed
since the week before. Built every Monday for the week before (a worker job) and on demand.

A report keeps the rubric version it was built with, so rebuilding it gives the same figures
even after the rubric changed; an edit of the rubric applies to reports built after it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from infra.deps import Deps
from infra.errors import DomainError, Forbidden, NotFound
from org.access import Actor
from org.audit import record_audit
from org.models import Unit
from supervision.models import Report, ReportRow, Rubric
from supervision.rubric import DEFAULT_RUBRIC, clean_rubric
from supervision.scoring import accounts_checked, roll_up, score_accounts

# ------------------------------------------------------------------ the rubric


async def current_rubric(deps: Deps) -> Rubric:
    """The newest version; version 1 (the default) is written on first use."""
    latest = await Rubric.all().order_by("-version").first()
    if latest is not None:
        return latest
    try:
        return await Rubric.create(
            version=1, data=DEFAULT_RUBRIC, note="内置默认细则", created_at=deps.clock.now()
        )
    except IntegrityError:  # another process wrote it first
        return await Rubric.get(version=1)


async def rubric_version(deps: Deps, version: int) -> Rubric:
    if version == 1:
        await current_rubric(deps)
    return await Rubric.get(version=version)


async def edit_rubric(deps: Deps, actor: Actor, data: Any, note: str = "") -> Rubric:
    """A new version from the edit (admins only); reports built earlier keep theirs."""
    actor.require("admin")
    rubric = clean_rubric(data)
    now = deps.clock.now()
    async with in_transaction():
        before = await current_rubric(deps)
        if rubric == before.data:
            raise DomainError("unchanged", "评分细则没有变化")
        new = await Rubric.create(
            version=before.version + 1,
            data=rubric,
            note=note[:500],
            created_by_id=actor.staff_id,
            created_at=now,
        )
        await record_audit(
            actor,
            "rubric.edit",
            clock=deps.clock,
            object_type="rubric",
            object_id=new.version,
            summary=f"修改评分细则为第 {new.version} 版" + (f"：{note}" if note else ""),
            before=before.data,
            after=rubric,
        )
    return new


# ------------------------------------------------------------------ the weekly patrol


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def _require_reader(actor: Actor) -> None:
    if not actor.has("supervisor", "leader", "admin", "editor", "reviewer"):
        raise Forbidden("只有督查人员、领导、管理员和本单位编辑审核人员可以查看巡查报告")


async def build_report_data(
    deps: Deps, start: dt.date, end: dt.date, rubric: dict[str, Any]
) -> dict[str, Any]:
    accounts = await accounts_checked(end)
    scores = await score_accounts(start, end, rubric, accounts)
    units = roll_up(scores, rubric)
    return {
        "accounts": [s.to_dict() for s in scores],
        "units": [u.to_dict() for u in units],
        "checked": len(scores),
        "passed": sum(1 for s in scores if s.passed),
        "vetoed": sum(1 for s in scores if s.vetoes),
    }


async def build_weekly(deps: Deps, actor: Actor, day: dt.date, *, rebuild: bool = False) -> Report:
    """The patrol of the week holding ``day``; the week must be over (Beijing time)."""
    if not actor.has("supervisor", "admin") and "system" not in actor.roles:
        raise Forbidden("只有督查人员可以生成巡查报告")
    start, end = week_of(day)
    if end >= deps.clock.today():
        raise DomainError("bad_field", "本周尚未结束，只能生成已结束各周的巡查报告", field="date")
    existing = await Report.get_or_none(kind="weekly", period_start=start)
    if existing and not rebuild:
        return existing
    rubric = (
        await rubric_version(deps, existing.rubric_version)
        if existing
        else await current_rubric(deps)
    )
    data = await build_report_data(deps, start, end, rubric.data)
    rows = data.pop("accounts")
    now = deps.clock.now()
    if existing:
        async with in_transaction():
            existing.data, existing.built_at = data, now
            existing.built_by_id = actor.staff_id
            await existing.save(update_fields=["data", "built_at", "built_by_id"])
            await ReportRow.filter(report_id=existing.id).delete()
            await _store_rows(existing, rows)
        return existing
    try:
        async with in_transaction():
            report = await Report.create(
                kind="weekly",
                period_start=start,
                period_end=end,
                rubric_version=rubric.version,
                data=data,
                built_at=now,
                built_by_id=actor.staff_id,
            )
            await _store_rows(report, rows)
    except IntegrityError:  # built by another request at the same moment
        return await Report.get(kind="weekly", period_start=start)
    await record_audit(
        actor,
        "report.build",
        clock=deps.clock,
        object_type="report",
        object_id=report.id,
        summary=f"生成 {start} 至 {end} 周巡查报告（评分细则第 {rubric.version} 版）",
    )
    return report


async def _store_rows(report: Report, rows: list[dict[str, Any]]) -> None:
    await ReportRow.bulk_create(
        [
            ReportRow(
                report_id=report.id,
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


async def report_rows(actor: Actor, report: Report | None) -> list[dict[str, Any]]:
    """The report's accounts the actor may read: supervisors all, a unit's staff their own
    unit's (and, for leaders, the units below)."""
    if report is None:
        return []
    qs = ReportRow.filter(report_id=report.id)
    if not (actor.has("supervisor") or "system" in actor.roles):
        paths = await Unit.all().values_list("id", "path")
        qs = qs.filter(unit_id__in=[uid for uid, path in paths if actor.reads_unit(path)])
    return list(await qs.order_by("id").values_list("data", flat=True))


async def weekly_patrol_job(deps: Deps) -> int:
    """Monday's patrol of the week before, once (a worker job; idempotent)."""
    last_week = deps.clock.today() - dt.timedelta(days=7)
    start, _ = week_of(last_week)
    if await Report.filter(kind="weekly", period_start=start).exists():
        return 0
    await build_weekly(deps, Actor.system("周巡查"), last_week)
    return 1


async def get_weekly(actor: Actor, day: dt.date) -> Report:
    _require_reader(actor)
    report = await Report.get_or_none(kind="weekly", period_start=week_of(day)[0])
    if report is None:
        raise NotFound("该周巡查报告")
    return report


async def list_reports(actor: Actor, kind: str = "weekly", limit: int = 26) -> list[Report]:
    _require_reader(actor)
    return await Report.filter(kind=kind).order_by("-period_start").limit(limit)


def changes(now: list[dict[str, Any]], before: list[dict[str, Any]] | None) -> dict[int, dict]:
    """Per account, what changed since the week before: the score's move, vetoes new and gone."""
    if before is None:
        return {}
    old = {r["account_id"]: r for r in before}
    out: dict[int, dict[str, Any]] = {}
    for r in now:
        prev = old.get(r["account_id"])
        if prev is None:
            out[r["account_id"]] = {"new": True, "delta": 0.0, "vetoes_new": [], "vetoes_gone": []}
            continue
        was = {v["code"] for v in prev["vetoes"]}
        is_ = {v["code"] for v in r["vetoes"]}
        delta = round(r["score"] - prev["score"], 1)
        if delta or was != is_:
            out[r["account_id"]] = {
                "new": False,
                "delta": delta,
                "vetoes_new": [v["label"] for v in r["vetoes"] if v["code"] not in was],
                "vetoes_gone": [v["label"] for v in prev["vetoes"] if v["code"] not in is_],
            }
    return out


async def previous_of(report: Report) -> Report | None:
    return await Report.get_or_none(
        kind=report.kind, period_start=report.period_start - dt.timedelta(days=7)
    )
