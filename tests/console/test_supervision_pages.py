"""The supervision pages through the Quart test client: a supervisor builds last week's patrol
and reads it with its evidence, exports it (opened with openpyxl), a unit's staff see their own
rows only, and admins edit the rubric into a new version that later reports use."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import OrderedDict

import openpyxl
import pytest

from accounts.models import Account, Post
from infra.clock import SHANGHAI
from org.access import Actor
from org.demo import DEMO_PASSWORD
from supervision import charts, patrol
from supervision.models import Report, Rubric
from tests.accounts.conftest import OTHER_PASSWORD, actors, demo_units  # noqa: F401
from tests.console.test_posts_pages import post_form, text
from tests.org.conftest import login_as


def at(day: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, 10, tzinfo=SHANGHAI)


@pytest.fixture
async def city(demo_units):  # noqa: F811
    """人社局's account posts on Wednesday; 公积金's last posted three weeks ago."""
    made = {}
    for code, name, days in (("QY-RSJ", "清源人社", (18,)), ("QY-GJJ", "清源公积金", (2,))):
        unit = demo_units[code]
        acc = await Account.create(
            code=code.lower(), unit=unit, platform="wechat", name=name,
            certified_subject=unit.name, status="active", opened_on=dt.date(2025, 1, 1),
            live_slot=f"{unit.id}:wechat", created_at=at(1), updated_at=at(1),
        )  # fmt: skip
        for day in days:
            await Post.create(
                account=acc, title=f"{name}{day}日", published_at=at(day), created_at=at(day)
            )
        made[code] = acc
    return made


async def test_a_supervisor_builds_reads_and_exports_the_patrol(app, sender, city):
    s = await login_as(app, sender, "supervisor")
    resp, page = await post_form(s, "/console/supervision/weekly", {"date": "2026-11-18"})
    assert resp.status_code == 200 and "已生成 2026-11-16 至 2026-11-22 周巡查报告" in page
    assert "检查账号 2 合格 1 单项否决 1" in page
    assert "监测前14天内未发布信息" in page and "当周未更新 -5" in page
    assert page.index("清源公积金") < page.index("清源人社 ")  # failed accounts first
    await Account.filter(name="清源公积金").update(status="suspended")
    await post_form(s, "/console/supervision/weekly", {"date": "2026-11-18", "rebuild": "1"})
    page = text(await (await s.client.get("/console/supervision/weekly/2026-11-16")).get_data())
    assert "清源公积金 微信公众号 暂停更新" in page  # the account's state beside its name
    only_failed = text(
        await (await s.client.get("/console/supervision/weekly/2026-11-16?failed=1")).get_data()
    )
    assert "1 个账号" in only_failed and "清源人社 微信" not in only_failed
    gjj = city["QY-GJJ"].unit_id  # type: ignore[attr-defined]
    by_unit = text(
        await (
            await s.client.get(f"/console/supervision/weekly/2026-11-16?unit_id={gjj}")
        ).get_data()
    )
    assert "1 个账号" in by_unit and "清源公积金" in by_unit
    body = (await (await s.client.get("/console/supervision")).get_data()).decode()
    assert "2026-11-16 至 2026-11-22" in text(body.encode())

    resp = await s.client.get("/console/supervision/weekly/2026-11-16.xlsx")
    assert resp.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(await resp.get_data()))
    assert wb.sheetnames == ["概况", "账号", "单位排名", "扣分依据"]
    accounts = {r[1]: r for r in wb["账号"].iter_rows(min_row=2, values_only=True)}
    assert accounts["清源公积金"][6] == 95 and accounts["清源公积金"][7] == "不合格"
    assert accounts["清源人社"][6] == 100 and accounts["清源人社"][3] == 1
    assert wb["账号"].freeze_panes == "A2"
    assert wb["单位排名"]._charts  # a native bar chart of the units' scores
    evidence = [r for r in wb["扣分依据"].iter_rows(min_row=2, values_only=True)]
    assert evidence[0][1:3] == ("清源公积金", "单项否决")


async def test_unit_staff_see_their_own_rows_and_others_are_refused(app, sender, city, deps):
    s = await login_as(app, sender, "supervisor")
    await post_form(s, "/console/supervision/weekly", {"date": "2026-11-18"})
    editor = await login_as(app, sender, "editor")
    page = text(
        await (await editor.client.get("/console/supervision/weekly/2026-11-16")).get_data()
    )
    assert "清源人社" in page and "清源公积金 " not in page.replace("清源公积金局", "")
    gjj = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    page = text(await (await gjj.client.get("/console/supervision/weekly/2026-11-16")).get_data())
    assert "监测前14天内未发布信息" in page
    resp, page = await post_form(editor, "/console/supervision/weekly", {"date": "2026-11-11"})
    assert "只有督查人员可以生成巡查报告" in page
    assert await Report.filter(period_start=dt.date(2026, 11, 9)).count() == 0
    handler = await login_as(app, sender, "handler")
    resp = await handler.client.get("/console/supervision/weekly/2026-11-16")
    assert resp.status_code == 403
    resp = await s.client.get("/console/supervision/weekly/2026-11-02")
    assert resp.status_code == 404 and "巡查报告" in text(await resp.get_data())


async def test_the_units_ranking_is_drawn_once_for_every_reader(
    app, sender, city, deps, clock, monkeypatch
):
    """The ranking is the whole report's, the same for every reader: the first view draws it and
    the editors of other units find it drawn; the score distribution is of the reader's own
    accounts, so each scope has its own."""
    monkeypatch.setattr(charts, "_cache", OrderedDict())  # no chart of an earlier test's report
    drawn: dict[str, int] = {"score_distribution": 0, "units_ranked": 0}

    def counted(chart: str):
        real = getattr(charts, chart)

        def draw(*args):
            drawn[chart] += 1
            return real(*args)

        return draw

    for chart in drawn:
        monkeypatch.setattr(charts, chart, counted(chart))
    await patrol.build_weekly(deps, Actor.system("周巡查"), dt.date(2026, 11, 18))
    page = "/console/supervision/weekly/2026-11-16"
    svgs = {}
    for who, password in (("editor", DEMO_PASSWORD), ("gjjeditor", OTHER_PASSWORD)):
        reader = await login_as(app, sender, who, password)
        html = (await (await reader.client.get(page)).get_data()).decode()
        svgs[who] = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
        assert len(svgs[who]) == 2 and "各单位得分排名" in svgs[who][1]
    assert drawn["units_ranked"] == 1  # the second unit's editor did not draw it again
    assert svgs["editor"][1] == svgs["gjjeditor"][1]
    assert drawn["score_distribution"] == 2  # but each unit's distribution is its own
    assert "共 1 个" in svgs["editor"][0] and "共 1 个" in svgs["gjjeditor"][0]
    assert svgs["editor"][0] != svgs["gjjeditor"][0]  # 人社's passed, 公积金's vetoed
    s = await login_as(app, sender, "supervisor")
    html = (await (await s.client.get(page)).get_data()).decode()
    assert "共 2 个" in html and html.count(svgs["editor"][1]) == 1
    assert drawn == {"score_distribution": 3, "units_ranked": 1}
    clock.advance(minutes=5)
    await post_form(s, "/console/supervision/weekly", {"date": "2026-11-18", "rebuild": "1"})
    assert drawn == {"score_distribution": 4, "units_ranked": 2}  # a rebuilt report's are new


async def test_admins_edit_the_rubric_into_a_new_version(app, sender, city):
    admin = await login_as(app, sender, "admin")
    page = text(await (await admin.client.get("/console/supervision/rubric")).get_data())
    assert "第 1 版" in page and "当周未更新" in page
    form = {"pass_score": "60", "rollup": "mean", "note": "加大更新考核"}
    for code in ("no_post", "serious_error", "poor_interaction", "unfiled"):
        form[f"veto_{code}_on"] = "1"
    form.update({"veto_no_post_days": "14", "veto_poor_interaction_overdue_letters": "1",
                 "veto_poor_interaction_unanswered_days": "7", "veto_poor_interaction_asks": "10",
                 "veto_unfiled_legacy_before": "2026-01-01"})  # fmt: skip
    for code, points, cap in (
        ("weekly_minimum", 10, 20), ("repost_no_source", 2, 10), ("ads_unhandled", 5, 15),
        ("urgent_task_missed", 3, 15), ("letter_late", 2, 20), ("dissatisfied", 1, 10),
        ("name_warning", 5, 10), ("kb_stale", 1, 10),
    ):  # fmt: skip
        form[f"ded_{code}_points"], form[f"ded_{code}_cap"] = str(points), str(cap)
    _, page = await post_form(
        admin, "/console/supervision/rubric", {**form, "ded_kb_stale_cap": "二十"}
    )
    assert "须为数字" in page and await Rubric.filter().count() == 1
    _, page = await post_form(admin, "/console/supervision/rubric", form)
    assert "已更新为第 2 版" in page
    s = await login_as(app, sender, "supervisor")
    _, page = await post_form(s, "/console/supervision/rubric", form)
    assert "此操作需要以下角色之一：系统管理员" in page
    _, page = await post_form(s, "/console/supervision/weekly", {"date": "2026-11-18"})
    assert "当周未更新 -10" in page and "评分细则第 2 版" in page
