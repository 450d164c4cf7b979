"""Accounts and their filings (备案): open, change, close, cancel, approved level by level.

Rules (RULES.md section 1): one live account per unit per platform (002 §7(二)); no accounts for
internal sections; a second-level unit that is not an independent legal entity uses its parent's
account (002 §7(三)); every opening / change / closing / cancellation is a request approved by a
leader of each unit up the tree to the final level in settings (002 §7(一)(五)), and the account
changes only at the last approval.
"""

from __future__ import annotations

import secrets
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from accounts.models import LIVE_STATUSES, PLATFORMS, STATUSES, Account, Filing, FilingEvent
from infra.crypto import decrypt_json, encrypt_json
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound, as_id
from infra.fields import text_field
from org.access import Actor
from org.audit import record_audit
from org.models import Staff, Unit

FILING_KINDS = {"open": "开设", "change": "变更", "close": "关停", "cancel": "注销"}
CHANGEABLE = {
    "name": "账号名称",
    "handle": "平台账号",
    "certified_subject": "认证主体",
    "responsible_id": "责任人",
}
CREDENTIAL_FIELDS = {
    "wechat": {
        "app_id": True,
        "app_secret": True,
        "token": True,
        "aes_key": False,
        "mode": True,
        "reply_template_id": False,  # a template message for replies after 48 h
    },
    # channel: the chat id or @username posts go to (the account's handle when empty)
    "telegram": {"bot_token": True, "webhook_secret": True, "channel": False},
}


def account_view(a: Account, warnings: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": a.id,
        "code": a.code,
        "unit_id": a.unit_id,  # type: ignore[attr-defined]
        "platform": a.platform,
        "platform_label": PLATFORMS.get(a.platform, a.platform),
        "name": a.name,
        "handle": a.handle,
        "certified_subject": a.certified_subject,
        "status": a.status,
        "status_label": STATUSES.get(a.status, a.status),
        "opened_on": a.opened_on.isoformat() if a.opened_on else None,
        "responsible_id": a.responsible_id,  # type: ignore[attr-defined]
        "has_credentials": bool(a.credentials),
        "warnings": warnings or [],
    }


def filing_view(f: Filing, events: list[FilingEvent] | None = None) -> dict[str, Any]:
    body = {
        "id": f.id,
        "kind": f.kind,
        "kind_label": FILING_KINDS[f.kind],
        "account_id": f.account_id,
        "unit_id": f.unit_id,  # type: ignore[attr-defined]
        "requested_by": f.requested_by_id,  # type: ignore[attr-defined]
        "reason": f.reason,
        "changes": f.changes,
        "status": f.status,
        "chain": f.chain,
        "step": f.step,
        "created_at": f.created_at.isoformat(),
        "decided_at": f.decided_at.isoformat() if f.decided_at else None,
    }
    if events is not None:
        body["timeline"] = [
            {
                "at": e.at.isoformat(),
                "actor": e.actor_name,
                "action": e.action,
                "comment": e.comment,
            }
            for e in events
        ]
    return body


# ---------------------------------------------------------------- the rules


def check_unit_may_own(unit: Unit, parent: Unit | None) -> None:
    if unit.is_internal:
        raise DomainError(
            "internal_section",
            f"「{unit.name}」是内设机构，不得以内设机构名义开设政务新媒体账号（002 §7(二)），"
            "请使用所在单位的账号",
        )
    if not unit.is_legal_entity and parent is not None:
        raise DomainError(
            "use_parent_account",
            f"「{unit.name}」不是独立法人，应使用上级单位「{parent.name}」的账号（002 §7(三)）",
        )


def _slot(unit_id: int, platform: str) -> str:
    return f"{unit_id}:{platform}"


