"""Fixtures of the letters tests: the demo city with a few more staff, actors, and a helper that
submits a letter the way the bot does."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from letters.intake import submit_letter
from letters.models import Letter
from letters.routing import accept_letter
from org.access import Actor
from org.auth import actor_for
from org.demo import DEMO_PASSWORD, seed_demo
from org.models import Staff, Unit
from org.service import create_staff

MESSAGES = Path(__file__).resolve().parents[3] / "shared" / "data" / "citizen-messages.jsonl"

# username, unit code, roles
EXTRA_STAFF = [
    ("xfhandler", "QY-XFJ", ["handler"]),
    ("gjjhandler", "QY-GJJ", ["handler"]),
    ("gjjleader", "QY-GJJ", ["leader"]),
    ("rsjhandler2", "QY-RSJ", ["handler"]),
    ("topleader", "QY", ["leader"]),
    ("jyjhandler", "QY-HX-JYJ", ["handler"]),  # a county bureau that handles complaints
]


@pytest.fixture
async def units(deps) -> dict[str, Unit]:
    await seed_demo(deps)
    for i, (username, code, roles) in enumerate(EXTRA_STAFF):
        unit = await Unit.get(code=code)
        await create_staff(
            deps,
            Actor.system(),
            {
                "username": username,
                "real_name": f"测试{username}",
                "mobile": f"1370000{i:04d}",
                "unit_id": unit.id,
                "roles": roles,
                "password": DEMO_PASSWORD,
            },
        )
    return {u.code: u for u in await Unit.all()}


@pytest.fixture
async def actors(units) -> dict[str, Actor]:
    return {s.username: await actor_for(s) for s in await Staff.all().select_related("unit")}


WRITER = {"name": "张三丰", "mobile": "13812345678", "platform_user_id": "oAbCdEf123456"}


@pytest.fixture
def submit(deps, units):
    """Submit a letter as the bot would (system actor); returns the Letter."""

    async def _submit(kind: str = "consultation", **data: Any) -> Letter:
        body = {
            "kind": kind,
            "channel": "wechat",
            "content": "请问灵活就业人员怎样在本市参加职工养老保险，需要带哪些材料？",
            "writer": dict(WRITER),
            **data,
        }
        if kind == "department" and "unit_id" not in body:
            body["unit_id"] = units["QY-RSJ"].id
        letter, _ = await submit_letter(deps, Actor.system("机器人"), body)
        return await Letter.get(id=letter.id).select_related("unit")

    return _submit


@pytest.fixture
def handling(deps, units, actors, submit):
    """A letter accepted and handed to 人社局 (or ``unit``), ready to be worked on."""

    async def _handling(kind: str = "consultation", unit: str = "QY-RSJ", **data: Any) -> Letter:
        letter = await submit(kind, **data)
        screener = actors["xfhandler"] if letter.unit.code == "QY-XFJ" else actors["handler"]
        await accept_letter(deps, screener, letter.id, {"unit_id": units[unit].id})
        return await Letter.get(id=letter.id).select_related("unit")

    return _handling


def load_messages(limit: int | None = None) -> list[dict[str, Any]]:
    """The real citizens' messages; fail in CI when missing, skip otherwise."""
    if not MESSAGES.exists():
        message = f"{MESSAGES} missing"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    rows = []
    with MESSAGES.open(encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if limit and len(rows) >= limit:
                break
    return rows
