"""Import and export of the knowledge base: JSONL and Excel (.xlsx).

A row is ``{"id", "question", "answer"}`` plus optional ``similar`` (list, or one per line),
``topic`` (or ``department``, as the municipal Q&A sets name it), ``unit`` (code or name),
``status`` and ``review_by``. ``id`` is the row's id in its source (Entry.external_id): importing
the same file again updates what changed and creates nothing. Bad rows are reported line by line
and skipped; the good ones are imported together, in one transaction, in batches.

Imported entries are drafts, to be reviewed like any other, unless a reviewer or leader imports
with ``publish``: the bulk load of an official Q&A set that was reviewed before it came here.
They are then recorded as its reviewer.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from infra.clock import Clock
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.spreadsheet import blank, xlsx_rows
from knowledge import service
from knowledge.live import announce_all, announce_entry
from knowledge.models import STATUSES, Entry, EntryVersion, Topic
from org.access import Actor
from org.audit import record_audit
from org.models import Unit

MAX_ROWS = 20_000
BATCH = 500  # SQLite allows 999 parameters a statement
# More live changes than this are announced as one "rebuild everything".
ANNOUNCE_ONE_BY_ONE = 50
EXPORT_PREFIX = "KB"  # 编号 of an entry that came without one: KB + its own id

COLUMNS = {
    "id": ("编号", "id", "external_id"),
    "question": ("标准问题", "问题", "question"),
    "similar": ("相似问法", "相似问题", "similar"),
    "answer": ("答案", "回答", "answer"),
    "topic": ("主题", "分类", "topic", "department", "部门"),
    "unit": ("所属单位", "单位", "unit", "unit_code"),
    "status": ("状态", "status"),
    "review_by": ("复核日期", "review_by"),
    "hits": ("命中次数", "hits"),
}
HEADER = [names[0] for names in COLUMNS.values()]
_HEADER_KEYS = {name.lower(): key for key, names in COLUMNS.items() for name in names}
_STATUS_NAMES = {**{k: k for k in STATUSES}, **{v: k for k, v in STATUSES.items()}}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


@dataclass
class _Row:
    line: int
    external_id: str | None
    question: str
    similar: list[str]
    answer: str
    topic: str | None
    unit: Unit
    status: str | None
    review_by: dt.date | None
    warning: str = ""
    topic_id: int | None = None


def _refuse(message: str, code: str = "bad_file") -> DomainError:
    return DomainError(code, message, field="file")


# ---------------------------------------------------------------- reading files


def _jsonl_rows(data: bytes) -> list[tuple[int, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("文件须为 UTF-8 编码的 JSONL（每行一个 JSON 对象）") from None
    rows: list[tuple[int, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        rows.append((n, _keys(value) if isinstance(value, dict) else value))
    return rows


def _keys(raw: dict[str, Any]) -> dict[str, Any]:
    """A JSONL row with its keys as import knows them ("department" is the topic, "编号" the id);
    a key given under its own name wins over an alias."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        key = _HEADER_KEYS.get(str(name).lower(), str(name))
        if key not in out or key == name:
            out[key] = value
    return out


def _unescape(value: Any) -> Any:
    # Undo the apostrophe that export puts before a cell Excel would run as a formula.
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def _xlsx_rows(data: bytes) -> list[tuple[int, Any]]:
    rows: list[tuple[int, Any]] = []
    keys: dict[int, str] | None = None
    for n, raw in xlsx_rows(data):
        cells = [_unescape(c) for c in raw]
        if blank(cells):
            continue
        if keys is None:
            keys = _header(cells)
            continue
        rows.append((n, {k: cells[i] for i, k in keys.items() if i < len(cells)}))
        if len(rows) > MAX_ROWS:
            break
    if keys is None:
        raise _refuse("文件中没有内容")
    return rows


def _header(cells: list[Any]) -> dict[int, str]:
    keys: dict[int, str] = {}
    for i, cell in enumerate(cells):
        name = re.sub(r"[(（][^)）]*[)）]|[\s*:：]", "", str(cell or "")).lower()
        key = _HEADER_KEYS.get(unicodedata.normalize("NFKC", name))
        if key is not None and key not in keys.values():
            keys[i] = key
    missing = [COLUMNS[k][0] for k in ("question", "answer") if k not in keys.values()]
    if missing:
        raise _refuse(
            f"表头缺少必需的列：{'、'.join(missing)}。第一行应为列名：{'、'.join(HEADER)}"
        )
    return keys


