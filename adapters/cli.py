"""Command-line set-up of the bot's platforms: credentials and Telegram long polling."""

from __future__ import annotations

import argparse

from accounts.models import Account
from accounts.service import set_credentials
from infra.deps import Deps
from infra.errors import DomainError
from org.access import Actor


def add_commands(sub: argparse._SubParsersAction) -> None:
    acc = sub.add_parser("accounts", help="configure a registered account's platform credentials")
    acc_sub = acc.add_subparsers(dest="accounts_cmd", required=True)
    wx = acc_sub.add_parser("set-wechat", help="WeChat official account: AppID, secret, token…")
    wx.add_argument("code", help="the account's code in the register (its webhook is /wechat/CODE)")
    wx.add_argument("--app-id", required=True)
    wx.add_argument("--app-secret", required=True)
    wx.add_argument("--token", required=True)
    wx.add_argument("--aes-key", default="")
    wx.add_argument("--mode", choices=("plain", "compatible", "safe"), default="plain")
    wx.add_argument("--reply-template-id", default="", help="template message for late replies")
    tg = acc_sub.add_parser("set-telegram", help="Telegram bot: token and webhook secret")
    tg.add_argument("code")
    tg.add_argument("--bot-token", required=True)
    tg.add_argument("--webhook-secret", required=True)
    poll = sub.add_parser("telegram-poll", help="run a Telegram bot by long polling (development)")
    poll.add_argument("code")


async def run(args: argparse.Namespace, deps: Deps) -> int:
    if args.cmd == "telegram-poll":
        from adapters.telegram import poll

        await poll(deps, args.code)
        return 0
    account = await Account.get_or_none(code=args.code)
    if account is None:
        raise DomainError("not_found", f"台账中没有编码为 {args.code} 的账号")
    if args.accounts_cmd == "set-wechat":
        data = {
            "app_id": args.app_id,
            "app_secret": args.app_secret,
            "token": args.token,
            "aes_key": args.aes_key,
            "mode": args.mode,
            "reply_template_id": args.reply_template_id,
        }
    else:
        data = {"bot_token": args.bot_token, "webhook_secret": args.webhook_secret}
    await set_credentials(deps, Actor.system("命令行"), account.id, data)
    path = "wechat" if args.accounts_cmd == "set-wechat" else "telegram"
    print(f"已设置账号「{account.name}」的平台凭据；回调地址：/{path}/{account.code}")
    return 0
