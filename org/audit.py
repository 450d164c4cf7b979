"""The audit log: record, search, export, purge.

Services call ``record_audit`` at the end of a successful operation, inside its transaction.
The web layer records failed and rejected attempts (and any state-changing request a service did
not record) through the same function, so every state-changing request leaves one record.
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from tortoise.transactions import in_transaction

from infra.clock import Clock, to_local
from org.access import Actor
from org.models import AuditRecord

# Set when a record was written while handling the current request (see quart_app).
audit_written: contextvars.ContextVar[bool] = contextvars.ContextVar("audit_written", default=False)

# Never stored in before/after summaries.
_SECRET_KEYS = {"password", "password_hash", "totp_secret", "token", "token_hash", "code", "secret"}


def _clean(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: ("***" if k in _SECRET_KEYS else v) for k, v in data.items()}


async def record_audit(
    actor: Actor,
    action: str,
    *,
    clock: Clock,
    object_type: str = "",
    object_id: Any = "",
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    outcome: str = "ok",
    actor_name: str | None = None,
) -> AuditRecord:
    rec = await AuditRecord.create(
        at=clock.now(),
        actor_id=actor.staff_id,
        actor_name=actor_name if actor_name is not None else actor.name,
        actor_roles=actor.roles_label,
        unit_id=actor.unit_id,
        unit_name=actor.unit_name,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id not in (None, "") else "",
        summary=summary[:2000],
        before=_clean(before),
        after=_clean(after),
        ip=actor.ip,
        outcome=outcome,
    )
    audit_written.set(True)
    return rec


def _filtered(filters: dict[str, Any]):
    qs = AuditRecord.all()
    if v := filters.get("actor"):
        qs = qs.filter(actor_name__icontains=v)
    if v := filters.get("action"):
        qs = qs.filter(action__icontains=v)
    if v := filters.get("object_type"):
        qs = qs.filter(object_type=v)
    if v := filters.get("object_id"):
        qs = qs.filter(object_id=str(v))
    if v := filters.get("outcome"):
        qs = qs.filter(outcome=v)
    if v := filters.get("unit_id"):
        qs = qs.filter(unit_id=int(v))
    if v := filters.get("since"):
        qs = qs.filter(at__gte=v)
    if v := filters.get("until"):
        qs = qs.filter(at__lt=v)
    return qs


async def search_audit(
    actor: Actor, filters: dict[str, Any], *, limit: int = 50, offset: int = 0
) -> tuple[int, list[AuditRecord]]:
    actor.require("supervisor")
    qs = _filtered(filters)
    total = await qs.count()
    rows = await qs.order_by("-at", "-id").offset(offset).limit(min(limit, 500))
    return total, rows


OUTCOMES = {
    "ok": "成功",
    "failed": "失败",
    "rejected": "被拒绝",
    "denied": "无权限",
    "error": "出错",
}

CSV_COLUMNS = ["时间", "操作人", "角色", "单位", "操作", "对象类型", "对象", "摘要", "结果", "IP"]


# Excel runs a cell that starts with one of these as a formula; names typed at the login form
# reach the log, so such cells are prefixed with an apostrophe (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_row(r: AuditRecord) -> list[str]:
    cells = [
        to_local(r.at).strftime("%Y-%m-%d %H:%M:%S"),
        r.actor_name,
        r.actor_roles,
        r.unit_name,
        r.action,
        r.object_type,
        r.object_id,
        r.summary,
        OUTCOMES.get(r.outcome, r.outcome),
        r.ip,
    ]
    return [_csv_cell(c) for c in cells]


async def export_audit_csv(actor: Actor, filters: dict[str, Any], *, clock: Clock) -> str:
    """CSV with a BOM so that Excel shows the Chinese text. The export itself is audited."""
    actor.require("supervisor")
    shown = {k: str(v) for k, v in filters.items()}
    await record_audit(actor, "audit.export", clock=clock, summary=f"导出审计记录，条件：{shown}")
    rows: Iterable[AuditRecord] = await _filtered(filters).order_by("at", "id").limit(100_000)
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(_csv_row(r))
    return buf.getvalue()


async def purge_audit(*, clock: Clock, retention_days: int) -> int:
    """Delete records older than the retention period (never younger ones); returns how many."""
    if retention_days < 365:
        raise ValueError("audit records are kept at least 365 days")
    cutoff = clock.now() - dt.timedelta(days=retention_days)
    async with in_transaction() as conn:
        await _allow_purge(conn)
        deleted = await AuditRecord.filter(at__lt=cutoff).using_db(conn).delete()
        await _end_purge(conn)
        await record_audit(
            Actor.system(),
            "audit.purge",
            clock=clock,
            summary=f"清理 {cutoff:%Y-%m-%d} 之前的审计记录 {deleted} 条",
        )
    return deleted


# The database refuses changes to org_audit (migration 0014's triggers) unless the transaction
# says it is the purge: a setting that ends with the transaction on PostgreSQL; on SQLite, which
# has none, a row that only this transaction sees and that it removes again before committing.


async def _allow_purge(conn) -> None:
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SET LOCAL minsheng.audit_purge = 'on'")
    else:
        await conn.execute_query("INSERT INTO org_audit_purge (purging) VALUES (1)")


async def _end_purge(conn) -> None:
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SET LOCAL minsheng.audit_purge = 'off'")
    else:
        await conn.execute_query("DELETE FROM org_audit_purge")
