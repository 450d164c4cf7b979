"""In real Chromium: an admin keeps the 错敏词 lists on /console/wording (a leader added and
given a new title, the house-style rule 其它 switched off), and an editor only reads them.
A screenshot of the leaders' list goes to ``test-artifacts/wording.png``."""

from __future__ import annotations

import pytest

from publishing.models import WordingRule
from tests.console.conftest import ARTIFACTS, flash, sms_login

pytestmark = pytest.mark.browser


async def test_an_admin_keeps_the_lists_and_an_editor_reads_them(new_page, sender):
    from playwright.async_api import expect

    admin = await new_page()
    await sms_login(admin, sender, "admin", "王建国")
    await admin.get_by_role("link", name="错敏词库", exact=True).click()
    await expect(admin.get_by_role("heading", name="错敏词库")).to_be_visible()
    await expect(admin.get_by_role("row", name="登录")).not_to_have_count(0)  # the starter set

    await admin.get_by_role("link", name="领导姓名职务").click()
    await expect(admin.get_by_text("尚未录入领导名单")).to_be_visible()
    add = admin.locator("form[action$='/console/wording']")
    for name, title in (("钟山岳", "市委书记"), ("赵明", "市委副书记、市长")):
        await add.get_by_label("姓名").fill(name)
        await add.get_by_label("职务").fill(title)
        await add.get_by_role("button", name="添加领导").click()
        await expect(flash(admin)).to_contain_text(f"已加入词库：“{name}”")
    await expect(admin.get_by_role("row", name="赵明")).to_contain_text("2")

    row = admin.get_by_role("row", name="赵明")
    await row.get_by_text("修改").click()
    await row.get_by_label("职务").fill("市委副书记，代市长")
    await row.get_by_label("排序").fill("1")
    await row.get_by_role("button", name="保存").click()
    await expect(flash(admin)).to_contain_text("已保存“赵明”")
    first = admin.locator("table.rules tbody tr").first
    await expect(first).to_contain_text("赵明")
    await expect(first).to_contain_text("市委副书记、代市长")
    ARTIFACTS.mkdir(exist_ok=True)
    await admin.screenshot(path=str(ARTIFACTS / "wording.png"), full_page=True)

    await admin.get_by_role("link", name="文风").click()
    row = admin.get_by_role("row", name="其它")
    await row.get_by_role("button", name="停用").click()
    await expect(flash(admin)).to_contain_text("已停用“其它”")
    await expect(admin.get_by_role("row", name="其它")).to_contain_text("已停用")
    assert not (await WordingRule.get(kind="style", pattern="其它")).active

    editor = await new_page()
    await sms_login(editor, sender, "editor", "李晓梅")
    await editor.goto("/console/wording?kind=leader")
    await expect(editor.get_by_role("row", name="赵明")).to_be_visible()
    await expect(editor.get_by_role("button", name="停用")).to_have_count(0)
    await expect(editor.get_by_role("button", name="添加领导")).to_have_count(0)
