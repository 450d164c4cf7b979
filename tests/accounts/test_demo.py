"""The demo register that `make run` shows: every activity state, an ad flag, a pending filing."""

from __future__ import annotations

from accounts.demo import seed_demo_accounts
from accounts.models import Account, Filing, Post
from accounts.monitor import account_activity
from accounts.service import read_credentials
from org.demo import seed_demo


async def test_demo_register(deps):
    deps.settings.filing_final_unit_code = "QY-BGS"
    await seed_demo(deps)
    assert await seed_demo_accounts(deps) == 4
    assert await seed_demo_accounts(deps) == 0  # idempotent
    states = {a.code: a.state for a in await account_activity(deps)}
    assert states == {"demo": "ok", "qygjj": "warn", "hxjy": "fail", "dqzhen": "zombie"}
    flagged = await Post.filter(review_status="flagged")
    assert len(flagged) == 1 and flagged[0].findings
    assert await Filing.filter(status="pending", kind="open").count() == 1
    demo = await Account.get(code="demo")
    creds = await read_credentials(deps, demo)
    assert creds["token"] == "minsheng-demo" and creds["mode"] == "plain"
