"""One limit on look-ups of letters by tracking code, whichever way they come (the public status
page, the web chat, WeChat, Telegram), so that codes cannot be enumerated by switching paths.

Each look-up counts against the client's address (shared by the status page and the web chat),
against the platform account it came through (a WeChat account's callbacks all come from
WeChat's servers, and FromUserName is whatever the caller writes) and against the platform user.
"""

from __future__ import annotations

from infra.deps import Deps
from infra.errors import DomainError
from infra.ratelimit import hit

RATE_LIMITED = "查询过于频繁，请稍后再试"


async def allow_status_lookup(
    deps: Deps, *, client: str = "", channel: str = "", account: str = "", user: str = ""
) -> bool:
    s = deps.settings
    window = s.public_status_rate_window_seconds
    keys = []
    if client:
        keys.append((f"letters:status:{client}", s.public_status_rate_limit))
    if channel and channel != "web":
        keys.append(
            (f"letters:status:account:{channel}:{account}", s.public_status_account_rate_limit)
        )
    if user:
        keys.append((f"letters:status:user:{channel}:{account}:{user}", s.public_status_rate_limit))
    allowed = True
    for key, limit in keys:
        # Every key counts the look-up, so a client cannot spread its tries across them.
        allowed = await hit(deps.redis, key, limit=limit, window_seconds=window) and allowed
    return allowed


async def check_status_lookup(deps: Deps, client: str) -> None:
    if not await allow_status_lookup(deps, client=client):
        raise DomainError("rate_limited", RATE_LIMITED, status=429)
