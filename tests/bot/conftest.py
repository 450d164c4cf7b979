"""The bot's tests talk to the engine through an in-memory adapter (DESIGN.md):
``replies = await chat.say("怎么办居住证")``. The demo city, its accounts and its knowledge base
are real rows in the test database; the engine's Redis is the parametrised one."""

from __future__ import annotations

import itertools

import pytest

from accounts.demo import seed_demo_accounts
from bot.engine import Engine
from bot.types import IncomingMessage, Reply
from infra.deps import build_deps
from knowledge.attention import flush_asks
from knowledge.demo import seed_knowledge_demo
from org.demo import seed_demo

_ids = itertools.count(1)


class Chat:
    def __init__(
        self, engine: Engine, user: str = "citizen-1", channel: str = "web", account: str = ""
    ):
        self.engine = engine
        self.user = user
        self.channel = channel
        self.account = account
        self.replies: list[Reply] = []
        self.last_id = ""

    async def send(self, **what) -> str:
        self.last_id = what.pop("message_id", None) or f"m{next(_ids)}"
        msg = IncomingMessage(
            channel=self.channel,
            account=self.account,
            user=self.user,
            message_id=self.last_id,
            **what,
        )
        self.replies = await self.engine.handle(msg)
        return "\n".join(r.as_text() for r in self.replies)

    async def say(self, text: str, **kw) -> str:
        return await self.send(text=text, **kw)

    async def press(self, action: str) -> str:
        return await self.send(action=action)

    async def flush_log(self) -> int:
        """Write the queued question log, as the worker's `flush_asks` job does."""
        return await flush_asks(self.engine.deps)


@pytest.fixture
async def world(settings, clock, sender, any_redis, db):
    deps = build_deps(settings, clock=clock, redis=any_redis, sender=sender)
    await seed_demo(deps)
    await seed_demo_accounts(deps)
    await seed_knowledge_demo(clock, any_redis)
    return deps


@pytest.fixture
def chat(world):
    return Chat(Engine(world))
