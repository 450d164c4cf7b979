"""In real Chromium, one letter from intake to reply: a citizen leaves it in the web chat, the
petitions office's handler accepts it to 人社局, 人社局's handler replies, a reviewer approves, and
the citizen reads the reply on the public status page. Screenshots go to
``test-artifacts/letters-*.png``."""

from __future__ import annotations

import re

import pytest

from letters.demo import XF_HANDLER
from org.access import Actor
from org.demo import DEMO_PASSWORD
from org.models import Unit
from org.service import create_staff
from tests.console.conftest import ARTIFACTS, choose_option, flash, logout, sms_login

pytestmark = pytest.mark.browser

QUESTION = "我们小区门口的路灯坏了半个多月，晚上一片漆黑，请问找哪个部门修？"
REPLY = "您好！您反映的路灯问题已转市政设施管理处，将于三个工作日内修复，修复后请您监督。"


async def test_letter_from_chat_to_reply(new_page, sender, deps):
    from playwright.async_api import expect

    username, real_name, mobile, unit_code, roles = XF_HANDLER
    unit = await Unit.get(code=unit_code)
    await create_staff(
        deps,
        Actor.system("测试"),
        {
            "username": username,
            "real_name": real_name,
            "mobile": mobile,
            "unit_id": unit.id,
            "roles": roles,
            "password": DEMO_PASSWORD,
        },
    )

    # A citizen leaves the letter in the web chat.
    citizen = await new_page()
    await citizen.goto("/chat")
    last_bot = citizen.locator(".msg.bot").last

    async def say(text: str, answer: str) -> None:
        await citizen.get_by_label("您的问题").fill(text)
        await citizen.get_by_role("button", name="发送").click()
        await expect(last_bot).to_contain_text(answer)

    await expect(last_bot).to_contain_text("智能问答")
    await say(QUESTION, "我要留言")
    await say("1", "内容完整请回复 1")
    await say("1", "请选择留言类型")
    await say("1", "请发送您的姓名")
    await say("李建华", "请发送您的手机号")
    await say("13912340000", "请确认您的留言")
    await say("1", "跟踪码：")
    code = re.search(r"跟踪码：(\S+)", await last_bot.inner_text()).group(1)

    # The petitions office screens it and sends it to 人社局.
    staff = await new_page()
    await sms_login(staff, sender, username, real_name)
    await staff.get_by_role("link", name="来信", exact=True).click()
    await staff.get_by_role("link", name=re.compile(r"^甄别( \d+)?$")).click()  # with its count
    card = staff.locator(".letter-row", has_text=QUESTION[:10])
    await expect(card).to_contain_text("咨询")
    await choose_option(staff, "unit_id", "清源市人力资源和社会保障局")
    await card.get_by_role("button", name="受理", exact=True).click()
    await expect(flash(staff)).to_contain_text("交「清源市人力资源和社会保障局」办理")
    await logout(staff)

    # 人社局's handler sees it first in the pending list, with the writer, and replies.
    await sms_login(staff, sender, "handler", "陈静")
    await staff.get_by_role("link", name="来信", exact=True).click()
    await expect(staff.get_by_role("heading", name="待办来信")).to_be_visible()
    await staff.get_by_role("link", name=QUESTION[:10], exact=False).click()
    await expect(staff.locator(".writer")).to_contain_text("李建华")
    await expect(staff.locator(".writer")).to_contain_text("13912340000")
    await expect(staff.locator(".days")).to_contain_text("剩 15 天")
    await staff.get_by_label("答复内容").fill(REPLY)
    await staff.get_by_role("button", name="提交审核").click()
    await expect(flash(staff)).to_contain_text("答复已提交审核")
    await logout(staff)

    # A reviewer of 人社局 approves; the reply goes out.
    await sms_login(staff, sender, "reviewer", "张志强")
    await staff.get_by_role("link", name="来信", exact=True).click()
    await staff.get_by_role("link", name=QUESTION[:10], exact=False).click()
    await expect(staff.locator(".writer")).to_contain_text("李**")  # not the handling role
    await staff.get_by_role("button", name="审核通过并发送").click()
    await expect(flash(staff)).to_contain_text("答复已审核通过并发送给来信人")
    await expect(staff.get_by_role("heading", level=1)).to_contain_text("已答复")
    await expect(staff.locator("table.timeline")).to_contain_text("答复来信人")
    ARTIFACTS.mkdir(exist_ok=True)
    await staff.screenshot(path=ARTIFACTS / "letters-letter.png", full_page=True)

    # The citizen reads the reply by tracking code.
    await citizen.goto(f"/status/{code}")
    await expect(citizen.locator("#result")).to_contain_text("已答复")
    await expect(citizen.locator("#result")).to_contain_text(REPLY)
    await citizen.screenshot(path=ARTIFACTS / "letters-status.png", full_page=True)
