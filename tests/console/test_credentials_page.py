"""Platform credentials from the account page: written by the unit's editor, encrypted, never
shown again; refused to staff of other units."""

from __future__ import annotations

import base64
import hashlib

import pytest

from accounts.demo import seed_demo_accounts
from accounts.models import Account
from accounts.service import read_credentials
from org.demo import seed_demo
from tests.console.test_posts_pages import post_form, text
from tests.org.conftest import login_as


@pytest.fixture
async def city(deps):
    await seed_demo(deps)
    await seed_demo_accounts(deps)


async def test_editor_sets_wechat_credentials_and_they_stay_hidden(app, sender, city, deps):
    account = await Account.get(code="demo")  # 清源人社, the editor's unit
    editor = await login_as(app, sender, "editor")
    page = text(await (await editor.get(f"/console/accounts/{account.id}")).get_data())
    assert "平台凭据" in page and "/wechat/demo" in page
    url = f"/console/accounts/{account.id}/credentials"
    form = {"app_id": "wx9", "app_secret": "S3cret-app", "token": "tok-9", "mode": "plain"}
    resp, page = await post_form(editor, url, form)
    assert resp.status_code == 200 and "已保存平台凭据" in page
    assert "S3cret-app" not in page and "tok-9" not in page
    account = await Account.get(code="demo")
    assert "S3cret-app" not in account.credentials
    assert (await read_credentials(deps, account))["token"] == "tok-9"
    # Safe mode without the key: a Chinese error, nothing changed.
    _, page = await post_form(editor, url, {**form, "token": "tok-10", "mode": "safe"})
    assert "EncodingAESKey" in page
    assert (await read_credentials(deps, await Account.get(code="demo")))["token"] == "tok-9"


async def test_editor_of_another_unit_cannot_set_them(app, sender, city, deps):
    other = await Account.get(code="dqzhen")  # 东桥镇, not the editor's unit
    editor = await login_as(app, sender, "editor")
    resp = await editor.get(f"/console/accounts/{other.id}")
    assert resp.status_code == 404  # another unit's account is not even shown
    form = {"app_id": "x", "app_secret": "y", "token": "z", "mode": "plain"}
    _, page = await post_form(editor, f"/console/accounts/{other.id}/credentials", form)
    assert "账号不存在" in page
    assert (await read_credentials(deps, await Account.get(code="dqzhen"))).get("token") != "z"


async def test_a_production_account_in_plain_mode_is_warned_about(app, sender, city, deps):
    """Plain mode signs no message: the account page says so in production, not in development."""
    account = await Account.get(code="demo")  # the demo account answers in plain mode
    editor = await login_as(app, sender, "editor")
    page = text(await (await editor.get(f"/console/accounts/{account.id}")).get_data())
    assert "明文模式" in page and "仅限开发测试" in page  # the mode list says so
    assert "消息内容不受签名保护" not in page
    # Production needs its own key: the one development derived from the secret key.
    digest = hashlib.sha256(("minsheng-credentials:" + deps.settings.secret_key).encode()).digest()
    deps.settings.credentials_key = base64.urlsafe_b64encode(digest).decode()
    deps.settings.env = "production"
    page = text(await (await editor.get(f"/console/accounts/{account.id}")).get_data())
    assert "消息内容不受签名保护" in page
    key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    form = {"app_id": "wx9", "app_secret": "s", "token": "t", "aes_key": key, "mode": "safe"}
    await post_form(editor, f"/console/accounts/{account.id}/credentials", form)
    page = text(await (await editor.get(f"/console/accounts/{account.id}")).get_data())
    assert "消息内容不受签名保护" not in page
