"""What the JSON API shows of entries, versions, topics and synonym groups, and what the audit
log keeps of an entry."""

from __future__ import annotations

from typing import Any

from knowledge.models import STATUSES, Entry, EntryVersion, SynonymGroup, Topic
from org.models import Unit


def entry_view(e: Entry) -> dict[str, Any]:
    topic = e.topic if isinstance(e.topic, Topic) else None
    unit = e.unit if isinstance(e.unit, Unit) else None
    live = e.live or None
    return {
        "id": e.id,
        "external_id": e.external_id,
        "question": e.question,
        "similar": list(e.similar or []),
        "answer": e.answer,
        "topic_id": e.topic_id,  # type: ignore[attr-defined]
        "topic": topic.name if topic else None,
        "unit_id": e.unit_id,  # type: ignore[attr-defined]
        "unit": unit.name if unit else None,
        "status": e.status,
        "status_label": STATUSES.get(e.status, e.status),
        "version": e.version,
        "live": live,
        # A published entry whose working copy was edited since: citizens still get ``live``.
        "pending_edit": bool(live and live.get("version") != e.version),
        "review_by": e.review_by.isoformat() if e.review_by else None,
        "source": e.source,
        "hits": e.hits,
        "helpful": e.helpful,
        "unhelpful": e.unhelpful,
        "created_by_id": e.created_by_id,  # type: ignore[attr-defined]
        "updated_by_id": e.updated_by_id,  # type: ignore[attr-defined]
        "submitted_by_id": e.submitted_by_id,  # type: ignore[attr-defined]
        "reviewed_by_id": e.reviewed_by_id,  # type: ignore[attr-defined]
        "created_at": e.created_at.isoformat(),
        "updated_at": e.updated_at.isoformat(),
        "published_at": e.published_at.isoformat() if e.published_at else None,
    }


def version_view(v: EntryVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "entry_id": v.entry_id,  # type: ignore[attr-defined]
        "version": v.version,
        "action": v.action,
        "status": v.status,
        "question": v.question,
        "similar": list(v.similar or []),
        "answer": v.answer,
        "topic_id": v.topic_id,
        "note": v.note,
        "staff_id": v.staff_id,  # type: ignore[attr-defined]
        "at": v.at.isoformat(),
    }


def topic_view(t: Topic) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "sort": t.sort}


def synonym_view(g: SynonymGroup) -> dict[str, Any]:
    return {
        "id": g.id,
        "words": list(g.words or []),
        "updated_by_id": g.updated_by_id,  # type: ignore[attr-defined]
        "updated_at": g.updated_at.isoformat(),
    }


def audit_view(e: Entry) -> dict[str, Any]:
    """What an audit record keeps of an entry: enough to see the change, not the whole answer."""
    return {
        "id": e.id,
        "question": e.question,
        "similar": list(e.similar or []),
        "answer": e.answer[:200] + ("…" if len(e.answer) > 200 else ""),
        "topic_id": e.topic_id,  # type: ignore[attr-defined]
        "unit_id": e.unit_id,  # type: ignore[attr-defined]
        "status": e.status,
        "version": e.version,
        "review_by": e.review_by.isoformat() if e.review_by else None,
    }
