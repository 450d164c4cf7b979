"""Fixtures of the knowledge tests: the demo city with a few more staff, its staff as actors, and
helpers that take an entry through its life cycle."""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest

from knowledge import entries, workflow
from knowledge.models import Entry
from org.access import Actor
from org.auth import actor_for
from org.demo import seed_demo
from org.models import Staff, Unit
from org.service import create_staff

OTHER_PASSWORD = "Other2026ms"
# username, unit code, roles
EXTRA_STAFF = [
    ("editor2", "QY-RSJ", ["editor"]),
    ("editrev", "QY-RSJ", ["editor", "reviewer"]),
    ("gjjeditor", "QY-GJJ", ["editor"]),
    ("gjjreviewer", "QY-GJJ", ["reviewer"]),
    ("qyleader", "QY", ["leader"]),
]
RESIDENCE = {
    "question": "怎么办理居住证",
    "similar": ["居住证怎么办", "外地人如何申领居住证"],
    "answer": "携带身份证和居住证明到居住地派出所申领。",
}


@pytest.fixture
async def kb_units(deps) -> dict[str, Unit]:
    await seed_demo(deps)
    for i, (username, unit_code, roles) in enumerate(EXTRA_STAFF):
        unit = await Unit.get(code=unit_code)
        await create_staff(
            deps,
            Actor.system(),
            {
                "username": username,
                "real_name": f"测试{username}",
                "mobile": f"137000001{i:02d}",
                "unit_id": unit.id,
                "roles": roles,
                "password": OTHER_PASSWORD,
            },
        )
    return {u.code: u for u in await Unit.all()}


@pytest.fixture
async def actors(kb_units) -> dict[str, Actor]:
    return {s.username: await actor_for(s) for s in await Staff.all().select_related("unit")}


@pytest.fixture
def redis():
    return fakeredis.FakeAsyncRedis(decode_responses=True)


@pytest.fixture
def kb(actors, clock, redis):
    """Shortcuts over the service with the test's clock and Redis."""
    return Curation(actors, clock, redis)


class Curation:
    def __init__(self, actors: dict[str, Actor], clock, redis) -> None:
        self.actors, self.clock, self.redis = actors, clock, redis

    def _kw(self) -> dict[str, Any]:
        return {"clock": self.clock, "redis": self.redis}

    async def create(self, who: str = "editor", **data: Any) -> Entry:
        # Tests here make several entries of one question; the warning has its own test.
        data = {**RESIDENCE, "allow_duplicate": True, **data}
        return await entries.create_entry(self.actors[who], data, **self._kw())

    async def edit(self, entry: Entry, who: str = "editor", **data: Any) -> Entry:
        return await entries.edit_entry(self.actors[who], entry.id, data, **self._kw())

    async def submit(self, entry: Entry, who: str = "editor") -> Entry:
        return await workflow.submit_entry(self.actors[who], entry.id, **self._kw())

    async def review(self, entry: Entry, who: str = "reviewer", approve=True, note="") -> Entry:
        return await workflow.review_entry(
            self.actors[who], entry.id, approve=approve, note=note, **self._kw()
        )

    async def retire(self, entry: Entry, who: str = "reviewer", reason="政策已废止") -> Entry:
        return await workflow.retire_entry(self.actors[who], entry.id, reason=reason, **self._kw())

    async def published(self, editor: str = "editor", reviewer: str = "reviewer", **data) -> Entry:
        entry = await self.create(editor, **data)
        await self.submit(entry, editor)
        return await self.review(entry, reviewer)
