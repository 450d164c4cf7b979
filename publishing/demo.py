"""Demo publishing of our own for the demo city: two whitelisted sources, 人社局 subscribed to
one, an urgent repost task running its 12 hours, and drafts at each step (waiting for review,
returned, scheduled), written and reviewed through the same functions staff use, so that their
timelines and audit records are real."""

from __future__ import annotations

import datetime as dt

from accounts.models import Account
from infra.deps import Deps
from org.access import Actor
from org.auth import actor_for
from org.models import Staff
from publishing import drafts, sources
from publishing.models import RepostTask, Source

SOURCES = [
    ("中国政府网", "https://www.gov.cn/", "central", True),
    ("新华网", "https://www.news.cn/", "central", False),
]
TASK_TITLE = "国务院办公厅关于进一步优化政务服务提升行政效能的意见（演示）"
DRAFTS = [
    # title, body, what happens to it
    (
        "2027年度城乡居民医保开始缴费",
        "2027年度城乡居民基本医疗保险集中缴费期为即日起至2026年12月31日。\n\n"
        "参保人可通过“清源人社”公众号、各银行网点或社区服务中心缴费。",
        "submitted",
    ),
    (
        "社保卡补换领指南",
        "社保卡遗失后，可在“清源人社”公众号“社保卡服务”中挂失并申请补领，"
        "也可携带身份证到任一合作银行网点办理。",
        "returned",
    ),
    (
        "元旦期间政务服务窗口安排",
        "元旦假期（1月1日）市民服务中心暂停对外服务，1月2日起恢复正常办公。"
        "假期间可通过“清源人社”公众号办理线上业务。",
        "scheduled",
    ),
]


async def _actor(username: str) -> Actor:
    return await actor_for(await Staff.get(username=username).select_related("unit"))


async def seed_demo_publishing(deps: Deps) -> int:
    """Idempotent: does nothing when the demo sources exist. Returns drafts created."""
    if await Source.filter(name=SOURCES[0][0]).exists():
        return 0
    now = deps.clock.now()
    admin, editor, reviewer = (
        await _actor("admin"),
        await _actor("editor"),
        await _actor("reviewer"),
    )
    made = []
    for name, home, level, urgent in SOURCES:
        made.append(
            await sources.add_source(
                deps, admin, {"name": name, "home_url": home, "level": level, "urgent": urgent}
            )
        )
    await sources.subscribe(deps, editor, made[0].id)
    await RepostTask.create(
        source=made[0],
        unit_id=editor.unit_id,
        item_id="demo-1",
        title=TASK_TITLE,
        link="https://www.gov.cn/zhengce/content/demo.htm",
        published_at=now - dt.timedelta(hours=2),
        urgent=True,
        due_at=now + dt.timedelta(hours=10),
        created_at=now,
    )
    account = await Account.get(code="demo")
    count = 0
    for title, body, step in DRAFTS:
        d = await drafts.create_draft(
            deps, editor, {"account_ids": [account.id], "title": title, "body": body}
        )
        await drafts.submit_draft(deps, editor, d.id)
        if step == "returned":
            await drafts.review_draft(
                deps, reviewer, d.id, {"approve": False, "reason": "请补充补领所需材料和办理时限"}
            )
        elif step == "scheduled":
            await drafts.review_draft(deps, reviewer, d.id, {"approve": True})
            when = now + dt.timedelta(days=3)
            await drafts.schedule_draft(deps, editor, d.id, {"scheduled_at": when.isoformat()})
        count += 1
    return count
