"""Intake: a letter is committed before anyone is told its tracking code.

The same submission retried (the platform's message id, or an idempotency key from the web form
or the console) returns the same letter: a unique index on ``idem_key`` decides races, and after
an IntegrityError (which aborts the transaction on PostgreSQL) the winner is read afresh outside
the failed transaction.

Where a letter goes first (001 §22–24): a department mailbox letter to that department, a mayor's
mailbox letter to the office whose leaders read it, a complaint to the petitions office (信访局),
anything else to the intake unit (default: the petitions office). Screening starts there.
Repeats (same writer by mobile or platform id, similar text, within the window) and obvious ads,
abuse or empty letters are attached as proposals for the screener.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, NamedTuple

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from accounts.models import Account
from infra.deps import Deps
from infra.errors import DomainError, Forbidden, as_id
from infra.fields import text_field
from infra.notify import mask_mobile
from letters.codes import format_code, new_code
from letters.models import CHANNELS, KINDS, Letter
from letters.screening import content_flags, similarity
from letters.service import (
    add_event,
    audit_letter,
    unit_by_code,
    unit_field,
)
from letters.writer import (
    MOBILE_RE,
    Writer,
    keyed_hash,
    mask_name,
    mask_platform_id,
    platform_identity,
    seal,
)
from org.access import Actor
from org.models import Unit

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 20
REPEAT_CANDIDATES = 50
REPEAT_PROPOSALS = 3


class Submitted(NamedTuple):
    letter: Letter
    created: bool  # False: a retry of a submission already recorded; this is that letter


def _writer(data: dict[str, Any]) -> Writer:
    raw = data.get("writer") or {}
    if not isinstance(raw, dict):
        raise DomainError("bad_field", "来信人信息格式不正确", field="writer")
    name = text_field(raw, "name", "来信人姓名", required=False, max_len=32)
    mobile = text_field(raw, "mobile", "联系电话", required=False, max_len=20).replace(" ", "")
    if mobile and not MOBILE_RE.fullmatch(mobile):
        raise DomainError("bad_field", "联系电话须为11位手机号码", field="writer.mobile")
    puid = text_field(raw, "platform_user_id", "平台用户标识", required=False, max_len=128)
    return Writer(name, mobile, puid)


def _attachments(data: dict[str, Any]) -> list[dict[str, str]]:
    raw = data.get("attachments") or []
    if not isinstance(raw, list) or len(raw) > MAX_ATTACHMENTS:
        raise DomainError(
            "bad_field", f"附件须为列表，最多{MAX_ATTACHMENTS}个", field="attachments"
        )
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("ref"), str) or not item["ref"]:
            raise DomainError("bad_field", "每个附件须有引用（ref）", field="attachments")
        out.append({k: str(item.get(k) or "")[:300] for k in ("ref", "name", "type") if k in item})
    return out


def _idem_key(channel: str, account_id: int | None, data: dict[str, Any]) -> str | None:
    msg_id = data.get("platform_message_id")
    key = data.get("idempotency_key")
    for value, what in ((msg_id, "平台消息编号"), (key, "幂等键")):
        if value not in (None, "") and (not isinstance(value, str | int) or len(str(value)) > 128):
            raise DomainError("bad_field", f"{what}格式不正确")
    if msg_id not in (None, ""):
        return f"msg:{channel}:{account_id or '-'}:{msg_id}"
    if key not in (None, ""):
        return f"key:{key}"
    return None


async def _first_unit(deps: Deps, kind: str, data: dict[str, Any]) -> Unit:
    s = deps.settings
    if kind == "department":
        return await unit_field(data, "unit_id", label="收信部门")
    if kind == "mayor":
        return await unit_by_code(s.letter_mayor_unit_code, "市长信箱阅办单位")
    if kind == "complaint" or not s.letter_intake_unit_code:
        return await unit_by_code(s.letter_petitions_unit_code, "信访局")
    return await unit_by_code(s.letter_intake_unit_code, "来信受理单位")


async def find_repeats(
    deps: Deps,
    *,
    mobile_hash: str | None,
    platform_hash: str | None,
    title: str,
    content: str,
    exclude_id: int | None = None,
) -> list[dict[str, Any]]:
    """Earlier letters of the same writer within the window that say nearly the same thing."""
    if not mobile_hash and not platform_hash:
        return []
    same = Q()
    if mobile_hash:
        same |= Q(writer_mobile_hash=mobile_hash)
    if platform_hash:
        same |= Q(writer_platform_hash=platform_hash)
    since = deps.clock.now() - dt.timedelta(days=deps.settings.letter_repeat_window_days)
    qs = Letter.filter(same, received_at__gte=since).exclude(status="declined")
    if exclude_id is not None:
        qs = qs.exclude(id=exclude_id)
    rows = (
        await qs.order_by("-received_at")
        .limit(REPEAT_CANDIDATES)
        .values("id", "code", "title", "content", "status")
    )
    text = f"{title} {content}"
    found = []
    for row in rows:
        score = similarity(text, f"{row['title']} {row['content']}")
        if score >= deps.settings.letter_repeat_similarity:
            found.append(
                {
                    "kind": "repeat",
                    "reason": "repeat",
                    "letter_id": row["id"],
                    "code": format_code(row["code"]),
                    "status": row["status"],
                    "score": round(score),
                }
            )
    found.sort(key=lambda p: -p["score"])
    return found[:REPEAT_PROPOSALS]


async def latest_letter_of(
    deps: Deps, *, channel: str, account_id: int | None, user: str, seconds: int
) -> Letter | None:
    """The newest letter this platform user wrote through ``channel`` in the last ``seconds``
    (found by the writer's keyed hash, as repeats are)."""
    platform_hash = keyed_hash(
        deps.settings, "platform", platform_identity(channel, account_id, user)
    )
    if platform_hash is None:
        return None
    since = deps.clock.now() - dt.timedelta(seconds=seconds)
    return (
        await Letter.filter(
            writer_platform_hash=platform_hash, channel=channel, received_at__gte=since
        )
        .order_by("-received_at")
        .first()
    )


async def submit_letter(deps: Deps, actor: Actor, data: dict[str, Any]) -> Submitted:
    """Record a letter. The bot calls it as the system for wechat / telegram / web; staff call it
    on a citizen's behalf (channel "console")."""
    if actor.staff_id is not None:
        if not actor.has("handler", "leader"):
            raise Forbidden("只有办理人或领导可以代群众录入来信")
        channel = "console"
    else:
        if "system" not in actor.roles:
            raise Forbidden()
        channel = str(data.get("channel") or "")
        if channel not in CHANNELS:
            raise DomainError("bad_field", f"未知来信渠道：{channel}", field="channel")
    kind = str(data.get("kind") or "")
    if kind not in KINDS:
        raise DomainError("bad_field", "请选择来信类型", field="kind")
    title = text_field(data, "title", "标题", required=False, max_len=200)
    content = text_field(data, "content", "来信内容", max_len=5000)
    attachments = _attachments(data)
    writer = _writer(data)
    account = None
    if data.get("account_id") not in (None, ""):
        account = await Account.get_or_none(id=as_id(data["account_id"], "账号"))
        if account is None:
            raise DomainError("bad_field", "来信所属账号不存在", field="account_id")
    account_id = account.id if account else None
    consent = data.get("consent_publish", False)
    if not isinstance(consent, bool):
        raise DomainError("bad_field", "是否同意公开答复须为是或否", field="consent_publish")
    key = _idem_key(channel, account_id, data)
    if key and (existing := await Letter.get_or_none(idem_key=key)):
        return Submitted(existing, False)
    unit = await _first_unit(deps, kind, data)

    s = deps.settings
    mobile_hash = keyed_hash(s, "mobile", writer.mobile)
    platform_hash = keyed_hash(
        s, "platform", platform_identity(channel, account_id, writer.platform_user_id)
    )
    proposals = await find_repeats(
        deps, mobile_hash=mobile_hash, platform_hash=platform_hash, title=title, content=content
    )
    proposals += content_flags(title, content)
    fields = {
        "idem_key": key,
        "kind": kind,
        "channel": channel,
        "account_id": account_id,
        "title": title,
        "content": content,
        "attachments": attachments,
        "writer_sealed": seal(s, writer),
        "writer_name_masked": mask_name(writer.name),
        "writer_mobile_masked": mask_mobile(writer.mobile),
        "writer_platform_masked": mask_platform_id(writer.platform_user_id),
        "writer_mobile_hash": mobile_hash,
        "writer_platform_hash": platform_hash,
        "consent_publish": consent,
        "status": "new",
        "unit": unit,
        "proposals": proposals,
    }
    for _attempt in range(5):
        now = deps.clock.now()
        try:
            async with in_transaction():
                letter = await Letter.create(
                    code=new_code(), received_at=now, updated_at=now, **fields
                )
                await add_event(
                    letter,
                    actor,
                    "received",
                    clock=deps.clock,
                    unit_id=unit.id,
                    note=f"经{CHANNELS[channel]}收到{KINDS[kind]}，转「{unit.name}」甄别",
                    data={"proposals": [p["kind"] for p in proposals]},
                )
                await audit_letter(
                    actor,
                    "letter.submit",
                    letter,
                    f"收到来信 #{letter.id}（{KINDS[kind]}，{CHANNELS[channel]}）",
                    clock=deps.clock,
                )
        except IntegrityError:
            # Either the same submission won a race (read it back: this transaction is gone)
            # or a tracking code collided (draw another).
            if key and (existing := await Letter.get_or_none(idem_key=key)):
                return Submitted(existing, False)
            continue
        log.info("letter %s received (%s, %s)", letter.id, kind, channel)
        return Submitted(letter, True)
    raise DomainError("intake_failed", "来信保存失败，请稍后重试", status=503)
