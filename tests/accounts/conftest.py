"""Fixtures of the accounts tests: the demo city, its staff as actors, and a few accounts."""

from __future__ import annotations

import pytest

from accounts.models import Account
from org.access import Actor
from org.auth import actor_for
from org.demo import seed_demo
from org.models import Staff, Unit
from org.service import create_staff

OTHER_PASSWORD = "Other2026ms"


async def make_account(unit: Unit, platform: str, name: str, clock) -> Account:
    now = clock.now()
    return await Account.create(
        code=f"{unit.code}-{platform}".lower(),
        unit=unit,
        platform=platform,
        name=name,
        status="active",
        live_slot=f"{unit.id}:{platform}",
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
async def demo_units(deps) -> dict[str, Unit]:
    await seed_demo(deps)
    # An editor and a reviewer of another unit, to show what stays out of their reach.
    gjj = await Unit.get(code="QY-GJJ")
    for username, roles, mobile in (
        ("gjjeditor", ["editor"], "13700000021"),
        ("gjjreviewer", ["reviewer"], "13700000022"),
    ):
        await create_staff(
            deps,
            Actor.system(),
            {
                "username": username,
                "real_name": f"公积金{username}",
                "mobile": mobile,
                "unit_id": gjj.id,
                "roles": roles,
                "password": OTHER_PASSWORD,
            },
        )
    return {u.code: u for u in await Unit.all()}


@pytest.fixture
async def actors(demo_units) -> dict[str, Actor]:
    """Demo staff by username, as services see them."""
    return {s.username: await actor_for(s) for s in await Staff.all().select_related("unit")}


@pytest.fixture
async def demo_accounts(demo_units, clock) -> dict[str, Account]:
    return {
        "rsj": await make_account(demo_units["QY-RSJ"], "wechat", "清源人社", clock),
        "gjj": await make_account(demo_units["QY-GJJ"], "weibo", "清源公积金", clock),
    }
