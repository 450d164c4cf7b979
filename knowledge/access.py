"""Who may do what in the knowledge base. All staff read all entries: it is public knowledge.
Editors of an entry's unit write it; reviewers of the unit or leaders above it review it."""

from __future__ import annotations

from infra.errors import Forbidden, Unauthenticated
from knowledge.models import Entry
from org.access import ROLES, Actor
from org.models import Unit


def require_staff(actor: Actor) -> None:
    if actor.staff_id is None and "system" not in actor.roles:
        raise Unauthenticated()


def _system(actor: Actor) -> bool:
    return "system" in actor.roles


def own_unit(actor: Actor, unit_id: int) -> bool:
    return _system(actor) or actor.unit_id == unit_id


def check_may_write(actor: Actor, entry: Entry) -> None:
    """Editors of the entry's unit; handlers only on entries never published (their proposals)."""
    require_staff(actor)
    unit_id = entry.unit_id  # type: ignore[attr-defined]
    if own_unit(actor, unit_id):
        if actor.has("editor"):
            return
        if actor.has("handler") and entry.live is None and entry.published_at is None:
            return
    raise Forbidden("只有本单位的编辑可以修改此条目")


def _unit_path(entry: Entry) -> str:
    return entry.unit.path if isinstance(entry.unit, Unit) else ""


def check_may_review(actor: Actor, entry: Entry) -> None:
    require_staff(actor)
    if _system(actor):
        return
    unit_id = entry.unit_id  # type: ignore[attr-defined]
    if actor.has("reviewer") and actor.unit_id == unit_id:
        return
    if actor.has("leader") and _unit_path(entry).startswith(actor.unit_path):
        return
    raise Forbidden("只有本单位的审核员或上级领导可以审核此条目")


def check_may_retire(actor: Actor, entry: Entry) -> None:
    require_staff(actor)
    if _system(actor):
        return
    unit_id = entry.unit_id  # type: ignore[attr-defined]
    if actor.has("editor", "reviewer") and actor.unit_id == unit_id:
        return
    if actor.has("leader") and _unit_path(entry).startswith(actor.unit_path):
        return
    raise Forbidden("只有本单位的编辑、审核员或上级领导可以停用或恢复此条目")


def require_curator(actor: Actor, what: str, roles: tuple[str, ...]) -> None:
    require_staff(actor)
    if not actor.has(*roles):
        raise Forbidden(f"只有{'或'.join(ROLES[r] for r in roles)}可以维护{what}")


def may_import_into(actor: Actor, unit: Unit) -> bool:
    """Editors and reviewers import into their own unit, leaders into theirs and those below."""
    if "system" in actor.roles:
        return True
    if actor.has("leader") and unit.path.startswith(actor.unit_path):
        return True
    return actor.has("editor", "reviewer") and actor.unit_id == unit.id
