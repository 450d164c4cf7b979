"""In real Chromium: an editor files an opening request, two leaders approve it, the account is
active; a second request for the same platform is refused with the message (002 §7)."""

from __future__ import annotations

import pytest

from tests.console.conftest import choose_option, flash, sms_login

pytestmark = pytest.mark.browser


async def approve(page, sender, username, real_name, comment):
    from playwright.async_api import expect

    await sms_login(page, sender, username, real_name)
    await page.get_by_role("link", name="备案审批", exact=True).click()
    await page.get_by_role("link", name="开设 #").first.click()
    await page.get_by_label("审批意见").fill(comment)
    await page.get_by_role("button", name="同意").click()
    await expect(flash(page)).to_contain_text("已审批通过")


async def test_opening_request_approved_by_two_leaders(new_page, sender, settings):
    from playwright.async_api import expect

    settings.filing_final_unit_code = "QY-BGS"
    editor = await new_page()
    await sms_login(editor, sender, "editor", "李晓梅")
    await editor.get_by_role("link", name="账号台账", exact=True).click()
    await editor.get_by_role("link", name="申请开设账号").click()
    await choose_option(editor, "platform", "微信公众号")
    await editor.get_by_label("账号名称").fill("清源人社")
    await editor.get_by_label("申请理由").fill("发布社保政策，回应群众咨询")
    await editor.get_by_role("button", name="提交申请").click()
    await expect(flash(editor)).to_contain_text("申请已提交")
    await expect(
        editor.get_by_text("当前等待「清源市人力资源和社会保障局」领导审批")
    ).to_be_visible()

    await approve(await new_page(), sender, "leader", "刘伟", "同意")
    city = await new_page()
    await approve(city, sender, "cityleader", "赵明", "同意开设")
    await expect(city.get_by_text("已通过")).to_be_visible()

    await editor.get_by_role("link", name="账号台账", exact=True).click()
    row = editor.get_by_role("row", name="清源人社")
    await expect(row).to_contain_text("运行中")

    # A second WeChat account of the same unit is refused, naming the first.
    await editor.get_by_role("link", name="申请开设账号").click()
    await choose_option(editor, "platform", "微信公众号")
    await editor.get_by_label("账号名称").fill("清源社保")
    await editor.get_by_label("申请理由").fill("再开一个")
    await editor.get_by_role("button", name="提交申请").click()
    await expect(flash(editor)).to_contain_text("已有账号「清源人社」")
    await expect(flash(editor)).to_contain_text("同一单位同一平台只能开设一个账号")
