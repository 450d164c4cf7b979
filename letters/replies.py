"""Replies, their review and way back to the citizen; satisfaction; the public status; and the
way into the knowledge base (000 §27).

A handler of the handling unit writes the reply (templates per kind help). Where settings say so
(``letter_review_kinds``, default all kinds) a reviewer of the unit who did not write it approves
it first. Sending closes the letter: for WeChat and Telegram letters an Outbox row carries the
text to the platform channel, which delivers and marks it; web and console letters show the reply
on the public status page (by tracking code).

The citizen may say whether they are satisfied. "Not satisfied" reopens the letter once, with a
new deadline, and is counted against the unit that replied (Rating rows); a second "not
satisfied" is recorded but reopens nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from infra.clock import beijing_date
from infra.deps import Deps
from infra.errors import Conflict, DomainError, Forbidden, NotFound
from infra.fields import text_field
from infra.models import Notification
from infra.settings import Settings
from letters.codes import format_code, normalize_code
from letters.deadlines import compute_due
from letters.models import DECLINE_REASONS, KINDS, STATUSES, Letter, Outbox, Rating, Reply
from letters.routing import notify_assigned
from letters.service import (
    add_event,
    audit_letter,
    bool_field,
    deliver_notices,
    due_text,
    first_line,
    load_letter,
    queue_unit_notice,
    require_status,
    require_unit_role,
    role_recipients,
)
from letters.writer import mask_writer, unseal
from org.access import Actor
from org.models import Unit

PLATFORM_CHANNELS = ("wechat", "telegram")
FILL = "【请在此填写具体答复】"
DEFAULT_TEMPLATES = {
    "consultation": f"您好！您咨询的问题答复如下：\n{FILL}\n"
    "如有疑问，可拨打本单位办事电话咨询。感谢您的关注！",
    "complaint": f"您好！您反映的问题我单位已收悉并核查，处理情况如下：\n{FILL}\n感谢您的监督！",
    "suggestion": f"您好！感谢您提出的宝贵建议，我单位研究意见如下：\n{FILL}\n"
    "欢迎继续关注和支持我们的工作。",
    "mayor": f"您好！您给市长的来信已收悉，经市领导批示，现答复如下：\n{FILL}\n"
    "感谢您对政府工作的关心！",
    "department": f"您好！您的来信已收悉，现答复如下：\n{FILL}\n感谢您的来信！",
    "disclosure": f"您好！您申请公开的政府信息，经审查答复如下：\n{FILL}\n"
    "如对本答复不服，可依法申请行政复议或提起行政诉讼。",
    "site_error": f"您好！感谢您指出网站的错误，我们已核实并更正：\n{FILL}\n欢迎继续监督。",
}


# What a template marks for the handler to fill in: 【请…】, {…} or a run of underscores.
PLACEHOLDER = re.compile(r"【请[^】]*】|\{[^{}\n]{0,30}\}|_{3,}")


def check_reply_is_written(text: str, template: str) -> None:
    """Refuse a reply that is the template unedited (whitespace and line endings aside: a
    browser sends CRLF), the template with only its placeholder deleted, or one that still
    holds a placeholder."""
    if left := PLACEHOLDER.search(text):
        raise DomainError(
            "template_placeholder",
            f"答复仍是模板：请把「{left.group(0)}」替换为具体答复",
            field="text",
        )
    bare = re.sub(r"\s+", "", text)
    if template and bare in (
        re.sub(r"\s+", "", template),
        re.sub(r"\s+", "", PLACEHOLDER.sub("", template)),
    ):
        raise DomainError("template_only", "答复内容不能只是模板，请写明具体答复", field="text")


def reply_templates(settings: Settings) -> dict[str, str]:
    """Templates per kind: the built-in ones, overridden by ``letter_reply_templates``."""
    return {**DEFAULT_TEMPLATES, **settings.letter_reply_templates}


def needs_review(settings: Settings, kind: str) -> bool:
    kinds = {k.strip() for k in settings.letter_review_kinds.split(",") if k.strip()}
    return "*" in kinds or kind in kinds


async def _send(deps: Deps, actor: Actor, letter: Letter, reply: Reply) -> None:
    """Inside the caller's transaction: mark the reply sent, queue it, close the letter."""
    now = deps.clock.now()
    moved = await Letter.filter(id=letter.id, status=letter.status).update(
        status="replied", replied_at=now, closed_at=now, updated_at=now
    )
    if not moved:
        raise Conflict("changed", "来信状态刚被他人修改，请刷新后重试")
    letter.status, letter.replied_at, letter.closed_at = "replied", now, now
    reply.status, reply.sent_at = "sent", now
    await Reply.filter(id=reply.id).update(status="sent", sent_at=now)
    where = "公开查询页"
    if letter.channel in PLATFORM_CHANNELS:
        writer = unseal(deps.settings, letter.writer_sealed)
        if writer.platform_user_id:
            await Outbox.create(
                letter=letter,
                reply=reply,
                channel=letter.channel,
                account_id=letter.account_id,  # type: ignore[attr-defined]
                platform_user_id=writer.platform_user_id,
                text=reply.text,
                next_attempt_at=now,
                created_at=now,
            )
            where = "原渠道（" + ("微信" if letter.channel == "wechat" else "Telegram") + "）"
    elif letter.channel == "web" and await _queue_reply_sms(deps, letter):
        where += f"，已短信通知来信人（{letter.writer_mobile_masked}）"
    await add_event(
        letter,
        actor,
        "replied",
        clock=deps.clock,
        note=f"答复已发送至{where}",
        data={"reply_id": reply.id},
    )


