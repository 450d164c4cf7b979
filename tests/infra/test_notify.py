"""The notification outbox (on SQLite and PostgreSQL) and the senders."""

import asyncio
import datetime as dt
import json
import logging

import httpx
import pytest

from infra.models import Notification
from infra.notify import (
    DeliveryError,
    LogSender,
    Notifier,
    SmsGatewaySender,
    make_sender,
    mask_mobile,
)
from infra.settings import Settings

MOBILE = "13800000001"
GATEWAY = "https://sms.example.cn/api/send"


async def stored(note: Notification) -> Notification:
    return await Notification.get(id=note.id)


async def test_delivered_notification_is_recorded_as_sent(deps, sender, clock):
    note = await deps.notifier.send_notification(MOBILE, "您有一封新来信", purpose="letter")
    assert sender.sent == [(MOBILE, "您有一封新来信")]
    row = await stored(note)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at == clock.now()
    assert row.body == "您有一封新来信"
    assert row.purpose == "letter"


async def test_secret_body_is_blanked_once_delivered(deps, sender):
    note = await deps.notifier.send_notification(MOBILE, "验证码 123456", secret=True)
    assert sender.last_code() == "123456"
    row = await stored(note)
    assert row.status == "sent"
    assert "123456" not in row.body


async def test_failure_is_kept_pending_and_retried_with_doubling_backoff(
    deps, sender, clock, settings
):
    base = settings.notify_retry_seconds
    sender.fail_next = 2
    note = await deps.notifier.send_notification(MOBILE, "hello")
    row = await stored(note)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "gateway down")
    assert row.sent_at is None
    assert row.next_attempt_at == clock.now() + dt.timedelta(seconds=base)

    assert await deps.notifier.retry_notifications() == 0  # not due yet
    clock.advance(seconds=base - 1)
    assert await deps.notifier.retry_notifications() == 0
    assert (await stored(note)).attempts == 1

    clock.advance(seconds=1)
    assert await deps.notifier.retry_notifications() == 0  # due, fails again
    row = await stored(note)
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.next_attempt_at == clock.now() + dt.timedelta(seconds=2 * base)

    clock.advance(seconds=2 * base - 1)
    assert await deps.notifier.retry_notifications() == 0
    clock.advance(seconds=1)
    assert await deps.notifier.retry_notifications() == 1
    row = await stored(note)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 3, clock.now())
    assert sender.sent == [(MOBILE, "hello")]
    assert await deps.notifier.retry_notifications() == 0


async def test_gives_up_after_max_attempts_and_keeps_the_row(deps, sender, clock, settings):
    sender.fail_next = 1000
    note = await deps.notifier.send_notification(MOBILE, "hello")
    for _ in range(settings.notify_max_attempts - 1):
        clock.advance(days=1)
        await deps.notifier.retry_notifications()
    row = await stored(note)
    assert (row.status, row.attempts) == ("failed", settings.notify_max_attempts)
    assert row.last_error == "gateway down"
    assert row.sent_at is None

    left = sender.fail_next
    clock.advance(days=30)
    assert await deps.notifier.retry_notifications() == 0
    assert sender.fail_next == left  # not tried again
    assert await Notification.filter(id=note.id, status="failed").count() == 1


async def test_concurrent_retries_deliver_once(deps, sender, clock, settings):
    sender.fail_next = 1
    note = await deps.notifier.send_notification(MOBILE, "hello")
    clock.advance(days=1)
    other = Notifier(sender, clock, settings)  # a second worker
    results = await asyncio.gather(deps.notifier.retry_notifications(), other.retry_notifications())
    assert sorted(results) == [0, 1]
    assert sender.sent == [(MOBILE, "hello")]
    assert (await stored(note)).attempts == 2


class SlowSender:
    """A gateway call in flight while another worker (the retry job) runs."""

    def __init__(self, inner, during):
        self.inner = inner
        self.during = during

    async def deliver(self, recipient: str, body: str) -> None:
        during, self.during = self.during, None
        if during is not None:
            await during()
        await self.inner.deliver(recipient, body)


