"""In real Chromium: an editor writes a knowledge-base entry and submits it, a reviewer of the unit
approves it, and the "try it" box then answers a citizen's rewording of the question with that
entry, through the real matcher. Screenshots go to ``test-artifacts/knowledge-*.png``."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import ARTIFACTS, choose_option, flash, sms_login

pytestmark = pytest.mark.browser

QUESTION = "灵活就业人员怎么缴纳养老保险"


async def test_entry_written_reviewed_and_answering(new_page, sender):
    from playwright.async_api import expect

    editor = await new_page()
    await sms_login(editor, sender, "editor", "李晓梅")
    await editor.get_by_role("link", name="知识库", exact=True).click()
    await expect(editor.get_by_role("heading", name="互动知识库")).to_be_visible()
    await editor.get_by_role("link", name="新建条目").click()
    await editor.get_by_label("标准问题").fill(QUESTION)
    await editor.get_by_label("相似问法（每行一个）").fill(
        "自由职业者如何交养老保险\n个体户怎么参加职工养老保险"
    )
    await editor.get_by_label("答案（可含链接和电话）").fill(
        "持身份证到社保经办窗口登记，或在 https://rsj.example.gov.cn 网上办理，"
        "按月或按年缴费。咨询电话 12333。"
    )
    await editor.get_by_label("复核日期").fill("2027-06-30")
    await editor.get_by_role("button", name="保存为草稿").click()
    await expect(flash(editor)).to_contain_text(f"已新建条目「{QUESTION}」")
    await expect(editor.get_by_role("link", name="https://rsj.example.gov.cn")).to_be_visible()
    await editor.get_by_role("button", name="提交审核").click()
    await expect(flash(editor)).to_contain_text("已提交审核")
    await expect(editor.get_by_role("heading", level=1)).to_contain_text("待审核")
    await expect(editor.get_by_role("button", name="审核通过")).to_have_count(0)

    reviewer = await new_page()
    await sms_login(reviewer, sender, "reviewer", "张志强")
    await reviewer.get_by_role("link", name="知识库", exact=True).click()
    await choose_option(reviewer, "status", "待审核")
    await reviewer.get_by_role("button", name="查询").click()
    await reviewer.get_by_role("link", name=QUESTION).click()
    await reviewer.wait_for_url(re.compile(r"/console/knowledge/entries/\d+$"))
    await reviewer.get_by_role("button", name="审核通过").click()
    await expect(flash(reviewer)).to_contain_text("已审核通过并发布")
    await expect(reviewer.get_by_text("正在回答群众", exact=True)).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await reviewer.screenshot(path=ARTIFACTS / "knowledge-entry.png", full_page=True)

    await reviewer.get_by_role("link", name="试一试", exact=True).click()
    # As citizens write: a greeting, traditional characters, a particle at the end.
    await reviewer.get_by_label("群众提问").fill("你好！灵活就业人员怎麼繳納養老保險呢")
    await reviewer.get_by_role("button", name="试一试").click()
    await expect(reviewer.locator(".card.decision")).to_contain_text("判断：直接回答")
    await expect(reviewer.locator(".card.decision")).to_contain_text(QUESTION)
    await expect(reviewer.locator(".card.decision")).to_contain_text("12333")
    await expect(reviewer.locator("table.candidates")).to_contain_text("字重合度")
    await reviewer.screenshot(path=ARTIFACTS / "knowledge-try.png", full_page=True)
    # a follow-up, as the conversation reads it after that question
    await reviewer.get_by_label("上一句（可选）").fill(QUESTION)
    await reviewer.get_by_label("群众提问").fill("要带什么材料")
    await reviewer.get_by_role("button", name="试一试").click()
    await expect(reviewer.locator(".card.decision")).to_contain_text(
        f"结合上一句，理解为：「{QUESTION}：要带什么材料」"
    )
    await expect(reviewer.locator(".card.decision")).to_contain_text(QUESTION)
    await reviewer.screenshot(path=ARTIFACTS / "knowledge-try-follow-up.png", full_page=True)
    await reviewer.get_by_label("上一句（可选）").fill("")
    await reviewer.get_by_role("button", name="试一试").click()
    await expect(reviewer.locator(".card.decision")).to_contain_text("请群众说明要办理的业务")
