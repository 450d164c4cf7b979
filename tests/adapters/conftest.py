"""The platform adapters on the real Quart test client, with the platforms' servers faked at the
HTTP level (tests/adapters/fakes.py) and the demo city's accounts and knowledge base."""

from __future__ import annotations

import pytest

from accounts.demo import seed_demo_accounts
from accounts.models import Account
from accounts.service import set_credentials
from infra.deps import build_deps
from knowledge.demo import seed_knowledge_demo
from knowledge.live import knowledge_index
from org.access import Actor
from org.demo import seed_demo
from org.models import Unit
from quart_app import create_app
from tests.adapters.fakes import FakeTelegram, FakeWechat

TG_TOKEN = "123456:TEST-token"
TG_SECRET = "tg-secret-1"


@pytest.fixture
async def fake_wechat():
    fake = await FakeWechat().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fake_telegram():
    fake = await FakeTelegram().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def bot_deps(settings, clock, sender, any_redis, db, fake_wechat, fake_telegram):
    s = settings.model_copy(
        update={
            "wechat_api_base": fake_wechat.base,
            "telegram_api_base": fake_telegram.base,
            "passive_reply_seconds": 1.0,
            "account_cache_seconds": 0.0,  # tests change credentials between messages
        }
    )
    deps = build_deps(s, clock=clock, redis=any_redis, sender=sender)
    await seed_demo(deps)
    await seed_demo_accounts(deps)
    await seed_knowledge_demo(clock, any_redis)
    await knowledge_index(deps).ensure_fresh()  # as the app does when it starts serving
    yield deps
    for bot in deps.extensions.get("telegram_bots", {}).values():
        await bot.session.close()


@pytest.fixture
def bot_app(bot_deps):
    return create_app(bot_deps.settings, bot_deps, manage_db=False)


@pytest.fixture
async def telegram_account(bot_deps, clock):
    unit = await Unit.get(code="QY-XXB")
    now = clock.now()
    account = await Account.create(
        code="qytg",
        unit=unit,
        platform="telegram",
        name="清源发布",
        status="active",
        live_slot=f"{unit.id}:telegram",
        created_at=now,
        updated_at=now,
    )
    await set_credentials(
        bot_deps, Actor.system(), account.id, {"bot_token": TG_TOKEN, "webhook_secret": TG_SECRET}
    )
    return account
