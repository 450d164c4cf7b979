"""The quarterly bulletin's pages through the Quart test client, on the records of
tests/supervision/test_bulletin.py (the third quarter of 2026): a supervisor builds it from the
list, reads it with its charts inline, edits the opening, exports XLSX and PDF, and issues it;
unit staff see nothing of a draft, then the issued bulletin with their own rows; the weekly
patrol page has its charts and a PDF."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import openpyxl

from org.models import AuditRecord
from supervision.models import Report
from tests.accounts.conftest import OTHER_PASSWORD, demo_units  # noqa: F401
from tests.console.test_posts_pages import post_form, text
from tests.org.conftest import login_as
from tests.supervision.test_bulletin import pdf_text, quarter, squeezed  # noqa: F401

PAGE = "/console/supervision/quarterly/2026/3"


async def test_a_supervisor_builds_edits_exports_and_issues(app, sender, quarter, tmp_path):  # noqa: F811
    s = await login_as(app, sender, "supervisor")
    page = text(await (await s.client.get("/console/supervision")).get_data())
    assert "季通报" in page
    listing = await s.client.get("/console/supervision/quarterly")
    body = text(await listing.get_data())
    assert "尚无季度通报" in body and "生成季度通报" in body
    assert 'value="2026"' in (await listing.get_data()).decode()  # the last finished quarter
    resp, page = await post_form(
        s, "/console/supervision/quarterly", {"year": "2026", "quarter": "4"}
    )
    assert "该季度尚未结束" in page
    resp, page = await post_form(
        s, "/console/supervision/quarterly", {"year": "2026", "quarter": "3"}
    )
    assert "已生成2026年第三季度通报（草稿）" in page
    assert "关于2026年第三季度政务新媒体检查情况的通报 草稿" in page
    assert "检查账号 3 合格 2 （66.7%） 单项否决 1 收到留言 5 按期答复率 33.3% 满意率 50%" in page
    assert "为进一步加强政府网站和政务新媒体管理" in page
    assert "清源公积金 微博 监测前14天内未发布信息" in page
    assert "本季度到期整改事项4项，按期完成1项" in page
    html = (await (await s.client.get(PAGE)).get_data()).decode()
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(svgs) == 4
    for svg in svgs:
        ET.fromstring(svg)  # well-formed, inline
    assert "各单位得分排名" in svgs[2] and "近四个季度留言按期答复情况" in svgs[3]
    assert "<script" not in "".join(svgs)

    resp, page = await post_form(
        s,
        f"{PAGE}/edit",
        {
            "opening": "为加强全市政务新媒体管理，现将第三季度检查情况通报如下。",
            "requirements": "各单位抓好整改。",
        },
    )
    assert "通报的开头和工作要求已保存" in page
    assert "为加强全市政务新媒体管理，现将第三季度检查情况通报如下。" in page
    assert "为进一步加强" not in page

    resp = await s.client.get(f"{PAGE}.xlsx")
    assert (
        resp.status_code == 200 and "bulletin-2026-Q3.xlsx" in resp.headers["Content-Disposition"]
    )
    wb = openpyxl.load_workbook(io.BytesIO(await resp.get_data()))
    assert dict(wb["概况"].iter_rows(min_row=2, values_only=True))["检查账号数"] == 3
    resp = await s.client.get(f"{PAGE}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "filename*=UTF-8''%E5%85%B3%E4%BA%8E2026" in resp.headers["Content-Disposition"]
    flat = squeezed(pdf_text(await resp.get_data(), tmp_path))
    assert "为加强全市政务新媒体管理，现将第三季度检查情况通报如下。" in flat
    assert "草稿（未印发）" in flat and "第1页共" in flat

    resp, page = await post_form(s, f"{PAGE}/issue")
    assert "通报已印发" in page and "保存修改" not in page and "印发通报" not in page
    resp, page = await post_form(s, f"{PAGE}/edit", {"opening": "再改", "requirements": ""})
    assert "通报已印发，不能再修改" in page
    assert (await Report.get(kind="quarterly")).opening.startswith("为加强全市")
    assert await AuditRecord.filter(action="report.issue").count() == 1


async def test_unit_staff_read_issued_bulletins_with_their_own_rows(app, sender, quarter):  # noqa: F811
    s = await login_as(app, sender, "supervisor")
    await post_form(s, "/console/supervision/quarterly", {"year": "2026", "quarter": "3"})
    gjj = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    assert (await gjj.client.get(PAGE)).status_code == 404  # a draft is the office's
    page = text(await (await gjj.client.get("/console/supervision/quarterly")).get_data())
    assert "尚无已印发的季度通报" in page and "生成季度通报" not in page
    resp, page = await post_form(
        gjj, "/console/supervision/quarterly", {"year": "2026", "quarter": "3"}
    )
    assert "只有督查人员可以生成、修改和印发季度通报" in page
    resp, page = await post_form(gjj, f"{PAGE}/issue")
    assert "只有督查人员" in page

    await post_form(s, f"{PAGE}/issue")
    page = text(await (await gjj.client.get(PAGE)).get_data())
    assert "清源公积金 微博 监测前14天内未发布信息" in page
    assert "河西教育" not in page  # another unit's problems and letters
    assert "河西县教育局" in page  # but the ranking names every unit
    assert "保存修改" not in page
    editor = await login_as(app, sender, "editor")
    page = text(await (await editor.client.get(PAGE)).get_data())
    assert "清源公积金" not in page and "监测前14天内未发布信息" not in page
    resp = await editor.client.get(f"{PAGE}.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(await resp.get_data()))
    assert list(wb["单项否决"].iter_rows(min_row=2, values_only=True)) == []
    handler = await login_as(app, sender, "handler")
    assert (await handler.client.get(PAGE)).status_code == 403


async def test_the_weekly_patrol_has_charts_and_a_pdf(app, sender, quarter, tmp_path):  # noqa: F811
    s = await login_as(app, sender, "supervisor")
    resp, page = await post_form(s, "/console/supervision/weekly", {"date": "2026-09-23"})
    assert "已生成 2026-09-21 至 2026-09-27 周巡查报告" in page
    html = (
        await (await s.client.get("/console/supervision/weekly/2026-09-21")).get_data()
    ).decode()
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(svgs) == 2 and "账号得分分布" in svgs[0] and "各单位得分排名" in svgs[1]
    assert "导出 PDF" in html
    resp = await s.client.get("/console/supervision/weekly/2026-09-21.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    flat = squeezed(pdf_text(await resp.get_data(), tmp_path))
    assert "本周共巡查政务新媒体账号3个，合格2个，被单项否决1个" in flat
    editor = await login_as(app, sender, "gjjeditor", OTHER_PASSWORD)
    resp = await editor.client.get("/console/supervision/weekly/2026-09-21.pdf")
    flat = squeezed(pdf_text(await resp.get_data(), tmp_path))
    assert "清源公积金" in flat and "河西教育" not in flat and "清源人社" not in flat
