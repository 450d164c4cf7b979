"""Refused platform calls (bad signature, unknown account, oversize or malformed body) are
security events: each is counted in the security log (org/security_log.py, per source, kind and
minute; no body) and logged with the account code. They are anonymous, so no audit record:
anyone could otherwise fill the year-long audit log."""

from __future__ import annotations

import logging

from org.web import note_anonymous_refusal

log = logging.getLogger(__name__)


async def refuse_record(platform: str, code: str, status: int, reason: str) -> None:
    await note_anonymous_refusal(f"{platform}.refused:{status} {reason}")
    log.info("%s %s refused: %s %s", platform, code, status, reason)
