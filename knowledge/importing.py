"""Import of the knowledge base from JSONL and Excel (.xlsx) files (format: knowledge.file_format).

Importing the same file again updates what changed and creates nothing. Bad rows are reported
line by line and skipped; the good ones are imported together, in one transaction, in batches.

Imported entries are drafts, to be reviewed like any other, unless a reviewer or leader imports
with ``publish``: the bulk load of an official Q&A set that was reviewed before it came here.
They are then recorded as its reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from infra.clock import Clock
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from knowledge.access import may_import_into, require_staff
from knowledge.import_merge import (
    apply_update,
    assign_topic_ids,
    create_entries,
    find_existing,
    plan_update,
    target_status,
)
from knowledge.import_rows import MAX_ROWS, LineError, Row, Units, check_row, read_rows, refuse_file
from knowledge.live import announce_all, announce_entry
from org.access import Actor
from org.audit import record_audit
from org.models import Unit

# More live changes than this are announced as one "rebuild everything".
ANNOUNCE_ONE_BY_ONE = 50


@dataclass
class ImportLine:
    line: int
    outcome: str  # created | updated | unchanged | skipped
    entry_id: int | None = None
    message: str = ""
    external_id: str | None = None


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # lines with errors, not imported
    lines: list[ImportLine] = field(default_factory=list)

    @property
    def errors(self) -> list[ImportLine]:
        return [x for x in self.lines if x.outcome == "skipped"]

    @property
    def warnings(self) -> list[ImportLine]:
        return [x for x in self.lines if x.outcome != "skipped" and x.message]

    def to_dict(self, *, all_lines: bool = False) -> dict[str, Any]:
        shown = self.lines if all_lines else [x for x in self.lines if x.message]
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "lines": [
                {
                    "line": x.line,
                    "outcome": x.outcome,
                    "entry_id": x.entry_id,
                    "external_id": x.external_id,
                    "message": x.message,
                }
                for x in shown
            ],
        }


async def import_entries(
    actor: Actor,
    data: bytes,
    *,
    fmt: str,
    unit_id: Any = None,
    publish: bool = False,
    clock: Clock,
    redis: aioredis.Redis | None,
) -> ImportReport:
    """Import a JSONL or XLSX file into ``unit_id`` (default: the importer's unit; a row's
    ``unit`` may name another unit the importer may write to)."""
    require_staff(actor)
    if publish and not actor.has("reviewer", "leader"):
        raise Forbidden("只有审核员或领导可以导入并直接发布已审核的问答")
    if not actor.has("editor", "reviewer", "leader"):
        raise Forbidden("只有编辑、审核员或领导可以导入知识条目")
    target_unit = unit_id if unit_id not in (None, "") else actor.unit_id
    default = await Unit.get_or_none(id=as_id(target_unit, "单位")) if target_unit else None
    if default is None:
        raise NotFound("单位")
    if not may_import_into(actor, default):
        raise Forbidden(f"无权向「{default.name}」导入知识条目")
    if fmt not in ("jsonl", "xlsx"):
        raise DomainError("bad_format", "导入格式只能是 JSONL 或 XLSX", field="fmt")
    if not data:
        raise refuse_file("文件是空的")
    raw_rows = read_rows(data, fmt)
    if len(raw_rows) > MAX_ROWS:
        raise refuse_file(f"文件超过{MAX_ROWS}行，请拆分后分批导入", "too_many_rows")
    if not raw_rows:
        raise refuse_file("文件中没有可导入的数据行")

    report = ImportReport()
    units = Units(actor, default)
    await units.load()
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for n, raw in raw_rows:
        try:
            row = await check_row(n, raw, units)
            if row.external_id:
                if row.external_id in seen:
                    raise LineError(f"编号「{row.external_id}」与第{seen[row.external_id]}行重复")
                seen[row.external_id] = n
            rows.append(row)
        except LineError as err:
            report.skipped += 1
            external = raw.get("id") if isinstance(raw, dict) else None
            report.lines.append(
                ImportLine(n, "skipped", message=str(err), external_id=_short(external))
            )

    now = clock.now()
    reviewer = actor.staff_id if publish else None
    live_changed: set[int] = set()
    try:
        async with in_transaction():
            new_topics = await assign_topic_ids(rows, now)
            existing = await find_existing(rows)
            creates = [r for r in rows if r.line not in existing]
            outcomes: dict[int, ImportLine] = {}
            for r in rows:
                if r.line in existing:
                    e = existing[r.line]
                    owner = units.by_id.get(e.unit_id)  # type: ignore[attr-defined]
                    if owner is None or not may_import_into(actor, owner):
                        # The same id is another unit's entry: never changed from here.
                        report.skipped += 1
                        outcomes[r.line] = ImportLine(
                            r.line,
                            "skipped",
                            message=f"编号「{r.external_id}」的条目属于"
                            f"「{owner.name if owner else '其他单位'}」，无权修改",
                        )
                        continue
                    update = plan_update(e, r, publish)
                    if update is None:
                        report.unchanged += 1
                        outcomes[r.line] = ImportLine(r.line, "unchanged", e.id, r.warning)
                        continue
                    await apply_update(e, r, update, actor, reviewer, now)
                    if "live" in update:
                        live_changed.add(e.id)
                    report.updated += 1
                    outcomes[r.line] = ImportLine(r.line, "updated", e.id, r.warning)
            created = await create_entries(creates, publish, actor, reviewer, now)
            for r, entry_id in created:
                report.created += 1
                outcomes[r.line] = ImportLine(r.line, "created", entry_id, r.warning)
                if target_status(r, publish) == "published":
                    live_changed.add(entry_id)
            external = {r.line: r.external_id for r in rows}
            for line in outcomes.values():
                line.external_id = external[line.line]
            report.lines = sorted([*report.lines, *outcomes.values()], key=lambda x: x.line)
            await record_audit(
                actor,
                "kb.import",
                clock=clock,
                object_type="kb_entry",
                summary=(
                    f"导入知识条目（{fmt.upper()}{'，直接发布' if publish else ''}）："
                    f"新建 {report.created} 条，更新 {report.updated} 条，"
                    f"未变 {report.unchanged} 条，出错跳过 {report.skipped} 行，"
                    f"新建主题 {new_topics} 个"
                ),
                after={
                    "format": fmt,
                    "publish": publish,
                    "unit_id": default.id,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "skipped": report.skipped,
                },
            )
    except IntegrityError as exc:
        raise Conflict(
            "import_conflict", "导入时有相同编号的条目同时被写入，请重新导入（已有的会自动跳过）"
        ) from exc
    if redis is not None and live_changed:
        if len(live_changed) > ANNOUNCE_ONE_BY_ONE:
            await announce_all(redis)
        else:
            for entry_id in sorted(live_changed):
                await announce_entry(redis, entry_id)
    return report


def _short(value: Any) -> str | None:
    return str(value)[:64] if value not in (None, "") else None
