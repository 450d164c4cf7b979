"""Screening and routing (001 §22–24, §29).

Screening, by a handler or leader of the unit that holds a new letter: accept, or decline with one
of the reasons of 001 §29 (recorded, shown to supervisors). Accepting starts the deadline and
routes the letter:

- mayor's mailbox: it stays with the mayor's office, waiting for a leader's instruction
  (批示), which names the handling unit and any co-handling units (协办);
- department mailbox: the department handles it;
- complaint: the petitions office forwards it to the unit complained about (转办);
- consultation, suggestion and the rest: to the unit the screener picks (default: its own).

A handling unit that is the wrong one transfers the letter with a reason; the deadline runs on.
Every assignment notifies the new unit's handlers once (a Reminder row per assignment event).
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from infra.deps import Deps
from infra.errors import Conflict, DomainError, NotFound
from infra.fields import text_field
from letters.deadlines import compute_due
from letters.models import DECLINE_REASONS, KINDS, Letter, LetterUnit
from letters.service import (
    add_event,
    audit_letter,
    deliver_notices,
    due_text,
    load_letter,
    queue_unit_notice,
    require_handler,
    require_status,
    require_unit_role,
    unit_field,
)
from org.access import Actor
from org.models import Unit


async def notify_assigned(deps: Deps, letter: Letter, unit: Unit, event_id: int, what: str) -> None:
    """Inside the transaction that assigned the letter."""
    await queue_unit_notice(
        letter,
        unit.id,
        "assigned",
        f"assigned:{event_id}",
        f"【民声】{what}来信#{letter.id}（{KINDS[letter.kind]}）交「{unit.name}」办理，"
        f"答复期限{due_text(letter)}，请登录系统查看。",
        clock=deps.clock,
    )


async def _claim(letter: Letter, expected: str, **changes: Any) -> None:
    """Conditional update: two screeners clicking at once cannot both act on the letter."""
    moved = await Letter.filter(id=letter.id, status=expected, unit_id=letter.unit.id).update(
        **changes
    )
    if not moved:
        raise Conflict("changed", "来信状态刚被他人修改，请刷新后重试")
    for k, v in changes.items():
        setattr(letter, k, v)


async def accept_letter(deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]) -> Letter:
    letter = await load_letter(actor, letter_id)
    require_unit_role(actor, letter, "handler", "leader", what="办理人或领导")
    require_status(letter, "new")
    note = text_field(data, "note", "甄别意见", required=False, max_len=1000)
    target: Unit = letter.unit
    if letter.kind != "mayor" and data.get("unit_id") not in (None, ""):
        target = await unit_field(data, "unit_id", label="办理单位")
    now = deps.clock.now()
    await deps.calendar.refresh(deps.redis)
    due = compute_due(deps.settings, deps.calendar, letter.kind, deps.clock.today())
    status = "instructing" if letter.kind == "mayor" else "handling"
    if status == "handling":
        await require_handler(target)
    async with in_transaction():
        await _claim(
            letter,
            "new",
            status=status,
            unit_id=target.id,
            accepted_at=now,
            assigned_at=None if status == "instructing" else now,
            due_on=due,
            updated_at=now,
        )
        await add_event(letter, actor, "accepted", clock=deps.clock, note=note)
        if status == "handling":
            event = await add_event(
                letter,
                actor,
                "assigned",
                clock=deps.clock,
                unit_id=target.id,
                note=f"交「{target.name}」办理",
                data={"unit_id": target.id},
            )
            await notify_assigned(deps, letter, target, event.id, "")
        else:
            await queue_unit_notice(
                letter,
                target.id,
                "instruct",
                f"instruct:{letter.id}",
                f"【民声】市长信箱来信#{letter.id}待领导批示，答复期限{due_text(letter)}。",
                clock=deps.clock,
                recipients=await _leaders(target.id),
            )
        await audit_letter(
            actor,
            "letter.accept",
            letter,
            f"受理来信 #{letter.id}，{'待领导批示' if status == 'instructing' else '交'}"
            f"{'' if status == 'instructing' else '「' + target.name + '」办理'}",
            clock=deps.clock,
            due_on=due.isoformat(),
        )
    letter.unit = target
    await deliver_notices(deps)
    return letter


async def _leaders(unit_id: int) -> list[str]:
    from org.models import Staff

    return [
        s.mobile
        for s in await Staff.filter(unit_id=unit_id, active=True).order_by("id")
        if "leader" in s.roles
    ]


async def decline_letter(deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]) -> Letter:
    """Decline with a reason of 001 §29; a repeat names the earlier letter of the same writer."""
    letter = await load_letter(actor, letter_id)
    require_unit_role(actor, letter, "handler", "leader", what="办理人或领导")
    require_status(letter, "new", "handling")
    reason = str(data.get("reason") or "")
    if reason not in DECLINE_REASONS:
        raise DomainError(
            "bad_field",
            "请选择不予受理的理由：" + "；".join(DECLINE_REASONS.values()),
            field="reason",
        )
    note = text_field(data, "note", "说明", required=False, max_len=1000)
    repeat_of_id = None
    if reason == "repeat":
        wanted = data.get("repeat_of_id")
        if wanted in (None, ""):
            proposed = [p for p in letter.proposals if p.get("kind") == "repeat"]
            if not proposed:
                raise DomainError("missing_field", "请指明与哪一件来信重复", field="repeat_of_id")
            wanted = proposed[0]["letter_id"]
        earlier = await Letter.get_or_none(id=wanted) if str(wanted).isdigit() else None
        if earlier is None or earlier.id == letter.id:
            raise NotFound("被重复的来信")
        same_writer = (
            letter.writer_mobile_hash and letter.writer_mobile_hash == earlier.writer_mobile_hash
        ) or (
            letter.writer_platform_hash
            and letter.writer_platform_hash == earlier.writer_platform_hash
        )
        if not same_writer or earlier.status == "declined":
            raise DomainError(
                "not_repeat",
                "只有同一来信人就同一内容、且前信已答复或正在办理的，才能按重复来信处理",
            )
        repeat_of_id = earlier.id
    now = deps.clock.now()
    async with in_transaction():
        await _claim(
            letter,
            letter.status,
            status="declined",
            decline_reason=reason,
            decline_note=note,
            repeat_of_id=repeat_of_id,
            closed_at=now,
            updated_at=now,
        )
        await add_event(
            letter,
            actor,
            "declined",
            clock=deps.clock,
            note=note,
            data={"reason": reason, "repeat_of_id": repeat_of_id},
        )
        await audit_letter(
            actor,
            "letter.decline",
            letter,
            f"来信 #{letter.id} 不予受理：{DECLINE_REASONS[reason]}",
            clock=deps.clock,
            reason=reason,
        )
    return letter


async def instruct_letter(deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]) -> Letter:
    """A leader reads a mayor's-mailbox letter and names who handles it (001 §22)."""
    letter = await load_letter(actor, letter_id)
    require_unit_role(actor, letter, "leader", what="领导")
    require_status(letter, "instructing")
    instruction = text_field(data, "instruction", "批示意见", max_len=2000)
    unit_ids = data.get("unit_ids")
    if not isinstance(unit_ids, list) or not unit_ids or len(unit_ids) > 10:
        raise DomainError("missing_field", "请指定办理单位（第一个为主办单位）", field="unit_ids")
    units: list[Unit] = []
    for uid in unit_ids:
        unit = await unit_field({"unit_id": uid}, "unit_id", label="办理单位")
        await require_handler(unit)
        if unit.id not in [u.id for u in units]:
            units.append(unit)
    main, co = units[0], units[1:]
    now = deps.clock.now()
    async with in_transaction():
        await _claim(
            letter,
            "instructing",
            status="handling",
            unit_id=main.id,
            assigned_at=now,
            updated_at=now,
        )
        await add_event(
            letter,
            actor,
            "instructed",
            clock=deps.clock,
            note=instruction,
            data={"unit_ids": [u.id for u in units]},
        )
        event = await add_event(
            letter,
            actor,
            "assigned",
            clock=deps.clock,
            unit_id=main.id,
            note=f"交「{main.name}」主办"
            + (f"，{'、'.join(u.name for u in co)}协办" if co else ""),
            data={"unit_id": main.id, "co_unit_ids": [u.id for u in co]},
        )
        await notify_assigned(deps, letter, main, event.id, "领导批示：")
        for unit in co:
            await LetterUnit.create(letter=letter, unit=unit, created_at=now)
            await queue_unit_notice(
                letter,
                unit.id,
                "assigned",
                f"assigned:{event.id}:{unit.id}",
                f"【民声】领导批示：来信#{letter.id}由「{main.name}」主办、你单位协办，"
                f"答复期限{due_text(letter)}。",
                clock=deps.clock,
            )
        await audit_letter(
            actor,
            "letter.instruct",
            letter,
            f"批示来信 #{letter.id}，交「{main.name}」主办",
            clock=deps.clock,
            co_unit_ids=[u.id for u in co],
        )
    letter.unit = main
    await deliver_notices(deps)
    return letter