async def test_retry_job_leaves_a_first_delivery_in_flight_alone(deps, sender, clock, settings):
    job = Notifier(sender, clock, settings)
    notifier = Notifier(SlowSender(sender, job.retry_notifications), clock, settings)
    note = await notifier.send_notification(MOBILE, "hello")
    assert sender.sent == [(MOBILE, "hello")]
    assert (await stored(note)).attempts == 1


async def test_retry_job_leaves_a_retry_in_flight_alone(deps, sender, clock, settings):
    sender.fail_next = 1
    note = await deps.notifier.send_notification(MOBILE, "hello")
    clock.advance(days=1)
    job = Notifier(sender, clock, settings)
    notifier = Notifier(SlowSender(sender, job.retry_notifications), clock, settings)
    assert await notifier.retry_notifications() == 1
    assert sender.sent == [(MOBILE, "hello")]
    assert (await stored(note)).attempts == 2


def gateway(handler) -> SmsGatewaySender:
    return SmsGatewaySender(GATEWAY, "key-1", transport=httpx.MockTransport(handler))


async def test_gateway_posts_json_with_bearer_key():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    await gateway(handler).deliver(MOBILE, "您好")
    [req] = seen
    assert req.method == "POST"
    assert str(req.url) == GATEWAY
    assert req.headers["Authorization"] == "Bearer key-1"
    assert req.headers["Content-Type"] == "application/json"
    assert json.loads(req.content) == {"mobile": MOBILE, "content": "您好"}


async def test_gateway_error_answer_raises():
    with pytest.raises(DeliveryError, match="500"):
        await gateway(lambda r: httpx.Response(500)).deliver(MOBILE, "x")


async def test_gateway_unreachable_raises():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(DeliveryError, match="ConnectError"):
        await gateway(handler).deliver(MOBILE, "x")


async def test_gateway_failure_is_recorded_not_raised(db, clock, settings):
    notifier = Notifier(gateway(lambda r: httpx.Response(500)), clock, settings)
    note = await notifier.send_notification(MOBILE, "x")
    row = await stored(note)
    assert row.status == "pending"
    assert "500" in row.last_error


def test_make_sender_picks_by_gateway_url():
    assert isinstance(make_sender(Settings(sms_gateway_url="")), LogSender)
    sender = make_sender(Settings(sms_gateway_url=GATEWAY, sms_gateway_key="key-1"))
    assert isinstance(sender, SmsGatewaySender)
    assert (sender.url, sender.key) == (GATEWAY, "key-1")


async def test_log_sender_masks_the_mobile(caplog):
    caplog.set_level(logging.INFO, logger="infra.notify")
    await LogSender().deliver(MOBILE, "验证码 654321")
    assert "138****0001" in caplog.text
    assert "654321" in caplog.text
    assert MOBILE not in caplog.text


@pytest.mark.parametrize(
    ("mobile", "masked"),
    [
        ("13800000001", "138****0001"),
        ("19912345678", "199****5678"),
        ("1380000000", "13***"),  # too short
        ("+8613800000001", "+8***"),
        ("010-12345678", "01***"),
        ("", ""),
    ],
)
def test_mask_mobile(mobile, masked):
    assert mask_mobile(mobile) == masked


async def test_a_sealed_recipient_is_looked_up_only_when_sent(deps, sender):
    """A letter writer's mobile stays sealed: the row names "<kind>:<ref>", the notifier asks the
    kind's lookup for the number when it delivers; without one it retries, never sends."""
    lost = await deps.notifier.send_notification("writer:7", "您的留言已有答复")
    assert sender.sent == [] and (await stored(lost)).status == "pending"

    asked = []

    async def lookup(ref: str) -> str:
        asked.append(ref)
        return MOBILE if ref == "7" else ""

    deps.notifier.add_recipient_kind("writer", lookup)
    note = await deps.notifier.send_notification("writer:7", "您的留言已有答复")
    assert sender.sent == [(MOBILE, "您的留言已有答复")] and asked == ["7"]
    row = await stored(note)
    assert row.status == "sent" and row.recipient == "writer:7"
    gone = await deps.notifier.send_notification("writer:8", "您的留言已有答复")
    assert (await stored(gone)).last_error == "writer 8 has no mobile"


