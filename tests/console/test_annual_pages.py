"""The annual-report and information-submission pages through the Quart test client: a
supervisor drafts the year's reports, the unit's editor fills one in and submits it by the form,
the reviewer returns it with a reason, a colleague who filled it in is told they may not review
it, the reviewer publishes it and it turns read-only; editors submit items, the office adopts
them, admins change the points; each unit sees its own rows; both XLSX exports are opened with
openpyxl, and the year's reports, one published report and the month's submissions bulletin as
PDF read back with pdftotext."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from accounts.models import Account, Post
from infra.clock import SHANGHAI
from org.access import Actor
from org.models import AuditRecord
from org.service import create_staff
from supervision.models import AnnualReport, Submission
from tests.accounts.conftest import OTHER_PASSWORD, actors, demo_units  # noqa: F401
from tests.console.test_posts_pages import post_form, text
from tests.org.conftest import login_as
from tests.supervision.test_bulletin import pdf_text, squeezed


def at(month: int, day: int, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, 10, tzinfo=SHANGHAI)


@pytest.fixture
async def city(demo_units, deps):  # noqa: F811
    """人社局's and 公积金's accounts with posts in 2026; a colleague of 人社局 who both edits
    and reviews. The clock stands on Tuesday 5 January 2027."""
    deps.clock.set(at(1, 5, 2027))
    made = {}
    for code, name, platform in (
        ("QY-RSJ", "清源人社", "wechat"),
        ("QY-GJJ", "清源公积金", "weibo"),
    ):
        unit = demo_units[code]
        acc = await Account.create(
            code=code.lower(), unit=unit, platform=platform, name=name,
            status="active", opened_on=dt.date(2025, 1, 1), live_slot=f"{unit.id}:{platform}",
            created_at=at(1, 1), updated_at=at(1, 1),
        )  # fmt: skip
        for month in (3, 6, 9):
            await Post.create(account=acc, title=f"{name}{month}月", published_at=at(month, 1),
                              created_at=at(month, 1), is_repost=month == 9)  # fmt: skip
        made[code] = acc
    await create_staff(
        deps,
        Actor.system(),
        {
            "username": "both", "real_name": "王双岗", "mobile": "13700000031",
            "unit_id": demo_units["QY-RSJ"].id, "roles": ["editor", "reviewer"],
            "password": OTHER_PASSWORD,
        },
    )  # fmt: skip
    return made


async def page(session, url: str) -> tuple[int, str]:
    resp = await session.client.get(url)
    return resp.status_code, text(await resp.get_data())


async def xlsx(session, url: str):
    resp = await session.client.get(url)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    return openpyxl.load_workbook(io.BytesIO(await resp.get_data()))


async def test_the_annual_report_from_draft_to_published(app, sender, city):
    s = await login_as(app, sender, "supervisor")
    _, body = await post_form(s, "/console/supervision/annual/draft", {"year": "2026"})
    assert "已生成 2026 年度报表草稿 2 份" in body
    assert "报表 2 待填报 2 待审核 0 已退回 0 已公开 0" in body
    _, body = await post_form(s, "/console/supervision/annual/draft", {"year": "2026"})
    assert "均已生成，没有新增" in body
    report = await AnnualReport.get(account_id=city["QY-RSJ"].id)
    url = f"/console/supervision/annual/{report.id}"

    editor = await login_as(app, sender, "editor")
    status, body = await page(editor, "/console/supervision/annual")
    assert status == 200 and "督查考核" in body and "年度报表" in body
    assert "清源人社" in body and "清源公积金" not in body
    status, body = await page(editor, url)
    assert "发布信息 3" in body and "原创 2" in body and "转载 1" in body
    assert "保存并提交审核" in body and "提交审核前还需填写：粉丝（关注）数、全年阅读量" in body
    form = {"followers": "12,000", "reads": "", "mechanisms": "专人负责，三审三校。"}
    _, body = await post_form(editor, f"{url}/fill", {**form, "then": "submit"})
    assert "请先填写全年阅读量再提交审核" in body  # saved what was given, not submitted
    assert (await AnnualReport.get(id=report.id)).followers == 12000
    _, body = await post_form(editor, f"{url}/fill", {**form, "reads": "500000", "then": "submit"})
    assert "已提交审核" in body and "待审核" in body and "保存并提交审核" not in body

    reviewer = await login_as(app, sender, "reviewer")
    _, body = await page(reviewer, url)
    assert "审核通过并公开" in body and "12000" in body and "500000" in body
    _, body = await post_form(reviewer, f"{url}/review", {"decision": "return", "opinion": ""})
    assert "请填写退回理由" in body
    _, body = await post_form(
        reviewer, f"{url}/review", {"decision": "return", "opinion": "阅读量请核对平台后台"}
    )
    assert "已退回单位修改" in body and "退回理由 阅读量请核对平台后台" in body

    # A colleague who fills it in may not review it: told why, instead of the buttons.
    both = await login_as(app, sender, "both", OTHER_PASSWORD)
    _, body = await post_form(both, f"{url}/fill", {**form, "reads": "480000", "then": "submit"})
    assert "已提交审核" in body
    assert "不得审核本人填报的年度报表" in body and "审核通过并公开" not in body
    _, body = await post_form(both, f"{url}/review", {"decision": "approve"})
    assert "不得审核本人填报的年度报表" in body
    assert (await AnnualReport.get(id=report.id)).status == "submitted"

    _, body = await post_form(reviewer, f"{url}/review", {"decision": "approve", "opinion": ""})
    assert "已审核通过，年度报表已公开" in body and "已公开" in body
    _, body = await page(editor, url)
    assert "保存并提交审核" not in body and "480000" in body
    _, body = await post_form(editor, f"{url}/fill", {**form, "reads": "1"})
    assert "年度报表已公开，不能再修改" in body
    assert (await AnnualReport.get(id=report.id)).reads == 480000
    for label in (
        "生成草稿",
        "填报",
        "提交审核",
        "退回修改：阅读量请核对平台后台",
        "审核通过并公开",
    ):
        assert label in body
    assert await AuditRecord.filter(action="annual.publish", outcome="ok").count() == 1


async def test_annual_reports_by_unit_and_their_export(app, sender, city):
    s = await login_as(app, sender, "supervisor")
    await post_form(s, "/console/supervision/annual/draft", {"year": "2026"})
    _, body = await page(s, "/console/supervision/annual?year=2026")
    assert "清源人社" in body and "清源公积金" in body
    wb = await xlsx(s, "/console/supervision/annual.xlsx?year=2026")
    assert wb.sheetnames == ["概况", "年度报表"]
    assert wb["年度报表"].freeze_panes == "A2"
    header = [c.value for c in wb["年度报表"][1]]
    assert header[:5] == ["单位", "账号", "平台", "状态", "发布信息"]
    data = {r[1]: r for r in wb["年度报表"].iter_rows(min_row=2, values_only=True)}
    assert set(data) == {"清源人社", "清源公积金"}
    assert data["清源人社"][2:7] == ("微信公众号", "待填报", 3, 2, 1)
    summary = dict(wb["概况"].iter_rows(min_row=2, values_only=True))
    assert summary["公开期限"] == "2027-01-31" and summary["待填报"] == 2

    gjj = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    wb = await xlsx(gjj, "/console/supervision/annual.xlsx?year=2026")
    assert [r[1] for r in wb["年度报表"].iter_rows(min_row=2, values_only=True)] == ["清源公积金"]
    rsj = await AnnualReport.get(account_id=city["QY-RSJ"].id)
    status, _ = await page(gjj, f"/console/supervision/annual/{rsj.id}")
    assert status == 404
    _, body = await post_form(gjj, f"/console/supervision/annual/{rsj.id}/fill", {"reads": "1"})
    assert "年度报表不存在" in body
    status, _ = await page(await login_as(app, sender, "handler"), "/console/supervision/annual")
    assert status == 403
    editor = await login_as(app, sender, "editor")
    _, body = await post_form(editor, "/console/supervision/annual/draft", {"year": "2025"})
    assert "只有督查人员可以生成年度报表" in body
    status, body = await page(s, "/console/supervision/annual?year=20x6")
    assert status == 400 and "年份格式应为 2026" in body


async def test_submissions_register_adoption_points_and_ranking(app, sender, city):
    editor = await login_as(app, sender, "editor")
    _, body = await page(editor, "/console/supervision/submissions")
    assert "报送信息" in body and "登记采用" not in body and "保存分值" not in body
    _, body = await post_form(
        editor,
        "/console/supervision/submissions",
        {"title": "春风行动招聘会", "summary": "三千岗位", "link": "https://rsj.qy.gov.cn/1"},
    )
    assert "已报送「春风行动招聘会」" in body and "三千岗位" in body
    _, body = await post_form(editor, "/console/supervision/submissions", {"title": "空"})
    assert "请填写链接或正文" in body
    item = await Submission.get(title="春风行动招聘会")
    gjj = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    _, body = await page(gjj, "/console/supervision/submissions")
    assert "春风行动招聘会" not in body and "本月尚无报送信息" in body

    office = await login_as(app, sender, "supervisor")
    adopt = f"/console/supervision/submissions/{item.id}/adopt"
    _, body = await post_form(
        office, adopt, {"level": "provincial", "adopted_on": "2027-01-05", "note": "省政府网站"}
    )
    assert "已登记省级采用，计 3 分" in body and "省级采用 2027-01-05 · 3 分 · 省政府网站" in body
    _, body = await post_form(editor, adopt, {"level": "city", "adopted_on": "2027-01-05"})
    assert "此操作需要以下角色之一：督查人员" in body
    _, body = await page(editor, "/console/supervision/submissions?month=2027-01")
    assert "1 清源市人力资源和社会保障局 1 1 0 1 0 3 3" in body  # the ranking row

    admin = await login_as(app, sender, "admin")
    _, body = await post_form(
        admin,
        "/console/supervision/submissions/points",
        {"city": "2", "provincial": "3", "central": "6", "month": "2027-01"},
    )
    assert "采用分值已更新" in body and "市级 2 分，省级 3 分，中央 6 分" in body
    _, body = await post_form(
        office, "/console/supervision/submissions/points", {"city": "9", "provincial": "9"}
    )
    assert "此操作需要以下角色之一：系统管理员" in body
    _, body = await post_form(
        office, f"/console/supervision/submissions/{item.id}/unadopt",
        {"level": "provincial", "reason": "误登记"},
    )  # fmt: skip
    assert "已撤销该采用记录" in body
    await post_form(office, adopt, {"level": "central", "adopted_on": "2027-01-05"})

    wb = await xlsx(office, "/console/supervision/submissions.xlsx?month=2027-01")
    assert wb.sheetnames == ["概况", "单位排名", "采用明细"]
    ranked = list(wb["单位排名"].iter_rows(min_row=2, values_only=True))
    assert ranked[0][:4] == (1, "清源市人力资源和社会保障局", 1, 1) and ranked[0][7] == 6
    assert wb["单位排名"]._charts
    assert [r[2:5] for r in wb["采用明细"].iter_rows(min_row=2, values_only=True)] == [
        ("春风行动招聘会", "中央", 6)
    ]
    wb = await xlsx(gjj, "/console/supervision/submissions.xlsx?month=2027-01")
    assert list(wb["采用明细"].iter_rows(min_row=2, values_only=True)) == []
    assert len(list(wb["单位排名"].iter_rows(min_row=2))) == 9
    handler = await login_as(app, sender, "handler")
    status, _ = await page(handler, "/console/supervision/submissions")
    assert status == 403


async def pdf(session, url: str, tmp_path, *options: str) -> str:
    resp = await session.client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    return squeezed(pdf_text(await resp.get_data(), tmp_path, *options))


async def test_annual_reports_as_pdf_documents(app, sender, city, tmp_path):
    s = await login_as(app, sender, "supervisor")
    await post_form(s, "/console/supervision/annual/draft", {"year": "2026"})
    report = await AnnualReport.get(account_id=city["QY-RSJ"].id)
    url = f"/console/supervision/annual/{report.id}"
    editor = await login_as(app, sender, "editor")
    form = {"followers": "12000", "reads": "480000", "mechanisms": "专人负责，三审三校。"}
    await post_form(editor, f"{url}/fill", {**form, "then": "submit"})
    reviewer = await login_as(app, sender, "reviewer")
    _, body = await post_form(reviewer, f"{url}/review", {"decision": "approve", "opinion": ""})
    assert "已审核通过" in body

    _, body = await page(s, "/console/supervision/annual?year=2026")
    assert "导出 PDF" in body
    text_ = await pdf(s, "/console/supervision/annual.pdf?year=2026", tmp_path)
    assert text_.startswith("2026年度政务新媒体年度报表（公开期限2027年1月31日")
    assert "年度报表2份，其中待填报1份，待审核0份，已退回0份，已公开1份" in text_
    assert "专人负责，三审三校。" in text_
    assert text_.endswith("清源市政务公开办（电子政务办）2027年1月5日第2页共2页")
    rows = await pdf(s, "/console/supervision/annual.pdf?year=2026", tmp_path, "-layout")
    # Posts, originals, reposts, questions, answered, letters, replied, the two averages
    # (none: no letter), then the followers and reads the unit entered.
    assert "清源人社微信公众号已公开3210000——12000480000" in rows
    assert "清源公积金微博待填报3210000————" in rows

    # A unit's staff: their own unit's reports, signed by the unit.
    gjj = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    text_ = await pdf(gjj, "/console/supervision/annual.pdf?year=2026", tmp_path)
    assert "年度报表1份，其中待填报1份" in text_ and "清源公积金" in text_
    assert "清源人社" not in text_ and "人力资源" not in text_ and "三审三校" not in text_
    assert "清源市住房公积金管理中心2027年1月5日第1页共1页" in text_

    # One published report as the unit makes it public.
    html = (await (await editor.client.get(url)).get_data()).decode()
    assert f'href="{url}.pdf">导出 PDF</a>' in html
    text_ = await pdf(editor, f"{url}.pdf", tmp_path)
    assert text_.startswith("2026年度政务新媒体工作年度报表（清源人社·微信公众号）")
    assert "主办单位清源市人力资源和社会保障局状态已公开" in text_
    for figure in ("发布信息3", "原创2", "转载1", "收到留言0", "平均答复天数（自然日）—"):
        assert figure in text_
    assert "粉丝（关注）数12000单位填报" in text_ and "全年阅读量480000单位填报" in text_
    assert "四、机制保障情况专人负责，三审三校。" in text_
    assert text_.endswith("清源市人力资源和社会保障局2027年1月5日第1页共1页")
    assert "未公开" not in text_
    assert (await gjj.client.get(f"{url}.pdf")).status_code == 404
    draft = await AnnualReport.get(account_id=city["QY-GJJ"].id)
    text_ = await pdf(gjj, f"/console/supervision/annual/{draft.id}.pdf", tmp_path)
    assert "未公开（待填报）" in text_ and "四、机制保障情况未填报。" in text_


async def test_the_month_of_submissions_as_a_pdf_bulletin(app, sender, city, tmp_path):
    editor = await login_as(app, sender, "editor")
    await post_form(
        editor,
        "/console/supervision/submissions",
        {"title": "春风行动招聘会", "summary": "三千岗位", "link": "https://rsj.qy.gov.cn/1"},
    )
    item = await Submission.get(title="春风行动招聘会")
    office = await login_as(app, sender, "supervisor")
    adopt = f"/console/supervision/submissions/{item.id}/adopt"
    await post_form(office, adopt, {"level": "central", "adopted_on": "2027-01-05"})
    await post_form(office, adopt, {"level": "city", "adopted_on": "2027-01-05", "note": "市网"})
    _, body = await page(office, "/console/supervision/submissions?month=2027-01")
    assert "导出 PDF" in body

    url = "/console/supervision/submissions.pdf?month=2027-01"
    text_ = await pdf(office, url, tmp_path)
    assert text_.startswith("2027年1月政务信息报送情况通报（2027年1月1日至1月5日）")
    assert "各单位共报送政务信息1条，被采用1条（采用市级1条、省级0条、中央1条）" in text_
    assert "计分标准：市级采用每条1分、省级采用每条3分、中央采用每条5分" in text_
    assert text_.endswith("清源市政务公开办（电子政务办）2027年1月5日第2页共2页")
    assert "第1页共2页" in text_
    rows = await pdf(office, url, tmp_path, "-layout")
    # Rank, submitted, adopted, by level, the month's points, the year's three totals.
    assert "1清源市人力资源和社会保障局111016116" in rows
    assert "2027-01-05清源市人力资源和社会保障局春风行动招聘会中央5" in rows
    assert "春风行动招聘会市级1市网" in rows

    # Another unit's staff: the whole ranking (the office publishes it), none of the adoptions.
    gjj = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    text_ = await pdf(gjj, url, tmp_path)
    assert "清源市人力资源和社会保障局111016116" in text_
    assert "春风行动招聘会" not in text_ and "二、采用信息明细" in text_
