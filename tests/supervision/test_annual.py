"""The annual report (年度报表, 004 §13(五)) with hand-built records: the accounts live in the
year, the figures counted from posts, bot questions and letters, the draft made once in January,
the unit filling it in, a return with a reason, the resubmission and the publication by another
person (self-review refused), the reminders from 15 January once a working day per unit and
none once published, and other units kept out. The year reported is 2026; the clock stands in
January 2027."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Account, Filing, Post
from infra.clock import SHANGHAI
from infra.errors import Conflict, DomainError, Forbidden, NotFound
from knowledge.models import Ask
from letters.models import Letter
from org.access import Actor
from org.auth import actor_for
from org.models import AuditRecord, Staff
from org.service import create_staff
from supervision import annual
from supervision.models import AnnualReminder, AnnualReport

YEAR = 2026


def at(month: int, day: int, hour: int = 10, year: int = YEAR) -> dt.datetime:
    """A moment in Beijing time."""
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


async def account(unit, platform: str, name: str, opened=dt.date(2025, 1, 1), **kw) -> Account:
    status = kw.pop("status", "active")
    return await Account.create(
        code=f"{unit.code}-{platform}".lower(),
        unit=unit,
        platform=platform,
        name=name,
        status=status,
        opened_on=opened,
        live_slot=f"{unit.id}:{platform}" if status == "active" else None,
        created_at=at(1, 1, year=2025),
        updated_at=kw.pop("updated_at", at(1, 1, year=2025)),
    )


async def post(acc: Account, when: dt.datetime, **kw) -> Post:
    return await Post.create(account=acc, title="信息", published_at=when, created_at=when, **kw)


async def letter(acc: Account, code: str, received: dt.datetime, replied=None) -> Letter:
    return await Letter.create(
        code=code,
        kind="consult",
        channel="wechat",
        account=acc,
        content="咨询",
        status="replied" if replied else "handling",
        unit_id=acc.unit_id,  # type: ignore[attr-defined]
        received_at=received,
        replied_at=replied,
        updated_at=received,
    )


async def ask(acc: Account, when: dt.datetime, decision: str) -> Ask:
    return await Ask.create(
        asked_at=when, text="问题", normalized="问题", account_id=acc.id, decision=decision
    )


@pytest.fixture
def january(clock):
    """Monday 4 January 2027, 10:00 Beijing."""
    clock.set(at(1, 4, year=2027))
    return clock


@pytest.fixture
async def city(demo_units, actors):
    """人社局's WeChat account with a year of records; 公积金's Weibo; and accounts that were
    not live in 2026 (opened after it, closed before it, still being applied for)."""
    rsj, gjj = demo_units["QY-RSJ"], demo_units["QY-GJJ"]
    wx = await account(rsj, "wechat", "清源人社")
    for when in (at(1, 5), at(3, 1), at(12, 31, 23)):
        await post(wx, when)
    await post(wx, at(6, 1), is_repost=True, source_name="新华社", source_url="https://x.cn/1")
    await post(wx, at(7, 1), removed_at=at(7, 2), review_status="confirmed")  # taken down
    await post(wx, at(12, 31, 23, year=2025))  # the year before, Beijing time
    await post(wx, at(1, 1, 0, year=2027))  # the year after
    for decision in ("answer", "answer", "answer", "suggest", "none"):
        await ask(wx, at(5, 1), decision)
    await ask(wx, at(1, 2, year=2027), "answer")
    await letter(wx, "AAAAA-00001", at(11, 16), replied=at(11, 19))  # Mon-Thu: 3 and 3
    await letter(wx, "AAAAA-00002", at(11, 20), replied=at(11, 23))  # Fri-Mon: 3 and 1
    await letter(wx, "AAAAA-00003", at(11, 24, 9), replied=at(11, 24, 17))  # same day: 0
    await letter(wx, "AAAAA-00004", at(12, 30))  # not replied yet
    await letter(wx, "AAAAA-00005", at(12, 20, year=2025), replied=at(1, 5))  # the year before
    wb = await account(gjj, "weibo", "清源公积金")
    await account(rsj, "douyin", "清源人社抖音", opened=dt.date(2027, 1, 3))
    await account(gjj, "app", "公积金客户端", opened=None, status="applying")
    closed = {}
    editor = await Staff.get(username="editor")
    for code, when in (("QY-HX", at(6, 30, year=2025)), ("QY-XFJ", at(5, 10))):
        acc = await account(
            demo_units[code], "wechat", f"{code}号", status="closed", updated_at=when
        )
        await Filing.create(
            kind="close", account=acc, unit=acc.unit, requested_by=editor, reason="关停",
            status="approved", created_at=when, decided_at=when,
        )  # fmt: skip
        closed[code] = acc
    return {"wx": wx, "wb": wb, **closed}


@pytest.fixture
async def both(deps, demo_units) -> Actor:
    """An editor of 人社局 who is a reviewer too: may not review what they filled in."""
    await create_staff(
        deps,
        Actor.system(),
        {
            "username": "both",
            "real_name": "王双岗",
            "mobile": "13700000031",
            "unit_id": demo_units["QY-RSJ"].id,
            "roles": ["editor", "reviewer"],
            "password": "Both2026ms",
        },
    )
    return await actor_for(await Staff.get(username="both").select_related("unit"))


async def test_accounts_live_in_the_year_and_their_figures(db, deps, city):
    live = await annual.accounts_of_year(YEAR)
    assert sorted(a.name for a in live) == ["QY-XFJ号", "清源人社", "清源公积金"]
    got = await annual.count_figures(deps, YEAR, [city["wx"].id, city["wb"].id])
    assert got[city["wx"].id] == {
        "posts": 4,
        "originals": 3,
        "reposts": 1,
        "asks": 5,
        "answered": 3,
        "letters": 4,
        "replied": 3,
        "avg_reply_days": 2.0,  # (3 + 3 + 0) / 3
        "avg_reply_workdays": 1.3,  # (3 + 1 + 0) / 3
    }
    assert got[city["wb"].id] == annual.empty_figures()
    assert got[city["wb"].id]["avg_reply_days"] is None


async def test_drafts_once_in_january_for_a_year_that_is_over(db, deps, city, actors, demo_units):
    assert await annual.annual_drafts_job(deps) == 0  # November: nothing to do
    with pytest.raises(DomainError, match="2026 年尚未结束"):
        await annual.draft_annual_reports(deps, YEAR)
    deps.clock.set(at(1, 4, year=2027))
    assert await annual.annual_drafts_job(deps) == 3
    assert await annual.annual_drafts_job(deps) == 0  # idempotent
    assert await annual.draft_annual_reports(deps, YEAR, actors["supervisor"]) == 0
    with pytest.raises(Forbidden, match="只有督查人员"):
        await annual.draft_annual_reports(deps, YEAR, actors["editor"])
    r = await AnnualReport.get(account_id=city["wx"].id)
    assert (r.year, r.status, r.account_name, r.platform) == (YEAR, "draft", "清源人社", "wechat")
    assert r.figures["posts"] == 4 and r.figures["avg_reply_days"] == 2.0
    assert [e["action"] for e in r.history] == ["create"]
    audit = await AuditRecord.get(action="annual.draft")
    assert audit.summary == "生成 2026 年度报表草稿 3 份"
    # An account added to the register later in January gets its draft on the next run.
    await account(demo_units["QY-GJJ"], "douyin", "公积金抖音", opened=dt.date(2026, 3, 1))
    assert await annual.annual_drafts_job(deps) == 1


async def test_fill_submit_return_resubmit_and_publish_by_another_person(
    db, deps, january, city, actors, both
):
    await annual.draft_annual_reports(deps, YEAR)
    r = await AnnualReport.get(account_id=city["wx"].id)
    editor, reviewer = actors["editor"], actors["reviewer"]

    with pytest.raises(DomainError, match="请先填写粉丝（关注）数、全年阅读量、机制保障情况"):
        await annual.submit_annual(deps, editor, r.id)
    await annual.fill_annual(deps, editor, r.id, {"followers": "12,345", "mechanisms": ""})
    with pytest.raises(DomainError, match="请先填写全年阅读量、机制保障情况"):
        await annual.submit_annual(deps, editor, r.id)
    with pytest.raises(DomainError, match="全年阅读量须为不小于 0 的整数"):
        await annual.fill_annual(deps, editor, r.id, {"followers": "1", "reads": "-5"})
    for who in ("reviewer", "leader", "gjjeditor", "supervisor"):
        with pytest.raises((Forbidden, NotFound)):
            await annual.fill_annual(deps, actors[who], r.id, {"followers": "1"})

    # A letter replied after the draft: submitting counts the figures again.
    await Letter.filter(code="AAAAA-00004").update(replied_at=at(1, 3, year=2027))
    data = {"followers": "12345", "reads": "987654", "mechanisms": "专人负责，三审三校。"}
    await annual.fill_annual(deps, both, r.id, data)
    r = await annual.submit_annual(deps, both, r.id)
    assert (r.status, r.followers, r.reads) == ("submitted", 12345, 987654)
    assert r.figures["replied"] == 4 and r.figures["avg_reply_days"] == 2.5  # + 4 days
    with pytest.raises(Conflict, match="待审核"):
        await annual.fill_annual(deps, editor, r.id, data)

    # Who filled it in may not review it, even holding the reviewer role.
    with pytest.raises(Forbidden, match="不得审核本人填报的年度报表") as refused:
        await annual.review_annual(deps, both, r.id, {"approve": True})
    assert refused.value.code == "self_review"
    for who in ("editor", "supervisor"):
        with pytest.raises(Forbidden, match="只有本单位审核员或上级领导"):
            await annual.review_annual(deps, actors[who], r.id, {"approve": True})
    for who in ("gjjreviewer", "cityleader"):  # another unit; a leader not above it
        with pytest.raises(NotFound):
            await annual.review_annual(deps, actors[who], r.id, {"approve": True})
    with pytest.raises(DomainError, match="请填写退回理由"):
        await annual.review_annual(deps, reviewer, r.id, {"approve": False, "reason": " "})

    r = await annual.review_annual(
        deps, reviewer, r.id, {"approve": False, "reason": "阅读量与平台后台不符"}
    )
    assert (r.status, r.return_reason) == ("returned", "阅读量与平台后台不符")
    r = await annual.fill_annual(deps, editor, r.id, {**data, "reads": "887654"})
    r = await annual.submit_annual(deps, editor, r.id)
    assert r.status == "submitted"
    with pytest.raises(Forbidden, match="不得审核本人"):  # both filled it in the first round
        await annual.review_annual(deps, both, r.id, {"approve": True})
    r = await annual.review_annual(deps, actors["leader"], r.id, {"approve": True, "note": "同意"})
    assert (r.status, r.published_by_id, r.reads) == (
        "published",
        actors["leader"].staff_id,
        887654,
    )  # type: ignore[attr-defined]
    assert r.published_at == deps.clock.now()

    # Published: read-only.
    with pytest.raises(Conflict, match="年度报表已公开，不能再修改"):
        await annual.fill_annual(deps, editor, r.id, data)
    with pytest.raises(Conflict, match="已公开"):
        await annual.review_annual(deps, reviewer, r.id, {"approve": False, "reason": "再改"})
    steps = [(e["action"], e["actor_name"]) for e in r.history]
    assert steps == [
        ("create", "年度报表"), ("fill", "李晓梅"), ("fill", "王双岗"), ("submit", "王双岗"),
        ("return", "张志强"), ("fill", "李晓梅"), ("submit", "李晓梅"), ("publish", "刘伟"),
    ]  # fmt: skip
    audited = await AuditRecord.filter(object_type="annual_report", object_id=str(r.id))
    assert [a.action for a in audited if a.outcome == "ok"][-3:] == [
        "annual.fill", "annual.submit", "annual.publish",
    ]  # fmt: skip
    returned = next(a for a in audited if a.action == "annual.return")
    assert "阅读量与平台后台不符" in returned.summary and returned.actor_name == "张志强"


async def test_a_stale_step_loses_to_the_one_that_moved_first(db, deps, january, city, actors):
    await annual.draft_annual_reports(deps, YEAR)
    stale = await AnnualReport.get(account_id=city["wx"].id).select_related("unit")
    await annual.fill_annual(deps, actors["editor"], stale.id, {"followers": "1"})
    with pytest.raises(Conflict, match="刚被他人修改"):
        await annual._move(deps, actors["editor"], stale, annual.EDITABLE, "fill", followers=2)
    assert (await AnnualReport.get(id=stale.id)).followers == 1


async def test_each_unit_reads_its_own_reports_supervisors_all(db, deps, january, city, actors):
    await annual.draft_annual_reports(deps, YEAR)
    names = {
        who: [r.account_name for r in await annual.list_annual(actors[who], YEAR)]
        for who in ("editor", "reviewer", "gjjeditor", "supervisor")
    }
    assert names["editor"] == names["reviewer"] == ["清源人社"]
    assert names["gjjeditor"] == ["清源公积金"]
    assert sorted(names["supervisor"]) == ["QY-XFJ号", "清源人社", "清源公积金"]
    wx = await AnnualReport.get(account_id=city["wx"].id)
    with pytest.raises(NotFound):
        await annual.get_annual(actors["gjjeditor"], wx.id)
    with pytest.raises(Forbidden):
        await annual.list_annual(actors["handler"], YEAR)
    assert annual.status_counts(await annual.list_annual(actors["supervisor"], YEAR)) == {
        "draft": 3, "submitted": 0, "returned": 0, "published": 0,
    }  # fmt: skip


async def _publish(deps, actors, report_id: int) -> None:
    data = {"followers": "10", "reads": "20", "mechanisms": "专人负责"}
    await annual.fill_annual(deps, actors["editor"], report_id, data)
    await annual.submit_annual(deps, actors["editor"], report_id)
    await annual.review_annual(deps, actors["reviewer"], report_id, {"approve": True})


async def test_reminders_from_15_january_once_a_working_day_until_published(
    db, deps, city, actors, sender
):
    deps.clock.set(at(1, 4, year=2027))
    await annual.draft_annual_reports(deps, YEAR)
    wx = await AnnualReport.get(account_id=city["wx"].id)
    sender.sent.clear()

    deps.clock.set(at(1, 14, year=2027))  # Thursday: too early
    assert await annual.remind_annual_reports(deps) == 0
    deps.clock.set(at(1, 15, 8, year=2027))  # Friday before 9:00
    assert await annual.remind_annual_reports(deps) == 0
    deps.clock.set(at(1, 15, 9, year=2027))
    sent = await annual.remind_annual_reports(deps)
    by_mobile = {m: body for m, body in sender.sent}
    assert "13800000002" in by_mobile  # 人社局's editor
    assert "13700000021" in by_mobile  # 公积金's editor
    assert "13800000003" not in by_mobile  # no 人社局 report waits for review
    body = by_mobile["13800000002"]
    assert "2026 年度" in body and "1 份未公开（待填报 1 份）" in body and "1 月 31 日前" in body
    units = {r.unit_id for r in await AnnualReminder.filter(day=dt.date(2027, 1, 15))}  # type: ignore[attr-defined]
    assert len(units) == 3 and sent == len(sender.sent)

    deps.clock.set(at(1, 15, 16, year=2027))  # the same day again: nothing
    assert await annual.remind_annual_reports(deps) == 0
    deps.clock.set(at(1, 16, 10, year=2027))  # Saturday
    assert await annual.remind_annual_reports(deps) == 0

    # 人社局 submits: its reviewer is told too; then it publishes and hears no more.
    data = {"followers": "10", "reads": "20", "mechanisms": "专人负责"}
    await annual.fill_annual(deps, actors["editor"], wx.id, data)
    await annual.submit_annual(deps, actors["editor"], wx.id)
    deps.clock.set(at(1, 18, 10, year=2027))  # Monday
    sender.sent.clear()
    assert await annual.remind_annual_reports(deps) > 0
    assert any(m == "13800000003" and "待审核 1 份" in b for m, b in sender.sent)
    await annual.review_annual(deps, actors["reviewer"], wx.id, {"approve": True})
    deps.clock.set(at(2, 1, 10, year=2027))  # Monday, past the deadline
    sender.sent.clear()
    await annual.remind_annual_reports(deps)
    assert not [m for m, _ in sender.sent if m in ("13800000002", "13800000003")]
    assert any("已超过 1 月 31 日的公开期限" in b for _, b in sender.sent)

    # Once all are published nobody is reminded (信访局 has no staff in the demo city: its
    # report is published by hand here).
    wb = await AnnualReport.get(account_id=city["wb"].id)
    await _publish(deps, {"editor": actors["gjjeditor"], "reviewer": actors["gjjreviewer"]}, wb.id)
    await AnnualReport.filter(account_id=city["QY-XFJ"].id).update(status="published")
    deps.clock.set(at(2, 2, 10, year=2027))
    sender.sent.clear()
    assert await annual.remind_annual_reports(deps) == 0 and sender.sent == []
