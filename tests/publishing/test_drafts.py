"""Drafts reviewed before publishing (先审后发, issue 14): the life cycle, who may do what, ad
findings that block approval until a reviewer accepts them, the timeline and the audit."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from infra.errors import Conflict, DomainError, Forbidden, NotFound
from org.access import Actor
from org.auth import actor_for
from org.models import AuditRecord, Staff
from org.service import create_staff
from publishing import drafts
from publishing.models import Draft, DraftEvent
from tests.accounts.conftest import OTHER_PASSWORD, make_account
from tests.org.conftest import login_as

TEXT = {
    "title": "我市城乡居民医保开始缴费",
    "body": "2027年度城乡居民医保集中缴费期为即日起至12月31日，可通过“清源人社”公众号缴纳。",
}
AD = "限时抢购！扫码领取社保卡套，仅需9.9元"


@pytest.fixture
async def both(deps, demo_units) -> Actor:
    """One person of 人社局 holding editor and reviewer, which the roles allow."""
    await create_staff(
        deps,
        Actor.system(),
        {
            "username": "both",
            "real_name": "吴双",
            "mobile": "13700000031",
            "unit_id": demo_units["QY-RSJ"].id,
            "roles": ["editor", "reviewer"],
            "password": OTHER_PASSWORD,
        },
    )
    return await actor_for(await Staff.get(username="both").select_related("unit"))


def data(accounts, **kw) -> dict:
    return {"account_ids": [a.id for a in accounts], **TEXT, **kw}


async def test_written_submitted_approved_scheduled_with_a_timeline(
    deps, actors, demo_accounts, demo_units, clock
):
    second = await make_account(demo_units["QY-RSJ"], "weibo", "清源人社微博", clock)
    editor, reviewer = actors["editor"], actors["reviewer"]
    d = await drafts.create_draft(deps, editor, data([demo_accounts["rsj"], second]))
    assert (
        d.status == "draft"
        and d.version == 1
        and d.account_ids == sorted([demo_accounts["rsj"].id, second.id])
    )
    d = await drafts.edit_draft(deps, editor, d.id, data([second], title="城乡居民医保开始缴费"))
    assert d.version == 2 and d.account_ids == [second.id]
    with pytest.raises(Conflict):  # not submitted yet
        await drafts.review_draft(deps, reviewer, d.id, {"approve": True})
    d = await drafts.submit_draft(deps, editor, d.id)
    assert d.status == "submitted" and d.findings == []
    with pytest.raises(Conflict):  # the text is frozen while in review
        await drafts.edit_draft(deps, editor, d.id, data([second]))
    with pytest.raises(DomainError) as exc:
        await drafts.review_draft(deps, reviewer, d.id, {"approve": False})
    assert "退回理由" in exc.value.message
    d = await drafts.review_draft(deps, reviewer, d.id, {"approve": False, "reason": "标题加地名"})
    assert d.status == "returned" and d.return_reason == "标题加地名"
    d = await drafts.edit_draft(deps, editor, d.id, data([second], title="清源居民医保开始缴费"))
    d = await drafts.submit_draft(deps, editor, d.id)
    d = await drafts.review_draft(deps, reviewer, d.id, {"approve": True})
    assert d.status == "approved" and d.reviewed_by_id == reviewer.staff_id  # type: ignore[attr-defined]
    with pytest.raises(DomainError) as exc:
        await drafts.schedule_draft(deps, editor, d.id, {"scheduled_at": "2020-01-01 09:00"})
    assert "不能早于现在" in exc.value.message
    d = await drafts.schedule_draft(deps, editor, d.id, {"scheduled_at": "2026-12-01 09:30"})
    assert d.status == "scheduled"
    assert d.scheduled_at == dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC)  # Beijing time

    _, events = await drafts.get_draft(editor, d.id)
    assert [(e.action, e.version) for e in events] == [
        ("create", 1),
        ("edit", 2),
        ("submit", 2),
        ("return", 2),
        ("edit", 3),
        ("submit", 3),
        ("approve", 3),
        ("schedule", 3),
    ]
    first = next(e for e in events if e.action == "create")
    assert first.snapshot["title"] == TEXT["title"]  # each written version kept whole
    actions = await AuditRecord.filter(object_type="draft", object_id=str(d.id)).values_list(
        "action", flat=True
    )
    assert sorted(set(actions)) == [
        "draft.approve",
        "draft.create",
        "draft.edit",
        "draft.return",
        "draft.schedule",
        "draft.submit",
    ]


async def test_nobody_approves_a_draft_they_wrote_or_edited_even_holding_both_roles(
    deps, actors, both, demo_accounts
):
    d = await drafts.create_draft(deps, both, data([demo_accounts["rsj"]]))
    d = await drafts.submit_draft(deps, both, d.id)
    with pytest.raises(Forbidden) as exc:
        await drafts.review_draft(deps, both, d.id, {"approve": True})
    assert exc.value.code == "self_review"
    # An editor's edit of someone else's draft makes them a writer of it too.
    other = await drafts.create_draft(deps, actors["editor"], data([demo_accounts["rsj"]]))
    await drafts.edit_draft(deps, both, other.id, data([demo_accounts["rsj"]], title="改过的标题"))
    await drafts.submit_draft(deps, actors["editor"], other.id)
    with pytest.raises(Forbidden):
        await drafts.review_draft(deps, both, other.id, {"approve": True})
    d = await drafts.review_draft(deps, actors["reviewer"], d.id, {"approve": True})
    assert d.status == "approved"


async def test_an_ad_blocks_approval_until_a_reviewer_accepts_it_with_a_note(
    deps, actors, demo_accounts
):
    editor, reviewer = actors["editor"], actors["reviewer"]
    d = await drafts.create_draft(deps, editor, data([demo_accounts["rsj"]], body=AD))
    d = await drafts.submit_draft(deps, editor, d.id)
    assert d.findings and drafts.blocking_findings(d) == d.findings
    with pytest.raises(Conflict) as exc:
        await drafts.review_draft(deps, reviewer, d.id, {"approve": True})
    assert exc.value.code == "findings_open" and "尚未确认" in exc.value.message
    assert (await Draft.get(id=d.id)).status == "submitted"
    with pytest.raises(DomainError):  # a note is required
        await drafts.accept_finding(deps, reviewer, d.id, {"index": 0})
    with pytest.raises(Forbidden):  # the writer may not wave it through
        await drafts.accept_finding(deps, editor, d.id, {"index": 0, "note": "没问题"})
    for i in range(len(d.findings)):
        d = await drafts.accept_finding(
            deps, reviewer, d.id, {"index": i, "note": "社保卡套为人社局免费发放，非商业推广"}
        )
    assert drafts.blocking_findings(d) == []
    d = await drafts.review_draft(deps, reviewer, d.id, {"approve": True})
    assert d.status == "approved"
    accepted = await DraftEvent.filter(draft_id=d.id, action="accept").count()
    assert accepted == len(d.findings)


async def test_other_units_and_roles_are_kept_out(deps, actors, demo_accounts):
    editor = actors["editor"]
    with pytest.raises(DomainError) as exc:  # another unit's account
        await drafts.create_draft(deps, editor, data([demo_accounts["gjj"]]))
    assert "本单位的账号" in exc.value.message
    with pytest.raises(Forbidden):
        await drafts.create_draft(deps, actors["reviewer"], data([demo_accounts["rsj"]]))
    with pytest.raises(DomainError) as exc:  # a repost names its source
        await drafts.create_draft(deps, editor, data([demo_accounts["rsj"]], is_repost=True))
    assert "来源" in exc.value.message
    d = await drafts.create_draft(deps, editor, data([demo_accounts["rsj"]]))
    await drafts.submit_draft(deps, editor, d.id)
    with pytest.raises(NotFound):  # another unit's reviewer does not even see it
        await drafts.review_draft(deps, actors["gjjreviewer"], d.id, {"approve": True})
    with pytest.raises(NotFound):
        await drafts.edit_draft(deps, actors["gjjeditor"], d.id, data([demo_accounts["rsj"]]))


async def test_withdrawn_before_publishing_and_one_of_two_reviewers_wins(
    deps, actors, demo_accounts, demo_units
):
    await create_staff(
        deps,
        Actor.system(),
        {
            "username": "reviewer2",
            "real_name": "审核二",
            "mobile": "13700000041",
            "unit_id": demo_units["QY-RSJ"].id,
            "roles": ["reviewer"],
            "password": OTHER_PASSWORD,
        },
    )
    second = await actor_for(await Staff.get(username="reviewer2").select_related("unit"))
    editor = actors["editor"]
    d = await drafts.create_draft(deps, editor, data([demo_accounts["rsj"]]))
    await drafts.submit_draft(deps, editor, d.id)
    results = await asyncio.gather(
        drafts.review_draft(deps, actors["reviewer"], d.id, {"approve": True}),
        drafts.review_draft(deps, second, d.id, {"approve": False, "reason": "再改改"}),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert await DraftEvent.filter(draft_id=d.id, action__in=("approve", "return")).count() == 1
    d = await Draft.get(id=d.id)
    d = await drafts.withdraw_draft(deps, editor, d.id, {"reason": "活动取消"})
    assert d.status == "withdrawn"
    with pytest.raises(Conflict):
        await drafts.submit_draft(deps, editor, d.id)


async def test_the_api_carries_the_same_rules(app, sender, demo_accounts):
    editor = await login_as(app, sender, "editor")
    r = await editor.post("/api/drafts", json=data([demo_accounts["rsj"]], body=AD))
    assert r.status_code == 201, await r.get_json()
    draft_id = (await r.get_json())["id"]
    r = await editor.post(f"/api/drafts/{draft_id}/submit")
    body = await r.get_json()
    assert r.status_code == 200 and body["status"] == "submitted" and body["blocking"]
    reviewer = await login_as(app, sender, "reviewer")
    r = await reviewer.post(f"/api/drafts/{draft_id}/review", json={"approve": True})
    assert r.status_code == 409 and "尚未确认" in (await r.get_json())["error"]["message"]
    r = await reviewer.post(f"/api/drafts/{draft_id}/review", json={"approve": "yes"})
    assert r.status_code == 400
    r = await reviewer.get(f"/api/drafts/{draft_id}")
    timeline = (await r.get_json())["timeline"]
    assert [e["action"] for e in timeline] == ["create", "submit"]
    r = await reviewer.get("/api/drafts", query_string={"status": "submitted"})
    assert (await r.get_json())["total"] == 1
    assert (await reviewer.get("/api/drafts", query_string={"status": "x"})).status_code == 400


async def test_wrong_wording_blocks_approval_with_its_correction(deps, actors, demo_accounts):
    """错敏词: a misused word and an outdated name are shown with their corrections and block
    approval like an ad finding, until a reviewer accepts them or the editor fixes them."""
    editor, reviewer = actors["editor"], actors["reviewer"]
    body = "请再接再励，按照国家工商行政管理总局的要求，登陆“清源人社”公众号办理。"
    d = await drafts.create_draft(deps, editor, data([demo_accounts["rsj"]], body=body))
    d = await drafts.submit_draft(deps, editor, d.id)
    wording = [f for f in d.findings if f["check"] == "wording"]
    corrections = {f["correction"] for f in wording}
    assert {"再接再厉", "国家市场监督管理总局"} <= corrections, wording
    with pytest.raises(Conflict):
        await drafts.review_draft(deps, reviewer, d.id, {"approve": True})
    d = await drafts.review_draft(deps, reviewer, d.id, {"approve": False, "reason": "改错别字"})
    fixed = "请再接再厉，按照国家市场监督管理总局的要求，登录“清源人社”公众号办理。"
    await drafts.edit_draft(deps, editor, d.id, data([demo_accounts["rsj"]], body=fixed))
    d = await drafts.submit_draft(deps, editor, d.id)
    assert d.findings == []
    d = await drafts.review_draft(deps, reviewer, d.id, {"approve": True})
    assert d.status == "approved"


async def test_a_repost_comes_from_the_whitelist_and_keeps_its_title(
    deps, actors, demo_accounts, clock
):
    from publishing.models import RepostTask, Source

    editor = actors["editor"]
    repost = {"is_repost": True, "source_name": "某自媒体", "source_url": "https://x.example/1"}
    with pytest.raises(DomainError) as exc:
        await drafts.create_draft(deps, editor, data([demo_accounts["rsj"]], **repost))
    assert exc.value.code == "not_whitelisted" and "白名单" in exc.value.message
    source = await Source.create(
        name="中国政府网",
        home_url="https://www.gov.cn/",
        level="central",
        urgent=True,
        created_at=clock.now(),
    )
    task = await RepostTask.create(
        source=source,
        unit_id=editor.unit_id,
        item_id="gov-1",
        title="国务院办公厅关于进一步优化社保经办服务的通知",
        link="https://www.gov.cn/zhengce/content/1.htm",
        urgent=True,
        created_at=clock.now(),
    )
    d = await drafts.create_draft(
        deps,
        editor,
        data([demo_accounts["rsj"]], task_id=task.id, title="改了的标题", lead="编者按：请关注"),
    )
    assert d.is_repost and d.title == task.title and d.source_name == "中国政府网"
    assert d.source_url == task.link and d.lead == "编者按：请关注"
    assert (await RepostTask.get(id=task.id)).draft_id == d.id  # type: ignore[attr-defined]
    same = {"is_repost": True, "source_name": d.source_name, "source_url": d.source_url}
    with pytest.raises(DomainError) as exc:
        await drafts.edit_draft(
            deps, editor, d.id, data([demo_accounts["rsj"]], **same, title="标题改短")
        )
    assert exc.value.code == "repost_title"
    d = await drafts.edit_draft(
        deps, editor, d.id, data([demo_accounts["rsj"]], **same, title=d.title, lead="编者按二")
    )
    assert d.version == 2 and d.lead == "编者按二"
    with pytest.raises(NotFound):  # another unit's task
        await drafts.create_draft(
            deps, actors["gjjeditor"], data([demo_accounts["gjj"]], task_id=task.id)
        )
