"""What every blueprint needs from a request: the deps, the acting staff member, the JSON body.

quart_app resolves the actor (session cookie or API token) before each request and puts it in
``g.actor``; blueprints read it here.
"""

from __future__ import annotations

import json
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


# No endpoint takes documents nested deeper than this; deeper ones are junk or an attack on
# code that walks them recursively.
JSON_MAX_DEPTH = 32


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity are Python's, not JSON's


async def json_body() -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 with a message people can read.

    Parsed by hand rather than ``request.get_json``: Quart decodes the body outside its own error
    handling, so a body that is not UTF-8 (or nested past the interpreter's recursion limit)
    would be a 500.
    """
    raw = await request.get_data(cache=True)
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise DomainError("bad_json", "请求体须为UTF-8编码的JSON对象") from exc
    except (ValueError, RecursionError) as exc:
        raise DomainError("bad_json", "请求体不是有效的JSON，请检查格式") from exc
    if not isinstance(data, dict):
        raise DomainError("bad_json", "请求体须为JSON对象")
    if _depth_exceeds(data, JSON_MAX_DEPTH):
        raise DomainError("bad_json", f"请求体嵌套过深（最多 {JSON_MAX_DEPTH} 层）")
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


async def record_request_failure(outcome: str, summary: str, code: str = "") -> None:
    """Audit a state-changing request that failed (the service's own record was rolled back).

    Anonymous refusals go to the aggregated security log instead: anyone can cause them. An
    internal error is no refusal: it stays audited with its incident id (a bug to find)."""
    import logging

    from org.audit import record_audit

    if request.method not in STATE_CHANGING or request.url_rule is None:
        return
    if actor().staff_id is None and outcome != "error":
        code = code or summary.split(":")[0]
        await note_anonymous_refusal(f"{request.endpoint}:{code.replace(' ', '_').lower()}")
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
        await record_request_failure(outcome, f"{err.code}: {err.message}", err.code)
        err.audited = True  # type: ignore[attr-defined]


async def note_anonymous_refusal(kind: str) -> None:
    """Count a refusal of an anonymous request in the security log (org/security_log.py)."""
    from org.security_log import note_refusal

    d = deps()
    await note_refusal(
        d.redis,
        d.clock,
        source=client_ip(),
        kind=kind,
        window_seconds=d.settings.refusal_window_seconds,
    )


async def refuse_refusing_sources() -> None:
    """Before any work: an anonymous source past its refusal limit is answered 429 at once.

    Only requests that carry no credentials: a staff member behind the same address as a
    flood still logs in and works (their session is looked up, and refused only if invalid)."""
    from org.security_log import is_blocked

    if request.method not in STATE_CHANGING:
        return
    if request.headers.get("Authorization") or request.cookies.get("ms_session"):
        return
    d = deps()
    if await is_blocked(d.redis, client_ip(), d.settings.refusal_limit):
        raise DomainError("too_many_refusals", "无效请求过多，请稍后再试", status=429)