# ---------------------------------------------------------------- checking rows


class _LineError(Exception):
    pass


def _text_cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _LineError(f"“{key}”格式不正确")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _question(raw: str) -> tuple[str, str]:
    """The standard question, and a warning when a too-long one had to be shortened (some
    published sets run the first lines of the answer into the question)."""
    if len(raw) <= service.MAX_QUESTION:
        return raw, ""
    m = re.search(r"[？?]", raw)
    if m and m.end() <= service.MAX_QUESTION:
        short = raw[: m.end()]
    else:
        short = raw[: service.MAX_QUESTION - 1] + "…"
    return short, f"标准问题超过{service.MAX_QUESTION}字，已截为「{short[:30]}…」，请核对"


def _status(row: dict[str, Any]) -> str | None:
    raw = _text_cell(row, "status")
    if not raw:
        return None
    status = _STATUS_NAMES.get(raw.lower()) or _STATUS_NAMES.get(raw)
    if status is None:
        raise _LineError(f"未知状态「{raw}」，应为：{'、'.join(STATUSES.values())}")
    return status


class _Units:
    """Units named in a file (code or name), and whether the importer may import into them."""

    def __init__(self, actor: Actor, default: Unit) -> None:
        self.actor = actor
        self.default = default
        self._cache: dict[str, Unit] = {}

    async def load(self) -> None:
        self.units = list(await Unit.all())
        self.by_id = {u.id: u for u in self.units}

    def find(self, name: str) -> Unit:
        if not name:
            return self.default
        if name not in self._cache:
            by_code = [u for u in self.units if u.code == name]
            by_name = [u for u in self.units if u.name == name]
            found = by_code or by_name
            if not found:
                raise _LineError(f"单位「{name}」不存在")
            if len(found) > 1:
                raise _LineError(f"有多个名为「{name}」的单位，请填写单位代码")
            self._cache[name] = found[0]
        unit = self._cache[name]
        if not _may_import_into(self.actor, unit):
            raise _LineError(f"无权向「{unit.name}」导入知识条目")
        return unit


def _may_import_into(actor: Actor, unit: Unit) -> bool:
    if "system" in actor.roles:
        return True
    if actor.has("leader") and unit.path.startswith(actor.unit_path):
        return True
    return actor.has("editor", "reviewer") and actor.unit_id == unit.id


async def _check_row(n: int, row: Any, units: _Units) -> _Row:
    if not isinstance(row, dict):
        raise _LineError("不是有效的 JSON 对象")
    external_id = _text_cell(row, "id") or None
    if external_id and len(external_id) > 64:
        raise _LineError("编号不能超过64个字符")
    question, warning = _question(_text_cell(row, "question"))
    if not question:
        raise _LineError("缺少标准问题")
    answer = _text_cell(row, "answer")
    if not answer:
        raise _LineError("缺少答案")
    if len(answer) > service.MAX_ANSWER:
        raise _LineError(f"答案超过{service.MAX_ANSWER}字")
    topic = _text_cell(row, "topic") or None
    if topic and len(topic) > service.MAX_TOPIC:
        raise _LineError(f"主题名称超过{service.MAX_TOPIC}字")
    try:
        similar = service.clean_similar(row.get("similar"), question)
        review_by = service.parse_date(row.get("review_by"))
    except DomainError as err:
        raise _LineError(err.message) from None
    unit = units.find(_text_cell(row, "unit"))
    return _Row(
        n, external_id, question, similar, answer, topic, unit, _status(row), review_by, warning
    )


# ---------------------------------------------------------------- importing


