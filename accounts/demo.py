"""Demo accounts and posts of our own for the demo city: each activity state shows, one post is
flagged as an ad, and one opening request waits for its leader."""

from __future__ import annotations

import datetime as dt

from accounts.models import Account, Post
from accounts.posts import add_post
from accounts.service import file_opening, set_credentials
from infra.clock import beijing_date
from infra.deps import Deps
from org.access import Actor
from org.auth import actor_for
from org.models import Staff, Unit

# unit code, platform, code, name, days since last post, posts every n days
DEMO_ACCOUNTS = [
    ("QY-RSJ", "wechat", "demo", "清源人社", 1, 2),
    ("QY-GJJ", "weibo", "qygjj", "清源公积金", 9, 3),
    ("QY-HX-JYJ", "douyin", "hxjy", "河西教育", 20, 4),
    ("QY-HX-DQ", "wechat", "dqzhen", "东桥镇发布", 120, 7),
]
TITLES = [
    "社保卡申领指南",
    "公积金提取政策解读",
    "本周政务服务事项更新",
    "办事窗口节假日安排",
    "惠民政策问答",
    "便民服务热线公告",
]


async def seed_demo_accounts(deps: Deps) -> int:
    """Idempotent: does nothing when the demo accounts exist. Returns accounts created."""
    if await Account.filter(code="demo").exists():
        return 0
    system = Actor.system("演示数据")
    now = deps.clock.now()
    for unit_code, platform, code, name, idle, every in DEMO_ACCOUNTS:
        unit = await Unit.get(code=unit_code)
        account = await Account.create(
            code=code,
            unit=unit,
            platform=platform,
            name=name,
            certified_subject=unit.name,
            status="active",
            live_slot=f"{unit.id}:{platform}",
            opened_on=beijing_date(now - dt.timedelta(days=400)),
            created_at=now,
            updated_at=now,
        )
        for i, day in enumerate(range(idle, idle + 84, every)):
            await Post.create(
                account=account,
                title=f"{TITLES[i % len(TITLES)]}（第{i + 1}期）",
                url=f"https://example.gov.cn/{code}/{i}",
                published_at=now - dt.timedelta(days=day, hours=2),
                created_at=now,
            )
    demo = await Account.get(code="demo")
    # Plaintext mode with a known token, so a WeChat sandbox account can point at `make run`.
    await set_credentials(
        deps,
        system,
        demo.id,
        {
            "app_id": "wx-demo-app-id",
            "app_secret": "demo-app-secret",
            "token": "minsheng-demo",
            "mode": "plain",
        },
    )
    editor = await actor_for(await Staff.get(username="editor").select_related("unit"))
    await add_post(
        deps,
        editor,
        demo.id,
        {
            "title": "限时抢购！扫码领取优惠券",
            "summary": "加微信购买，全网最低价",
            "url": "https://item.taobao.com/item.htm?id=1",
            "published_at": (now - dt.timedelta(hours=3)).isoformat(),
        },
    )
    await file_opening(
        deps,
        editor,
        {
            "platform": "douyin",
            "name": "清源人社",
            "reason": "拓展短视频政策解读渠道",
            "certified_subject": "清源市人力资源和社会保障局",
        },
    )
    return len(DEMO_ACCOUNTS)
