"""Letters' replies on their way back to citizens through the channel each letter came from.

- Telegram: a bot may message a user at any time: send, retry with backoff on failure.
- WeChat: a customer-service message while WeChat's 48-hour window after the citizen's last
  message is open; otherwise a template message where the account has one configured
  (credential `reply_template_id`); otherwise the reply waits, and the citizen's next message or
  status query shows it (bot.letters_port.take_pending_replies).

Each row is claimed with a conditional update before sending, so several workers never send one
reply twice. Failures are written on the letter's timeline; after the last attempt the row is
"failed", the letter's unit is notified and staff see it on the letter page.
"""

from __future__ import annotations

import datetime as dt
import logging

from accounts.models import Account
from accounts.service import read_credentials
from adapters.telegram import make_bot
from adapters.wechat_api import WechatApi, shared_client
from bot.letters_port import waiting_key
from bot.state import last_seen_key
from infra.deps import Deps
from letters.codes import format_code
from letters.models import Letter, Outbox
from letters.service import add_event, queue_unit_notice
from org.access import Actor

log = logging.getLogger(__name__)
SYSTEM = Actor.system("答复推送")
WAITING = "等待群众下次发消息时送达（微信48小时客服消息窗口已关闭，且未配置模板消息）"


async def deliver_replies(deps: Deps, *, limit: int = 100) -> int:
    """Send what is due; returns how many were sent."""
    now = deps.clock.now()
    rows = (
        await Outbox.filter(status="pending", next_attempt_at__lte=now).order_by("id").limit(limit)
    )
    sent = 0
    for row in rows:
        # Claim: push next_attempt_at ahead so that a second worker skips this row meanwhile.
        hold = now + dt.timedelta(minutes=5)
        claimed = await Outbox.filter(
            id=row.id, status="pending", next_attempt_at=row.next_attempt_at
        ).update(next_attempt_at=hold)
        if not claimed:
            continue
        try:
            how = await _send(deps, row)
        except Exception as exc:  # noqa: BLE001 - any platform failure is retried, then reported
            await _failed(deps, row, exc)
            continue
        if how is None:
            await Outbox.filter(id=row.id).update(
                next_attempt_at=now + dt.timedelta(hours=1), last_error=WAITING
            )
            await _mark_waiting(deps, row)
            continue
        await Outbox.filter(id=row.id).update(
            status="sent", sent_at=deps.clock.now(), last_error=""
        )
        letter = await Letter.get(id=row.letter_id)  # type: ignore[attr-defined]
        await add_event(
            letter,
            SYSTEM,
            "reply_delivered",
            clock=deps.clock,
            note=f"答复已通过{how}送达",
            unit_id=letter.unit_id,  # type: ignore[attr-defined]
        )
        sent += 1
    return sent


async def _mark_waiting(deps: Deps, row: Outbox) -> None:
    account = await Account.get_or_none(id=row.account_id) if row.account_id else None  # type: ignore[attr-defined]
    if account is not None:
        key = waiting_key(row.channel, account.code, row.platform_user_id)
        await deps.redis.set(key, "1", ex=90 * 24 * 3600)


async def _send(deps: Deps, row: Outbox) -> str | None:
    account = await Account.get_or_none(id=row.account_id) if row.account_id else None  # type: ignore[attr-defined]
    if account is None or not account.credentials:
        raise RuntimeError("来信所属账号不存在或未配置凭据")
    creds = await read_credentials(deps, account)
    letter = await Letter.get(id=row.letter_id)  # type: ignore[attr-defined]
    text = f"您的留言（跟踪码 {format_code(letter.code)}）已有答复：\n{row.text}"
    if row.channel == "telegram":
        bot = make_bot(deps, creds["bot_token"])
        await bot.send_message(int(row.platform_user_id), text[:4000])
        return "Telegram"
    api = WechatApi(
        base=deps.settings.wechat_api_base,
        app_id=creds.get("app_id", ""),
        app_secret=creds.get("app_secret", ""),
        redis=deps.redis,
        client=shared_client(deps.extensions),
    )
    if await deps.redis.get(last_seen_key("wechat", account.code, row.platform_user_id)):
        await api.send_text(row.platform_user_id, text[:2000])
        return "微信客服消息"
    template = creds.get("reply_template_id")
    if template:
        await api.send_template(
            row.platform_user_id,
            template,
            {
                "first": "您的留言已有答复",
                "keyword1": format_code(letter.code),
                "keyword2": row.text[:180],
                "remark": "回复“查询 跟踪码”可查看完整答复",
            },
        )
        return "微信模板消息"
    return None


async def _failed(deps: Deps, row: Outbox, exc: Exception) -> None:
    s = deps.settings
    attempts = row.attempts + 1
    reason = f"{type(exc).__name__}: {str(exc)[:200]}"
    letter = await Letter.get(id=row.letter_id)  # type: ignore[attr-defined]
    final = attempts >= s.notify_max_attempts
    delay = dt.timedelta(seconds=s.notify_retry_seconds * 2 ** (attempts - 1))
    await Outbox.filter(id=row.id).update(
        attempts=attempts,
        last_error=reason,
        status="failed" if final else "pending",
        next_attempt_at=deps.clock.now() + delay,
    )
    note = f"答复推送失败（第{attempts}次）：{reason}"
    if final:
        note += "；已停止重试，群众下次发消息或查询时仍可看到答复"
    await add_event(
        letter,
        SYSTEM,
        "reply_failed",
        clock=deps.clock,
        note=note,
        unit_id=letter.unit_id,  # type: ignore[attr-defined]
    )
    if final:
        await _mark_waiting(deps, row)
        await queue_unit_notice(
            letter,
            letter.unit_id,  # type: ignore[attr-defined]
            "reply_failed",
            f"reply_failed:{row.id}",
            f"来信 {format_code(letter.code)} 的答复未能推送给群众，请登录系统查看",
            clock=deps.clock,
        )
    log.warning("reply %s to %s failed (%s attempts)", row.id, row.channel, attempts)