async def _queue_reply_sms(deps: Deps, letter: Letter) -> bool:
    """Inside the caller's transaction: queue an SMS telling a web-chat writer who left a mobile
    that the reply is on the status page: the code and the link, never the reply (an SMS is read
    by whoever holds the phone). The caller delivers after commit (``deliver_notices``), and the
    notification outbox retries."""
    if not unseal(deps.settings, letter.writer_sealed).mobile:
        return False
    code = format_code(letter.code)
    await Notification.create(
        # The mobile stays sealed on the letter: the notifier looks it up when it sends.
        recipient=f"{WRITER_RECIPIENT}:{letter.id}",
        body=f"【民声】您的留言（跟踪码{code}）已有答复，"
        f"请打开 {deps.settings.public_url}/status/{code} 查看。",
        purpose="letter.replied",
        attempts=0,
        next_attempt_at=deps.clock.now(),
        created_at=deps.clock.now(),
    )
    return True


WRITER_RECIPIENT = "letter-writer"


def writer_mobile_lookup(settings: Settings):
    """For the notifier (wired in quart_app.compose): a letter's id to its writer's mobile."""

    async def lookup(ref: str) -> str:
        letter = await Letter.get_or_none(id=int(ref)) if ref.isdigit() else None
        return unseal(settings, letter.writer_sealed).mobile if letter else ""

    return lookup


async def write_reply(deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]) -> Reply:
    letter = await load_letter(actor, letter_id)
    require_unit_role(actor, letter, "handler", what="办理人")
    require_status(letter, "handling")
    text = text_field(data, "text", "答复内容", max_len=10000)
    check_reply_is_written(text, reply_templates(deps.settings).get(letter.kind, ""))
    review = needs_review(deps.settings, letter.kind)
    now = deps.clock.now()
    async with in_transaction():
        reply = await Reply.create(
            letter=letter,
            round=letter.reopened,
            text=text,
            status="review" if review else "approved",
            author_id=actor.staff_id,
            unit_id=letter.unit.id,
            created_at=now,
        )
        await add_event(
            letter, actor, "reply_written", clock=deps.clock, data={"reply_id": reply.id}
        )
        if review:
            moved = await Letter.filter(id=letter.id, status="handling").update(
                status="reviewing", updated_at=now
            )
            if not moved:
                raise Conflict("changed", "来信状态刚被他人修改，请刷新后重试")
            letter.status = "reviewing"
            await _tell_reviewers(deps, letter, reply)
        else:
            await _send(deps, actor, letter, reply)
        await audit_letter(
            actor,
            "letter.reply",
            letter,
            f"答复来信 #{letter.id}" + ("，提交审核" if review else "，已发送"),
            clock=deps.clock,
        )
    await deliver_notices(deps)
    return reply


async def _tell_reviewers(deps: Deps, letter: Letter, reply: Reply) -> None:
    """Inside the transaction: an SMS to the unit's reviewers (its leaders when it has none)
    that a reply waits for them; each reply once."""
    unit: Unit = letter.unit
    await queue_unit_notice(
        letter,
        unit.id,
        "review",
        f"review:{reply.id}",
        f"【民声】来信#{letter.id}（{KINDS[letter.kind]}）的答复已提交，待您审核，"
        f"答复期限{due_text(letter)}，请登录系统「来信 · 待审核答复」查看。",
        clock=deps.clock,
        recipients=await role_recipients(unit.id, "reviewer", "leader"),
    )


