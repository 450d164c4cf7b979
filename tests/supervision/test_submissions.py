"""Information submission (信息报送, 002 §21): editors submit items, the office records where each
was adopted, points per level (admins change them, audited; an adoption keeps the points of
when it was recorded), the monthly table ranking units with the year's totals, and each unit
reading its own items. The clock stands on Monday 23 November 2026, 10:00 Beijing."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.errors import Conflict, DomainError, Forbidden, NotFound
from org.models import AuditRecord
from supervision import submissions as sub
from supervision.models import Adoption, Submission

ITEM = {
    "title": "人社局举办春风行动招聘会",
    "summary": "提供岗位三千个",
    "link": "https://rsj.qy.gov.cn/1",
}


async def submit(deps, actor, title: str, **kw):
    return await sub.submit_item(deps, actor, {**ITEM, "title": title, **kw})


def rows(table) -> dict[str, dict]:
    return {r["unit_name"]: r for r in table}


async def test_editors_submit_items_with_a_link_or_the_text(db, deps, actors):
    item = await sub.submit_item(deps, actors["editor"], ITEM)
    assert (item.unit_id, item.submitted_by_name, item.submitted_at) == (  # type: ignore[attr-defined]
        actors["editor"].unit_id, "李晓梅", deps.clock.now(),
    )  # fmt: skip
    await sub.submit_item(deps, actors["editor"], {"title": "只有正文", "body": "正文内容"})
    with pytest.raises(DomainError, match="请填写链接或正文"):
        await sub.submit_item(deps, actors["editor"], {"title": "无内容", "summary": "摘要"})
    with pytest.raises(DomainError, match="链接应以 http:// 或 https:// 开头"):
        await sub.submit_item(deps, actors["editor"], {**ITEM, "link": "rsj.qy.gov.cn"})
    with pytest.raises(DomainError, match="请填写标题"):
        await sub.submit_item(deps, actors["editor"], {**ITEM, "title": ""})
    for who in ("reviewer", "supervisor", "admin", "leader"):
        with pytest.raises(Forbidden, match="只有各单位编辑可以报送信息"):
            await sub.submit_item(deps, actors[who], ITEM)
    assert await Submission.all().count() == 2
    assert await AuditRecord.filter(action="submission.create", outcome="ok").count() == 2


async def test_adoptions_by_level_with_their_points(db, deps, actors):
    item = await submit(deps, actors["editor"], "招聘会")
    office = actors["supervisor"]
    today = deps.clock.today()
    city = await sub.adopt_item(deps, office, item.id, {"level": "city", "note": "市政府网站"})
    assert (city.points, city.adopted_on) == (1.0, today)
    prov = await sub.adopt_item(
        deps, office, item.id, {"level": "provincial", "adopted_on": today.isoformat()}
    )
    assert prov.points == 3.0
    with pytest.raises(Conflict, match="该信息已登记市级采用"):
        await sub.adopt_item(deps, office, item.id, {"level": "city"})
    with pytest.raises(DomainError, match="请选择采用级别"):
        await sub.adopt_item(deps, office, item.id, {"level": "county"})
    with pytest.raises(DomainError, match="采用日期不能晚于今天"):
        await sub.adopt_item(
            deps, office, item.id, {"level": "central", "adopted_on": "2026-11-24"}
        )
    with pytest.raises(DomainError, match="采用日期不能早于报送日期"):
        await sub.adopt_item(
            deps, office, item.id, {"level": "central", "adopted_on": "2026-11-22"}
        )
    for who in ("editor", "reviewer", "leader", "admin"):
        with pytest.raises(Forbidden):
            await sub.adopt_item(deps, actors[who], item.id, {"level": "central"})
    with pytest.raises(NotFound):
        await sub.adopt_item(deps, office, 999999, {"level": "central"})
    audit = await AuditRecord.filter(action="submission.adopt", outcome="ok").order_by("id")
    assert [a.after["level"] for a in audit] == ["city", "provincial"]
    assert "市级采用，1 分：市政府网站" in audit[0].summary

    # Taking one back needs a reason and is audited with what it was.
    with pytest.raises(DomainError, match="请填写撤销理由"):
        await sub.unadopt_item(deps, office, item.id, {"level": "provincial"})
    await sub.unadopt_item(deps, office, item.id, {"level": "provincial", "reason": "误登记"})
    assert [a.level for a in await Adoption.filter(submission_id=item.id)] == ["city"]
    undone = await AuditRecord.get(action="submission.unadopt")
    assert undone.before["points"] == 3.0 and "误登记" in undone.summary
    with pytest.raises(NotFound):
        await sub.unadopt_item(deps, office, item.id, {"level": "provincial", "reason": "再撤"})


async def test_points_are_kept_by_the_top_units_admins_and_audited(db, deps, actors):
    assert sub.points_of(await sub.current_points()) == {
        "city": 1.0, "provincial": 3.0, "central": 5.0,
    }  # fmt: skip
    item = await submit(deps, actors["editor"], "招聘会")
    before = await sub.adopt_item(deps, actors["supervisor"], item.id, {"level": "city"})

    wanted = {"city": "2", "provincial": "4.5", "central": "8"}
    for who in ("supervisor", "editor", "hxadmin"):
        with pytest.raises(Forbidden):
            await sub.set_points(deps, actors[who], wanted)
    with pytest.raises(DomainError, match="中央采用分值须为数字"):
        await sub.set_points(deps, actors["admin"], {**wanted, "central": "八"})
    with pytest.raises(DomainError, match="省级采用分值须在 0 到 100 之间"):
        await sub.set_points(deps, actors["admin"], {**wanted, "provincial": "101"})
    row = await sub.set_points(deps, actors["admin"], wanted)
    assert sub.points_of(row) == {"city": 2.0, "provincial": 4.5, "central": 8.0}
    assert row.updated_by_id == actors["admin"].staff_id  # type: ignore[attr-defined]
    with pytest.raises(DomainError, match="分值没有变化"):
        await sub.set_points(deps, actors["admin"], wanted)
    audit = await AuditRecord.get(action="submission.points", outcome="ok")
    assert audit.before == {"city": 1.0, "provincial": 3.0, "central": 5.0}
    assert audit.after == {"city": 2.0, "provincial": 4.5, "central": 8.0}
    assert audit.actor_name == "王建国" and "中央 8 分" in audit.summary

    # An adoption keeps the points of when it was recorded; later ones take the new points.
    later = await sub.adopt_item(deps, actors["supervisor"], item.id, {"level": "central"})
    assert (await Adoption.get(id=before.id)).points == 1.0 and later.points == 8.0
    assert (
        rows(await sub.monthly_table(dt.date(2026, 11, 1)))["清源市人力资源和社会保障局"]["points"]
        == 9.0
    )


async def test_the_monthly_table_ranks_units_with_the_years_totals(db, deps, actors, clock):
    rsj, gjj = actors["editor"], actors["gjjeditor"]
    office = actors["supervisor"]
    # October: 公积金 gets a central adoption.
    clock.set(dt.datetime(2026, 10, 12, 2, tzinfo=dt.UTC))
    old = await submit(deps, gjj, "公积金十月")
    await sub.adopt_item(deps, office, old.id, {"level": "central"})
    # November: 人社 submits three, two adopted (one at two levels); 公积金 one, adopted by the
    # city. An October item adopted in November counts in November.
    clock.set(dt.datetime(2026, 11, 2, 2, tzinfo=dt.UTC))
    a = await submit(deps, rsj, "人社一")
    b = await submit(deps, rsj, "人社二")
    await submit(deps, rsj, "人社三")
    g = await submit(deps, gjj, "公积金十一月")
    clock.set(dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC))
    for item, level in ((a, "city"), (a, "provincial"), (b, "city"), (g, "city"), (old, "city")):
        await sub.adopt_item(deps, office, item.id, {"level": level})

    table = await sub.monthly_table(dt.date(2026, 11, 1))
    by = rows(table)
    r = by["清源市人力资源和社会保障局"]
    assert (r["rank"], r["submitted"], r["adopted"], r["city"], r["provincial"], r["central"]) == (
        1, 3, 2, 2, 1, 0,
    )  # fmt: skip
    assert (r["points"], r["year_points"], r["year_submitted"]) == (5.0, 5.0, 3)
    g_row = by["清源市住房公积金管理中心"]
    assert (g_row["rank"], g_row["submitted"], g_row["adopted"], g_row["points"]) == (2, 1, 2, 2.0)
    assert (g_row["year_points"], g_row["year_submitted"], g_row["year_adopted"]) == (7.0, 2, 2)
    assert table[0]["unit_name"] == "清源市人力资源和社会保障局"
    # Units with nothing share the last rank; internal sections are not ranked.
    idle = [x for x in table if x["points"] == 0]
    assert {x["rank"] for x in idle} == {3} and "市人社局办公室" not in by
    assert len(table) == 9  # the demo city's units, less the internal section

    october = rows(await sub.monthly_table(dt.date(2026, 10, 1)))
    assert october["清源市住房公积金管理中心"]["points"] == 5.0
    assert october["清源市住房公积金管理中心"]["rank"] == 1
    assert october["清源市人力资源和社会保障局"]["rank"] == 2  # equal with every idle unit
    # Equal points, equal rank.
    await sub.adopt_item(deps, office, g.id, {"level": "provincial"})
    tied = rows(await sub.monthly_table(dt.date(2026, 11, 1)))
    assert tied["清源市住房公积金管理中心"]["points"] == 5.0
    assert (
        tied["清源市住房公积金管理中心"]["rank"] == tied["清源市人力资源和社会保障局"]["rank"] == 1
    )


async def test_each_unit_reads_its_own_items_the_office_all(db, deps, actors):
    mine = await submit(deps, actors["editor"], "人社一")
    theirs = await submit(deps, actors["gjjeditor"], "公积金一")
    await sub.adopt_item(deps, actors["supervisor"], theirs.id, {"level": "city"})
    month = dt.date(2026, 11, 1)

    async def titles(who, **kw):
        return [i.title for i in await sub.list_items(actors[who], month=month, **kw)]

    assert await titles("editor") == await titles("reviewer") == ["人社一"]
    assert await titles("leader") == ["人社一"]
    assert await titles("gjjeditor") == ["公积金一"]
    assert await titles("supervisor") == ["公积金一", "人社一"]
    assert await titles("supervisor", adopted="yes") == ["公积金一"]
    assert await titles("supervisor", adopted="no") == ["人社一"]
    assert await titles("supervisor", unit_id=str(mine.unit_id)) == ["人社一"]  # type: ignore[attr-defined]
    assert await titles("editor", unit_id=str(theirs.unit_id)) == []  # type: ignore[attr-defined]
    assert await sub.list_items(actors["supervisor"], month=dt.date(2026, 10, 1)) == []
    with pytest.raises(Forbidden):
        await sub.list_items(actors["handler"])
    # Adoptions of other units stay out of a unit's export; the ranking names units only.
    assert [a.submission.title for a in await sub.monthly_adoptions(actors["editor"], month)] == []
    assert [
        a.submission.title for a in await sub.monthly_adoptions(actors["gjjeditor"], month)
    ] == ["公积金一"]
    assert len(await sub.read_table(actors["editor"], month)) == 9
    with pytest.raises(Forbidden):
        await sub.read_table(actors["handler"], month)
    with pytest.raises(NotFound):
        await sub.adopt_item(deps, actors["supervisor"], 0, {"level": "city"})


def test_months():
    assert sub.parse_month("2026-11") == dt.date(2026, 11, 1)
    assert sub.next_month(dt.date(2026, 12, 1)) == dt.date(2027, 1, 1)
    for bad in ("2026-13", "202611", "1999-01", "探针"):
        with pytest.raises(DomainError, match="月份格式应为 2026-11"):
            sub.parse_month(bad)
