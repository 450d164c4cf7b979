"""The org commands: create-admin, seed-demo, unlock."""

from __future__ import annotations

import argparse

import pytest

from org import cli
from org.models import AuditRecord, Staff, Unit


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd")
    cli.add_commands(sub)
    return parser.parse_args(argv)


async def test_create_admin_on_empty_database_creates_root_unit(deps, capsys):
    args = parse(
        "create-admin",
        "--username",
        "root",
        "--real-name",
        "管理员",
        "--mobile",
        "13900000000",
        "--unit-code",
        "CITY",
        "--unit-name",
        "某市人民政府",
        "--password",
        "Strong2026x",
    )
    assert await cli.run(args, deps) == 0
    staff = await Staff.get(username="root").select_related("unit")
    assert staff.roles == ["admin"] and staff.unit.code == "CITY" and staff.unit.parent_id is None
    assert "已创建系统管理员" in capsys.readouterr().out
    assert await AuditRecord.filter(action="staff.create", actor_name="命令行").exists()


async def test_create_admin_refuses_weak_password(deps):
    from infra.errors import DomainError

    args = parse(
        "create-admin",
        "--username",
        "root",
        "--real-name",
        "管理员",
        "--mobile",
        "13900000000",
        "--unit-code",
        "CITY",
        "--unit-name",
        "某市",
        "--password",
        "weak",
    )
    with pytest.raises(DomainError):
        await cli.run(args, deps)
    assert not await Staff.filter(username="root").exists()


async def test_seed_demo_is_idempotent_and_prints_logins(deps, capsys):
    assert await cli.run(parse("seed-demo"), deps) == 0
    assert await cli.run(parse("seed-demo"), deps) == 0
    assert await Unit.filter(code="QY").count() == 1
    assert await Staff.all().count() == 8
    out = capsys.readouterr().out
    assert "admin" in out and "Demo2026ms" in out


async def test_unlock_command(deps):
    await cli.run(parse("seed-demo"), deps)
    await Staff.filter(username="editor").update(locked_at=deps.clock.now(), failed_logins=5)
    assert await cli.run(parse("unlock", "editor"), deps) == 0
    editor = await Staff.get(username="editor")
    assert not editor.locked and editor.failed_logins == 0
