"""Infrastructure tables: the notification outbox."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Notification(Model):
    """One message to one person, kept until delivered or given up on, so none is lost silently."""

    id = fields.BigIntField(primary_key=True)
    channel = fields.CharField(max_length=16, default="sms")
    recipient = fields.CharField(max_length=64)
    body = fields.TextField()
    # Codes and other secrets are blanked once delivered.
    secret = fields.BooleanField(default=False)
    purpose = fields.CharField(max_length=64, default="")
    status = fields.CharField(
        max_length=16, default="pending", db_index=True
    )  # pending|sent|failed
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(default="")
    next_attempt_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"


class CalendarDay(Model):
    """One day off the ordinary week on the official calendar: a public holiday (a weekday or
    weekend day of a holiday period) or a make-up workday (调休上班), from the State Council's
    yearly notice. Seeded from ``chinese_calendar``; admins enter the years it does not know."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    kind = fields.CharField(max_length=16)  # holiday | workday
    name = fields.CharField(max_length=32, default="")  # 春节, 国庆节 …
    note = fields.CharField(max_length=255, default="")  # the notice it comes from
    source = fields.CharField(max_length=16, default="admin")  # package | admin
    updated_at = fields.DatetimeField()

    class Meta:
        table = "cal_day"
