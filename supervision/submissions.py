"""Information submission (信息报送, 002 §21): units submit information items to the office, the
office records where each was adopted (city, provincial or central level), and a monthly table
ranks the units by the points of the month's adoptions, with the year's running total.

Each adoption keeps the points its level was worth when it was recorded: a change of the points
(one settings row, kept by the top unit's admins and audited) applies to adoptions recorded
after it, so a month's table does not move afterwards. An item adopted at several levels scores
at each of them. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from infra.clock import beijing_date, beijing_midnight
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.fields import text_field
from org.access import Actor
from org.audit import record_audit
from org.models import Unit
from supervision.models import (
    ADOPTION_LEVELS,
    DEFAULT_POINTS,
    Adoption,
    Submission,
    SubmissionPoints,
)

MAX_POINTS = 100


def parse_month(value: Any) -> dt.date:
    """ "2026-11" as the first day of that month."""
    try:
        year, month = (int(p) for p in str(value).strip().split("-"))
        day = dt.date(year, month, 1)
    except ValueError:
        raise DomainError("bad_field", "月份格式应为 2026-11", field="month") from None
    if not 2000 <= day.year <= 2100:
        raise DomainError("bad_field", "月份格式应为 2026-11", field="month")
    return day


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _level(value: Any) -> str:
    if value not in ADOPTION_LEVELS:
        raise DomainError("bad_field", "请选择采用级别（市级、省级或中央）", field="level")
    return value


# ------------------------------------------------------------------ points per level


async def current_points() -> SubmissionPoints:
    """The settings row; written with the defaults on first use."""
    row = await SubmissionPoints.get_or_none(id=1)
    if row is not None:
        return row
    try:
        return await SubmissionPoints.create(id=1, **DEFAULT_POINTS)
    except IntegrityError:  # another process wrote it first
        return await SubmissionPoints.get(id=1)


def points_of(row: SubmissionPoints) -> dict[str, float]:
    return {level: getattr(row, level) for level in ADOPTION_LEVELS}


def require_points_admin(actor: Actor) -> None:
    """The points apply to every unit: the admins of the top unit keep them."""
    actor.require("admin")
    if "system" not in actor.roles and actor.unit_path.count("/") != 2:
        raise Forbidden("信息报送分值由最上级单位的系统管理员设置")


def _points_value(value: Any, level: str) -> float:
    label = f"{ADOPTION_LEVELS[level]}采用分值"
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise DomainError("bad_field", f"{label}须为数字", field=level) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DomainError("bad_field", f"{label}须为数字", field=level)
    if not 0 <= value <= MAX_POINTS:
        raise DomainError("bad_field", f"{label}须在 0 到 {MAX_POINTS} 之间", field=level)
    return round(float(value), 1)


async def set_points(deps: Deps, actor: Actor, data: dict[str, Any]) -> SubmissionPoints:
    require_points_admin(actor)
    wanted = {level: _points_value(data.get(level), level) for level in ADOPTION_LEVELS}
    row = await current_points()
    before = points_of(row)
    if wanted == before:
        raise DomainError("unchanged", "分值没有变化")
    now = deps.clock.now()
    async with in_transaction():
        moved = await SubmissionPoints.filter(id=row.id, version=row.version).update(
            **wanted, version=row.version + 1, updated_by_id=actor.staff_id, updated_at=now
        )
        if not moved:
            raise Conflict("changed", "分值刚被他人修改，请刷新后重试")
        await record_audit(
            actor,
            "submission.points",
            clock=deps.clock,
            object_type="submission_points",
            object_id=row.id,
            summary="修改信息报送采用分值："
            + "，".join(f"{ADOPTION_LEVELS[k]} {v:g} 分" for k, v in wanted.items()),
            before=before,
            after=wanted,
        )
    return await SubmissionPoints.get(id=row.id)


# ------------------------------------------------------------------ the register


def _require_reader(actor: Actor) -> None:
    if not actor.has("editor", "reviewer", "leader", "supervisor", "admin"):
        raise Forbidden("只有督查人员、领导和各单位编辑审核人员可以查看信息报送")


async def submit_item(deps: Deps, actor: Actor, data: dict[str, Any]) -> Submission:
    """A unit's editor submits an item: a title, a summary, and a link or the text."""
    if not actor.has("editor") or actor.unit_id is None:
        raise Forbidden("只有各单位编辑可以报送信息")
    title = text_field(data, "title", "标题", max_len=200)
    summary = text_field(data, "summary", "摘要", required=False, max_len=2000)
    link = text_field(data, "link", "链接", required=False, max_len=1000)
    if link and not link.lower().startswith(("http://", "https://")):
        raise DomainError("bad_field", "链接应以 http:// 或 https:// 开头", field="link")
    body = text_field(data, "body", "正文", required=False, max_len=20000)
    if not link and not body:
        raise DomainError("missing_field", "请填写链接或正文", field="link")
    now = deps.clock.now()
    async with in_transaction():
        item = await Submission.create(
            unit_id=actor.unit_id,
            title=title,
            summary=summary,
            link=link,
            body=body,
            submitted_at=now,
            submitted_by_id=actor.staff_id,
            submitted_by_name=actor.name,
        )
        await record_audit(
            actor,
            "submission.create",
            clock=deps.clock,
            object_type="submission",
            object_id=item.id,
            summary=f"报送信息「{title}」",
        )
    return item


