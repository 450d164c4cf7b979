"""The rubric's versions and the reports built with them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

REPORT_KINDS = {"weekly": "周巡查", "monthly": "月整改", "quarterly": "季通报"}


class Rubric(Model):
    """One version of the scoring rubric: an edit makes a new version, the newest applies to
    reports built after it."""

    id = fields.IntField(primary_key=True)
    version = fields.IntField(unique=True)
    data = fields.JSONField()
    note = fields.CharField(max_length=500, default="")
    created_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="rubrics", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "sup_rubric"


class Report(Model):
    """A report as built for its period: the accounts and units with their scores and
    evidence, and the rubric version used. Rebuilding gives the same figures."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=12)
    period_start = fields.DateField()
    period_end = fields.DateField()
    rubric_version = fields.IntField()
    data = fields.JSONField()
    status = fields.CharField(max_length=12, default="draft")  # draft | issued
    opening = fields.TextField(default="")
    requirements = fields.TextField(default="")
    built_at = fields.DatetimeField()
    built_by_id = fields.IntField(null=True)
    issued_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sup_report"
        unique_together = (("kind", "period_start"),)


# ------------------------------------------------------------------ the annual report

ANNUAL_STATUSES = {
    "draft": "待填报",
    "submitted": "待审核",
    "returned": "已退回",
    "published": "已公开",
}


class AnnualReport(Model):
    """The annual report of one account for one year (004 §13(五)): the figures counted from
    the records, what the unit enters, and its review before it is published."""

    id = fields.IntField(primary_key=True)
    year = fields.IntField(db_index=True)
    account = fields.ForeignKeyField(
        "minsheng.Account", related_name="annual_reports", on_delete=fields.RESTRICT
    )
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="annual_reports", on_delete=fields.RESTRICT
    )
    account_name = fields.CharField(max_length=100)
    platform = fields.CharField(max_length=16)
    figures = fields.JSONField(default=dict)  # counted: supervision.annual.FIGURES
    figures_at = fields.DatetimeField()
    # Entered by the unit where the platform gives no figure.
    followers = fields.BigIntField(null=True)
    reads = fields.BigIntField(null=True)
    mechanisms = fields.TextField(default="")
    status = fields.CharField(max_length=12, default="draft", db_index=True)
    version = fields.IntField(default=1)  # each step moves it: updates are conditional on it
    history = fields.JSONField(default=list)  # [{at, actor_id, actor_name, action, note}]
    return_reason = fields.TextField(default="")
    published_at = fields.DatetimeField(null=True)
    published_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="annual_published", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "sup_annual_report"
        unique_together = (("year", "account"),)


class AnnualReminder(Model):
    """One reminder to a unit on one day about its annual reports not yet published: the
    unique key makes it go out at most once a day"""

    id = fields.IntField(primary_key=True)
    year = fields.IntField()
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="annual_reminders", on_delete=fields.CASCADE
    )
    day = fields.DateField()
    reports = fields.IntField()
    recipients = fields.JSONField(default=list)  # masked mobiles
    sent_at = fields.DatetimeField()

    class Meta:
        table = "sup_annual_reminder"
        unique_together = (("unit", "day"),)


# ------------------------------------------------------------------ information submission

ADOPTION_LEVELS = {"city": "市级", "provincial": "省级", "central": "中央"}
DEFAULT_POINTS = {"city": 1.0, "provincial": 3.0, "central": 5.0}


class Submission(Model):
    """An information item a unit submitted to the office (信息报送, 002 §21)"""

    id = fields.IntField(primary_key=True)
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="submissions", on_delete=fields.RESTRICT
    )
    title = fields.CharField(max_length=200)
    summary = fields.TextField(default="")
    link = fields.CharField(max_length=1000, default="")
    body = fields.TextField(default="")
    submitted_at = fields.DatetimeField(db_index=True)
    submitted_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="submissions", null=True, on_delete=fields.SET_NULL
    )
    submitted_by_name = fields.CharField(max_length=64, default="")

    class Meta:
        table = "sup_submission"


class Adoption(Model):
    """Where a submitted item was adopted, with the points its level was worth when it was
    recorded (a later change of the points leaves it as it was)"""

    id = fields.IntField(primary_key=True)
    submission = fields.ForeignKeyField(
        "minsheng.Submission", related_name="adoptions", on_delete=fields.CASCADE
    )
    level = fields.CharField(max_length=12)
    adopted_on = fields.DateField(db_index=True)
    note = fields.CharField(max_length=500, default="")
    points = fields.FloatField()
    recorded_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="adoptions", null=True, on_delete=fields.SET_NULL
    )
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "sup_adoption"
        unique_together = (("submission", "level"),)