async def _existing(rows: list[_Row]) -> dict[int, Entry]:
    """The entry each row updates, by the row's line: same external id; an exported ``KB<id>``
    of an entry without one (in the same unit); or, for rows without an id, the same question
    in the same unit."""
    found: dict[int, Entry] = {}
    ids = [r.external_id for r in rows if r.external_id]
    by_ext: dict[str, Entry] = {}
    for i in range(0, len(ids), BATCH):
        for e in await Entry.filter(external_id__in=ids[i : i + BATCH]):
            by_ext[e.external_id] = e  # type: ignore[index]
    own = {
        int(r.external_id[len(EXPORT_PREFIX) :]): r
        for r in rows
        if r.external_id
        and r.external_id not in by_ext
        and re.fullmatch(rf"{EXPORT_PREFIX}\d{{1,9}}", r.external_id)
    }
    by_own = {
        e.id: e
        for e in await Entry.filter(id__in=list(own), external_id__isnull=True)
        if own[e.id].unit.id == e.unit_id  # type: ignore[attr-defined]
    }
    plain = [r.question for r in rows if not r.external_id]
    by_question: dict[tuple[int, str], Entry] = {}
    for i in range(0, len(plain), BATCH):
        for e in await Entry.filter(question__in=plain[i : i + BATCH], external_id__isnull=True):
            by_question.setdefault((e.unit_id, e.question), e)  # type: ignore[attr-defined]
    for r in rows:
        if r.external_id and r.external_id in by_ext:
            found[r.line] = by_ext[r.external_id]
        elif r.external_id and r.external_id.startswith(EXPORT_PREFIX):
            number = r.external_id[len(EXPORT_PREFIX) :]
            if number.isdigit() and int(number) in by_own:
                found[r.line] = by_own[int(number)]
        elif not r.external_id and (r.unit.id, r.question) in by_question:
            found[r.line] = by_question[(r.unit.id, r.question)]
    return found


def _target(row: _Row, publish: bool) -> str:
    if row.status == "retired":
        return "retired"
    if publish and row.status in (None, "published"):
        return "published"
    return "draft"


def _live(row: _Row, version: int) -> dict[str, Any]:
    return {
        "question": row.question,
        "similar": row.similar,
        "answer": row.answer,
        "version": version,
    }


def _plan_update(entry: Entry, row: _Row, publish: bool) -> dict[str, Any] | None:
    """The changes a row makes to its entry, or None when it changes nothing."""
    content = {"question": row.question, "similar": row.similar, "answer": row.answer}
    changed = any(getattr(entry, k) != v for k, v in content.items())
    meta: dict[str, Any] = {}
    if row.topic_id is not None:
        meta["topic_id"] = row.topic_id
    if row.review_by is not None:
        meta["review_by"] = row.review_by
    meta_changed = any(getattr(entry, k) != v for k, v in meta.items())
    target = _target(row, publish)
    version = entry.version + 1 if changed else entry.version
    update: dict[str, Any] = {}
    if changed:
        update.update(content, version=version)
    if target == "published":
        live = _live(row, version)
        if entry.status != "published" or entry.live != live:
            update.update(status="published", live=live)
    elif target == "retired":
        if entry.status != "retired":
            update.update(status="retired", live=None)
    elif changed and entry.status != "retired":
        update["status"] = "draft"  # the published text, if any, keeps answering
    if not update and not meta_changed:
        return None
    update.update(meta)
    return update


async def _topic_ids(rows: list[_Row], now: dt.datetime) -> int:
    names = {r.topic for r in rows if r.topic}
    known = {t.name: t.id for t in await Topic.filter(name__in=list(names))}
    missing = sorted(names - set(known))
    sort = await Topic.all().count()
    for name in missing:
        topic = await Topic.create(name=name, sort=sort, created_at=now)
        known[name] = topic.id
        sort += 1
    for r in rows:
        r.topic_id = known[r.topic] if r.topic else None
    return len(missing)


