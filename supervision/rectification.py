"""The monthly rectification list (月整改, 002 §19–20).

When a calendar month is over, it is scored with the current rubric (the month's scores are kept
as a ``monthly`` report, with the rubric version, like the weekly patrol) and every veto and every
deduction of every account becomes an item: the unit owning the account, the problem, its count
and points, the evidence as found, and a due date ``RECTIFY_WORKING_DAYS`` working days after the
list was made (official calendar). One item per month, account and problem, whoever builds it and
however often. Built on demand by supervisors and by the worker for the month before.

The unit's editors or leader record what they did (a note, a file if they have one); a supervisor
verifies it (done) or returns it with a reason (open again, the unit told by SMS). An item not
done by the end of its month's successor stays on the following lists (carried over) until it is
verified; each list counts, per unit, what is open, waiting, overdue and done on time or late.
Overdue items are reminded once. Every step is on the item's history and in the audit log, and
each is a conditional update on the item's status and version: two people acting at once, one
wins. Evidence names posts, letters by tracking code, tasks and entries, never a letter writer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from infra.clock import beijing_date, beijing_midnight
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.fields import text_field
from org.access import Actor
from org.audit import record_audit
from org.models import Staff
from supervision.models import (
    RECTIFY_STATUSES,
    RectifyEvent,
    RectifyFile,
    RectifyItem,
    Report,
    ReportRow,
)
from supervision.patrol import _store_rows, build_report_data, current_rubric, rubric_version

RECTIFY_WORKING_DAYS = 10
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NOTE = 2000
LIST_LIMIT = 1000  # items on one page; the counts are always whole

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc .xls .ppt
_ZIP = b"PK\x03\x04"  # .docx .xlsx .pptx
# Extension: (content type, how the file begins). The type is ours, never the browser's.
FILE_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".doc": ("application/msword", (_OLE,)),
    ".xls": ("application/vnd.ms-excel", (_OLE,)),
    ".ppt": ("application/vnd.ms-powerpoint", (_OLE,)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (_ZIP,),
    ),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (_ZIP,)),
    ".pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (_ZIP,),
    ),
}
EVENT_LABELS = {
    "answer": "上报整改情况",
    "return": "退回重新整改",
    "verify": "核验通过",
    "remind": "逾期提醒",
}


# ------------------------------------------------------------------ months


def parse_month(value: str) -> dt.date:
    """ "2026-10" (or any day of it) as the first day of the month."""
    text = (value or "").strip()
    try:
        if len(text) == 7:
            return dt.date.fromisoformat(text + "-01")
        return dt.date.fromisoformat(text).replace(day=1)
    except ValueError:
        raise DomainError("bad_field", "月份格式应为 2026-10", field="month") from None


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def last_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def month_label(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


# ------------------------------------------------------------------ who may do what


def _require_reader(actor: Actor) -> None:
    if not actor.has("supervisor", "leader", "admin", "editor", "reviewer"):
        raise Forbidden("只有督查人员、领导、管理员和本单位编辑审核人员可以查看整改清单")


def may_answer(actor: Actor, item: RectifyItem) -> bool:
    """The unit's own editors and leader (not a parent unit's)."""
    return (
        actor.has("editor", "leader")
        and "system" not in actor.roles
        and actor.unit_id == item.unit_id  # type: ignore[attr-defined]
    )


def may_review(actor: Actor) -> bool:
    return actor.has("supervisor") and "system" not in actor.roles


async def _load(actor: Actor, item_id: Any) -> RectifyItem:
    """The item if the actor reads its unit; "not found" otherwise, like an unknown id."""
    _require_reader(actor)
    item = (
        await actor.scope(RectifyItem.all())
        .select_related("unit")
        .get_or_none(id=as_id(item_id, "整改事项"))
    )
    if item is None:
        raise NotFound("整改事项")
    return item


def _require_status(item: RectifyItem, *allowed: str) -> None:
    if item.status not in allowed:
        label = RECTIFY_STATUSES.get(item.status, item.status)
        raise Conflict("bad_status", f"该整改事项当前为「{label}」，不能进行此操作")


async def _move(item: RectifyItem, expected: str, now: dt.datetime, **changes: Any) -> None:
    """Conditional on the status and version read: of two people acting at once, one wins."""
    moved = await RectifyItem.filter(id=item.id, status=expected, version=item.version).update(
        version=item.version + 1, updated_at=now, **changes
    )
    if not moved:
        raise Conflict("changed", "该整改事项刚被他人处理，请刷新后重试")
    item.version += 1
    item.updated_at = now
    for k, v in changes.items():
        setattr(item, k, v)


async def _event(item: RectifyItem, actor: Actor, action: str, now: dt.datetime, **kw) -> None:
    await RectifyEvent.create(
        item=item, at=now, actor_id=actor.staff_id, actor_name=actor.name, action=action, **kw
    )


async def _audit(deps: Deps, actor: Actor, action: str, item: RectifyItem, summary: str) -> None:
    await record_audit(
        actor,
        f"rectify.{action}",
        clock=deps.clock,
        object_type="rectify_item",
        object_id=item.id,
        summary=summary,
        after={"status": item.status, "version": item.version},
    )


def _title(item: RectifyItem) -> str:
    return f"「{item.account_name}」{item.label}"


async def unit_people(unit_id: int) -> list[str]:
    """Mobiles of the unit's active editors and leaders: who rectifies and answers for it."""
    staff = await Staff.filter(unit_id=unit_id, active=True).order_by("id")
    wanted = [s.mobile for s in staff if {"editor", "leader"} & set(s.roles) and s.mobile]
    return list(dict.fromkeys(wanted))


