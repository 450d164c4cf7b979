"""The Redis client: the real server when ``MINSHENG_REDIS_URL`` is set, otherwise fakeredis.

Both speak ``redis.asyncio``'s API, so the rest of the code has one path.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, NoScriptError, TimeoutError

from infra.settings import Settings

# A pooled connection idle longer than this is PINGed before use: after a Redis restart the
# idle ones are found dead and replaced before a command is lost on them.
HEALTH_CHECK_SECONDS = 10


class BoundedRetry(Retry):
    """redis-py's Retry (exponential backoff on ConnectionError and TimeoutError) that also
    stops once ``budget`` seconds have passed since the call began. redis-py nests the retry of
    connecting inside the retry of the command, so a Redis that accepts connections and never
    answers would otherwise cost (retries + 1)² timeouts; a dead or restarted one fails fast
    and is retried as usual."""

    def __init__(self, backoff, retries: int, budget: float):
        super().__init__(backoff, retries, supported_errors=(ConnectionError, TimeoutError))
        self.budget = budget

    async def call_with_retry(self, do, fail, is_retryable=None, with_failure_count=False):
        started = time.monotonic()
        self._backoff.reset()
        failures = 0
        while True:
            try:
                return await do()
            except self._supported_errors as error:
                if is_retryable and not is_retryable(error):
                    raise
                failures += 1
                if with_failure_count:
                    await fail(error, failures)
                else:
                    await fail(error)
                if failures > self._retries or time.monotonic() - started >= self.budget:
                    raise error
                await asyncio.sleep(self._backoff.compute(failures))


def redis_retry(settings: Settings) -> Retry:
    """Retry a command on a fresh connection when its connection fails: after a Redis restart
    every pooled connection is dead, and without this each of them fails one request."""
    return BoundedRetry(
        ExponentialBackoff(cap=0.25, base=0.025),
        settings.redis_retries,
        budget=2 * settings.redis_timeout_seconds,
    )


class PackedConnection(Connection):
    """redis-py's TCP connection, packing the usual command (str, bytes, int and float
    arguments, a few kilobytes in all) in one pass: its own packing checks and copies each
    argument in turn, about half of the CPU a Redis script call costs the bot's hot path. The
    bytes sent are the same; anything else is packed by redis-py."""

    def pack_command(self, *args: Any) -> list[bytes]:
        packed = _pack(args, self.encoder.encoding, self.encoder.encoding_errors)
        return packed if packed is not None else super().pack_command(*args)


_PACK_LIMIT = 6000  # redis-py sends larger commands in chunks (its buffer cutoff)


def _pack(args: tuple, encoding: str, errors: str) -> list[bytes] | None:
    """The command as redis-py packs it, or None for redis-py to pack."""
    if not args:
        return None
    head = args[0]
    if type(head) is str:
        # redis-py splits a command name at whitespace ("SCRIPT LOAD"); a plain one stays whole
        name = head.encode()
        if name.split() != [name]:
            return None
    elif type(head) is not bytes or b" " in head:
        return None
    parts = [b"*%d\r\n" % len(args)]
    size = 0
    for arg in args:
        kind = type(arg)
        if kind is str:
            data = arg.encode(encoding, errors)
        elif kind is bytes:
            data = arg
        elif kind is int or kind is float:
            data = repr(arg).encode()
        else:
            return None  # memoryview, bool (refused), other types: redis-py's
        size += len(data)
        if size > _PACK_LIMIT:
            return None
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return [b"".join(parts)]


def make_redis(settings: Settings) -> aioredis.Redis:
    if settings.redis_url:
        return aioredis.from_url(
            settings.redis_url,
            # A rediss:// or unix:// URL brings its own connection class instead.
            connection_class=PackedConnection,
            decode_responses=True,
            retry=redis_retry(settings),
            health_check_interval=HEALTH_CHECK_SECONDS,
            # No command blocks on the server: a silent Redis is a lost one, and a request
            # should get its 503 (or WeChat its answer) while there is time.
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
        )
    import fakeredis

    return fakeredis.FakeAsyncRedis(decode_responses=True)


async def ping_redis(client: aioredis.Redis, timeout: float = 2.0) -> bool:
    try:
        return bool(await asyncio.wait_for(client.ping(), timeout))
    except Exception:  # noqa: BLE001 - health check reports, never raises
        return False


class ScriptBatch:
    """Group commit for Redis scripts: the calls made during one turn of the event loop go to
    Redis together, as one pipeline (one connection, one round trip). Each caller still awaits
    its own result, or its own error. Used on the bot's hot path, where every message makes two
    script calls and many messages arrive together."""

    def __init__(self, client: aioredis.Redis):
        self.client = client
        self._queue: list[tuple[Any, list, list, asyncio.Future]] = []
        self._running: set[asyncio.Task] = set()

    async def call(self, script: Any, keys: list, args: list) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((script, keys, args, future))
        if len(self._queue) == 1:
            # Runs after the callbacks already due in this turn: their calls join the batch.
            loop.call_soon(self._send)
        return await future

    def _send(self) -> None:
        batch, self._queue = self._queue, []
        task = asyncio.ensure_future(self._run(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[Any, list, list, asyncio.Future]]) -> None:
        try:
            results = await self._pipeline(batch)
            missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
            if missing:
                # Redis lost its scripts (restarted, or SCRIPT FLUSH): load them and send those
                # calls again. A NOSCRIPT call ran nothing, so sending it again does it once.
                for script in {id(batch[i][0]): batch[i][0] for i in missing}.values():
                    script.sha = await self.client.script_load(script.script)
                again = await self._pipeline([batch[i] for i in missing])
                for i, result in zip(missing, again, strict=True):
                    results[i] = result
        except BaseException as err:
            for *_, future in batch:
                if not future.done():
                    future.set_exception(err if isinstance(err, Exception) else ConnectionError())
            if not isinstance(err, Exception):
                raise
            return
        for (*_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue  # its caller gave up (cancelled)
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _pipeline(self, batch: list[tuple[Any, list, list, asyncio.Future]]) -> list:
        # EVALSHA as plain pipelined commands: through the script objects, redis-py would first
        # ask SCRIPT EXISTS for them, a second round trip for every batch.
        async with self.client.pipeline(transaction=False) as pipe:
            for script, keys, args, _ in batch:
                pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return await pipe.execute(raise_on_error=False)
