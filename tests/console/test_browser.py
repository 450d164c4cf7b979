"""The staff console in real headless Chromium: login, units, staff, TOTP, audit, lockout."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest

from org.demo import DEMO_PASSWORD
from tests.console.conftest import (
    ARTIFACTS,
    DASHBOARD,
    choose_option,
    enter_code,
    flash,
    logout,
    open_login,
    sms_login,
    submit_password,
)

pytestmark = pytest.mark.browser


async def test_admin_and_supervisor_journey(new_page, sender):
    from playwright.async_api import expect

    page = await new_page()

    # 1. The admin logs in: a wrong password, then the right one; a wrong SMS code, then the
    # code that was sent.
    await open_login(page)
    await submit_password(page, "admin", "Wrong2026pw")
    await expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    await submit_password(page, "admin", DEMO_PASSWORD)
    await expect(page.get_by_role("heading", name="验证身份")).to_be_visible()
    await expect(page.get_by_text("验证码已发送至 138****0001")).to_be_visible()
    wrong_code = f"{(int(sender.last_code()) + 1) % 10**6:06d}"
    await enter_code(page, wrong_code)
    await expect(page.get_by_role("alert")).to_contain_text("验证码错误")
    await enter_code(page, sender.last_code())
    await page.wait_for_url(DASHBOARD)
    await expect(page).to_have_title(re.compile("^工作台"))
    await expect(page.get_by_role("heading", name="您好，王建国")).to_be_visible()
    await expect(page.locator("header")).to_contain_text("王建国")

    # 2. A new unit under the city government.
    await page.get_by_role("link", name="单位管理", exact=True).click()
    await expect(page.get_by_role("heading", name="单位管理")).to_be_visible()
    await page.get_by_label("单位名称").fill("清源市卫生健康委员会")
    await page.get_by_label("单位代码").fill("QY-WJW")
    await page.get_by_label("单位类型").select_option(label="市直部门")
    await choose_option(page, "parent_id", "清源市人民政府")
    await page.get_by_role("button", name="新建").click()
    await expect(flash(page)).to_have_text("已新建单位「清源市卫生健康委员会」")
    row = page.get_by_role("row").filter(has_text="QY-WJW")
    await expect(row).to_contain_text("清源市卫生健康委员会")
    await expect(row).to_contain_text("市直部门")

    # 3. A staff member in it: a weak password is refused, a good one creates them.
    await page.get_by_role("link", name="人员管理", exact=True).click()
    await expect(page.get_by_role("heading", name="人员管理")).to_be_visible()

    async def fill_staff_form(password: str) -> None:
        await page.get_by_label("登录名").fill("wjw.editor")
        await page.get_by_label("真实姓名").fill("吴晓燕")
        await page.get_by_label("手机号码").fill("13800000101")
        await choose_option(page, "unit_id", "清源市卫生健康委员会")
        await page.get_by_label("初始密码").fill(password)
        await page.get_by_role("checkbox", name="编辑", exact=True).check()
        await page.get_by_role("button", name="新建").click()

    await fill_staff_form("abcdefgh")
    await expect(flash(page)).to_contain_text("密码至少8位")
    await expect(page).to_have_url(re.compile(r"/console/staff$"))
    await fill_staff_form("Wjw2026pass")
    await page.wait_for_url(re.compile(r"/console/staff/\d+$"))
    await expect(flash(page)).to_have_text("已新建工作人员「吴晓燕」")
    await expect(page.get_by_role("heading", name="吴晓燕")).to_contain_text("wjw.editor")
    unit_chosen = page.locator("select[name=unit_id] option:checked")
    await expect(unit_chosen).to_contain_text("清源市卫生健康委员会")
    await expect(page.get_by_role("checkbox", name="编辑", exact=True)).to_be_checked()
    await logout(page)

    # 4. The supervisor logs in by SMS and binds an authenticator (TOTP).
    await sms_login(page, sender, "supervisor", "孙丽")
    await page.get_by_role("link", name="我的账号").click()
    await expect(page.get_by_text("当前：短信验证码")).to_be_visible()
    await page.get_by_role("button", name="绑定动态口令").click()
    await expect(page.get_by_role("heading", name="绑定动态口令")).to_be_visible()
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    await page.get_by_label("动态口令").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="绑定", exact=True).click()
    await page.wait_for_url(re.compile(r"/console/me$"))
    await expect(flash(page)).to_contain_text("动态口令已绑定")
    await expect(page.get_by_text("当前：已绑定动态口令")).to_be_visible()
    await logout(page)

    # ... and from now on logs in with the authenticator's code, no SMS sent.
    sms_sent = len(sender.sent)
    await submit_password(page, "supervisor", DEMO_PASSWORD)
    await expect(page.get_by_role("heading", name="验证身份")).to_be_visible()
    await expect(page.get_by_text("请输入手机验证器（动态口令）上显示的6位数字")).to_be_visible()
    # The binding code is spent (replay protection); the next 30-second step's code is accepted.
    await page.get_by_label("动态口令").fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.wait_for_url(DASHBOARD)
    await expect(page.get_by_role("heading", name="您好，孙丽")).to_be_visible()
    assert len(sender.sent) == sms_sent

    # 5. The audit log shows what the admin did, and the failed login.
    await page.get_by_role("link", name="审计日志", exact=True).click()
    await expect(page.get_by_role("heading", name="审计日志")).to_be_visible()
    rows = page.locator("tbody tr")
    # Rows whose 操作人 column is the admin (summaries of the demo data name him too).
    by_admin = rows.filter(has=page.locator("td:nth-child(2)", has_text="王建国"))
    unit_row = by_admin.filter(has_text="unit.create")
    await expect(unit_row).to_have_count(1)
    await expect(unit_row).to_contain_text("新建单位「清源市卫生健康委员会」（QY-WJW）")
    staff_row = by_admin.filter(has_text="staff.create")
    await expect(staff_row).to_have_count(1)
    await expect(staff_row).to_contain_text("新建工作人员「吴晓燕」（wjw.editor）")
    failed_login = by_admin.filter(has_text="auth.login_failed").filter(has_text="密码错误")
    await expect(failed_login).to_have_count(1)
    await expect(failed_login).to_contain_text("failed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)

    # Filtering by action keeps only staff.create (the demo data's and the admin's) ...
    await page.get_by_label("操作", exact=True).fill("staff.create")
    await page.get_by_role("button", name="查询").click()
    await page.wait_for_url(re.compile(r"action=staff\.create"))
    await expect(by_admin).to_have_count(1)
    for action_cell in await rows.locator("td:nth-child(4)").all():
        await expect(action_cell).to_have_text("staff.create")
    # ... and with the actor too, exactly the admin's row.
    await page.get_by_label("操作人").fill("王建国")
    await page.get_by_role("button", name="查询").click()
    await page.wait_for_url(re.compile(r"actor=.+&action=staff\.create"))
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("新建工作人员「吴晓燕」")
    await expect(page.get_by_text("共 1 条")).to_be_visible()

    # The CSV export carries the same filter.
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="导出CSV").click()
    download = await download_info.value
    assert download.suggested_filename == "audit.csv"
    text = Path(await download.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("时间,操作人,角色,单位,操作")
    assert "staff.create" in text
    assert "吴晓燕" in text
    assert "unit.create" not in text
    assert len(text.strip().splitlines()) == 2  # header and the admin's record


async def test_locked_account_is_unlocked_by_admin(new_page, sender, settings):
    from playwright.async_api import expect

    editor = await new_page()
    await open_login(editor)
    for attempt in range(1, settings.login_max_failures + 1):
        await submit_password(editor, "editor", "Wrong2026pw")
        left = settings.login_max_failures - attempt
        if left:
            # the same words as for an unknown name: no count of tries left to a stranger
            await expect(editor.get_by_role("alert")).to_have_text("用户名或密码错误")
    # Locked means locked: the right password does not help.
    await submit_password(editor, "editor", DEMO_PASSWORD)
    await expect(editor.get_by_role("alert")).to_contain_text("账号已暂时锁定")

    admin = await new_page()
    await sms_login(admin, sender, "admin", "王建国")
    await admin.get_by_role("link", name="人员管理", exact=True).click()
    await expect(admin.get_by_role("row").filter(has_text="李晓梅")).to_contain_text("已锁定")
    await admin.get_by_role("link", name="李晓梅").click()
    await expect(admin.get_by_role("heading", name="李晓梅")).to_contain_text("已锁定")
    await expect(admin.get_by_text(f"连续失败：{settings.login_max_failures} 次")).to_be_visible()
    await admin.get_by_role("button", name="解锁账号").click()
    await expect(flash(admin)).to_have_text("已解锁")
    await expect(admin.get_by_role("heading", name="李晓梅")).to_contain_text("正常")
    await expect(admin.get_by_role("button", name="解锁账号")).to_have_count(0)

    await sms_login(editor, sender, "editor", "李晓梅")
