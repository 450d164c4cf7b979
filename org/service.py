"""Units and staff: create, change, deactivate, unlock; every change audited."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.fields import text_field
from org.access import Actor, check_roles
from org.audit import record_audit
from org.auth import hash_password
from org.models import UNIT_KINDS, Staff, StaffSession, Unit

MOBILE_RE = re.compile(r"1[3-9]\d{9}")
USERNAME_RE = re.compile(r"[A-Za-z0-9_.\-]{3,64}")
CODE_RE = re.compile(r"[A-Za-z0-9_\-]{2,32}")


def unit_view(u: Unit) -> dict[str, Any]:
    return {
        "id": u.id,
        "code": u.code,
        "name": u.name,
        "kind": u.kind,
        "kind_label": UNIT_KINDS.get(u.kind, u.kind),
        "parent_id": u.parent_id,  # type: ignore[attr-defined]
        "path": u.path,
        "is_internal": u.is_internal,
        "is_legal_entity": u.is_legal_entity,
        "active": u.active,
    }


def staff_view(s: Staff) -> dict[str, Any]:
    return {
        "id": s.id,
        "username": s.username,
        "real_name": s.real_name,
        "mobile": s.mobile,
        "unit_id": s.unit_id,  # type: ignore[attr-defined]
        "roles": list(s.roles),
        "active": s.active,
        "locked": s.locked,
        "totp_enabled": bool(s.totp_secret),
        "last_login_at": s.last_login_at.isoformat() if s.last_login_at else None,
    }


# What a unit owns that it could no longer own as an internal section or as a unit that is not a
# legal entity (002 §7(二)(三)): the accounts package, above org in the layers, registers the
# lookup of its live accounts (quart_app.compose). Each lookup names what it finds.
UNIT_HOLDINGS = "org.unit_holdings"
UnitHoldings = Callable[[int], Awaitable[list[str]]]


def add_unit_holdings(deps: Deps, lookup: UnitHoldings) -> None:
    lookups = deps.extensions.setdefault(UNIT_HOLDINGS, [])
    if lookup not in lookups:
        lookups.append(lookup)


async def _unit_holdings(deps: Deps, unit_id: int) -> list[str]:
    found: list[str] = []
    for lookup in deps.extensions.get(UNIT_HOLDINGS, []):
        found.extend(await lookup(unit_id))
    return found


async def _refuse_losing_ownership(deps: Deps, unit: Unit, before: dict[str, Any]) -> None:
    """A unit that becomes internal, or (below the top) stops being a legal entity, may not own
    accounts: refused while it has live ones, naming them."""
    has_parent = unit.parent_id is not None  # type: ignore[attr-defined]
    if unit.is_internal and not before["is_internal"]:
        field, what = "is_internal", "内设机构"
    elif not unit.is_legal_entity and before["is_legal_entity"] and has_parent:
        field, what = "is_legal_entity", "非独立法人单位"
    else:
        return
    held = await _unit_holdings(deps, unit.id)
    if held:
        raise Conflict(
            "unit_has_accounts",
            f"「{unit.name}」尚有未关停的政务新媒体账号：{'、'.join(held)}。"
            f"{what}不得开设账号（002 §7(二)(三)），请先申请关停或注销这些账号，再改为{what}",
            field=field,
            accounts=held,
        )


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "on", "yes"}:
        return True
    if isinstance(value, str) and value.lower() in {"0", "false", "off", "no", ""}:
        return False
    raise DomainError("bad_field", f"字段 {key} 应为是或否", field=key)


async def get_unit(actor: Actor, unit_id: Any) -> Unit:
    unit = await Unit.get_or_none(id=as_id(unit_id, "单位"))
    if unit is None:
        raise NotFound("单位")
    return unit


async def list_units(actor: Actor) -> list[Unit]:
    """The whole tree: units are public knowledge inside the government and needed for routing."""
    return await Unit.all().order_by("path")


async def create_unit(deps: Deps, actor: Actor, data: dict[str, Any]) -> Unit:
    actor.require("admin")
    name = text_field(data, "name", "单位名称")
    code = text_field(data, "code", "单位代码")
    if not CODE_RE.fullmatch(code):
        raise DomainError(
            "bad_field", "单位代码只能由2-32位字母、数字、下划线或连字符组成", field="code"
        )
    kind = text_field(data, "kind", "单位类型")
    if kind not in UNIT_KINDS:
        raise DomainError("bad_field", f"未知单位类型：{kind}", field="kind")
    if data.get("parent_id") in (None, ""):
        if "system" not in actor.roles:
            raise Forbidden("只能在本单位及下级单位之下新建单位")
        parent = None
    else:
        parent = await get_unit(actor, data["parent_id"])
        if not actor.manages_unit(parent.path):
            raise Forbidden("只能在本单位及下级单位之下新建单位")
    is_internal = _bool(data, "is_internal", kind == "section")
    is_legal_entity = _bool(data, "is_legal_entity", not is_internal)
    if is_internal and is_legal_entity:
        raise DomainError("bad_field", "内设机构不是独立法人", field="is_legal_entity")
    if parent is not None and parent.is_internal:
        raise DomainError("bad_parent", "内设机构之下不能再设单位", field="parent_id")
    async with in_transaction():
        if await Unit.filter(code=code).exists():
            raise Conflict("duplicate_code", f"单位代码 {code} 已被使用", field="code")
        try:
            unit = await Unit.create(
                code=code,
                name=name,
                kind=kind,
                parent=parent,
                is_internal=is_internal,
                is_legal_entity=is_legal_entity,
                created_at=deps.clock.now(),
            )
        except IntegrityError as exc:
            raise Conflict("duplicate_code", f"单位代码 {code} 已被使用", field="code") from exc
        unit.path = (parent.path if parent else "/") + f"{unit.id}/"
        await unit.save(update_fields=["path"])
        await record_audit(
            actor,
            "unit.create",
            clock=deps.clock,
            object_type="unit",
            object_id=unit.id,
            summary=f"新建单位「{name}」（{code}）",
            after=unit_view(unit),
        )
    return unit


async def update_unit(deps: Deps, actor: Actor, unit_id: Any, data: dict[str, Any]) -> Unit:
    actor.require("admin")
    unit = await get_unit(actor, unit_id)
    if not actor.manages_unit(unit.path) or (
        unit.path == actor.unit_path and "system" not in actor.roles
    ):
        raise Forbidden("只能修改本单位的下级单位")
    before = unit_view(unit)
    if "name" in data:
        unit.name = text_field(data, "name", "单位名称")
    if "kind" in data:
        kind = text_field(data, "kind", "单位类型")
        if kind not in UNIT_KINDS:
            raise DomainError("bad_field", f"未知单位类型：{kind}", field="kind")
        unit.kind = kind
    if "is_internal" in data:
        unit.is_internal = _bool(data, "is_internal", unit.is_internal)
    if "is_legal_entity" in data:
        unit.is_legal_entity = _bool(data, "is_legal_entity", unit.is_legal_entity)
    if "active" in data:
        unit.active = _bool(data, "active", unit.active)
    if unit.is_internal and unit.is_legal_entity:
        raise DomainError("bad_field", "内设机构不是独立法人", field="is_legal_entity")
    if unit.is_internal and not before["is_internal"] and await Unit.filter(parent=unit).exists():
        raise DomainError("has_children", "该单位下设有单位，不能改为内设机构", field="is_internal")
    await _refuse_losing_ownership(deps, unit, before)
    async with in_transaction():
        await unit.save()
        await record_audit(
            actor,
            "unit.update",
            clock=deps.clock,
            object_type="unit",
            object_id=unit.id,
            summary=f"修改单位「{unit.name}」",
            before=before,
            after=unit_view(unit),
        )
    return unit


def _staff_scope(actor: Actor):
    qs = Staff.all().select_related("unit")
    if actor.has("supervisor"):
        return qs
    if actor.has("admin", "leader"):
        return qs.filter(unit__path__startswith=actor.unit_path)
    return qs.filter(id=actor.staff_id)


async def list_staff(actor: Actor, unit_id: Any = None) -> list[Staff]:
    qs = _staff_scope(actor)
    if unit_id not in (None, ""):
        qs = qs.filter(unit_id=(await get_unit(actor, unit_id)).id)
    return await qs.order_by("unit__path", "id")


async def get_staff(actor: Actor, staff_id: Any) -> Staff:
    staff = await _staff_scope(actor).get_or_none(id=as_id(staff_id, "工作人员"))
    if staff is None:
        raise NotFound("工作人员")
    return staff


async def _managed_staff(actor: Actor, staff_id: Any) -> Staff:
    actor.require("admin")
    staff = await get_staff(actor, staff_id)
    if not actor.manages_unit(staff.unit.path):
        raise Forbidden("只能管理本单位及下级单位的工作人员")
    return staff


def _roles(actor: Actor, data: dict[str, Any]) -> list[str]:
    roles = data.get("roles")
    if isinstance(roles, str):
        roles = [r.strip() for r in roles.split(",") if r.strip()]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise DomainError("bad_field", "角色格式不正确", field="roles")
    roles = check_roles(roles)
    # Supervisors read the whole government: only an administrator of a top-level unit grants it.
    if "supervisor" in roles and "system" not in actor.roles and actor.unit_path.count("/") > 2:
        raise Forbidden("督查人员可查看全部单位的数据，只能由市级系统管理员授予")
    return roles


async def create_staff(deps: Deps, actor: Actor, data: dict[str, Any]) -> Staff:
    actor.require("admin")
    username = text_field(data, "username", "登录名")
    if not USERNAME_RE.fullmatch(username):
        raise DomainError(
            "bad_field", "登录名须为3-64位字母、数字、下划线、点或连字符", field="username"
        )
    real_name = text_field(data, "real_name", "真实姓名")
    mobile = text_field(data, "mobile", "手机号码")
    if not MOBILE_RE.fullmatch(mobile):
        raise DomainError("bad_field", "手机号码格式不正确", field="mobile")
    unit = await get_unit(actor, data.get("unit_id"))
    if not actor.manages_unit(unit.path):
        raise Forbidden("只能在本单位及下级单位新建工作人员")
    roles = _roles(actor, data)
    password_hash = hash_password(text_field(data, "password", "初始密码"))
    async with in_transaction():
        if await Staff.filter(username=username).exists():
            raise Conflict("duplicate_username", f"登录名 {username} 已被使用", field="username")
        now = deps.clock.now()
        try:
            staff = await Staff.create(
                username=username,
                real_name=real_name,
                mobile=mobile,
                unit=unit,
                roles=roles,
                password_hash=password_hash,
                password_changed_at=now,
                created_at=now,
            )
        except IntegrityError as exc:
            raise Conflict("duplicate_username", f"登录名 {username} 已被使用") from exc
        await record_audit(
            actor,
            "staff.create",
            clock=deps.clock,
            object_type="staff",
            object_id=staff.id,
            summary=f"新建工作人员「{real_name}」（{username}），单位「{unit.name}」",
            after=staff_view(staff),
        )
    return staff


async def update_staff(deps: Deps, actor: Actor, staff_id: Any, data: dict[str, Any]) -> Staff:
    staff = await _managed_staff(actor, staff_id)
    if staff.id == actor.staff_id and "roles" in data:
        raise Forbidden("不能修改自己的角色")
    before = staff_view(staff)
    if "real_name" in data:
        staff.real_name = text_field(data, "real_name", "真实姓名")
    if "mobile" in data:
        mobile = text_field(data, "mobile", "手机号码")
        if not MOBILE_RE.fullmatch(mobile):
            raise DomainError("bad_field", "手机号码格式不正确", field="mobile")
        staff.mobile = mobile
    if "roles" in data:
        staff.roles = _roles(actor, data)
    if "unit_id" in data:
        unit = await get_unit(actor, data["unit_id"])
        if not actor.manages_unit(unit.path):
            raise Forbidden("只能调入本单位及下级单位")
        staff.unit = unit
    if "active" in data:
        if staff.id == actor.staff_id:
            raise Forbidden("不能停用自己的账号")
        staff.active = _bool(data, "active", staff.active)
    async with in_transaction():
        await staff.save()
        if not staff.active:
            await StaffSession.filter(staff_id=staff.id).update(revoked=True)
        await record_audit(
            actor,
            "staff.update",
            clock=deps.clock,
            object_type="staff",
            object_id=staff.id,
            summary=f"修改工作人员「{staff.real_name}」",
            before=before,
            after=staff_view(staff),
        )
    return staff


async def unlock_staff(deps: Deps, actor: Actor, staff_id: Any) -> Staff:
    staff = await _managed_staff(actor, staff_id)
    async with in_transaction():
        staff.locked_at = None
        staff.failed_logins = 0
        await staff.save(update_fields=["locked_at", "failed_logins"])
        await record_audit(
            actor,
            "staff.unlock",
            clock=deps.clock,
            object_type="staff",
            object_id=staff.id,
            summary=f"解锁工作人员「{staff.real_name}」",
        )
    return staff


async def reset_staff_password(deps: Deps, actor: Actor, staff_id: Any, password: str) -> Staff:
    staff = await _managed_staff(actor, staff_id)
    staff.password_hash = hash_password(password or "")
    staff.password_changed_at = deps.clock.now()
    async with in_transaction():
        await staff.save(update_fields=["password_hash", "password_changed_at"])
        await StaffSession.filter(staff_id=staff.id).update(revoked=True)
        await record_audit(
            actor,
            "staff.reset_password",
            clock=deps.clock,
            object_type="staff",
            object_id=staff.id,
            summary=f"重置「{staff.real_name}」的密码",
        )
    return staff


async def reset_staff_totp(deps: Deps, actor: Actor, staff_id: Any) -> Staff:
    """The staff member lost their phone: they fall back to SMS codes until they enrol again."""
    staff = await _managed_staff(actor, staff_id)
    async with in_transaction():
        staff.totp_secret = None
        await staff.save(update_fields=["totp_secret"])
        await record_audit(
            actor,
            "staff.reset_totp",
            clock=deps.clock,
            object_type="staff",
            object_id=staff.id,
            summary=f"解绑「{staff.real_name}」的动态口令",
        )
    return staff
