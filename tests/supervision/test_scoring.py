"""Scoring with hand-built records: each single veto and each deduction, caps, the under-60
rule, the unit roll-up, a rubric edit changing only later reports, and a past report rebuilt
with the same figures. The week scored is Monday 16 to Sunday 22 November 2026; the clock
stands on Monday 23 November, 10:00 Beijing."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Account, Filing, Post
from infra.clock import SHANGHAI
from infra.errors import DomainError, Forbidden
from knowledge.models import Ask, Entry
from letters.models import Letter, Rating
from org.access import Actor
from org.models import AuditRecord, Staff
from publishing.models import RepostTask, Source
from supervision import patrol
from supervision.rubric import DEFAULT_RUBRIC, clean_rubric
from supervision.scoring import accounts_checked, roll_up, score_accounts, whole_weeks

START, END = dt.date(2026, 11, 16), dt.date(2026, 11, 22)


def at(day: int, hour: int = 10) -> dt.datetime:
    """A moment of November 2026, Beijing time."""
    return dt.datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


async def account(unit, platform: str, name: str, opened=dt.date(2025, 1, 1), **kw) -> Account:
    return await Account.create(
        code=f"{unit.code}-{platform}-{name}".lower()[:32],
        unit=unit,
        platform=platform,
        name=name,
        certified_subject=kw.pop("certified_subject", unit.name),
        status="active",
        opened_on=opened,
        live_slot=f"{unit.id}:{platform}",
        created_at=at(1),
        updated_at=at(1),
        **kw,
    )


async def post(acc: Account, day: int, **kw) -> Post:
    return await Post.create(
        account=acc,
        title=kw.pop("title", f"第{day}日信息"),
        published_at=at(day),
        created_at=at(day),
        **kw,
    )


async def letter(acc: Account, code: str, due: dt.date, replied=None) -> Letter:
    return await Letter.create(
        code=code,
        kind="consult",
        channel="web",
        account=acc,
        content="咨询",
        status="replied" if replied else "handling",
        unit_id=acc.unit_id,  # type: ignore[attr-defined]
        received_at=at(2),
        due_on=due,
        replied_at=replied,
        updated_at=at(2),
    )


async def scores(rubric=DEFAULT_RUBRIC) -> dict[str, object]:
    got = await score_accounts(START, END, rubric, await accounts_checked(END))
    return {s.name: s for s in got}


def codes(findings) -> dict[str, float]:
    return {f.code: f.points for f in findings}


@pytest.fixture
async def rsj(demo_units):
    return demo_units["QY-RSJ"]


def test_whole_weeks_only():
    assert whole_weeks(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == [
        dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16), dt.date(2026, 11, 23),
    ]  # fmt: skip
    assert whole_weeks(START, END) == [START]


async def test_a_clean_account_scores_100(db, rsj):
    acc = await account(rsj, "wechat", "清源人社")
    for day in (10, 16, 20):
        await post(acc, day)
    s = (await scores())["清源人社"]
    assert (s.score, s.passed, s.vetoes, s.deductions, s.posts) == (100.0, True, [], [], 2)


async def test_no_post_in_14_days_is_a_veto_and_the_empty_week_a_deduction(db, rsj):
    acc = await account(rsj, "wechat", "清源人社")
    await post(acc, 7)  # 16 days before the check
    s = (await scores())["清源人社"]
    assert [v.code for v in s.vetoes] == ["no_post"] and "14天" in s.vetoes[0].label
    assert codes(s.deductions) == {"weekly_minimum": 5}
    assert s.score == 95.0 and not s.passed  # a veto fails whatever the points
    assert s.deductions[0].evidence[0].label == "11月16日至11月22日未更新"
    # A newer account is not vetoed for days it did not exist.
    await account(rsj, "weibo", "新开微博", opened=dt.date(2026, 11, 20))
    assert "no_post" not in [v.code for v in (await scores())["新开微博"].vetoes]


async def test_a_serious_error_confirmed_by_a_reviewer_is_a_veto(db, rsj):
    acc = await account(rsj, "wechat", "清源人社")
    p = await post(acc, 18, title="把市长名字写错")
    await post(acc, 19, review_status="confirmed", confirmed_at=at(19, 12))  # an ad, not serious
    s = (await scores())["清源人社"]
    assert s.vetoes == []
    await Post.filter(id=p.id).update(
        review_status="confirmed", serious=True, confirmed_at=at(19), removed_at=at(20)
    )
    s = (await scores())["清源人社"]
    assert [(v.code, v.evidence[0].ref) for v in s.vetoes] == [("serious_error", str(p.id))]


async def test_poor_interaction_from_overdue_letters_or_stale_questions(db, rsj):
    acc = await account(rsj, "wechat", "清源人社")
    await post(acc, 20)
    await letter(acc, "AAAAA-11111", dt.date(2026, 11, 25))  # not due yet
    await letter(acc, "BBBBB-22222", dt.date(2026, 11, 19), replied=at(19))  # on time
    assert (await scores())["清源人社"].vetoes == []
    await letter(acc, "CCCCC-33333", dt.date(2026, 11, 20))  # overdue at the check
    s = (await scores())["清源人社"]
    assert [v.code for v in s.vetoes] == ["poor_interaction"]
    assert [e.ref for e in s.vetoes[0].evidence] == ["CCCCC-33333"]
    # Replied after the check: still overdue as of the check (the report does not change).
    await Letter.filter(code="CCCCC-33333").update(replied_at=at(24), status="replied")
    s = (await scores())["清源人社"]
    assert [v.code for v in s.vetoes] == ["poor_interaction"]

    other = await account(rsj, "weibo", "清源人社微博")
    await post(other, 20)
    for i in range(10):
        await Ask.create(
            asked_at=at(14 + i % 2),  # more than 7 days before the check, never dealt with
            text=f"问题{i}",
            normalized=f"问题{i}",
            account_id=other.id,
            decision="none",
        )
    s = (await scores())["清源人社微博"]
    assert [v.code for v in s.vetoes] == ["poor_interaction"]
    assert "10 个群众提问" in s.vetoes[0].evidence[0].label


async def test_an_account_without_an_approved_opening_is_a_veto(db, rsj):
    acc = await account(rsj, "wechat", "新号", opened=dt.date(2026, 6, 1))
    await post(acc, 20)
    assert [v.code for v in (await scores())["新号"].vetoes] == ["unfiled"]
    editor = await Staff.get(username="editor")
    await Filing.create(
        kind="open", account=acc, unit=rsj, requested_by=editor, reason="开设",
        status="approved", created_at=at(1), decided_at=at(2),
    )  # fmt: skip
    assert (await scores())["新号"].vetoes == []


async def test_each_deduction_with_its_points_and_cap(db, rsj, demo_units):
    acc = await account(rsj, "wechat", "清源人社", certified_subject="某某公司")
    for day in range(16, 23):
        await post(acc, day, is_repost=True, source_name="")  # 7 reposts without source: capped
    await post(acc, 18, review_status="flagged")  # an ad nobody looked at
    await post(acc, 18, review_status="cleared", cleared_at=at(19))  # dealt with in time
    await post(acc, 18, review_status="cleared", cleared_at=at(24))  # dealt with after the check
    await letter(acc, "LATE1-11111", dt.date(2026, 11, 17), replied=at(18))  # a day late
    rated = await letter(acc, "RATED-22222", dt.date(2026, 11, 30), replied=at(18))
    await Rating.create(letter=rated, round=0, satisfied=False, unit=rsj, at=at(19))
    await Entry.create(
        question="社保卡怎么补办", unit=rsj, status="published", review_by=dt.date(2026, 11, 1),
        created_at=at(1), updated_at=at(1),
    )  # fmt: skip
    source = await Source.create(
        name="中国政府网", home_url="https://www.gov.cn/", level="central", created_at=at(1)
    )
    await RepostTask.create(
        source=source, unit=rsj, item_id="1", title="国务院通知", urgent=True, due_at=at(17),
        created_at=at(16),
    )  # fmt: skip
    s = (await scores())["清源人社"]
    assert s.vetoes == []
    assert codes(s.deductions) == {
        "repost_no_source": 10,  # 7 × 2 capped at 10
        "ads_unhandled": 10,  # the flagged one and the one cleared after the check
        "letter_late": 2,
        "dissatisfied": 1,
        "name_warning": 5,
        "kb_stale": 1,
        "urgent_task_missed": 3,
    }
    assert s.score == 68.0 and s.passed
    late = next(f for f in s.deductions if f.code == "letter_late")
    assert [e.ref for e in late.evidence] == ["LATE1-11111"]  # by code, never by writer
    tighter = clean_rubric({"pass_score": 70})
    assert not (await scores(tighter))["清源人社"].passed  # under the pass mark fails


async def test_units_roll_up_by_mean_or_worst_and_rank(db, demo_units):
    a = await account(demo_units["QY-RSJ"], "wechat", "清源人社")
    b = await account(demo_units["QY-RSJ"], "weibo", "清源人社")  # one name on every platform
    c = await account(demo_units["QY-GJJ"], "wechat", "公积金公众号")
    for acc in (a, c):
        await post(acc, 20)
    await post(b, 12)  # b: nothing in the week (-5), but within 14 days (no veto)
    got = await score_accounts(START, END, DEFAULT_RUBRIC, await accounts_checked(END))
    units = {u.unit_name: u for u in roll_up(got, DEFAULT_RUBRIC)}
    rsj_name = demo_units["QY-RSJ"].name
    assert units[rsj_name].score == 97.5 and units[rsj_name].rank == 2
    assert units[demo_units["QY-GJJ"].name].rank == 1
    worst = clean_rubric({"rollup": "worst"})
    units = {u.unit_name: u for u in roll_up(got, worst)}
    assert units[rsj_name].score == 95.0


async def test_a_rubric_edit_changes_only_later_reports(db, deps, actors, rsj, clock):
    acc = await account(rsj, "wechat", "清源人社")
    await post(acc, 7)
    await post(acc, 10)
    supervisor = actors["supervisor"]
    first = await patrol.build_weekly(deps, supervisor, dt.date(2026, 11, 18))
    assert first.rubric_version == 1
    system = Actor.system()
    [row] = await patrol.report_rows(system, first)
    assert row["score"] == 95.0
    with pytest.raises(Forbidden):
        await patrol.edit_rubric(
            deps, supervisor, {"deductions": {"weekly_minimum": {"points": 10}}}
        )
    with pytest.raises(DomainError) as exc:
        await patrol.edit_rubric(
            deps, actors["admin"], {"deductions": {"weekly_minimum": {"points": "十"}}}
        )
    assert "数字" in exc.value.message
    v2 = await patrol.edit_rubric(
        deps, actors["admin"], {"deductions": {"weekly_minimum": {"points": 10}}}, "加大力度"
    )
    assert v2.version == 2
    assert await AuditRecord.filter(action="rubric.edit").count() == 1
    # The report already built keeps its version, also when rebuilt.
    again = await patrol.build_weekly(deps, supervisor, dt.date(2026, 11, 18), rebuild=True)
    assert again.id == first.id and again.rubric_version == 1
    assert await patrol.report_rows(system, again) == [row]
    # A report built now uses version 2.
    earlier = await patrol.build_weekly(deps, supervisor, dt.date(2026, 11, 11))
    assert earlier.rubric_version == 2
    with pytest.raises(DomainError):  # this week is not over
        await patrol.build_weekly(deps, supervisor, clock.today())


async def test_a_past_report_rebuilt_later_gives_the_same_figures(db, deps, actors, rsj, clock):
    acc = await account(rsj, "wechat", "清源人社")
    await post(acc, 17, review_status="flagged")
    await letter(acc, "OVERD-11111", dt.date(2026, 11, 20))
    report = await patrol.build_weekly(deps, actors["supervisor"], START)
    before = (report.data, await patrol.report_rows(Actor.system(), report))
    # Later: the ad is cleared, the letter answered, new posts appear, the clock moves on.
    clock.advance(days=10)
    await Post.filter(review_status="flagged").update(
        review_status="cleared", cleared_at=clock.now()
    )
    await Letter.filter(code="OVERD-11111").update(replied_at=clock.now(), status="replied")
    await post(acc, 30)
    rebuilt = await patrol.build_weekly(deps, actors["supervisor"], START, rebuild=True)
    assert (rebuilt.data, await patrol.report_rows(Actor.system(), rebuilt)) == before
    assert before[0]["checked"] == 1 and before[1][0]["vetoes"]
