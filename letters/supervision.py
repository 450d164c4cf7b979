"""Reminders, supervision (督办, 001 §27) and the daily check (001 §28).

``send_letter_reminders`` is the daily job: for every open letter it sends what is due - 3 days
before the deadline, 1 day before, and once overdue - and puts overdue letters on the
supervision list. Each reminder is a Reminder row under a unique (letter, key) where the key
names the kind and the deadline it was about ("due3:2026-12-08"), inserted in the same
transaction that queues the SMS: two workers running the job at once, or the job running twice,
send each reminder once. An extended or reopened letter has a new deadline and so new reminders.
Putting a letter on the list is a conditional UPDATE (supervised_at IS NULL), so its timeline
event is written once too.

The daily check: listing one's pending letters records an InboxOpen row per staff member and day;
``record_missed_checks`` records, per working day, the units that had pending letters and whose
staff opened none (unique per unit and day, so it is idempotent); supervisors list them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from infra.clock import beijing_midnight
from infra.deps import Deps
from infra.errors import DomainError, Forbidden
from infra.fields import text_field
from infra.models import Notification
from infra.notify import mask_mobile
from letters.models import (
    KINDS,
    OPEN_STATUSES,
    PENDING_STATUSES,
    InboxOpen,
    Letter,
    LetterEvent,
    MissedCheck,
    Reminder,
)
from letters.service import (
    add_event,
    audit_letter,
    deliver_notices,
    due_text,
    load_letter,
    queue_unit_notice,
    readable,
    unit_recipients,
)
from org.access import Actor
from org.audit import record_audit

log = logging.getLogger(__name__)

REMINDER_TEXT = {
    "due3": "距答复期限不足3天",
    "due1": "明天到期",
    "overdue": "已逾期，已转效能督办",
}


def reminder_due(days_left: int) -> str | None:
    """Which reminder a letter with this many days left should have had by now."""
    if days_left < 0:
        return "overdue"
    if days_left <= 1:
        return "due1"
    if days_left <= 3:
        return "due3"
    return None


async def _remind(deps: Deps, letter: Letter, kind: str, recipients: list[str]) -> bool:
    """One letter, one transaction. True when this call sent the reminder."""
    system = Actor.system("督办提醒")
    now = deps.clock.now()
    try:
        async with in_transaction():
            sent = await queue_unit_notice(
                letter,
                letter.unit_id,  # type: ignore[attr-defined]
                kind,
                f"{kind}:{letter.due_on.isoformat()}",
                _reminder_body(letter, kind),
                clock=deps.clock,
                recipients=recipients,
            )
            if kind == "overdue":
                listed = await Letter.filter(
                    id=letter.id, supervised_at__isnull=True, status__in=OPEN_STATUSES
                ).update(supervised_at=now)
                if listed:
                    await add_event(
                        letter,
                        system,
                        "overdue",
                        clock=deps.clock,
                        unit_id=letter.unit_id,  # type: ignore[attr-defined]
                        note=f"超过答复期限{due_text(letter)}，列入督办",
                    )
                    await audit_letter(
                        system,
                        "letter.overdue",
                        letter,
                        f"来信 #{letter.id} 逾期，列入督办",
                        clock=deps.clock,
                    )
    except IntegrityError:
        return False  # another worker sent it first
    return sent


def _reminder_body(letter: Letter, kind: str) -> str:
    return (
        f"【民声】来信#{letter.id}（{KINDS[letter.kind]}）{REMINDER_TEXT[kind]}，"
        f"答复期限{due_text(letter)}，请尽快办理。"
    )


async def _remind_batch(
    deps: Deps, items: list[tuple[Letter, str, str]], recipients: dict[int, list[str]]
) -> int | None:
    """A batch of reminders in one transaction: rows in bulk, the overdue ones listed for
    supervision. None when another worker got to one of them first (the unique key refuses the
    batch); the caller then goes letter by letter, and each still goes out once."""
    now = deps.clock.now()
    reminders, notes, overdue = [], [], []
    for letter, kind, key in items:
        unit_id = letter.unit_id  # type: ignore[attr-defined]
        mobiles = recipients[unit_id]
        reminders.append(
            Reminder(
                letter_id=letter.id,
                key=key,
                kind=kind,
                unit_id=unit_id,
                recipients=[mask_mobile(m) for m in mobiles],
                sent_at=now,
            )
        )
        body = _reminder_body(letter, kind)
        notes += [
            Notification(
                recipient=m,
                body=body,
                purpose=f"letter.{kind}",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for m in mobiles
        ]
        if kind == "overdue":
            overdue.append(letter)
    try:
        async with in_transaction():
            await Reminder.bulk_create(reminders)
            await Notification.bulk_create(notes)
            if overdue:
                await _list_overdue(deps, overdue, now)
    except IntegrityError:
        return None
    return len(items)


async def _list_overdue(deps: Deps, letters: list[Letter], now: dt.datetime) -> None:
    """Put overdue letters on the supervision list, with an event each and one audit record."""
    system = Actor.system("督办提醒")
    ids = [letter.id for letter in letters]
    fresh = set(
        await Letter.filter(
            id__in=ids, supervised_at__isnull=True, status__in=OPEN_STATUSES
        ).values_list("id", flat=True)
    )
    if not fresh:
        return
    await Letter.filter(id__in=list(fresh), supervised_at__isnull=True).update(supervised_at=now)
    await LetterEvent.bulk_create(
        [
            LetterEvent(
                letter_id=letter.id,
                at=now,
                actor_id=None,
                actor_name=system.name,
                unit_id=letter.unit_id,  # type: ignore[attr-defined]
                action="overdue",
                note=f"超过答复期限{due_text(letter)}，列入督办",
                data={},
            )
            for letter in letters
            if letter.id in fresh
        ]
    )
    listed = sorted(fresh)
    await record_audit(
        system,
        "letter.overdue",
        clock=deps.clock,
        object_type="letter",
        object_id=listed[0] if len(listed) == 1 else "",
        summary=f"{len(listed)} 件来信逾期，列入督办："
        + "、".join(f"#{i}" for i in listed[:50])
        + ("…" if len(listed) > 50 else ""),
    )


async def send_letter_reminders(deps: Deps) -> int:
    """The daily job; safe on several workers at once. Returns reminders sent by this call."""
    on = deps.clock.today()
    horizon = on + dt.timedelta(days=3)
    sent = 0
    last_id = 0
    recipients: dict[int, list[str]] = {}  # per unit, for this run
    while True:
        batch = (
            await Letter.filter(status__in=OPEN_STATUSES, due_on__lte=horizon, id__gt=last_id)
            .order_by("id")
            .limit(500)
        )
        if not batch:
            break
        last_id = batch[-1].id
        wanted = {}
        for letter in batch:
            kind = reminder_due((letter.due_on - on).days)
            if kind:
                wanted[letter.id] = (letter, kind, f"{kind}:{letter.due_on.isoformat()}")
        # Most of them were reminded on an earlier day: one query for the batch instead of a
        # transaction per letter. _remind still checks under its unique key (races).
        done = set(
            await Reminder.filter(
                letter_id__in=list(wanted), key__in={key for _, _, key in wanted.values()}
            ).values_list("letter_id", "key")
        )
        todo = [item for letter_id, item in wanted.items() if (letter_id, item[2]) not in done]
        for letter, _, _ in todo:
            unit_id = letter.unit_id  # type: ignore[attr-defined]
            if unit_id not in recipients:
                recipients[unit_id] = await unit_recipients(unit_id)
        if not todo:
            continue
        batched = await _remind_batch(deps, todo, recipients)
        if batched is not None:
            sent += batched
            continue
        for letter, kind, _ in todo:
            unit_id = letter.unit_id  # type: ignore[attr-defined]
            if await _remind(deps, letter, kind, recipients[unit_id]):
                sent += 1
    if sent:
        await deliver_notices(deps)
    return sent


# ---------------------------------------------------------------- the supervision list


def _supervised(actor: Actor):
    if not actor.has("supervisor", "leader"):
        raise Forbidden("只有督查人员和领导可以查看督办件")
    return readable(actor, Letter.filter(supervised_at__isnull=False, status__in=PENDING_STATUSES))


async def list_supervision(
    actor: Actor, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[Letter]]:
    """Overdue letters not yet answered, longest overdue first, and how many there are.

    The page's ids are the first entries of the partial index let_letter_supervision_list (the
    list in its order), then only those letters are read; the total counts that index, not
    every letter ever supervised. Before it, every listed letter was read and sorted per page."""
    qs = _supervised(actor)
    total = await qs.count()
    ids = await (
        qs.order_by("due_on", "id")
        .offset(offset)
        .limit(min(limit, 500))
        .values_list("id", flat=True)
    )
    found = {r.id: r for r in await Letter.filter(id__in=ids).select_related("unit")}
    return total, [found[i] for i in ids if i in found]


async def add_supervision_note(
    deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]
) -> Letter:
    """A supervisor's instruction on a supervised letter: on the timeline, sent to the unit."""
    actor.require("supervisor")
    letter = await load_letter(actor, letter_id)
    if letter.supervised_at is None or letter.status not in PENDING_STATUSES:
        raise DomainError("not_supervised", "只能对督办中的来信提出督办意见")
    text = text_field(data, "text", "督办意见", max_len=2000)
    async with in_transaction():
        event = await add_event(
            letter, actor, "supervised", clock=deps.clock, note=text, unit_id=actor.unit_id
        )
        await queue_unit_notice(
            letter,
            letter.unit.id,
            "supervise",
            f"supervise:{event.id}",
            f"【民声】督办意见：来信#{letter.id}（{KINDS[letter.kind]}）已逾期，{text[:60]}",
            clock=deps.clock,
        )
        await audit_letter(
            actor, "letter.supervise", letter, f"对来信 #{letter.id} 提出督办意见", clock=deps.clock
        )
    await deliver_notices(deps)
    return letter


