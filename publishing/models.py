"""Drafts, their timeline, whitelisted sources, subscriptions and repost tasks."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

DRAFT_STATUSES = {
    "draft": "草稿",
    "submitted": "待审核",
    "returned": "已退回",
    "approved": "已审核",
    "scheduled": "已排期",
    "publishing": "发布中",
    "published": "已发布",
    "failed": "发布失败",
    "withdrawn": "已撤回",
}


class Draft(Model):
    """Something media staff write or repost, reviewed by another person before it goes out to
    one or more accounts of the unit."""

    id = fields.IntField(primary_key=True)
    unit = fields.ForeignKeyField("minsheng.Unit", related_name="drafts", on_delete=fields.RESTRICT)
    account_ids = fields.JSONField(default=list)  # the unit's accounts it goes to
    title = fields.CharField(max_length=300)
    body = fields.TextField(default="")  # Markdown
    cover_url = fields.CharField(max_length=1000, default="")
    is_repost = fields.BooleanField(default=False)
    source_name = fields.CharField(max_length=100, default="")
    source_url = fields.CharField(max_length=1000, default="")
    lead = fields.TextField(default="")  # 编者按 before a repost's unchanged text
    status = fields.CharField(max_length=12, default="draft", db_index=True)
    version = fields.IntField(default=1)
    # The screening of the current version: [{kind, pattern, evidence, where, note}, ...] and
    # the reviewer's acceptances of some of them: [{finding, note, by, at}, ...].
    findings = fields.JSONField(default=list)
    accepted = fields.JSONField(default=list)
    scheduled_at = fields.DatetimeField(null=True, db_index=True)
    return_reason = fields.TextField(default="")
    created_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="drafts_created", null=True, on_delete=fields.SET_NULL
    )
    reviewed_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="drafts_reviewed", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "acc_draft"


class DraftEvent(Model):
    """The timeline of a draft, each written version kept whole in ``snapshot``."""

    id = fields.BigIntField(primary_key=True)
    draft = fields.ForeignKeyField(
        "minsheng.Draft", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    actor_id = fields.IntField(null=True)
    actor_name = fields.CharField(max_length=64, default="")
    action = fields.CharField(max_length=16)  # create edit submit approve return accept ...
    version = fields.IntField()
    note = fields.TextField(default="")
    snapshot = fields.JSONField(null=True)

    class Meta:
        table = "acc_draft_event"


SOURCE_LEVELS = {"central": "中央", "provincial": "省级", "city": "市级", "other": "其他"}
# Items of these levels' feeds become repost tasks (004 §7(一): central and provincial policy).
TASK_LEVELS = ("central", "provincial")
TASK_STATUSES = {"open": "待转载", "done": "已转载", "dismissed": "已忽略"}


class Source(Model):
    """An authoritative source on the whitelist reposts must come from (000 §14(五))."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    home_url = fields.CharField(max_length=1000)
    level = fields.CharField(max_length=12)
    feed_url = fields.CharField(max_length=1000, default="")
    urgent = fields.BooleanField(default=False)  # its items carry the 12-hour deadline
    active = fields.BooleanField(default=True)
    etag = fields.CharField(max_length=300, null=True)
    last_modified = fields.CharField(max_length=100, null=True)
    checked_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "acc_source"


class SourceSubscription(Model):
    """A unit wants repost tasks for the new items of a source."""

    id = fields.IntField(primary_key=True)
    source = fields.ForeignKeyField(
        "minsheng.Source", related_name="subscriptions", on_delete=fields.CASCADE
    )
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="source_subscriptions", on_delete=fields.CASCADE
    )

    class Meta:
        table = "acc_source_sub"
        unique_together = (("source", "unit"),)


class RepostTask(Model):
    """A new item of a subscribed source for a unit to repost. Urgent ones are due 12 hours
    after the item's publication."""

    id = fields.IntField(primary_key=True)
    source = fields.ForeignKeyField(
        "minsheng.Source", related_name="tasks", on_delete=fields.RESTRICT
    )
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="repost_tasks", on_delete=fields.RESTRICT
    )
    item_id = fields.CharField(max_length=500)
    title = fields.CharField(max_length=500)
    link = fields.CharField(max_length=1000, default="")
    published_at = fields.DatetimeField(null=True)
    urgent = fields.BooleanField(default=False)
    due_at = fields.DatetimeField(null=True, db_index=True)
    status = fields.CharField(max_length=12, default="open", db_index=True)
    draft = fields.ForeignKeyField(
        "minsheng.Draft", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    dismissed_reason = fields.TextField(default="")
    reminded = fields.CharField(max_length=16, default="")  # the last reminder sent
    created_at = fields.DatetimeField()

    class Meta:
        table = "acc_repost_task"
        unique_together = (("source", "unit", "item_id"),)


PUBLICATION_STATUSES = {
    "due": "待发布",
    "publishing": "发布中",
    "submitted": "平台审核中",
    "manual": "待人工发布",
    "needs_check": "待核实",
    "published": "已发布",
    "failed": "发布失败",
    "cancelled": "已取消",
}
# Nothing more will happen to these without a person.
PUBLICATION_SETTLED = ("published", "failed", "cancelled")


class Publication(Model):
    """One scheduled draft on one of its accounts: claimed by one worker, published once.

    ``due_at`` is when the worker next looks at it: the scheduled time, a retry's time, or the
    next check of a submitted item."""

    id = fields.BigIntField(primary_key=True)
    draft = fields.ForeignKeyField(
        "minsheng.Draft", related_name="publications", on_delete=fields.CASCADE
    )
    account = fields.ForeignKeyField(
        "minsheng.Account", related_name="publications", on_delete=fields.RESTRICT
    )
    unit_id = fields.IntField(db_index=True)
    status = fields.CharField(max_length=12, default="due")
    due_at = fields.DatetimeField()
    scheduled_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    claimed_by = fields.CharField(max_length=80, default="")
    claimed_at = fields.DatetimeField(null=True)
    url = fields.CharField(max_length=1000, default="")
    platform_id = fields.CharField(max_length=200, default="")
    reason = fields.CharField(max_length=500, default="")
    copy_text = fields.TextField(default="")
    post_id = fields.BigIntField(null=True)
    published_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "pub_publication"
        unique_together = (("draft", "account"),)
        indexes = (("status", "due_at"), ("account_id", "scheduled_at"))


class WordingRule(Model):
    """An entry of the 错敏词 lists that admins maintain, seeded once with the built-in starter
    set (publishing.wording.STARTER_RULES). A word, or a regular expression naming the context
    in which a word is wrong, with the correction and the note shown to editors and reviewers.
    For a leader the pattern is the name, with the official titles and the place in the order."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=12)  # publishing.wording.KINDS
    pattern = fields.CharField(max_length=500)  # the word, regular expression or leader's name
    regex = fields.BooleanField(default=False)
    correction = fields.CharField(max_length=200, default="")
    note = fields.CharField(max_length=300, default="")
    title = fields.CharField(max_length=200, default="")  # a leader's titles, joined by 、
    rank = fields.IntField(default=0)  # a leader's place in the official order, from 1
    builtin = fields.BooleanField(default=False)  # seeded from the starter set
    active = fields.BooleanField(default=True)
    created_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="wording_rules_created", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="wording_rules_updated", null=True, on_delete=fields.SET_NULL
    )
    updated_at = fields.DatetimeField()

    class Meta:
        table = "pub_wording_rule"
        unique_together = (("kind", "pattern"),)