async def _refuse_second_account(unit: Unit, platform: str) -> None:
    existing = await Account.get_or_none(live_slot=_slot(unit.id, platform))
    if existing is not None:
        raise Conflict(
            "duplicate_platform_account",
            f"「{unit.name}」在{PLATFORMS[platform]}已有账号「{existing.name}」"
            f"（{STATUSES[existing.status]}），同一单位同一平台只能开设一个账号（002 §7(二)）",
            existing_account_id=existing.id,
        )


async def account_warnings(
    account: Account, unit: Unit | None = None, unit_names: list[tuple[int, str]] | None = None
) -> list[str]:
    """Reported, not refused (002 §7(四)): names should match across platforms, and the
    certified subject should be the unit. ``unit_names``: (id, name) of the unit's live accounts,
    when the caller already has them."""
    unit = unit or await account.unit
    if unit_names is None:
        unit_names = await _live_names([unit.id]).values_list("id", "name")
    warnings = []
    differing = sorted({n for i, n in unit_names if i != account.id and n != account.name})
    if differing:
        warnings.append(f"同一单位各平台账号名称不一致：{account.name} / {' / '.join(differing)}")
    if account.certified_subject and account.certified_subject != unit.name:
        warnings.append(f"认证主体「{account.certified_subject}」与单位名称「{unit.name}」不一致")
    return warnings


def _live_names(unit_ids: list[int]):
    return Account.filter(unit_id__in=unit_ids, status__in=list(LIVE_STATUSES))


async def live_accounts_of_unit(unit_id: int) -> list[str]:
    """The unit's accounts that are not closed, as people name them (平台「名称」): registered with
    org (quart_app.compose), which refuses to make such a unit internal or not a legal entity."""
    rows = await _live_names([unit_id]).order_by("platform", "id").values_list("platform", "name")
    return [f"{PLATFORMS.get(platform, platform)}「{name}」" for platform, name in rows]


# ---------------------------------------------------------------- reading


def _scope(actor: Actor):
    return actor.scope(Account.all().select_related("unit"))


async def get_account(actor: Actor, account_id: Any) -> Account:
    account = await _scope(actor).get_or_none(id=as_id(account_id, "账号"))
    if account is None:
        raise NotFound("账号")
    return account


async def list_accounts(actor: Actor, filters: dict[str, Any]) -> list[tuple[Account, list[str]]]:
    qs = _scope(actor)
    if v := filters.get("unit_id"):
        try:
            qs = qs.filter(unit_id=int(v))
        except ValueError as exc:
            raise DomainError("bad_field", "单位编号须为整数", field="unit_id") from exc
    if v := filters.get("platform"):
        qs = qs.filter(platform=v)
    if v := filters.get("status"):
        qs = qs.filter(status=v)
    accounts = await qs.order_by("unit__path", "platform")
    names: dict[int, list[tuple[int, str]]] = {}
    for unit_id, acc_id, name in await _live_names(
        list({a.unit_id for a in accounts})  # type: ignore[attr-defined]
    ).values_list("unit_id", "id", "name"):
        names.setdefault(unit_id, []).append((acc_id, name))
    rows = []
    for a in accounts:
        warnings = await account_warnings(a, a.unit, names.get(a.unit_id, []))  # type: ignore[attr-defined]
        if filters.get("warnings") and not warnings:
            continue
        rows.append((a, warnings))
    return rows


# ---------------------------------------------------------------- filings


async def _chain(deps: Deps, unit: Unit) -> list[dict[str, Any]]:
    ids = [int(i) for i in unit.path.strip("/").split("/")]
    units = {u.id: u for u in await Unit.filter(id__in=ids)}
    # The applicant's unit and each unit above it, below the top of the tree...
    levels = [units[i] for i in reversed(ids[1:])] or [units[ids[0]]]
    code = deps.settings.filing_final_unit_code
    final = await Unit.get_or_none(code=code) if code else units[ids[0]]
    if final is None:
        raise DomainError("no_final_unit", f"备案终审单位 {code} 不存在，请检查设置")
    # ... then the final level (default: the top of the tree; the demo names its office).
    if final.id not in [u.id for u in levels]:
        levels.append(final)
    return [{"unit_id": u.id, "unit_name": u.name} for u in levels]