async def review_reply(deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]) -> Reply:
    letter = await load_letter(actor, letter_id)
    require_unit_role(actor, letter, "reviewer", "leader", what="审核员或领导")
    require_status(letter, "reviewing")
    reply = await Reply.filter(letter_id=letter.id, status="review").order_by("-id").first()
    if reply is None:
        raise DomainError("no_reply", "这件来信没有待审核的答复")
    if reply.author_id == actor.staff_id:  # type: ignore[attr-defined]
        raise Forbidden("不能审核自己拟写的答复")
    approve = bool_field(data, "approve", "是否通过")
    comment = text_field(data, "comment", "审核意见", required=not approve, max_len=1000)
    if approve:  # a reply written before this check, or a template changed since
        check_reply_is_written(reply.text, reply_templates(deps.settings).get(letter.kind, ""))
    now = deps.clock.now()
    async with in_transaction():
        claimed = await Reply.filter(id=reply.id, status="review").update(
            status="approved" if approve else "rejected",
            reviewer_id=actor.staff_id,
            review_note=comment,
            reviewed_at=now,
        )
        if not claimed:
            raise Conflict("changed", "该答复刚被他人审核")
        reply.reviewer_id, reply.review_note, reply.reviewed_at = actor.staff_id, comment, now  # type: ignore[attr-defined]
        if approve:
            await _send(deps, actor, letter, reply)
        else:
            reply.status = "rejected"
            await Letter.filter(id=letter.id, status="reviewing").update(
                status="handling", updated_at=now
            )
            letter.status = "handling"
            await add_event(letter, actor, "reply_rejected", clock=deps.clock, note=comment)
        await audit_letter(
            actor,
            "letter.review_reply",
            letter,
            f"审核来信 #{letter.id} 的答复：{'通过并发送' if approve else '退回修改'}",
            clock=deps.clock,
        )
    if approve:
        await deliver_notices(deps)
    return reply


# ---------------------------------------------------------------- the citizen's side


async def _by_code(code: Any) -> Letter:
    normalized = normalize_code(code)
    # Looked up even when malformed, so an unknown code and a malformed one take the same path.
    letter = await Letter.filter(code=normalized or "-").select_related("unit").first()
    if letter is None:
        raise NotFound("来信")
    return letter


async def public_letter_status(deps: Deps, code: Any) -> dict[str, Any]:
    """What the citizen may see by tracking code: no identity, no notes, no timeline."""
    letter = await _by_code(code)
    replies = []
    if letter.status == "replied" or letter.reopened:
        replies = await Reply.filter(letter_id=letter.id, status="sent").order_by("id")
    rated = set(await Rating.filter(letter_id=letter.id).values_list("round", flat=True))
    in_work = letter.status not in ("new", "declined")
    expected = None
    if letter.status == "new":
        # The day the chat promised when the letter was left (bot.letters_port.submit_letter):
        # the period counted from the day it was received, until acceptance sets the real one.
        await deps.calendar.refresh(deps.redis)
        received = beijing_date(letter.received_at)
        expected = compute_due(deps.settings, deps.calendar, letter.kind, received).isoformat()
    return {
        "code": format_code(letter.code),
        "kind": letter.kind,
        "kind_label": KINDS[letter.kind],
        "status": letter.status,
        "status_label": STATUSES[letter.status],
        "unit_name": letter.unit.name if in_work else "",
        "received_on": beijing_date(letter.received_at).isoformat(),
        "accepted_on": beijing_date(letter.accepted_at).isoformat() if letter.accepted_at else None,
        "due_on": letter.due_on.isoformat() if letter.due_on and in_work else None,
        "expected_due_on": expected,
        "replied_on": beijing_date(letter.replied_at).isoformat() if letter.replied_at else None,
        "replies": [
            {"text": r.text, "sent_on": beijing_date(r.sent_at).isoformat()} for r in replies
        ],
        "may_rate": letter.status == "replied" and letter.reopened not in rated,
        # Why it is not answered, as one of 001 §29's categories; the screener's note stays
        # internal (it may name people or other letters).
        "decline_reason": DECLINE_REASONS.get(letter.decline_reason, "")
        if letter.status == "declined"
        else "",
    }


