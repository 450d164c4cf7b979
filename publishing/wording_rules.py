"""The 错敏词 lists as data (issue 14): admins keep them, the draft check reads them.

Five lists in one table (``WordingRule``): misused words, house style, outdated names, sensitive
wording and the leaders' names, titles and order. The built-in starter set
(``publishing.wording.STARTER_RULES``) is written into the table once, by ``minsheng migrate``,
by the app's start, by the demo seed, or by the first check on a database that never had it;
from then on the rows are the lists: a starter rule an admin switched off stays off and is
never written again. Rules are switched off, never deleted, since old drafts' findings name
them.

Each process keeps the active rules in memory beside its deps. A change bumps
``wording:version`` in Redis; a check reads that key (one GET) and reloads when it moved, and
every minute regardless, so that a lost Redis delays a change by a minute at most.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from infra.clock import Clock
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.fields import text_field
from org.access import Actor
from org.audit import record_audit
from publishing.models import WordingRule
from publishing.wording import DEMO_LEADERS, STARTER_RULES, Rule, compile_rule, fold
from publishing.wording import KINDS as WORDING_KINDS

log = logging.getLogger(__name__)

VERSION_KEY = "wording:version"
RELOAD_SECONDS = 60.0
_CACHE = "publishing.wording_rules"
# What admins may write between a leader's titles instead of 、
_TITLE_SEPARATORS = re.compile(r"\s*[、，,;；/]\s*")
_NAME = re.compile(r"[\u3400-\u9fff·•]{2,10}")


@dataclass
class _Cache:
    rules: list[Rule] = field(default_factory=list)
    version: str | None = None
    loaded_at: float = -math.inf
    seeded: bool = False


def rule_view(r: WordingRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "kind_label": WORDING_KINDS.get(r.kind, r.kind),
        "pattern": r.pattern,
        "regex": r.regex,
        "correction": r.correction,
        "note": r.note,
        "title": r.title,
        "rank": r.rank,
        "builtin": r.builtin,
        "active": r.active,
        "created_by_id": r.created_by_id,  # type: ignore[attr-defined]
        "created_at": r.created_at.isoformat(),
        "updated_by_id": r.updated_by_id,  # type: ignore[attr-defined]
        "updated_at": r.updated_at.isoformat(),
    }


def _audit_view(r: WordingRule) -> dict[str, Any]:
    keys = ("kind", "pattern", "regex", "correction", "note", "title", "rank", "active")
    return {k: getattr(r, k) for k in keys}


# ------------------------------------------------------------------ seeding


def _row(rule: Rule, *, builtin: bool, rank: int, now: Any) -> WordingRule:
    leader = rule.kind == "leader"
    return WordingRule(
        kind=rule.kind,
        pattern=rule.pattern,
        regex=rule.regex,
        correction="" if leader else rule.correction,
        note=rule.note,
        title=rule.correction if leader else "",
        rank=rank,
        builtin=builtin,
        active=True,
        created_at=now,
        updated_at=now,
    )


async def seed_wording_rules(clock: Clock) -> int:
    """Write the starter set into the table, once: nothing when any starter row exists (active
    or switched off). Safe to run from several processes at once (conflicts are ignored)."""
    if await WordingRule.filter(builtin=True).exists():
        return 0
    now = clock.now()
    rows = [_row(r, builtin=True, rank=0, now=now) for r in STARTER_RULES]
    await WordingRule.bulk_create(rows, ignore_conflicts=True)
    log.info("错敏词: %d starter rules seeded", len(rows))
    return len(rows)


async def seed_demo_leaders(clock: Clock) -> int:
    """The fictional demo city's leaders, where the list is still empty."""
    if await WordingRule.filter(kind="leader").exists():
        return 0
    now = clock.now()
    rows = [_row(r, builtin=False, rank=i, now=now) for i, r in enumerate(DEMO_LEADERS, 1)]
    await WordingRule.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# ------------------------------------------------------------------ what the check applies


def _as_rule(r: WordingRule) -> Rule:
    leader = r.kind == "leader"
    return Rule(r.kind, r.pattern, r.title if leader else r.correction, r.note, r.regex)


async def _version(deps: Deps, cache: _Cache) -> str | None:
    try:
        raw = await deps.redis.get(VERSION_KEY)
    except Exception:
        log.warning("错敏词 version unreadable in Redis; reloading by time", exc_info=True)
        return cache.version
    return None if raw is None else str(raw)


async def active_wording_rules(deps: Deps) -> list[Rule]:
    """The active rules, leaders in their official order: from this process's memory while the
    version in Redis is unchanged and the copy is less than a minute old."""
    cache: _Cache = deps.extensions.setdefault(_CACHE, _Cache())
    version = await _version(deps, cache)  # read before the rows: a later change bumps it
    fresh = time.monotonic() - cache.loaded_at < RELOAD_SECONDS
    if fresh and version == cache.version:
        return cache.rules
    if not cache.seeded:
        await seed_wording_rules(deps.clock)
        cache.seeded = True
    rows = await WordingRule.filter(active=True).order_by("id")
    leaders = sorted((r for r in rows if r.kind == "leader"), key=lambda r: (r.rank, r.id))
    cache.rules = [_as_rule(r) for r in rows if r.kind != "leader"] + [_as_rule(r) for r in leaders]
    cache.version, cache.loaded_at = version, time.monotonic()
    return cache.rules