async def _event(filing: Filing, actor: Actor, action: str, comment: str, deps: Deps) -> None:
    await FilingEvent.create(
        filing=filing,
        at=deps.clock.now(),
        actor_id=actor.staff_id,
        actor_name=actor.name,
        action=action,
        comment=comment,
    )


def _require_editor_of(actor: Actor, unit: Unit) -> None:
    if not actor.has("editor") or actor.unit_id != unit.id:
        raise Forbidden("只有本单位的编辑可以提出账号备案申请")


async def file_opening(deps: Deps, actor: Actor, data: dict[str, Any]) -> Filing:
    """An editor asks to open an account; it holds the platform place while the request runs."""
    unit = await Unit.get_or_none(id=actor.unit_id) if actor.unit_id else None
    if unit is None:
        raise Forbidden("只有本单位的编辑可以提出账号备案申请")
    _require_editor_of(actor, unit)
    platform = text_field(data, "platform", "平台")
    if platform not in PLATFORMS:
        raise DomainError("bad_field", f"未知平台：{platform}", field="platform")
    name = text_field(data, "name", "账号名称")
    reason = text_field(data, "reason", "开设理由")
    check_unit_may_own(unit, await unit.parent)
    responsible = None
    if data.get("responsible_id") not in (None, ""):
        responsible = await Staff.get_or_none(id=data["responsible_id"], unit_id=unit.id)
        if responsible is None:
            raise DomainError("bad_field", "责任人须为本单位工作人员", field="responsible_id")
    chain = await _chain(deps, unit)
    now = deps.clock.now()
    try:
        async with in_transaction():
            await _refuse_second_account(unit, platform)
            account = await Account.create(
                code=f"{platform[:2]}{secrets.token_hex(3)}",
                unit=unit,
                platform=platform,
                name=name,
                handle=text_field(data, "handle", "平台账号", required=False),
                certified_subject=text_field(data, "certified_subject", "认证主体", required=False),
                status="applying",
                responsible=responsible,
                live_slot=_slot(unit.id, platform),
                created_at=now,
                updated_at=now,
            )
            filing = await Filing.create(
                kind="open",
                account=account,
                unit=unit,
                requested_by_id=actor.staff_id,
                reason=reason,
                chain=chain,
                created_at=now,
            )
            await _event(filing, actor, "submitted", reason, deps)
            await record_audit(
                actor,
                "filing.open",
                clock=deps.clock,
                object_type="filing",
                object_id=filing.id,
                summary=f"申请开设{PLATFORMS[platform]}账号「{name}」",
                after=account_view(account),
            )
    except IntegrityError as exc:
        # A concurrent request took the place between our check and insert (the unique index
        # decided); now that the transaction is rolled back, name the winner.
        await _refuse_second_account(unit, platform)
        raise Conflict("duplicate_platform_account", "同一单位同一平台只能开设一个账号") from exc
    await _tell_approvers(deps, filing)
    return filing


