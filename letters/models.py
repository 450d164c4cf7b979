"""Letters (来信): the letter, its append-only timeline, replies and their outbox, extensions,
reminders sent, ratings, and the daily inbox check (RULES.md section 2)."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from infra.indexes import WhereIndex

KINDS = {
    "consultation": "咨询",
    "complaint": "投诉",
    "suggestion": "建议",
    "mayor": "市长信箱",
    "department": "部门信箱",
    "disclosure": "依申请公开",
    "site_error": "网站找错",
}
CHANNELS = {"wechat": "微信", "telegram": "Telegram", "web": "网站", "console": "工作人员代录"}
STATUSES = {
    "new": "待甄别",
    "instructing": "待领导批示",
    "handling": "办理中",
    "reviewing": "答复待审核",
    "replied": "已答复",
    "declined": "不予受理",
}
# Letters someone still has to act on: they count for deadlines, reminders and the daily check.
PENDING_STATUSES = ("new", "instructing", "handling", "reviewing")
_PENDING_SQL = ", ".join(f"'{s}'" for s in PENDING_STATUSES)
# Letters with a running deadline.
OPEN_STATUSES = ("instructing", "handling", "reviewing")
DECLINE_REASONS = {
    "porn": "含色情内容",
    "abuse": "含人身攻击内容",
    "ad": "含广告内容",
    "empty": "无实际内容",
    "repeat": "同一人就同一内容重复来信，已答复或正在办理",
}


class AppendOnlyError(RuntimeError):
    pass


class Letter(Model):
    """A citizen's letter: its writer sealed, hashed for repeats and masked (see writer.py)"""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)  # tracking code, unguessable
    # One submission, one letter: "msg:<channel>:<account>:<message id>" or "key:<key>".
    idem_key = fields.CharField(max_length=200, null=True, unique=True)
    kind = fields.CharField(max_length=16)
    channel = fields.CharField(max_length=16)
    account = fields.ForeignKeyField(
        "minsheng.Account", related_name="letters", null=True, on_delete=fields.SET_NULL
    )
    title = fields.CharField(max_length=200, default="")
    content = fields.TextField()
    attachments = fields.JSONField(default=list)  # references only: [{"ref", "name", "type"}]
    writer_sealed = fields.TextField(
        default=""
    )  # infra.crypto JSON {name, mobile, platform_user_id}
    writer_name_masked = fields.CharField(max_length=32, default="")
    writer_mobile_masked = fields.CharField(max_length=20, default="")
    writer_platform_masked = fields.CharField(max_length=32, default="")
    writer_mobile_hash = fields.CharField(max_length=64, null=True, db_index=True)
    writer_platform_hash = fields.CharField(max_length=64, null=True, db_index=True)
    consent_publish = fields.BooleanField(default=False)
    status = fields.CharField(max_length=12, default="new")
    # The unit that holds the letter now: screening, instruction, handling.
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="letters", on_delete=fields.RESTRICT
    )
    # Proposals for the screener: [{"kind": repeat|ad|abuse|empty, ...}]
    proposals = fields.JSONField(default=list)
    repeat_of = fields.ForeignKeyField(
        "minsheng.Letter", related_name="repeats", null=True, on_delete=fields.SET_NULL
    )
    decline_reason = fields.CharField(max_length=16, default="")
    decline_note = fields.TextField(default="")
    received_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    assigned_at = fields.DatetimeField(null=True)
    due_on = fields.DateField(null=True)  # the last day to reply, Shanghai date
    extended_days = fields.IntField(default=0)
    reopened = fields.IntField(default=0)
    supervised_at = fields.DatetimeField(null=True)  # on the supervision list (督办) since
    replied_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    kb_entry_id = fields.IntField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "let_letter"
        indexes = (
            ("unit_id", "status", "due_on"),
            ("status", "due_on"),
            # The supervision list, in its order: a page is its first entries, and the list's
            # total counts this small index instead of every letter ever supervised.
            WhereIndex(
                fields=("due_on", "id"),
                where=f"supervised_at IS NOT NULL AND status IN ({_PENDING_SQL})",
                name="let_letter_supervision_list",
            ),
        )


class LetterUnit(Model):
    """A unit that co-handles a letter (协办) named by a leader's instruction"""

    id = fields.BigIntField(primary_key=True)
    letter = fields.ForeignKeyField(
        "minsheng.Letter", related_name="co_units", on_delete=fields.CASCADE
    )
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="co_letters", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "let_co_unit"
        unique_together = (("letter", "unit"),)