async def _changed(deps: Deps) -> None:
    """After a committed change: tell the other processes, forget this one's copy."""
    deps.extensions.setdefault(_CACHE, _Cache()).loaded_at = -math.inf
    try:
        await deps.redis.incr(VERSION_KEY)
    except Exception:
        log.warning("could not announce the 错敏词 change in Redis", exc_info=True)


# ------------------------------------------------------------------ the admins' lists


def require_wording_admin(actor: Actor) -> None:
    """The lists apply to every unit's drafts and the leaders are the city's: the admins of the
    top unit keep them."""
    actor.require("admin")
    if "system" not in actor.roles and actor.unit_path.count("/") != 2:
        raise Forbidden("错敏词库由最上级单位的系统管理员维护")


async def list_wording_rules(
    deps: Deps, actor: Actor, *, kind: str = "", include_inactive: bool = False
) -> list[WordingRule]:
    """Staff who write and review may see what will be flagged; changing it is for admins."""
    if actor.staff_id is None and "system" not in actor.roles:
        raise Forbidden()
    await seed_wording_rules(deps.clock)
    qs = WordingRule.all() if include_inactive else WordingRule.filter(active=True)
    if kind:
        if kind not in WORDING_KINDS:
            raise DomainError("bad_field", f"未知词库：{kind}", field="kind")
        qs = qs.filter(kind=kind)
    rows = await qs.order_by("id")
    # Leaders in their official order, the switched-off ones after them.
    return sorted(rows, key=lambda r: (r.kind != "leader", not r.active, r.rank, r.id))


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value is True


def _rank(data: dict[str, Any]) -> int | None:
    value = data.get("rank")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit() or int(value) < 1:
        raise DomainError("bad_field", "排序应为从 1 开始的整数", field="rank")
    return min(int(value), 1000)


def _kind(data: dict[str, Any]) -> str:
    kind = text_field(data, "kind", "词库类别", max_len=12)
    if kind not in WORDING_KINDS:
        names = "、".join(f"{k}（{v}）" for k, v in WORDING_KINDS.items())
        raise DomainError("bad_field", f"词库类别应为：{names}", field="kind")
    return kind