async def _tell(deps: Deps, unit_id: int, body: str, purpose: str) -> int:
    mobiles = await unit_people(unit_id)
    for mobile in mobiles:
        await deps.notifier.send_notification(mobile, body, purpose=purpose)
    return len(mobiles)


# ------------------------------------------------------------------ the month's list


def _items(
    month: dt.date, accounts: list[dict[str, Any]], version: int, due: dt.date, now: dt.datetime
) -> list[RectifyItem]:
    rows = []
    for a in accounts:
        for kind, findings in (("veto", a["vetoes"]), ("deduction", a["deductions"])):
            for f in findings:
                rows.append(
                    RectifyItem(
                        month=month,
                        unit_id=a["unit_id"],
                        account_id=a["account_id"],
                        account_name=a["name"][:100],
                        kind=kind,
                        code=f["code"],
                        label=f["label"][:200],
                        count=f["count"],
                        points=f["points"],
                        evidence=f["evidence"],
                        rubric_version=version,
                        due_on=due,
                        created_at=now,
                        updated_at=now,
                    )
                )
    return rows


async def build_month(
    deps: Deps, actor: Actor, month: dt.date, *, rebuild: bool = False
) -> tuple[Report, int]:
    """The list of a finished month: (its report, the items this call added). Built once; a
    rebuild scores again with the report's rubric version and adds only the items missing (an
    item made earlier keeps its evidence, due date and answers)."""
    if not actor.has("supervisor"):
        raise Forbidden("只有督查人员可以生成月整改清单")
    start = month.replace(day=1)
    end = next_month(start) - dt.timedelta(days=1)
    if end >= deps.clock.today():
        raise DomainError("bad_field", "该月尚未结束，只能生成已结束月份的整改清单", field="month")
    existing = await Report.get_or_none(kind="monthly", period_start=start)
    if existing and not rebuild:
        return existing, 0
    rubric = (
        await rubric_version(deps, existing.rubric_version)
        if existing
        else await current_rubric(deps)
    )
    data = await build_report_data(deps, start, end, rubric.data)
    await deps.calendar.refresh(deps.redis)
    due = deps.calendar.add_working_days(deps.clock.today(), RECTIFY_WORKING_DAYS)
    now = deps.clock.now()
    # The month's scores are kept like a patrol's: the totals and units on the report, each
    # account's row in its own table.
    accounts = data.pop("accounts")
    rows = _items(start, accounts, rubric.version, due, now)
    try:
        async with in_transaction():
            if existing:
                # Claimed by the build time read: of two rebuilds at once, one adds the items.
                claimed = await Report.filter(id=existing.id, built_at=existing.built_at).update(
                    data=data, built_at=now, built_by_id=actor.staff_id
                )
                if not claimed:
                    return await Report.get(id=existing.id), 0
                report = await Report.get(id=existing.id)
                await ReportRow.filter(report_id=report.id).delete()
            else:
                report = await Report.create(
                    kind="monthly",
                    period_start=start,
                    period_end=end,
                    rubric_version=rubric.version,
                    data=data,
                    built_at=now,
                    built_by_id=actor.staff_id,
                )
            await _store_rows(report, accounts)
            had = set(await RectifyItem.filter(month=start).values_list("account_id", "code"))
            new = [r for r in rows if (r.account_id, r.code) not in had]  # type: ignore[attr-defined]
            await RectifyItem.bulk_create(new, batch_size=500, ignore_conflicts=True)
            await record_audit(
                actor,
                "rectify.build",
                clock=deps.clock,
                object_type="report",
                object_id=report.id,
                summary=f"{'重新生成' if existing else '生成'}{month_label(start)}整改清单"
                f"（评分细则第 {rubric.version} 版）：新增整改事项 {len(new)} 项，"
                f"整改期限 {due}",
            )
    except IntegrityError:  # built by another request at the same moment
        return await Report.get(kind="monthly", period_start=start), 0
    per_unit: dict[int, int] = defaultdict(int)
    for r in new:
        per_unit[r.unit_id] += 1  # type: ignore[attr-defined]
    for unit_id, n in sorted(per_unit.items()):
        await _tell(
            deps,
            unit_id,
            f"【民声】{month_label(start)}整改清单列入贵单位问题 {n} 项，"
            f"请于{due.month}月{due.day}日前整改，并在控制台上报整改情况。",
            "rectify.created",
        )
    return report, len(new)