def _version(entry_id: int, version: int, action: str, status: str, row: _Row, **kw) -> Any:
    return EntryVersion(
        entry_id=entry_id,
        version=version,
        action=action,
        status=status,
        question=row.question,
        similar=row.similar,
        answer=row.answer,
        topic_id=row.topic_id,
        **kw,
    )


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
    service.require_staff(actor)
    if publish and not actor.has("reviewer", "leader"):
        raise Forbidden("只有审核员或领导可以导入并直接发布已审核的问答")
    if not actor.has("editor", "reviewer", "leader"):
        raise Forbidden("只有编辑、审核员或领导可以导入知识条目")
    target_unit = unit_id if unit_id not in (None, "") else actor.unit_id
    default = await Unit.get_or_none(id=as_id(target_unit, "单位")) if target_unit else None
    if default is None:
        raise NotFound("单位")
    if not _may_import_into(actor, default):
        raise Forbidden(f"无权向「{default.name}」导入知识条目")
    if fmt not in ("jsonl", "xlsx"):
        raise DomainError("bad_format", "导入格式只能是 JSONL 或 XLSX", field="fmt")
    if not data:
        raise _refuse("文件是空的")
    raw_rows = _xlsx_rows(data) if fmt == "xlsx" else _jsonl_rows(data)
    if len(raw_rows) > MAX_ROWS:
        raise _refuse(f"文件超过{MAX_ROWS}行，请拆分后分批导入", "too_many_rows")
    if not raw_rows:
        raise _refuse("文件中没有可导入的数据行")

    report = ImportReport()
    units = _Units(actor, default)
    await units.load()
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for n, raw in raw_rows:
        try:
            row = await _check_row(n, raw, units)
            if row.external_id:
                if row.external_id in seen:
                    raise _LineError(f"编号「{row.external_id}」与第{seen[row.external_id]}行重复")
                seen[row.external_id] = n
            rows.append(row)
        except _LineError as err:
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
            new_topics = await _topic_ids(rows, now)
            existing = await _existing(rows)
            creates = [r for r in rows if r.line not in existing]
            outcomes: dict[int, ImportLine] = {}
            for r in rows:
                if r.line in existing:
                    e = existing[r.line]
                    owner = units.by_id.get(e.unit_id)  # type: ignore[attr-defined]
                    if owner is None or not _may_import_into(actor, owner):
                        # The same id is another unit's entry: never changed from here.
                        report.skipped += 1
                        outcomes[r.line] = ImportLine(
                            r.line,
                            "skipped",
                            message=f"编号「{r.external_id}」的条目属于"
                            f"「{owner.name if owner else '其他单位'}」，无权修改",
                        )
                        continue
                    update = _plan_update(e, r, publish)
                    if update is None:
                        report.unchanged += 1
                        outcomes[r.line] = ImportLine(r.line, "unchanged", e.id, r.warning)
                        continue
                    await _apply_update(e, r, update, actor, reviewer, now)
                    if "live" in update:
                        live_changed.add(e.id)
                    report.updated += 1
                    outcomes[r.line] = ImportLine(r.line, "updated", e.id, r.warning)
            created = await _create(creates, publish, actor, reviewer, now)
            for r, entry_id in created:
                report.created += 1
                outcomes[r.line] = ImportLine(r.line, "created", entry_id, r.warning)
                if _target(r, publish) == "published":
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


async def _apply_update(
    entry: Entry,
    row: _Row,
    update: dict[str, Any],
    actor: Actor,
    reviewer: int | None,
    now: dt.datetime,
) -> None:
    fields = {**update, "updated_by_id": actor.staff_id, "updated_at": now}
    if update.get("status") == "published":
        fields.update(reviewed_by_id=reviewer, published_at=now, submitted_by_id=None)
    elif "status" in update:
        fields["submitted_by_id"] = None
    await Entry.filter(id=entry.id).update(**fields)
    version = update.get("version", entry.version)
    status = update.get("status", entry.status)
    versions = []
    if "version" in update:
        versions.append(
            _version(entry.id, version, "import", status, row, staff_id=actor.staff_id, at=now)
        )
    if status == "published" and "live" in update:
        versions.append(
            _version(
                entry.id,
                version,
                "publish",
                status,
                row,
                staff_id=reviewer,
                at=now,
                note="导入已审核的问答",
            )
        )
    elif status == "retired" and entry.status != "retired":
        versions.append(
            _version(
                entry.id,
                version,
                "retire",
                status,
                row,
                staff_id=actor.staff_id,
                at=now,
                note="导入文件标记为停用",
            )
        )
    elif "version" not in update:
        versions.append(
            _version(entry.id, version, "meta", status, row, staff_id=actor.staff_id, at=now)
        )
    await EntryVersion.bulk_create(versions)