def _fields(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of a rule of this kind, as stored."""
    if kind == "leader":
        name = text_field(data, "pattern", "领导姓名", max_len=10)
        if not _NAME.fullmatch(name):
            raise DomainError("bad_field", "领导姓名应为 2 至 10 个汉字", field="pattern")
        raw = text_field(data, "title", "职务", max_len=200)
        titles = [t for t in _TITLE_SEPARATORS.split(raw) if t]
        if not titles:
            raise DomainError("missing_field", "请填写职务", field="title")
        return {
            "pattern": name,
            "regex": False,
            "title": "、".join(titles),
            "correction": "",
            "note": text_field(data, "note", "说明", required=False, max_len=300),
        }
    regex = _flag(data, "regex")
    pattern = text_field(data, "pattern", "正则表达式" if regex else "词语", max_len=500)
    if regex:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise DomainError("bad_field", f"正则表达式有误：{exc}", field="pattern") from exc
        if compile_rule(pattern, True) is None:
            raise DomainError(
                "bad_field", "该正则表达式能匹配空文本，会把每篇稿件都标为有误", field="pattern"
            )
    elif not fold(pattern).strip():
        raise DomainError("missing_field", "请填写词语", field="pattern")
    return {
        "pattern": pattern,
        "regex": regex,
        "correction": text_field(data, "correction", "正确写法（或处理建议）", max_len=200),
        "note": text_field(data, "note", "说明", required=False, max_len=300),
        "title": "",
    }


async def _place_leader(rule: WordingRule, position: int | None) -> list[str]:
    """Renumber the active leaders 1, 2, … with ``rule`` at ``position`` (its old place when
    None, the end for a new one); the official order that results, by name."""
    others = (
        await WordingRule.filter(kind="leader", active=True)
        .exclude(id=rule.id)
        .order_by("rank", "id")
        .select_for_update()
    )
    order = list(others)
    if rule.active:
        if position is None:
            position = rule.rank or len(order) + 1
        order.insert(min(max(position, 1), len(order) + 1) - 1, rule)
    for n, r in enumerate(order, 1):
        if r.rank != n:
            await WordingRule.filter(id=r.id).update(rank=n)
            r.rank = n
    return [r.pattern for r in order]


async def _load(rule_id: Any) -> WordingRule:
    rule = await WordingRule.get_or_none(id=as_id(rule_id, "词库规则"))
    if rule is None:
        raise NotFound("词库规则")
    return rule


def _label(r: WordingRule) -> str:
    return f"{WORDING_KINDS.get(r.kind, r.kind)}“{r.pattern}”"


async def _audit(
    deps: Deps,
    actor: Actor,
    action: str,
    rule: WordingRule,
    summary: str,
    before: dict[str, Any] | None,
    order: list[str] | None,
) -> None:
    after = _audit_view(rule)
    if order is not None:
        after["leaders"] = order
    await record_audit(
        actor,
        f"wording_rule.{action}",
        clock=deps.clock,
        object_type="wording_rule",
        object_id=rule.id,
        summary=summary,
        before=before,
        after=after,
    )


async def add_wording_rule(deps: Deps, actor: Actor, data: dict[str, Any]) -> WordingRule:
    """A new rule; one switched off before with the same words comes back with these fields."""
    require_wording_admin(actor)
    kind = _kind(data)
    fields = _fields(kind, data)
    position = _rank(data) if kind == "leader" else None
    await seed_wording_rules(deps.clock)  # the admin's first rule does not stand in for them
    now = deps.clock.now()
    async with in_transaction():
        rule = await WordingRule.get_or_none(kind=kind, pattern=fields["pattern"])
        if rule is not None and rule.active:
            raise Conflict("duplicate_rule", f"{_label(rule)}已在词库中", field="pattern")
        before = _audit_view(rule) if rule is not None else None
        if rule is None:
            try:
                rule = await WordingRule.create(
                    kind=kind,
                    **fields,
                    rank=0,
                    created_by_id=actor.staff_id,
                    created_at=now,
                    updated_by_id=actor.staff_id,
                    updated_at=now,
                )
            except IntegrityError as exc:
                raise Conflict("duplicate_rule", f"“{fields['pattern']}”已在词库中") from exc
        else:
            for k, v in fields.items():
                setattr(rule, k, v)
            rule.active, rule.updated_by_id, rule.updated_at = True, actor.staff_id, now  # type: ignore[attr-defined]
            await rule.save()
        order = await _place_leader(rule, position) if kind == "leader" else None
        verb = "新增" if before is None else "恢复"
        await _audit(
            deps,
            actor,
            "create" if before is None else "restore",
            rule,
            f"{verb}错敏词库{_label(rule)}",
            before,
            order,
        )
    await _changed(deps)
    return rule


async def edit_wording_rule(
    deps: Deps, actor: Actor, rule_id: Any, data: dict[str, Any]
) -> WordingRule:
    """Change a rule's words, correction, note, or a leader's name, titles and place. The list
    a rule belongs to does not change: switch it off and add it to the other list."""
    require_wording_admin(actor)
    rule = await _load(rule_id)
    if data.get("kind") not in (None, "", rule.kind):
        raise DomainError(
            "bad_field", "规则所属词库不能修改：请停用后在另一词库中新增", field="kind"
        )
    fields = _fields(rule.kind, data)
    position = _rank(data) if rule.kind == "leader" else None
    now = deps.clock.now()
    async with in_transaction():
        rule = await WordingRule.get(id=rule.id).select_for_update()
        before = _audit_view(rule)
        if (
            fields["pattern"] != rule.pattern
            and await WordingRule.filter(kind=rule.kind, pattern=fields["pattern"]).exists()
        ):
            raise Conflict("duplicate_rule", f"“{fields['pattern']}”已在词库中", field="pattern")
        for k, v in fields.items():
            setattr(rule, k, v)
        rule.updated_by_id, rule.updated_at = actor.staff_id, now  # type: ignore[attr-defined]
        try:
            await rule.save()
        except IntegrityError as exc:
            raise Conflict("duplicate_rule", f"“{fields['pattern']}”已在词库中") from exc
        order = await _place_leader(rule, position) if rule.kind == "leader" else None
        if _audit_view(rule) == before:
            return rule
        await _audit(deps, actor, "update", rule, f"修改错敏词库{_label(rule)}", before, order)
    await _changed(deps)
    return rule


async def set_wording_rule_active(
    deps: Deps, actor: Actor, rule_id: Any, active: bool
) -> WordingRule:
    """Switch a rule off (drafts are no longer flagged by it) or on again."""
    require_wording_admin(actor)
    rule = await _load(rule_id)
    now = deps.clock.now()
    async with in_transaction():
        before = _audit_view(rule)
        moved = await WordingRule.filter(id=rule.id, active=not active).update(
            active=active, updated_by_id=actor.staff_id, updated_at=now
        )
        if not moved:
            state = "启用" if active else "停用"
            raise Conflict("unchanged", f"{_label(rule)}已是{state}状态")
        rule.active, rule.updated_by_id, rule.updated_at = active, actor.staff_id, now  # type: ignore[attr-defined]
        order = await _place_leader(rule, None) if rule.kind == "leader" else None
        await _audit(
            deps,
            actor,
            "activate" if active else "deactivate",
            rule,
            f"{'启用' if active else '停用'}错敏词库{_label(rule)}",
            before,
            order,
        )
    await _changed(deps)
    return rule
