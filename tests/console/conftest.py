"""The staff console in a real browser: headless Chromium (playwright, async API) against the app
served in-process by hypercorn on a free loopback port, on both database backends.

Everything is asserted by what the user sees on the page. A screenshot of the audit log goes to
``test-artifacts/audit.png`` for a person to look at.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from pathlib import Path

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from org.demo import DEMO_PASSWORD, seed_demo

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
DASHBOARD = re.compile(r"/console/$")
LOGIN = re.compile(r"/console/login(\?.*)?$")


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
async def browser():
    """One headless Chromium for the whole session; each test opens its own contexts."""
    executable = shutil.which("chromium")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        async_playwright = None
    if executable is None or async_playwright is None:
        message = (
            "headless Chromium not available: apt install chromium "
            "(and the playwright Python package: pip install -e '.[dev]')"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message + " - CI must run every test", pytrace=False)
        pytest.skip(message)
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _wait_until_answering(port: int, server: asyncio.Task, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if server.done():
            server.result()  # raises what stopped the server
            raise RuntimeError("hypercorn stopped before it answered")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise RuntimeError(f"hypercorn did not answer on port {port}") from None
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return


@pytest.fixture
async def live_server(db, app, deps):
    """The app (demo data loaded) served by hypercorn in this event loop; yields its base URL."""
    await seed_demo(deps)
    port = _free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 2
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        await _wait_until_answering(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(server, timeout=15)


@pytest.fixture
async def new_page(browser, live_server):
    """Opens a page in a fresh browser context (its own cookies), as a separate person would."""
    from playwright.async_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    contexts = []

    async def open_page():
        context = await browser.new_context(
            base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return await context.new_page()

    yield open_page
    for context in contexts:
        await context.close()


# ------------------------------------------------------------------ steps a person takes


async def submit_password(page, username: str, password: str) -> None:
    await page.get_by_label("登录名").fill(username)
    await page.get_by_label("密码", exact=True).fill(password)
    await page.get_by_role("button", name="下一步").click()


async def open_login(page) -> None:
    """Opens the console as a stranger: it sends them to the login page."""
    from playwright.async_api import expect

    await page.goto("/console")
    await page.wait_for_url(LOGIN)
    await expect(page.get_by_role("heading", name="民声 · 工作人员登录")).to_be_visible()


async def enter_code(page, code: str) -> None:
    await page.locator("input[name=code]").fill(code)
    await page.get_by_role("button", name="登录", exact=True).click()


async def sms_login(page, sender, username: str, real_name: str) -> None:
    from playwright.async_api import expect

    await open_login(page)
    await submit_password(page, username, DEMO_PASSWORD)
    await expect(page.get_by_role("heading", name="验证身份")).to_be_visible()
    await expect(page.get_by_label("短信验证码")).to_be_visible()
    await enter_code(page, sender.last_code())
    await page.wait_for_url(DASHBOARD)
    await expect(page.get_by_role("heading", name=f"您好，{real_name}")).to_be_visible()


async def logout(page) -> None:
    from playwright.async_api import expect

    await page.get_by_role("button", name="退出").click()
    await page.wait_for_url(LOGIN)
    await expect(page.get_by_role("heading", name="民声 · 工作人员登录")).to_be_visible()


async def choose_option(page, select_name: str, text: str) -> None:
    """Selects the option whose visible text is ``text`` (options are indented by depth)."""
    select = page.locator(f"select[name={select_name}]")
    value = await select.locator("option", has_text=text).first.get_attribute("value")
    await select.select_option(value)


def flash(page):
    return page.locator(".flash")


# ------------------------------------------------------------------ the tests