class LetterEvent(Model):
    """One event of a letter's timeline. Append-only: never edited, never deleted"""

    id = fields.BigIntField(primary_key=True)
    letter = fields.ForeignKeyField(
        "minsheng.Letter", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    actor_id = fields.IntField(null=True)
    actor_name = fields.CharField(max_length=64, default="")
    unit_id = fields.IntField(null=True)
    action = fields.CharField(max_length=24)
    note = fields.TextField(default="")
    data = fields.JSONField(default=dict)

    class Meta:
        table = "let_event"
        indexes = (("letter_id", "id"),)

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if self._saved_in_db:
            raise AppendOnlyError("letter events cannot be changed")
        await super().save(*args, **kwargs)

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        raise AppendOnlyError("letter events cannot be deleted")


class Reply(Model):
    """A reply written by the handling unit, reviewed where settings require, then sent"""

    id = fields.BigIntField(primary_key=True)
    letter = fields.ForeignKeyField(
        "minsheng.Letter", related_name="replies", on_delete=fields.CASCADE
    )
    round = fields.IntField(default=0)  # 0 first answer, 1 after the one reopening
    text = fields.TextField()
    status = fields.CharField(max_length=12)  # review | rejected | sent
    author = fields.ForeignKeyField(
        "minsheng.Staff", related_name="letter_replies", on_delete=fields.RESTRICT
    )
    unit_id = fields.IntField()
    reviewer = fields.ForeignKeyField(
        "minsheng.Staff", related_name="letter_reviews", null=True, on_delete=fields.RESTRICT
    )
    review_note = fields.TextField(default="")
    created_at = fields.DatetimeField()
    reviewed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "let_reply"
        indexes = (("letter_id", "round"),)


class Outbox(Model):
    """A reply on its way back to the citizen through the letter's platform, read by the channels"""

    id = fields.BigIntField(primary_key=True)
    letter = fields.ForeignKeyField(
        "minsheng.Letter", related_name="outbox", on_delete=fields.CASCADE
    )
    reply = fields.ForeignKeyField(
        "minsheng.Reply", related_name="outbox", on_delete=fields.CASCADE
    )
    channel = fields.CharField(max_length=16)
    account = fields.ForeignKeyField(
        "minsheng.Account", related_name="letter_outbox", null=True, on_delete=fields.SET_NULL
    )
    platform_user_id = fields.CharField(max_length=128, default="")
    text = fields.TextField()
    status = fields.CharField(max_length=8, default="pending")  # pending | sent | failed
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "let_outbox"
        unique_together = (("reply", "channel"),)
        indexes = (("status", "next_attempt_at"),)


class Extension(Model):
    """A handler's request for more time, decided by a leader of the unit or above"""

    id = fields.BigIntField(primary_key=True)
    # One to one: at most one extension per letter, ever; a rejected request used the chance.
    letter = fields.OneToOneField(
        "minsheng.Letter", related_name="extension", on_delete=fields.CASCADE
    )
    days = fields.IntField()
    reason = fields.TextField()
    status = fields.CharField(max_length=10, default="pending")  # pending|approved|rejected
    requested_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="letter_extensions", on_delete=fields.RESTRICT
    )
    decided_by = fields.ForeignKeyField(
        "minsheng.Staff",
        related_name="letter_extension_decisions",
        null=True,
        on_delete=fields.RESTRICT,
    )
    comment = fields.TextField(default="")
    due_before = fields.DateField()
    due_after = fields.DateField(null=True)
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "let_extension"


class Reminder(Model):
    """One reminder or escalation sent for a letter. The unique key makes each go out once"""

    id = fields.BigIntField(primary_key=True)
    letter = fields.ForeignKeyField(
        "minsheng.Letter", related_name="reminders", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=64)  # "due3:2026-12-08", "assigned:<event id>", ...
    kind = fields.CharField(max_length=12)  # assigned | due3 | due1 | overdue | supervise
    unit_id = fields.IntField()
    recipients = fields.JSONField(default=list)  # masked mobiles
    sent_at = fields.DatetimeField()

    class Meta:
        table = "let_reminder"
        unique_together = (("letter", "key"),)


class Rating(Model):
    """The citizen's verdict on a reply, a dissatisfied one counting against the unit"""

    id = fields.BigIntField(primary_key=True)
    letter = fields.ForeignKeyField(
        "minsheng.Letter", related_name="ratings", on_delete=fields.CASCADE
    )
    round = fields.IntField()
    satisfied = fields.BooleanField()
    comment = fields.TextField(default="")
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="letter_ratings", on_delete=fields.RESTRICT
    )
    reopened = fields.BooleanField(default=False)
    at = fields.DatetimeField()

    class Meta:
        table = "let_rating"
        unique_together = (("letter", "round"),)
        indexes = (("unit_id", "satisfied"),)


class InboxOpen(Model):
    """A staff member listed their pending letters on a day (001 §28)"""

    id = fields.BigIntField(primary_key=True)
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="letter_inbox_opens", on_delete=fields.CASCADE
    )
    staff = fields.ForeignKeyField(
        "minsheng.Staff", related_name="letter_inbox_opens", on_delete=fields.CASCADE
    )
    day = fields.DateField()
    first_at = fields.DatetimeField()

    class Meta:
        table = "let_inbox_open"
        unique_together = (("staff", "day"),)
        indexes = (("unit_id", "day"),)


class MissedCheck(Model):
    """A unit with pending letters whose staff did not open their pending list on a working day"""

    id = fields.BigIntField(primary_key=True)
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="letter_missed_checks", on_delete=fields.CASCADE
    )
    day = fields.DateField(db_index=True)
    pending = fields.IntField()
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "let_missed_check"
        unique_together = (("unit", "day"),)
