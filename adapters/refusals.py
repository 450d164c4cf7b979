"""Refused platform calls (bad signature, unknown account, oversize or malformed body) are
security events: each leaves an audit record, without the body."""

from __future__ import annotations

import logging

from org.access import Actor
from org.audit import record_audit
from org.web import client_ip, deps

log = logging.getLogger(__name__)


async def refuse_record(platform: str, code: str, status: int, reason: str) -> None:
    await record_audit(
        Actor.anonymous(client_ip()),
        f"{platform}.refused",
        clock=deps().clock,
        object_type="account",
        object_id=code[:64],
        summary=f"{status} {reason}",
        outcome="denied" if status in (401, 403) else "rejected",
    )
    log.info("%s %s refused: %s %s", platform, code, status, reason)
