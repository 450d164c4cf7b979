"""`minsheng accounts set-wechat / set-telegram`: credentials from the command line, encrypted."""

from __future__ import annotations

import argparse

import pytest

from accounts.models import Account
from accounts.service import read_credentials
from adapters import cli
from infra.errors import DomainError
from org.models import AuditRecord


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd")
    cli.add_commands(sub)
    return parser.parse_args(argv)


async def test_set_wechat_then_the_endpoint_uses_it(bot_deps, bot_app, capsys):
    args = parse(
        "accounts",
        "set-wechat",
        "demo",
        "--app-id",
        "wx123",
        "--app-secret",
        "sec",
        "--token",
        "tok-2",
        "--aes-key",
        "a" * 43,
        "--mode",
        "compatible",
    )
    assert await cli.run(args, bot_deps) == 0
    assert "/wechat/demo" in capsys.readouterr().out
    account = await Account.get(code="demo")
    assert "tok-2" not in account.credentials  # encrypted at rest
    creds = await read_credentials(bot_deps, account)
    assert creds["token"] == "tok-2" and creds["mode"] == "compatible"
    assert await AuditRecord.filter(action="account.set_credentials").exists()
    from adapters.wechat_protocol import sign
    from tests.adapters.test_wechat_endpoint import TS

    q = f"timestamp={TS}&nonce=2&signature={sign('tok-2', TS, '2')}&echostr=ok"
    assert (await bot_app.test_client().get(f"/wechat/demo?{q}")).status_code == 200


async def test_set_telegram_and_bad_input(bot_deps, telegram_account):
    args = parse("accounts", "set-telegram", "qytg", "--bot-token", "9:x", "--webhook-secret", "s")
    assert await cli.run(args, bot_deps) == 0
    fresh = await Account.get(code="qytg")
    assert (await read_credentials(bot_deps, fresh))["bot_token"] == "9:x"
    with pytest.raises(DomainError, match="没有编码为 nosuch"):
        await cli.run(
            parse(
                "accounts", "set-telegram", "nosuch", "--bot-token", "1", "--webhook-secret", "s"
            ),
            bot_deps,
        )
    bad = parse(
        "accounts",
        "set-wechat",
        "demo",
        "--app-id",
        "a",
        "--app-secret",
        "b",
        "--token",
        "t",
        "--mode",
        "safe",
    )  # safe mode needs the 43-character key
    with pytest.raises(DomainError, match="EncodingAESKey"):
        await cli.run(bad, bot_deps)
