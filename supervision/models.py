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
