"""Issue 13 items 10 and 13 in real Chromium: the leader approving a change sees the account and
each field before and after; a reviewer confirms a flagged post as an ad, the editor sees it on
the to-do list and records its removal."""

from __future__ import annotations

import re

import pytest

from accounts import posts, service
from accounts.models import Account
from org.auth import actor_for
from org.models import Staff, Unit
from tests.console.conftest import flash, sms_login

pytestmark = pytest.mark.browser


async def active_account(deps, clock) -> Account:
    unit = await Unit.get(code="QY-RSJ")
    now = clock.now()
    return await Account.create(
        code="qy-rsj-wechat",
        unit=unit,
        platform="wechat",
        name="清源人社",
        handle="qy_rsj",
        certified_subject="清源市人力资源和社会保障局",
        status="active",
        live_slot=f"{unit.id}:wechat",
        created_at=now,
        updated_at=now,
    )


async def actor(username: str):
    return await actor_for(await Staff.get(username=username).select_related("unit"))


async def test_the_leader_sees_what_a_change_changes(new_page, sender, deps, clock):
    from playwright.async_api import expect

    deps.settings.filing_final_unit_code = "QY-BGS"
    account = await active_account(deps, clock)
    filing = await service.file_request(
        deps,
        await actor("editor"),
        account.id,
        "change",
        {"reason": "机构更名", "changes": {"name": "清源人社发布"}},
    )
    leader = await new_page()
    await sms_login(leader, sender, "leader", "刘伟")
    await leader.get_by_role("link", name="备案审批", exact=True).click()
    await leader.get_by_role("link", name=f"变更 #{filing.id}").first.click()
    card = leader.locator(".card").first
    for shown in ("微信公众号", "qy_rsj", "清源市人力资源和社会保障局", "李晓梅", "机构更名"):
        await expect(card).to_contain_text(shown)
    row = leader.locator("table.changes").get_by_role("row", name=re.compile("账号名称"))
    await expect(row).to_have_text(re.compile(r"账号名称\s*清源人社\s*清源人社发布"))
    await leader.get_by_role("button", name="同意").click()
    await expect(flash(leader)).to_contain_text("已审批通过")


async def test_a_confirmed_ad_is_tracked_until_its_removal(new_page, sender, deps, clock):
    from playwright.async_api import expect

    account = await active_account(deps, clock)
    await posts.add_post(
        deps,
        await actor("editor"),
        account.id,
        {"title": "限时抢购！扫码领取社保卡套，仅需9.9元", "published_at": clock.now().isoformat()},
    )
    reviewer = await new_page()
    await sms_login(reviewer, sender, "reviewer", "张志强")
    await reviewer.goto(f"/console/accounts/{account.id}")
    await reviewer.get_by_label("核查意见").fill("商业推广，须删除")
    sender.sent.clear()
    await reviewer.get_by_role("button", name="确认为广告").click()
    await expect(flash(reviewer)).to_contain_text("广告")
    assert [to for to, _ in sender.sent] == ["13800000002"]  # 李晓梅, the unit's editor

    editor = await new_page()
    await sms_login(editor, sender, "editor", "李晓梅")
    todo = editor.locator("ul.todo")
    await expect(todo).to_contain_text("待删除的广告发文 1")
    await todo.get_by_role("link", name=re.compile("待删除的广告发文")).click()
    await editor.get_by_label("说明（选填）").fill("已于平台删除")
    await editor.get_by_role("button", name="登记已删除").click()
    await expect(editor.locator("table.posts")).to_contain_text("登记已删除：已于平台删除")
    await editor.goto("/console/")
    await expect(editor.get_by_text("待删除的广告发文")).to_have_count(0)