async def supervision_notes(letter_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The supervisors' instructions (督办意见) on these letters, oldest first, per letter."""
    if not letter_ids:
        return {}
    events = await LetterEvent.filter(letter_id__in=letter_ids, action="supervised").order_by("id")
    out: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        out.setdefault(e.letter_id, []).append(  # type: ignore[attr-defined]
            {"at": e.at, "actor": e.actor_name, "note": e.note}
        )
    return out


# ---------------------------------------------------------------- the daily check


async def record_inbox_open(deps: Deps, actor: Actor) -> bool:
    """The actor looked at their pending letters today. True the first time of the day."""
    if actor.staff_id is None or actor.unit_id is None:
        return False
    day = deps.clock.today()
    if await InboxOpen.filter(staff_id=actor.staff_id, day=day).exists():
        return False
    try:
        await InboxOpen.create(
            unit_id=actor.unit_id, staff_id=actor.staff_id, day=day, first_at=deps.clock.now()
        )
    except IntegrityError:
        return False
    return True


def last_working_day(deps: Deps, before: dt.date) -> dt.date:
    day = before - dt.timedelta(days=1)
    while not deps.calendar.is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


async def record_missed_checks(deps: Deps, day: dt.date | None = None) -> int:
    """Record the units that had pending letters on a working day (default: the last one before
    today) and whose staff did not open their pending list that day. Idempotent."""
    await deps.calendar.refresh(deps.redis)
    day = day or last_working_day(deps, deps.clock.today())
    if not deps.calendar.is_working_day(day):
        return 0
    end = beijing_midnight(day + dt.timedelta(days=1))
    pending = (
        await Letter.filter(status__in=PENDING_STATUSES, received_at__lt=end)
        .annotate(n=Count("id"))
        .group_by("unit_id")
        .values_list("unit_id", "n")
    )
    opened = set(await InboxOpen.filter(day=day).values_list("unit_id", flat=True))
    done = set(await MissedCheck.filter(day=day).values_list("unit_id", flat=True))
    recorded = 0
    for unit_id, n in pending:
        if unit_id in opened or unit_id in done:
            continue
        try:
            await MissedCheck.create(
                unit_id=unit_id, day=day, pending=n, recorded_at=deps.clock.now()
            )
        except IntegrityError:
            continue
        recorded += 1
    return recorded


async def list_missed_checks(
    actor: Actor, *, since: dt.date | None = None, until: dt.date | None = None
) -> list[dict[str, Any]]:
    """Units that missed the daily check, newest day first (supervisors: all; leaders: subtree)."""
    if not actor.has("supervisor", "leader"):
        raise Forbidden("只有督查人员和领导可以查看每日查看情况")
    qs = MissedCheck.all().select_related("unit")
    if not actor.has("supervisor"):
        qs = qs.filter(unit__path__startswith=actor.unit_path)
    if since:
        qs = qs.filter(day__gte=since)
    if until:
        qs = qs.filter(day__lte=until)
    rows = await qs.order_by("-day", "unit__path").limit(1000)
    return [
        {
            "day": m.day.isoformat(),
            "unit_id": m.unit.id,
            "unit_name": m.unit.name,
            "pending": m.pending,
        }
        for m in rows
    ]