async def monthly_rectification_job(deps: Deps) -> int:
    """The list of the month before, once (a worker job on the 1st; a no-op once built)."""
    month = last_month(deps.clock.today())
    if await Report.filter(kind="monthly", period_start=month).exists():
        return 0
    _, made = await build_month(deps, Actor.system("月整改"), month)
    return made


async def get_month(actor: Actor, month: dt.date) -> Report | None:
    _require_reader(actor)
    return await Report.get_or_none(kind="monthly", period_start=month.replace(day=1))


async def list_months(actor: Actor, limit: int = 24) -> list[Report]:
    _require_reader(actor)
    return await Report.filter(kind="monthly").order_by("-period_start").limit(limit)


def _listed(month: dt.date):
    """The month's items and those of earlier months not verified by the month's end."""
    boundary = beijing_midnight(next_month(month))
    carried = (
        Q(month__lt=month)
        & Q(created_at__lt=boundary)
        & (Q(verified_at__isnull=True) | Q(verified_at__gte=boundary))
    )
    return RectifyItem.filter(Q(month=month) | carried)


async def month_items(actor: Actor, month: dt.date) -> list[RectifyItem]:
    """The month's list as the actor may read it (a unit's staff: their unit's items), the
    oldest found first."""
    _require_reader(actor)
    qs = actor.scope(_listed(month.replace(day=1))).select_related("unit")
    return await qs.order_by("month", "unit_id", "account_id", "id")


# ------------------------------------------------------------------ states and counts


@dataclass
class ItemState:
    overdue: bool  # not done in time: open past the due date, or answered after it
    answered_on: dt.date | None


def state_of(item: RectifyItem, today: dt.date) -> ItemState:
    answered = beijing_date(item.answered_at) if item.answered_at else None
    if item.status == "open":
        return ItemState(item.due_on < today, answered)
    return ItemState(answered is not None and answered > item.due_on, answered)


COUNT_KEYS = ("total", "new", "carried", "open", "submitted", "overdue", "done", "done_late")


def unit_counts(items: list[RectifyItem], month: dt.date, today: dt.date) -> list[dict]:
    """Per unit: the items listed (new this month, carried over), open, waiting for
    verification, overdue, done on time, done late. Most overdue first."""
    units: dict[int, dict[str, Any]] = {}
    for item in items:
        unit_id = item.unit_id  # type: ignore[attr-defined]
        row = units.setdefault(
            unit_id,
            {"unit_id": unit_id, "unit_name": item.unit.name, **dict.fromkeys(COUNT_KEYS, 0)},
        )
        s = state_of(item, today)
        row["total"] += 1
        row["new" if item.month == month else "carried"] += 1
        if item.status == "done":
            row["done_late" if s.overdue else "done"] += 1
        else:
            row[item.status] += 1
            row["overdue"] += s.overdue
    return sorted(units.values(), key=lambda r: (-r["overdue"], -r["open"], r["unit_name"]))