async def transfer_letter(deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]) -> Letter:
    """To the unit that should handle it, with a reason. The deadline does not restart."""
    letter = await load_letter(actor, letter_id)
    require_unit_role(actor, letter, "handler", "leader", what="办理人或领导")
    require_status(letter, "handling")
    reason = text_field(data, "reason", "转办理由", max_len=1000)
    target = await unit_field(data, "unit_id", label="转办单位")
    await require_handler(target)
    source: Unit = letter.unit
    if target.id == source.id:
        raise DomainError("same_unit", "来信已在该单位办理", field="unit_id")
    now = deps.clock.now()
    async with in_transaction():
        await _claim(letter, "handling", unit_id=target.id, assigned_at=now, updated_at=now)
        await LetterUnit.filter(letter_id=letter.id, unit_id=target.id).delete()
        event = await add_event(
            letter,
            actor,
            "transferred",
            clock=deps.clock,
            unit_id=target.id,
            note=reason,
            data={"from_unit_id": source.id, "unit_id": target.id},
        )
        await notify_assigned(deps, letter, target, event.id, f"「{source.name}」转来")
        await audit_letter(
            actor,
            "letter.transfer",
            letter,
            f"来信 #{letter.id} 由「{source.name}」转「{target.name}」",
            clock=deps.clock,
            from_unit_id=source.id,
        )
    letter.unit = target
    await deliver_notices(deps)
    return letter
