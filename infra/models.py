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