def totals(counts: list[dict]) -> dict[str, int]:
    return {k: sum(r[k] for r in counts) for k in COUNT_KEYS}


def item_view(item: RectifyItem, month: dt.date, today: dt.date) -> dict[str, Any]:
    s = state_of(item, today)
    return {
        "id": item.id,
        "month": item.month,
        "month_label": month_label(item.month),
        "carried": item.month < month,
        "unit_id": item.unit_id,  # type: ignore[attr-defined]
        "unit_name": item.unit.name,
        "account_id": item.account_id,  # type: ignore[attr-defined]
        "account_name": item.account_name,
        "kind": item.kind,
        "code": item.code,
        "label": item.label,
        "count": item.count,
        "points": item.points,
        "evidence": item.evidence,
        "due_on": item.due_on,
        "status": item.status,
        "status_label": RECTIFY_STATUSES.get(item.status, item.status),
        "overdue": s.overdue,
        "answered_on": s.answered_on,
        "note": item.note,
        "returns": item.returns,
        "return_reason": item.return_reason,
        "verified_at": item.verified_at,
    }


# ------------------------------------------------------------------ an item


async def get_item(actor: Actor, item_id: Any) -> tuple[RectifyItem, list[RectifyEvent], dict]:
    """The item, its history (oldest first) and its files by id (without their bytes)."""
    item = await _load(actor, item_id)
    events = await RectifyEvent.filter(item_id=item.id).order_by("at", "id")
    files = {
        f["id"]: f
        for f in await RectifyFile.filter(item_id=item.id).values(
            "id", "name", "content_type", "size", "uploaded_at"
        )
    }
    return item, events, files


