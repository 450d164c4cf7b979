"""The official calendar's days (节假日与调休): admins of the top unit enter each year's holidays
and make-up workdays from the State Council's notice, one row per day. Every change is audited and
announced, so deadlines computed afterwards in any process use it (infra/calendar_days.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.transactions import in_transaction

from infra.calendar_days import announce_calendar, missing_next_year, refresh_calendar
from infra.deps import Deps
from infra.errors import DomainError, Forbidden, NotFound
from infra.fields import text_field
from infra.models import CalendarDay
from org.access import Actor
from org.audit import record_audit

KINDS = {"holiday": "放假", "workday": "调休上班"}


def keeps_calendar(actor: Actor) -> bool:
    """Whether ``actor`` maintains the official calendar: the top unit's admins (and the
    system), since every unit's deadlines count the same days."""
    return "system" in actor.roles or (actor.has("admin") and actor.unit_path.count("/") == 2)


def require_calendar_admin(actor: Actor) -> None:
    actor.require("admin")
    if not keeps_calendar(actor):
        raise Forbidden("节假日安排由最上级单位的系统管理员维护")


def _day(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise DomainError("bad_field", "日期格式不正确（例如 2027-10-01）", field="day") from None


def _summary(row: CalendarDay) -> dict[str, Any]:
    return {"day": row.day.isoformat(), "kind": row.kind, "name": row.name, "note": row.note}


async def list_calendar_days(deps: Deps, actor: Actor, year: int) -> dict[str, Any]:
    require_calendar_admin(actor)
    rows = await CalendarDay.filter(
        day__gte=dt.date(year, 1, 1), day__lte=dt.date(year, 12, 31)
    ).order_by("day")
    await refresh_calendar(deps.calendar, deps.redis)
    return {
        "year": year,
        "days": rows,
        "known": deps.calendar.knows_year(year),
        "missing_year": missing_next_year(deps.calendar, deps.clock.today()),
        "KINDS": KINDS,
    }


async def set_calendar_day(deps: Deps, actor: Actor, data: dict[str, Any]) -> CalendarDay:
    """Add or change one day: a holiday, or a make-up workday (only a Saturday or Sunday)."""
    require_calendar_admin(actor)
    day = _day(text_field(data, "day", "日期", max_len=10))
    kind = text_field(data, "kind", "类型", max_len=16)
    if kind not in KINDS:
        raise DomainError("bad_field", "类型只能是放假或调休上班", field="kind")
    if kind == "workday" and day.weekday() < 5:
        raise DomainError("bad_field", "调休上班日应为周六或周日", field="kind")
    name = text_field(data, "name", "节日名称", required=False, max_len=32)
    note = text_field(data, "note", "依据（国务院办公厅通知）", max_len=255)
    async with in_transaction():
        row = await CalendarDay.get_or_none(day=day).select_for_update()
        before = _summary(row) if row else None
        if row is None:
            row = await CalendarDay.create(
                day=day,
                kind=kind,
                name=name,
                note=note,
                source="admin",
                updated_at=deps.clock.now(),
            )
        else:
            row.kind, row.name, row.note, row.source = kind, name, note, "admin"
            row.updated_at = deps.clock.now()
            await row.save()
        await record_audit(
            actor,
            "calendar.set_day",
            clock=deps.clock,
            object_type="calendar_day",
            object_id=day.isoformat(),
            summary=f"{day.isoformat()} {KINDS[kind]}{f'（{name}）' if name else ''}：{note}",
            before=before,
            after=_summary(row),
        )
    await _changed(deps)
    return row


async def delete_calendar_day(deps: Deps, actor: Actor, value: Any) -> None:
    require_calendar_admin(actor)
    day = _day(value)
    async with in_transaction():
        row = await CalendarDay.get_or_none(day=day).select_for_update()
        if row is None:
            raise NotFound("该日期的安排")
        await row.delete()
        await record_audit(
            actor,
            "calendar.delete_day",
            clock=deps.clock,
            object_type="calendar_day",
            object_id=day.isoformat(),
            summary=f"删除 {day.isoformat()} 的{KINDS.get(row.kind, row.kind)}安排",
            before=_summary(row),
        )
    await _changed(deps)


async def _changed(deps: Deps) -> None:
    await announce_calendar(deps.redis)
    await refresh_calendar(deps.calendar, deps.redis, force=True)
