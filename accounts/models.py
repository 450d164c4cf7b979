"""Accounts, their filings (备案) with approval steps, posts, ad rules and activity snapshots."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

PLATFORMS = {
    "wechat": "微信公众号",
    "weibo": "微博",
    "douyin": "抖音",
    "toutiao": "今日头条",
    "kuaishou": "快手",
    "telegram": "Telegram",
    "app": "移动客户端",
    "other": "其他",
}
STATUSES = {
    "applying": "申请开设中",
    "active": "运行中",
    "changing": "变更中",
    "suspended": "暂停更新",
    "closing": "关停中",
    "closed": "已关停",
    "cancelled": "已注销",
}
# Statuses that hold the unit's one place on a platform (002 §7(二)).
LIVE_STATUSES = {"applying", "active", "changing", "suspended", "closing"}


class Account(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)  # used in webhook URLs
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="accounts", on_delete=fields.RESTRICT
    )
    platform = fields.CharField(max_length=16, db_index=True)
    name = fields.CharField(max_length=100)
    handle = fields.CharField(max_length=100, default="")
    certified_subject = fields.CharField(max_length=100, default="")
    status = fields.CharField(max_length=16, db_index=True)
    opened_on = fields.DateField(null=True)
    responsible = fields.ForeignKeyField(
        "minsheng.Staff", related_name="accounts", null=True, on_delete=fields.SET_NULL
    )
    # "unit_id:platform" while live, NULL once closed: the unique index is the one-per-platform
    # rule itself, so two concurrent registrations cannot both win.
    live_slot = fields.CharField(max_length=48, null=True, unique=True)
    credentials = fields.TextField(default="")  # encrypted JSON (infra.crypto), never returned
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "acc_account"


class Filing(Model):
    """A request to open, change, close or cancel an account, approved level by level."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=8)  # open | change | close | cancel
    account = fields.ForeignKeyField(
        "minsheng.Account", related_name="filings", on_delete=fields.RESTRICT
    )
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="filings", on_delete=fields.RESTRICT
    )
    requested_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="filings", on_delete=fields.RESTRICT
    )
    reason = fields.TextField()
    changes = fields.JSONField(default=dict)
    status = fields.CharField(max_length=12, default="pending", db_index=True)
    # [{"unit_id": .., "unit_name": ..}] - a leader of each unit approves, in order.
    chain = fields.JSONField(default=list)
    step = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "acc_filing"


class FilingEvent(Model):
    id = fields.IntField(primary_key=True)
    filing = fields.ForeignKeyField(
        "minsheng.Filing", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    actor_id = fields.IntField(null=True)
    actor_name = fields.CharField(max_length=64)
    action = fields.CharField(max_length=16)  # submitted | approved | rejected | withdrawn
    comment = fields.TextField(default="")

    class Meta:
        table = "acc_filing_event"


class Post(Model):
    id = fields.BigIntField(primary_key=True)
    account = fields.ForeignKeyField(
        "minsheng.Account", related_name="posts", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=300)
    summary = fields.TextField(default="")
    url = fields.CharField(max_length=1000, default="")
    published_at = fields.DatetimeField()
    is_repost = fields.BooleanField(default=False)
    source_name = fields.CharField(max_length=100, default="")
    source_url = fields.CharField(max_length=1000, default="")
    # Ad screening: ok | flagged | cleared (a reviewer looked and found no ad) | confirmed (a
    # reviewer found an ad: the unit is to take it down) | removed (the unit recorded that it did)
    review_status = fields.CharField(max_length=12, default="ok", db_index=True)
    findings = fields.JSONField(default=list)
    external_id = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField()
    # Who recorded it (added or imported): that person may not also clear it (先审后发).
    # NULL for posts recorded before this was kept, and for the system.
    created_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="posts_recorded", null=True, on_delete=fields.SET_NULL
    )
    # The reviewer who confirmed the ad, when, and why; then who recorded the take-down.
    confirmed_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="posts_confirmed", null=True, on_delete=fields.SET_NULL
    )
    confirmed_at = fields.DatetimeField(null=True)
    confirm_note = fields.CharField(max_length=1000, default="")
    removed_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="posts_removed", null=True, on_delete=fields.SET_NULL
    )
    removed_at = fields.DatetimeField(null=True)
    removal_note = fields.CharField(max_length=1000, default="")

    class Meta:
        table = "acc_post"
        unique_together = (("account", "external_id"),)
        indexes = (("account_id", "published_at"),)


class AdRule(Model):
    """An entry of the ad lists that admins maintain: a word, a lure pattern, or a domain."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=8)  # word | lure | domain
    pattern = fields.CharField(max_length=200)
    note = fields.CharField(max_length=200, default="")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "acc_ad_rule"
        unique_together = (("kind", "pattern"),)


class ActivitySnapshot(Model):
    """One account's activity on one day, recorded by the daily monitor job."""

    id = fields.BigIntField(primary_key=True)
    account = fields.ForeignKeyField(
        "minsheng.Account", related_name="snapshots", on_delete=fields.CASCADE
    )
    day = fields.DateField(db_index=True)
    days_since_last = fields.IntField(null=True)  # null: never posted
    posts_7d = fields.IntField(default=0)
    state = fields.CharField(max_length=8)  # ok | warn | fail | zombie

    class Meta:
        table = "acc_activity"
        unique_together = (("account", "day"),)


# A draft's life (issue 14, 先审后发): written, submitted, approved or returned, scheduled,
# published through the publishers; withdrawn at any point before publishing starts.
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
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="drafts", on_delete=fields.RESTRICT
    )
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
