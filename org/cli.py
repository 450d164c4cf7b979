"""``minsheng`` subcommands of the org package."""

from __future__ import annotations

import argparse
import getpass

from infra.deps import Deps
from org.access import ROLES, Actor
from org.audit import purge_audit
from org.demo import DEMO_PASSWORD, seed_demo
from org.models import Staff, Unit
from org.service import create_staff, create_unit, unlock_staff


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("create-admin", help="create a system administrator (and the root unit)")
    p.add_argument("--username", required=True)
    p.add_argument("--real-name", required=True)
    p.add_argument("--mobile", required=True)
    p.add_argument("--unit-code", required=True, help="existing unit, or the root unit to create")
    p.add_argument("--unit-name", help="name of the root unit when it does not exist yet")
    p.add_argument("--password", help="read from the terminal when omitted")
    sub.add_parser("seed-demo", help="load the demo city, units and staff (idempotent)")
    p = sub.add_parser("unlock", help="unlock a staff account")
    p.add_argument("username")
    sub.add_parser("purge-audit", help="delete audit records older than the retention period")
    sub.add_parser("retry-notifications", help="retry pending notifications that are due")


async def run(args: argparse.Namespace, deps: Deps) -> int:
    system = Actor.system("命令行")
    if args.cmd == "create-admin":
        unit = await Unit.get_or_none(code=args.unit_code)
        if unit is None:
            if not args.unit_name:
                print(f"单位 {args.unit_code} 不存在；新建根单位请同时给出 --unit-name")
                return 2
            unit = await create_unit(
                deps, system, {"code": args.unit_code, "name": args.unit_name, "kind": "city_gov"}
            )
        password = args.password or getpass.getpass("密码（至少8位，含字母和数字）：")
        staff = await create_staff(
            deps,
            system,
            {
                "username": args.username,
                "real_name": args.real_name,
                "mobile": args.mobile,
                "unit_id": unit.id,
                "roles": ["admin"],
                "password": password,
            },
        )
        print(f"已创建系统管理员 {staff.username}（{staff.real_name}），单位：{unit.name}")
        return 0
    if args.cmd == "seed-demo":
        logins = await seed_demo(deps)
        print(
            f"演示账号（密码均为 {DEMO_PASSWORD}；"
            "第二步验证码以短信发送，开发环境下打印在服务日志中）："
        )
        for username, real_name, roles in logins:
            labels = "、".join(ROLES[r] for r in roles.split(","))
            print(f"  {username:<12} {real_name:<4} {labels}")
        return 0
    if args.cmd == "unlock":
        staff = await Staff.get_or_none(username=args.username)
        if staff is None:
            print(f"工作人员 {args.username} 不存在")
            return 2
        await unlock_staff(deps, system, staff.id)
        print(f"已解锁 {staff.username}")
        return 0
    if args.cmd == "purge-audit":
        n = await purge_audit(clock=deps.clock, retention_days=deps.settings.audit_retention_days)
        print(f"已清理 {n} 条超过 {deps.settings.audit_retention_days} 天的审计记录")
        return 0
    if args.cmd == "retry-notifications":
        n = await deps.notifier.retry_notifications()
        print(f"已重发 {n} 条通知")
        return 0
    return 1