class SubmissionPoints(Model):
    """Points an adoption is worth at each level: one row, kept by admins"""

    id = fields.IntField(primary_key=True)
    city = fields.FloatField(default=DEFAULT_POINTS["city"])
    provincial = fields.FloatField(default=DEFAULT_POINTS["provincial"])
    central = fields.FloatField(default=DEFAULT_POINTS["central"])
    version = fields.IntField(default=1)
    updated_by = fields.ForeignKeyField(
        "minsheng.Staff", related_name="submission_points", null=True, on_delete=fields.SET_NULL
    )
    updated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sup_submission_points"


class ReportRow(Model):
    """One account of a report with its score and evidence. The report keeps the totals and
    the units, so that a unit reads its own rows without loading every account."""

    id = fields.BigIntField(primary_key=True)
    report = fields.ForeignKeyField(
        "minsheng.Report", related_name="rows", on_delete=fields.CASCADE
    )
    unit_id = fields.IntField()
    account_id = fields.IntField()
    passed = fields.BooleanField()
    score = fields.FloatField()
    data = fields.JSONField()

    class Meta:
        table = "sup_report_row"
        unique_together = (("report", "account_id"),)
        indexes = (("report_id", "unit_id"),)


RECTIFY_STATUSES = {"open": "待整改", "submitted": "待核验", "done": "已整改"}


class RectifyItem(Model):
    """One problem of one account found in a month (月整改): the unit owning the account
    rectifies it by the due date, a supervisor verifies it or returns it."""

    id = fields.IntField(primary_key=True)
    month = fields.DateField()  # the first day of the month the problem was found in
    unit = fields.ForeignKeyField(
        "minsheng.Unit", related_name="rectify_items", on_delete=fields.RESTRICT
    )
    account = fields.ForeignKeyField(
        "minsheng.Account", related_name="rectify_items", on_delete=fields.RESTRICT
    )
    account_name = fields.CharField(max_length=100)  # as it was at the build
    kind = fields.CharField(max_length=10)  # veto | deduction
    code = fields.CharField(max_length=32)
    label = fields.CharField(max_length=200)
    count = fields.IntField(default=0)
    points = fields.FloatField(default=0)
    evidence = fields.JSONField(default=list)  # Evidence dicts as found: kind, ref, label, at
    rubric_version = fields.IntField()
    due_on = fields.DateField()
    status = fields.CharField(max_length=12, default="open")
    version = fields.IntField(default=1)  # moves with every step: conditional updates
    note = fields.TextField(default="")  # the last answer of the unit
    file_id = fields.IntField(null=True)  # its attachment
    answered_at = fields.DatetimeField(null=True)
    answered_by_id = fields.IntField(null=True)
    returns = fields.IntField(default=0)
    return_reason = fields.TextField(default="")
    verified_at = fields.DatetimeField(null=True)
    verified_by_id = fields.IntField(null=True)
    overdue_reminded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "sup_rectify_item"
        unique_together = (("month", "account", "code"),)
        indexes = (("unit_id", "status"), ("status", "due_on"))


class RectifyEvent(Model):
    """The history of a rectification item: answered, returned, verified, reminded."""

    id = fields.BigIntField(primary_key=True)
    item = fields.ForeignKeyField(
        "minsheng.RectifyItem", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    actor_id = fields.IntField(null=True)
    actor_name = fields.CharField(max_length=64, default="")
    action = fields.CharField(max_length=16)  # answer | return | verify | remind
    note = fields.TextField(default="")
    file_id = fields.IntField(null=True)

    class Meta:
        table = "sup_rectify_event"


class RectifyFile(Model):
    """A file a unit sent with its answer (an image, a PDF or an Office document, at most
    5 MB), kept in the database with the item it belongs to."""

    id = fields.IntField(primary_key=True)
    item = fields.ForeignKeyField(
        "minsheng.RectifyItem", related_name="files", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=120)
    content_type = fields.CharField(max_length=100)
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    data = fields.BinaryField()
    uploaded_by_id = fields.IntField(null=True)
    uploaded_at = fields.DatetimeField()

    class Meta:
        table = "sup_rectify_file"