def check_file(name: str, data: bytes) -> tuple[str, str]:
    """A clean file name and our content type, or a refusal people understand."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    stem, ext = os.path.splitext(base)
    ext = ext.lower()
    if ext not in FILE_TYPES or not stem:
        raise DomainError(
            "bad_file", "附件只能是图片（JPG、PNG、GIF）、PDF 或 Office 文档", field="file"
        )
    if not data:
        raise DomainError("bad_file", "附件是空文件", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise DomainError(
            "too_large", f"附件不能超过 {MAX_FILE_BYTES // (1024 * 1024)} MB", field="file"
        )
    content_type, starts = FILE_TYPES[ext]
    if not data.startswith(starts):
        raise DomainError("bad_file", f"附件内容与扩展名 {ext} 不符", field="file")
    keep = 120 - len(ext)
    return stem[:keep] + base[len(stem) :], content_type


async def answer_item(
    deps: Deps,
    actor: Actor,
    item_id: Any,
    data: dict[str, Any],
    upload: tuple[str, bytes] | None = None,
) -> RectifyItem:
    """The unit says what it did (a note, a file if it has one): open -> submitted."""
    item = await _load(actor, item_id)
    if not may_answer(actor, item):
        raise Forbidden("只有本单位的编辑或领导可以上报整改情况")
    _require_status(item, "open")
    note = text_field(data, "note", "整改情况说明", max_len=MAX_NOTE)
    checked = check_file(*upload) if upload else None
    now = deps.clock.now()
    async with in_transaction():
        file_id = None
        if checked and upload:
            stored = await RectifyFile.create(
                item=item,
                name=checked[0],
                content_type=checked[1],
                size=len(upload[1]),
                sha256=hashlib.sha256(upload[1]).hexdigest(),
                data=upload[1],
                uploaded_by_id=actor.staff_id,
                uploaded_at=now,
            )
            file_id = stored.id
        await _move(
            item,
            "open",
            now,
            status="submitted",
            note=note,
            file_id=file_id,
            answered_at=now,
            answered_by_id=actor.staff_id,
        )
        await _event(item, actor, "answer", now, note=note, file_id=file_id)
        attached = f"（附件「{checked[0]}」）" if checked else ""
        await _audit(deps, actor, "answer", item, f"上报整改情况：{_title(item)}{attached}")
    return item


async def review_item(deps: Deps, actor: Actor, item_id: Any, data: dict[str, Any]) -> RectifyItem:
    """A supervisor verifies the answer (done) or returns it with a reason (open again, the
    unit told)."""
    item = await _load(actor, item_id)
    if not may_review(actor):
        raise Forbidden("只有督查人员可以核验整改情况")
    _require_status(item, "submitted")
    approve = data.get("approve")
    if not isinstance(approve, bool):
        raise DomainError("bad_field", "请选择核验通过或退回", field="approve")
    now = deps.clock.now()
    if approve:
        note = text_field(data, "note", "核验意见", required=False, max_len=MAX_NOTE)
        async with in_transaction():
            await _move(item, "submitted", now, status="done", verified_at=now,
                        verified_by_id=actor.staff_id)  # fmt: skip
            await _event(item, actor, "verify", now, note=note)
            await _audit(deps, actor, "verify", item, f"核验通过整改：{_title(item)}")
        return item
    reason = text_field(data, "reason", "退回理由", max_len=MAX_NOTE)
    async with in_transaction():
        await _move(item, "submitted", now, status="open", return_reason=reason,
                    returns=F("returns") + 1)  # fmt: skip
        await _event(item, actor, "return", now, note=reason)
        await _audit(deps, actor, "return", item, f"退回整改：{_title(item)}：{reason}")
    item.returns = (await RectifyItem.get(id=item.id)).returns
    today = deps.clock.today()
    when = (
        f"已超过整改期限（{item.due_on.month}月{item.due_on.day}日），请尽快"
        if item.due_on < today
        else f"请于{item.due_on.month}月{item.due_on.day}日前"
    )
    await _tell(
        deps,
        item.unit_id,  # type: ignore[attr-defined]
        f"【民声】整改事项{_title(item)[:40]}被督查人员退回：{reason[:60]}。{when}重新整改并上报。",
        "rectify.returned",
    )
    return item


async def get_file(actor: Actor, file_id: Any) -> RectifyFile:
    f = await RectifyFile.get_or_none(id=as_id(file_id, "附件"))
    if f is None:
        raise NotFound("附件")
    await _load(actor, f.item_id)  # type: ignore[attr-defined]
    return f


# ------------------------------------------------------------------ reminders and to-do counts


async def remind_overdue_items(deps: Deps) -> int:
    """Open items past their due date, reminded once: one SMS per unit and run with the number
    of items newly overdue. Each item is claimed by a conditional update (several workers)."""
    today = deps.clock.today()
    now = deps.clock.now()
    system = Actor.system("整改提醒")
    due = await RectifyItem.filter(
        status="open", due_on__lt=today, overdue_reminded_at__isnull=True
    ).order_by("id")
    claimed: dict[int, list[RectifyItem]] = defaultdict(list)
    for item in due:
        moved = await RectifyItem.filter(id=item.id, overdue_reminded_at__isnull=True).update(
            overdue_reminded_at=now
        )
        if moved:
            claimed[item.unit_id].append(item)  # type: ignore[attr-defined]
    if not claimed:
        return 0
    items = [i for rows in claimed.values() for i in rows]
    await RectifyEvent.bulk_create(
        [
            RectifyEvent(
                item_id=i.id,
                at=now,
                actor_name=system.name,
                action="remind",
                note=f"已超过整改期限（{i.due_on}），已提醒单位",
            )
            for i in items
        ]
    )
    ids = sorted(i.id for i in items)
    await record_audit(
        system,
        "rectify.overdue",
        clock=deps.clock,
        object_type="rectify_item",
        object_id=ids[0] if len(ids) == 1 else "",
        summary=f"{len(ids)} 项整改逾期，已提醒单位："
        + "、".join(f"#{i}" for i in ids[:50])
        + ("…" if len(ids) > 50 else ""),
    )
    for unit_id, rows in sorted(claimed.items()):
        await _tell(
            deps,
            unit_id,
            f"【民声】贵单位有 {len(rows)} 项整改事项已超过整改期限，"
            "请尽快整改，并在控制台上报整改情况。",
            "rectify.overdue",
        )
    return len(items)


async def count_todo(actor: Actor) -> dict[str, int]:
    """For the dashboard: the unit's open items (never answered, and returned ones) for its
    editors and leader; the answers waiting for verification for supervisors."""
    out = {"open": 0, "returned": 0, "submitted": 0}
    if actor.has("editor", "leader") and actor.unit_id is not None:
        mine = RectifyItem.filter(unit_id=actor.unit_id, status="open")
        out["open"] = await mine.filter(returns=0).count()
        out["returned"] = await mine.filter(returns__gt=0).count()
    if may_review(actor):
        out["submitted"] = await RectifyItem.filter(status="submitted").count()
    return out
