"""The backup README prescribes, restored: `pg_dump -Fc` of a migrated database holding the demo
city, `pg_restore` into an empty database, and the product reads the copy: every table has the
same rows, the migrations are all recorded (nothing to apply again), and the audit log is still
append-only there."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import uuid

import asyncpg
import pytest

from tests.conftest import need_server


def _pg_tool(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.skip(f"{name} not installed (apt install postgresql)")
    return found[-1]


def _dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def _counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        ]
        return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in sorted(tables)}
    finally:
        await conn.close()


async def test_a_dump_restores_into_a_database_the_product_reads(tmp_path):
    server = need_server(
        "PostgreSQL",
        "TEST_DATABASE_URL",
        "apt install postgresql; postgres://user:pass@127.0.0.1:5432/postgres",
    )
    pg_dump, pg_restore = _pg_tool("pg_dump"), _pg_tool("pg_restore")
    root = server.rpartition("/")[0]
    names = [f"minsheng_backup_{uuid.uuid4().hex[:8]}", f"minsheng_restored_{uuid.uuid4().hex[:8]}"]
    admin = await asyncpg.connect(_dsn(server))
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        source, copy = (f"{root}/{n}" for n in names)
        env = {**os.environ, "MINSHENG_DATABASE_URL": source, "MINSHENG_REDIS_URL": ""}
        code = (
            "import sys, quart_app; "
            "sys.exit(quart_app.main(['migrate']) or quart_app.main(['seed-demo']))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr

        dump = tmp_path / "minsheng.dump"
        subprocess.run([pg_dump, "-Fc", "-f", str(dump), _dsn(source)], check=True, timeout=120)
        subprocess.run(
            [pg_restore, "--no-owner", "-d", _dsn(copy), str(dump)], check=True, timeout=120
        )

        before, after = await _counts(source), await _counts(copy)
        assert after == before
        assert before["let_letter"] > 0 and before["kb_entry"] > 0 and before["org_audit"] > 0

        # the copy is current: migrating it applies nothing
        env["MINSHENG_DATABASE_URL"] = copy
        done = subprocess.run(
            [sys.executable, "-m", "quart_app", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert await _counts(copy) == before

        conn = await asyncpg.connect(_dsn(copy))
        try:
            with pytest.raises(asyncpg.PostgresError):
                await conn.execute("DELETE FROM org_audit")
        finally:
            await conn.close()
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
