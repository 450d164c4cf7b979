"""What create_app builds once and hands to every service call: no module-level clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from infra.clock import Clock, WorkCalendar
from infra.notify import Notifier, Sender, make_sender
from infra.redis import make_redis
from infra.settings import Settings


@dataclass
class Deps:
    settings: Settings
    clock: Clock
    calendar: WorkCalendar
    redis: aioredis.Redis
    notifier: Notifier
    # Per-process state that domain packages keep beside the deps (the knowledge index, say).
    extensions: dict[str, Any] = field(default_factory=dict)


def build_deps(
    settings: Settings,
    *,
    clock: Clock | None = None,
    redis: aioredis.Redis | None = None,
    sender: Sender | None = None,
) -> Deps:
    clock = clock or Clock()
    return Deps(
        settings=settings,
        clock=clock,
        calendar=WorkCalendar(),
        redis=redis if redis is not None else make_redis(settings),
        notifier=Notifier(sender or make_sender(settings), clock, settings),
    )