async def list_items(
    actor: Actor,
    *,
    month: dt.date | None = None,
    unit_id: Any = None,
    adopted: str = "",
    limit: int = 200,
) -> list[Submission]:
    """The register as the actor reads it (the unit's own; leaders: and below; the office
    all), newest first, with the adoptions."""
    _require_reader(actor)
    qs = actor.scope(Submission.all())
    if month is not None:
        qs = qs.filter(
            submitted_at__gte=beijing_midnight(month),
            submitted_at__lt=beijing_midnight(next_month(month)),
        )
    if unit_id not in (None, ""):
        qs = qs.filter(unit_id=as_id(unit_id, "单位"))
    adopted_ids = Subquery(Adoption.all().values("submission_id"))
    if adopted == "yes":
        qs = qs.filter(id__in=adopted_ids)
    elif adopted == "no":
        qs = qs.exclude(id__in=adopted_ids)
    elif adopted:
        raise DomainError("bad_field", "采用情况只能是已采用或未采用", field="adopted")
    return (
        await qs.select_related("unit")
        .prefetch_related("adoptions")
        .order_by("-submitted_at", "-id")
        .limit(max(1, min(limit, 500)))
    )


async def _item(actor: Actor, item_id: Any) -> Submission:
    item = await Submission.filter(id=as_id(item_id, "报送信息")).select_related("unit").first()
    if item is None or not actor.reads_unit(item.unit.path):
        raise NotFound("报送信息")
    return item


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise DomainError("bad_field", "采用日期格式应为 2026-11-16", field="adopted_on") from None


async def adopt_item(deps: Deps, actor: Actor, item_id: Any, data: dict[str, Any]) -> Adoption:
    """The office records that an item was adopted at a level, on a day, with a note."""
    actor.require("supervisor")
    item = await _item(actor, item_id)
    level = _level(data.get("level"))
    today = deps.clock.today()
    adopted_on = _date(data.get("adopted_on") or today)
    if adopted_on > today:
        raise DomainError("bad_field", "采用日期不能晚于今天", field="adopted_on")
    if adopted_on < beijing_date(item.submitted_at):
        raise DomainError("bad_field", "采用日期不能早于报送日期", field="adopted_on")
    note = text_field(data, "note", "说明", required=False, max_len=500)
    points = getattr(await current_points(), level)
    try:
        async with in_transaction():
            adoption = await Adoption.create(
                submission=item,
                level=level,
                adopted_on=adopted_on,
                note=note,
                points=points,
                recorded_by_id=actor.staff_id,
                recorded_at=deps.clock.now(),
            )
            await record_audit(
                actor,
                "submission.adopt",
                clock=deps.clock,
                object_type="submission",
                object_id=item.id,
                summary=f"登记「{item.title}」（{item.unit.name}）{ADOPTION_LEVELS[level]}采用，"
                f"{points:g} 分" + (f"：{note}" if note else ""),
                after={"level": level, "adopted_on": adopted_on.isoformat(), "points": points},
            )
    except IntegrityError:
        raise Conflict(
            "duplicate", f"该信息已登记{ADOPTION_LEVELS[level]}采用", field="level"
        ) from None
    return adoption


