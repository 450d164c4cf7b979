"""Issue 15's bulletin in real Chromium: a supervisor opens 季通报, builds the third quarter's
bulletin, reads its charts, edits its opening and exports the PDF (read back with pdftotext);
then an editor of 人社局 finds the unit's rectification item of October's list on the to-do list
and answers it. The records are those of tests/supervision/test_bulletin.py."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from org.auth import actor_for
from org.models import Staff
from supervision import rectification
from supervision.models import RectifyItem
from tests.accounts.conftest import demo_units  # noqa: F401
from tests.console.conftest import ARTIFACTS, flash, sms_login
from tests.supervision.test_bulletin import pdf_text, quarter, squeezed  # noqa: F401

pytestmark = pytest.mark.browser

OPENING = "为进一步规范全市政务新媒体运行管理，现将2026年第三季度检查情况通报如下。"


async def test_a_supervisor_issues_the_bulletin_and_a_unit_answers_its_item(
    new_page,
    sender,
    deps,
    quarter,  # noqa: F811
    tmp_path,
):
    from playwright.async_api import expect

    supervisor = await new_page()
    await sms_login(supervisor, sender, "supervisor", "孙丽")
    await supervisor.get_by_role("link", name="督查考核", exact=True).click()
    await supervisor.locator("nav.subnav").get_by_role("link", name="季通报").click()
    await expect(supervisor.get_by_role("heading", name="督查考核")).to_be_visible()
    await expect(supervisor.get_by_label("季度")).to_have_value("3")  # the last quarter over
    await supervisor.get_by_role("button", name="生成季度通报").click()
    await expect(flash(supervisor)).to_contain_text("已生成2026年第三季度通报（草稿）")
    await expect(supervisor.get_by_role("heading", level=1)).to_contain_text(
        "关于2026年第三季度政务新媒体检查情况的通报"
    )
    charts = supervisor.locator("article figure svg")
    await expect(charts).to_have_count(4)
    await expect(supervisor.locator("article figure").nth(2)).to_have_attribute(
        "aria-label", "各单位得分排名"
    )
    box = await charts.first.bounding_box()
    assert box and 300 < box["width"] <= 760  # scaled to the page, not its points

    await supervisor.get_by_label("通报开头").fill(OPENING)
    await supervisor.get_by_role("button", name="保存修改").click()
    await expect(flash(supervisor)).to_contain_text("通报的开头和工作要求已保存")
    await expect(supervisor.locator("article .opening")).to_have_text(OPENING)
    ARTIFACTS.mkdir(exist_ok=True)
    await supervisor.screenshot(path=str(ARTIFACTS / "bulletin.png"), full_page=True)

    async with supervisor.expect_download() as info:
        await supervisor.get_by_role("link", name="导出 PDF").click()
    download = await info.value
    assert download.suggested_filename == "关于2026年第三季度政务新媒体检查情况的通报.pdf"
    body = Path(await download.path()).read_bytes()
    flat = squeezed(pdf_text(body, tmp_path))
    assert OPENING in flat
    assert "本季度共检查政务新媒体账号3个，合格2个" in flat and "草稿（未印发）" in flat
    pages = pdf_text(body, tmp_path).count("\f")
    assert f"第{pages}页共{pages}页" in flat

    # October's rectification list (built by the office on 1 November): 人社局's account has
    # posted nothing since 30 September.
    office = await actor_for(await Staff.get(username="supervisor").select_related("unit"))
    await rectification.build_month(deps, office, dt.date(2026, 10, 1))
    items = await RectifyItem.filter(unit_id=quarter["rsj"].id).order_by("id")
    assert [i.label for i in items] == ["监测前14天内未发布信息", "当周未更新"]

    editor = await new_page()
    await sms_login(editor, sender, "editor", "李晓梅")
    todo = editor.locator("ul.todo")
    await expect(todo).to_contain_text("待整改的问题 2")
    await todo.get_by_role("link", name=re.compile("待整改的问题")).click()
    rows = editor.locator("table.rectify-items tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("清源人社")
    await editor.get_by_role("link", name="监测前14天内未发布信息").click()
    await editor.get_by_label("整改情况说明").fill("已恢复更新，每周至少发布两条，专人负责。")
    await editor.get_by_role("button", name="上报整改情况").click()
    await expect(flash(editor)).to_contain_text("已上报整改情况，等待督查人员核验")
    await expect(editor.locator("h1 .pill")).to_have_text("待核验")
    await expect(editor.locator("table.timeline")).to_contain_text("已恢复更新")
    answered = await RectifyItem.get(id=items[0].id)
    assert answered.status == "submitted" and answered.note.startswith("已恢复更新")
