"""Units, staff, their sessions and API tokens, and the append-only audit log."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

UNIT_KINDS = {
    "city_gov": "市政府",
    "city_dept": "市直部门",
    "county_gov": "县（区）政府",
    "county_dept": "县（区）直部门",
    "town": "乡镇（街道）",
    "section": "内设机构",
    "other": "其他单位",
}


class Unit(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    kind = fields.CharField(max_length=16)
    parent: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "minsheng.Unit", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    # Materialised path of ids, "/1/7/23/", so a subtree is one indexed prefix query.
    path = fields.CharField(max_length=255, db_index=True, default="/")
    is_internal = fields.BooleanField(default=False)  # 内设机构
    is_legal_entity = fields.BooleanField(default=True)  # 独立法人
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "org_unit"

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class Staff(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    real_name = fields.CharField(max_length=64)
    mobile = fields.CharField(max_length=20)
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "minsheng.Unit", related_name="staff", on_delete=fields.RESTRICT
    )
    roles = fields.JSONField(default=list)
    password_hash = fields.CharField(max_length=255)
    password_changed_at = fields.DatetimeField()
    totp_secret = fields.CharField(max_length=255, null=True)  # sealed (infra.crypto)
    failed_logins = fields.IntField(default=0)
    locked_at = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True)
    last_login_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "org_staff"

    @property
    def locked(self) -> bool:
        """A lock was set and not lifted by an admin (org.auth.is_locked also asks whether its
        time has run out)."""
        return self.locked_at is not None


class StaffSession(Model):
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "minsheng.Staff", related_name="sessions", on_delete=fields.CASCADE
    )
    csrf_token = fields.CharField(max_length=64)
    ip = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked = fields.BooleanField(default=False)

    class Meta:
        table = "org_session"


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField(
        "minsheng.Staff", related_name="api_tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=12)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # Null for tokens made before tokens expired: they last the default lifetime from creation.
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "org_api_token"


class AppendOnlyError(RuntimeError):
    pass


class AuditRecord(Model):
    """Who did what, when, from where, and how it ended. Never edited, purged only when old.

    The model refuses changes here; the database refuses them too, for querysets and raw SQL
    (migration 0014's triggers), except in the transaction of ``org.audit.purge_audit``."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    actor_id = fields.IntField(null=True, db_index=True)
    actor_name = fields.CharField(max_length=64, default="")
    actor_roles = fields.CharField(max_length=128, default="")
    unit_id = fields.IntField(null=True, db_index=True)
    unit_name = fields.CharField(max_length=100, default="")
    action = fields.CharField(max_length=64, db_index=True)
    object_type = fields.CharField(max_length=32, default="")
    object_id = fields.CharField(max_length=64, default="")
    summary = fields.TextField(default="")
    before = fields.JSONField(null=True)
    after = fields.JSONField(null=True)
    ip = fields.CharField(max_length=64, default="")
    outcome = fields.CharField(max_length=16, default="ok", db_index=True)

    class Meta:
        table = "org_audit"

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._saved_in_db:
            await super().save(*args, **kwargs)
            return
        raise AppendOnlyError("audit records cannot be changed")

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        raise AppendOnlyError("audit records are removed only by purge_audit")


class SecurityEvent(Model):
    """Refusals of anonymous traffic, counted per minute, source and kind (org/security_log.py).

    Not the audit log: anyone can cause these, so they are aggregated and purged, never one
    permanent row per request."""

    id = fields.BigIntField(primary_key=True)
    minute = fields.DatetimeField(db_index=True)  # UTC, start of the minute
    source = fields.CharField(max_length=64)  # client address, or "*" past the per-minute cap
    kind = fields.CharField(max_length=96)  # endpoint (or platform) and refusal code
    count = fields.IntField(default=0)

    class Meta:
        table = "org_security_event"
        unique_together = (("minute", "source", "kind"),)
