"""Letters (来信): who reads which letter, the timeline, views, and the query functions the staff
API, the console and reports build on.

The operations live beside this module, one per concern: intake.py (submit), routing.py (screen,
instruct, transfer), deadlines.py (deadlines, extensions), supervision.py (reminders, 督办,
daily check), replies.py (reply, review, outbox, satisfaction, public status, knowledge base).

Who reads a letter: staff of the unit that holds it and of units named to co-handle it (handler,
reviewer), leaders of those units or above, and supervisors (all letters). Admins administer the
system and read no letters (004 §10(四)). The writer's identity is a narrower rule: see writer.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Callable
from typing import Any

from tortoise.expressions import Q, Subquery

from infra.clock import Clock, to_local
from infra.deps import Deps
from infra.errors import DomainError, Forbidden, NotFound, as_id
from infra.models import Notification
from infra.notify import mask_mobile
from letters.codes import format_code, normalize_code
from letters.models import (
    CHANNELS,
    DECLINE_REASONS,
    KINDS,
    OPEN_STATUSES,
    PENDING_STATUSES,
    STATUSES,
    Extension,
    Letter,
    LetterEvent,
    LetterUnit,
    Reminder,
    Reply,
)
from letters.writer import hide_writer, sees_writer, unseal
from org.access import Actor
from org.audit import record_audit
from org.models import Staff, Unit

log = logging.getLogger(__name__)

READER_ROLES = ("handler", "reviewer", "leader", "supervisor")
ACTIONS = {
    "received": "收到来信",
    "accepted": "甄别受理",
    "declined": "不予受理",
    "instructed": "领导批示",
    "assigned": "交办",
    "transferred": "转办",
    "extension_requested": "申请延期",
    "extension_approved": "同意延期",
    "extension_rejected": "不同意延期",
    "reply_written": "拟写答复",
    "reply_rejected": "答复退回修改",
    "replied": "答复来信人",
    "overdue": "逾期转督办",
    "supervised": "督办意见",
    "rated": "来信人评价",
    "reopened": "不满意重新办理",
    "kb_proposed": "转为知识库条目",
}


# ---------------------------------------------------------------- small helpers


def bool_field(data: dict[str, Any], key: str, label: str) -> bool:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    raise DomainError("bad_field", f"请选择{label}（是或否）", field=key)


async def unit_field(data: dict[str, Any], key: str, *, label: str = "单位") -> Unit:
    unit = await Unit.get_or_none(id=as_id(data.get(key), label), active=True)
    if unit is None:
        raise NotFound(label)
    if unit.is_internal:
        raise DomainError("internal_section", f"「{unit.name}」是内设机构，来信应交其所在单位办理")
    return unit


async def require_handler(unit: Unit) -> None:
    """A letter handed to a unit needs someone there to handle it: refuse, naming the unit,
    rather than show 已受理 while nobody is told (issue 13 item 7)."""
    staff = await Staff.filter(unit_id=unit.id, active=True).values_list("roles", flat=True)
    if not any("handler" in (roles or []) for roles in staff):
        raise DomainError(
            "no_handler",
            f"「{unit.name}」还没有办理人，不能交其办理：请该单位的系统管理员先添加办理人，"
            "或改交其他单位",
            field="unit_id",
        )


async def unit_by_code(code: str, what: str) -> Unit:
    unit = await Unit.get_or_none(code=code) if code else None
    if unit is None:
        raise DomainError("no_unit", f"{what}（单位代码 {code or '未设置'}）不存在，请检查设置")
    return unit


def today(clock: Clock) -> dt.date:
    return clock.today()


def days_left(letter: Letter, on: dt.date) -> int | None:
    return (letter.due_on - on).days if letter.due_on else None


async def add_event(
    letter: Letter,
    actor: Actor,
    action: str,
    *,
    clock: Clock,
    note: str = "",
    unit_id: int | None = None,
    data: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> LetterEvent:
    return await LetterEvent.create(
        letter=letter,
        at=clock.now(),
        actor_id=actor.staff_id,
        actor_name=actor_name if actor_name is not None else (actor.name or "系统"),
        unit_id=unit_id if unit_id is not None else actor.unit_id,
        action=action,
        note=note,
        data=data or {},
    )


async def audit_letter(
    actor: Actor, action: str, letter: Letter, summary: str, *, clock: Clock, **extra: Any
) -> None:
    """Audit records name the letter and what happened, never the writer."""
    await record_audit(
        actor,
        action,
        clock=clock,
        object_type="letter",
        object_id=letter.id,
        summary=summary,
        after={"status": letter.status, "unit_id": letter.unit_id, **extra},  # type: ignore[attr-defined]
    )


# ---------------------------------------------------------------- notifications


async def unit_recipients(unit_id: int) -> list[str]:
    """Mobiles of the unit's active handlers; its leaders when it has no handler (001 §37)."""
    staff = await Staff.filter(unit_id=unit_id, active=True).order_by("id")
    handlers = [s.mobile for s in staff if "handler" in s.roles]
    return handlers or [s.mobile for s in staff if "leader" in s.roles]