async def unadopt_item(deps: Deps, actor: Actor, item_id: Any, data: dict[str, Any]) -> None:
    """The office takes back an adoption recorded by mistake, with the reason."""
    actor.require("supervisor")
    item = await _item(actor, item_id)
    level = _level(data.get("level"))
    reason = text_field(data, "reason", "撤销理由", max_len=500)
    async with in_transaction():
        adoption = await Adoption.get_or_none(submission_id=item.id, level=level)
        if adoption is None or not await Adoption.filter(id=adoption.id).delete():
            raise NotFound(f"该信息的{ADOPTION_LEVELS[level]}采用记录")
        await record_audit(
            actor,
            "submission.unadopt",
            clock=deps.clock,
            object_type="submission",
            object_id=item.id,
            summary=f"撤销「{item.title}」{ADOPTION_LEVELS[level]}采用：{reason}",
            before={
                "level": level,
                "adopted_on": adoption.adopted_on.isoformat(),
                "points": adoption.points,
            },
        )


# ------------------------------------------------------------------ the monthly table


async def monthly_table(month: dt.date) -> list[dict[str, Any]]:
    """Every unit (not internal sections) with the month's items submitted and adopted, the
    adoptions by level and their points, and the year's running totals; ranked by the month's
    points (equal points, equal rank), then by the year's."""
    start, end = month.replace(day=1), next_month(month)
    year_start = dt.date(start.year, 1, 1)
    units = {
        u.id: u for u in await Unit.filter(is_internal=False, active=True).order_by("path", "id")
    }
    rows: dict[int, dict[str, Any]] = {}

    def row(unit_id: int) -> dict[str, Any]:
        if unit_id not in rows:
            rows[unit_id] = {
                "unit_id": unit_id,
                "unit_name": "",
                "submitted": 0,
                "adopted": 0,
                **{level: 0 for level in ADOPTION_LEVELS},
                "points": 0.0,
                "year_submitted": 0,
                "year_adopted": 0,
                "year_points": 0.0,
                "rank": 0,
            }
        return rows[unit_id]

    for unit_id in units:
        row(unit_id)
    for key, since in (("submitted", start), ("year_submitted", year_start)):
        counted = (
            await Submission.filter(
                submitted_at__gte=beijing_midnight(since), submitted_at__lt=beijing_midnight(end)
            )
            .group_by("unit_id")
            .annotate(n=Count("id"))
            .values_list("unit_id", "n")
        )
        for unit_id, n in counted:
            row(unit_id)[key] = n
    adoptions = await Adoption.filter(adopted_on__gte=year_start, adopted_on__lt=end).values_list(
        "submission__unit_id", "submission_id", "level", "adopted_on", "points"
    )
    adopted: dict[str, dict[int, set[int]]] = {"month": defaultdict(set), "year": defaultdict(set)}
    for unit_id, item_id, level, on, points in adoptions:
        r = row(unit_id)
        r["year_points"] += points
        adopted["year"][unit_id].add(item_id)
        if on >= start:
            r[level] += 1
            r["points"] += points
            adopted["month"][unit_id].add(item_id)
    missing = [i for i in rows if i not in units]
    names = {u.id: u for u in await Unit.filter(id__in=missing)} if missing else {}
    for unit_id, r in rows.items():
        r["unit_name"] = (units.get(unit_id) or names[unit_id]).name
        r["adopted"] = len(adopted["month"].get(unit_id, ()))
        r["year_adopted"] = len(adopted["year"].get(unit_id, ()))
        r["points"], r["year_points"] = round(r["points"], 1), round(r["year_points"], 1)
    order = {unit_id: i for i, unit_id in enumerate([*units, *missing])}
    table = sorted(
        rows.values(),
        key=lambda r: (
            -r["points"],
            -r["year_points"],
            -r["adopted"],
            -r["submitted"],
            order[r["unit_id"]],
        ),
    )
    for i, r in enumerate(table):
        same = i and table[i - 1]["points"] == r["points"]
        r["rank"] = table[i - 1]["rank"] if same else i + 1
    return table


async def monthly_adoptions(actor: Actor, month: dt.date) -> list[Adoption]:
    """The month's adoptions the actor reads, with their items: the table's evidence."""
    _require_reader(actor)
    qs = Adoption.filter(adopted_on__gte=month, adopted_on__lt=next_month(month))
    qs = actor.scope(qs, unit="submission__unit")
    return await qs.select_related("submission", "submission__unit").order_by("adopted_on", "id")


async def read_table(actor: Actor, month: dt.date) -> list[dict[str, Any]]:
    """The ranking as the actor may read it: it names only units and figures, like the weekly
    patrol's ranking, and is the table the office publishes (002 §21)."""
    _require_reader(actor)
    return await monthly_table(month)