async def rate_letter(deps: Deps, actor: Actor, code: Any, data: dict[str, Any]) -> Rating:
    """The citizen's verdict on the latest reply; not satisfied reopens the letter once."""
    letter = await _by_code(code)
    satisfied = bool_field(data, "satisfied", "是否满意")
    comment = text_field(data, "comment", "意见", required=False, max_len=1000)
    if letter.status != "replied":
        raise DomainError("not_replied", "来信答复后才能评价")
    round_ = letter.reopened
    reopen = not satisfied and letter.reopened == 0
    now = deps.clock.now()
    unit: Unit = letter.unit
    try:
        async with in_transaction():
            rating = await Rating.create(
                letter=letter,
                round=round_,
                satisfied=satisfied,
                comment=comment,
                unit=unit,
                reopened=reopen,
                at=now,
            )
            await add_event(
                letter,
                actor,
                "rated",
                clock=deps.clock,
                actor_name="来信人",
                unit_id=unit.id,
                note=("满意" if satisfied else "不满意") + (f"：{comment}" if comment else ""),
                data={"satisfied": satisfied},
            )
            if reopen:
                await deps.calendar.refresh(deps.redis)
                due = compute_due(deps.settings, deps.calendar, letter.kind, deps.clock.today())
                moved = await Letter.filter(id=letter.id, status="replied", reopened=0).update(
                    status="handling",
                    reopened=1,
                    due_on=due,
                    assigned_at=now,
                    closed_at=None,
                    supervised_at=None,
                    updated_at=now,
                )
                if not moved:
                    raise Conflict("changed", "来信状态已变化，请刷新后重试")
                letter.status, letter.reopened, letter.due_on = "handling", 1, due
                event = await add_event(
                    letter,
                    actor,
                    "reopened",
                    clock=deps.clock,
                    actor_name="来信人",
                    unit_id=unit.id,
                    note=f"来信人不满意，重新办理，答复期限{due.isoformat()}",
                )
                await notify_assigned(deps, letter, unit, event.id, "来信人不满意，")
            await audit_letter(
                actor,
                "letter.rate",
                letter,
                f"来信 #{letter.id} 来信人评价：{'满意' if satisfied else '不满意'}"
                + ("，重新办理" if reopen else ""),
                clock=deps.clock,
                satisfied=satisfied,
            )
    except IntegrityError as exc:
        raise Conflict("already_rated", "您已评价过这次答复") from exc
    if reopen:
        await deliver_notices(deps)
    return rating


# ---------------------------------------------------------------- the way back (000 §27)


async def propose_kb_entry(deps: Deps, actor: Actor, letter_id: Any, data: dict[str, Any]):
    """A draft knowledge-base entry from a replied letter, personal details masked; staff edit it
    and it goes through the knowledge base's own review before the bot uses it."""
    from knowledge.entries import create_entry

    letter = await load_letter(actor, letter_id)
    require_unit_role(actor, letter, "handler", what="办理人")
    require_status(letter, "replied")
    if letter.kb_entry_id:
        raise Conflict("already_proposed", f"这件来信已转为知识库条目 #{letter.kb_entry_id}")
    reply = await Reply.filter(letter_id=letter.id, status="sent").order_by("-id").first()
    if reply is None:
        raise DomainError("no_reply", "这件来信还没有已发送的答复")
    writer = unseal(deps.settings, letter.writer_sealed)

    def mask(text: str) -> str:
        return mask_writer(text, writer)

    question = mask(
        text_field(data, "question", "标准问题", required=False, max_len=300)
        or (letter.title.strip() or first_line(letter.content))
    )
    if len(question) > 300:
        question = question[:299] + "…"
    answer = mask(text_field(data, "answer", "答案", required=False, max_len=20000) or reply.text)
    entry_data = {
        "question": question,
        "similar": [],
        "answer": answer,
        "topic_id": data.get("topic_id"),
        "unit_id": letter.unit.id,
        "review_by": data.get("review_by")
        or (deps.clock.today() + dt.timedelta(days=365)).isoformat(),
        "source": "letter",
        "allow_duplicate": True,  # a proposal for reviewers, who see the entries alike
    }
    async with in_transaction():
        entry = await create_entry(actor, entry_data, clock=deps.clock, redis=deps.redis)
        moved = await Letter.filter(id=letter.id, kb_entry_id__isnull=True).update(
            kb_entry_id=entry.id
        )
        if not moved:
            raise Conflict("already_proposed", "这件来信已转为知识库条目")
        letter.kb_entry_id = entry.id
        await add_event(letter, actor, "kb_proposed", clock=deps.clock, data={"entry_id": entry.id})
        await audit_letter(
            actor,
            "letter.kb_propose",
            letter,
            f"来信 #{letter.id} 转为知识库条目 #{entry.id}（草稿）",
            clock=deps.clock,
            entry_id=entry.id,
        )
    return entry
