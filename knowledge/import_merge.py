"""Merging checked import rows into the knowledge base, inside the importer's transaction: the
entry each row updates, the change it makes, new topics, and the new entries created in batches.
Every change writes its EntryVersion rows."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from knowledge.file_format import EXPORT_PREFIX
from knowledge.import_rows import Row
from knowledge.models import Entry, EntryVersion, Topic
from org.access import Actor

BATCH = 500  # SQLite allows 999 parameters a statement


async def find_existing(rows: list[Row]) -> dict[int, Entry]:
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


def target_status(row: Row, publish: bool) -> str:
    if row.status == "retired":
        return "retired"
    if publish and row.status in (None, "published"):
        return "published"
    return "draft"


def _live(row: Row, version: int) -> dict[str, Any]:
    return {
        "question": row.question,
        "similar": row.similar,
        "answer": row.answer,
        "version": version,
    }


def plan_update(entry: Entry, row: Row, publish: bool) -> dict[str, Any] | None:
    """The changes a row makes to its entry, or None when it changes nothing."""
    content = {"question": row.question, "similar": row.similar, "answer": row.answer}
    changed = any(getattr(entry, k) != v for k, v in content.items())
    meta: dict[str, Any] = {}
    if row.topic_id is not None:
        meta["topic_id"] = row.topic_id
    if row.review_by is not None:
        meta["review_by"] = row.review_by
    meta_changed = any(getattr(entry, k) != v for k, v in meta.items())
    target = target_status(row, publish)
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


async def assign_topic_ids(rows: list[Row], now: dt.datetime) -> int:
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


def _version(entry_id: int, version: int, action: str, status: str, row: Row, **kw) -> Any:
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


async def apply_update(
    entry: Entry,
    row: Row,
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


async def create_entries(
    rows: list[Row], publish: bool, actor: Actor, reviewer: int | None, now: dt.datetime
) -> list[tuple[Row, int]]:
    """Create the new entries in batches; returns each row with its entry's id."""

    def make(r: Row) -> Entry:
        target = target_status(r, publish)
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

    out: list[tuple[Row, int]] = []
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
        target = target_status(r, publish)
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
