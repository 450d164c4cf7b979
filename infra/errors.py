"""The one error type for expected failures, and its translation into HTTP answers."""

from __future__ import annotations

import logging
import uuid
from typing import Any

log = logging.getLogger(__name__)


class DomainError(Exception):
    """An expected failure: a stable ``code`` for programs, a Chinese ``message`` for people."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, **details: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        if status is not None:
            self.status = status

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": {"code": self.code, "message": self.message}}
        if self.details:
            body["error"]["details"] = self.details
        return body


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str = "对象", code: str = "not_found"):
        super().__init__(code, f"{what}不存在")


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = "您没有权限执行此操作", code: str = "forbidden"):
        super().__init__(code, message)


class Unauthenticated(DomainError):
    status = 401

    def __init__(self, message: str = "请先登录", code: str = "unauthenticated"):
        super().__init__(code, message)


class Conflict(DomainError):
    status = 409

    def __init__(self, code: str, message: str, **details: Any):
        super().__init__(code, message, **details)


# Ids past PostgreSQL's integer are never ours (two billion rows), in a URL or a body.
MAX_ID = 2**31 - 1


def as_id(value: object, what: str) -> int:
    """An id from a request; anything that is not one is "not found", like an unknown id."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise NotFound(what) from None
    if not 0 < number <= MAX_ID:
        raise NotFound(what)  # PostgreSQL would refuse it as out of range: a 500, not a 404
    return number


def new_incident_id() -> str:
    """A short id to quote to support, so a 500 can be found in the logs without personal data."""
    return uuid.uuid4().hex[:12]