async def file_request(
    deps: Deps, actor: Actor, account_id: Any, kind: str, data: dict[str, Any]
) -> Filing:
    """Change, close or cancel an account: the account is marked while the request runs."""
    if kind not in ("change", "close", "cancel"):
        raise DomainError("bad_field", f"未知申请类型：{kind}", field="kind")
    account = await get_account(actor, account_id)
    _require_editor_of(actor, account.unit)
    reason = text_field(data, "reason", "申请理由")
    changes: dict[str, Any] = {}
    if kind == "change":
        raw = data.get("changes")
        if not isinstance(raw, dict) or not raw:
            raise DomainError("missing_field", "请填写要变更的内容", field="changes")
        unknown = set(raw) - set(CHANGEABLE)
        if unknown:
            raise DomainError(
                "bad_field", f"不能变更：{'、'.join(sorted(unknown))}", field="changes"
            )
        changes = {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
        if "name" in changes and not changes["name"]:
            raise DomainError("bad_field", "账号名称不能为空", field="changes")
        # What the approvers compare: the values as they are when the request is made.
        changes["_before"] = {k: getattr(account, k) for k in changes}
    allowed = {
        "change": {"active", "suspended"},
        "close": {"active", "suspended"},
        "cancel": {"active", "suspended", "closed"},
    }[kind]
    if account.status not in allowed:
        raise Conflict(
            "bad_status",
            f"账号当前状态为「{STATUSES[account.status]}」，不能申请{FILING_KINDS[kind]}",
        )
    now = deps.clock.now()
    changes["_previous_status"] = account.status
    marking = {"change": "changing", "close": "closing", "cancel": "closing"}[kind]
    if kind == "cancel" and account.status == "closed":
        marking = "closed"  # cancelling a closed account: nothing to hold meanwhile
    async with in_transaction():
        if await Filing.filter(account_id=account.id, status="pending").exists():
            raise Conflict("busy", "该账号已有正在办理的申请")
        # Conditional on the status read above, so two concurrent requests cannot both start.
        marked = await Account.filter(id=account.id, status=account.status).update(
            status=marking, updated_at=now
        )
        if not marked:
            raise Conflict("busy", "该账号已有正在办理的申请")
        filing = await Filing.create(
            kind=kind,
            account=account,
            unit=account.unit,
            requested_by_id=actor.staff_id,
            reason=reason,
            changes=changes,
            chain=await _chain(deps, account.unit),
            created_at=now,
        )
        await _event(filing, actor, "submitted", reason, deps)
        await record_audit(
            actor,
            f"filing.{kind}",
            clock=deps.clock,
            object_type="filing",
            object_id=filing.id,
            summary=f"申请{FILING_KINDS[kind]}账号「{account.name}」",
        )
    await _tell_approvers(deps, filing)
    return filing


def filing_changes(filing: Filing, account: Account, staff_names: dict[int, str]) -> list[dict]:
    """A change request's rows as approvers read them: field, value before, value after."""
    if filing.kind != "change":
        return []
    before = filing.changes.get("_before", {})
    rows = []
    for key, after in filing.changes.items():
        if key not in CHANGEABLE:
            continue
        # Requests made before ``_before`` was kept: while pending, the account still has it.
        was = before.get(key, getattr(account, key) if filing.status == "pending" else None)
        if key == "responsible_id":
            was, after = staff_names.get(was, was), staff_names.get(after, after)
        rows.append({"label": CHANGEABLE[key], "before": was, "after": after})
    return rows


async def get_filing(actor: Actor, filing_id: Any) -> tuple[Filing, list[FilingEvent]]:
    filing = await Filing.get_or_none(id=as_id(filing_id, "备案申请")).select_related("unit")
    if filing is None or not (
        actor.reads_unit(filing.unit.path)
        or any(step["unit_id"] == actor.unit_id for step in filing.chain)
    ):
        raise NotFound("备案申请")
    return filing, await FilingEvent.filter(filing_id=filing.id).order_by("id")


async def approver_inbox(actor: Actor) -> list[Filing]:
    """Pending filings whose current step is a leader of the actor's unit."""
    if not actor.has("leader"):
        return []
    pending = await Filing.filter(status="pending").order_by("created_at")
    return [f for f in pending if f.chain[f.step]["unit_id"] == actor.unit_id]


async def list_filings(actor: Actor, account_id: int | None = None) -> list[Filing]:
    """Filings of the actor's scope, and those whose chain includes the actor's unit (the city
    office's leader approves filings of units outside their own scope)."""
    qs = Filing.all().select_related("unit")
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    ids = set(await actor.scope(qs).values_list("id", flat=True))
    if actor.unit_id is not None:  # as get_filing lets them read it
        chains = await qs.values_list("id", "chain")
        ids |= {i for i, chain in chains if any(s["unit_id"] == actor.unit_id for s in chain)}
    rows = Filing.filter(id__in=ids).select_related("unit", "account")
    return await rows.order_by("-created_at", "-id").limit(500)


async def _decidable(deps: Deps, actor: Actor, filing_id: Any) -> Filing:
    filing, _ = await get_filing(actor, filing_id)
    if filing.status != "pending":
        raise Conflict("decided", "该申请已办结")
    step = filing.chain[filing.step]
    if not actor.has("leader") or actor.unit_id != step["unit_id"]:
        raise Forbidden(f"当前应由「{step['unit_name']}」的领导审批")
    if actor.staff_id == filing.requested_by_id:  # type: ignore[attr-defined]
        raise Forbidden("不能审批自己提出的申请")
    return filing


async def approve_filing(deps: Deps, actor: Actor, filing_id: Any, comment: str = "") -> Filing:
    filing = await _decidable(deps, actor, filing_id)
    now = deps.clock.now()
    last = filing.step + 1 == len(filing.chain)
    async with in_transaction():
        # Only one approval of a step counts, even if two leaders press at once.
        moved = await Filing.filter(id=filing.id, status="pending", step=filing.step).update(
            step=filing.step + 1,
            status="approved" if last else "pending",
            decided_at=now if last else None,
        )
        if not moved:
            raise Conflict("decided", "该步骤已由他人审批")
        filing.step += 1
        await _event(filing, actor, "approved", comment, deps)
        if last:
            filing.status = "approved"
            await _apply(deps, filing)
        await record_audit(
            actor,
            "filing.approve",
            clock=deps.clock,
            object_type="filing",
            object_id=filing.id,
            summary=f"审批通过{FILING_KINDS[filing.kind]}申请"
            + ("（终审，已生效）" if last else f"（第{filing.step}级）"),
        )
    await _tell_approvers(deps, filing)
    return filing


async def _tell_approvers(deps: Deps, filing: Filing) -> None:
    """After commit: an SMS to the leaders of the unit whose step it now is (not to the
    requester, who may not approve their own request)."""
    if filing.status != "pending":
        return
    step = filing.chain[filing.step]
    account = await Account.get(id=filing.account_id)  # type: ignore[attr-defined]
    body = (
        f"【民声】{FILING_KINDS[filing.kind]}账号申请#{filing.id}"
        f"（{PLATFORMS.get(account.platform, account.platform)}「{account.name}」）待您审批，"
        "请登录系统「备案审批」查看。"
    )
    for staff in await Staff.filter(unit_id=step["unit_id"], active=True).order_by("id"):
        if "leader" in staff.roles and staff.id != filing.requested_by_id:  # type: ignore[attr-defined]
            await deps.notifier.send_notification(staff.mobile, body, purpose="filing.approve")


async def _apply(deps: Deps, filing: Filing) -> None:
    account = await Account.get(id=filing.account_id)  # type: ignore[attr-defined]
    before = account_view(account)
    if filing.kind == "open":
        account.status = "active"
        account.opened_on = deps.clock.today()
    elif filing.kind == "change":
        for key, value in filing.changes.items():
            if key == "responsible_id":
                account.responsible_id = value  # type: ignore[attr-defined]
            elif key in CHANGEABLE:
                setattr(account, key, value)
        account.status = filing.changes["_previous_status"]
    else:
        account.status = "closed" if filing.kind == "close" else "cancelled"
        account.live_slot = None
    account.updated_at = deps.clock.now()
    await account.save()
    await record_audit(
        Actor.system("备案终审"),
        f"account.{filing.kind}",
        clock=deps.clock,
        object_type="account",
        object_id=account.id,
        summary=f"账号「{account.name}」{FILING_KINDS[filing.kind]}生效",
        before=before,
        after=account_view(account),
    )


async def reject_filing(deps: Deps, actor: Actor, filing_id: Any, reason: str) -> Filing:
    if not (reason or "").strip():
        raise DomainError("missing_field", "请填写退回理由", field="reason")
    filing = await _decidable(deps, actor, filing_id)
    now = deps.clock.now()
    async with in_transaction():
        moved = await Filing.filter(id=filing.id, status="pending", step=filing.step).update(
            status="rejected", decided_at=now
        )
        if not moved:
            raise Conflict("decided", "该步骤已由他人审批")
        filing.status = "rejected"
        account = await Account.get(id=filing.account_id)  # type: ignore[attr-defined]
        if filing.kind == "open":
            account.status, account.live_slot = "cancelled", None
        else:
            account.status = filing.changes["_previous_status"]
        account.updated_at = now
        await account.save()
        await _event(filing, actor, "rejected", reason.strip(), deps)
        await record_audit(
            actor,
            "filing.reject",
            clock=deps.clock,
            object_type="filing",
            object_id=filing.id,
            summary=f"退回{FILING_KINDS[filing.kind]}申请：{reason.strip()}",
        )
    return filing


# ---------------------------------------------------------------- credentials


async def set_credentials(
    deps: Deps, actor: Actor, account_id: Any, data: dict[str, Any]
) -> Account:
    """Platform credentials, encrypted at rest; never returned or logged after entry."""
    account = await get_account(actor, account_id)
    if not (actor.has("admin") and actor.manages_unit(account.unit.path)) and not (
        actor.has("editor") and actor.unit_id == account.unit_id  # type: ignore[attr-defined]
    ):
        raise Forbidden("只有本单位编辑或系统管理员可以设置平台凭据")
    fields = CREDENTIAL_FIELDS.get(account.platform)
    if fields is None:
        raise DomainError(
            "no_credentials", f"{PLATFORMS[account.platform]}账号无需在本系统配置凭据"
        )
    values = {}
    for key, required in fields.items():
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            values[key] = value.strip()
        elif required:
            raise DomainError("missing_field", f"请填写 {key}", field=key)
    if account.platform == "wechat":
        if values["mode"] not in ("plain", "compatible", "safe"):
            raise DomainError(
                "bad_field", "消息加解密方式须为 plain、compatible 或 safe", field="mode"
            )
        if values["mode"] != "plain" and len(values.get("aes_key", "")) != 43:
            raise DomainError("bad_field", "兼容或安全模式需要43位 EncodingAESKey", field="aes_key")
    account.credentials = encrypt_json(deps.settings, values)
    account.updated_at = deps.clock.now()
    async with in_transaction():
        await account.save(update_fields=["credentials", "updated_at"])
        await record_audit(
            actor,
            "account.set_credentials",
            clock=deps.clock,
            object_type="account",
            object_id=account.id,
            summary=f"设置账号「{account.name}」的平台凭据（{', '.join(sorted(values))}）",
        )
    return account


def credential_warnings(deps: Deps, account: Account) -> list[str]:
    """Plain mode signs only a timestamp and a nonce, never the message: it is for development.
    A production installation shows its staff which accounts still use it."""
    if not deps.settings.is_production or account.platform != "wechat" or not account.credentials:
        return []
    try:
        mode = decrypt_json(deps.settings, account.credentials).get("mode", "plain")
    except DomainError as err:  # no credentials key: say so rather than fail the page
        return [err.message]
    if mode != "plain":
        return []
    return [
        "该微信公众号使用明文模式：消息内容不受签名保护，仅限开发测试。"
        "请在微信公众平台改为安全模式，并在下方重新填写凭据（含 EncodingAESKey）"
    ]


async def read_credentials(deps: Deps, account: Account) -> dict[str, Any]:
    """For the platform adapters only; never hand the result to a page or an API answer."""
    return decrypt_json(deps.settings, account.credentials)
