"""Telling a dependency's outage (Redis, the database, the network to them) from a bug.

An outage is answered with 503 and ``Retry-After`` (the request may succeed later as it is), and
logged once per outage rather than once per request or tick: an outage under load would
otherwise bury every other line of the log.
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from collections.abc import Callable

import redis.exceptions as redis_errors

# How long a client should wait before retrying: a restarted Redis or PostgreSQL is usually back
# within seconds, and the pools reconnect on their own.
RETRY_AFTER_SECONDS = 5

_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EPIPE,
}


def _database_errors() -> tuple[type[BaseException], ...]:
    import asyncpg.exceptions as pg
    from tortoise.exceptions import DBConnectionError

    return (
        DBConnectionError,
        pg.PostgresConnectionError,  # class 08: the connection failed or was lost
        pg.OperatorInterventionError,  # shutdown, starting up, or a statement cancelled
        pg.TooManyConnectionsError,
        # A pooled connection the server dropped mid-operation (a restart): asyncpg finds its
        # protocol still busy when the pool resets it for the next user, and discards it.
        pg.InternalClientError,
    )


def _kind(err: BaseException) -> str | None:
    if isinstance(err, redis_errors.ConnectionError | redis_errors.TimeoutError):
        return "redis"
    if isinstance(err, _database_errors()):
        return "database"
    if type(err).__name__ == "InterfaceError" and "connection is closed" in str(err):
        return "database"  # asyncpg, on a connection the server has dropped
    # asyncpg connects and times out with the standard library's errors; redis-py wraps its own.
    if isinstance(err, ConnectionError | TimeoutError | socket.gaierror):
        return "network"
    if isinstance(err, OSError) and (
        err.errno in _NETWORK_ERRNOS or str(err).startswith("Multiple exceptions")
    ):
        return "network"
    return None


def outage_of(err: BaseException) -> str | None:
    """The dependency that ``err`` (or what caused it) says is unreachable: "redis", "database"
    or "network"; None for anything else."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        kind = _kind(current)
        if kind is not None:
            return kind
        current = current.__cause__ or current.__context__
    return None


OUTAGE_MESSAGE = "系统暂时无法处理您的请求（后台服务正在恢复），请稍后再试"

NAMES = {"redis": "Redis", "database": "数据库", "network": "后台服务"}


class OutageLog:
    """Logs the first failure of an outage, then nothing while failures keep coming: an outage
    is taken to be over after ``quiet_seconds`` without one (a web process cannot see the
    recovery itself), and the next failure logs again."""

    def __init__(
        self,
        logger: logging.Logger,
        quiet_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.logger = logger
        self.quiet_seconds = quiet_seconds
        self.monotonic = monotonic
        self._last: dict[str, float] = {}

    def failed(self, kind: str, err: BaseException, where: str = "") -> bool:
        """Note one failure; True when it was logged."""
        now = self.monotonic()
        last = self._last.get(kind)
        self._last[kind] = now
        if last is not None and now - last <= self.quiet_seconds:
            return False
        self.logger.warning(
            "%s不可用（%s%s），答复 503；恢复前不再逐条记录",
            NAMES.get(kind, kind),
            type(err).__name__,
            f"，{where}" if where else "",
        )
        return True