async def role_recipients(unit_id: int, role: str, *fallback: str) -> list[str]:
    """Mobiles of the unit's active staff holding ``role``; else those holding a fallback."""
    staff = await Staff.filter(unit_id=unit_id, active=True).order_by("id")
    for wanted in (role, *fallback):
        if found := [s.mobile for s in staff if wanted in s.roles]:
            return found
    return []


async def queue_unit_notice(
    letter: Letter,
    unit_id: int,
    kind: str,
    key: str,
    body: str,
    *,
    clock: Clock,
    recipients: list[str] | None = None,
) -> bool:
    """Inside the caller's transaction: record the reminder under its unique key and queue the SMS
    in the notification outbox. False when this reminder was already sent. The caller delivers
    after commit (``deliver_notices``); a crash in between leaves them for the retry job."""
    if await Reminder.filter(letter_id=letter.id, key=key).exists():
        return False
    mobiles = recipients if recipients is not None else await unit_recipients(unit_id)
    now = clock.now()
    await Reminder.create(
        letter=letter,
        key=key,
        kind=kind,
        unit_id=unit_id,
        recipients=[mask_mobile(m) for m in mobiles],
        sent_at=now,
    )
    for mobile in mobiles:
        await Notification.create(
            recipient=mobile,
            body=body,
            purpose=f"letter.{kind}",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    if not mobiles:
        log.warning("letter %s: unit %s has no handler or leader to notify", letter.id, unit_id)
    return True


async def deliver_notices(deps: Deps) -> int:
    return await deps.notifier.retry_notifications()


def due_text(letter: Letter) -> str:
    return f"{letter.due_on.month}月{letter.due_on.day}日" if letter.due_on else "未定"


# ---------------------------------------------------------------- reading


def readable(actor: Actor, qs):
    """Narrow a Letter queryset to what the actor reads."""
    if "system" in actor.roles or actor.has("supervisor"):
        return qs
    if not actor.has(*READER_ROLES) or actor.unit_id is None:
        return qs.filter(id=-1)
    if "leader" in actor.roles:
        co = LetterUnit.filter(unit__path__startswith=actor.unit_path).values("letter_id")
        return qs.filter(Q(unit__path__startswith=actor.unit_path) | Q(id__in=Subquery(co)))
    co = LetterUnit.filter(unit_id=actor.unit_id).values("letter_id")
    return qs.filter(Q(unit_id=actor.unit_id) | Q(id__in=Subquery(co)))


async def load_letter(actor: Actor, letter_id: Any) -> Letter:
    """The letter if the actor reads it; "not found" otherwise, like an unknown id."""
    letter = await readable(actor, Letter.all().select_related("unit")).get_or_none(
        id=as_id(letter_id, "来信")
    )
    if letter is None:
        raise NotFound("来信")
    return letter


def require_unit_role(actor: Actor, letter: Letter, *roles: str, what: str) -> None:
    """The actor holds one of the roles in the letter's unit (leaders: the unit or above)."""
    unit: Unit = letter.unit
    if "system" in actor.roles:
        return
    if "handler" in roles and "handler" in actor.roles and actor.unit_id == unit.id:
        return
    if "reviewer" in roles and "reviewer" in actor.roles and actor.unit_id == unit.id:
        return
    if "leader" in roles and "leader" in actor.roles and unit.path.startswith(actor.unit_path):
        return
    raise Forbidden(f"只有「{unit.name}」的{what}可以进行此操作")


def require_status(letter: Letter, *statuses: str) -> None:
    if letter.status not in statuses:
        wanted = "、".join(STATUSES[s] for s in statuses)
        raise DomainError(
            "bad_status",
            f"来信当前状态为「{STATUSES[letter.status]}」，此操作只适用于{wanted}的来信",
        )


def writer_view(deps: Deps, actor: Actor, letter: Letter) -> dict[str, Any]:
    unit: Unit = letter.unit
    if letter.writer_sealed and sees_writer(actor, unit.path, unit.id):
        w = unseal(deps.settings, letter.writer_sealed)
        return {
            "name": w.name,
            "mobile": w.mobile,
            "platform_user_id": w.platform_user_id,
            "masked": False,
        }
    return {
        "name": letter.writer_name_masked,
        "mobile": letter.writer_mobile_masked,
        "platform_user_id": letter.writer_platform_masked,
        "masked": True,
    }


def _hider(deps: Deps, letter: Letter) -> Callable[[str], str]:
    """What the letter's texts become for someone who sees its writer masked."""
    if not letter.writer_sealed:
        return str
    writer = unseal(deps.settings, letter.writer_sealed)
    return lambda text: hide_writer(text, writer)


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


HEADING_CHARS = 30
# A first line that only greets (尊敬的领导：, 市长您好！) says nothing of the letter.
_GREETING = re.compile(
    r"^(?:(?:尊敬的|敬爱的|亲爱的)?.{0,8}(?:领导|市长|书记|局长|主任|同志|工作人员)们?"
    r"(?:[您你]?好[！!，,：:。\s]*|[！!，,：:]+)|[您你]好[！!，,：:。\s]*)$"
)


def first_line(content: str) -> str:
    """What a letter asks first: its first line that is more than a greeting, spaces folded."""
    lines = [" ".join(line.split()) for line in content.splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if not _GREETING.match(line):
            return line
    return lines[0] if lines else ""


def heading_of(title: str, content: str) -> str:
    """How a letter is listed: its title, or (the chat's letters and many web forms have none)
    the start of its first line."""
    if title.strip():
        return title.strip()
    line = first_line(content)
    return line if len(line) <= HEADING_CHARS else line[: HEADING_CHARS - 1] + "…"


def letter_view(
    deps: Deps,
    actor: Actor,
    letter: Letter,
    *,
    events: list[LetterEvent] | None = None,
    replies: list[Reply] | None = None,
    extension: Extension | None = None,
    co_unit_ids: list[int] | None = None,
) -> dict[str, Any]:
    """The staff view. ``letter.unit`` must be loaded."""
    on = today(deps.clock)
    writer = writer_view(deps, actor, letter)
    hide = _hider(deps, letter) if writer["masked"] else str
    left = days_left(letter, on)
    body: dict[str, Any] = {
        "id": letter.id,
        "code": format_code(letter.code),
        "kind": letter.kind,
        "kind_label": KINDS[letter.kind],
        "channel": letter.channel,
        "channel_label": CHANNELS[letter.channel],
        "account_id": letter.account_id,  # type: ignore[attr-defined]
        "title": hide(letter.title),
        "content": hide(letter.content),
        "heading": heading_of(hide(letter.title), hide(letter.content)),
        "question": hide(letter.title.strip() or first_line(letter.content)),
        "attachments": letter.attachments,
        "writer": writer,
        "consent_publish": letter.consent_publish,
        "status": letter.status,
        "status_label": STATUSES[letter.status],
        "unit_id": letter.unit.id,
        "unit_name": letter.unit.name,
        "proposals": letter.proposals,
        "repeat_of_id": letter.repeat_of_id,  # type: ignore[attr-defined]
        "decline_reason": letter.decline_reason,
        "decline_reason_label": DECLINE_REASONS.get(letter.decline_reason, ""),
        "decline_note": letter.decline_note,
        "received_at": _iso(letter.received_at),
        "accepted_at": _iso(letter.accepted_at),
        "assigned_at": _iso(letter.assigned_at),
        "due_on": _iso(letter.due_on),
        "days_left": left,
        "overdue": left is not None and left < 0 and letter.status in OPEN_STATUSES,
        "extended_days": letter.extended_days,
        "reopened": letter.reopened,
        "supervised": letter.supervised_at is not None,
        "replied_at": _iso(letter.replied_at),
        "kb_entry_id": letter.kb_entry_id,
    }
    if co_unit_ids is not None:
        body["co_unit_ids"] = co_unit_ids
    if events is not None:
        body["timeline"] = [
            {
                "at": e.at.isoformat(),
                "actor": e.actor_name,
                "unit_id": e.unit_id,
                "action": e.action,
                "action_label": ACTIONS.get(e.action, e.action),
                "note": e.note,
                "data": e.data,
            }
            for e in events
        ]
    if replies is not None:
        body["replies"] = [
            {
                "id": r.id,
                "round": r.round,
                "text": hide(r.text),
                "status": r.status,
                "author_id": r.author_id,  # type: ignore[attr-defined]
                "reviewer_id": r.reviewer_id,  # type: ignore[attr-defined]
                "review_note": r.review_note,
                "created_at": r.created_at.isoformat(),
                "sent_at": _iso(r.sent_at),
            }
            for r in replies
        ]
    if extension is not None:
        body["extension"] = {
            "id": extension.id,
            "days": extension.days,
            "reason": extension.reason,
            "status": extension.status,
            "requested_by": extension.requested_by_id,  # type: ignore[attr-defined]
            "comment": extension.comment,
        }
    return body


async def get_letter(deps: Deps, actor: Actor, letter_id: Any) -> dict[str, Any]:
    """One letter with its timeline, replies, extension and co-handling units."""
    letter = await load_letter(actor, letter_id)
    events = await LetterEvent.filter(letter_id=letter.id).order_by("id")
    replies = await Reply.filter(letter_id=letter.id).order_by("id")
    extension = await Extension.get_or_none(letter_id=letter.id)
    co = await LetterUnit.filter(letter_id=letter.id).values_list("unit_id", flat=True)
    return letter_view(
        deps,
        actor,
        letter,
        events=events,
        replies=replies,
        extension=extension,
        co_unit_ids=list(co),
    )


def _filtered(actor: Actor, filters: dict[str, Any], on: dt.date):
    qs = readable(actor, Letter.all().select_related("unit"))
    if v := filters.get("status"):
        if v not in STATUSES:
            raise DomainError("bad_field", f"未知状态：{v}", field="status")
        qs = qs.filter(status=v)
    if v := filters.get("kind"):
        if v not in KINDS:
            raise DomainError("bad_field", f"未知来信类型：{v}", field="kind")
        qs = qs.filter(kind=v)
    if v := filters.get("unit_id"):
        qs = qs.filter(unit_id=as_id(v, "单位"))
    if filters.get("overdue"):
        qs = qs.filter(status__in=OPEN_STATUSES, due_on__lt=on)
    if raw := filters.get("code"):
        code = normalize_code(raw)
        if not code:
            raise DomainError(
                "bad_field", "跟踪码应为 10 位字母和数字，如 7KQ2M-XP4RT", field="code"
            )
        qs = qs.filter(code=code)
    if words := str(filters.get("q") or "").strip()[:50]:
        qs = qs.filter(Q(title__icontains=words) | Q(content__icontains=words))
    return qs


async def list_letters(
    deps: Deps, actor: Actor, filters: dict[str, Any], *, limit: int = 50, offset: int = 0
) -> tuple[int, list[Letter]]:
    """Letters the actor reads, newest first; filters: status, kind, unit_id, overdue, code
    (a tracking code as a citizen reads it out), q (words of the title or content)."""
    if not actor.has(*READER_ROLES):
        raise Forbidden("此操作需要以下角色之一：办理人、审核员、领导、督查人员")
    qs = _filtered(actor, filters, today(deps.clock))
    total = await qs.count()
    rows = await qs.order_by("-received_at", "-id").offset(offset).limit(min(limit, 500))
    return total, rows


# Queue: the statuses it holds, its order.
QUEUES = {
    "screening": (("new",), ("received_at", "id")),
    "handling": (OPEN_STATUSES, ("due_on", "id")),
    "reviewing": (("reviewing",), ("due_on", "id")),
}


def _of_my_units(actor: Actor, qs):
    """A leader's unit and those below it; anyone else's own unit."""
    if "leader" in actor.roles:
        return qs.filter(unit__path__startswith=actor.unit_path)
    return qs.filter(unit_id=actor.unit_id)


# What waits for whom: queue -> (roles it waits for, statuses).
TODO = {
    "screening": (("handler", "leader"), ("new",)),
    "handling": (("handler", "leader"), ("handling",)),
    "reviewing": (("reviewer", "leader"), ("reviewing",)),
    "instructing": (("leader",), ("instructing",)),
}


async def count_todo(actor: Actor) -> dict[str, int]:
    """The letters waiting for this person, by queue (and leaders' pending extensions), in
    their own unit (leaders: and below). Reading it is not the daily check."""
    if actor.unit_id is None:
        return {}
    counts = {
        queue: await _of_my_units(actor, Letter.filter(status__in=statuses)).count()
        for queue, (roles, statuses) in TODO.items()
        if actor.has(*roles)
    }
    if actor.has("leader"):
        counts["extensions"] = await Extension.filter(
            status="pending", letter__unit__path__startswith=actor.unit_path
        ).count()
    return counts


async def list_inbox(
    deps: Deps, actor: Actor, *, queue: str = "handling", limit: int = 50, offset: int = 0
) -> tuple[int, list[Letter]]:
    """The pending list of the actor's unit (handlers, reviewers) or subtree (leaders).

    queue "handling": letters with a running deadline, soonest first (index unit, status,
    due_on); "screening": new letters waiting to be accepted or declined, oldest first;
    "reviewing": letters whose reply waits for a reviewer, soonest deadline first.
    Opening it is the daily check of 001 §28 and is recorded (supervision.record_inbox_open).
    """
    from letters.supervision import record_inbox_open

    if not actor.has("handler", "reviewer", "leader") or actor.unit_id is None:
        raise Forbidden("只有办理人、审核员和领导有待办来信")
    if queue not in QUEUES:
        raise DomainError("bad_field", f"未知待办类别：{queue}", field="queue")
    status, order = QUEUES[queue]
    qs = _of_my_units(actor, Letter.filter(status__in=status))
    total = await qs.count()
    rows = await qs.select_related("unit").order_by(*order).offset(offset).limit(min(limit, 500))
    await record_inbox_open(deps, actor)
    return total, rows


CSV_COLUMNS = [
    "编号",
    "查询码",
    "类型",
    "渠道",
    "来信人",
    "联系电话",
    "状态",
    "办理单位",
    "收到时间",
    "答复期限",
    "答复时间",
    "督办",
]


async def export_letters_csv(deps: Deps, actor: Actor, filters: dict[str, Any]) -> str:
    """CSV for reports: the writer always masked, whoever exports (RULES.md section 2)."""
    if not actor.has("leader", "supervisor"):
        raise Forbidden("只有领导和督查人员可以导出来信")
    qs = _filtered(actor, filters, today(deps.clock))
    await record_audit(
        actor,
        "letter.export",
        clock=deps.clock,
        object_type="letter",
        summary=f"导出来信，条件：{ {k: str(v) for k, v in filters.items()} }",
    )
    buf = io.StringIO()
    buf.write("\ufeff")
    out = csv.writer(buf)
    out.writerow(CSV_COLUMNS)
    for letter in await qs.order_by("received_at", "id").limit(100_000):
        out.writerow(
            [
                letter.id,
                format_code(letter.code),
                KINDS[letter.kind],
                CHANNELS[letter.channel],
                letter.writer_name_masked,
                letter.writer_mobile_masked,
                STATUSES[letter.status],
                letter.unit.name,
                to_local(letter.received_at).strftime("%Y-%m-%d %H:%M"),
                letter.due_on.isoformat() if letter.due_on else "",
                to_local(letter.replied_at).strftime("%Y-%m-%d %H:%M") if letter.replied_at else "",
                "是" if letter.supervised_at else "",
            ]
        )
    return buf.getvalue()


def is_pending(letter: Letter) -> bool:
    return letter.status in PENDING_STATUSES
