"""What every blueprint needs from a request: the deps, the acting staff member, the JSON body.

quart_app resolves the actor (session cookie or API token) before each request and puts it in
``g.actor``; blueprints read it here.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from quart import current_app, g, request

from infra.deps import Deps
from infra.errors import DomainError, Unauthenticated
from org.access import Actor


def deps() -> Deps:
    return current_app.extensions["minsheng"]


def actor() -> Actor:
    return g.get("actor") or Actor.anonymous()


def staff_actor() -> Actor:
    a = actor()
    if a.staff_id is None:
        raise Unauthenticated()
    return a


def client_ip() -> str:
    # Behind the proxy, hypercorn's --forwarded-allow-ips puts the client address here.
    return (request.remote_addr or "")[:64]


async def json_body() -> dict[str, Any]:
    data = await request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise DomainError("bad_json", "请求体须为JSON对象")
    return data


def staff_required(view):
    @wraps(view)
    async def wrapper(*args, **kwargs):
        staff_actor()
        return await view(*args, **kwargs)

    return wrapper


def page_args() -> tuple[int, int]:
    try:
        limit = max(1, min(int(request.args.get("limit", 50)), 500))
        offset = max(0, int(request.args.get("offset", 0)))
    except ValueError as exc:
        raise DomainError("bad_field", "分页参数须为整数") from exc
    return limit, offset


STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


async def record_request_failure(outcome: str, summary: str) -> None:
    """Audit a state-changing request that failed (the service's own record was rolled back)."""
    import logging

    from org.audit import record_audit

    if request.method not in STATE_CHANGING or request.url_rule is None:
        return
    try:
        await record_audit(
            actor(),
            f"http.{request.endpoint}",
            clock=deps().clock,
            object_type="request",
            object_id=request.path[:64],
            summary=summary,
            outcome=outcome,
        )
    except Exception:
        logging.getLogger(__name__).exception("could not audit a failed request")


async def record_domain_failure(err: DomainError) -> None:
    if not getattr(err, "audited", False):
        outcome = "denied" if err.status in (401, 403) else "rejected"
        await record_request_failure(outcome, f"{err.code}: {err.message}")
        err.audited = True  # type: ignore[attr-defined]
