"""Deadlines and their one extension (001 §16, §26; 004 §12(三)).

A letter's deadline is set when it is accepted: 15 calendar days for most kinds, 15 working days
for information-disclosure requests, 2 working days for website error reports (all settings).
Working days follow the official calendar, make-up workdays included (infra.clock.WorkCalendar).
A calendar-day period whose last day is a public holiday or rest day ends on the next working day
instead (民法典 第二百零三条), so a letter is never due in the middle of National Day.

An extension is asked for by a handler of the handling unit with a reason and decided by a leader
of that unit or above who did not ask for it; one per letter (a rejected request uses it), at most
``letter_extension_max_days`` days, counted in the letter's own kind of days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from infra.clock import WorkCalendar
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden
from infra.fields import text_field
from infra.settings import Settings
from letters.models import OPEN_STATUSES, Extension, Letter
from letters.service import (
    add_event,
    audit_letter,
    bool_field,
    deliver_notices,
    due_text,
    load_letter,
    queue_unit_notice,
    require_status,
    require_unit_role,
    role_recipients,
)
from org.access import Actor
from org.models import Unit

WORKING_DAY_KINDS = {"disclosure", "site_error"}


def deadline_rule(settings: Settings, kind: str) -> tuple[int, bool]:
    """(days, counted in working days?) for a kind of letter."""
    if kind == "disclosure":
        return settings.letter_disclosure_working_days, True
    if kind == "site_error":
        return settings.letter_site_error_working_days, True
    return settings.letter_days, False


def add_days(calendar: WorkCalendar, start: dt.date, days: int, working: bool) -> dt.date:
    if working:
        return calendar.add_working_days(start, days)
    due = start + dt.timedelta(days=days)
    while not calendar.is_working_day(due):
        due += dt.timedelta(days=1)
    return due


def compute_due(settings: Settings, calendar: WorkCalendar, kind: str, start: dt.date) -> dt.date:
    """The last day to reply for a letter of this kind accepted on ``start`` (not counted)."""
    days, working = deadline_rule(settings, kind)
    return add_days(calendar, start, days, working)


def extend_due(calendar: WorkCalendar, kind: str, due: dt.date, days: int) -> dt.date:
    return add_days(calendar, due, days, kind in WORKING_DAY_KINDS)


async def request_extension(
    deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]
) -> Extension:
    letter = await load_letter(actor, letter_id)
    require_unit_role(actor, letter, "handler", what="办理人")
    require_status(letter, *OPEN_STATUSES)
    reason = text_field(data, "reason", "延期理由", max_len=1000)
    days = data.get("days")
    limit = deps.settings.letter_extension_max_days
    if isinstance(days, bool) or not isinstance(days, int):
        raise DomainError("bad_field", "延期天数须为整数", field="days")
    if not 1 <= days <= limit:
        raise DomainError("bad_field", f"延期天数须在1至{limit}天之间（001 §26）", field="days")
    if await Extension.filter(letter_id=letter.id).exists():
        raise Conflict("extension_used", "每件来信只能申请延期一次（001 §26）")
    try:
        async with in_transaction():
            ext = await Extension.create(
                letter=letter,
                days=days,
                reason=reason,
                requested_by_id=actor.staff_id,
                due_before=letter.due_on,
                created_at=deps.clock.now(),
            )
            await add_event(
                letter,
                actor,
                "extension_requested",
                clock=deps.clock,
                note=reason,
                data={"days": days},
            )
            await audit_letter(
                actor,
                "letter.extension_request",
                letter,
                f"来信 #{letter.id} 申请延期 {days} 天",
                clock=deps.clock,
                days=days,
            )
            await _tell_extension_approvers(deps, letter, ext)
    except IntegrityError as exc:
        raise Conflict("extension_used", "每件来信只能申请延期一次（001 §26）") from exc
    await deliver_notices(deps)
    return ext


async def _tell_extension_approvers(deps: Deps, letter: Letter, ext: Extension) -> None:
    """Inside the transaction: an SMS to the leaders who decide, those of the letter's unit,
    else of the nearest unit above that has one."""
    unit: Unit | None = letter.unit
    while unit is not None:
        if mobiles := await role_recipients(unit.id, "leader"):
            await queue_unit_notice(
                letter,
                unit.id,
                "extension",
                f"extension:{ext.id}",
                f"【民声】来信#{letter.id}申请延期{ext.days}天，待您审批，"
                f"原答复期限{due_text(letter)}，请登录系统「来信 · 领导审批」查看。",
                clock=deps.clock,
                recipients=mobiles,
            )
            return
        unit = await Unit.get_or_none(id=unit.parent_id) if unit.parent_id else None  # type: ignore[attr-defined]


async def decide_extension(
    deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]
) -> Extension:
    letter = await load_letter(actor, letter_id)
    require_unit_role(actor, letter, "leader", what="领导（或其上级单位领导）")
    ext = await Extension.get_or_none(letter_id=letter.id, status="pending")
    if ext is None:
        raise DomainError("no_pending_extension", "这件来信没有待审批的延期申请")
    if ext.requested_by_id == actor.staff_id:  # type: ignore[attr-defined]
        raise Forbidden("不能审批自己提出的延期申请")
    approve = bool_field(data, "approve", "是否同意延期")
    comment = text_field(data, "comment", "审批意见", required=not approve, max_len=1000)
    now = deps.clock.now()
    async with in_transaction():
        claimed = await Extension.filter(id=ext.id, status="pending").update(
            status="approved" if approve else "rejected",
            decided_by_id=actor.staff_id,
            decided_at=now,
            comment=comment,
        )
        if not claimed:
            raise Conflict("already_decided", "该延期申请已被审批")
        if approve:
            require_status(letter, *OPEN_STATUSES)
            await deps.calendar.refresh(deps.redis)
            new_due = extend_due(deps.calendar, letter.kind, letter.due_on, ext.days)
            moved = await Letter.filter(id=letter.id, due_on=letter.due_on).update(
                due_on=new_due, extended_days=ext.days, updated_at=now
            )
            if not moved:
                raise Conflict("changed", "来信的答复期限刚被修改，请刷新后重试")
            await Extension.filter(id=ext.id).update(due_after=new_due)
            letter.due_on, letter.extended_days = new_due, ext.days
        await add_event(
            letter,
            actor,
            "extension_approved" if approve else "extension_rejected",
            clock=deps.clock,
            note=comment,
            data={"days": ext.days, "due_on": letter.due_on.isoformat()},
        )
        await audit_letter(
            actor,
            "letter.extension_decide",
            letter,
            f"来信 #{letter.id} 延期申请：{'同意' if approve else '不同意'}",
            clock=deps.clock,
            approved=approve,
        )
    await ext.refresh_from_db()
    return ext


async def list_pending_extensions(actor: Actor, *, limit: int = 50) -> list[Extension]:
    """Extension requests waiting for this leader: letters of the leader's unit or below, oldest
    request first, with the letter (and its unit) and the requester loaded."""
    if not actor.has("leader"):
        raise Forbidden("只有领导可以审批延期申请")
    qs = Extension.filter(status="pending")
    if "system" not in actor.roles:
        qs = qs.filter(letter__unit__path__startswith=actor.unit_path)
    return list(
        await qs.select_related("letter__unit", "requested_by")
        .order_by("created_at", "id")
        .limit(min(limit, 500))
    )
