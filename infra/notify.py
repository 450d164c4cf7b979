"""Notifications to staff (SMS, 001 §37) through one interface, with a durable outbox.

``send_notification`` writes the message to the ``notification`` table first and then tries to
deliver it; a failure leaves it pending with a later ``next_attempt_at`` and
``retry_notifications`` (a scheduled job) tries again, up to ``notify_max_attempts``, after which it
is marked failed and stays visible. Nothing is dropped silently. The retry job takes due
notifications in batches (claimed in one transaction, the delivered ones recorded with one UPDATE),
so the tens of thousands the first letter reminders queue go out without two statements each.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

import httpx
from tortoise.transactions import in_transaction

from infra.clock import Clock
from infra.models import Notification
from infra.settings import Settings

log = logging.getLogger(__name__)

# Notifications claimed and recorded together by one retry step: a crash in the middle may send
# up to this many a second time (the gateway takes one message per call, with no key to dedupe).
CLAIM_BATCH = 100
BLANKED = "（内容含验证码，已隐去）"


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
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> httpx.AsyncClient:
        """One client (one kept-alive connection, one TLS handshake) for a backlog of
        messages, made anew for another event loop (each CLI command runs its own)."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop or self._http.is_closed:
            self._http = httpx.AsyncClient(transport=self._transport, timeout=10)
            self._loop = loop
        return self._http

    async def deliver(self, recipient: str, body: str) -> None:
        try:
            resp = await self._client().post(
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
        await self._deliver([note])
        return note

    async def retry_notifications(self) -> int:
        """Try every pending notification that is due, a batch at a time; returns how many were
        delivered. A batch costs a few statements, not two per message: the daily letter
        reminders queue tens of thousands at once."""
        now = self.clock.now()
        delivered = 0
        after = 0  # by id, so that a run ends even when a failed retry is due again at once
        while batch := await self._claim(now, after):
            after = batch[-1].id
            delivered += await self._deliver(batch)
        return delivered

    async def _claim(self, now: dt.datetime, after: int) -> list[Notification]:
        """Take the next due batch so that no other worker sends it: locked while claimed (other
        workers skip it), then held until a retry would be due, so that no worker picks it up
        while its delivery is in flight. A crash leaves it to a later retry, never drops it."""
        async with in_transaction():
            due = (
                await Notification.filter(status="pending", next_attempt_at__lte=now, id__gt=after)
                .order_by("id")
                .limit(CLAIM_BATCH)
                .select_for_update(skip_locked=True)
            )
            for note in due:
                note.attempts += 1
                note.next_attempt_at = self._retry_at(now, note.attempts)
            for attempts in {note.attempts for note in due}:
                same = [note for note in due if note.attempts == attempts]
                await Notification.filter(id__in=[note.id for note in same]).update(
                    attempts=attempts, next_attempt_at=same[0].next_attempt_at
                )
        return due

    def _retry_at(self, now: dt.datetime, attempts: int) -> dt.datetime:
        backoff = self.settings.notify_retry_seconds * 2 ** (attempts - 1)
        return now + dt.timedelta(seconds=backoff)

    async def _deliver(self, notes: list[Notification]) -> int:
        """Hand claimed notifications to the sender one by one, then record them: the delivered
        ones with one UPDATE (two when some are secret), each failure by itself. A worker
        stopped midway still records what it handed over; the rest waits for a retry."""
        sent: list[Notification] = []
        try:
            for note in notes:
                try:
                    await self.sender.deliver(await self._address(note.recipient), note.body)
                except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
                    await self._record_failure(note, str(exc)[:500] or type(exc).__name__)
                else:
                    sent.append(note)
        finally:
            await self._record_sent(sent)
        return len(sent)

    async def _record_sent(self, notes: list[Notification]) -> None:
        now = self.clock.now()
        for secret in (False, True):
            ids = [note.id for note in notes if note.secret == secret]
            if ids:
                done = {"status": "sent", "sent_at": now} | ({"body": BLANKED} if secret else {})
                await Notification.filter(id__in=ids).update(**done)
        for note in notes:
            note.status, note.sent_at = "sent", now
            if note.secret:
                note.body = BLANKED

    async def _record_failure(self, note: Notification, error: str) -> None:
        note.last_error = error
        if note.attempts >= self.settings.notify_max_attempts:
            note.status = "failed"
            log.error("notification %s failed for good: %s", note.id, error)
        else:
            note.next_attempt_at = self._retry_at(self.clock.now(), note.attempts)
            log.warning("notification %s failed, will retry: %s", note.id, error)
        await note.save(update_fields=["last_error", "status", "next_attempt_at"])