async def _queue(n: int, clock) -> list[int]:
    """n notifications queued (as the letter reminders queue them), due now; their ids."""
    now = clock.now()
    await Notification.bulk_create(
        [
            Notification(
                recipient=f"1380000{i:04d}",
                body=f"提醒 {i}",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for i in range(n)
        ]
    )
    return list(await Notification.all().order_by("id").values_list("id", flat=True))


async def test_many_due_go_out_in_batches_each_once(deps, sender, clock, settings):
    from infra.notify import CLAIM_BATCH

    n = 2 * CLAIM_BATCH + 30
    await _queue(n, clock)
    sender.fail_next = 0

    class FailsSome:
        """The gateway refuses every 70th message, mid-batch."""

        def __init__(self):
            self.calls = 0

        async def deliver(self, recipient: str, body: str) -> None:
            self.calls += 1
            if self.calls % 70 == 0:
                raise DeliveryError("gateway busy")
            await sender.deliver(recipient, body)

    notifier = Notifier(FailsSome(), clock, settings)
    assert await notifier.retry_notifications() == n - n // 70
    assert await notifier.retry_notifications() == 0  # the failed ones are not due yet
    rows = await Notification.all().order_by("id")
    failed = [r for r in rows if r.status == "pending"]
    assert len(failed) == n // 70
    assert all(r.last_error == "gateway busy" and r.attempts == 1 for r in failed)
    assert all(r.status == "sent" and r.sent_at == clock.now() for r in rows if r not in failed)

    clock.advance(seconds=settings.notify_retry_seconds)
    assert await deps.notifier.retry_notifications() == n // 70
    assert sorted(body for _, body in sender.sent) == sorted(f"提醒 {i}" for i in range(n))
    assert await Notification.filter(status="sent").count() == n


async def test_two_workers_over_many_deliver_each_once(deps, sender, clock, settings):
    n = 250
    await _queue(n, clock)
    other = Notifier(sender, clock, settings)
    results = await asyncio.gather(deps.notifier.retry_notifications(), other.retry_notifications())
    assert sum(results) == n
    assert len(sender.sent) == n == len(set(sender.sent))


async def test_a_run_stopped_mid_batch_keeps_what_went_and_sends_the_rest_once(
    deps, sender, clock, settings
):
    """A worker stopped in the middle of a batch (shutdown): what it had handed to the gateway is
    recorded as sent, the rest goes out on a later retry, nothing twice."""
    from infra.notify import CLAIM_BATCH

    n = CLAIM_BATCH + 50

    class StopsAt:
        def __init__(self, at: int):
            self.calls, self.at = 0, at

        async def deliver(self, recipient: str, body: str) -> None:
            self.calls += 1
            if self.calls == self.at:
                raise asyncio.CancelledError
            await sender.deliver(recipient, body)

    await _queue(n, clock)
    with pytest.raises(asyncio.CancelledError):
        await Notifier(StopsAt(40), clock, settings).retry_notifications()
    assert len(sender.sent) == 39
    assert await Notification.filter(status="sent").count() == 39
    # The batch after it; the stopped batch's rest is held until a retry would be due.
    assert await deps.notifier.retry_notifications() == n - CLAIM_BATCH
    clock.advance(seconds=settings.notify_retry_seconds)
    assert await deps.notifier.retry_notifications() == CLAIM_BATCH - 39
    assert sorted(body for _, body in sender.sent) == sorted(f"提醒 {i}" for i in range(n))


async def test_the_gateway_sender_keeps_one_connection_for_many_messages():
    """A backlog of reminders goes over one kept-alive connection (one TLS handshake with a
    real gateway), not a new client per message."""
    import json as _json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    peers, bodies = set(), []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            peers.add(self.client_address)
            bodies.append(_json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sender = SmsGatewaySender(f"http://127.0.0.1:{server.server_address[1]}/sms", "key-1")
        for i in range(20):
            await sender.deliver("13800000001", f"提醒{i}")
    finally:
        server.shutdown()
        server.server_close()
    assert [b["content"] for b in bodies] == [f"提醒{i}" for i in range(20)]
    assert len(peers) == 1
