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
    # When a reviewer cleared it (supervision reads ads still unhandled at a past check), and
    # whether the confirmed problem was a serious content error (a single veto in scoring).
    cleared_at = fields.DatetimeField(null=True)
    serious = fields.BooleanField(default=False)

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
