"""Notifications to staff (SMS, 001 §37) through one interface, with a durable outbox.

``send_notification`` writes the message to the ``notification`` table first and then tries to
deliver it; a failure leaves it pending with a later ``next_attempt_at`` and
``retry_notifications`` (a scheduled job) tries again, up to ``notify_max_attempts``, after which it
is marked failed and stays visible. Nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

import httpx

from infra.clock import Clock
from infra.models import Notification
from infra.settings import Settings

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    pass


class Sender(Protocol):
    async def deliver(self, recipient: str, body: str) -> None: ...


def mask_mobile(mobile: str) -> str:
    if re.fullmatch(r"1\d{10}", mobile):
        return mobile[:3] + "****" + mobile[-4:]
    return mobile[:2] + "***" if mobile else ""


class LogSender:
    """Development: writes the message to the log (the recipient masked)."""

    async def deliver(self, recipient: str, body: str) -> None:
        log.warning("[短信] 发往 %s: %s", mask_mobile(recipient), body)


class SmsGatewaySender:
    """Production: POSTs ``{"mobile", "content"}`` as JSON to the SMS gateway with the key."""

    def __init__(self, url: str, key: str, transport: httpx.AsyncBaseTransport | None = None):
        self.url = url
        self.key = key
        self._transport = transport

    async def deliver(self, recipient: str, body: str) -> None:
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=10) as client:
                resp = await client.post(
                    self.url,
                    json={"mobile": recipient, "content": body},
                    headers={"Authorization": f"Bearer {self.key}"},
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"gateway unreachable: {type(exc).__name__}") from exc
        if resp.status_code >= 300:
            raise DeliveryError(f"gateway answered {resp.status_code}")


def make_sender(settings: Settings) -> Sender:
    if settings.sms_gateway_url:
        return SmsGatewaySender(settings.sms_gateway_url, settings.sms_gateway_key)
    return LogSender()


# Finds the mobile of a recipient that is kept sealed elsewhere (a letter's writer): such a
# notification names its recipient "<kind>:<ref>", so the number is in no table and no log.
Resolver = Callable[[str], Awaitable[str]]


class Notifier:
    """Records and delivers notifications; built once by create_app."""

    def __init__(self, sender: Sender, clock: Clock, settings: Settings):
        self.sender = sender
        self.clock = clock
        self.settings = settings
        self._resolvers: dict[str, Resolver] = {}

    def add_recipient_kind(self, kind: str, resolve: Resolver) -> None:
        """Recipients written "<kind>:<ref>" are looked up with ``resolve(ref)`` when sent."""
        self._resolvers[kind] = resolve

    async def _address(self, recipient: str) -> str:
        kind, sep, ref = recipient.partition(":")
        if not sep:
            return recipient
        resolve = self._resolvers.get(kind)
        if resolve is None:
            raise DeliveryError(f"no way to look up {kind} recipients")
        mobile = await resolve(ref)
        if not mobile:
            raise DeliveryError(f"{kind} {ref} has no mobile")
        return mobile

    async def send_notification(
        self, recipient: str, body: str, *, purpose: str = "", secret: bool = False
    ) -> Notification:
        now = self.clock.now()
        note = await Notification.create(
            recipient=recipient,
            body=body,
            purpose=purpose,
            secret=secret,
            # This first attempt holds it until a retry would be due (see retry_notifications).
            attempts=1,
            next_attempt_at=self._retry_at(now, 1),
            created_at=now,
        )
        await self._deliver(note)
        return note

    async def retry_notifications(self) -> int:
        """Try every pending notification that is due; returns how many were delivered."""
        now = self.clock.now()
        due = await Notification.filter(status="pending", next_attempt_at__lte=now)
        delivered = 0
        for note in due:
            # Claim it so that two workers do not both send it, and hold it until a retry would be
            # due so that no worker picks it up while this delivery is still in flight.
            attempts = note.attempts + 1
            hold = self._retry_at(now, attempts)
            claimed = await Notification.filter(
                id=note.id, status="pending", attempts=note.attempts
            ).update(attempts=attempts, next_attempt_at=hold)
            if not claimed:
                continue
            note.attempts, note.next_attempt_at = attempts, hold
            delivered += await self._deliver(note)
        return delivered

    def _retry_at(self, now: dt.datetime, attempts: int) -> dt.datetime:
        backoff = self.settings.notify_retry_seconds * 2 ** (attempts - 1)
        return now + dt.timedelta(seconds=backoff)

    async def _deliver(self, note: Notification) -> int:
        now = self.clock.now()
        try:
            await self.sender.deliver(await self._address(note.recipient), note.body)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
            note.last_error = str(exc)[:500] or type(exc).__name__
            if note.attempts >= self.settings.notify_max_attempts:
                note.status = "failed"
                log.error("notification %s failed for good: %s", note.id, note.last_error)
            else:
                note.next_attempt_at = self._retry_at(now, note.attempts)
                log.warning("notification %s failed, will retry: %s", note.id, note.last_error)
            await note.save(update_fields=["last_error", "status", "next_attempt_at"])
            return 0
        note.status = "sent"
        note.sent_at = now
        if note.secret:
            note.body = "（内容含验证码，已隐去）"
        await note.save(update_fields=["status", "sent_at", "body"])
        return 1
