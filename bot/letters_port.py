"""What the dialogue needs from letters/: leave a letter, read its status, and pick up replies
that are waiting for the citizen's next message. Kept apart so the engine reads as dialogue."""

from __future__ import annotations

import re

from accounts.models import Account
from infra.deps import Deps
from infra.errors import NotFound
from knowledge.focus import asks_nothing
from letters.codes import format_code
from letters.deadlines import compute_due
from letters.intake import submit_letter as record_letter
from letters.models import KINDS, Letter, Outbox
from letters.replies import public_letter_status
from letters.service import add_event
from org.access import Actor

# The kinds a citizen picks in the chat; mailboxes are the web forms' business.
LETTER_KINDS = {k: KINDS[k] for k in ("consultation", "complaint", "suggestion", "disclosure")}
LETTER_KINDS["site_error"] = KINDS["site_error"]

_HINTS = (
    ("complaint", re.compile(r"投诉|举报|不作为|乱收费|态度(差|恶劣)|刁难|推诿")),
    ("disclosure", re.compile(r"依申请公开|信息公开|公开.{0,6}(文件|信息|数据)|申请公开")),
    ("site_error", re.compile(r"网站.{0,8}(错|打不开|无法访问|链接|错别字)|找错|页面.{0,4}错误")),
    ("suggestion", re.compile(r"建议|意见|希望(能|可以)?增加|提议")),
)


def guess_kind(text: str) -> str:
    """The kind offered first for a letter's content: what its words name (投诉, 建议 …); else
    a complaint for content that asks nothing (路灯坏了一个星期了), a consultation for one
    that asks. On citizen-messages.jsonl the first offer is the citizen's own kind for 65 % of
    the messages (49 % when every unnamed one was offered as a consultation)."""
    for kind, pattern in _HINTS:
        if pattern.search(text):
            return kind
    return "complaint" if asks_nothing(text) else "consultation"


async def account_id(deps: Deps, code: str) -> int | None:
    """The register's id of an account code, remembered by this process (a code names one
    account for good)."""
    if not code:
        return None
    known = deps.extensions.setdefault("account_ids", {})
    if code not in known:
        account = await Account.get_or_none(code=code)
        if account is None:
            return None
        known[code] = account.id
    return known[code]


def waiting_key(channel: str, account_code: str, user: str) -> str:
    """Set by the delivery job when a reply could not be pushed: the next message carries it."""
    return f"bot:waiting:{channel}:{account_code}:{user}"


async def submit_letter(
    deps: Deps,
    *,
    channel: str,
    account_code: str,
    user: str,
    kind: str,
    content: str,
    name: str,
    mobile: str,
    idempotency_key: str,
) -> tuple[str, str]:
    """Commit the letter first; only then is the tracking code shown. Returns the code and the
    expected last day to reply (counted from today; the clock starts when it is accepted)."""
    submitted = await record_letter(
        deps,
        Actor.system("智能问答"),
        {
            "channel": channel,
            "kind": kind,
            "content": content,
            "account_id": await account_id(deps, account_code),
            "writer": {"name": name, "mobile": mobile, "platform_user_id": user},
            "idempotency_key": idempotency_key[:128],
        },
    )
    letter = submitted.letter
    await deps.calendar.refresh(deps.redis)
    due = compute_due(deps.settings, deps.calendar, letter.kind, deps.clock.today())
    return format_code(letter.code), f"{due.year}年{due.month}月{due.day}日"


async def letter_status(deps: Deps, code: str) -> str | None:
    try:
        status = await public_letter_status(deps, code)
    except NotFound:
        return None
    lines = [
        f"跟踪码：{status['code']}",
        f"类型：{status['kind_label']}",
        f"状态：{status['status_label']}",
    ]
    if status.get("decline_reason"):
        lines.append(f"原因：{status['decline_reason']}")
    if status.get("unit_name"):
        lines.append(f"办理单位：{status['unit_name']}")
    lines.append(f"提交日期：{status['received_on']}")
    if status.get("due_on") and not status.get("replied_on"):
        lines.append(f"答复期限：{status['due_on']}")
    elif status.get("expected_due_on"):
        lines.append(f"答复期限：预计 {status['expected_due_on']}（受理后确定）")
    for reply in status.get("replies", []):
        lines.append(f"答复（{reply['sent_on']}）：\n{reply['text']}")
    if status.get("may_rate"):
        lines.append("如对答复不满意，可在留言查询页面评价。")
    return "\n".join(lines)


async def take_pending_replies(
    deps: Deps, channel: str, account_code: str, user: str
) -> list[tuple[str, str]]:
    """Replies the platform could not push (WeChat's 48-hour window had closed): the citizen's
    next message carries them. Each is claimed with a conditional update, so a delivery job
    running at the same moment cannot send it twice."""
    if channel not in ("wechat", "telegram") or not user:
        return []
    key = waiting_key(channel, account_code, user)
    # Most messages have nothing waiting: one Redis read instead of a database query. If Redis
    # lost the mark, the citizen's status query still shows the reply.
    if not await deps.redis.exists(key):
        return []
    await deps.redis.delete(key)
    clock = deps.clock
    rows = await Outbox.filter(
        channel=channel,
        account_id=await account_id(deps, account_code),
        platform_user_id=user,
        status__in=("pending", "failed"),
    ).order_by("id")
    taken = []
    for row in rows:
        now = clock.now()
        claimed = await Outbox.filter(id=row.id, status=row.status).update(
            status="sent", sent_at=now, last_error=""
        )
        if not claimed:
            continue
        letter = await Letter.get(id=row.letter_id)  # type: ignore[attr-defined]
        await add_event(
            letter,
            Actor.system("智能问答"),
            "reply_delivered",
            clock=clock,
            note="群众再次发消息时，答复随对话送达",
            unit_id=letter.unit_id,  # type: ignore[attr-defined]
        )
        taken.append((format_code(letter.code), row.text))
    return taken
