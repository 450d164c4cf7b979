"""Issue 13 item 14, in real Chromium at 390x844: every role's main console pages fit the phone's
width (tables scroll inside the page, the page itself never scrolls sideways), the header stays
one short bar with the navigation folded behind 菜单, and the menu opens and leads somewhere."""

from __future__ import annotations

import pytest

from tests.console.conftest import ARTIFACTS, sms_login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ROLES = [
    ("editor", "李晓梅", ["/console/", "/console/accounts", "/console/knowledge"]),
    ("handler", "陈静", ["/console/letters", "/console/letters/search", "/console/knowledge"]),
    ("reviewer", "张志强", ["/console/letters", "/console/knowledge"]),
    ("leader", "刘伟", ["/console/letters/approvals", "/console/filings", "/console/activity"]),
    ("supervisor", "孙丽", ["/console/letters/supervision", "/console/audit", "/console/activity"]),
    ("admin", "王建国", ["/console/staff", "/console/units", "/console/calendar"]),
]


@pytest.fixture
async def demo_data(live_server, deps):
    from accounts.demo import seed_demo_accounts
    from knowledge.demo import seed_knowledge_demo
    from letters.demo import seed_demo_letters

    deps.settings.filing_final_unit_code = "QY-BGS"
    await seed_demo_accounts(deps)
    await seed_knowledge_demo(deps.clock, deps.redis)
    await seed_demo_letters(deps)


@pytest.mark.parametrize("username,real_name,paths", ROLES, ids=[r[0] for r in ROLES])
async def test_console_pages_fit_a_phone(new_page, sender, demo_data, username, real_name, paths):
    from playwright.async_api import expect

    page = await new_page()
    await page.set_viewport_size(PHONE)
    await sms_login(page, sender, username, real_name)
    for path in paths:
        resp = await page.goto(path)
        assert resp.status == 200, path
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"
        header = await page.locator("header.top").bounding_box()
        assert header["height"] <= 100, f"{path}: header {header['height']} px"
        nav = page.locator("#main-nav")
        await expect(nav).to_be_hidden()
    await page.screenshot(path=str(ARTIFACTS / f"phone-{username}.png"), full_page=True)
    await page.get_by_role("button", name="菜单").click()
    await expect(page.locator("#main-nav")).to_be_visible()
    await expect(page.get_by_role("button", name="菜单")).to_have_attribute("aria-expanded", "true")
    first = page.locator("#main-nav a").first
    await expect(first).to_be_in_viewport()
    await first.click()
    await page.wait_for_url("**/console/")