async def _create(
    rows: list[_Row], publish: bool, actor: Actor, reviewer: int | None, now: dt.datetime
) -> list[tuple[_Row, int]]:
    """Create the new entries in batches; returns each row with its entry's id."""

    def make(r: _Row) -> Entry:
        target = _target(r, publish)
        return Entry(
            external_id=r.external_id,
            question=r.question,
            similar=r.similar,
            answer=r.answer,
            topic_id=r.topic_id,
            unit_id=r.unit.id,
            status=target,
            live=_live(r, 1) if target == "published" else None,
            review_by=r.review_by,
            version=1,
            source="import",
            created_by_id=actor.staff_id,
            updated_by_id=actor.staff_id,
            reviewed_by_id=reviewer if target == "published" else None,
            created_at=now,
            updated_at=now,
            published_at=now if target == "published" else None,
        )

    out: list[tuple[_Row, int]] = []
    with_id = [r for r in rows if r.external_id]
    for i in range(0, len(with_id), BATCH):
        chunk = with_id[i : i + BATCH]
        await Entry.bulk_create([make(r) for r in chunk])
        # bulk_create does not hand back ids on every database: read them by external id.
        ids = dict(
            await Entry.filter(external_id__in=[r.external_id for r in chunk]).values_list(
                "external_id", "id"
            )
        )
        out.extend((r, ids[r.external_id]) for r in chunk)
    for r in rows:
        if not r.external_id:
            entry = make(r)
            await entry.save()
            out.append((r, entry.id))
    versions = []
    for r, entry_id in out:
        target = _target(r, publish)
        versions.append(
            _version(
                entry_id,
                1,
                "import",
                "draft" if target == "published" else target,
                r,
                staff_id=actor.staff_id,
                at=now,
            )
        )
        if target == "published":
            versions.append(
                _version(
                    entry_id,
                    1,
                    "publish",
                    target,
                    r,
                    staff_id=reviewer,
                    at=now,
                    note="导入已审核的问答",
                )
            )
    for i in range(0, len(versions), BATCH):
        await EntryVersion.bulk_create(versions[i : i + BATCH])
    return out


# ---------------------------------------------------------------- exporting


def _cell(value: Any) -> Any:
    """Excel runs a cell starting with "=", "+", "-" or "@" as a formula: such text gets an
    apostrophe in front (OWASP "CSV injection"), which import takes off again."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


async def export_entries(actor: Actor, *, fmt: str, status: str | None = None) -> bytes:
    """All entries (or those with ``status``), working copies, as JSONL or XLSX."""
    service.require_staff(actor)
    if fmt not in ("jsonl", "xlsx"):
        raise DomainError("bad_format", "导出格式只能是 JSONL 或 XLSX", field="fmt")
    qs = Entry.all().select_related("topic", "unit").order_by("id")
    if status:
        if status not in STATUSES:
            raise DomainError("bad_field", f"未知状态：{status}", field="status")
        qs = qs.filter(status=status)
    entries = await qs
    rows = [
        {
            "id": e.external_id or f"{EXPORT_PREFIX}{e.id}",
            "question": e.question,
            "similar": list(e.similar or []),
            "answer": e.answer,
            "topic": e.topic.name if isinstance(e.topic, Topic) else None,
            "unit": e.unit.code if isinstance(e.unit, Unit) else None,
            "unit_name": e.unit.name if isinstance(e.unit, Unit) else None,
            "status": e.status,
            "review_by": e.review_by.isoformat() if e.review_by else None,
            "hits": e.hits,
        }
        for e in entries
    ]
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    return _xlsx(rows)


def _xlsx(rows: list[dict[str, Any]]) -> bytes:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    wb = openpyxl.Workbook(write_only=False)
    sheet = wb.active
    sheet.title = "知识库"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append(
            [
                _cell(r["id"]),
                _cell(r["question"]),
                _cell("\n".join(r["similar"])),
                _cell(r["answer"]),
                _cell(r["topic"] or ""),
                _cell(r["unit_name"] or ""),
                STATUSES.get(r["status"], r["status"]),
                r["review_by"] or "",
                r["hits"],
            ]
        )
    wrap = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCDEFGHI", (12, 40, 40, 80, 16, 24, 10, 12, 10), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2, min_col=3, max_col=4):
        for cell in row:
            cell.alignment = wrap
    sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
